package artifact

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
)

// sourcesLab is a host tree for the rules: an allowed directory holding a
// state dir, a TLS key and links that lead out of it.
type sourcesLab struct {
	allowed, outside, state, key string
	sources                      *Sources
}

func newSourcesLab(t *testing.T) *sourcesLab {
	t.Helper()
	root := t.TempDir()
	l := &sourcesLab{allowed: filepath.Join(root, "allowed"), outside: filepath.Join(root, "outside")}
	l.state = filepath.Join(l.allowed, "state")
	l.key = filepath.Join(l.allowed, "tls", "agent-key.pem")
	for _, d := range []string{l.allowed, l.outside, l.state, filepath.Dir(l.key), filepath.Join(l.allowed, "roots", "debian")} {
		must(t, os.MkdirAll(d, 0o755))
	}
	for _, f := range []string{filepath.Join(l.allowed, "ipxe.efi"), filepath.Join(l.outside, "secret"), filepath.Join(l.state, "state.db"), l.key} {
		must(t, os.WriteFile(f, []byte("x"), 0o600))
	}
	must(t, os.Symlink("/etc/passwd", filepath.Join(l.allowed, "passwd")))
	must(t, os.Symlink("../outside/secret", filepath.Join(l.allowed, "escape")))
	must(t, os.Symlink("ipxe.efi", filepath.Join(l.allowed, "ipxe-link.efi")))
	must(t, os.Symlink(l.outside, filepath.Join(l.allowed, "outdir")))
	must(t, syscall.Mkfifo(filepath.Join(l.allowed, "fifo"), 0o600))
	var err error
	l.sources, err = NewSources(SourceOptions{
		FileDirs: []string{l.allowed}, RootDirs: []string{l.allowed},
		Private: []Private{{l.state, "the agent's state directory"}, {l.key, "the agent's --tls-key file"}},
	})
	must(t, err)
	return l
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenFileAppliesTheOperatorsRules(t *testing.T) {
	l := newSourcesLab(t)
	tests := []struct {
		path    string
		refused string // the rule named; "" when the file opens
		other   string // a failure that is not a refusal
	}{
		{path: filepath.Join(l.allowed, "ipxe.efi")},
		{path: filepath.Join(l.allowed, "ipxe-link.efi")},
		{path: "/etc/shadow", refused: "never publishes files under /etc"},
		{path: "/proc/self/environ", refused: "never publishes files under /proc"},
		{path: "/etc/missing", refused: "never publishes files under /etc"},
		{path: filepath.Join(l.outside, "secret"), refused: "outside the directories this agent publishes from (--artifact-path: " + l.allowed},
		{path: filepath.Join(l.outside, "missing"), refused: "outside the directories"},
		{path: filepath.Join(l.allowed, "passwd"), refused: `resolves to "/etc/passwd", and the agent never publishes files under /etc`},
		{path: filepath.Join(l.allowed, "escape"), refused: `resolves to "` + filepath.Join(l.outside, "secret") + `", and it is outside`},
		{path: filepath.Join(l.allowed, "outdir", "secret"), refused: "it is outside"},
		{path: filepath.Join(l.state, "state.db"), refused: "never publishes the agent's state directory"},
		{path: l.key, refused: "never publishes the agent's --tls-key file"},
		{path: filepath.Join(l.allowed, "fifo"), other: "is not a regular file"},
		{path: filepath.Join(l.allowed, "missing"), other: "no such file"},
		{path: "relative/ipxe.efi", other: "must be absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			f, err := l.sources.OpenFile("agent_path", tt.path)
			if f != nil {
				f.Close()
			}
			var refused *RefusedError
			switch {
			case tt.refused != "":
				if !errors.As(err, &refused) || refused.Field != "agent_path" || !strings.Contains(err.Error(), tt.refused) {
					t.Fatalf("OpenFile = %v, want a refusal saying %q", err, tt.refused)
				}
			case tt.other != "":
				if err == nil || errors.As(err, &refused) || !strings.Contains(err.Error(), tt.other) {
					t.Fatalf("OpenFile = %v, want an error saying %q", err, tt.other)
				}
			case err != nil:
				t.Fatalf("OpenFile = %v", err)
			}
		})
	}
}

func TestRootDirAppliesTheOperatorsRules(t *testing.T) {
	l := newSourcesLab(t)
	got, err := l.sources.RootDir("root_dir", filepath.Join(l.allowed, "roots", "debian"))
	if err != nil || got != filepath.Join(l.allowed, "roots", "debian") {
		t.Fatalf("RootDir = %q, %v", got, err)
	}
	for dir, rule := range map[string]string{
		"/":                                "never publishes files under /etc",
		"/etc":                             "never publishes files under /etc",
		l.allowed:                          "never publishes the agent's state directory",
		l.outside:                          "outside the directories this agent exports NFS roots from",
		filepath.Join(l.allowed, "outdir"): "resolves to",
	} {
		_, err := l.sources.RootDir("root_dir", dir)
		var refused *RefusedError
		if !errors.As(err, &refused) || !strings.Contains(err.Error(), rule) {
			t.Errorf("RootDir(%s) = %v, want a refusal saying %q", dir, err, rule)
		}
	}
}

func TestOperatorsDirectoriesAreChecked(t *testing.T) {
	state := t.TempDir()
	for _, tt := range []struct {
		dirs []string
		want string
	}{
		{[]string{"relative"}, "must be an absolute path"},
		{[]string{"/nonexistent-netboot-dir"}, "not a directory"},
		{[]string{"/etc/ssl"}, "never publishes files under /etc"},
		{[]string{filepath.Join(state)}, "never publishes the agent's state directory"},
	} {
		_, err := NewSources(SourceOptions{FileDirs: tt.dirs, Private: []Private{{state, "the agent's state directory"}}})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("--artifact-path %v: %v, want %q", tt.dirs, err, tt.want)
		}
	}
	if s, err := NewSources(SourceOptions{FileDirs: []string{"none"}}); err != nil || len(s.fileDirs) != 0 {
		t.Errorf("--artifact-path none: %v, %v", s, err)
	}
	for _, bad := range []string{"http://boot.example", "10.0.0.0/33", "boot.example:80", ""} {
		if _, err := NewSources(SourceOptions{URLAllow: []string{bad}}); err == nil {
			t.Errorf("--artifact-url-allow %q accepted", bad)
		}
	}
}

func TestURLHostsFollowTheOperatorsRules(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	byName := "http://localhost:" + port + "/a"
	tests := []struct {
		allow   []string
		url     string
		refused string
	}{
		{nil, srv.URL + "/a", "address 127.0.0.1 is a loopback address, which the agent does not download from unless its operator allows it with --artifact-url-allow"},
		{nil, byName, "is a loopback address"}, // resolved, then refused when dialled
		{nil, "http://169.254.169.254/latest/meta-data/", "is a link-local address"},
		{nil, "http://[fd00:ec2::254]/latest/meta-data/", "is a cloud metadata address"},
		{[]string{"*"}, srv.URL + "/a", ""},
		{[]string{"127.0.0.0/8"}, srv.URL + "/a", ""},
		{[]string{"127.0.0.1"}, srv.URL + "/a", ""},
		{[]string{"localhost"}, byName, ""},
		{[]string{"2001:db8::/32", "boot.example"}, srv.URL + "/a", "--artifact-url-allow (2001:db8::/32, boot.example) does not cover it (address 127.0.0.1)"},
		{[]string{"none"}, srv.URL + "/a", "does not cover it"},
		{[]string{"127.0.0.1"}, srv.URL + "/redirect?to=http://[::1]:" + port + "/a", "it leads to http://[::1]:" + port + "/a, and the agent's --artifact-url-allow (127.0.0.1) does not cover it (address ::1)"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.allow, ",")+" "+tt.url, func(t *testing.T) {
			dir := t.TempDir()
			db, err := store.Open(dir)
			must(t, err)
			defer db.Close()
			sources, err := NewSources(SourceOptions{URLAllow: tt.allow})
			must(t, err)
			s, err := Open(dir, db, sources)
			must(t, err)
			_, err = s.PutFromURL(context.Background(), "a", "", tt.url, nil)
			var refused *RefusedError
			if tt.refused == "" {
				if err != nil {
					t.Fatalf("PutFromURL = %v", err)
				}
				return
			}
			if !errors.As(err, &refused) || refused.Field != "url" || refused.Value != tt.url || !strings.Contains(err.Error(), tt.refused) {
				t.Fatalf("PutFromURL = %v, want a refusal of url saying %q", err, tt.refused)
			}
		})
	}
}

// Whatever an operator types, parsing never panics, and a rule set that
// parses answers for any address.
func FuzzParseURLRules(f *testing.F) {
	for _, seed := range []string{"*", "none", "boot.example", "2001:db8::/32", "[2001:db8::1]", "10.0.0.0/8", "::ffff:127.0.0.1", "a:b", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, entry string) {
		r, err := parseURLRules([]string{entry})
		if err != nil {
			return
		}
		for _, a := range []string{"127.0.0.1", "::1", "2001:db8::5", "fe80::1%eth0"} {
			_ = r.addrRule(netip.MustParseAddr(a))
		}
		_ = r.hostAllowed(entry)
	})
}
