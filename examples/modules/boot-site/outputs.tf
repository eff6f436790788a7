output "boot_url_base" {
  description = "HTTP base URL of the site's boot files; iPXE fetches <boot_url_base>/start.ipxe."
  value       = netboot_ipv6_boot_server.this.boot_url_base
}

output "link_local_address" {
  description = "Link-local address of the site's interface, the source of its Router Advertisements."
  value       = netboot_ipv6_boot_server.this.link_local_address
}
