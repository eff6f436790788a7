package agent

import (
	"io/fs"
	"net/netip"

	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
)

// Protocols a site serves files over, as FileFetch.protocol names them.
const (
	protocolTFTP  = "tftp"
	protocolHTTP  = "http"
	protocolHTTPS = "https"
)

// servedFiles is what one of a site's file servers (TFTP, HTTP or HTTPS) serves:
// the boot server's scripts, machines' configs and the artifacts, each
// request attributed to a machine by its source address (attribute), so
// that a machine's own menu and configs go to that machine only, and
// what each machine fetched is noted.
type servedFiles struct {
	site *site
	// bootServer is the site's name and protocol "tftp", "http" or "https", for
	// what is noted.
	bootServer, protocol string
}

// Open opens name for a request from no machine.
func (f servedFiles) Open(name string) (fs.File, error) { return f.OpenFrom(netip.Addr{}, name) }

// OpenFrom opens name for a request from client.
func (f servedFiles) OpenFrom(client netip.Addr, name string) (fs.File, error) {
	s := f.site
	from := s.requester(client)
	file, refused, err := s.scripts.OpenFor(from, name)
	if refused != "" {
		s.logger.Warn("a host script's path names a machine the request does not come from; served the script of an unknown host",
			eventkind.Script.Attr(), "claimed_machine", refused, "client", from.Address, "client_machine", from.Machine,
			"protocol", f.protocol, "file", name)
	}
	s.chain.opened(name, err)
	if err == nil && from.Machine != "" && s.activity != nil {
		s.activity.note(from.Machine, f.bootServer, f.protocol, name, from.Address)
	}
	return file, err
}
