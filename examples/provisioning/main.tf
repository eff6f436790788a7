# Unattended installs per machine: each machine boots the installer from
# its own menu, and the installer reads that machine's answers from the
# agent (see the guide "Provisioning machines"). The machines labelled
# os = "ubuntu" install through cloud-init (cloud-init.tf), those labelled
# os = "debian" through a Debian preseed file (preseed.tf).
terraform {
  required_providers {
    netboot = {
      source  = "registry.terraform.io/netbootlab/netboot"
      version = "~> 0.1"
    }
  }
}

variable "machines" {
  description = "The machines to install, by name: MAC address, OS and values for their answers."
  type = map(object({
    mac     = string
    os      = string # "ubuntu" or "debian"
    disk    = optional(string, "/dev/sda")
    address = optional(string)
  }))
  default = {
    web1 = { mac = "52:54:00:12:34:01", os = "ubuntu", address = "2001:db8:1::101" }
    db1  = { mac = "52:54:00:12:34:02", os = "debian", disk = "/dev/vda" }
  }
}

variable "password_hash" {
  description = "The crypt(3) hash of the admin user's password, e.g. from `mkpasswd -m sha-512`."
  type        = string
  sensitive   = true
}

provider "netboot" {}

resource "netboot_machine" "this" {
  for_each         = var.machines
  name             = each.key
  macs             = [each.value.mac]
  hostname         = each.key
  labels           = { os = each.value.os }
  metadata         = { disk = each.value.disk, admin = "ops" }
  reserved_address = each.value.address
  menu             = netboot_boot_menu.install[each.value.os].name
}

# Each machine boots the install menu of its OS, whose only entry starts
# the installer with that machine's own config URL.
locals {
  entries = { ubuntu = netboot_boot_entry.ubuntu.name, debian = netboot_boot_entry.debian.name }
}

resource "netboot_boot_menu" "install" {
  for_each     = local.entries
  name         = "install-${each.key}"
  title        = "Unattended install"
  items        = [{ entry = each.value }]
  default_item = each.value
  timeout      = 5
}
