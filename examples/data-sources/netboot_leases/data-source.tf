# Which machines hold a DHCPv6 lease from the "lab" boot server.
data "netboot_leases" "lab" {
  boot_server = "lab"
}

output "leased_addresses" {
  value = { for l in data.netboot_leases.lab.leases : l.client_duid => l.address }
}
