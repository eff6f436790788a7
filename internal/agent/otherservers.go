package agent

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/api/netbootv1"
	"github.com/netbootlab/terraform-provider-netboot/internal/dhcp6probe"
	"github.com/netbootlab/terraform-provider-netboot/internal/otherserver"
)

// ProbeOtherServers probes one boot server's link now and returns its state
// once the answers had time to arrive.
func (s *service) ProbeOtherServers(ctx context.Context, req *netbootv1.ProbeOtherServersRequest) (*netbootv1.BootServerState, error) {
	name := req.GetBootServer()
	s.mu.Lock()
	st, ok := s.sites[name]
	var p *dhcp6probe.Prober
	if ok {
		p = st.probe
	}
	s.mu.Unlock()
	if !ok {
		return nil, status.Errorf(codes.NotFound, "boot server %q does not exist on this agent", name)
	}
	if p == nil {
		return nil, status.Errorf(codes.FailedPrecondition,
			"boot server %q does not probe for other DHCPv6 servers: the agent runs with --dhcpv6-probe-interval 0, or the boot server is not serving (see agent status and agent.log)", name)
	}
	switch err := p.Probe(ctx); {
	case errors.Is(err, dhcp6probe.ErrStopped):
		return nil, status.Errorf(codes.Unavailable, "boot server %q stopped or changed while probing; try again", name)
	case ctx.Err() != nil:
		return nil, status.FromContextError(ctx.Err()).Err()
	case err != nil:
		return nil, status.Errorf(codes.FailedPrecondition, "probing the link of boot server %q: %v", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok = s.sites[name]; !ok {
		return nil, status.Errorf(codes.NotFound, "boot server %q does not exist on this agent", name)
	}
	return s.state(st), nil
}

// probeAll runs ProbeOtherServers on every serving boot server at once,
// for `agent status --probe`; a boot server that cannot be probed is
// reported and skipped.
func probeAll(ctx context.Context, conn *agentclient.Conn, servers []*netbootv1.BootServerState, stderr io.Writer) {
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		if s.GetStatus().GetServing() {
			wg.Go(func() {
				_, errs[i] = conn.ProbeOtherServers(ctx, &netbootv1.ProbeOtherServersRequest{BootServer: s.GetConfig().GetName()})
			})
		}
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			fmt.Fprintf(stderr, "status: probing %s: %s\n", servers[i].GetConfig().GetName(), status.Convert(err).Message())
		}
	}
}

func otherServersToProto(servers []otherserver.Server) []*netbootv1.OtherServer {
	var out []*netbootv1.OtherServer
	for _, o := range servers {
		out = append(out, &netbootv1.OtherServer{
			Protocol:         string(o.Protocol),
			SourceAddress:    o.Source.String(),
			LinkLayerAddress: o.LinkLayerAddress,
			Duid:             hex.EncodeToString(o.DUID),
			Offers:           o.Offers,
			Conflicts:        o.Conflicts,
			FirstSeenUnix:    o.FirstSeen.Unix(),
			LastSeenUnix:     o.LastSeen.Unix(),
			Messages:         o.Messages,
		})
	}
	return out
}

// printOtherServers lists, after the status table, every other router and
// DHCPv6 server heard on a served link, with what it offers and what of
// it contradicts us; nothing when there is none.
func printOtherServers(w io.Writer, servers []*netbootv1.BootServerState) {
	n := 0
	for _, s := range servers {
		n += len(s.GetStatus().GetOtherServers())
	}
	if n == 0 {
		return
	}
	fmt.Fprintf(w, "\nOTHER SERVERS ON SERVED LINKS (%d): clients may take their configuration from them instead\n", n)
	for _, s := range servers {
		for _, o := range s.GetStatus().GetOtherServers() {
			fmt.Fprintf(w, "%s: %s from %s", s.GetConfig().GetName(), o.GetProtocol(), o.GetSourceAddress())
			if mac := o.GetLinkLayerAddress(); mac != "" {
				fmt.Fprintf(w, ", MAC %s", mac)
			}
			if duid := o.GetDuid(); duid != "" {
				fmt.Fprintf(w, ", DUID %s", duid)
			}
			fmt.Fprintf(w, ", messages: %d, last: %s\n", o.GetMessages(), time.Unix(o.GetLastSeenUnix(), 0).Format(time.RFC3339))
			for _, c := range o.GetConflicts() {
				fmt.Fprintf(w, "  conflicts: %s\n", c)
			}
			for _, offer := range o.GetOffers() {
				fmt.Fprintf(w, "  offers:    %s\n", offer)
			}
		}
	}
}
