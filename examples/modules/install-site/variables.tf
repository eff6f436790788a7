variable "name" {
  description = "Name of the site's boot server. Its artifacts live under <name>/ and its entries and menus are named <name>-..., so two sites can share one agent."
  type        = string

  validation {
    # Agent names are at most 63 characters; "-linux-install" is appended to one.
    condition     = can(regex("^[a-z0-9][a-z0-9_-]{0,48}$", var.name))
    error_message = "name must be 1-49 lowercase letters, digits, '-' or '_', starting with a letter or digit."
  }
}

variable "interface" {
  description = "Interface on the agent host that faces the machines to boot, e.g. \"eth1\". It needs a global address inside prefix, which goes into the boot URLs unless server_address is set."
  type        = string
}

variable "prefix" {
  description = "The link's IPv6 /64, e.g. \"2001:db8:1::/64\", advertised for SLAAC and leased from."
  type        = string
}

variable "ranges" {
  description = "Inclusive IA_NA address ranges DHCPv6 leases from, inside prefix. Null leases <prefix>::1000 to <prefix>::1fff."
  type = list(object({
    start = string
    end   = string
  }))
  default = null
}

variable "dns_servers" {
  description = "DNS servers, announced in Router Advertisements (RDNSS) and by DHCPv6 (option 23)."
  type        = list(string)
  default     = []
}

variable "domain_search" {
  description = "DNS search list, announced in Router Advertisements (DNSSL) and by DHCPv6 (option 24)."
  type        = list(string)
  default     = []
}

variable "dhcpv6_preference" {
  description = "DHCPv6 server preference (0-255): 255 makes clients take this server's Advertise at once instead of waiting for others."
  type        = number
  default     = 255
}

variable "server_address" {
  description = "Address put in the boot URLs (option 59, kernel and initrd URLs). Null lets the agent use the interface's first permanent global address inside prefix."
  type        = string
  default     = null
}

variable "http_port" {
  description = "TCP port of the boot server's HTTP server, which serves start.ipxe, the menus and the installer's kernels and initrds."
  type        = number
  default     = 80
}

variable "ipxe" {
  description = <<-EOT
    Where the iPXE builds that firmware loads over TFTP come from: bios
    (undionly.kpxe, for legacy BIOS PXE) and efi (ipxe.efi, for x64 UEFI).
    Each sets exactly one of agent_path (a file on the agent host), source (a
    file next to Terraform, uploaded) or url (downloaded by the agent; set
    sha256 too). The default is Debian's ipxe package on the agent host.
  EOT
  type = object({
    bios = object({
      agent_path = optional(string)
      source     = optional(string)
      url        = optional(string)
      sha256     = optional(string)
    })
    efi = object({
      agent_path = optional(string)
      source     = optional(string)
      url        = optional(string)
      sha256     = optional(string)
    })
  })
  default = {
    bios = { agent_path = "/usr/lib/ipxe/undionly.kpxe" }
    efi  = { agent_path = "/usr/lib/ipxe/ipxe.efi" }
  }

  validation {
    condition = alltrue([for a in [var.ipxe.bios, var.ipxe.efi] :
    length([for s in [a.agent_path, a.source, a.url] : s if s != null]) == 1])
    error_message = "ipxe.bios and ipxe.efi must each set exactly one of agent_path, source or url."
  }
}

variable "installer" {
  description = <<-EOT
    The RHEL-style installer (CentOS Stream, Rocky, Alma, RHEL) in the
    "Linux Install" submenu, one entry that branches on iPXE's $${platform}:
    efi boots the UEFI kernel and initrd, pcbios the legacy ones, each with
    its own kernel arguments. kernel and initrd are served by this site as
    artifacts under <name>/<entry>/efi/ and <name>/<entry>/pcbios/, from
    exactly one of agent_path, source or url each (as in ipxe). args is the
    kernel command line, a template where {{ .HTTPBase }} is the boot
    server's HTTP URL, e.g. "inst.repo=http://[2001:db8:1::10]/centos/9 ip=dhcp6".
  EOT
  type = object({
    entry = optional(string, "centos")
    title = optional(string, "CentOS Stream 9 installer")
    efi = object({
      kernel = object({
        agent_path = optional(string)
        source     = optional(string)
        url        = optional(string)
        sha256     = optional(string)
      })
      initrd = object({
        agent_path = optional(string)
        source     = optional(string)
        url        = optional(string)
        sha256     = optional(string)
      })
      args = string
    })
    pcbios = object({
      kernel = object({
        agent_path = optional(string)
        source     = optional(string)
        url        = optional(string)
        sha256     = optional(string)
      })
      initrd = object({
        agent_path = optional(string)
        source     = optional(string)
        url        = optional(string)
        sha256     = optional(string)
      })
      args = string
    })
  })

  validation {
    condition = alltrue([for a in [var.installer.efi.kernel, var.installer.efi.initrd, var.installer.pcbios.kernel, var.installer.pcbios.initrd] :
    length([for s in [a.agent_path, a.source, a.url] : s if s != null]) == 1])
    error_message = "installer.efi and installer.pcbios: kernel and initrd must each set exactly one of agent_path, source or url."
  }

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]{0,12}$", var.installer.entry))
    error_message = "installer.entry must be 1-13 lowercase letters, digits, '-' or '_', starting with a letter or digit."
  }
}

variable "menu_timeout" {
  description = "Seconds the main menu waits before booting the local disk; 0 waits forever."
  type        = number
  default     = 10
}

variable "extra_install_entries" {
  description = "Names of more netboot_boot_entry resources to list in the \"Linux Install\" submenu after the installer, e.g. [netboot_boot_entry.debian.name]."
  type        = list(string)
  default     = []
}
