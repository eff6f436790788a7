package dhcp6

import (
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// BenchmarkStartMillion is what a server's start costs with a million
// stored leases, as Start spends it: opening the state file, then
// loading its leases into the pool; then what the hardware address index
// costs, built once the server answers. A shared machine stretches wall time
// with other work, so CPU time (user and system, of every thread) is
// reported beside it for each step.
func BenchmarkStartMillion(b *testing.B) {
	const n = 1_000_000
	dir := b.TempDir()
	now := time.Now()
	cfg := Config{DHCPv6: config.DHCPv6{Mode: config.DHCPv6Stateful,
		Ranges: []config.AddressRange{{Start: netip.MustParseAddr("2001:db8:1::"), End: netip.MustParseAddr("2001:db8:1::ffff:ffff")}}}}
	seedLeases(b, dir, n, now)
	var openWall, openCPU, loadWall, loadCPU, macWall, macCPU time.Duration
	for b.Loop() {
		t0, c0 := time.Now(), cpuTime()
		st, err := store.OpenWith(dir, store.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		t1, c1 := time.Now(), cpuTime()
		pool := lease.NewPool(spacesOf(cfg))
		s := &Server{now: func() time.Time { return now }}
		s.h = newHandler(serverDUID, cfg, pool, st.Leases("bench"), nil)
		var stale batch
		if err := s.loadLeases(st.Leases("bench"), &stale); err != nil {
			b.Fatal(err)
		}
		t2, c2 := time.Now(), cpuTime()
		pool.IndexHardware()
		t3, c3 := time.Now(), cpuTime()
		if got := pool.Count(now); got != n || len(stale.writes) != 0 {
			b.Fatalf("pool holds %d leases and drops %d, want %d and none", got, len(stale.writes), n)
		}
		openWall, openCPU, loadWall, loadCPU = openWall+t1.Sub(t0), openCPU+c1-c0, loadWall+t2.Sub(t1), loadCPU+c2-c1
		macWall, macCPU = macWall+t3.Sub(t2), macCPU+c3-c2
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
	}
	per := func(d time.Duration) float64 { return d.Seconds() / float64(b.N) }
	b.ReportMetric(per(openWall), "open-s/op")
	b.ReportMetric(per(openCPU), "open-cpu-s/op")
	b.ReportMetric(per(loadWall), "load-s/op")
	b.ReportMetric(per(loadCPU), "load-cpu-s/op")
	b.ReportMetric(per(macWall), "mac-index-s/op")
	b.ReportMetric(per(macCPU), "mac-index-cpu-s/op")
}

// seedLeases stores n leases of n clients, as large as real ones
// (DUID-LLT, architecture, user class, MAC), bound for an hour from now.
func seedLeases(b *testing.B, dir string, n int, now time.Time) {
	st, err := store.OpenWith(dir, store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	arch := uint16(7)
	const batch = 50_000
	ls := make([]lease.Lease, batch)
	for from := 0; from < n; from += batch {
		ls = ls[:min(batch, n-from)]
		for i := range ls {
			v := uint32(from + i + 1)
			mac := []byte{0x52, 0x54, byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
			ls[i] = lease.Lease{Kind: lease.NA,
				Address: netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 12: byte(v >> 24), 13: byte(v >> 16), 14: byte(v >> 8), 15: byte(v)}),
				DUID:    append([]byte{0, 1, 0, 1, 0x2e, 0x5c, 0x11, 0x22}, mac...), IAID: v,
				PreferredUntil: now.Add(50 * time.Minute), ValidUntil: now.Add(time.Hour), LastTransaction: now,
				ClientArch: &arch, UserClass: "iPXE", HardwareAddr: net.HardwareAddr(mac).String(), HardwareAddrSource: "duid"}
		}
		if err := st.Leases("bench").PutLeases(ls, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
