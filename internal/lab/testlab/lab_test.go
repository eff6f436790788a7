package testlab

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// outcomeTB records how a helper ended the test: Fatalf and Skipf stop the
// goroutine, as the real ones do.
type outcomeTB struct {
	testing.TB
	fatal, skip string
}

func (o *outcomeTB) Helper() {}

func (o *outcomeTB) Fatalf(format string, args ...any) {
	o.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (o *outcomeTB) Skipf(format string, args ...any) {
	o.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func outcome(helper func(testing.TB, string, ...any)) *outcomeTB {
	o := &outcomeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		helper(o, "needs %s", "busybox")
	}()
	<-done
	return o
}

func TestStrictSkips(t *testing.T) {
	for _, tc := range []struct {
		name          string
		strict        string
		helper        func(testing.TB, string, ...any)
		fatal, skip   bool
		wantInMessage string
	}{
		{"missing tool skips", "", Unavailable, false, true, "needs busybox"},
		{"missing tool fails when strict", "1", Unavailable, true, false, StrictEnv + "=1: not skipping"},
		{"kernel lacks skips", "", KernelLacks, false, true, "the running kernel lacks needs busybox"},
		{"kernel lacks still skips when strict", "1", KernelLacks, false, true, "a skip even with " + StrictEnv + "=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(StrictEnv, tc.strict)
			o := outcome(tc.helper)
			if (o.fatal != "") != tc.fatal || (o.skip != "") != tc.skip {
				t.Fatalf("fatal %q, skip %q; want fatal %v, skip %v", o.fatal, o.skip, tc.fatal, tc.skip)
			}
			if msg := o.fatal + o.skip; !strings.Contains(msg, tc.wantInMessage) {
				t.Errorf("message %q lacks %q", msg, tc.wantInMessage)
			}
		})
	}
}

func TestInitErrors(t *testing.T) {
	console := strings.Join([]string{
		"iPXE initialising devices...ok",
		"[    0.000000] Linux version 6.1.0-28-amd64",
		"[    1.234567] ACPI: no handler found",
		"[    2.345678] can't happen: a kernel line",
		"[4.56] nfsroot: mounting nfs.boot.test:/ on /newroot",
		"/init: line 23: can't open /proc/uptime: no such file\r",
		"insmod: can't insert 'x.ko': invalid module format",
		"sh: mount.nfs: not found",
		"read from the NFS root: NFSROOT-1234",
	}, "\n")
	want := []string{
		"/init: line 23: can't open /proc/uptime: no such file",
		"insmod: can't insert 'x.ko': invalid module format",
		"sh: mount.nfs: not found",
	}
	if got := InitErrors(console); !slices.Equal(got, want) {
		t.Errorf("InitErrors = %q, want %q", got, want)
	}
}
