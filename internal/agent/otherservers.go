package agent

import (
	"encoding/hex"
	"fmt"
	"io"
	"time"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/api/netbootv1"
	"github.com/netbootlab/terraform-provider-netboot/internal/otherserver"
)

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
			fmt.Fprintf(w, ", %d messages, last %s\n", o.GetMessages(), time.Unix(o.GetLastSeenUnix(), 0).Format(time.RFC3339))
			for _, c := range o.GetConflicts() {
				fmt.Fprintf(w, "  conflicts: %s\n", c)
			}
			for _, offer := range o.GetOffers() {
				fmt.Fprintf(w, "  offers:    %s\n", offer)
			}
		}
	}
}
