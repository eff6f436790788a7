# A diskless IPv6-only machine, all in Terraform: its firmware gets an address
# and iPXE from the boot server (RA + DHCPv6, iPXE over TFTP), iPXE gets
# start.ipxe, the default menu boots the NFS root image's kernel and initrd
# over HTTP, and the initrd mounts root_dir over NFSv3 from the same boot
# server, which also answers DNS for hostname. No IPv4 anywhere.
#
# The agent host needs nfs-common (/sbin/mount.nfs), busybox-static and a
# kernel with its modules (linux-image-amd64): the agent builds the initrd from
# them; and ipxe, whose builds firmware loads. root_dir holds the root
# filesystem, e.g. from
#   debootstrap --include=nfs-common bookworm /srv/roots/bookworm
#
# A VM to boot, on a tap device bridged to interface (qemu-system-x86, ipxe):
#   qemu-system-x86_64 -m 1024 -nographic -kernel /usr/lib/ipxe/ipxe.lkrn \
#     -netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
#     -device virtio-net-pci,netdev=n0,romfile=
# or, with UEFI firmware that PXE-boots on its own (ovmf), -bios
# /usr/share/ovmf/OVMF.fd instead of -kernel: it fetches ipxe.efi by TFTP.
terraform {
  required_providers {
    netboot = {
      source  = "registry.terraform.io/netbootlab/netboot"
      version = "~> 0.1"
    }
  }
}

variable "interface" {
  description = "Interface on the agent host that faces the machines to boot, with a global address in prefix."
  type        = string
}

variable "prefix" {
  description = "The link's IPv6 /64."
  type        = string
  default     = "2001:db8:1::/64"
}

variable "root_dir" {
  description = "Root filesystem to boot, a directory on the agent host."
  type        = string
}

variable "hostname" {
  description = "DNS name in nfsroot=, answered by the boot server (never an address)."
  type        = string
  default     = "nfs.boot.internal"
}

variable "console" {
  description = "Kernel console, e.g. ttyS0 for a serial console; null for none."
  type        = string
  default     = "ttyS0"
}

provider "netboot" {}

# The default boot rules offer these to firmware (BIOS undionly.kpxe, x64
# UEFI ipxe.efi, over TFTP) and start.ipxe to iPXE (over HTTP).
resource "netboot_artifact" "undionly" {
  path       = "undionly.kpxe"
  agent_path = "/usr/lib/ipxe/undionly.kpxe"
}

resource "netboot_artifact" "ipxe_efi" {
  path       = "ipxe.efi"
  agent_path = "/usr/lib/ipxe/ipxe.efi"
}

resource "netboot_ipv6_boot_server" "site" {
  name      = "diskless"
  interface = var.interface
  prefix    = var.prefix

  dhcpv6 = {
    mode   = "stateful"
    ranges = [{ start = cidrhost(var.prefix, 4096), end = cidrhost(var.prefix, 8191) }]
  }

  # The firmware's files must be there before a machine asks for them.
  depends_on = [netboot_artifact.undionly, netboot_artifact.ipxe_efi]
}

resource "netboot_nfs_root_image" "root" {
  name        = "root"
  boot_server = netboot_ipv6_boot_server.site.name
  root_dir    = var.root_dir
  hostname    = var.hostname
  console     = var.console
  # root_dir is a whole system, whose root must read root's files.
  no_root_squash = true
}

resource "netboot_boot_entry" "diskless" {
  name  = "diskless"
  title = "Diskless Linux (NFS root)"
  kind  = "linux"
  linux = {
    kernel  = netboot_nfs_root_image.root.kernel_path
    initrds = [netboot_nfs_root_image.root.initrd_path]
    args    = netboot_nfs_root_image.root.kernel_args
  }
}

resource "netboot_boot_menu" "main" {
  name         = "main"
  title        = "Diskless boot"
  items        = [{ entry = netboot_boot_entry.diskless.name }]
  default_item = netboot_boot_entry.diskless.name
  timeout      = 3
  is_default   = true
  boot_servers = [netboot_ipv6_boot_server.site.name]
}

output "nfsroot" {
  value = netboot_nfs_root_image.root.nfsroot
}

output "kernel_args" {
  value = netboot_nfs_root_image.root.kernel_args
}

output "boot_url_base" {
  value = netboot_ipv6_boot_server.site.boot_url_base
}

output "start_ipxe_url" {
  value = "${netboot_ipv6_boot_server.site.boot_url_base}/start.ipxe"
}
