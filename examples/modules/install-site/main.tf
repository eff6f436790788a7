# An IPv6-only install site, the setup radvd + dhcpd6 + tftpd + httpd +
# start.ipxe used to give, as one module:
#
#   firmware ──RA (M, O)──▶ DHCPv6 Solicit ──▶ address from ranges, DNS, and
#   option 59 chosen by architecture:
#     BIOS (arch 0)             tftp://[server]/<name>/undionly.kpxe
#     x64 UEFI (arch 7, 9)      tftp://[server]/<name>/ipxe.efi
#     x64 UEFI HTTP (arch 16)   http://[server]/<name>/ipxe.efi
#   iPXE (user class "iPXE") ──DHCPv6 again──▶ http://[server]/start.ipxe
#   start.ipxe ──▶ main menu: "Local HDD" (default) or "Linux Install" ▶
#                  the installer, UEFI or legacy kernel by iPXE's ${platform}
#
# The netboot provider passed in says which agent serves the site: the
# embedded default (a local agent) or a remote one.
locals {
  ranges = coalesce(var.ranges, [{
    start = cidrhost(var.prefix, 4096)
    end   = cidrhost(var.prefix, 8191)
  }])

  # Every file the site serves, by role: where the boot servers serve it and
  # where its content comes from. Paths start with the site's name, so sites
  # sharing an agent do not overwrite each other's files.
  artifacts = {
    ipxe_bios             = { path = "${var.name}/undionly.kpxe", from = var.ipxe.bios }
    ipxe_efi              = { path = "${var.name}/ipxe.efi", from = var.ipxe.efi }
    installer_efi_kernel  = { path = "${var.name}/${var.installer.entry}/efi/vmlinuz", from = var.installer.efi.kernel }
    installer_efi_initrd  = { path = "${var.name}/${var.installer.entry}/efi/initrd.img", from = var.installer.efi.initrd }
    installer_bios_kernel = { path = "${var.name}/${var.installer.entry}/pcbios/vmlinuz", from = var.installer.pcbios.kernel }
    installer_bios_initrd = { path = "${var.name}/${var.installer.entry}/pcbios/initrd.img", from = var.installer.pcbios.initrd }
  }
}

resource "netboot_artifact" "this" {
  for_each = local.artifacts

  path       = each.value.path
  agent_path = each.value.from.agent_path
  source     = each.value.from.source
  url        = each.value.from.url
  sha256     = each.value.from.sha256
}

resource "netboot_ipv6_boot_server" "this" {
  name      = var.name
  interface = var.interface
  prefix    = var.prefix

  # M and O: addresses and options (DNS, boot file) by DHCPv6. They follow
  # dhcpv6.mode anyway; set here so the RA reads as it did in radvd.conf.
  router_advertisement = {
    managed      = true
    other_config = true
    rdnss        = var.dns_servers
    dnssl        = var.domain_search
  }

  dhcpv6 = {
    mode          = "stateful"
    ranges        = local.ranges
    dns_servers   = var.dns_servers
    domain_search = var.domain_search
    preference    = var.dhcpv6_preference
  }

  boot = {
    http_port      = var.http_port
    server_address = var.server_address
    # iPXE's rule (user_class) beats the firmware rules wherever it is
    # listed: once loaded, iPXE asks again, with user class "iPXE", and must
    # get its script rather than itself.
    rules = [
      { user_class = "iPXE", file = "start.ipxe", via = "http" },
      { arch = [0], file = netboot_artifact.this["ipxe_bios"].path, via = "tftp" },
      { arch = [7, 9], file = netboot_artifact.this["ipxe_efi"].path, via = "tftp" },
      { arch = [16], file = netboot_artifact.this["ipxe_efi"].path, via = "http" },
    ]
  }
}

# Leave iPXE, so the firmware boots the next device: the local disk.
resource "netboot_boot_entry" "local_hdd" {
  name  = "${var.name}-local-hdd"
  title = "Local HDD"
  kind  = "exit"
}

# One entry for UEFI and legacy hosts: the script branches on ${platform}.
resource "netboot_boot_entry" "installer" {
  name  = "${var.name}-${var.installer.entry}"
  title = var.installer.title
  efi = {
    kernel  = netboot_artifact.this["installer_efi_kernel"].path
    initrds = [netboot_artifact.this["installer_efi_initrd"].path]
    args    = var.installer.efi.args
  }
  pcbios = {
    kernel  = netboot_artifact.this["installer_bios_kernel"].path
    initrds = [netboot_artifact.this["installer_bios_initrd"].path]
    args    = var.installer.pcbios.args
  }
}

resource "netboot_boot_menu" "linux_install" {
  name  = "${var.name}-linux-install"
  title = "Linux Install"
  items = concat(
    [{ entry = netboot_boot_entry.installer.name }],
    [for e in var.extra_install_entries : { entry = e }],
  )
}

# The menu every host booting from this site gets (start.ipxe chains to it).
resource "netboot_boot_menu" "main" {
  name  = var.name
  title = "PXE Boot Options"
  items = [
    { entry = netboot_boot_entry.local_hdd.name, key = "l" },
    { gap = true },
    { menu = netboot_boot_menu.linux_install.name, key = "i" },
  ]
  default_item = netboot_boot_entry.local_hdd.name
  timeout      = var.menu_timeout
  is_default   = true
  boot_servers = [netboot_ipv6_boot_server.this.name]
}
