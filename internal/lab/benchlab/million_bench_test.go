package benchlab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// millionBench starts the agent and Kea on the same stored leases (a
// million by default) and measures how long each takes to answer a first
// client and how much memory it holds, then the delay of Solicit → Reply
// at a fixed rate with that store and with an empty one.
type millionBench struct {
	runs   int
	leases int
	rate   int
	// One cell per server: millionAgent, millionKea.
	firstAnswer, rss, rssAnon, peak, rssLoaded, emptyFirst, emptyRSS,
	emptyDelay, fullDelay, emptyMax, fullMax, fullDrops [2]Cell
	// stored is the state file's and the lease file's size, MB.
	stored [2]Cell
}

func newMillionBench(runs, leases int) *millionBench {
	return &millionBench{runs: runs, leases: leases, rate: 2000}
}

func (b *millionBench) name() string { return "Million leases" }

// The two servers of this section, in its column order.
const (
	millionAgent = 0
	millionKea   = 1
)

// millionLeases are n leases of n clients in the bench's pool, as large
// as real ones (DUID-LLT, architecture, user class, MAC), bound until
// valid from now: the same for both servers.
func millionLeases(from, n int, now time.Time) []lease.Lease {
	base := netip.MustParseAddr(poolStart).As16()
	arch := uint16(7)
	out := make([]lease.Lease, n)
	for i := range out {
		v := uint32(from + i + 1)
		a := base
		a[12], a[13], a[14], a[15] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
		mac := []byte{0x52, 0x54, byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
		out[i] = lease.Lease{
			Kind: lease.NA, Address: netip.AddrFrom16(a), DUID: append([]byte{0, 1, 0, 1, 0x2e, 0x5c, 0x11, 0x22}, mac...), IAID: v,
			PreferredUntil: now.Add(3000 * time.Second), ValidUntil: now.Add(4000 * time.Second), LastTransaction: now,
			ClientArch: &arch, UserClass: "iPXE", HardwareAddr: net.HardwareAddr(mac).String(), HardwareAddrSource: "duid",
		}
	}
	return out
}

// seedStores writes the leases into a state file in agentDir (with the
// lab's boot server, so the agent serves it at start) and into a Kea
// memfile lease file in keaDir.
func (b *millionBench) seedStores(lab *testlab.Lab, agentDir, keaDir string) error {
	st, err := store.OpenWith(agentDir, store.Options{NoSync: true})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.PutBootServer(bootServer(lab, poolStart, poolEnd)); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(keaDir, "leases6.csv"))
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	// Kea 2.2's memfile lease6 columns.
	fmt.Fprintln(w, "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source")
	now := time.Now()
	const batch = 50000
	for from := 0; from < b.leases; from += batch {
		ls := millionLeases(from, min(batch, b.leases-from), now)
		if err := st.Leases("bench").PutLeases(ls, nil); err != nil {
			return err
		}
		for _, l := range ls {
			fmt.Fprintf(w, "%s,%s,4000,%d,1,3000,0,%d,128,0,0,,%s,0,,1,2\n",
				l.Address, net.HardwareAddr(l.DUID), l.ValidUntil.Unix(), l.IAID, l.HardwareAddr)
		}
	}
	return w.Flush()
}

func (b *millionBench) run(t *testing.T) {
	if err := errNotInstalled("perfdhcp"); err != nil {
		b.failAll(err.Error())
		return
	}
	keaMissing := errNotInstalled("kea-dhcp6")
	lab := testlab.New(t)
	seed := t.TempDir()
	agentSeed, keaSeed := filepath.Join(seed, "agent"), filepath.Join(seed, "kea")
	for _, d := range []string{agentSeed, keaSeed} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if err := b.seedStores(lab, agentSeed, keaSeed); err != nil {
		b.failAll("seeding the stores: " + err.Error())
		return
	}
	t.Logf("stored %d leases for both servers in %s", b.leases, time.Since(start).Round(time.Second))
	for s, name := range []string{store.FileName, "leases6.csv"} {
		if info, err := os.Stat(filepath.Join([]string{agentSeed, keaSeed}[s], name)); err == nil {
			b.stored[s].Add(float64(info.Size()) / 1e6)
		}
	}
	for run := range b.runs {
		for s := range 2 {
			if s == millionKea && keaMissing != nil {
				b.fail(s, keaMissing.Error())
				continue
			}
			if s == millionKea && skipped(dhcpKea.key) {
				continue
			}
			for _, full := range []bool{true, false} {
				if err := b.once(t, lab, s, full, agentSeed, keaSeed); err != nil {
					t.Logf("run %d, %s, full=%t: %v", run+1, []string{"agent", "Kea"}[s], full, err)
					b.fail(s, err.Error())
				}
			}
		}
	}
}

// once starts server s on a copy of the seeded store (full) or on an empty
// one, waits for its first answer, reads its memory and offers b.rate
// exchanges a second.
func (b *millionBench) once(t *testing.T, lab *testlab.Lab, s int, full bool, agentSeed, keaSeed string) error {
	dir := t.TempDir()
	if full {
		seed, name := agentSeed, store.FileName
		if s == millionKea {
			seed, name = keaSeed, "leases6.csv"
		}
		if err := copyFile(filepath.Join(seed, name), filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	launched := time.Now()
	var server *daemon
	switch {
	case s == millionAgent && full:
		// Its control socket opens once the stored boot server serves:
		// waiting for it is what is measured.
		d, err := startDaemon(t, lab, lab.ServerNS, "agent", filepath.Join(dir, "agent-bench.log"), nil,
			agentBinary(t), "agent", "--state-dir", dir)
		if err != nil {
			return err
		}
		defer d.stop()
		server = d
	case s == millionAgent:
		a, err := startAgent(t, lab, dir)
		if err != nil {
			return err
		}
		defer a.stop()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err = a.serve(ctx, bootServer(lab, poolStart, poolEnd))
		cancel()
		if err != nil {
			return err
		}
		server = a.daemon
	default:
		k, err := startKeaNoWait(t, lab, dir)
		if err != nil {
			return err
		}
		defer k.stop()
		server = k
	}
	if err := firstExchange(lab, server, 3*time.Minute); err != nil {
		return err
	}
	took := time.Since(launched).Seconds()
	// What the server holds once it serves, after a moment to settle.
	time.Sleep(5 * time.Second)
	mem, err := server.memory()
	if err != nil {
		return err
	}
	t.Logf("%s, %s store: first 4-way exchange %.1f s after launch; RSS %.0f MB (anonymous %.0f MB), peak %.0f MB",
		server.name, map[bool]string{true: "full", false: "empty"}[full], took, mem.rss, mem.anon, mem.peak)
	p, err := perfdhcpRun(lab, b.rate, perfdhcpSeconds)
	if err != nil {
		return err
	}
	loaded, err := server.memory()
	if err != nil {
		return err
	}
	t.Logf("%s at %d/s: avg delay %.2f ms, max %.1f ms, drops %.3f %%; RSS after %.0f MB (anonymous %.0f MB), peak %.0f MB",
		server.name, b.rate, p.AvgDelayMs(), p.MaxDelayMs(), p.DropPercent(), loaded.rss, loaded.anon, loaded.peak)
	if full {
		b.firstAnswer[s].Add(took)
		b.rss[s].Add(mem.rss)
		b.rssAnon[s].Add(mem.anon)
		b.peak[s].Add(loaded.peak)
		b.rssLoaded[s].Add(loaded.rss)
		b.fullDelay[s].Add(p.AvgDelayMs())
		b.fullMax[s].Add(p.MaxDelayMs())
		b.fullDrops[s].Add(p.DropPercent())
	} else {
		b.emptyFirst[s].Add(took)
		b.emptyRSS[s].Add(mem.rss)
		b.emptyDelay[s].Add(p.AvgDelayMs())
		b.emptyMax[s].Add(p.MaxDelayMs())
	}
	return nil
}

func (b *millionBench) cells() []*[2]Cell {
	return []*[2]Cell{&b.firstAnswer, &b.rss, &b.rssAnon, &b.peak, &b.rssLoaded, &b.emptyFirst, &b.emptyRSS, &b.emptyDelay, &b.fullDelay, &b.emptyMax, &b.fullMax, &b.fullDrops}
}

func (b *millionBench) fail(s int, reason string) {
	for _, c := range b.cells() {
		c[s].Fail(reason)
	}
}

func (b *millionBench) failAll(reason string) {
	b.fail(millionAgent, reason)
	b.fail(millionKea, reason)
}

func (b *millionBench) section() Section {
	n := FormatNumber(float64(b.leases), 0)
	rate := FormatNumber(float64(b.rate), 0) + "/s"
	s := Section{
		Title: "A million leases: start-up, memory and delay",
		Intro: []string{
			fmt.Sprintf("The same %s active leases (one client each: DUID-LLT, IAID, architecture, user class, MAC; "+
				"valid for 4,000 s) are written straight into the agent's state file and into a Kea memfile lease file "+
				"(`leases6.csv`, Kea 2.2's columns); each server is then launched on a copy of its file with the lab link configured "+
				"(the agent's boot server is in its state file, so it serves at start). *First answer* is the time from launching the "+
				"process to the first completed Solicit → Advertise → Request → Reply of a client in the client namespace, which "+
				"solicits every 100 ms until a server answers: for the agent the Reply also waits for its lease to be committed. "+
				"Memory is read from `/proc/PID/status` 5 s after that answer: RSS (VmRSS), its anonymous part (RssAnon: the heap, "+
				"not pages of the state file the kernel can drop). Then perfdhcp offers %s for %d s "+
				"(`perfdhcp -6 -r %d -p %d -R 1000000 -W 1000000`, new clients on top of the stored ones), after which RSS and "+
				"its peak (VmHWM) are read again; the same is measured on an empty store.", n, rate, perfdhcpSeconds, b.rate, perfdhcpSeconds),
		},
		Servers: []string{"agent (bbolt, fsync per batch)", "Kea 2.2 (memfile, persist=true, no fsync)"},
		Runs:    b.runs,
		Rows: []Row{
			{Figure: n + " leases: first answer after launch, s", Digits: 1, Better: LowerIsBetter, Cells: b.firstAnswer[:]},
			{Figure: n + " leases: RSS, MB", Digits: 0, Better: LowerIsBetter, Cells: b.rss[:]},
			{Figure: n + " leases: RSS anonymous (heap), MB", Digits: 0, Better: LowerIsBetter, Cells: b.rssAnon[:]},
			{Figure: n + " leases: RSS after the " + rate + " run, MB", Digits: 0, Better: LowerIsBetter, Cells: b.rssLoaded[:]},
			{Figure: n + " leases: peak RSS (VmHWM) by then, MB", Digits: 0, Better: LowerIsBetter, Cells: b.peak[:]},
			{Figure: n + " leases: state file / lease file, MB", Digits: 0, Better: LowerIsBetter, Cells: b.stored[:]},
			{Figure: "empty store: first answer after launch, s", Digits: 1, Better: LowerIsBetter, Cells: b.emptyFirst[:]},
			{Figure: "empty store: RSS, MB", Digits: 0, Better: LowerIsBetter, Cells: b.emptyRSS[:]},
			{Figure: rate + " offered, empty store: avg delay ms", Digits: 2, Better: LowerIsBetter, Cells: b.emptyDelay[:]},
			{Figure: rate + " offered, " + n + " leases: avg delay ms", Digits: 2, Better: LowerIsBetter, Cells: b.fullDelay[:]},
			{Figure: rate + " offered, empty store: max delay ms", Digits: 1, Better: LowerIsBetter, Cells: b.emptyMax[:]},
			{Figure: rate + " offered, " + n + " leases: max delay ms", Digits: 1, Better: LowerIsBetter, Cells: b.fullMax[:]},
			{Figure: rate + " offered, " + n + " leases: drops %", Digits: 3, Better: LowerIsBetter, Cells: b.fullDrops[:]},
		},
	}
	return s
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	// On disk before the server starts: otherwise the server's first
	// fsync of the file (the agent's, before its first Reply) writes back
	// the whole copy, and the first answer measures the disk.
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// startKeaNoWait is startKea without waiting for the port: Kea binds it
// only once its leases are loaded, and that wait is what is measured.
func startKeaNoWait(t *testing.T, lab *testlab.Lab, dir string) (*daemon, error) {
	t.Helper()
	path := filepath.Join(dir, "kea6.json")
	if err := writePeerConfig(path, "kea-dhcp6.json.tmpl", lab, dir, peerParams{}); err != nil {
		return nil, err
	}
	return startDaemon(t, lab, lab.ServerNS, "kea-dhcp6", filepath.Join(dir, "kea6.out"),
		[]string{"KEA_PIDFILE_DIR=" + dir, "KEA_LOCKFILE_DIR=" + dir}, "kea-dhcp6", "-c", path)
}

// firstExchange completes one Solicit → Advertise → Request → Reply from
// the client namespace, soliciting every 100 ms until d answers, within
// limit.
func firstExchange(lab *testlab.Lab, d *daemon, limit time.Duration) error {
	return testlab.RunInNetns(lab.ClientNS, func() error { return exchangeOnce(lab.ClientIf, d, limit) })
}

func exchangeOnce(ifName string, d *daemon, limit time.Duration) error {
	ifi, err := net.InterfaceByName(ifName)
	if err != nil {
		return err
	}
	conn, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6unspecified, Port: dhcpv6.DefaultClientPort, Zone: ifName})
	if err != nil {
		return err
	}
	defer conn.Close()
	dst := &net.UDPAddr{IP: dhcpv6.AllDHCPRelayAgentsAndServers, Port: dhcpv6.DefaultServerPort, Zone: ifName}
	deadline := time.Now().Add(limit)
	// ask sends m every 100 ms until an answer of type want to it comes.
	ask := func(m *dhcpv6.Message, want dhcpv6.MessageType) (*dhcpv6.Message, error) {
		buf := make([]byte, 4096)
		for time.Now().Before(deadline) {
			select {
			case <-d.done:
				return nil, d.failure("exited")
			default:
			}
			if _, err := conn.WriteTo(m.ToBytes(), dst); err != nil {
				return nil, err
			}
			wait := time.Now().Add(100 * time.Millisecond)
			for {
				_ = conn.SetReadDeadline(wait)
				n, _, err := conn.ReadFrom(buf)
				if errors.Is(err, os.ErrDeadlineExceeded) {
					break
				}
				if err != nil {
					return nil, err
				}
				if got, err := dhcpv6.MessageFromBytes(buf[:n]); err == nil && got.MessageType == want && got.TransactionID == m.TransactionID {
					return got, nil
				}
			}
		}
		return nil, d.failure(fmt.Sprintf("did not answer %s within %s", m.MessageType, limit))
	}
	sol, err := dhcpv6.NewSolicit(ifi.HardwareAddr)
	if err != nil {
		return err
	}
	adv, err := ask(sol, dhcpv6.MessageTypeAdvertise)
	if err != nil {
		return err
	}
	req, err := dhcpv6.NewRequestFromAdvertise(adv)
	if err != nil {
		return err
	}
	_, err = ask(req, dhcpv6.MessageTypeReply)
	return err
}

// memory is what /proc/PID/status says of a process's memory, MB.
type memory struct{ rss, anon, peak float64 }

func (d *daemon) memory() (memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		return memory{}, fmt.Errorf("reading %s's memory: %w", d.name, err)
	}
	var m memory
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			m.rss = kb / 1000
		case "RssAnon:":
			m.anon = kb / 1000
		case "VmHWM:":
			m.peak = kb / 1000
		}
	}
	return m, nil
}

// perfdhcpRun offers rate 4-way exchanges a second for seconds from the
// client namespace (new random clients) and parses perfdhcp's report.
func perfdhcpRun(lab *testlab.Lab, rate, seconds int) (Perfdhcp, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds+60)*time.Second)
	defer cancel()
	out, runErr := lab.Exec(ctx, lab.ClientNS, "perfdhcp", "-6", "-l", lab.ClientIf,
		"-r", strconv.Itoa(rate), "-p", strconv.Itoa(seconds), "-R", "1000000", "-W", "1000000")
	p, err := ParsePerfdhcp(out)
	if err != nil {
		return p, fmt.Errorf("%w (perfdhcp: %v)", err, runErr)
	}
	return p, nil
}
