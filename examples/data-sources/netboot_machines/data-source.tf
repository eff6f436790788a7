# The web machines and the addresses they hold now, e.g. for an inventory.
# A machine that leased its reserved address holds it twice: distinct()
# lists it once.
data "netboot_machines" "web" {
  match_labels = { role = "web" }
}

output "web_addresses" {
  value = {
    for m in data.netboot_machines.web.machines :
    m.name => distinct(concat(m.reserved_address == "" ? [] : [m.reserved_address], [for l in m.leases : l.address if l.kind == "na"]))
  }
}
