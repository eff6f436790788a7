# The lab that `make lab` applies: one IPv6-only link, served by the embedded
# default agent (no endpoint: the provider launches a local agent and leaves it
# running after terraform exits).
terraform {
  required_providers {
    netboot = {
      source = "registry.terraform.io/netbootlab/netboot"
    }
  }
}

variable "interface" {
  description = "Interface on the agent host that faces the machines to boot."
  type        = string
}

variable "state_dir" {
  description = "Where the local agent keeps its state, socket and log."
  type        = string
}

provider "netboot" {
  state_dir = var.state_dir
}

resource "netboot_ipv6_boot_server" "lab" {
  name      = "lab"
  interface = var.interface
  prefix    = "2001:db8:1::/64"

  router_advertisement = {
    rdnss = ["2001:db8:1::1"]
    dnssl = ["lab.example"]
  }

  dhcpv6 = {
    mode          = "stateful"
    ranges        = [{ start = "2001:db8:1::1000", end = "2001:db8:1::1fff" }]
    dns_servers   = ["2001:db8:1::1"]
    domain_search = ["lab.example"]
    preference    = 255
  }
}

output "link_local_address" {
  value = netboot_ipv6_boot_server.lab.link_local_address
}
