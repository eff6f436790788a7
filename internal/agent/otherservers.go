package agent

import (
	"context"
	"encoding/hex"
	"errors"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/dhcp6probe"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/otherserver"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// ProbeOtherServers probes one boot server's link now and returns its state
// once the answers had time to arrive.
func (s *core) ProbeOtherServers(ctx context.Context, req *netbootv1.ProbeOtherServersRequest) (*netbootv1.BootServerState, error) {
	name := req.GetBootServer()
	s.mu.Lock()
	st, ok := s.sites[name]
	var p *dhcp6probe.Prober
	if ok {
		p = st.probe
	}
	s.mu.Unlock()
	if !ok {
		return nil, notFound("boot server %q does not exist on this agent", name)
	}
	if p == nil {
		return nil, failedPrecondition(
			"boot server %q does not probe for other DHCPv6 servers: the agent runs with --dhcpv6-probe-interval 0, or the boot server is not serving (see agent status and agent.log)", name)
	}
	switch err := p.Probe(ctx); {
	case errors.Is(err, dhcp6probe.ErrStopped):
		return nil, unavailable("boot server %q stopped or changed while probing; try again", name)
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		return nil, failedPrecondition("probing the link of boot server %q: %v", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok = s.sites[name]; !ok {
		return nil, notFound("boot server %q does not exist on this agent", name)
	}
	return s.state(st), nil
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
