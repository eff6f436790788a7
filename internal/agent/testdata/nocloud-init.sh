#!/bin/sh
# /init layered over the NFS root initramfs: what cloud-init's NoCloud
# source does at first boot, in busybox. It brings up IPv6 with the
# initramfs's network script (SLAAC, so its source address is the EUI-64
# one of its MAC address), takes the seed directory from
# ds=nocloud;s=URL/ on the kernel command line, fetches URL/meta-data and
# URL/user-data with busybox wget and prints what they say.

log_tag=nocloud
. /lib/nfsroot/network.sh

# A failure ends the boot with a line the test sees at once.
rescue() {
	echo "NETBOOT-USERDATA ERROR: $*"
	poweroff -f
}

seed=
set -f
for arg in $(cat /proc/cmdline); do
	case $arg in
	'ds=nocloud;s='*) seed=${arg#ds=nocloud;s=} ;;
	esac
done
set +f
case $seed in
http://*/) ;;
*) rescue "no ds=nocloud;s=http://.../ on the kernel command line: $(cat /proc/cmdline)" ;;
esac

load_modules
ipv6_up eth0

for file in meta-data user-data; do
	log "fetching $seed$file"
	wget -q -O "/tmp/$file" "$seed$file" || rescue "wget $seed$file failed"
done
head -n 1 /tmp/user-data | grep -qx '#cloud-config' || rescue "user-data is no #cloud-config"
instance=$(sed -n 's/^instance-id: *//p' /tmp/meta-data)
fqdn=$(sed -n 's/^fqdn: *//p' /tmp/user-data)
echo "NETBOOT-USERDATA instance-id=$instance fqdn=$fqdn"
poweroff -f
