# Stateful DHCPv6: iPXE and UEFI firmware get an address from the range and
# their DNS settings; the RA's M and O flags follow dhcpv6.mode.
resource "netboot_ipv6_boot_server" "lab" {
  name      = "lab"
  interface = "eth1"
  prefix    = "2001:db8:1::/64"

  router_advertisement = {
    rdnss = ["2001:db8:1::53"]
    dnssl = ["lab.example"]
  }

  dhcpv6 = {
    mode          = "stateful"
    ranges        = [{ start = "2001:db8:1::1000", end = "2001:db8:1::1fff" }]
    dns_servers   = ["2001:db8:1::53"]
    domain_search = ["lab.example"]
    preference    = 255
  }
}

# Custom boot rules: among the rules whose match attributes all match the
# client, the most specific decides its boot file (option 59): user_class
# counts 16, duids or macs 8, labels 4; between equals, the first listed.
# Firmware gets an iPXE build for its architecture (option 61; HCL has no hex
# literals, so 0x07 is written 7), iPXE itself gets its script over HTTP, and
# UEFI HTTP boot clients get a URL. The files are netboot_artifact paths.
resource "netboot_ipv6_boot_server" "rack" {
  name      = "rack"
  interface = "eth3"
  prefix    = "2001:db8:3::/64"

  dhcpv6 = {
    ranges = [{ start = "2001:db8:3::1000", end = "2001:db8:3::1fff" }]
  }

  boot = {
    http_port      = 8080
    server_address = "2001:db8:3::1"
    rules = [
      # One machine's iPXE, by MAC address, gets a rescue script instead of
      # its menu (duids = [...] singles out hosts by DUID the same way).
      { macs = ["52:54:00:12:34:56"], user_class = "iPXE", file = "rescue.ipxe", via = "http" },
      # iPXE announces itself with user class "iPXE": hand it its script.
      { user_class = "iPXE", file = "start.ipxe", via = "http" },
      # 0x00: x86 BIOS.
      { arch = [0], file = "undionly.kpxe", via = "tftp" },
      # 0x07, 0x09: x64 UEFI. snponly.efi drives the NIC through UEFI's own driver.
      { arch = [7, 9], file = "snponly.efi", via = "tftp" },
      # 0x10: x64 UEFI HTTP boot, which sends vendor class "HTTPClient" and
      # must get an http URL.
      { arch = [16], vendor_class = "HTTPClient", url = "http://[2001:db8:3::1]:8080/ipxe.efi" },
      # x64 UEFI firmware of the netboot_machines labelled role = "installer"
      # gets another iPXE build (score 4 beats the arch rule's 0).
      { labels = { role = "installer" }, arch = [7, 9], file = "installer/snponly.efi", via = "tftp" },
      # 0x0b: ARM64 UEFI.
      { arch = [11], file = "ipxe-arm64.efi", via = "tftp" },
    ]
  }
}

# Stateful DHCPv6 beyond IA_NA, as dhcpd6.conf's range6 ... temporary and
# prefix6 say it: privacy (temporary) addresses by IA_TA from their own
# range, and a /64 per requesting router by IA_PD, from 256 /64s outside the
# link's prefix. Rapid Commit answers a Solicit at once, a long info refresh
# time spares clients needless Information-Requests, and preference 255
# makes clients take this server without waiting for others.
resource "netboot_ipv6_boot_server" "edge" {
  name      = "edge"
  interface = "eth4"
  prefix    = "2001:db8:4::/64"

  dhcpv6 = {
    mode             = "stateful"
    ranges           = [{ start = "2001:db8:4::1000", end = "2001:db8:4::1fff" }]
    temporary_ranges = [{ start = "2001:db8:4::8000:0", end = "2001:db8:4::8000:ffff" }]
    prefix_delegation = {
      start  = "2001:db8:4:100::"
      end    = "2001:db8:4:1ff::"
      length = 64
    }
    dns_servers        = ["2001:db8:4::53"]
    preference         = 255
    rapid_commit       = true
    info_refresh_time  = 21600
    renew_time         = 1800
    rebind_time        = 2880
    preferred_lifetime = 3600
    valid_lifetime     = 7200
  }
}

# Stateless: addresses by SLAAC, DNS options by DHCPv6 Information-Request
# (the RA's O flag on, M off), asked again every 6 hours (option 32).
resource "netboot_ipv6_boot_server" "office" {
  name      = "office"
  interface = "eth2"
  prefix    = "2001:db8:2::/64"

  dhcpv6 = {
    mode              = "stateless"
    dns_servers       = ["2001:db8:2::53"]
    domain_search     = ["office.example"]
    info_refresh_time = 21600
  }
}

output "boot_url_base" {
  value = netboot_ipv6_boot_server.lab.boot_url_base
}

output "tftp_url_base" {
  value = netboot_ipv6_boot_server.lab.tftp_url_base
}
