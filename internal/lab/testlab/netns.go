package testlab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/link"
)

// errExited is what RunInNetns returns when fn ended its goroutine
// (t.FailNow, runtime.Goexit) instead of returning.
var errExited = errors.New("fn ended its goroutine without returning")

// InNetns runs fn on an OS thread switched into network namespace ns (as
// `ip netns` names it), so the sockets fn opens and the interfaces it looks
// up are that namespace's; sockets stay in it afterwards. fn may call
// t.Fatal: the test then stops here.
func InNetns(t testing.TB, ns string, fn func()) {
	t.Helper()
	err := RunInNetns(ns, func() error { fn(); return nil })
	switch {
	case errors.Is(err, errExited):
		t.FailNow()
	case err != nil:
		t.Fatal(err)
	}
}

// RunInNetns runs fn as InNetns does, on a goroutine of its own, and
// returns fn's error or why it could not switch. The calling goroutine's
// thread never changes namespace, so it may be any goroutine.
func RunInNetns(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		err := errExited
		defer func() { errc <- err }()
		err = switchAndRun(ns, fn)
	}()
	return <-errc
}

func switchAndRun(ns string, fn func() error) (err error) {
	runtime.LockOSThread()
	home, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer home.Close()
	target, err := os.Open(filepath.Join("/var/run/netns", ns))
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("entering netns %s: %w", ns, err)
	}
	defer func() {
		if leaveErr := unix.Setns(int(home.Fd()), unix.CLONE_NEWNET); leaveErr != nil {
			// The thread stays locked: it dies with this goroutine instead
			// of running others in the wrong namespace.
			err = errors.Join(err, fmt.Errorf("leaving netns %s: %w", ns, leaveErr))
			return
		}
		runtime.UnlockOSThread()
	}()
	return fn()
}

// Interface resolves the named interface inside namespace ns, as the agent
// does in its own, for servers a test starts there.
func Interface(t testing.TB, ns, name string) link.Interface {
	t.Helper()
	var ifi link.Interface
	err := RunInNetns(ns, func() (err error) {
		ifi, err = link.Resolve(name)
		return err
	})
	if err != nil {
		t.Fatalf("interface %s in namespace %s: %v", name, ns, err)
	}
	return ifi
}
