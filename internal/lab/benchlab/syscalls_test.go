package benchlab

import (
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// syscallCounter counts a server's system calls, CPU time, context
// switches and sleeps while a client runs, for NETBOOT_BENCH_SYSCALLS=1:
// what each exchange (DHCPv6) or DATA block (TFTP) asks of the kernel and
// how often the server's threads sleep and must be woken, the agent's
// against its peer's. Load from other processes changes these little,
// unlike times. It counts kernel tracepoints and software events with
// perf stat on the server's PID, children forked later included (one
// per transfer for tftpd-hpa), which costs the server little (strace -c
// stops it at every call and so changes how it batches); still, compare
// the delays of such a run only with each other.
type syscallCounter struct {
	cmd *exec.Cmd
	out string
}

// countedSyscalls are the calls counted one by one, besides the total:
// those a UDP server's loop and its lease file make, and a file server's.
var countedSyscalls = []string{
	"recvmmsg", "recvmsg", "recvfrom", "sendmmsg", "sendmsg", "sendto",
	"epoll_wait", "epoll_pwait", "pselect6", "ppoll", "futex", "nanosleep", "sched_yield",
	"read", "write", "pwrite64", "pwritev2", "lseek", "fdatasync", "fsync",
	"accept4", "writev", "sendfile64", "splice",
}

// countSyscalls starts perf stat on pid, or returns nil when
// NETBOOT_BENCH_SYSCALLS is not 1 or perf cannot count.
func countSyscalls(t *testing.T, pid int) *syscallCounter {
	if os.Getenv("NETBOOT_BENCH_SYSCALLS") != "1" {
		return nil
	}
	if _, err := exec.LookPath("perf"); err != nil {
		t.Logf("NETBOOT_BENCH_SYSCALLS=1: %v", err)
		return nil
	}
	events := []string{"task-clock", "context-switches", "raw_syscalls:sys_enter"}
	for _, name := range countedSyscalls {
		// Not every kernel has every call (e.g. epoll_wait on arm64).
		if tracepoint("syscalls/sys_enter_" + name) {
			events = append(events, "syscalls:sys_enter_"+name)
		}
	}
	args := []string{"stat", "-x", ",", "-e", strings.Join(events, ",")}
	if tracepoint("sched/sched_switch") {
		// A switch away from a thread in an interruptible sleep (state
		// S: waiting in recv, epoll, a futex or nanosleep), which a
		// wake-up ends; the others are preemptions.
		args = append(args, "-e", "sched:sched_switch", "--filter", "prev_state == 1")
	}
	dir := t.TempDir()
	c := &syscallCounter{out: filepath.Join(dir, "perf-stat.csv")}
	// perf attaches to a process's threads some time after it starts,
	// longer than a short transfer takes: it starts disabled and counts
	// from when it acknowledges "enable" on its control FIFO.
	ctl, ack := filepath.Join(dir, "ctl"), filepath.Join(dir, "ack")
	for _, fifo := range []string{ctl, ack} {
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Logf("NETBOOT_BENCH_SYSCALLS=1: %v", err)
			return nil
		}
	}
	// -p counts every thread of the process, in any namespace.
	args = append(args, "-D", "-1", "--control", "fifo:"+ctl+","+ack, "-o", c.out, "-p", strconv.Itoa(pid))
	c.cmd = exec.Command("perf", args...)
	if err := c.cmd.Start(); err != nil {
		t.Logf("NETBOOT_BENCH_SYSCALLS=1: starting perf: %v", err)
		return nil
	}
	if err := c.enable(ctl, ack); err != nil {
		t.Logf("NETBOOT_BENCH_SYSCALLS=1: %v", err)
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
		return nil
	}
	return c
}

// enable tells perf to start counting and waits until it has.
func (c *syscallCounter) enable(ctl, ack string) error {
	// Read-write opens of a FIFO do not wait for the other end.
	w, err := os.OpenFile(ctl, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer w.Close()
	r, err := os.OpenFile(ack, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer r.Close()
	if _, err := w.WriteString("enable\n"); err != nil {
		return fmt.Errorf("enabling perf: %w", err)
	}
	if err := r.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return err
	}
	buf := make([]byte, 16)
	if n, err := r.Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), "ack") {
		return fmt.Errorf("perf did not acknowledge enable: %q, %v", buf[:n], err)
	}
	return nil
}

// tracepoint reports whether the kernel has the tracepoint, e.g.
// "syscalls/sys_enter_recvmmsg".
func tracepoint(name string) bool {
	for _, dir := range []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"} {
		if _, err := os.Stat(filepath.Join(dir, "events", name)); err == nil {
			return true
		}
	}
	return false
}

// stop ends the count and returns perf's output.
func (c *syscallCounter) stop() string {
	if c == nil {
		return ""
	}
	// A forked child (a tftpd-hpa transfer) adds its counts to its
	// parent's when it exits, just after the client's last ACK.
	time.Sleep(100 * time.Millisecond)
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	_ = c.cmd.Wait()
	b, err := os.ReadFile(c.out)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// perExchange sums up perf stat's CSV output per exchange (or per block),
// the server's CPU time (µs), context switches and sleeps first, then
// system calls busiest first: "CPU µs 12.50, switches 1.10, sleeps 0.90,
// total 4.10, sendmmsg 1.02, recvmmsg 0.98, …" (what is not counted or
// not made is left out).
func perExchange(perfCSV string, exchanges int) string {
	counts := map[string]float64{}
	for _, line := range strings.Split(perfCSV, "\n") {
		// count,unit,event,…
		f := strings.Split(line, ",")
		if len(f) < 3 {
			continue
		}
		n, err := strconv.ParseFloat(f[0], 64)
		if err != nil || n == 0 {
			continue
		}
		name := strings.TrimPrefix(f[2], "syscalls:sys_enter_")
		switch f[2] {
		case "raw_syscalls:sys_enter":
			name = "total"
		case "task-clock": // milliseconds
			name, n = "CPU µs", n*1000
		case "context-switches":
			name = "switches"
		case "sched:sched_switch": // filtered to sleeps
			name = "sleeps"
		}
		counts[name] = n
	}
	first := []string{"CPU µs", "switches", "sleeps"}
	var calls []string
	for name := range counts {
		if !slices.Contains(first, name) {
			calls = append(calls, name)
		}
	}
	slices.SortFunc(calls, func(a, b string) int { return cmp.Compare(counts[b], counts[a]) })
	var parts []string
	for _, name := range append(first, calls...) {
		if n, ok := counts[name]; ok {
			parts = append(parts, fmt.Sprintf("%s %.2f", name, n/float64(max(exchanges, 1))))
		}
	}
	return strings.Join(parts, ", ")
}
