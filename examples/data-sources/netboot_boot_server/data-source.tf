# A boot server managed elsewhere, e.g. to point boot files at its address.
data "netboot_boot_server" "lab" {
  name = "lab"
}

output "lab_boot_url_base" {
  value = data.netboot_boot_server.lab.boot_url_base
}
