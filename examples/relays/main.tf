# One agent boots the machines of several VLANs: the routers of those VLANs
# relay DHCPv6 to the boot server (e.g. ISC dhcrelay -6), and the boot server
# leases each VLAN's clients an address from that VLAN's own range. The agent
# has an interface only on the server link, in prefix; the routers send the
# RAs on the VLANs (see the guide "Several VLANs through relays").
terraform {
  required_providers {
    netboot = {
      source  = "registry.terraform.io/netbootlab/netboot"
      version = "~> 0.1"
    }
  }
}

variable "interface" {
  description = "Interface on the agent host towards the routers, with a global address in prefix."
  type        = string
}

variable "prefix" {
  description = "The server link's IPv6 /64."
  type        = string
  default     = "2001:db8:1::/64"
}

variable "vlans" {
  description = "The VLANs behind relays, by name: each one's /64, DNS servers if not the site's, and prefixes to delegate to its routers."
  type = map(object({
    prefix      = string
    dns_servers = optional(list(string), [])
    prefix_delegation = optional(object({
      start  = string
      end    = string
      length = number
    }))
  }))
  default = {
    vlan10 = { prefix = "2001:db8:10::/64" }
    vlan20 = {
      prefix      = "2001:db8:20::/64"
      dns_servers = ["2001:db8:20::53"]
      # The 256 /56s of 2001:db8:2000::/48, for routers on vlan20 that ask (IA_PD).
      prefix_delegation = { start = "2001:db8:2000::", end = "2001:db8:2000:ff00::", length = 56 }
    }
  }
}

provider "netboot" {}

resource "netboot_artifact" "ipxe_efi" {
  path       = "ipxe.efi"
  agent_path = "/usr/lib/ipxe/ipxe.efi"
}

resource "netboot_ipv6_boot_server" "site" {
  name      = "site"
  interface = var.interface
  prefix    = var.prefix

  dhcpv6 = {
    mode        = "stateful"
    ranges      = [{ start = cidrhost(var.prefix, 4096), end = cidrhost(var.prefix, 8191) }]
    dns_servers = [cidrhost(var.prefix, 53)]

    # Addresses ::1000 to ::1fff of each VLAN's /64.
    relayed_links = {
      for name, vlan in var.vlans : name => {
        prefix            = vlan.prefix
        ranges            = [{ start = cidrhost(vlan.prefix, 4096), end = cidrhost(vlan.prefix, 8191) }]
        dns_servers       = vlan.dns_servers
        prefix_delegation = vlan.prefix_delegation
      }
    }
  }

  depends_on = [netboot_artifact.ipxe_efi]
}
