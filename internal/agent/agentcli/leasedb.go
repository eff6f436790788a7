package agentcli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// printLeaseDatabase is the section of agent status on the shared lease
// database (agent --lease-db): whether it is reachable, and every agent
// recorded in it with whether it holds the same configuration and
// artifacts as the one asked.
func printLeaseDatabase(w io.Writer, db *netbootv1.LeaseDatabase) error {
	if db == nil {
		return nil
	}
	state := "reachable"
	if !db.GetReachable() {
		state = "UNREACHABLE, granting no new leases: " + db.GetError()
	}
	fmt.Fprintf(w, "\nLEASE DATABASE (PostgreSQL): %s\n", state)
	if len(db.GetAgents()) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AGENT\tHOST\tLISTEN\tLAST SEEN\tBOOT SERVERS\tCONFIGURATION\tARTIFACTS")
	for _, a := range db.GetAgents() {
		name := a.GetName()
		if a.GetThis() {
			name += " (this)"
		}
		seen := (time.Duration(a.GetSeenSecondsAgo()) * time.Second).String() + " ago"
		if !a.GetLive() {
			seen += ", not running"
		}
		listen := a.GetListen()
		if listen == "" {
			listen = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d, %s\n", name, a.GetHost(), listen, seen, strings.Join(a.GetBootServers(), " "),
			same(a.GetSameConfig(), a.GetConfigDigest()), a.GetArtifacts(), same(a.GetSameArtifacts(), a.GetArtifactsDigest()))
	}
	return tw.Flush()
}

// same says whether a digest matches the asked agent's, and shows its
// start so that three agents' can be told apart.
func same(equal bool, digest string) string {
	word := "differs"
	if equal {
		word = "same"
	}
	return fmt.Sprintf("%s (%.8s)", word, digest)
}
