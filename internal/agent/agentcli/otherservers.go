package agentcli

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

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
