package agent

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/link"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/paths"
)

// Offline runs the agent's core (store, artifacts, menus, the gRPC service)
// without looking up a host interface or binding any protocol server: a
// boot server is validated, stored and reported, but nothing answers on a
// link. The provider's tests run it as an ordinary user.
type Offline struct {
	// Links are the interfaces the agent takes the host to have, by name;
	// any other name is a missing interface.
	Links map[string]OfflineLink
}

// OfflineLink is an interface as an offline agent sees it.
type OfflineLink struct {
	LinkLocal netip.Addr
	// Global are its permanent global addresses.
	Global []netip.Addr
}

// errOffline is an offline site's status: it is stored but does not serve.
var errOffline = errors.New("offline: the agent runs without protocol servers, nothing is served on this interface")

// lookup resolves a name against Links, as link.Resolve does against the
// host: a permanent link-local and permanent global addresses.
func (o *Offline) lookup(name string) (link.Interface, error) {
	l, ok := o.Links[name]
	if !ok {
		return link.Interface{}, fmt.Errorf("interface %q does not exist on the agent host (it has: %v); create it or set interface to one of those",
			name, slices.Sorted(maps.Keys(o.Links)))
	}
	ifi := link.Interface{Name: name, MTU: 1500}
	if l.LinkLocal.IsValid() {
		ifi.Addrs = append(ifi.Addrs, link.Addr{Addr: l.LinkLocal, PrefixLen: 64, Permanent: true})
	}
	for _, g := range l.Global {
		ifi.Addrs = append(ifi.Addrs, link.Addr{Addr: g, PrefixLen: 64, Permanent: true})
	}
	return ifi, nil
}

// Start runs Run in the background and returns once the agent's socket
// answers, with a function that stops the agent and returns Run's error.
// It is how tests embed an agent, usually with Options.Offline.
func Start(ctx context.Context, opts Options) (stop func() error, err error) {
	if opts.StateDir, err = paths.ResolveStateDir(opts.StateDir); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, opts) }()
	stop = func() error {
		cancel()
		return <-done
	}
	socket := filepath.Join(opts.StateDir, paths.SocketName)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		select {
		case err := <-done:
			cancel()
			if err == nil {
				err = errors.New("the agent stopped before it was ready")
			}
			return nil, err
		default:
		}
		if conn, derr := net.Dial("unix", socket); derr == nil {
			conn.Close()
			return stop, nil
		} else if time.Now().After(deadline) {
			_ = stop()
			return nil, fmt.Errorf("the agent does not answer on %s: %w", socket, derr)
		}
	}
}
