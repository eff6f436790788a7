#!/bin/sh
# /init layered over the NFS root initramfs: what cloud-init's NoCloud
# source does at first boot, in busybox. It brings up IPv6 with the
# initramfs's network script (SLAAC, so its source address is the EUI-64
# one of its MAC address), takes the seed directory from
# ds=nocloud;s=URL/ on the kernel command line, fetches URL/meta-data and
# URL/user-data with busybox wget and prints what they say. Then it
# fetches user-data again from the HTTPS seed directory in
# netboot.https_seed=URL/ with curl, trusting only the CA in
# /etc/netboot/ca.pem (busybox's wget checks no certificate), and shows
# that curl refuses the server when it trusts another CA instead.

log_tag=nocloud
. /lib/nfsroot/network.sh

# A failure ends the boot with a line the test sees at once.
rescue() {
	echo "NETBOOT-USERDATA ERROR: $*"
	poweroff -f
}

seed=
https_seed=
set -f
for arg in $(cat /proc/cmdline); do
	case $arg in
	'ds=nocloud;s='*) seed=${arg#ds=nocloud;s=} ;;
	netboot.https_seed=*) https_seed=${arg#netboot.https_seed=} ;;
	esac
done
set +f
case $seed in
http://*/) ;;
*) rescue "no ds=nocloud;s=http://.../ on the kernel command line: $(cat /proc/cmdline)" ;;
esac
case $https_seed in
https://*/) ;;
*) rescue "no netboot.https_seed=https://.../ on the kernel command line: $(cat /proc/cmdline)" ;;
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

# -g: the URL's [address] is a literal, not a glob.
log "fetching ${https_seed}user-data trusting another CA"
curl -g -sS -o /dev/null --cacert /etc/netboot/other-ca.pem "${https_seed}user-data"
untrusted=$?
log "fetching ${https_seed}user-data"
curl -g -sS --fail --cacert /etc/netboot/ca.pem -o /tmp/user-data.https "${https_seed}user-data" ||
	rescue "curl ${https_seed}user-data failed"
head -n 1 /tmp/user-data.https | grep -qx '#cloud-config' || rescue "user-data over HTTPS is no #cloud-config"
fqdn=$(sed -n 's/^fqdn: *//p' /tmp/user-data.https)
echo "NETBOOT-USERDATA-HTTPS fqdn=$fqdn untrusted-ca-exit=$untrusted"
poweroff -f
