# The lab that `make lab` applies: one IPv6-only link, served by the embedded
# default agent (no endpoint: the provider launches a local agent and leaves it
# running after terraform exits), and a menu whose default entry boots a Linux
# kernel: iPXE on the link gets start.ipxe, the menu, then the kernel.
terraform {
  required_providers {
    netboot = {
      source  = "registry.terraform.io/netbootlab/netboot"
      version = "~> 0.1"
    }
  }
}

variable "interface" {
  description = "Interface on the agent host that faces the machines to boot."
  type        = string
}

variable "state_dir" {
  description = "Where the local agent keeps its state, socket and log."
  type        = string
}

variable "kernel" {
  description = "A Linux kernel on this machine (e.g. Debian's /boot/vmlinuz-*), uploaded to the agent and booted by the menu's default entry."
  type        = string
}

variable "marker" {
  description = "A word the booted kernel prints on its console (it is on its command line): proof that the menu's entry booted."
  type        = string
  default     = "netboot-lab-booted"
}

provider "netboot" {
  state_dir = var.state_dir
}

resource "netboot_ipv6_boot_server" "lab" {
  name      = "lab"
  interface = var.interface
  prefix    = "2001:db8:1::/64"

  router_advertisement = {
    rdnss = ["2001:db8:1::1"]
    dnssl = ["lab.example"]
  }

  dhcpv6 = {
    mode          = "stateful"
    ranges        = [{ start = "2001:db8:1::1000", end = "2001:db8:1::1fff" }]
    dns_servers   = ["2001:db8:1::1"]
    domain_search = ["lab.example"]
    preference    = 255
  }
}

output "link_local_address" {
  value = netboot_ipv6_boot_server.lab.link_local_address
}

resource "netboot_artifact" "kernel" {
  path   = "lab/vmlinuz"
  source = var.kernel
}

# No initrd: the kernel prints its command line (with the marker), finds no
# root file system and, with panic=-1, reboots at once.
resource "netboot_boot_entry" "lab_linux" {
  name  = "lab-linux"
  title = "Lab Linux kernel"
  linux = {
    kernel = netboot_artifact.kernel.path
    args   = "console=ttyS0 panic=-1 ${var.marker}"
  }
}

resource "netboot_boot_entry" "local" {
  name  = "local"
  title = "Boot from local disk"
  kind  = "exit"
}

resource "netboot_boot_menu" "main" {
  name  = "main"
  title = "Lab boot menu"
  items = [
    { entry = netboot_boot_entry.lab_linux.name, key = "l" },
    { entry = netboot_boot_entry.local.name, key = "d" },
  ]
  default_item = netboot_boot_entry.lab_linux.name
  timeout      = 3
  is_default   = true
}

output "start_ipxe_url" {
  value = "${netboot_ipv6_boot_server.lab.boot_url_base}/start.ipxe"
}
