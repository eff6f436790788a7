package testlab

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgreSQL is a database server a test started for itself: a cluster made
// by initdb in a temporary directory, served by the postgres binary on a
// unix socket in that directory only (no TCP), as an unprivileged user
// (postgres, else nobody) when the test runs as root.
type PostgreSQL struct {
	// URL connects to the cluster's postgres database over the socket.
	URL string

	dir, bin string
	cred     *syscall.Credential
	cmd      *exec.Cmd
}

// StartPostgreSQL initdbs and starts a PostgreSQL server; t.Cleanup stops
// it by its PID and removes its directory. Without PostgreSQL's initdb on
// PATH or in Debian's /usr/lib/postgresql/VERSION/bin (the postgresql
// package) the test is Unavailable.
func StartPostgreSQL(t testing.TB) *PostgreSQL {
	t.Helper()
	initdb, err := exec.LookPath("initdb")
	if err != nil {
		found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
		if len(found) == 0 {
			Unavailable(t, "needs initdb and postgres from PostgreSQL (.ci/run installs postgresql)")
		}
		initdb = found[len(found)-1]
	}
	if real, err := filepath.EvalSymlinks(initdb); err == nil {
		initdb = real
	}
	p := &PostgreSQL{bin: filepath.Dir(initdb)}
	// Not t.TempDir: its parents are private to root, and the server
	// runs as another user.
	if p.dir, err = os.MkdirTemp("", "netboot-pg-"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(p.dir) })
	if os.Geteuid() == 0 {
		p.cred = unprivileged(t)
		if err := os.Chown(p.dir, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(p.dir, "data")
	if out, err := p.command(initdb, "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p.URL = "postgres://postgres@/postgres?host=" + url.QueryEscape(p.dir) + "&sslmode=disable"
	p.Start(t)
	t.Cleanup(func() { p.Stop(t) })
	return p
}

// unprivileged is the user the server runs as under root.
func unprivileged(t testing.TB) *syscall.Credential {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 == nil && err2 == nil {
			return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		}
	}
	t.Fatal("no postgres or nobody user to run PostgreSQL as")
	return nil
}

func (p *PostgreSQL) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = p.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	return cmd
}

// Start starts the server (again, after Stop) and waits until its socket
// accepts connections.
func (p *PostgreSQL) Start(t testing.TB) {
	t.Helper()
	if p.cmd != nil {
		t.Fatal("PostgreSQL already running")
	}
	cmd := p.command(filepath.Join(p.bin, "postgres"), "-D", filepath.Join(p.dir, "data"), "-k", p.dir,
		"-c", "listen_addresses=", "-c", "fsync=off", "-c", "max_connections=50")
	log, err := os.OpenFile(filepath.Join(p.dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting postgres: %v", err)
	}
	p.cmd = cmd
	isReady := filepath.Join(p.bin, "pg_isready")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if p.command(isReady, "-h", p.dir, "-U", "postgres", "-q").Run() == nil {
			return
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(filepath.Join(p.dir, "server.log"))
			t.Fatalf("postgres did not accept connections within 30s:\n%s", out)
		}
	}
}

// Stop stops the server by its PID (fast shutdown: clients are
// disconnected) and waits for it; stopping a stopped server does nothing.
func (p *PostgreSQL) Stop(t testing.TB) {
	t.Helper()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
		t.Errorf("postgres (pid %d) did not stop within 30s; killed", p.cmd.Process.Pid)
	}
	p.cmd = nil
}

// SocketDir is the directory of the server's unix socket, which libpq
// clients (psql, Kea) take as their host.
func (p *PostgreSQL) SocketDir() string { return p.dir }

// CreateDatabase creates an empty database named name and returns the URL
// that connects to it.
func (p *PostgreSQL) CreateDatabase(name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.URL)
	if err != nil {
		return "", fmt.Errorf("connecting to %s: %w", p, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("creating database %s: %w", name, err)
	}
	return strings.Replace(p.URL, "@/postgres?", "@/"+url.PathEscape(name)+"?", 1), nil
}

// String is the URL, for logs.
func (p *PostgreSQL) String() string { return fmt.Sprintf("PostgreSQL at %s", p.URL) }
