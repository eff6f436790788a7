package httpboot

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
)

var loopback = netip.MustParseAddr("::1")

func startLoopback(t *testing.T, cfg Config) (*Server, *testlab.SyncBuffer) {
	t.Helper()
	cfg.Addresses = []netip.Addr{loopback}
	var logs testlab.SyncBuffer
	s, err := Start(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return s, &logs
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

var modTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestServe(t *testing.T) {
	kernel := randomBytes(t, 300000)
	script := []byte("#!ipxe\nkernel /vmlinuz\nboot\n")
	files := fstest.MapFS{
		"boot.ipxe":        {Data: script, ModTime: modTime},
		"vmlinuz":          {Data: kernel, ModTime: modTime},
		"boot/initrd.img":  {Data: []byte("initrd"), ModTime: modTime},
		"boot/x86/x":       {Data: []byte("x")},
		"streams/unseeker": {Data: []byte("not seekable")},
	}
	s, logs := startLoopback(t, Config{Files: unseekableFS{files}})
	base := "http://" + s.Addrs()[0].String()

	tests := []struct {
		name, method, path string
		header             map[string]string
		wantStatus         int
		wantBody           []byte
		wantHeader         map[string]string
	}{
		{
			name: "iPXE script as text", method: "GET", path: "/boot.ipxe", wantStatus: 200, wantBody: script,
			wantHeader: map[string]string{"Content-Type": "text/plain; charset=utf-8", "Content-Length": fmt.Sprint(len(script))},
		},
		{
			name: "kernel as bytes", method: "GET", path: "/vmlinuz", wantStatus: 200, wantBody: kernel,
			wantHeader: map[string]string{"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"},
		},
		{
			name: "range", method: "GET", path: "/vmlinuz", header: map[string]string{"Range": "bytes=0-99"},
			wantStatus: 206, wantBody: kernel[:100],
			wantHeader: map[string]string{"Content-Range": fmt.Sprintf("bytes 0-99/%d", len(kernel)), "Content-Length": "100"},
		},
		{
			name: "suffix range", method: "GET", path: "/vmlinuz", header: map[string]string{"Range": "bytes=-10"},
			wantStatus: 206, wantBody: kernel[len(kernel)-10:],
		},
		{
			name: "unsatisfiable range", method: "GET", path: "/vmlinuz", header: map[string]string{"Range": "bytes=900000-"},
			wantStatus: 416,
		},
		{
			name: "HEAD", method: "HEAD", path: "/vmlinuz", wantStatus: 200, wantBody: []byte{},
			wantHeader: map[string]string{"Content-Length": fmt.Sprint(len(kernel))},
		},
		{
			name: "not modified", method: "GET", path: "/vmlinuz",
			header:     map[string]string{"If-Modified-Since": modTime.Add(time.Hour).Format(http.TimeFormat)},
			wantStatus: 304, wantBody: []byte{},
		},
		{
			name: "modified since", method: "GET", path: "/boot.ipxe",
			header:     map[string]string{"If-Modified-Since": modTime.Add(-time.Hour).Format(http.TimeFormat)},
			wantStatus: 200, wantBody: script,
		},
		{name: "nested", method: "GET", path: "/boot/initrd.img", wantStatus: 200, wantBody: []byte("initrd")},
		{
			name: "not seekable: whole file with its length", method: "GET", path: "/streams/unseeker",
			header:     map[string]string{"Range": "bytes=0-3"},
			wantStatus: 200, wantBody: []byte("not seekable"),
			wantHeader: map[string]string{"Content-Length": "12"},
		},
		{name: "missing", method: "GET", path: "/nope", wantStatus: 404},
		{name: "directory: no listing", method: "GET", path: "/boot/", wantStatus: 400},
		{name: "directory without slash", method: "GET", path: "/boot", wantStatus: 404},
		{name: "root: no listing", method: "GET", path: "/", wantStatus: 404},
		{name: "encoded traversal", method: "GET", path: "/%2e%2e/%2e%2e/etc/passwd", wantStatus: 400},
		{name: "encoded backslash", method: "GET", path: "/..%5cvmlinuz", wantStatus: 400},
		{name: "encoded NUL", method: "GET", path: "/vmlinuz%00", wantStatus: 400},
		{
			name: "POST", method: "POST", path: "/vmlinuz", wantStatus: 405,
			wantHeader: map[string]string{"Allow": "GET, HEAD"},
		},
		{name: "PUT", method: "PUT", path: "/vmlinuz", wantStatus: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, base+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d (body %.100q)", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantBody != nil && !bytes.Equal(body, tt.wantBody) {
				t.Errorf("body: %d bytes %.40q, want %d bytes", len(body), body, len(tt.wantBody))
			}
			for k, v := range tt.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
	// A client can have the whole body a moment before the handler returns.
	waitFor(t, func() bool { st := s.Stats(); return st.OK+st.NotFound+st.BadRequests == uint64(len(tests)) })
	st := s.Stats()
	if st.Requests != uint64(len(tests)) || st.OK != 9 || st.NotFound != 3 || st.BadRequests != 7 || st.Busy != 0 || st.Errors != 0 {
		t.Errorf("stats = %+v", st)
	}
	wantBytes := uint64(len(script)*2 + len(kernel) + 100 + 10 + len("initrd") + len("not seekable"))
	if st.BytesSent < wantBytes {
		t.Errorf("BytesSent = %d, want at least %d", st.BytesSent, wantBytes)
	}
	// Only the responses that sent a file are in the histograms.
	if st.ResponseBytes.Count != st.OK || st.ResponseSeconds.Count != st.OK || uint64(st.ResponseBytes.Sum) < wantBytes {
		t.Errorf("response histograms: bytes %d observations summing to %d, durations %d; want %d, at least %d bytes", st.ResponseBytes.Count, st.ResponseBytes.Sum, st.ResponseSeconds.Count, st.OK, wantBytes)
	}
	for _, want := range []string{
		`msg="http request" scheme=http client=[::1]:`, "method=GET path=/vmlinuz status=206 bytes=100 duration=", `range="bytes=0-99"`,
		"method=POST path=/vmlinuz status=405", `path=/../../etc/passwd status=400`, `reason="file name has a \".\" or \"..\" path element"`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// TestRawTraversal sends request lines a browser or curl would clean up.
func TestRawTraversal(t *testing.T) {
	s, _ := startLoopback(t, Config{Files: fstest.MapFS{"f": {Data: []byte("x")}}})
	for _, target := range []string{"/../../etc/passwd", "/f/../f", "/./f", "//f/..", `/..\f`} {
		conn, err := net.Dial("tcp", s.Addrs()[0].String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", target)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s: status %d, want 400", target, resp.StatusCode)
		}
	}
}

func TestMaxConcurrent(t *testing.T) {
	gate := make(chan struct{})
	files := gatedFS{MapFS: fstest.MapFS{"slow": {Data: []byte("slow")}, "fast": {Data: []byte("fast")}}, gate: gate}
	s, _ := startLoopback(t, Config{Files: files, MaxConcurrent: 1})
	base := "http://" + s.Addrs()[0].String()

	slow := make(chan error, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		slow <- err
	}()
	waitFor(t, func() bool { return s.active.Load() == 1 })
	resp, err := http.Get(base + "/fast")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("while busy: status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Apply raises the cap live.
	if err := s.Apply(Config{Addresses: []netip.Addr{loopback}, Files: files, MaxConcurrent: 2}); err != nil {
		t.Fatal(err)
	}
	if got := get(t, base+"/fast"); got != "fast" {
		t.Errorf("after raising the cap: %q", got)
	}
	close(gate)
	if err := <-slow; err != nil {
		t.Error(err)
	}
	waitFor(t, func() bool { return s.Stats().OK == 2 })
	if st := s.Stats(); st.Busy != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestApply(t *testing.T) {
	s, _ := startLoopback(t, Config{Files: fstest.MapFS{"f": {Data: []byte("one")}}})
	before := s.Addrs()
	cfg := Config{Addresses: []netip.Addr{loopback}, Files: fstest.MapFS{"f": {Data: []byte("two")}}}
	if err := s.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if got := s.Addrs(); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("Apply with the same addresses rebound: %v -> %v", before, got)
	}
	if got := get(t, "http://"+before[0].String()+"/f"); got != "two" {
		t.Errorf("after Apply: %q, want two", got)
	}

	cfg.Port = freeTCPPort(t)
	if err := s.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	after := s.Addrs()
	if len(after) != 1 || int(after[0].Port()) != cfg.Port {
		t.Fatalf("Addrs after new port = %v, want port %d", after, cfg.Port)
	}
	if got := get(t, "http://"+after[0].String()+"/f"); got != "two" {
		t.Errorf("on the new port: %q", got)
	}
	if _, err := http.Get("http://" + before[0].String() + "/f"); err == nil {
		t.Errorf("old port %v still answers", before[0])
	}

	busy, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	bad := cfg
	bad.Port = busy.Addr().(*net.TCPAddr).Port
	if err := s.Apply(bad); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("[::1]:%d", bad.Port)) {
		t.Errorf("Apply onto a busy port: error %v, want one naming [::1]:%d", err, bad.Port)
	}
	if got := get(t, "http://"+after[0].String()+"/f"); got != "two" {
		t.Errorf("after failed Apply: %q", got)
	}
}

func TestStartErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	files := fstest.MapFS{}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"port in use", Config{Addresses: []netip.Addr{loopback}, Port: port, Files: files}, fmt.Sprintf("binding [::1]:%d", port)},
		{"no files", Config{Addresses: []netip.Addr{loopback}}, "Files is nil"},
		{"nothing to bind", Config{Files: files}, "no addresses"},
		{"link-local without zone", Config{Addresses: []netip.Addr{netip.MustParseAddr("fe80::1")}, Files: files}, "needs its interface as zone"},
		{"negative cap", Config{Addresses: []netip.Addr{loopback}, Files: files, MaxConcurrent: -1}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Start(context.Background(), tt.cfg, nil)
			if err == nil {
				s.Stop()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestStop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Start(ctx, Config{Addresses: []netip.Addr{loopback}, Files: fstest.MapFS{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addrs()[0]
	cancel()
	waitFor(t, func() bool {
		return errors.Is(s.Apply(Config{Files: fstest.MapFS{}, Addresses: []netip.Addr{loopback}}), ErrStopped)
	})
	s.Stop() // idempotent
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		t.Fatalf("port still bound after Stop: %v", err)
	}
	ln.Close()
}

func TestContentType(t *testing.T) {
	for name, want := range map[string]string{
		"boot.ipxe":       "text/plain; charset=utf-8",
		"menus/MAIN.IPXE": "text/plain; charset=utf-8",
		"config.json":     "application/json",
		"vmlinuz":         "application/octet-stream",
		"initrd.img":      "application/octet-stream",
		"ipxe.efi":        "application/octet-stream",
		"undionly.kpxe":   "application/octet-stream",
	} {
		if got := contentType(name); got != want {
			t.Errorf("contentType(%q) = %q, want %q", name, got, want)
		}
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return string(b)
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// unseekableFS hides io.Seeker on files under streams/, as a generated
// file might.
type unseekableFS struct{ fstest.MapFS }

func (u unseekableFS) Open(name string) (fs.File, error) {
	f, err := u.MapFS.Open(name)
	if err != nil || !strings.HasPrefix(name, "streams/") {
		return f, err
	}
	return struct{ fs.File }{f}, nil
}

// gatedFS serves MapFS files whose reads of "slow" wait until gate closes.
type gatedFS struct {
	fstest.MapFS
	gate chan struct{}
}

func (g gatedFS) Open(name string) (fs.File, error) {
	f, err := g.MapFS.Open(name)
	if err != nil || name != "slow" {
		return f, err
	}
	return gatedFile{File: f, gate: g.gate}, nil
}

type gatedFile struct {
	fs.File
	gate chan struct{}
}

func (f gatedFile) Read(p []byte) (int, error) {
	<-f.gate
	return f.File.Read(p)
}

// scriptFS serves start.ipxe as a file that says it is a rendered script,
// as the agent's generated scripts do.
type scriptFS struct{ fstest.MapFS }

type renderedFile struct{ fs.File }

func (renderedFile) EventKind() eventkind.Kind { return eventkind.Script }

func (s scriptFS) Open(name string) (fs.File, error) {
	f, err := s.MapFS.Open(name)
	if err != nil || name != "start.ipxe" {
		return f, err
	}
	return renderedFile{f}, nil
}

// TestRequestEventKind: the server logs a request for a rendered script as
// a script event, and any other request, for a file or not, as an http
// event, whatever the path looks like.
func TestRequestEventKind(t *testing.T) {
	files := fstest.MapFS{"start.ipxe": {Data: []byte("#!ipxe\n")}, "other.ipxe": {Data: []byte("#!ipxe\n")}}
	s, logs := startLoopback(t, Config{Files: scriptFS{files}})
	base := "http://" + s.Addrs()[0].String()
	for _, p := range []string{"/start.ipxe", "/other.ipxe", "/netboot/host/mac-52-54-00-12-34-56/uuid-/arch-x86_64/platform-efi/menu.ipxe"} {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	waitFor(t, func() bool { return s.Stats().Requests == 3 })
	want := map[string]string{
		"path=/start.ipxe status=200": "event=script",
		"path=/other.ipxe status=200": "event=http",
		"menu.ipxe status=404":        "event=http",
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		for request, kind := range want {
			if strings.Contains(line, request) {
				if !strings.Contains(line+" ", " "+kind+" ") {
					t.Errorf("log line %q, want %s", line, kind)
				}
				delete(want, request)
			}
		}
	}
	if len(want) > 0 {
		t.Errorf("log lacks %v:\n%s", want, logs.String())
	}
}

// forbiddenFS refuses every file as meant for another client.
type forbiddenFS struct{}

func (forbiddenFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("token of machine web2: %w", fs.ErrPermission)}
}

// A file the FS refuses with fs.ErrPermission is a 403 logged as a
// warning with the reason, which the client does not see.
func TestForbidden(t *testing.T) {
	s, logs := startLoopback(t, Config{Files: forbiddenFS{}})
	resp, err := http.Get("http://" + s.Addrs()[0].String() + "/netboot/config/web2/x/user-data")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || strings.Contains(string(body), "web2") {
		t.Errorf("got %d %q, want 403 without the reason", resp.StatusCode, body)
	}
	waitFor(t, func() bool { return strings.Contains(logs.String(), "status=403") })
	if line := logs.String(); !strings.Contains(line, "level=WARN") || !strings.Contains(line, "token of machine web2") {
		t.Errorf("log %q, want a warning with the reason", line)
	}
}

// clientMapFS serves its files only to the address "owner", and records
// the address each request came from.
type clientMapFS struct {
	fstest.MapFS
	owner netip.Addr
	from  chan netip.Addr
}

func (c clientMapFS) OpenFrom(client netip.Addr, name string) (fs.File, error) {
	c.from <- client
	if client != c.owner {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("not %s: %w", c.owner, fs.ErrPermission)}
	}
	return c.Open(name)
}

// An FS with OpenFrom is opened with the request's source address, and its
// refusal is a 403.
func TestOpensWithTheClientAddress(t *testing.T) {
	data := fstest.MapFS{"user-data": {Data: []byte("secret")}}
	for owner, want := range map[netip.Addr]int{loopback: http.StatusOK, netip.MustParseAddr("2001:db8::1"): http.StatusForbidden} {
		files := clientMapFS{MapFS: data, owner: owner, from: make(chan netip.Addr, 1)}
		s, _ := startLoopback(t, Config{Files: files})
		resp, err := http.Get("http://" + s.Addrs()[0].String() + "/user-data")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("file of %s: %d, want %d", owner, resp.StatusCode, want)
		}
		if from := <-files.from; from != loopback {
			t.Errorf("opened for %s, want %s", from, loopback)
		}
	}
}
