package benchlab

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// newPostgreSQLBench compares the agent and Kea with their leases in
// PostgreSQL (one server started for the section, a new database for
// every run), and the agent on bbolt.
func newPostgreSQLBench(runs int, rates []int) *dhcpv6Bench {
	var pg *testlab.PostgreSQL
	var databases atomic.Int64
	// database creates the next run's empty database.
	database := func() (name, url string, err error) {
		name = fmt.Sprintf("bench_%d", databases.Add(1))
		url, err = pg.CreateDatabase(name)
		return name, url, err
	}
	agentOnPG := agentServer("agent-postgresql", "agent --lease-db (PostgreSQL)", func(*testing.T) ([]string, error) {
		_, url, err := database()
		return []string{"--lease-db", url}, err
	})
	// keaOnPG is Kea on its own new database, with threads as peerParams.MultiThreading.
	keaOnPG := func(key, label string, threads int) dhcpServer {
		return dhcpServer{key: key, label: label, needs: []string{"kea-dhcp6", "kea-admin"},
			start: func(t *testing.T, lab *testlab.Lab, dir string, relayed []relayedSubnet) (*daemon, error) {
				name, _, err := database()
				if err != nil {
					return nil, err
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if out, err := lab.Exec(ctx, lab.ServerNS, "kea-admin", "db-init", "pgsql", "-h", pg.SocketDir(), "-u", "postgres", "-n", name); err != nil {
					return nil, fmt.Errorf("kea-admin db-init pgsql: %v: %s", err, brief(out))
				}
				return startKea(t, lab, dir, peerParams{PgHost: pg.SocketDir(), PgName: name, PgUser: "postgres",
					MultiThreading: threads, Relayed: relayed})
			}}
	}
	return newDHCPBench(&dhcpv6Bench{
		key:   "DHCPv6-PostgreSQL",
		title: "DHCPv6 with the leases in PostgreSQL (perfdhcp)",
		servers: []dhcpServer{agentOnPG, keaOnPG("kea-postgresql", "Kea 2.2 (PostgreSQL)", 0),
			keaOnPG("kea-postgresql-mt", "Kea 2.2 (PostgreSQL, 4 threads)", 4), dhcpAgent},
		prepare: func(t *testing.T) error {
			// Where testlab.StartPostgreSQL looks.
			if found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(found) == 0 && errNotInstalled("initdb") != nil {
				return errors.New("PostgreSQL (initdb) not installed")
			}
			pg = testlab.StartPostgreSQL(t)
			return nil
		},
		intro: []string{
			"**Leases in PostgreSQL.** The first two columns keep every lease in one PostgreSQL 15 server, as two agents " +
				"sharing a site do (`agent --lease-db`, guide \"Two agents, one site\") and as Kea does with " +
				"`lease-database { type: postgresql }` (schema by `kea-admin db-init pgsql`). The server is the test's own " +
				"(`testlab.StartPostgreSQL`: initdb in a temporary directory, unix socket only, `fsync=off`, so the " +
				"database's disk is not what is measured), on the same machine; each run gets a new, empty database. " +
				"The agent commits each batch of leases in one transaction before the batch's Replies leave; Kea writes " +
				"each lease in its own statement before its Reply, one packet at a time as Kea 2.2 does by default, " +
				"and in the third column with its multi-threading on (4 threads, packet queue 64), as Kea's manual " +
				"advises with a database backend. The last column is the agent on its default bbolt " +
				"file, for what the shared database costs. Server CPU counts the DHCPv6 server's process only, not PostgreSQL's.",
		},
	}, runs, rates)
}
