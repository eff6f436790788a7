output "boot_server_id" {
  description = "ID (the name) of the site's netboot_ipv6_boot_server, e.g. for netboot_leases and netboot_rendered_script."
  value       = netboot_ipv6_boot_server.this.id
}

output "start_ipxe_url" {
  description = "URL of start.ipxe, which iPXE gets in option 59; null while the boot server has no address for its URLs."
  value       = netboot_ipv6_boot_server.this.boot_url_base == "" ? null : "${netboot_ipv6_boot_server.this.boot_url_base}/start.ipxe"
}

output "boot_url_base" {
  description = "HTTP base URL of the site's boot files: <boot_url_base>/<path> for each artifact."
  value       = netboot_ipv6_boot_server.this.boot_url_base
}

output "tftp_url_base" {
  description = "TFTP base URL of the site's boot files, where firmware fetches the iPXE builds."
  value       = netboot_ipv6_boot_server.this.tftp_url_base
}

output "link_local_address" {
  description = "Link-local address of the site's interface, the source of its Router Advertisements."
  value       = netboot_ipv6_boot_server.this.link_local_address
}

output "server_duid" {
  description = "The DHCPv6 server's DUID, in hex, as clients see it in option 2."
  value       = netboot_ipv6_boot_server.this.server_duid
}

output "main_menu" {
  description = "Name of the site's default netboot_boot_menu."
  value       = netboot_boot_menu.main.name
}

output "artifact_paths" {
  description = "Path of each file the site serves, by role (ipxe_bios, ipxe_efi, installer_efi_kernel, ...)."
  value       = { for role, a in netboot_artifact.this : role => a.path }
}
