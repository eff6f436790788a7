# One IPv6-only boot site: RAs and stateful DHCPv6 on one interface, and a
# default iPXE menu offered only by this site's boot server. The netboot
# provider passed in (a provider alias per site) says which agent serves it.
resource "netboot_ipv6_boot_server" "this" {
  name      = var.name
  interface = var.interface
  prefix    = var.prefix

  router_advertisement = {
    rdnss = var.dns_servers
  }

  dhcpv6 = {
    ranges      = [var.dhcp_range]
    dns_servers = var.dns_servers
  }
}

# Leave iPXE, so the firmware boots the local disk.
resource "netboot_boot_entry" "exit" {
  name  = "${var.name}-exit"
  title = "Boot from local disk"
  kind  = "exit"
}

resource "netboot_boot_entry" "script" {
  count = var.ipxe_script == null ? 0 : 1

  name   = "${var.name}-script"
  title  = "${var.name} script"
  kind   = "script"
  script = var.ipxe_script
}

resource "netboot_boot_menu" "default" {
  name  = var.name
  title = "${var.name} boot menu"
  items = concat(
    [for e in netboot_boot_entry.script : { entry = e.name }],
    [{ entry = netboot_boot_entry.exit.name, key = "l" }],
  )
  default_item = netboot_boot_entry.exit.name
  is_default   = true
  boot_servers = [netboot_ipv6_boot_server.this.name]
}
