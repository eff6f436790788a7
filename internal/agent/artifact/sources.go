package artifact

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultFileDirs are where agent_path may read when the agent's operator
// names none: where Debian, Ubuntu and Fedora install what machines boot.
var DefaultFileDirs = []string{
	"/boot",               // kernels and initrds; Fedora's shim and GRUB under /boot/efi
	"/usr/lib/ipxe",       // Debian and Ubuntu: ipxe
	"/usr/share/ipxe",     // Fedora: ipxe-bootimgs
	"/usr/lib/shim",       // Debian and Ubuntu: shim-signed
	"/usr/lib/grub",       // Debian and Ubuntu: grub-efi-*-signed netboot images
	"/usr/lib/modules",    // Fedora keeps each kernel's vmlinuz beside its modules
	"/usr/lib/PXELINUX",   // Debian and Ubuntu: pxelinux
	"/usr/lib/syslinux",   // Debian and Ubuntu: syslinux-common
	"/usr/share/syslinux", // Fedora: syslinux
	"/var/lib/tftpboot",   // Fedora: tftp-server
	"/srv",                // what the host serves (FHS), e.g. Debian's /srv/tftp
}

// DefaultRootDirs are where an NFS root image's root_dir may be when the
// operator names none.
var DefaultRootDirs = []string{"/srv"}

// neverPublished are host directories no agent_path or root_dir may reach,
// even under a directory the operator allows.
var neverPublished = []Private{
	{"/etc", "files under /etc (host configuration and secrets)"},
	{"/proc", "files under /proc (processes' memory, environment and keys)"},
	{"/sys", "files under /sys (kernel state)"},
	{"/dev", "files under /dev (devices)"},
	{"/run", "files under /run (sockets, runtime secrets)"},
}

// Private is a path the agent never publishes, and what it is.
type Private struct {
	Path string
	What string // completes "the agent never publishes ..."
}

// SourceOptions are the operator's choices, from the agent command line.
type SourceOptions struct {
	// FileDirs may hold agent_path files (--artifact-path); nil means
	// DefaultFileDirs, "none" adds no directory.
	FileDirs []string
	// RootDirs may hold NFS root images' root_dir (--nfs-root-path); nil
	// means DefaultRootDirs.
	RootDirs []string
	// URLAllow are the hosts, addresses and networks url may fetch from
	// (--artifact-url-allow): a host name, an address, a CIDR prefix, "*"
	// (anything) or "none" (nothing). nil means any address but loopback, link-local, unspecified,
	// multicast and cloud metadata ones.
	URLAllow []string
	// Private are the agent's own files (state dir, TLS key): never
	// published, whatever the directories allow.
	Private []Private
}

// Sources decides which host files agent_path may copy, which directories
// an NFS root may export and which hosts url may download from. The
// agent's operator sets it; clients of the agent cannot widen it.
type Sources struct {
	fileDirs, rootDirs []string // absolute, as given and as resolved
	private            []Private
	urls               urlRules
	client             *http.Client
}

// RefusedError is a source the agent's operator does not allow; Field is
// the attribute (agent_path, url, root_dir, kernel).
type RefusedError struct {
	Field, Value, Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s %q is refused: %s", e.Field, e.Value, e.Reason)
}

// NewSources checks the operator's choices: every directory named must
// exist and lie outside the private paths, every url rule must parse.
func NewSources(o SourceOptions) (*Sources, error) {
	s := &Sources{}
	for _, p := range append(slices.Clone(neverPublished), o.Private...) {
		abs, err := filepath.Abs(p.Path)
		if err != nil {
			return nil, err
		}
		for _, form := range forms(abs) {
			s.private = append(s.private, Private{Path: form, What: p.What})
		}
	}
	var err error
	if s.fileDirs, err = s.allowedDirs("--artifact-path", o.FileDirs, DefaultFileDirs); err != nil {
		return nil, err
	}
	if s.rootDirs, err = s.allowedDirs("--nfs-root-path", o.RootDirs, DefaultRootDirs); err != nil {
		return nil, err
	}
	if s.urls, err = parseURLRules(o.URLAllow); err != nil {
		return nil, err
	}
	s.client = s.newHTTPClient()
	return s, nil
}

// allowedDirs checks the directories an operator named, or takes the
// defaults that exist on this host.
func (s *Sources) allowedDirs(flag string, named, defaults []string) ([]string, error) {
	if named == nil {
		var out []string
		for _, d := range defaults {
			if info, err := os.Stat(d); err == nil && info.IsDir() {
				out = append(out, forms(d)...)
			}
		}
		return out, nil
	}
	out := []string{}
	for _, d := range named {
		if d == "none" {
			continue
		}
		if !filepath.IsAbs(d) {
			return nil, fmt.Errorf("%s %q: must be an absolute path", flag, d)
		}
		d = filepath.Clean(d)
		if info, err := os.Stat(d); err != nil || !info.IsDir() {
			return nil, fmt.Errorf("%s %q: not a directory on this host", flag, d)
		}
		for _, form := range forms(d) {
			if p, ok := s.privateHolding(form); ok {
				return nil, fmt.Errorf("%s %q: the agent never publishes %s", flag, d, p.What)
			}
		}
		out = append(out, forms(d)...)
	}
	return out, nil
}

// forms is an absolute path as given and with its symbolic links resolved
// (when it exists): a path may be checked before or after resolving.
func forms(p string) []string {
	p = filepath.Clean(p)
	if r, err := filepath.EvalSymlinks(p); err == nil && r != p {
		return []string{p, r}
	}
	return []string{p}
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

func (s *Sources) privateHolding(p string) (Private, bool) {
	for _, priv := range s.private {
		if within(p, priv.Path) {
			return priv, true
		}
	}
	return Private{}, false
}

// fileRule says why path may not be published, or "" when it may.
func (s *Sources) fileRule(p string) string {
	if priv, ok := s.privateHolding(p); ok {
		return "the agent never publishes " + priv.What
	}
	if !slices.ContainsFunc(s.fileDirs, func(d string) bool { return within(p, d) }) {
		return "it is outside the directories this agent publishes from (" + listOrNone("--artifact-path", s.fileDirs) +
			"); the agent's operator may add one with --artifact-path DIR"
	}
	return ""
}

// rootRule says why dir may not be exported as an NFS root, or "".
func (s *Sources) rootRule(dir string) string {
	for _, priv := range s.private {
		if within(dir, priv.Path) || within(priv.Path, dir) {
			return "the agent never publishes " + priv.What
		}
	}
	if !slices.ContainsFunc(s.rootDirs, func(d string) bool { return within(dir, d) }) {
		return "it is outside the directories this agent exports NFS roots from (" + listOrNone("--nfs-root-path", s.rootDirs) +
			"); the agent's operator may add one with --nfs-root-path DIR"
	}
	return ""
}

func listOrNone(flag string, dirs []string) string {
	if len(dirs) == 0 {
		return flag + ": none on this host"
	}
	return flag + ": " + strings.Join(dirs, ", ")
}

// check resolves p and applies rule to it; a path that does not resolve
// is judged as written, so a refused path is refused whether it exists or not.
func check(field, p string, rule func(string) string) (string, error) {
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("%s %q must be absolute", field, p)
	}
	clean := filepath.Clean(p)
	resolved, err := filepath.EvalSymlinks(clean)
	if err != nil {
		if reason := rule(clean); reason != "" {
			return "", &RefusedError{Field: field, Value: p, Reason: reason}
		}
		return "", fmt.Errorf("%s: %w", field, err)
	}
	if reason := rule(resolved); reason != "" {
		if resolved != clean {
			reason = fmt.Sprintf("it resolves to %q, and %s", resolved, reason)
		}
		return "", &RefusedError{Field: field, Value: p, Reason: reason}
	}
	return resolved, nil
}

// OpenFile opens a host file for field (agent_path, kernel) if the
// operator allows publishing it. The file opened is the one checked: its
// path is resolved first, and the kernel's record of what was opened must
// match it, so a symbolic link swapped in meanwhile cannot redirect it.
func (s *Sources) OpenFile(field, p string) (*os.File, error) {
	resolved, err := check(field, p, s.fileRule)
	if err != nil {
		return nil, err
	}
	// Checked before opening: opening a FIFO or a device can block or act.
	if info, err := os.Lstat(resolved); err != nil || !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s %q is not a regular file", field, p)
	}
	f, err := os.OpenFile(resolved, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	opened, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		f.Close()
		return nil, &RefusedError{Field: field, Value: p, Reason: fmt.Sprintf("the agent cannot confirm which file it opened (%v); is /proc mounted?", err)}
	}
	if info, err := f.Stat(); opened != resolved || err != nil || !info.Mode().IsRegular() {
		f.Close()
		return nil, &RefusedError{Field: field, Value: p, Reason: "the file changed while it was being opened"}
	}
	return f, nil
}

// RootDir checks an NFS root directory and returns it with symbolic links
// resolved, which is what should be exported.
func (s *Sources) RootDir(field, dir string) (string, error) {
	resolved, err := check(field, dir, s.rootRule)
	if err != nil {
		return "", err
	}
	if info, err := os.Stat(resolved); err != nil || !info.IsDir() {
		return "", fmt.Errorf("%s %q is not a directory", field, dir)
	}
	return resolved, nil
}

// urlRules are --artifact-url-allow's entries; none means the default.
type urlRules struct {
	any      bool
	hosts    []string // lowercase host names
	prefixes []netip.Prefix
	given    []string
}

func parseURLRules(entries []string) (urlRules, error) {
	var r urlRules
	for _, e := range entries {
		e = strings.TrimSpace(e)
		r.given = append(r.given, e)
		switch {
		case e == "none":
		case e == "*":
			r.any = true
		case strings.Contains(e, "://"):
			return r, fmt.Errorf("--artifact-url-allow %q: want a host name, an address, a CIDR prefix or *, not a URL", e)
		case strings.Contains(e, "/"):
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return r, fmt.Errorf("--artifact-url-allow %q: not a CIDR prefix: %w", e, err)
			}
			r.prefixes = append(r.prefixes, p.Masked())
		default:
			if a, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
				r.prefixes = append(r.prefixes, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
				continue
			}
			if e == "" || strings.ContainsAny(e, ":@?# ") {
				return r, fmt.Errorf("--artifact-url-allow %q: want a host name, an address, a CIDR prefix or *", e)
			}
			r.hosts = append(r.hosts, strings.ToLower(strings.TrimSuffix(e, ".")))
		}
	}
	return r, nil
}

// metadataAddrs are cloud instance metadata services not already in a
// refused range (169.254.169.254 is link-local).
var metadataAddrs = []netip.Addr{netip.MustParseAddr("fd00:ec2::254")}

// hostAllowed reports whether a URL's host name is allowed by name.
func (r urlRules) hostAllowed(host string) bool {
	return r.any || slices.Contains(r.hosts, strings.ToLower(strings.TrimSuffix(host, ".")))
}

// addrRule says why the agent may not connect to a, or "".
func (r urlRules) addrRule(a netip.Addr) string {
	a = a.Unmap()
	if r.any {
		return ""
	}
	if len(r.given) > 0 {
		for _, p := range r.prefixes {
			if p.Contains(a) {
				return ""
			}
		}
		return fmt.Sprintf("the agent's --artifact-url-allow (%s) does not cover it (address %s)", strings.Join(r.given, ", "), a)
	}
	var what string
	switch {
	case a.IsLoopback():
		what = "a loopback address"
	case a.IsLinkLocalUnicast():
		what = "a link-local address (cloud metadata services live there)"
	case a.IsUnspecified():
		what = "the unspecified address"
	case a.IsMulticast():
		what = "a multicast address"
	case slices.Contains(metadataAddrs, a):
		what = "a cloud metadata address"
	default:
		return ""
	}
	return fmt.Sprintf("its address %s is %s, which the agent does not download from unless its operator allows it with --artifact-url-allow", a, what)
}

// checkURL applies the rules to what a URL names (its host name or
// literal address); dialling then checks the addresses a name resolves to.
func (s *Sources) checkURL(ctx context.Context, u *url.URL, viaProxy bool) error {
	host := u.Hostname()
	refuse := func(reason string) error { return &RefusedError{Field: "url", Value: u.String(), Reason: reason} }
	if a, err := netip.ParseAddr(host); err == nil {
		if reason := s.urls.addrRule(a); reason != "" {
			return refuse(reason)
		}
		return nil
	}
	if s.urls.hostAllowed(host) || !viaProxy {
		return nil
	}
	// Through a proxy the agent never dials the host itself: judge the
	// addresses the name has here.
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return refuse(fmt.Sprintf("its host cannot be resolved to check it against the agent's rules: %v", err))
	}
	for _, a := range addrs {
		if reason := s.urls.addrRule(a); reason != "" {
			return refuse(reason)
		}
	}
	return nil
}

// proxiedKey holds, in a download's context, the proxies it was sent
// through: the operator chose them, so dialling them is not checked.
type proxiedKey struct{}

// newHTTPClient downloads with the rules applied to every request
// (redirects included) and to every address it connects to, so a name that
// resolves somewhere else by the time it is dialled is still caught.
func (s *Sources) newHTTPClient() *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	transport.Proxy = func(req *http.Request) (*url.URL, error) {
		proxy, err := http.ProxyFromEnvironment(req)
		if proxy != nil {
			if mark, ok := req.Context().Value(proxiedKey{}).(*[]string); ok {
				port := proxy.Port()
				if port == "" {
					port = map[string]string{"https": "443", "socks5": "1080"}[proxy.Scheme]
				}
				if port == "" {
					port = "80"
				}
				*mark = append(*mark, net.JoinHostPort(proxy.Hostname(), port))
			}
		}
		return proxy, err
	}
	transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		proxies, _ := ctx.Value(proxiedKey{}).(*[]string)
		if s.urls.hostAllowed(host) || (proxies != nil && slices.Contains(*proxies, addr)) {
			return dialer.DialContext(ctx, network, addr)
		}
		d := *dialer
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return err
			}
			if reason := s.urls.addrRule(ap.Addr()); reason != "" {
				return &RefusedError{Field: "url", Value: host, Reason: reason}
			}
			return nil
		}
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			proxy, _ := http.ProxyFromEnvironment(req)
			return s.checkURL(req.Context(), req.URL, proxy != nil)
		},
	}
}

// get starts downloading u under the rules.
func (s *Sources) get(ctx context.Context, rawURL string) (*http.Response, error) {
	ctx = context.WithValue(ctx, proxiedKey{}, new([]string))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	proxy, _ := http.ProxyFromEnvironment(req)
	if err := s.checkURL(ctx, req.URL, proxy != nil); err != nil {
		return nil, err
	}
	return s.client.Do(req)
}
