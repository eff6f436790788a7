package nfsserve

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// vmModules are what Debian's kernel needs, in load order, to bring up a
// virtio NIC and mount NFSv3 (IPv6 is built in).
var vmModules = []string{
	"virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci",
	"failover", "net_failover", "virtio_net",
	"netfs", "fscache", "sunrpc", "grace", "lockd", "nfs_acl", "nfs", "nfsv3",
}

// TestVMKernelClient boots Debian's kernel in QEMU on the lab link with an
// initramfs that mounts exports with the kernel's own NFS client, as a
// diskless client's initramfs does: the real client, where the host's
// kernel may have none. busybox's mount hands the options to the kernel
// unchanged (it has no NFS code of its own), so they are those mount.nfs
// would pass, addr= included.
func TestVMKernelClient(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a VM (about 20 s under TCG)")
	}
	testlab.RequireRoot(t, "qemu-system-x86_64", "modinfo")
	kernel := testlab.Kernel(t)
	version := strings.TrimPrefix(filepath.Base(kernel), "vmlinuz-")
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		testlab.Unavailable(t, "needs busybox-static (/bin/busybox)")
	}
	var w testlab.Initramfs
	for _, d := range []string{"bin", "dev", "proc", "sys", "mnt", "scratch", "modules"} {
		w.Dir(d)
	}
	w.Node("dev/console", 0o020600, 5, 1)
	w.File("bin/busybox", 0o100755, busybox)
	for _, m := range vmModules {
		path, err := exec.Command("modinfo", "-k", version, "-n", m).Output()
		if err != nil {
			testlab.Unavailable(t, "kernel %s has no module %s", version, m)
		}
		ko, err := os.ReadFile(strings.TrimSpace(string(path)))
		if err != nil {
			testlab.Unavailable(t, "module %s: %v (compressed modules are not handled)", m, err)
		}
		w.File("modules/"+m+".ko", 0o100644, ko)
	}

	lab := testlab.New(t)
	tap := lab.AttachTap(t)
	dir, big := rootTree(t)
	for i := range 300 {
		writeFile(t, filepath.Join(dir, "many", fmt.Sprintf("file-with-a-long-name-%04d", i)), nil)
	}
	// Root's own, as /etc/shadow is: the client's root is squashed on this
	// export, so it may not read it.
	if err := os.WriteFile(filepath.Join(dir, "etc", "shadow"), []byte("root:*:1::::::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	scratch := t.TempDir()
	var logs testlab.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := Config{
		Addresses: []netip.Addr{netip.MustParseAddr(lab.ServerAddr)},
		Exports: []Export{
			{Path: "/roots/test", Dir: dir, ReadOnly: true},
			{Path: "/scratch", Dir: scratch, NoRootSquash: true},
		},
	}
	var s *Server
	testlab.InNetns(t, lab.ServerNS, func() {
		var err error
		if s, err = Start(context.Background(), cfg, logger); err != nil {
			t.Fatal(err)
		}
	})
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("server log:\n%s", tail(logs.String(), 8000))
		}
	})

	const marker, restartNow = "NFS-VM-TEST-DONE", "NFS-VM-RESTART-NOW"
	opts := fmt.Sprintf("vers=3,proto=tcp6,port=%[1]d,mountport=%[1]d,mountproto=tcp6,nolock,noacl,addr=%[2]s,mountaddr=%[2]s",
		s.Addrs()[0].Port(), lab.ServerAddr)
	init := fmt.Sprintf(`#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in %[1]s; do insmod /modules/$m.ko || echo "insmod $m failed"; done
echo 0 > /proc/sys/net/ipv6/conf/eth0/accept_dad
ip link set lo up
ip link set eth0 up
ip -6 addr add 2001:db8:1::3/64 dev eth0
sleep 1
if mount -t nfs -o %[2]s '[%[3]s]:/roots/test' /mnt; then echo mount=ok; else echo mount=failed; fi
echo "hostname=$(cat /mnt/etc/hostname)"
echo "localtime->$(readlink /mnt/etc/localtime)"
echo "entries=$(ls /mnt/many | wc -l)"
echo "stat=$(stat -c %%s /mnt/usr/lib/big.bin)"
echo "md5=$(md5sum /mnt/usr/lib/big.bin)"
if echo pwned 2>/dev/null > /mnt/etc/hostname; then echo ro-write=succeeded; else echo ro-write=refused; fi
if cat /mnt/etc/shadow >/dev/null 2>&1; then echo squashed-read=succeeded; else echo squashed-read=refused; fi
exec 3< /mnt/usr/lib/big.bin
echo %[5]s
sleep 3
echo 3 > /proc/sys/vm/drop_caches
echo "after-restart-hostname=$(cat /mnt/etc/hostname)"
echo "after-restart-md5=$(md5sum <&3)"
exec 3<&-
umount /mnt && echo umount=ok
if mount -t nfs -o %[2]s '[%[3]s]:/scratch' /scratch; then echo scratch-mount=ok; fi
mkdir /scratch/d && echo "written by the kernel client" > /scratch/d/f && mv /scratch/d/f /scratch/d/g && chmod 600 /scratch/d/g && ln -s /etc/hostname /scratch/d/link && sync && echo scratch-write=ok
umount /scratch
if mount -t nfs -o %[2]s '[%[3]s]:/roots/missing' /mnt 2>/dev/null; then echo missing-mount=succeeded; else echo missing-mount=refused; fi
echo %[4]s
poweroff -f
`, strings.Join(vmModules, " "), opts, lab.ServerAddr, marker, restartNow)
	w.File("init", 0o100755, []byte(init))
	initrd := filepath.Join(t.TempDir(), "initrd.cpio")
	if err := os.WriteFile(initrd, w.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	// Half-way, the agent restarts: the client keeps its mount and an open
	// file and carries on with the handles it holds.
	restart := func() {
		cfg.Port = int(s.Addrs()[0].Port())
		s.Stop()
		testlab.InNetns(t, lab.ServerNS, func() {
			var err error
			if s, err = Start(context.Background(), cfg, logger); err != nil {
				t.Fatal(err)
			}
		})
	}
	console, _, ok := lab.Boot(t, tap, testlab.QEMU{
		Kernel: kernel, Initrd: initrd, Append: "console=ttyS0 panic=-1 loglevel=4",
		Marker: marker, Timeout: 3 * time.Minute, Hooks: map[string]func(){restartNow: restart},
	})
	if !ok {
		t.Fatalf("the VM did not finish:\n%s", tail(console, 6000))
	}
	sum := md5.Sum(big)
	for _, want := range []string{
		"mount=ok", "hostname=diskless", "localtime->/usr/share/zoneinfo/Etc/UTC", "entries=300",
		fmt.Sprintf("stat=%d", len(big)), "md5=" + hex.EncodeToString(sum[:]),
		"ro-write=refused", "squashed-read=refused", "after-restart-hostname=diskless", "after-restart-md5=" + hex.EncodeToString(sum[:]), "umount=ok", "scratch-mount=ok", "scratch-write=ok", "missing-mount=refused",
	} {
		if !strings.Contains(console, want) {
			t.Errorf("console lacks %q", want)
		}
	}
	if got, err := os.ReadFile(filepath.Join(scratch, "d", "g")); err != nil || string(got) != "written by the kernel client\n" {
		t.Errorf("scratch/d/g = %q, %v", got, err)
	}
	if fi, err := os.Stat(filepath.Join(scratch, "d", "g")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("scratch/d/g mode: %v", err)
	}
	if got, err := os.Readlink(filepath.Join(scratch, "d", "link")); err != nil || got != "/etc/hostname" {
		t.Errorf("scratch/d/link -> %q, %v", got, err)
	}
	// The server restarted, and the client read the whole file again from
	// the new one, through the handle the old one gave it.
	if n := strings.Count(logs.String(), `msg="nfs server started"`); n != 2 {
		t.Errorf("server started %d times, want 2", n)
	}
	if st := s.Stats(); st.MalformedRequests != 0 || st.MountsRefused != 1 || st.StaleHandles != 0 || st.BytesRead < uint64(len(big)) {
		t.Errorf("stats after the restart = %+v", st)
	}
	if t.Failed() {
		t.Logf("console:\n%s", tail(console, 6000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
