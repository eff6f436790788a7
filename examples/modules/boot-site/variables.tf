variable "name" {
  description = "Name of the site's boot server; its boot menu and entries are named after it."
  type        = string

  validation {
    # The agent's names are at most 63 characters; "-exit" is appended to one.
    condition     = can(regex("^[a-z0-9][a-z0-9_-]{0,57}$", var.name))
    error_message = "name must be 1-58 lowercase letters, digits, '-' or '_', starting with a letter or digit."
  }
}

variable "interface" {
  description = "Interface on the agent host that faces the machines to boot, e.g. \"eth1\"."
  type        = string
}

variable "prefix" {
  description = "The link's /64, e.g. \"2001:db8:1::/64\"; the interface should have an address inside it."
  type        = string
}

variable "dhcp_range" {
  description = "The addresses DHCPv6 leases, inside prefix: first (start) and last (end)."
  type        = object({ start = string, end = string })
}

variable "dns_servers" {
  description = "DNS servers announced in Router Advertisements (RDNSS) and by DHCPv6."
  type        = list(string)
  default     = []
}

variable "ipxe_script" {
  description = <<-EOT
    iPXE commands offered as the first item of the site's boot menu, e.g. a
    chain to an installer; the host returns to the menu after the last one.
    Leave null for a menu that only boots the local disk.
  EOT
  type        = string
  default     = null
}
