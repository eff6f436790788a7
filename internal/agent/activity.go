package agent

import (
	"io/fs"
	"net/netip"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/dhcp6"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/machineconfig"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// Protocols a site serves files over, as FileFetch.protocol names them.
const (
	protocolTFTP = "tftp"
	protocolHTTP = "http"
)

// servedFiles is what one of a site's file servers (TFTP or HTTP) serves:
// the boot server's scripts, machines' configs and the artifacts, each
// request attributed to a machine by its source address (attribute), so
// that a machine's own menu and configs go to that machine only, and
// what each machine fetched is noted.
type servedFiles struct {
	site *site
	// bootServer is the site's name and protocol "tftp" or "http", for
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

// attribution is what a site attributes request addresses with, swapped
// whole when its DHCPv6 server or configuration changes, since requests
// read it while the service changes the site.
type attribution struct {
	dhcp   *dhcp6.Server
	onLink []netip.Prefix
	shared sharedLeases // nil unless leases are in a shared database
}

// sharedLeases is a lease database other agents write to as well
// (pglease.Leases): a lease a peer granted is looked up there.
type sharedLeases interface {
	LeaseAt(netip.Addr) (lease.Lease, bool, error)
	Err() error
}

// leaseAt is the live address lease of a: this agent's DHCPv6 server
// first, then the shared database when it is reachable.
func (a *attribution) leaseAt(addr netip.Addr) (lease.Lease, bool) {
	if a.dhcp != nil {
		if l, ok := a.dhcp.LeaseAt(addr); ok {
			return l, true
		}
	}
	if a.shared != nil && a.shared.Err() == nil {
		if l, ok, err := a.shared.LeaseAt(addr); err == nil && ok {
			return l, true
		}
	}
	return lease.Lease{}, false
}

// publishAttribution makes the site's current DHCPv6 server and links
// what requests are attributed with; s.mu of the core is held.
func (s *site) publishAttribution() {
	a := &attribution{dhcp: s.dhcp, onLink: []netip.Prefix{s.cfg.Prefix}}
	for _, rl := range s.cfg.DHCPv6.RelayedLinks {
		a.onLink = append(a.onLink, rl.Prefix)
	}
	a.shared, _ = s.leases.(sharedLeases)
	s.attribution.Store(a)
}

// requester attributes a request from addr to one of the agent's
// machines (attribute).
func (s *site) requester(addr netip.Addr) config.Requester {
	a := s.attribution.Load()
	if a == nil || s.machines == nil {
		return attribute(addr, nil, nil, nil)
	}
	return attribute(addr, s.machines(), a.leaseAt, a.onLink)
}

// machineActivity is, per machine, the last boot file and the last config
// served to it. It is kept in memory only: a restarted agent starts empty.
type machineActivity struct {
	now func() time.Time

	mu   sync.Mutex
	last map[string]*lastFetches
}

type lastFetches struct{ bootFile, config *netbootv1.FileFetch }

func newMachineActivity() *machineActivity {
	return &machineActivity{now: time.Now, last: map[string]*lastFetches{}}
}

// note records that boot server bootServer served name over protocol to
// machine from address: a config (below machineconfig.PathPrefix) as its
// file name, any other file as its path.
func (a *machineActivity) note(machine, bootServer, protocol, name string, address netip.Addr) {
	fetch := &netbootv1.FileFetch{BootServer: bootServer, Protocol: protocol, File: name,
		Address: address.String(), TimeUnix: a.now().Unix()}
	isConfig := strings.HasPrefix(name, machineconfig.PathPrefix)
	if isConfig {
		fetch.File = path.Base(name)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.last[machine]
	if l == nil {
		l = &lastFetches{}
		a.last[machine] = l
	}
	if isConfig {
		l.config = fetch
	} else {
		l.bootFile = fetch
	}
}

// fill sets pb's last fetches.
func (a *machineActivity) fill(pb *netbootv1.Machine) *netbootv1.Machine {
	a.mu.Lock()
	defer a.mu.Unlock()
	if l := a.last[pb.GetName()]; l != nil {
		pb.LastBootFile, pb.LastConfig = l.bootFile, l.config
	}
	return pb
}

// forget drops a deleted machine's record, so a machine made later under
// its name starts with none.
func (a *machineActivity) forget(machine string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.last, machine)
}
