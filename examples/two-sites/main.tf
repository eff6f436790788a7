# Two boot sites, each served by its own remote agent over mutual TLS, from
# one configuration: a provider alias per agent, and the boot-site module
# applied once with each. Make the certificates with
#
#   terraform-provider-netboot agent certs init   --dir pki
#   terraform-provider-netboot agent certs server --dir pki --name site-a --host boot-a.example
#   terraform-provider-netboot agent certs server --dir pki --name site-b --host boot-b.example
#   terraform-provider-netboot agent certs client --dir pki --name terraform
#
# run each agent with `agent --listen [::]:7447 --tls-cert pki/site-a.pem
# --tls-key pki/site-a-key.pem --client-ca pki/ca.pem`, and set site_a and
# site_b, e.g. in terraform.tfvars:
#
#   site_a = {
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

variable "site_a" {
  description = "Site A's agent: its --listen address as host:port, the CA that issued its certificate, and Terraform's client certificate and key (PEM text or file paths)."
  type = object({
    endpoint    = string
    ca_cert     = string
    client_cert = string
    client_key  = string
  })
  sensitive = true
}

variable "site_b" {
  description = "Site B's agent, as site_a."
  type = object({
    endpoint    = string
    ca_cert     = string
    client_cert = string
    client_key  = string
  })
  sensitive = true
}

variable "site_a_interface" {
  description = "Interface of site A's agent host that faces the machines to boot."
  type        = string
  default     = "eth1"
}

variable "site_b_interface" {
  description = "Interface of site B's agent host that faces the machines to boot."
  type        = string
  default     = "eth1"
}

provider "netboot" {
  alias       = "site_a"
  endpoint    = var.site_a.endpoint
  ca_cert     = var.site_a.ca_cert
  client_cert = var.site_a.client_cert
  client_key  = var.site_a.client_key
}

provider "netboot" {
  alias       = "site_b"
  endpoint    = var.site_b.endpoint
  ca_cert     = var.site_b.ca_cert
  client_cert = var.site_b.client_cert
  client_key  = var.site_b.client_key
}

module "site_a" {
  source    = "../modules/boot-site"
  providers = { netboot = netboot.site_a }

  name        = "site-a"
  interface   = var.site_a_interface
  prefix      = "2001:db8:a::/64"
  dhcp_range  = { start = "2001:db8:a::1000", end = "2001:db8:a::1fff" }
  dns_servers = ["2001:db8:a::53"]
}

module "site_b" {
  source    = "../modules/boot-site"
  providers = { netboot = netboot.site_b }

  name        = "site-b"
  interface   = var.site_b_interface
  prefix      = "2001:db8:b::/64"
  dhcp_range  = { start = "2001:db8:b::1000", end = "2001:db8:b::1fff" }
  dns_servers = ["2001:db8:b::53"]
  ipxe_script = <<-EOT
    echo Site B: chaining to the installer
    chain --autofree http://[2001:db8:b::10]/install.ipxe
  EOT
}

output "boot_url_base" {
  description = "Each site's HTTP base URL of its boot files."
  value = {
    site_a = module.site_a.boot_url_base
    site_b = module.site_b.boot_url_base
  }
}

output "link_local_address" {
  description = "Each site's link-local address, the source of its Router Advertisements."
  value = {
    site_a = module.site_a.link_local_address
    site_b = module.site_b.link_local_address
  }
}
