#!/bin/sh
# /init of a netboot NFS-root initramfs. The kernel's own nfsroot and
# ipconfig have no IPv6, so this script brings up one interface by SLAAC,
# mounts the root over NFSv3 on TCP/IPv6 and hands over to the root's init.
#
# Kernel arguments it reads:
#   ip6=IFACE                 the interface to bring up (eth0)
#   nfsroot=HOST:PATH[,OPTS]  the root; HOST must be a DNS name
#   nbdns=ADDR[,ADDR...]      DNS servers, written to /etc/resolv.conf (the
#                             kernel does not take RDNSS from router
#                             advertisements, so the boot server says here)
#   ro | rw                   mount the root read-only (default) or read-write
#   init=PATH                 the root's init (/sbin/init)
# ip=:::::IFACE:off is left alone: no IPv4 is configured, no DHCPv4 is tried.

export PATH=/sbin:/usr/sbin:/bin:/usr/bin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

log() {
	read -r up _ </proc/uptime
	echo "[$up] nfsroot: $*"
}

# rescue explains what went wrong and keeps the machine up with a shell on
# the console: an init that exits would only leave a kernel panic.
rescue() {
	log "ERROR: $*"
	log "cannot mount the root; starting a shell on the console"
	setsid cttyhack sh
	while :; do sleep 3600; done
}

iface=eth0 nfsroot= dns= mode=ro init=/sbin/init
set -f
for arg in $(cat /proc/cmdline); do
	case $arg in
	ip6=*) iface=${arg#ip6=} ;;
	nfsroot=*) nfsroot=${arg#nfsroot=} ;;
	nbdns=*) dns=${arg#nbdns=} ;;
	ro | rw) mode=$arg ;;
	init=*) init=${arg#init=} ;;
	esac
done
set +f

[ -n "$nfsroot" ] || rescue "no nfsroot=HOST:/PATH on the kernel command line"
host=${nfsroot%%:*}
rest=${nfsroot#*:}
path=${rest%%,*}
extra=
case $rest in *,*) extra=${rest#*,} ;; esac
literal="nfsroot=$nfsroot: HOST must be a DNS name, not a literal IPv6 address: nfsroot= is split at its first colon, so an address breaks there"
case $host in
\[*) rescue "$literal" ;;
'' | *[!0-9.]*) ;;
*) rescue "nfsroot=$nfsroot: HOST must be a DNS name with an AAAA record, not an IPv4 address: this boot has no IPv4" ;;
esac
case $path in
/*) ;;
*:*) rescue "$literal" ;;
*) rescue "nfsroot=$nfsroot: expected HOST:/PATH with an absolute PATH" ;;
esac

: >/etc/resolv.conf
for server in $(echo "$dns" | tr , ' '); do
	echo "nameserver $server" >>/etc/resolv.conf
done
[ -s /etc/resolv.conf ] || log "warning: no nbdns= on the kernel command line: $host cannot be resolved by DNS"

kernel=$(cat /etc/nfsroot/kernel-release)
[ "$(uname -r)" = "$kernel" ] || log "warning: this initramfs has modules for $kernel but the kernel is $(uname -r)"
log "loading $(wc -l </etc/nfsroot/modules) kernel modules"
while read -r module; do
	insmod "$module" || log "warning: insmod $module failed"
done </etc/nfsroot/modules

ip link set lo up
n=0
while [ ! -e "/sys/class/net/$iface" ]; do
	n=$((n + 1))
	[ $n -le 100 ] || rescue "no network interface $iface after 10 s (interfaces: $(ls /sys/class/net | tr '\n' ' '))"
	sleep 0.1
done
ip link set "$iface" up

# globaladdr prints the first global IPv6 address of $iface that has passed
# duplicate address detection: /proc/net/if_inet6 holds address, ifindex,
# prefix length, scope (00 global) and flags (0x40 tentative, 0x08 DAD failed).
globaladdr() {
	while read -r a _ plen scope flags name; do
		if [ "$name" = "$iface" ] && [ "$scope" = 00 ] && [ $((0x$flags & 0x48)) -eq 0 ]; then
			echo "$(echo "$a" | sed 's/..../&:/g; s/:$//')/$((0x$plen))"
			return 0
		fi
	done </proc/net/if_inet6
	return 1
}
log "waiting up to 30 s for a global IPv6 address on $iface from a router advertisement (SLAAC)"
n=0
until addr=$(globaladdr); do
	n=$((n + 1))
	[ $n -le 60 ] || rescue "no global IPv6 address on $iface after 30 s: is a router advertising an on-link prefix with the autonomous flag on this link?"
	[ $((n % 10)) -ne 0 ] || log "still waiting for an address on $iface ($((n / 2)) s)"
	sleep 0.5
done
log "$iface has $addr"

opts=vers=3,proto=tcp6,port=2049,mountport=2049,mountproto=tcp6,nolock,noacl,$mode${extra:+,$extra}
mkdir -p /newroot
n=0
log "mounting $host:$path on /newroot ($opts)"
until mount.nfs "$host:$path" /newroot -o "$opts"; do
	n=$((n + 1))
	[ $n -lt 3 ] || rescue "mount.nfs $host:$path failed: check that $host has an AAAA record on the DNS servers ($dns) and that the NFS server exports $path on port 2049"
	sleep 2
done
[ -e "/newroot$init" ] || [ -L "/newroot$init" ] || rescue "no $init in $host:$path"

# The last log line comes before /proc moves: log reads /proc/uptime.
log "starting $init from $host:$path"
for fs in dev proc sys; do
	mount --move /$fs /newroot/$fs 2>/dev/null || umount -l /$fs
done
exec switch_root /newroot "$init"
