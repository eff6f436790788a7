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

// syscallCounter counts a server's system calls while perfdhcp runs
// (strace -c -f on its PID), for NETBOOT_BENCH_SYSCALLS=1: what each
// exchange asks of the kernel, the agent's against Kea's. strace stops the
// server at every call, so the delays and CPU of such a run are not
// comparable with a run without it.
type syscallCounter struct {
	cmd *exec.Cmd
	out string
}

// countSyscalls starts strace on pid, or returns nil when
// NETBOOT_BENCH_SYSCALLS is not 1 or strace is missing.
func countSyscalls(t *testing.T, pid int) *syscallCounter {
	if os.Getenv("NETBOOT_BENCH_SYSCALLS") != "1" {
		return nil
	}
	if _, err := exec.LookPath("strace"); err != nil {
		t.Logf("NETBOOT_BENCH_SYSCALLS=1: %v", err)
		return nil
	}
	c := &syscallCounter{out: filepath.Join(t.TempDir(), "strace.txt")}
	// strace attaches to a PID in any namespace; -f follows every thread.
	c.cmd = exec.Command("strace", "-c", "-f", "-o", c.out, "-p", strconv.Itoa(pid))
	if err := c.cmd.Start(); err != nil {
		t.Logf("NETBOOT_BENCH_SYSCALLS=1: starting strace: %v", err)
		return nil
	}
	return c
}

// stop detaches strace and returns its table.
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

// perExchange sums up an strace -c table as calls per exchange, busiest
// first: "total 4.10, sendmmsg 1.02, recvmmsg 0.98, …".
func perExchange(table string, exchanges int) string {
	calls := parseStraceSummary(table)
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

// parseStraceSummary reads strace -c's table: calls by system call name,
// the total row included as "total".
func parseStraceSummary(out string) map[string]int {
	calls := map[string]int{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		// % time, seconds, usecs/call, calls, [errors,] syscall
		if len(f) < 5 {
			continue
		}
		if _, err := strconv.ParseFloat(f[0], 64); err != nil {
			continue
		}
		n, err := strconv.Atoi(f[3])
		if err != nil {
			continue
		}
		calls[f[len(f)-1]] = n
	}
	return calls
}
