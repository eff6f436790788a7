package testlab

import (
	"errors"
	"net"
	"os"
	"runtime"
	"testing"
)

func TestInNetns(t *testing.T) {
	lab := New(t)
	host, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	var inside string
	var ifaceFound bool
	InNetns(t, lab.ServerNS, func() {
		inside, _ = os.Readlink("/proc/thread-self/ns/net")
		_, err := net.InterfaceByName(lab.ServerIf)
		ifaceFound = err == nil
	})
	if inside == "" || inside == host {
		t.Errorf("fn ran in namespace %q, the host's is %q", inside, host)
	}
	if !ifaceFound {
		t.Errorf("fn did not see %s", lab.ServerIf)
	}
	if after, _ := os.Readlink("/proc/thread-self/ns/net"); after != host {
		t.Errorf("the caller is in %q afterwards", after)
	}

	want := errors.New("from fn")
	if err := RunInNetns(lab.ClientNS, func() error { return want }); !errors.Is(err, want) {
		t.Errorf("RunInNetns = %v, want fn's error", err)
	}
	if err := RunInNetns(lab.ClientNS, func() error { runtime.Goexit(); return nil }); !errors.Is(err, errExited) {
		t.Errorf("RunInNetns of an fn that exits = %v, want errExited", err)
	}
	if err := RunInNetns("nbt-no-such-namespace", func() error { return nil }); err == nil {
		t.Error("RunInNetns into a missing namespace succeeded")
	}
}
