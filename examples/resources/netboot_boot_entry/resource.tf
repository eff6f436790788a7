# A Debian installer: kernel and initrd are netboot_artifact paths, served by
# the boot server over HTTP. {{ .HTTPBase }} is the boot server's HTTP URL;
# iPXE's own ${...} settings pass through, written $${...} in HCL.
resource "netboot_artifact" "debian_linux" {
  path       = "debian/12/linux"
  agent_path = "/srv/netboot/debian/12/linux"
}

resource "netboot_artifact" "debian_initrd" {
  path       = "debian/12/initrd.gz"
  agent_path = "/srv/netboot/debian/12/initrd.gz"
}

resource "netboot_boot_entry" "debian" {
  name  = "debian"
  title = "Debian 12 installer"
  linux = {
    kernel  = netboot_artifact.debian_linux.path
    initrds = [netboot_artifact.debian_initrd.path]
    args    = "auto=true priority=critical url={{ .HTTPBase }}/preseed/{{ .Entry }}.cfg netcfg/choose_interface=$${netX/mac}"
  }
}

# One entry for BIOS and UEFI hosts: the initrd and most arguments are common,
# the kernel and the console differ; the script branches on iPXE's ${platform}.
resource "netboot_boot_entry" "centos" {
  name  = "centos"
  title = "CentOS Stream 9 installer"
  linux = {
    initrds = ["centos/9/initrd.img"]
    args    = "inst.repo={{ .HTTPBase }}/centos/9 ip=dhcp6"
  }
  efi = {
    kernel = "centos/9/efi/vmlinuz"
  }
  pcbios = {
    kernel = "centos/9/bios/vmlinuz"
    args   = "inst.repo={{ .HTTPBase }}/centos/9 ip=dhcp6 console=ttyS0,115200n8"
  }
}

# Leave iPXE, so the firmware boots the local disk.
resource "netboot_boot_entry" "local" {
  name  = "local"
  title = "Boot from local disk"
  kind  = "exit"
}

# Another boot program, downloaded and run by iPXE.
resource "netboot_boot_entry" "netboot_xyz" {
  name  = "netboot-xyz"
  title = "netboot.xyz"
  kind  = "chain"
  url   = "https://boot.netboot.xyz/ipxe/netboot.xyz.efi"
}

# Raw iPXE commands; the host returns to its menu after the last one.
resource "netboot_boot_entry" "shell" {
  name   = "shell"
  title  = "iPXE shell"
  kind   = "script"
  script = <<-EOT
    echo Type exit to return to the menu
    shell
  EOT
}
