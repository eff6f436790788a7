package agentcli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// printRelayedLinks is the section of agent status on links behind DHCPv6
// relays: per link, the leases it holds and the relays heard from it. A
// link no relay was heard from says so, since its clients then get no
// answer (a relay not running, or sending another link-address).
func printRelayedLinks(w io.Writer, servers []*netbootv1.BootServerState) error {
	n := 0
	for _, s := range servers {
		n += len(s.GetStatus().GetRelayedLinks())
	}
	if n == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nRELAYED LINKS (%d)\n", n)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BOOT SERVER\tLINK\tPREFIX\tLEASES\tRELAYS")
	for _, s := range servers {
		for _, l := range s.GetStatus().GetRelayedLinks() {
			relays := strings.Join(l.GetRelayAddresses(), " ")
			if relays == "" {
				relays = "none heard"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", s.GetConfig().GetName(), l.GetName(), l.GetPrefix(), l.GetActiveLeases(), relays)
		}
	}
	return tw.Flush()
}
