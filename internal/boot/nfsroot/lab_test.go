package nfsroot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	nfs "github.com/willscott/go-nfs"
	nfshelper "github.com/willscott/go-nfs/helpers"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/dhcp6"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/ra"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/bootfile"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// TestQEMUNFSRootOverIPv6 boots a diskless machine end to end on an
// IPv6-only link: unmodified iPXE in QEMU → the project's RA and DHCPv6
// servers (option 59 for user class iPXE) → a script, kernel and this
// package's initrd over HTTP → SLAAC in the initrd → nfsroot= resolved by
// DNS (AAAA) through nbdns= → mount.nfs over TCP/IPv6 from a userspace NFS
// server → switch_root to the root's /sbin/init, which prints a marker read
// from a file on the NFS root. A second boot gives nfsroot= a literal IPv6
// address, which the initrd must refuse with an explanation.
func TestQEMUNFSRootOverIPv6(t *testing.T) {
	testlab.RequireRoot(t, "qemu-system-x86_64")
	for _, f := range []string{"/usr/lib/ipxe/ipxe.lkrn", "/sbin/mount.nfs"} {
		if _, err := os.Stat(f); err != nil {
			testlab.Unavailable(t, "needs %s (Debian ipxe, nfs-common)", f)
		}
	}
	if err := staticELF("/bin/busybox"); err != nil {
		testlab.Unavailable(t, "needs a static /bin/busybox (busybox-static): %v", err)
	}
	kernel := testlab.Kernel(t)
	release := strings.TrimPrefix(filepath.Base(kernel), "vmlinuz-")
	if _, err := os.Stat(filepath.Join("/lib/modules", release, "modules.dep")); err != nil {
		testlab.Unavailable(t, "needs the modules of %s in /lib/modules (linux-image-amd64)", release)
	}

	built := time.Now()
	initrd, err := BuildInitrd(context.Background(), InitrdOptions{KernelVersion: release, Gzip: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("initrd for %s: %d bytes (gzip), %d files, sha256 %s, built in %s",
		release, initrd.Size, len(initrd.Files), initrd.SHA256, time.Since(built).Round(time.Millisecond))
	kernelData, err := os.ReadFile(kernel)
	if err != nil {
		t.Fatal(err)
	}

	lab := testlab.New(t)
	tap := lab.AttachTap(t)
	server := netip.MustParseAddr(lab.ServerAddr)
	const nfsHost = "nfs.boot.test"
	marker := "NFSROOT-" + randomHex(t)
	base := "http://[" + lab.ServerAddr + "]"
	files := &fileMap{m: map[string][]byte{"/vmlinuz": kernelData, "/initrd.img": initrd.Data}}
	var dnsQueries atomic.Int64
	testlab.InNetns(t, lab.ServerNS, func() {
		serveNFS(t, testRoot(t, marker))
		serveDNS(t, nfsHost+".", server, &dnsQueries)
		serveHTTP(t, files)
		startRA(t, lab)
		startDHCPv6(t, lab, base+"/start.ipxe")
	})
	// boot serves the kernel arguments to iPXE and boots until want shows.
	boot := func(t *testing.T, args, want string) (string, time.Duration) {
		t.Helper()
		files.set("/start.ipxe", []byte("#!ipxe\nkernel "+base+"/vmlinuz "+args+" panic=-1\ninitrd "+base+"/initrd.img\nboot\n"))
		console, took, ok := lab.Boot(t, tap, testlab.QEMU{Firmware: testlab.BIOS, Marker: want, Timeout: 240 * time.Second})
		if !ok {
			t.Fatalf("%q never showed on the serial console:\n%s", want, console)
		}
		t.Logf("initrd progress:\n%s", grepLines(console, "nfsroot:"))
		return console, took
	}

	t.Run("root by DNS name", func(t *testing.T) {
		args, err := KernelArgs(ArgsOptions{Hostname: nfsHost, ExportPath: "/", DNSServers: []netip.Addr{server}, Console: "ttyS0"})
		if err != nil {
			t.Fatal(err)
		}
		console, took := boot(t, args, marker)
		for _, want := range []string{"nfsroot: eth0 has 2001:0db8:0001:0000:", "nfsroot: mounting " + nfsHost + ":/ on /newroot",
			"nfsroot: starting /sbin/init from " + nfsHost + ":/", "read from the NFS root: " + marker} {
			if !strings.Contains(console, want) {
				t.Errorf("console lacks %q", want)
			}
		}
		if strings.Contains(console, "nfsroot: warning") {
			t.Error("the initrd warned")
		}
		if errs := testlab.InitErrors(console); len(errs) > 0 {
			t.Errorf("/init reported errors:\n%s", strings.Join(errs, "\n"))
		}
		if dnsQueries.Load() == 0 {
			t.Error("the initrd never asked the DNS server for " + nfsHost)
		}
		if t.Failed() {
			t.Logf("console:\n%s", console)
		}
		t.Logf("QEMU start → marker from the NFS root: %s (%d DNS queries)", took.Round(100*time.Millisecond), dnsQueries.Load())
	})

	t.Run("literal IPv6 refused", func(t *testing.T) {
		// KernelArgs refuses this, so the arguments are written by hand.
		args := "ip=:::::eth0:off ip6=eth0 nfsroot=[" + lab.ServerAddr + "]:/ nbdns=" + lab.ServerAddr + " ro console=ttyS0"
		console, _ := boot(t, args, "starting a shell on the console")
		if want := "nfsroot: ERROR: nfsroot=[" + lab.ServerAddr + "]:/: HOST must be a DNS name, not a literal IPv6 address"; !strings.Contains(console, want) {
			t.Errorf("console lacks %q:\n%s", want, console)
		}
	})
}

// testRoot is the exported root filesystem: a static busybox and an init
// that prints the marker from a file (so it can only come over NFS) and
// powers off.
func testRoot(t *testing.T, marker string) string {
	t.Helper()
	dir := t.TempDir()
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"dev", "proc", "sys", "bin", "sbin"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	init := "#!/bin/busybox sh\n" +
		"/bin/busybox echo \"read from the NFS root: $(/bin/busybox cat /marker.txt)\"\n" +
		"/bin/busybox poweroff -f\n"
	files := []struct {
		name string
		mode os.FileMode
		data []byte
	}{
		{"bin/busybox", 0o755, busybox},
		{"sbin/init", 0o755, []byte(init)},
		{"marker.txt", 0o644, []byte(marker + "\n")},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// serveNFS serves dir over NFSv3 (MOUNT and NFS on port 2049, no rpcbind).
func serveNFS(t *testing.T, dir string) {
	t.Helper()
	l, err := net.Listen("tcp6", "[::]:2049")
	if err != nil {
		t.Fatal(err)
	}
	handler := nfshelper.NewCachingHandler(nfshelper.NewNullAuthHandler(osfs.New(dir)), 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = nfs.Serve(l, handler)
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
	})
}

// serveDNS answers on [addr]:53: AAAA queries for name with addr, other
// types for name with no records, and other names with NXDOMAIN. It binds
// the address, not [::], so replies come from where the query went: the
// server's interface also has a SLAAC address from the lab's own router
// advertisements, and the kernel would pick that one as the source of a
// reply from an unbound socket, which the client's resolver ignores.
func serveDNS(t *testing.T, name string, addr netip.Addr, queries *atomic.Int64) {
	t.Helper()
	conn, err := net.ListenUDP("udp6", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 53)))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 512)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			resp, err := answerDNS(buf[:n], name, addr)
			if err != nil {
				t.Logf("DNS: dropping a query from %s: %v", from, err)
				continue
			}
			queries.Add(1)
			_, _ = conn.WriteTo(resp, from)
		}
	})
	t.Cleanup(func() {
		conn.Close()
		wg.Wait()
	})
}

func answerDNS(req []byte, name string, addr netip.Addr) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(req)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	resp := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired},
		Questions: []dnsmessage.Question{q},
	}
	switch {
	case !strings.EqualFold(q.Name.String(), name):
		resp.RCode = dnsmessage.RCodeNameError
	case q.Type == dnsmessage.TypeAAAA:
		resp.Answers = []dnsmessage.Resource{{
			Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeAAAA, Class: dnsmessage.ClassINET, TTL: 60},
			Body:   &dnsmessage.AAAAResource{AAAA: addr.As16()},
		}}
	}
	return resp.Pack()
}

// fileMap is what the HTTP server serves, by URL path.
type fileMap struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (f *fileMap) set(path string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[path] = data
}

func (f *fileMap) get(path string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	data, ok := f.m[path]
	return data, ok
}

func serveHTTP(t *testing.T, files *fileMap) {
	t.Helper()
	l, err := net.Listen("tcp6", "[::]:80")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, ok := files.get(r.URL.Path)
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		_, _ = w.Write(data)
	})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			t.Logf("HTTP server: %v", err)
		}
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
}

// startRA advertises the lab's prefix for SLAAC (the kernel) with M and O
// set (iPXE then asks DHCPv6 for its address and boot-file URL).
func startRA(t *testing.T, lab *testlab.Lab) {
	t.Helper()
	srv, err := ra.Start(context.Background(), ra.Config{
		Interface: testlab.Interface(t, lab.ServerNS, lab.ServerIf),
		Prefix:    netip.MustParsePrefix(lab.Prefix),
		RA: config.RouterAdvertisement{
			Managed: true, OtherConfig: true,
			MinInterval: 30 * time.Second, MaxInterval: 60 * time.Second,
			PrefixOnLink: true, PrefixAutonomous: true,
			PrefixValidLifetime: time.Hour, PrefixPreferredLifetime: 30 * time.Minute,
			RDNSS: []netip.Addr{netip.MustParseAddr(lab.ServerAddr)}, DNSLifetime: time.Hour,
		},
	}, testLogger(t, "ra"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
}

func startDHCPv6(t *testing.T, lab *testlab.Lab, scriptURL string) {
	t.Helper()
	server := netip.MustParseAddr(lab.ServerAddr)
	srv, err := dhcp6.Start(context.Background(), dhcp6.Config{
		Interface: testlab.Interface(t, lab.ServerNS, lab.ServerIf),
		Prefix:    netip.MustParsePrefix(lab.Prefix),
		DHCPv6: config.DHCPv6{
			Mode: config.DHCPv6Stateful,
			Ranges: []config.AddressRange{{
				Start: netip.MustParseAddr("2001:db8:1::1000"), End: netip.MustParseAddr("2001:db8:1::1fff"),
			}},
			DNSServers: []netip.Addr{server},
			RenewTime:  30 * time.Minute, RebindTime: 45 * time.Minute,
			PreferredLifetime: time.Hour, ValidLifetime: 2 * time.Hour, InfoRefreshTime: time.Hour,
		},
		Boot:          config.Boot{Rules: []bootfile.Rule{{UserClass: "iPXE", URL: scriptURL}}, HTTP: true, HTTPPort: 80},
		ServerAddress: server,
	}, &memLeases{m: map[netip.Addr]lease.Lease{}}, testLogger(t, "dhcp6"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
}

// memLeases keeps the DHCPv6 server's leases in memory for one test.
type memLeases struct {
	mu sync.Mutex
	m  map[netip.Addr]lease.Lease
}

func (s *memLeases) PutLeases(put []lease.Lease, del []netip.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range put {
		s.m[l.Address] = l
	}
	for _, a := range del {
		delete(s.m, a)
	}
	return nil
}

func (s *memLeases) Leases() ([]lease.Lease, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]lease.Lease, 0, len(s.m))
	for _, l := range s.m {
		out = append(out, l)
	}
	return out, nil
}

// testLogger sends a server's logs to the test log (shown with -v or on
// failure) until the test ends.
func testLogger(t *testing.T, server string) *slog.Logger {
	var mu sync.Mutex
	ended := false
	t.Cleanup(func() {
		mu.Lock()
		ended = true
		mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		if !ended {
			t.Logf("%s: %s", server, strings.TrimSuffix(string(p), "\n"))
		}
		return len(p), nil
	}), nil))
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func randomHex(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func grepLines(s, sub string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
