package nfsroot

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ArgsOptions is where the initramfs finds the root.
type ArgsOptions struct {
	// Interface is the kernel's name of the boot interface (default eth0).
	Interface string
	// Hostname is the NFS server's DNS name (see ValidateNFSRootHost).
	Hostname string
	// ExportPath is the exported root directory, e.g. "/srv/nfs/debian".
	ExportPath string
	// DNSServers resolve Hostname: the kernel ignores RDNSS, so the
	// initramfs learns its resolvers from the kernel arguments.
	DNSServers []netip.Addr
	// ReadWrite mounts the root read-write; it is read-only otherwise.
	ReadWrite bool
	// Console is the kernel console device, e.g. "ttyS0" or
	// "ttyS0,115200n8"; empty adds no console= argument.
	Console string
}

// KernelArgs returns the kernel command line for the initramfs of this
// package, always in the same order:
//
//	ip=:::::IFACE:off ip6=IFACE nfsroot=HOST:PATH nbdns=ADDR[,ADDR] ro|rw [console=CONSOLE]
//
// ip= with autoconf "off" keeps IPv4 off the interface; ip6= names the
// interface /init configures by SLAAC.
func KernelArgs(opts ArgsOptions) (string, error) {
	iface := opts.Interface
	if iface == "" {
		iface = "eth0"
	}
	if err := CheckInterface(iface); err != nil {
		return "", fmt.Errorf("kernel arguments: interface: %w", err)
	}
	if err := ValidateNFSRootHost(opts.Hostname); err != nil {
		return "", fmt.Errorf("kernel arguments: %w", err)
	}
	if err := CheckExportPath(opts.ExportPath); err != nil {
		return "", fmt.Errorf("kernel arguments: export path: %w", err)
	}
	if len(opts.DNSServers) == 0 {
		return "", errors.New("kernel arguments: no DNS servers: the initramfs resolves the nfsroot= host by DNS and the kernel does not take resolvers from router advertisements")
	}
	dns := make([]string, len(opts.DNSServers))
	for i, a := range opts.DNSServers {
		if !a.Is6() || a.Is4In6() || !a.IsGlobalUnicast() || a.Zone() != "" {
			return "", fmt.Errorf("kernel arguments: DNS server %s: want a global or unique local IPv6 address (the boot has no IPv4, and a link-local address needs an interface name)", a)
		}
		dns[i] = a.String()
	}
	args := []string{
		"ip=:::::" + iface + ":off",
		"ip6=" + iface,
		"nfsroot=" + opts.Hostname + ":" + opts.ExportPath,
		"nbdns=" + strings.Join(dns, ","),
	}
	if opts.ReadWrite {
		args = append(args, "rw")
	} else {
		args = append(args, "ro")
	}
	if opts.Console != "" {
		if err := CheckConsole(opts.Console); err != nil {
			return "", fmt.Errorf("kernel arguments: console: %w", err)
		}
		args = append(args, "console="+opts.Console)
	}
	return strings.Join(args, " "), nil
}

// ValidateNFSRootHost checks the host part of nfsroot=HOST:PATH. It must be
// a DNS name: the initramfs (like the kernel's nfsroot= parser and
// initramfs-tools' nfs script) splits nfsroot= at its first colon, so a
// literal IPv6 address, bracketed or not, breaks there (the seed lost hours
// to it); and an IPv4 address cannot be reached on an IPv6-only boot.
func ValidateNFSRootHost(s string) error {
	bare := strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if a, err := netip.ParseAddr(bare); err == nil || strings.Contains(s, ":") {
		if err == nil && a.Is4() {
			return fmt.Errorf("nfsroot host %q is an IPv4 address: the boot is IPv6-only (ip=...:off), so give a DNS name with an AAAA record", s)
		}
		return fmt.Errorf("nfsroot host %q is a literal IPv6 address: nfsroot= is split at its first colon, so mount.nfs in the initramfs gets a broken HOST:PATH; give a DNS name with an AAAA record that the boot server's DNS answers", s)
	}
	return validHostname(s)
}

// validHostname applies RFC 1123 to a DNS name: dot-separated labels of
// 1 to 63 letters, digits and hyphens, not starting or ending with a
// hyphen, 253 bytes at most (one trailing dot allowed), and a last label
// that is not all digits (resolvers read "10.1.2" as an IPv4 address).
func validHostname(s string) error {
	name := strings.TrimSuffix(s, ".")
	if name == "" {
		return errors.New("nfsroot host is empty: give the NFS server's DNS name")
	}
	if len(name) > 253 {
		return fmt.Errorf("nfsroot host %q is longer than 253 bytes", s)
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 {
			return fmt.Errorf("nfsroot host %q: labels must be 1 to 63 characters", s)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("nfsroot host %q: a label may not start or end with a hyphen", s)
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("nfsroot host %q: %q is not allowed in a host name (letters, digits, hyphens and dots)", s, c)
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fmt.Errorf("nfsroot host %q: the last label is all digits, which resolvers take for an IPv4 address", s)
	}
	return nil
}
