package agentcli

import (
	"bytes"
	"strings"
	"testing"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

func TestPrintLeaseDatabase(t *testing.T) {
	var none bytes.Buffer
	if err := printLeaseDatabase(&none, nil); err != nil || none.Len() != 0 {
		t.Errorf("printed %q (%v) without a lease database", none.String(), err)
	}
	for _, c := range []struct {
		name string
		db   *netbootv1.LeaseDatabase
		want []string
	}{
		{"two agents, one down and different", &netbootv1.LeaseDatabase{Reachable: true, Agent: "a/1", Agents: []*netbootv1.LeaseDatabaseAgent{
			{Name: "a/1", Host: "a", Listen: "[::]:7447", SeenSecondsAgo: 1, Live: true, This: true, BootServers: []string{"site", "lab"},
				ConfigDigest: "0123456789ab", ArtifactsDigest: "abcdef0123", Artifacts: 3, SameConfig: true, SameArtifacts: true},
			{Name: "b/2", Host: "b", SeenSecondsAgo: 125, BootServers: []string{"site"},
				ConfigDigest: "fedcba987654", ArtifactsDigest: "abcdef0123", Artifacts: 3, SameArtifacts: true},
		}}, []string{
			"LEASE DATABASE (PostgreSQL): reachable",
			"AGENT       HOST  LISTEN     LAST SEEN              BOOT SERVERS  CONFIGURATION       ARTIFACTS",
			"a/1 (this)  a     [::]:7447  1s ago                 site lab      same (01234567)     3, same (abcdef01)",
			"b/2         b     -          2m5s ago, not running  site          differs (fedcba98)  3, same (abcdef01)",
		}},
		{"unreachable", &netbootv1.LeaseDatabase{Error: "dial unix: no such file"}, []string{
			"LEASE DATABASE (PostgreSQL): UNREACHABLE, granting no new leases: dial unix: no such file",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := printLeaseDatabase(&out, c.db); err != nil {
				t.Fatal(err)
			}
			for _, want := range c.want {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}
