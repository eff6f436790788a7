# A UEFI Secure Boot site over IPv6, all in Terraform: firmware with Secure
# Boot on runs only images signed by keys it trusts, and iPXE builds are not
# signed by them. So x64 UEFI clients get Debian's signed chain instead:
# shim (signed by the Microsoft UEFI CA) over TFTP, which loads GRUB
# (signed by Debian, whose key shim carries), which reads grub.cfg rendered
# by the agent from the boot menu below and boots Debian's signed kernel.
#
# The agent host needs Debian's shim-signed, grub-efi-amd64-signed and
# linux-image-amd64 packages: their files are copied from /usr/lib/shim,
# /usr/lib/grub and /boot, which the agent may publish by default.
#
# A VM to boot, on a tap device bridged to interface (qemu-system-x86, ovmf):
#   cp /usr/share/OVMF/OVMF_VARS_4M.ms.fd vars.fd
#   qemu-system-x86_64 -m 1024 -nographic -machine q35,smm=on \
#     -global driver=cfi.pflash01,property=secure,value=on \
#     -drive if=pflash,format=raw,unit=0,file=/usr/share/OVMF/OVMF_CODE_4M.ms.fd,readonly=on \
#     -drive if=pflash,format=raw,unit=1,file=vars.fd \
#     -fw_cfg name=opt/org.tianocore/IPv4PXESupport,string=n \
#     -netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
#     -device virtio-net-pci,netdev=n0,romfile=
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

variable "kernel" {
  description = "Debian's signed kernel on the agent host (linux-image-amd64); /vmlinuz links to the newest in /boot."
  type        = string
  default     = "/vmlinuz"
}

variable "initrd" {
  description = "Its initramfs on the agent host."
  type        = string
  default     = "/initrd.img"
}

provider "netboot" {}

# What the firmware gets (option 59), under the name the rule below offers.
# The agent records each file's sha256 (the outputs below). To serve only a
# reviewed build, pin it: sha256 = "<sha256sum /usr/lib/shim/shimx64.efi.signed>";
# a file changed by a package upgrade then fails the apply, and the agent
# keeps serving the one it had.
resource "netboot_artifact" "shim" {
  path       = "shimx64.efi"
  agent_path = "/usr/lib/shim/shimx64.efi.signed"
}

# shim asks for /grubx64.efi next to itself. Debian's network GRUB looks
# for its configuration in (tftp,<server>)/grub: the agent renders
# grub/grub.cfg there from the boot menus.
resource "netboot_artifact" "grub" {
  path       = "grubx64.efi"
  agent_path = "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed"
}

resource "netboot_artifact" "kernel" {
  path       = "debian/vmlinuz"
  agent_path = var.kernel
}

resource "netboot_artifact" "initrd" {
  path       = "debian/initrd.img"
  agent_path = var.initrd
}

resource "netboot_ipv6_boot_server" "site" {
  name      = "secure-boot"
  interface = var.interface
  prefix    = var.prefix

  dhcpv6 = {
    mode   = "stateful"
    ranges = [{ start = cidrhost(var.prefix, 4096), end = cidrhost(var.prefix, 8191) }]
  }

  boot = {
    rules = [
      # x64 UEFI firmware (architecture 7): shim over TFTP, the only
      # scheme EDK2's PXE client accepts.
      { arch = [7], file = "shimx64.efi", via = "tftp" },
      # x64 UEFI HTTP boot (architecture 16) fetches shim over HTTP, and
      # shim GRUB. Debian 12's GRUB gets no network from an HTTP boot and
      # stops at its prompt (guide "Secure Boot"): use PXE (arch 7) with it.
      { arch = [16], file = "shimx64.efi", via = "http" },
    ]
  }

  # The firmware's files must be there before a machine asks for them.
  depends_on = [netboot_artifact.shim, netboot_artifact.grub]
}

resource "netboot_boot_entry" "debian" {
  name  = "debian"
  title = "Debian (signed kernel)"
  kind  = "linux"
  linux = {
    kernel  = netboot_artifact.kernel.path
    initrds = [netboot_artifact.initrd.path]
    args    = "console=ttyS0"
  }
}

resource "netboot_boot_entry" "local" {
  name  = "local"
  title = "Next boot device"
  kind  = "exit"
}

# Rendered as grub/grub.cfg for GRUB only: iPXE clients of this boot server
# get menus of their own. A menu for GRUB alone may only list entries GRUB
# can boot (linux entries with published kernels, exit): the plan refuses a
# chain, sanboot or script entry here.
resource "netboot_boot_menu" "main" {
  name         = "main"
  title        = "Secure Boot"
  formats      = ["grub"]
  items        = [{ entry = netboot_boot_entry.debian.name }, { entry = netboot_boot_entry.local.name }]
  default_item = netboot_boot_entry.debian.name
  timeout      = 5
  is_default   = true
  boot_servers = [netboot_ipv6_boot_server.site.name]
}

# What GRUB will read, as the agent renders it for a machine.
data "netboot_rendered_script" "grub" {
  boot_server = netboot_ipv6_boot_server.site.name
  path        = "netboot/host/mac-52:54:00:12:34:56/uuid-/arch-x86_64/platform-efi/grub.cfg"
  depends_on  = [netboot_boot_menu.main]
}

output "sha256" {
  value = {
    shim   = netboot_artifact.shim.sha256
    grub   = netboot_artifact.grub.sha256
    kernel = netboot_artifact.kernel.sha256
  }
}

output "grub_cfg" {
  value = data.netboot_rendered_script.grub.script
}
