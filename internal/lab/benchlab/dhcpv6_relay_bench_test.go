package benchlab

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// newRelayedBench is the DHCPv6 section's servers and rates through one
// relay serving relayedSubnets.
func newRelayedBench(runs int, rates []int) *dhcpv6Bench {
	var links []string
	for _, r := range relayedSubnets {
		links = append(links, fmt.Sprintf("`%s` (pool `%s`)", r.Prefix, r.Pool))
	}
	return newDHCPBench(&dhcpv6Bench{
		key:     "DHCPv6-relayed",
		title:   "DHCPv6 through a relay: 4-way exchanges (perfdhcp -A 1)",
		servers: []dhcpServer{dhcpAgent, dhcpKea, dhcpAgentNoFsync},
		relayed: relayedSubnets,
		intro: []string{
			fmt.Sprintf("**Through a relay.** perfdhcp runs with `-A 1 -J <link-address file> <server address>` added: it is one "+
				"DHCPv6 relay, wrapping each message in a Relay-Forward from its address `%s` on the server's link, naming one "+
				"of two links behind it by link-address (one at random per exchange), %s, and unicasting it to the server, "+
				"which answers with a Relay-Reply. Every server serves the two links as relayed subnets beside the direct one "+
				"(the agent's `dhcpv6.relayed_links`; Kea's `subnet6` entries without an interface, picked by link-address) "+
				"and leases each client from its link's pool, not from the /96 above. The agent's per-relay limit "+
				"(`rate_limit.per_relay_per_second`, %s messages/s by default) is off here with the per-source one, as Kea "+
				"has neither. The servers are those of the section \"DHCPv6: 4-way exchanges\", which says how each "+
				"persists: compare each cell with the same cell there for what relaying costs.",
				testlab.RouterAddr, strings.Join(links, " and "), FormatNumber(float64(config.Defaults.RateLimit.PerRelayPerSecond), 0)),
		},
	}, runs, rates)
}

// relayClient makes perfdhcp's side of lab one relay for the links of
// relayed and returns perfdhcp's flags for it: the relay sends from an
// address of its own on the server's link, names each exchange's link by
// a link-address from a file (-J) and unicasts to the server.
func relayClient(t *testing.T, lab *testlab.Lab, relayed []relayedSubnet) []string {
	lab.MustExec(t, lab.ClientNS, "ip", "-6", "addr", "add", testlab.RouterAddr+"/64", "dev", lab.ClientIf, "nodad")
	var lines []string
	for _, r := range relayed {
		lines = append(lines, netip.MustParsePrefix(r.Prefix).Addr().Next().String())
	}
	list := filepath.Join(t.TempDir(), "link-addresses")
	if err := os.WriteFile(list, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"-A", "1", "-J", list, lab.ServerAddr}
}
