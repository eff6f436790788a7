package agent

import (
	"net/netip"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/machineconfig"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

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
