package httpboot

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/histogram"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
)

// serveHTTP answers one request and writes its access log line.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.stats.requests.Add(1)
	rec := &recorder{ResponseWriter: w, status: http.StatusOK, kind: eventkind.HTTP}
	reason := s.respond(rec, r)

	s.count(rec)
	if rec.status < 400 {
		histogram.TransferTime.Observe(&s.stats.responseTime, int64(time.Since(start)))
		histogram.Bytes.Observe(&s.stats.responseBytes, rec.bytes)
	}
	attrs := []any{
		"client", r.RemoteAddr, "server", localAddr(r), "method", r.Method, "path", r.URL.Path,
		"status", rec.status, "bytes", rec.bytes, "duration", time.Since(start).Round(time.Millisecond),
		rec.kind.Attr(),
	}
	if rg := r.Header.Get("Range"); rg != "" {
		attrs = append(attrs, "range", rg)
	}
	if reason != nil {
		attrs = append(attrs, "reason", reason)
	}
	level := slog.LevelInfo
	if rec.status == http.StatusBadRequest || rec.status == http.StatusForbidden || rec.status >= 500 {
		level = slog.LevelWarn
	}
	s.logger.Log(r.Context(), level, "http request", attrs...)
}

// respond writes the response and returns why it refused, if it did, for
// the log.
func (s *Server) respond(w *recorder, r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return fmt.Errorf("method %s", r.Method)
	}
	set := s.settings.Load()
	if n := s.active.Add(1); n > set.maxConcurrent {
		s.active.Add(-1)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "server busy, retry later", http.StatusServiceUnavailable)
		return fmt.Errorf("%d requests in progress (MaxConcurrent %d)", n-1, set.maxConcurrent)
	}
	defer s.active.Add(-1)

	name, err := requestPath(r.URL.Path)
	if errors.Is(err, errEmptyPath) {
		http.Error(w, "not found", http.StatusNotFound)
		return errors.New("no listing of the root")
	}
	if err != nil {
		http.Error(w, "invalid path", http.StatusBadRequest)
		return err
	}
	f, fi, err := openRegular(set.files, clientAddr(r), name)
	if errors.Is(err, fs.ErrNotExist) {
		http.Error(w, "not found", http.StatusNotFound)
		return err
	}
	if errors.Is(err, fs.ErrPermission) {
		// A file for another client (a machine's config asked for without
		// its token or from another address): the reason goes to the log,
		// not to the client.
		http.Error(w, "forbidden", http.StatusForbidden)
		return err
	}
	if err != nil {
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return err
	}
	defer f.Close()
	if k, ok := f.(eventKinder); ok {
		w.kind = k.EventKind()
	}

	w.Header().Set("Content-Type", contentType(name))
	if rs, ok := f.(io.ReadSeeker); ok {
		http.ServeContent(w, r, name, fi.ModTime(), rs)
		return nil
	}
	// Not seekable: the whole file, without ranges or conditionals.
	w.Header().Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
	if !fi.ModTime().IsZero() {
		w.Header().Set("Last-Modified", fi.ModTime().UTC().Format(http.TimeFormat))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("sending %s: %w", name, err)
	}
	return nil
}

func (s *Server) count(rec *recorder) {
	c := &s.stats
	c.bytes.Add(uint64(rec.bytes))
	switch {
	case rec.status < 400:
		c.ok.Add(1)
	case rec.status == http.StatusNotFound:
		c.notFound.Add(1)
	case rec.status < 500:
		c.badRequests.Add(1)
	case rec.status == http.StatusServiceUnavailable:
		c.busy.Add(1)
	default:
		c.errors.Add(1)
	}
}

// contentType is fixed per extension rather than left to the mime package
// (whose table depends on the host's /etc/mime.types) or to sniffing a
// kernel image. iPXE wants scripts as text; all else is bytes.
func contentType(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".ipxe", ".txt", ".cfg", ".conf":
		return "text/plain; charset=utf-8"
	case ".json":
		return "application/json"
	default:
		return "application/octet-stream"
	}
}

// clientFS is a served tree whose files depend on who asks (see
// Config.Files).
type clientFS interface {
	OpenFrom(client netip.Addr, name string) (fs.File, error)
}

// clientAddr is the request's source address; invalid if net/http gave
// none it can parse.
func clientAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr()
}

// openRegular opens name for client and returns it with its FileInfo,
// refusing anything but a regular file: a directory is "not found" (no
// listings).
func openRegular(files fs.FS, client netip.Addr, name string) (fs.File, fs.FileInfo, error) {
	var f fs.File
	var err error
	if cf, ok := files.(clientFS); ok {
		f, err = cf.OpenFrom(client, name)
	} else {
		f, err = files.Open(name)
	}
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("stat %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s is not a regular file: %w", name, fs.ErrNotExist)
	}
	return f, fi, nil
}

func localAddr(r *http.Request) string {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(interface{ String() string }); ok {
		return a.String()
	}
	return ""
}

// eventKinder is a served file that says what kind of event serving it
// is: a script rendered for the request is eventkind.Script. Other files
// are eventkind.HTTP.
type eventKinder interface{ EventKind() eventkind.Kind }

// recorder notes the status, body bytes and event kind for the access log.
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
	kind        eventkind.Kind
}

func (r *recorder) WriteHeader(status int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = status, true
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wroteHeader = true
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// ReadFrom keeps net/http's sendfile path for *os.File bodies.
func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	r.wroteHeader = true
	n, err := io.Copy(r.ResponseWriter, src)
	r.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
