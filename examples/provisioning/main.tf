# Unattended installs per machine: each machine boots the installer from
# its own menu, and the installer reads that machine's answers from the
# agent (see the guide "Provisioning machines"). Ubuntu's live server
# reads cloud-init NoCloud user-data; Debian's installer a preseed file.
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

# Ubuntu: the live server ISO's kernel and initrd, published as artifacts
# (a netboot_artifact each, left out here), read the NoCloud seed
# directory of the booting machine.
resource "netboot_boot_entry" "ubuntu" {
  name  = "ubuntu-autoinstall"
  title = "Install Ubuntu (unattended)"
  linux = {
    kernel  = "ubuntu/vmlinuz"
    initrds = ["ubuntu/initrd"]
    args    = "url={{ .HTTPBase }}/ubuntu/live-server.iso autoinstall ds=nocloud;s={{ .ConfigURL \"\" }}"
  }
}

resource "netboot_boot_entry" "debian" {
  name  = "debian-preseed"
  title = "Install Debian (unattended)"
  linux = {
    kernel  = "debian/linux"
    initrds = ["debian/initrd.gz"]
    args    = "auto=true priority=critical url={{ .ConfigURL \"preseed.cfg\" }}"
  }
}

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

resource "netboot_config" "ubuntu_user_data" {
  name             = "ubuntu-user-data"
  kind             = "autoinstall"
  match_labels     = { os = "ubuntu" }
  sensitive_values = { password_hash = var.password_hash }
  template         = <<-EOT
    #cloud-config
    autoinstall:
      version: 1
      identity:
        hostname: {{ .Hostname }}
        username: {{ .Metadata.admin }}
        password: {{ toJSON .Sensitive.password_hash }}
      storage:
        layout:
          name: lvm
          match:
            path: {{ .Metadata.disk }}
      ssh:
        install-server: true
  EOT
}

# NoCloud wants meta-data beside user-data, even a minimal one.
resource "netboot_config" "ubuntu_meta_data" {
  name         = "ubuntu-meta-data"
  kind         = "meta-data"
  match_labels = { os = "ubuntu" }
  template     = "instance-id: {{ .Name }}\nlocal-hostname: {{ .Hostname }}\n"
}

resource "netboot_config" "debian_preseed" {
  name             = "debian-preseed"
  kind             = "preseed"
  match_labels     = { os = "debian" }
  sensitive_values = { password_hash = var.password_hash }
  template         = <<-EOT
    d-i debian-installer/locale string en_US.UTF-8
    d-i keyboard-configuration/xkb-keymap select us
    d-i netcfg/get_hostname string {{ .Hostname }}
    d-i netcfg/get_domain string lab.example
    d-i mirror/country string manual
    d-i mirror/http/hostname string deb.debian.org
    d-i mirror/http/directory string /debian
    d-i passwd/root-login boolean false
    d-i passwd/user-fullname string
    d-i passwd/username string {{ .Metadata.admin }}
    d-i passwd/user-password-crypted password {{ .Sensitive.password_hash }}
    d-i partman-auto/disk string {{ .Metadata.disk }}
    d-i partman-auto/method string regular
    d-i partman/confirm boolean true
    d-i partman/confirm_nooverwrite boolean true
    d-i partman/choose_partition select finish
    d-i pkgsel/include string openssh-server
    d-i grub-installer/bootdev string default
    d-i finish-install/reboot_in_progress note
  EOT
}
