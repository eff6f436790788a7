# One boot site served by two agents at once (active/active), on two hosts
# attached to the same link, both started with the same
# `--lease-db postgres://...`: the same boot-site module is applied to each
# agent through its own provider alias, with the same inputs, so both serve
# the same boot server. Certificates and agent flags as in examples/two-sites;
# set agent_a and agent_b, e.g. in terraform.tfvars:
#
#   agent_a = {
#     endpoint    = "boot-a.example:7447"
#     ca_cert     = "pki/ca.pem"
#     client_cert = "pki/terraform.pem"
#     client_key  = "pki/terraform-key.pem"
#   }
terraform {
  required_providers {
    netboot = {
      source  = "registry.terraform.io/netbootlab/netboot"
      version = "~> 0.1"
    }
  }
}

variable "agent_a" {
  description = "The first agent: its --listen address as host:port, the CA that issued its certificate, and Terraform's client certificate and key (PEM text or file paths)."
  type = object({
    endpoint    = string
    ca_cert     = string
    client_cert = string
    client_key  = string
  })
  sensitive = true
}

variable "agent_b" {
  description = "The second agent, as agent_a."
  type = object({
    endpoint    = string
    ca_cert     = string
    client_cert = string
    client_key  = string
  })
  sensitive = true
}

variable "interface" {
  description = "Interface that faces the machines to boot; give it the same name on both hosts (or make it an input per agent)."
  type        = string
  default     = "eth1"
}

provider "netboot" {
  alias       = "agent_a"
  endpoint    = var.agent_a.endpoint
  ca_cert     = var.agent_a.ca_cert
  client_cert = var.agent_a.client_cert
  client_key  = var.agent_a.client_key
}

provider "netboot" {
  alias       = "agent_b"
  endpoint    = var.agent_b.endpoint
  ca_cert     = var.agent_b.ca_cert
  client_cert = var.agent_b.client_cert
  client_key  = var.agent_b.client_key
}

# The inputs both agents share: one boot server, one lease range. The name
# must be the same on both, since leases are stored per boot server name.
locals {
  site = {
    name        = "site"
    prefix      = "2001:db8:a::/64"
    dhcp_range  = { start = "2001:db8:a::1000", end = "2001:db8:a::1fff" }
    dns_servers = ["2001:db8:a::53"]
  }
}

module "agent_a" {
  source    = "../modules/boot-site"
  providers = { netboot = netboot.agent_a }

  name        = local.site.name
  interface   = var.interface
  prefix      = local.site.prefix
  dhcp_range  = local.site.dhcp_range
  dns_servers = local.site.dns_servers
}

module "agent_b" {
  source    = "../modules/boot-site"
  providers = { netboot = netboot.agent_b }

  name        = local.site.name
  interface   = var.interface
  prefix      = local.site.prefix
  dhcp_range  = local.site.dhcp_range
  dns_servers = local.site.dns_servers
}

output "boot_url_base" {
  description = "Each agent's HTTP base URL of its boot files (each agent serves from its own address)."
  value = {
    agent_a = module.agent_a.boot_url_base
    agent_b = module.agent_b.boot_url_base
  }
}
