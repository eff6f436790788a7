# A server known by its NIC's MAC address and its SMBIOS UUID, with an
# address reserved for it and values for its install templates.
resource "netboot_machine" "web1" {
  name     = "web1"
  macs     = ["52:54:00:12:34:56"]
  uuids    = ["4c4c4544-0042-3610-8058-b4c04f4b4d32"]
  hostname = "web1"
  labels   = { role = "web", rack = "r12" }
  metadata = {
    ssh_user = "ops"
    disk     = "/dev/sda"
    # Structured values go in as JSON.
    networks = jsonencode([{ name = "eth0", mtu = 9000 }])
  }
  reserved_address = "2001:db8:1::10"
  # Boots this menu (a netboot_boot_menu's name) whatever the menus' match
  # says; write netboot_boot_menu.<label>.name so the menu comes first.
  menu = "install"
}
