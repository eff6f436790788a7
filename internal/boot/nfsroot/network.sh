# Sourced by the /init of a netboot initramfs: this package's init.sh, or
# the /init of an archive layered over this one. It sets up the
# initramfs's own file systems and defines the steps that bring one
# interface up on IPv6 by SLAAC (the kernel's ipconfig has no IPv6):
#
#   log MESSAGE        a console line, "[uptime] $log_tag: MESSAGE"
#   rescue MESSAGE     says what went wrong and keeps a shell on the console;
#                      a sourcing /init may define its own after this file
#   load_modules       insmods the modules listed in /etc/nfsroot/modules
#   ipv6_up IFACE      waits for IFACE, brings it up and sets addr to its
#                      first global address (ADDR/PREFIXLEN) once it has one

export PATH=/sbin:/usr/sbin:/bin:/usr/bin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

log_tag=${log_tag:-nfsroot}

log() {
	read -r up _ </proc/uptime
	echo "[$up] $log_tag: $*"
}

# rescue keeps the machine up with a shell on the console: an init that
# exits would only leave a kernel panic.
rescue() {
	log "ERROR: $*"
	log "starting a shell on the console"
	setsid cttyhack sh
	while :; do sleep 3600; done
}

load_modules() {
	kernel=$(cat /etc/nfsroot/kernel-release)
	[ "$(uname -r)" = "$kernel" ] || log "warning: this initramfs has modules for $kernel but the kernel is $(uname -r)"
	log "loading $(wc -l </etc/nfsroot/modules) kernel modules"
	while read -r module; do
		insmod "$module" || log "warning: insmod $module failed"
	done </etc/nfsroot/modules
}

# globaladdr prints the first global IPv6 address of $1 that has passed
# duplicate address detection: /proc/net/if_inet6 holds address, ifindex,
# prefix length, scope (00 global) and flags (0x40 tentative, 0x08 DAD failed).
globaladdr() {
	while read -r a _ plen scope flags name; do
		if [ "$name" = "$1" ] && [ "$scope" = 00 ] && [ $((0x$flags & 0x48)) -eq 0 ]; then
			echo "$(echo "$a" | sed 's/..../&:/g; s/:$//')/$((0x$plen))"
			return 0
		fi
	done </proc/net/if_inet6
	return 1
}

ipv6_up() {
	ip link set lo up
	n=0
	while [ ! -e "/sys/class/net/$1" ]; do
		n=$((n + 1))
		[ $n -le 100 ] || rescue "no network interface $1 after 10 s (interfaces: $(ls /sys/class/net | tr '\n' ' '))"
		sleep 0.1
	done
	ip link set "$1" up
	log "waiting up to 30 s for a global IPv6 address on $1 from a router advertisement (SLAAC)"
	n=0
	until addr=$(globaladdr "$1"); do
		n=$((n + 1))
		[ $n -le 60 ] || rescue "no global IPv6 address on $1 after 30 s: is a router advertising an on-link prefix with the autonomous flag on this link?"
		[ $((n % 10)) -ne 0 ] || log "still waiting for an address on $1 ($((n / 2)) s)"
		sleep 0.5
	done
	log "$1 has $addr"
}
