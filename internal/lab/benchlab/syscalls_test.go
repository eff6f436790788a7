package benchlab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// syscallCounter counts a server's system calls while perfdhcp runs, for
// NETBOOT_BENCH_SYSCALLS=1: what each exchange asks of the kernel, the
// agent's against Kea's. It counts kernel tracepoints with perf stat on
// the server's PID, which costs the server little (strace -c stops it at
// every call and so changes how it batches); still, compare the delays of
// such a run only with each other.
type syscallCounter struct {
	cmd *exec.Cmd
	out string
}

// countedSyscalls are the calls counted one by one, besides the total:
// those a UDP server's loop and its lease file make.
var countedSyscalls = []string{
	"recvmmsg", "recvmsg", "recvfrom", "sendmmsg", "sendmsg", "sendto",
	"epoll_wait", "epoll_pwait", "pselect6", "ppoll", "futex", "nanosleep", "sched_yield",
	"read", "write", "pwrite64", "pwritev2", "lseek", "fdatasync", "fsync",
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
	events := []string{"raw_syscalls:sys_enter"}
	for _, name := range countedSyscalls {
		// Not every kernel has every call (e.g. epoll_wait on arm64).
		for _, dir := range []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"} {
			if _, err := os.Stat(filepath.Join(dir, "events/syscalls/sys_enter_"+name)); err == nil {
				events = append(events, "syscalls:sys_enter_"+name)
				break
			}
		}
	}
	c := &syscallCounter{out: filepath.Join(t.TempDir(), "perf-stat.csv")}
	// -p counts every thread of the process, in any namespace.
	c.cmd = exec.Command("perf", "stat", "-x", ",", "-o", c.out, "-e", strings.Join(events, ","), "-p", strconv.Itoa(pid))
	if err := c.cmd.Start(); err != nil {
		t.Logf("NETBOOT_BENCH_SYSCALLS=1: starting perf: %v", err)
		return nil
	}
	return c
}

// stop ends the count and returns perf's output.
func (c *syscallCounter) stop() string {
	if c == nil {
		return ""
	}
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	_ = c.cmd.Wait()
	b, err := os.ReadFile(c.out)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// perExchange sums up perf stat's CSV output as calls per exchange,
// busiest first: "total 4.10, sendmmsg 1.02, recvmmsg 0.98, …" (calls
// not made are left out).
func perExchange(perfCSV string, exchanges int) string {
	calls := map[string]int{}
	for _, line := range strings.Split(perfCSV, "\n") {
		// count,unit,event,…
		f := strings.Split(line, ",")
		if len(f) < 3 {
			continue
		}
		n, err := strconv.Atoi(f[0])
		if err != nil || n == 0 {
			continue
		}
		name := strings.TrimPrefix(f[2], "syscalls:sys_enter_")
		if f[2] == "raw_syscalls:sys_enter" {
			name = "total"
		}
		calls[name] = n
	}
	names := make([]string, 0, len(calls))
	for name := range calls {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { return calls[b] - calls[a] })
	var parts []string
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s %.2f", name, float64(calls[name])/float64(max(exchanges, 1))))
	}
	return strings.Join(parts, ", ")
}
