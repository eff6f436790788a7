# The install site of a lab repository: copy examples/modules/install-site
# next to this file (or point source at a Git URL) and apply as root on the
# host whose interface faces the machines to install. Hosts on that link get
# an address by DHCPv6, iPXE for their firmware, and a menu that boots the
# local disk after 10 seconds or, under "Linux Install", CentOS Stream 9's
# installer: the UEFI kernel on UEFI hosts and the legacy one on BIOS hosts.
#
# On the agent host: apt-get install ipxe (undionly.kpxe and ipxe.efi in
# /usr/lib/ipxe), and the installer's boot images, e.g. from the DVD:
#   mount -o loop CentOS-Stream-9-latest-x86_64-dvd1.iso /mnt
#   mkdir -p /srv/install/centos-9/efi /srv/install/centos-9/pcbios
#   cp /mnt/images/pxeboot/{vmlinuz,initrd.img} /srv/install/centos-9/efi/
#   cp /mnt/isolinux/{vmlinuz,initrd.img} /srv/install/centos-9/pcbios/
terraform {
  required_providers {
    netboot = {
      source  = "registry.terraform.io/netbootlab/netboot"
      version = "~> 0.1"
    }
  }
}

variable "interface" {
  description = "Interface on this host that faces the machines to install, with a global address in 2001:db8:1::/64."
  type        = string
  default     = "eth1"
}

variable "pool" {
  description = "The addresses DHCPv6 leases to the machines, passed to the module as a whole object."
  type        = object({ start = string, end = string })
  default     = { start = "2001:db8:1::1000", end = "2001:db8:1::1fff" }
}

variable "repo_url" {
  description = "The installer's package repository (inst.repo=), reachable over IPv6, e.g. a mirror of the DVD's BaseOS."
  type        = string
  default     = "http://[2001:db8:1::10]/centos/9-stream/BaseOS/x86_64/os"
}

# The embedded default: a local agent, launched by the provider if none runs.
# For a remote agent set endpoint, ca_cert, client_cert and client_key.
provider "netboot" {}

module "install_site" {
  source = "../modules/install-site"

  name          = "install"
  interface     = var.interface
  prefix        = "2001:db8:1::/64"
  ranges        = [var.pool]
  dns_servers   = ["2001:db8:1::53"]
  domain_search = ["lab.example"]

  # Debian's ipxe package on the agent host; the module's default, spelt out.
  ipxe = {
    bios = { agent_path = "/usr/lib/ipxe/undionly.kpxe" }
    efi  = { agent_path = "/usr/lib/ipxe/ipxe.efi" }
  }

  installer = {
    entry = "centos"
    title = "CentOS Stream 9 installer"
    efi = {
      kernel = { agent_path = "/srv/install/centos-9/efi/vmlinuz" }
      initrd = { agent_path = "/srv/install/centos-9/efi/initrd.img" }
      args   = "inst.repo=${var.repo_url} ip=dhcp6"
    }
    pcbios = {
      kernel = { agent_path = "/srv/install/centos-9/pcbios/vmlinuz" }
      initrd = { agent_path = "/srv/install/centos-9/pcbios/initrd.img" }
      args   = "inst.repo=${var.repo_url} ip=dhcp6 console=tty0 console=ttyS0,115200n8"
    }
  }
}

output "boot_server_id" {
  value = module.install_site.boot_server_id
}

output "start_ipxe_url" {
  value = module.install_site.start_ipxe_url
}
