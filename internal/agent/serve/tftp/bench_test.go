package tftp

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// BenchmarkTransfer fetches files over [::1] with curl (blksize 1428, as
// iPXE-sized clients ask) from this server and from tftpd-hpa serving the
// same directory, so one run compares the two:
//
//	go test -run '^$' -bench Transfer -benchtime 3x ./internal/agent/serve/tftp/
//
// MB/s is all bytes fetched over the wall time of the batch of clients,
// which includes starting the curl processes; ms/fetch is the mean of
// curl's own time_total, the time a client waits for its file.
func BenchmarkTransfer(b *testing.B) {
	for _, tool := range []string{"curl", "in.tftpd"} {
		if _, err := exec.LookPath(tool); err != nil {
			testlab.Unavailable(b, "needs %s on PATH (curl, tftpd-hpa)", tool)
		}
	}
	dir, err := os.MkdirTemp("", "tftp-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	// tftpd-hpa drops to user nobody.
	if err := os.Chmod(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	small, err := os.ReadFile("/usr/lib/ipxe/undionly.kpxe")
	if err != nil {
		small = randomBytes(b, 74213) // Debian's undionly.kpxe size
	}
	files := map[string]int{"undionly.kpxe": len(small), "big.bin": 50 << 20}
	if err := os.WriteFile(filepath.Join(dir, "undionly.kpxe"), small, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), randomBytes(b, files["big.bin"]), 0o644); err != nil {
		b.Fatal(err)
	}

	servers := []struct {
		name  string
		start func(b *testing.B) netip.AddrPort
	}{
		{"netboot", func(b *testing.B) netip.AddrPort {
			s, err := Start(context.Background(), Config{
				Addresses: []netip.Addr{loopback}, Files: os.DirFS(dir),
				// Every client is [::1] here.
				MaxTransfersPerClient: DefaultMaxTransfers,
			}, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(s.Stop)
			return s.Addrs()[0]
		}},
		{"tftpd-hpa", func(b *testing.B) netip.AddrPort {
			return startTFTPDHPA(b, dir)
		}},
	}
	for _, srv := range servers {
		b.Run(srv.name, func(b *testing.B) {
			addr := srv.start(b)
			for _, file := range []string{"undionly.kpxe", "big.bin"} {
				for _, clients := range []int{1, 20, 50} {
					b.Run(fmt.Sprintf("%s/clients=%d", file, clients), func(b *testing.B) {
						var total, fetches time.Duration
						for b.Loop() {
							start := time.Now()
							fetches += fetchAll(b, addr, file, files[file], clients)
							total += time.Since(start)
						}
						bytes := float64(files[file]) * float64(clients) * float64(b.N)
						b.ReportMetric(bytes/1e6/total.Seconds(), "MB/s")
						b.ReportMetric(float64(fetches.Milliseconds())/float64(clients*b.N), "ms/fetch")
					})
				}
			}
		})
	}
}

// fetchAll runs clients curl processes at once, checks each got size
// bytes and returns the sum of curl's time_total over them.
func fetchAll(b *testing.B, addr netip.AddrPort, file string, size, clients int) time.Duration {
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	var mu sync.Mutex
	var sum time.Duration
	for range clients {
		wg.Go(func() {
			out, err := exec.Command("curl", "-sS", "-g", "--tftp-blksize", "1428", "-o", "/dev/null",
				"-w", "%{size_download} %{time_total}", fmt.Sprintf("tftp://%s/%s", addr, file)).CombinedOutput()
			var got int
			var secs float64
			if err == nil {
				if _, serr := fmt.Sscan(string(out), &got, &secs); serr != nil || got != size {
					err = fmt.Errorf("got %q, want %d bytes", out, size)
				}
			}
			if err != nil {
				errs <- fmt.Errorf("curl %s: %v: %s", file, err, out)
				return
			}
			mu.Lock()
			sum += time.Duration(secs * float64(time.Second))
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return sum
}

// startTFTPDHPA runs tftpd-hpa on [::1] and a free port until the
// benchmark ends.
func startTFTPDHPA(b *testing.B, dir string) netip.AddrPort {
	port := freeUDPPort(b)
	addr := netip.AddrPortFrom(loopback, uint16(port))
	cmd := exec.Command("in.tftpd", "-L", "-6", "-a", addr.String(), "-s", dir)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// Ready once it answers.
	for deadline := time.Now().Add(5 * time.Second); ; {
		err := exec.Command("curl", "-sS", "-g", "-o", "/dev/null", fmt.Sprintf("tftp://%s/undionly.kpxe", addr)).Run()
		if err == nil {
			return addr
		}
		if time.Now().After(deadline) {
			b.Fatalf("tftpd-hpa on %s did not answer: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
