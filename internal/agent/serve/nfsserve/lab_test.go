package nfsserve

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// TestLabKernelClient serves a root tree inside the lab's server namespace
// and mounts it with the Linux NFS client from the client namespace, with
// the options a diskless client's initramfs uses.
func TestLabKernelClient(t *testing.T) {
	testlab.RequireRoot(t, "unshare")
	requireKernelNFS(t)
	lab := testlab.New(t)
	lab.MustExec(t, lab.ClientNS, "ip", "-6", "addr", "add", "2001:db8:1::2/64", "dev", lab.ClientIf, "nodad")

	dir, big := rootTree(t)
	var logs testlab.SyncBuffer
	var s *Server
	testlab.InNetns(t, lab.ServerNS, func() {
		var err error
		s, err = Start(context.Background(), Config{
			Addresses: []netip.Addr{netip.MustParseAddr(lab.ServerAddr)},
			Exports:   []Export{{Path: "/roots/test", Dir: dir, ReadOnly: true}},
		}, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	port := s.Addrs()[0].Port()

	mnt := t.TempDir()
	t.Cleanup(func() { _ = exec.Command("umount", "-l", mnt).Run() })
	copyDir := t.TempDir()
	// One shell in a private mount namespace: the mount cannot outlive it
	// or show on the host. Not "ro" on the client side, so the write below
	// reaches the server and is refused there.
	script := fmt.Sprintf(`set -e
mount -t nfs -o vers=3,proto=tcp6,port=%[1]d,mountport=%[1]d,mountproto=tcp6,nolock,noacl '[%[2]s]:/roots/test' %[3]s
echo "hostname=$(cat %[3]s/etc/hostname)"
echo "localtime->$(readlink %[3]s/etc/localtime)"
ls %[3]s/lib/ >/dev/null
cp %[3]s/usr/lib/big.bin %[4]s/big.bin
if echo pwned > %[3]s/etc/hostname 2>/dev/null; then echo write=succeeded; else echo write=refused; fi
if touch %[3]s/new 2>/dev/null; then echo create=succeeded; else echo create=refused; fi
umount %[3]s
`, port, lab.ServerAddr, mnt, copyDir)
	out := lab.MustExec(t, lab.ClientNS, "unshare", "-m", "--propagation", "private", "sh", "-c", script)
	for _, want := range []string{"hostname=diskless", "localtime->/usr/share/zoneinfo/Etc/UTC", "write=refused", "create=refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("client output lacks %q:\n%s", want, out)
		}
	}
	got, err := os.ReadFile(filepath.Join(copyDir, "big.bin"))
	if err != nil || !bytes.Equal(got, big) {
		t.Errorf("big.bin copied over NFS differs (%d bytes, %v)", len(got), err)
	}
	if st := s.Stats(); st.Mounts != 1 || st.BytesRead < uint64(len(big)) {
		t.Errorf("stats = %+v", st)
	}
}

// requireKernelNFS skips unless the running kernel has an NFS client and
// mount.nfs is installed.
func requireKernelNFS(t *testing.T) {
	t.Helper()
	modprobe, _ := exec.Command("modprobe", "nfs").CombinedOutput()
	fss, _ := os.ReadFile("/proc/filesystems")
	if !bytes.Contains(fss, []byte("\tnfs\n")) {
		var u unix.Utsname
		_ = unix.Uname(&u)
		testlab.KernelLacks(t, "an NFS client (%s): /proc/filesystems lists no nfs, modprobe nfs: %s",
			unix.ByteSliceToString(u.Release[:]), strings.TrimSpace(string(modprobe)))
	}
	if _, err := exec.LookPath("mount.nfs"); err != nil {
		testlab.Unavailable(t, "needs mount.nfs (apt-get install nfs-common)")
	}
}
