# What the "lab" boot server would serve a UEFI machine, and why: review this
# output before the machine boots.
data "netboot_rendered_script" "workstation" {
  boot_server = "lab"
  mac         = "52:54:00:12:34:56"
  buildarch   = "x86_64"
  platform    = "efi"
}

output "workstation_menu" {
  value = "${data.netboot_rendered_script.workstation.menu}: ${data.netboot_rendered_script.workstation.reason}"
}

output "workstation_script" {
  value = data.netboot_rendered_script.workstation.script
}

# The script every iPXE client runs first.
data "netboot_rendered_script" "start" {
  boot_server = "lab"
  path        = "start.ipxe"
}
