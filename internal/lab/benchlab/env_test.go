package benchlab

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// machine describes what the figures were measured on: cores, kernel,
// load, and the version of every program in the comparison.
func machine(root string) [][2]string {
	rows := [][2]string{
		{"CPU cores (`nproc`)", firstLine("nproc")},
		{"CPU", procField("/proc/cpuinfo", "model name")},
		{"Memory", procField("/proc/meminfo", "MemTotal")},
		{"Kernel (`uname -r`)", firstLine("uname", "-r")},
		{"OS", osRelease()},
		{"Load average at start (1, 5, 15 min)", loadAverage()},
		{"Agent (`git describe --always --dirty`)", gitDescribe(root)},
		{"Go (`go version`)", firstLine("go", "version")},
		{"Kea (`kea-dhcp6 -v`)", firstLine("kea-dhcp6", "-v")},
		{"PostgreSQL (`postgres --version`)", firstLine(postgresBinary(), "--version")},
		{"perfdhcp (`perfdhcp -v`)", firstLine("perfdhcp", "-v")},
		{"tftpd-hpa (`in.tftpd -V`)", firstLine("in.tftpd", "-V")},
		{"curl (`curl --version`)", firstLine("curl", "--version")},
		{"QEMU (`qemu-system-x86_64 --version`)", firstLine("qemu-system-x86_64", "--version")},
		{"iPXE (Debian package `ipxe`)", firstLine("dpkg-query", "-W", "-f", "${Version}", "ipxe")},
		{"radvd (`radvd --version`)", firstLine("radvd", "--version")},
		{"Python (`python3 --version`, " + python() + ")", firstLine(python(), "--version")},
		{"BusyBox (`busybox`)", firstLine("busybox")},
	}
	if kernels, _ := filepath.Glob("/boot/vmlinuz-*"); len(kernels) > 0 {
		rows = append(rows, [2]string{"Guest kernel", filepath.Base(kernels[len(kernels)-1])})
	}
	return rows
}

// postgresBinary is the PostgreSQL server binary: on PATH, else the
// newest of Debian's /usr/lib/postgresql/VERSION/bin.
func postgresBinary() string {
	if _, err := exec.LookPath("postgres"); err == nil {
		return "postgres"
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(found) == 0 {
		return "postgres"
	}
	return found[len(found)-1]
}

// firstLine runs a command and returns the first non-empty line it printed.
func firstLine(name string, args ...string) string {
	if _, err := exec.LookPath(name); err != nil {
		return "not installed"
	}
	out, err := exec.Command(name, args...).CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	if err != nil {
		return "n/a (" + err.Error() + ")"
	}
	return "n/a (no output)"
}

func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return "n/a"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "n/a"
}

func osRelease() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "n/a"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "n/a"
}

// oneMinuteLoad is the first figure of /proc/loadavg.
func oneMinuteLoad() (float64, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("/proc/loadavg is empty")
	}
	return strconv.ParseFloat(f[0], 64)
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], ", ")
	}
	return "n/a"
}

func gitDescribe(root string) string {
	cmd := exec.Command("git", "describe", "--always", "--dirty")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "n/a (" + err.Error() + ")"
	}
	return strings.TrimSpace(string(out))
}

// moduleRoot is the directory holding go.mod, found upward from the
// package directory go test runs in.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
