package provider

import (
	"context"
	"sync"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
)

// Refreshing a configuration with many objects of one kind (a site's
// thousand boot entries or machines) would cost one Get round trip per
// object; to a remote agent over mTLS that is most of a plan's time.
// batchedReads answers the first readsBeforeList reads of a kind with Gets,
// as a small configuration needs, and after them takes one paged List and
// answers the rest of the refresh from it.
const (
	readsBeforeList = 8
	// listFreshFor bounds how old an answer from a List may be: a refresh
	// reads every object within a few seconds, and an object changed behind
	// Terraform's back later than this shows at the next plan.
	listFreshFor = 10 * time.Second
)

// batchedReads reads objects of one kind (P, the agent's message) for many
// Reads of one provider process. It is kept per agent connection, since one
// process may serve several provider configurations.
type batchedReads[P any] struct {
	// get and list are the kind's RPCs; key names a listed object.
	get  func(ctx context.Context, agent *agentclient.Conn, key string) (P, error)
	list func(ctx context.Context, agent *agentclient.Conn) ([]P, error)
	key  func(P) string
	// now is the clock; nil means time.Now.
	now func() time.Time

	mu    sync.Mutex
	conns map[*agentclient.Conn]*listedObjects[P]
}

// listedObjects is what one connection has read of a kind.
type listedObjects[P any] struct {
	reads int
	// taken is when the last List was tried (zero: none yet, or
	// forgotten); byKey is its answer, nil when it failed.
	taken time.Time
	byKey map[string]P
}

// read returns the object named key: from a fresh List when this process
// has already read enough objects of the kind, otherwise (and for an
// object the List has not seen: created since, or gone) from a Get, so a
// NotFound is always the agent's own answer to a Get.
func (b *batchedReads[P]) read(ctx context.Context, agent *agentclient.Conn, key string) (P, error) {
	if p, ok := b.fromList(ctx, agent, key); ok {
		return p, nil
	}
	return b.get(ctx, agent, key)
}

func (b *batchedReads[P]) fromList(ctx context.Context, agent *agentclient.Conn, key string) (P, bool) {
	var zero P
	now := time.Now
	if b.now != nil {
		now = b.now
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conns == nil {
		b.conns = map[*agentclient.Conn]*listedObjects[P]{}
	}
	l := b.conns[agent]
	if l == nil {
		// A provider process makes a connection per configuration; drop
		// the Lists of earlier ones, which no refresh reads any more.
		for c, old := range b.conns {
			if !old.taken.IsZero() && now().Sub(old.taken) > listFreshFor {
				delete(b.conns, c)
			}
		}
		l = &listedObjects[P]{}
		b.conns[agent] = l
	}
	l.reads++
	if l.reads <= readsBeforeList {
		return zero, false
	}
	if l.taken.IsZero() || now().Sub(l.taken) > listFreshFor {
		// Other readers of the kind wait for this List rather than each
		// making a Get: it is what they would read next.
		objects, err := b.list(ctx, agent)
		l.taken = now()
		if err != nil {
			// The Get reports the problem, naming the object. Reads go on
			// with Gets until the List may be tried again, so an agent
			// failing Lists costs one per listFreshFor, not one per read.
			l.byKey = nil
			return zero, false
		}
		l.byKey = make(map[string]P, len(objects))
		for _, p := range objects {
			l.byKey[b.key(p)] = p
		}
	}
	p, ok := l.byKey[key]
	return p, ok
}

// forget drops what agent's List said: this process has just changed an
// object of the kind.
func (b *batchedReads[P]) forget(agent *agentclient.Conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.conns, agent)
}
