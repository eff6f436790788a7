// Package pglease stores DHCPv6 leases in PostgreSQL, so that two or more
// agents serving one link share them (agent --lease-db postgres://...).
//
// One row of netboot_leases is one lease; its primary key (boot_server,
// address) is what keeps an address or delegated prefix from being granted
// to two clients: an agent's write of an address whose live row belongs to
// another client (kind, DUID, IAID) stores nothing and fails with a
// lease.ConflictError naming the holder, which the DHCPv6 server learns as
// taken before the client retransmits. Deletes only remove rows this
// agent wrote last, or rows that have expired, so an agent never deletes
// a lease its peer granted since. Times are judged by the database's clock.
//
// One row of netboot_agents is one agent: what it serves and digests of
// its configuration and artifacts, refreshed at every ping, so the status
// of each agent shows its peers; a boot server's leases are deleted when
// the last agent serving it forgets it (ForgetBootServer).
package pglease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
)

// migrations are the schema's versions in order; migration i brings the
// schema to version i+1. A released migration is never edited: changes go
// into a new one.
var migrations = []string{
	`CREATE TABLE netboot_leases (
		boot_server          text        NOT NULL,
		address              inet        NOT NULL,
		kind                 text        NOT NULL CHECK (kind IN ('na', 'ta', 'pd')),
		prefix_length        smallint    NOT NULL DEFAULT 0,
		duid                 bytea       NOT NULL,
		iaid                 bigint      NOT NULL,
		preferred_until      timestamptz NOT NULL,
		valid_until          timestamptz NOT NULL,
		last_transaction     timestamptz,
		client_arch          integer,
		user_class           text        NOT NULL DEFAULT '',
		hardware_addr        text        NOT NULL DEFAULT '',
		hardware_addr_source text        NOT NULL DEFAULT '',
		written_by           text        NOT NULL,
		PRIMARY KEY (boot_server, address)
	);
	CREATE INDEX netboot_leases_client ON netboot_leases (boot_server, kind, duid, iaid)`,
	`CREATE TABLE netboot_agents (
		name             text        PRIMARY KEY,
		host             text        NOT NULL,
		version          text        NOT NULL,
		listen           text        NOT NULL DEFAULT '',
		started_at       timestamptz NOT NULL,
		seen_at          timestamptz NOT NULL,
		boot_servers     text[]      NOT NULL DEFAULT '{}',
		config_digest    text        NOT NULL DEFAULT '',
		artifacts_digest text        NOT NULL DEFAULT '',
		artifacts        integer     NOT NULL DEFAULT 0
	)`,
}

// SchemaVersion is the schema version this agent creates and expects.
var SchemaVersion = len(migrations)

// migrationLock is the advisory lock key that serializes migrations of
// agents starting together.
const migrationLock = 0x6e6574626f6f74 // "netboot"

// opTimeout bounds one database operation: a Reply waits for its commit,
// and a client retransmits after about a second anyway.
const opTimeout = 5 * time.Second

// DB is a connection pool to the lease database, shared by the boot
// servers of one agent.
type DB struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
	// writer names this agent in written_by.
	writer string

	mu     sync.Mutex
	err    error // the last operation's failure, nil once one succeeded
	failed uint64
	// inventory is what heartbeats report (Report); forgets counts
	// ForgetBootServer calls, so a heartbeat whose inventory predates
	// one is not recorded.
	inventory func() Inventory
	forgets   uint64
	// reportMu keeps a heartbeat's write and ForgetBootServer apart.
	reportMu sync.Mutex

	stop chan struct{}
	done chan struct{}
}

// pingInterval is how often the database is pinged (by a heartbeat, see
// Report), so that Err tells whether it is reachable even while no client
// asks for a lease.
const pingInterval = 2 * time.Second

// CheckURL reports whether url is a connection URL or string Open can use,
// without connecting.
func CheckURL(url string) error {
	if _, err := pgxpool.ParseConfig(url); err != nil {
		return fmt.Errorf("lease database URL: %w", err)
	}
	return nil
}

// Open connects to the database at url (a postgres:// URL or key=value
// connection string), then creates or migrates its schema. It fails when
// the database holds a newer schema than this agent knows. writer names
// this agent in written_by, the same across its restarts so that it may
// still delete the rows it wrote before; "" names this process only.
func Open(ctx context.Context, url, writer string, logger *slog.Logger) (*DB, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := CheckURL(url); err != nil {
		return nil, err
	}
	cfg, _ := pgxpool.ParseConfig(url)
	cfg.ConnConfig.ConnectTimeout = opTimeout
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("lease database: %w", err)
	}
	if writer == "" {
		writer = NewWriterID()
	}
	db := &DB{pool: pool, logger: logger, writer: writer,
		stop: make(chan struct{}), done: make(chan struct{})}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	go db.watch()
	return db, nil
}

// NewWriterID is a new name for an agent in written_by: its host name and a
// random part.
func NewWriterID() string {
	host, _ := os.Hostname()
	var id [8]byte
	_, _ = rand.Read(id[:])
	return host + "/" + hex.EncodeToString(id[:])
}

// Close closes the connections.
func (db *DB) Close() {
	close(db.stop)
	<-db.done
	db.pool.Close()
}

// watch sends heartbeats until Close.
func (db *DB) watch() {
	defer close(db.done)
	tick := time.NewTicker(pingInterval)
	defer tick.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-tick.C:
		}
		db.heartbeat()
	}
}

// migrate applies the migrations the database lacks, in one transaction
// under an advisory lock.
func (db *DB) migrate(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 4*opTimeout)
	defer cancel()
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return fmt.Errorf("lease database: locking the schema: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS netboot_schema_migrations (
			version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("lease database: creating netboot_schema_migrations: %w", err)
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM netboot_schema_migrations`).Scan(&have); err != nil {
			return fmt.Errorf("lease database: reading the schema version: %w", err)
		}
		if have > len(migrations) {
			return fmt.Errorf("lease database: schema version %d is newer than this agent's %d; upgrade the agent", have, len(migrations))
		}
		for v := have + 1; v <= len(migrations); v++ {
			if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
				return fmt.Errorf("lease database: migrating to schema version %d: %w", v, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO netboot_schema_migrations (version) VALUES ($1)`, v); err != nil {
				return fmt.Errorf("lease database: recording schema version %d: %w", v, err)
			}
			db.logger.Info("lease database migrated", "schema_version", v)
		}
		return nil
	})
}

// Err is the failure of the last database operation, nil when it
// succeeded: while it is set, no new lease is granted.
func (db *DB) Err() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.err
}

// Failures counts failed database operations (conflicts excluded).
func (db *DB) Failures() uint64 {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.failed
}

// note records the outcome of an operation, logging when the database
// becomes unreachable and when it is back.
func (db *DB) note(err error) error {
	failure := err
	var conflict *lease.ConflictError
	if errors.As(err, &conflict) {
		failure = nil
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	switch {
	case failure != nil && db.err == nil:
		db.logger.Error("lease database unreachable: granting no new leases until it is back", "error", failure)
	case failure == nil && db.err != nil:
		db.logger.Info("lease database reachable again: granting leases")
	}
	if failure != nil {
		db.failed++
	}
	db.err = failure
	return err
}

// Leases is the lease store of one boot server.
func (db *DB) Leases(bootServer string) *Leases { return &Leases{db: db, name: bootServer} }

// Leases stores the leases of one boot server; it implements the DHCPv6
// server's SharedLeaseStore.
type Leases struct {
	db   *DB
	name string
}

// Err is the database's last failure (DB.Err).
func (ls *Leases) Err() error { return ls.db.Err() }

const columns = `kind, address, prefix_length, duid, iaid, preferred_until, valid_until, last_transaction,
	client_arch, user_class, hardware_addr, hardware_addr_source`

// PutLeases stores put and deletes the leases of del in one transaction,
// committed before it returns. A put whose address holds another client's
// live lease fails the whole transaction with a *lease.ConflictError.
// Deletes remove only rows this agent wrote last or that have expired.
func (ls *Leases) PutLeases(put []lease.Lease, del []netip.Addr) error {
	if len(put) == 0 && len(del) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	err := pgx.BeginFunc(ctx, ls.db.pool, func(tx pgx.Tx) error {
		var b pgx.Batch
		for _, l := range put {
			b.Queue(`INSERT INTO netboot_leases AS l (boot_server, written_by, `+columns+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
				ON CONFLICT (boot_server, address) DO UPDATE SET
					kind = EXCLUDED.kind, prefix_length = EXCLUDED.prefix_length, duid = EXCLUDED.duid, iaid = EXCLUDED.iaid,
					preferred_until = EXCLUDED.preferred_until, valid_until = EXCLUDED.valid_until,
					last_transaction = EXCLUDED.last_transaction, client_arch = EXCLUDED.client_arch,
					user_class = EXCLUDED.user_class, hardware_addr = EXCLUDED.hardware_addr,
					hardware_addr_source = EXCLUDED.hardware_addr_source, written_by = EXCLUDED.written_by
				WHERE (l.kind = EXCLUDED.kind AND l.duid = EXCLUDED.duid AND l.iaid = EXCLUDED.iaid) OR l.valid_until <= now()
				RETURNING true`, args(ls.name, ls.db.writer, l)...)
		}
		if len(del) > 0 {
			b.Queue(`DELETE FROM netboot_leases WHERE boot_server = $1 AND address = ANY($2::inet[])
				AND (written_by = $3 OR valid_until <= now())`, ls.name, del, ls.db.writer)
		}
		res := tx.SendBatch(ctx, &b)
		var taken []netip.Addr
		for _, l := range put {
			var ok bool
			switch err := res.QueryRow().Scan(&ok); {
			case errors.Is(err, pgx.ErrNoRows):
				taken = append(taken, l.Address)
			case err != nil:
				res.Close()
				return fmt.Errorf("storing the lease of %s: %w", l.Address, err)
			}
		}
		if len(del) > 0 {
			if _, err := res.Exec(); err != nil {
				res.Close()
				return fmt.Errorf("deleting %d leases: %w", len(del), err)
			}
		}
		if err := res.Close(); err != nil {
			return err
		}
		if len(taken) > 0 {
			holders, err := query(ctx, tx, `SELECT `+columns+` FROM netboot_leases WHERE boot_server = $1 AND address = ANY($2::inet[])`, ls.name, taken)
			if err != nil {
				return fmt.Errorf("reading the leases of %d taken addresses: %w", len(taken), err)
			}
			return &lease.ConflictError{Taken: holders}
		}
		return nil
	})
	return ls.db.note(err)
}

// Leases returns the boot server's live leases.
func (ls *Leases) Leases() ([]lease.Lease, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	out, err := query(ctx, ls.db.pool, `SELECT `+columns+` FROM netboot_leases WHERE boot_server = $1 AND valid_until > now()`, ls.name)
	return out, ls.db.note(err)
}

// LeasesAfter returns, sorted by address, the first limit live leases
// whose address is above after (from the lowest when after is invalid).
func (ls *Leases) LeasesAfter(after netip.Addr, limit int) ([]lease.Lease, error) {
	if !after.IsValid() {
		after = netip.IPv6Unspecified()
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	out, err := query(ctx, ls.db.pool, `SELECT `+columns+` FROM netboot_leases WHERE boot_server = $1 AND address > $2 AND valid_until > now()
		ORDER BY address LIMIT $3`, ls.name, after.WithZone(""), limit)
	return out, ls.db.note(err)
}

// LeaseOf returns the live lease of one client IA, as another agent may
// have stored it: a client that renews or rebinds at this agent keeps its
// address. ok is false when there is none.
func (ls *Leases) LeaseOf(kind lease.Kind, duid []byte, iaid uint32) (l lease.Lease, ok bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	out, err := query(ctx, ls.db.pool, `SELECT `+columns+` FROM netboot_leases
		WHERE boot_server = $1 AND kind = $2 AND duid = $3 AND iaid = $4 AND valid_until > now()
		ORDER BY valid_until DESC LIMIT 1`, ls.name, string(kind), duid, int64(iaid))
	if err = ls.db.note(err); err != nil || len(out) == 0 {
		return lease.Lease{}, false, err
	}
	return out[0], true, nil
}

// LeaseAt returns the live lease of address a (IA_NA or IA_TA), as any
// agent may have stored it. ok is false when there is none.
func (ls *Leases) LeaseAt(a netip.Addr) (l lease.Lease, ok bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	out, err := query(ctx, ls.db.pool, `SELECT `+columns+` FROM netboot_leases
		WHERE boot_server = $1 AND address = $2 AND kind <> 'pd' AND valid_until > now()`, ls.name, a.WithZone(""))
	if err = ls.db.note(err); err != nil || len(out) == 0 {
		return lease.Lease{}, false, err
	}
	return out[0], true, nil
}

func args(bootServer, writer string, l lease.Lease) []any {
	var arch *int32
	if l.ClientArch != nil {
		a := int32(*l.ClientArch)
		arch = &a
	}
	var last *time.Time
	if !l.LastTransaction.IsZero() {
		last = &l.LastTransaction
	}
	return []any{bootServer, writer, string(l.Kind), l.Address.WithZone(""), int16(l.PrefixLength), l.DUID, int64(l.IAID),
		l.PreferredUntil, l.ValidUntil, last, arch, l.UserClass, l.HardwareAddr, l.HardwareAddrSource}
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func query(ctx context.Context, q querier, sql string, args ...any) ([]lease.Lease, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (lease.Lease, error) {
		var (
			l      lease.Lease
			kind   string
			addr   netip.Prefix
			plen   int16
			iaid   int64
			last   *time.Time
			arch   *int32
			duid   []byte
			userCl string
		)
		if err := r.Scan(&kind, &addr, &plen, &duid, &iaid, &l.PreferredUntil, &l.ValidUntil, &last, &arch,
			&userCl, &l.HardwareAddr, &l.HardwareAddrSource); err != nil {
			return l, err
		}
		l.Kind, l.Address, l.PrefixLength, l.DUID, l.IAID, l.UserClass = lease.Kind(kind), addr.Addr(), int(plen), duid, uint32(iaid), userCl
		if last != nil {
			l.LastTransaction = *last
		}
		if arch != nil {
			a := uint16(*arch)
			l.ClientArch = &a
		}
		return l, nil
	})
}
