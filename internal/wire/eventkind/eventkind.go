// Package eventkind names what the agent's log records are about: the kinds
// `agent logs --kind` and the WatchEvents RPC select events by.
//
// A record says its kind in its Key attribute, added where it is logged
// (or once on a logger whose records all share one), so rewording a
// message never changes which events it belongs to.
package eventkind

import (
	"fmt"
	"log/slog"
	"strings"
)

// Key is the log attribute that carries a record's kind.
const Key = "event"

// Kind is what a log record is about. Its value is the name users type
// after --kind, so a kind is never renamed.
type Kind string

// The kinds, in the order help texts list them.
const (
	Lease        Kind = "lease"
	BootFile     Kind = "boot_file"
	DHCPv6       Kind = "dhcpv6"
	RA           Kind = "ra"
	TFTP         Kind = "tftp"
	HTTP         Kind = "http"
	Script       Kind = "script"
	BootChain    Kind = "boot_chain"
	Artifact     Kind = "artifact"
	NFSRootImage Kind = "nfs_root_image"
	NFS          Kind = "nfs"
	DNS          Kind = "dns"
	Config       Kind = "config"
	Control      Kind = "control"
	Agent        Kind = "agent"
)

// about says, for people, which records each kind holds.
var about = []struct {
	kind  Kind
	about string
}{
	{Lease, "DHCPv6 leases granted, renewed, released, declined or refused, and leasequery"},
	{BootFile, "which boot-file URL (DHCPv6 option 59) a client was given, and why"},
	{DHCPv6, "the DHCPv6 server otherwise: start, configuration, dropped messages, rate limits, other DHCPv6 servers on the link"},
	{RA, "Router Advertisements: start, the final one, other routers on the link"},
	{TFTP, "the TFTP server: transfers and refusals"},
	{HTTP, "the HTTP server: requests for files, for scripts it could not render and for machines' config files it refused (403) or lacks (404)"},
	{Script, "HTTP requests answered with a file the agent rendered (start.ipxe, grub/grub.cfg, a host's menu, a machine's config file)"},
	{BootChain, "a file a boot loader's chain asks for is missing (shim's grubx64.efi, GRUB's grub.cfg), with the likely cause"},
	{Artifact, "artifacts stored, deleted and downloaded (with progress)"},
	{NFSRootImage, "NFS root image builds (with their phases), exports and deletions"},
	{NFS, "the NFS server: mounts, refusals, exports"},
	{DNS, "the DNS server that answers NFS roots' and machines' host names"},
	{Config, "boot servers, boot entries, boot menus, machines and machine configs saved or deleted"},
	{Control, "changes with their caller, and refused TLS handshakes on --listen"},
	{Agent, "the agent itself (start, stop, failures), and any record that names no other kind"},
}

// All returns every kind, in the order help texts list them.
func All() []Kind {
	out := make([]Kind, len(about))
	for i, a := range about {
		out[i] = a.kind
	}
	return out
}

// List is every kind's name, comma-separated, for help texts.
func List() string {
	names := make([]string, len(about))
	for i, a := range about {
		names[i] = string(a.kind)
	}
	return strings.Join(names, ", ")
}

// Parse returns the kind named s, or an error listing the kinds.
func Parse(s string) (Kind, error) {
	if k := Kind(s); k.About() != "" {
		return k, nil
	}
	return "", fmt.Errorf("%q is not an event kind (kinds: %s)", s, List())
}

// About says which records kind k holds; "" for a kind not in All.
func (k Kind) About() string {
	for _, a := range about {
		if a.kind == k {
			return a.about
		}
	}
	return ""
}

// Attr is the attribute that gives a log record kind k.
func (k Kind) Attr() slog.Attr { return slog.String(Key, string(k)) }
