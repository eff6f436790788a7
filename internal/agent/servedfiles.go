package agent

import (
	"io/fs"
	"net/netip"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"

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
		s.warnClaimed(refused, from, f.protocol, name)
	}
	s.chain.opened(name, err)
	if err == nil && from.Machine != "" && s.activity != nil {
		s.activity.note(from.Machine, f.bootServer, f.protocol, name, from.Address)
	}
	return file, err
}

// A host script path naming a machine the request is not from is warned
// about once per claimed machine and source address per
// claimWarnInterval: a scanner walking MAC addresses, or a host retrying,
// must not fill the log. The warnings held back are counted in
// netboot_claimed_machine_warnings_suppressed_total.
const (
	claimWarnInterval = time.Hour
	// maxClaimWarnings bounds the pairs remembered, whatever the number
	// of sources.
	maxClaimWarnings = 4096
)

// warnClaimed warns that a request from `from` named machine claimed in
// the host script path name, and was served an unknown host's script.
func (s *site) warnClaimed(claimed string, from config.Requester, protocol, name string) {
	if !s.claims.due(claimed + " " + from.Address.String()) {
		return
	}
	s.logger.Warn("a host script's path names a machine the request does not come from; served the script of an unknown host",
		eventkind.Script.Attr(), "claimed_machine", claimed, "client", from.Address, "client_machine", from.Machine,
		"protocol", protocol, "file", name)
}
