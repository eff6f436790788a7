# The boot server that exports the root over NFSv3 and answers DNS for its host
# name; its global address 2001:db8:1::1 on eth1 is the boot address.
resource "netboot_ipv6_boot_server" "lab" {
  name      = "lab"
  interface = "eth1"
  prefix    = "2001:db8:1::/64"

  dhcpv6 = {
    ranges = [{ start = "2001:db8:1::1000", end = "2001:db8:1::1fff" }]
  }
}

# A Debian root built on the agent host, e.g. with
#   debootstrap --include=nfs-common bookworm /srv/roots/bookworm
# The agent builds the initrd from the host's newest /boot/vmlinuz-* and its
# modules, and serves kernel and initrd as artifacts.
resource "netboot_nfs_root_image" "bookworm" {
  name        = "bookworm"
  boot_server = netboot_ipv6_boot_server.lab.name
  root_dir    = "/srv/roots/bookworm"
  # Never an address: nfsroot= is split at its first colon.
  hostname = "nfs.lab.example"
  console  = "ttyS0,115200n8"
  # A whole Debian system: its root must read root's files (/etc/shadow).
  no_root_squash = true
}

# A pinned kernel, a read-write root at a chosen export path, and the driver of
# an Intel network card (e1000e) loaded besides virtio-net.
resource "netboot_nfs_root_image" "scratch" {
  name           = "scratch"
  boot_server    = netboot_ipv6_boot_server.lab.name
  root_dir       = "/srv/roots/scratch"
  hostname       = "nfs.lab.example"
  export_path    = "/scratch"
  read_write     = true
  kernel         = "/boot/vmlinuz-6.1.0-56-amd64"
  kernel_version = "6.1.0-56-amd64"
  extra_modules  = ["e1000e"]
}

# What a boot entry needs: linux.kernel, linux.initrds and linux.args.
output "bookworm_kernel_args" {
  value = netboot_nfs_root_image.bookworm.kernel_args
}
