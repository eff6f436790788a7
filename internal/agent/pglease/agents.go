package pglease

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Inventory is what an agent tells the others sharing the database about
// itself, so that the status of any of them shows them all and whether
// they hold the same configuration and artifacts.
type Inventory struct {
	Host, Version string
	// Listen is the agent's --listen address, "" without one.
	Listen  string
	Started time.Time
	// BootServers are the names of the boot servers it serves.
	BootServers []string
	// ConfigDigest and ArtifactsDigest are digests of its configuration
	// and of its artifacts, equal on agents that hold the same;
	// Artifacts counts the artifacts.
	ConfigDigest, ArtifactsDigest string
	Artifacts                     int
}

// Peer is one agent recorded in netboot_agents.
type Peer struct {
	// Name is the agent's name in written_by.
	Name string
	Inventory
	// SeenAgo is how long ago, by the database's clock, the agent last
	// reported; Live is whether that is recent enough to be running.
	SeenAgo time.Duration
	Live    bool
}

// liveWithin is how recent a report makes an agent live: a few missed
// reports, as an agent reports at every ping.
const liveWithin = 5 * pingInterval

// Report makes the agent report inv() at every ping, and once now. inv
// runs with no lock of db held, so it may take the caller's own locks, but
// Report must not be called holding one that inv takes.
func (db *DB) Report(inv func() Inventory) {
	db.mu.Lock()
	db.inventory = inv
	db.mu.Unlock()
	db.heartbeat()
}

// Name is the agent's name in written_by and netboot_agents.
func (db *DB) Name() string { return db.writer }

// heartbeat records the agent's inventory, or pings the database when
// there is none to record yet: either way Err learns whether it answers.
func (db *DB) heartbeat() {
	db.mu.Lock()
	inv, gen := db.inventory, db.forgets
	db.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if inv == nil {
		db.note(db.pool.Ping(ctx))
		return
	}
	in := inv()
	db.reportMu.Lock()
	defer db.reportMu.Unlock()
	db.mu.Lock()
	stale := db.forgets != gen
	db.mu.Unlock()
	if stale {
		// A boot server was forgotten since inv ran: its list may still
		// name it. The next heartbeat reports afresh.
		db.note(db.pool.Ping(ctx))
		return
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO netboot_agents AS a (name, host, version, listen, started_at, seen_at,
			boot_servers, config_digest, artifacts_digest, artifacts)
		VALUES ($1, $2, $3, $4, $5, now(), $6, $7, $8, $9)
		ON CONFLICT (name) DO UPDATE SET host = EXCLUDED.host, version = EXCLUDED.version, listen = EXCLUDED.listen,
			started_at = EXCLUDED.started_at, seen_at = now(), boot_servers = EXCLUDED.boot_servers,
			config_digest = EXCLUDED.config_digest, artifacts_digest = EXCLUDED.artifacts_digest, artifacts = EXCLUDED.artifacts`,
		db.writer, in.Host, in.Version, in.Listen, in.Started, nonNil(in.BootServers), in.ConfigDigest, in.ArtifactsDigest, in.Artifacts)
	if err != nil {
		err = fmt.Errorf("reporting this agent in netboot_agents: %w", err)
	}
	db.note(err)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Peers lists the agents recorded in netboot_agents, this one included,
// by name.
func (db *DB) Peers(ctx context.Context) ([]Peer, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	rows, err := db.pool.Query(ctx, `SELECT name, host, version, listen, started_at, boot_servers, config_digest, artifacts_digest,
			artifacts, extract(epoch FROM now() - seen_at)::float8
		FROM netboot_agents ORDER BY name`)
	if err != nil {
		return nil, db.note(fmt.Errorf("reading netboot_agents: %w", err))
	}
	peers, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Peer, error) {
		var p Peer
		var ago float64
		err := r.Scan(&p.Name, &p.Host, &p.Version, &p.Listen, &p.Started, &p.BootServers, &p.ConfigDigest, &p.ArtifactsDigest,
			&p.Artifacts, &ago)
		p.SeenAgo = time.Duration(ago * float64(time.Second))
		p.Live = p.SeenAgo < liveWithin
		return p, err
	})
	if err != nil {
		return nil, db.note(fmt.Errorf("reading netboot_agents: %w", err))
	}
	return peers, db.note(nil)
}

// ForgetBootServer records that this agent no longer serves bootServer
// and, when no other agent in netboot_agents does either, deletes the
// boot server's leases, whichever agent wrote them. While another agent
// serves it they stay: its clients keep their addresses there at their
// next Rebind. It returns how many leases it deleted, and how many other
// agents serve the boot server.
func (db *DB) ForgetBootServer(bootServer string) (deleted int64, others int, err error) {
	db.reportMu.Lock()
	defer db.reportMu.Unlock()
	db.mu.Lock()
	db.forgets++
	db.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// Two agents forgetting one boot server at once: the second sees
		// the first's change, so one of them deletes the leases.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, int32(forgetLock), bootServer); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE netboot_agents SET boot_servers = array_remove(boot_servers, $2) WHERE name = $1`,
			db.writer, bootServer); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM netboot_agents WHERE $1 = ANY(boot_servers)`, bootServer).Scan(&others); err != nil {
			return err
		}
		if others > 0 {
			return nil
		}
		tag, err := tx.Exec(ctx, `DELETE FROM netboot_leases WHERE boot_server = $1`, bootServer)
		deleted = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, 0, db.note(fmt.Errorf("forgetting boot server %q: %w", bootServer, err))
	}
	return deleted, others, db.note(nil)
}

// forgetLock is the first key of the advisory locks that serialize
// ForgetBootServer per boot server.
const forgetLock = 0x6e62 // "nb"
