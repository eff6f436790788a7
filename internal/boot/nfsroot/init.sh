#!/bin/sh
# /init of a netboot NFS-root initramfs. The kernel's own nfsroot and
# ipconfig have no IPv6, so this script brings up one interface by SLAAC
# (network.sh, installed as /lib/nfsroot/network.sh), mounts the root over NFSv3 on TCP/IPv6 and hands over to the root's init.
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

. /lib/nfsroot/network.sh

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

load_modules
ipv6_up "$iface"

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
