# The default menu of every boot server: boot the local disk after 10 seconds,
# or pick an installer from the "Linux Install" submenu.
resource "netboot_boot_entry" "local_hdd" {
  name  = "local-hdd"
  title = "Local HDD"
  kind  = "exit"
}

# A RHEL-style installer, with a kernel per platform: iPXE picks the efi or
# pcbios variant by its ${platform}. Paths are netboot_artifact paths on the
# boot server; {{ .HTTPBase }} is its HTTP URL.
resource "netboot_boot_entry" "centos" {
  name  = "centos"
  title = "CentOS Stream 9"
  efi = {
    kernel  = "centos/efi/vmlinuz"
    initrds = ["centos/efi/initrd.img"]
    args    = "inst.repo={{ .HTTPBase }}/centos/repo inst.ks={{ .HTTPBase }}/ks/{{ .Entry }}.cfg ip=dhcp6"
  }
  pcbios = {
    kernel  = "centos/bios/vmlinuz"
    initrds = ["centos/bios/initrd.img"]
    args    = "inst.repo={{ .HTTPBase }}/centos/repo inst.ks={{ .HTTPBase }}/ks/{{ .Entry }}.cfg ip=dhcp6 console=ttyS0,115200n8"
  }
}

resource "netboot_boot_menu" "linux_install" {
  name  = "linux-install"
  title = "Linux Install"
  items = [
    { entry = netboot_boot_entry.centos.name, key = "c" },
  ]
}

resource "netboot_boot_menu" "main" {
  name  = "main"
  title = "PXE Boot Options"
  items = [
    { entry = netboot_boot_entry.local_hdd.name, key = "l" },
    { gap = true },
    { menu = netboot_boot_menu.linux_install.name, key = "i" },
  ]
  default_item = netboot_boot_entry.local_hdd.name
  timeout      = 10
  is_default   = true
}

# Machines in the install rack get the installers straight away, but only from
# the "rack" boot server. A menu matching on MAC addresses (score 4) wins over
# the default menu.
resource "netboot_boot_menu" "rack" {
  name  = "rack"
  title = "Rack install"
  items = [
    { entry = netboot_boot_entry.centos.name },
    { entry = netboot_boot_entry.local_hdd.name, text = "Leave it alone" },
  ]
  default_item = netboot_boot_entry.centos.name
  timeout      = 5
  match = {
    macs = ["52:54:00:12:34:56", "52:54:00:ab:cd:ef"]
  }
  boot_servers = ["rack"]
}
