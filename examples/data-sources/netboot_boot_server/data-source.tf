# A boot server managed elsewhere, e.g. to point boot files at its address.
data "netboot_boot_server" "lab" {
  name = "lab"
}

output "lab_boot_url_base" {
  value = data.netboot_boot_server.lab.boot_url_base
}

# Warn on every plan and apply while another router or DHCPv6 server
# answers on the lab link (a forgotten dhcpd, a home router).
check "lab_link_has_no_other_servers" {
  assert {
    condition     = length(data.netboot_boot_server.lab.other_servers) == 0
    error_message = "Other servers answer on the lab link: ${join(", ", [for o in data.netboot_boot_server.lab.other_servers : "${o.protocol} from ${o.source_address}"])}. See `terraform-provider-netboot agent status`."
  }
}
