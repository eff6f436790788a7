package dnsserve

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/link"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// TestLabResolver serves names inside the lab's server namespace on port 53
// and resolves them from the client namespace with the C library's
// resolver (getent), told of the server by resolv.conf as RDNSS would, and
// with whichever DNS tools are installed.
func TestLabResolver(t *testing.T) {
	testlab.RequireRoot(t, "getent")
	lab := testlab.New(t)
	lab.MustExec(t, lab.ClientNS, "ip", "-6", "addr", "add", "2001:db8:1::2/64", "dev", lab.ClientIf, "nodad")
	// `ip netns exec` puts /etc/netns/NS/resolv.conf over /etc/resolv.conf.
	resolvConf := filepath.Join("/etc/netns", lab.ClientNS, "resolv.conf")
	if err := os.WriteFile(resolvConf, []byte("nameserver "+lab.ServerAddr+"\noptions timeout:1 attempts:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	server := netip.MustParseAddr(lab.ServerAddr)
	var logs testlab.SyncBuffer
	var s *Server
	testlab.InNetns(t, lab.ServerNS, func() {
		ifi, err := link.Resolve(lab.ServerIf)
		if err != nil {
			t.Fatal(err)
		}
		s, err = Start(context.Background(), Config{
			Addresses: link.Link{Interface: &ifi}.ServeAddresses(),
			Port:      DefaultPort,
			Records:   map[string][]netip.Addr{"nfs.netboot.test": {server}},
		}, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
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

	t.Run("getent", func(t *testing.T) {
		for _, db := range []string{"ahosts", "ahostsv6"} {
			out := lab.MustExec(t, lab.ClientNS, "getent", db, "NFS.netboot.test")
			if !strings.Contains(out, lab.ServerAddr) {
				t.Errorf("getent %s: %q lacks %s", db, out, lab.ServerAddr)
			}
		}
		if out, err := lab.Exec(context.Background(), lab.ClientNS, "getent", "ahosts", "other.netboot.test"); err == nil {
			t.Errorf("getent ahosts other.netboot.test resolved: %q", out)
		}
	})

	tools := map[string][]string{
		"dig":      {"dig", "+norecurse", "AAAA", "nfs.netboot.test", "@" + lab.ServerAddr},
		"dig +tcp": {"dig", "+tcp", "AAAA", "nfs.netboot.test", "@" + lab.ServerAddr},
		"host":     {"host", "-t", "AAAA", "nfs.netboot.test", lab.ServerAddr},
		"busybox":  {"busybox", "nslookup", "-type=AAAA", "nfs.netboot.test", lab.ServerAddr},
	}
	for name, args := range tools {
		t.Run(name, func(t *testing.T) {
			if _, err := exec.LookPath(args[0]); err != nil {
				testlab.Unavailable(t, "%s not installed", args[0])
			}
			out := lab.MustExec(t, lab.ClientNS, args...)
			if !strings.Contains(out, lab.ServerAddr) {
				t.Errorf("%s: answer lacks %s:\n%s", name, lab.ServerAddr, out)
			}
			if strings.HasPrefix(name, "dig") && !strings.Contains(out, " aa") {
				t.Errorf("dig: no aa flag:\n%s", out)
			}
		})
	}
	if st := s.Stats(); st.Answers < 2 || st.Refused < 1 {
		t.Errorf("stats = %+v", st)
	}
}
