package httpboot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/link"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// TestLabCurl serves a directory inside the lab's server namespace and
// fetches from the client namespace with curl.
func TestLabCurl(t *testing.T) {
	testlab.RequireRoot(t, "curl")
	lab := testlab.New(t)
	// The lab leaves addressing the client to an RA server; give it one.
	lab.MustExec(t, lab.ClientNS, "ip", "-6", "addr", "add", "2001:db8:1::2/64", "dev", lab.ClientIf, "nodad")

	dir := t.TempDir()
	script := []byte("#!ipxe\nkernel /vmlinuz\ninitrd /initrd.img\nboot\n")
	big := randomBytes(t, 50<<20)
	writeFile(t, filepath.Join(dir, "boot.ipxe"), script)
	writeFile(t, filepath.Join(dir, "initrd.img"), big)
	writeFile(t, filepath.Join(dir, "..", "outside"), []byte("must not be served"))

	var logs testlab.SyncBuffer
	var s *Server
	testlab.InNetns(t, lab.ServerNS, func() {
		ifi, err := link.Resolve(lab.ServerIf)
		if err != nil {
			t.Fatal(err)
		}
		// The serve addresses and the link-local one, which needs its zone.
		addrs := append(link.Link{Interface: &ifi}.ServeAddresses(), ifi.LinkLocal().WithZone(ifi.Name))
		s, err = Start(context.Background(), Config{Addresses: addrs, Port: DefaultPort, Files: os.DirFS(dir)},
			slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	t.Logf("serving on %v", s.Addrs())
	out := t.TempDir()
	base := "http://[" + lab.ServerAddr + "]:80"
	curl := func(args ...string) string {
		t.Helper()
		return lab.MustExec(t, lab.ClientNS, append([]string{"curl", "-sS", "-g", "-6"}, args...)...)
	}

	t.Run("50 MiB byte-identical", func(t *testing.T) {
		dest := filepath.Join(out, "initrd.img")
		if code := curl("-o", dest, "-w", "%{http_code}", base+"/initrd.img"); code != "200" {
			t.Errorf("status %s", code)
		}
		assertSameFile(t, filepath.Join(dir, "initrd.img"), dest)
	})

	t.Run("range", func(t *testing.T) {
		dest := filepath.Join(out, "range")
		if code := curl("-r", "0-99", "-o", dest, "-w", "%{http_code}", base+"/initrd.img"); code != "206" {
			t.Errorf("status %s, want 206", code)
		}
		got, err := os.ReadFile(dest)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, big[:100]) {
			t.Errorf("got %d bytes, want the first 100 of the file", len(got))
		}
	})

	t.Run("HEAD", func(t *testing.T) {
		head := curl("-I", base+"/initrd.img")
		if !regexp.MustCompile(`(?mi)^content-length: 52428800\r?$`).MatchString(head) {
			t.Errorf("HEAD headers lack Content-Length: 52428800:\n%s", head)
		}
		head = curl("-I", base+"/boot.ipxe")
		if !regexp.MustCompile(`(?mi)^content-type: text/plain; charset=utf-8\r?$`).MatchString(head) {
			t.Errorf("iPXE script not served as text/plain:\n%s", head)
		}
	})

	t.Run("link-local", func(t *testing.T) {
		ll := ""
		for _, a := range s.Addrs() {
			if a.Addr().IsLinkLocalUnicast() {
				ll = a.Addr().WithZone("").String()
			}
		}
		if ll == "" {
			t.Fatalf("no link-local address bound: %v", s.Addrs())
		}
		dest := filepath.Join(out, "ll.ipxe")
		curl("-o", dest, "http://["+ll+"%25"+lab.ClientIf+"]:80/boot.ipxe")
		assertSameFile(t, filepath.Join(dir, "boot.ipxe"), dest)
	})

	t.Run("traversal refused", func(t *testing.T) {
		for _, p := range []string{"/../outside", "/../../../../etc/passwd", "/%2e%2e/outside", "/..%5coutside"} {
			body := curl("--path-as-is", "-w", "\n%{http_code}", base+p)
			if !strings.HasSuffix(body, "\n400") || strings.Contains(body, "must not") || strings.Contains(body, "root:") {
				t.Errorf("GET %s: %q, want 400", p, body)
			}
		}
	})
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func assertSameFile(t *testing.T, want, got string) {
	t.Helper()
	hash := func(p string) [32]byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b)
	}
	if hash(want) != hash(got) {
		t.Errorf("%s differs from %s (sha256)", got, want)
	}
}
