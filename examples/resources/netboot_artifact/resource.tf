# iPXE builds from Debian's ipxe package (apt-get install ipxe) on the agent
# host, at the paths the default boot rules offer: BIOS firmware gets
# undionly.kpxe and x64 UEFI firmware ipxe.efi over TFTP.
resource "netboot_artifact" "undionly" {
  path       = "undionly.kpxe"
  agent_path = "/usr/lib/ipxe/undionly.kpxe"
}

resource "netboot_artifact" "ipxe_efi" {
  path       = "ipxe.efi"
  agent_path = "/usr/lib/ipxe/ipxe.efi"
}

# The script iPXE fetches over HTTP once loaded, kept next to this
# configuration: editing start.ipxe plans an update that uploads it again.
resource "netboot_artifact" "start_ipxe" {
  path   = "start.ipxe"
  source = "${path.module}/start.ipxe"
}

# A download by the agent, pinned to its digest: the agent refuses anything
# else and keeps serving what it had.
variable "netboot_xyz_sha256" {
  description = "sha256 of netboot.xyz.efi, from the release's checksums."
  type        = string
}

resource "netboot_artifact" "netboot_xyz" {
  path   = "netboot.xyz.efi"
  url    = "https://boot.netboot.xyz/ipxe/netboot.xyz.efi"
  sha256 = var.netboot_xyz_sha256
}
