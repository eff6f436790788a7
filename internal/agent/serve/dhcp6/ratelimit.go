package dhcp6

import (
	"container/list"
	"time"

	"golang.org/x/time/rate"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// Each table remembers at most this many keys: client DUIDs, or source
// addresses. A key only needs remembering while its bucket is below full
// (a full bucket is what a new key gets), so at 10 messages a second per
// client a table of 8192 follows a flood of about 80,000 new DUIDs a
// second before it overflows, in a few MB.
const (
	maxClientBuckets = 8192
	maxSourceBuckets = 4096
	// A site has tens of relays.
	maxRelayBuckets = 1024
)

// overflowShare sizes the bucket that keys the table has no room for
// share: as many clients' worth as this. Known clients keep their own
// buckets meanwhile, and nobody is evicted to make room.
const overflowShare = 64

// rateLogInterval is how often drops of one key (or of the overflow
// bucket) are logged at most; the log line counts the drops in between.
const rateLogInterval = 10 * time.Second

// limiterTable is a token bucket per key, bounded in memory. Its entries
// are kept most recently seen first; a new key takes the least recently
// seen entry's place only when that entry's bucket has refilled (which
// forgets nothing), and otherwise shares the overflow bucket. It is used
// from the serving goroutine only.
type limiterTable struct {
	limit    rate.Limit
	burst    int
	max      int
	entries  map[string]*list.Element
	lru      list.List // of *bucket
	overflow bucket
}

// bucket is the state of one key, with what its drops' log lines need.
type bucket struct {
	key        string
	lim        *rate.Limiter
	loggedAt   time.Time // when a drop was last logged
	suppressed uint64    // drops since then, not logged
}

// newLimiterTable returns a table of at most max keys, each allowed
// perSecond messages a second after a burst; perSecond 0 allows all.
func newLimiterTable(perSecond, burst uint32, max int) *limiterTable {
	t := &limiterTable{limit: rate.Limit(perSecond), burst: int(burst), max: max, entries: map[string]*list.Element{}}
	t.overflow.lim = rate.NewLimiter(t.limit*overflowShare, t.burst*overflowShare)
	return t
}

// verdict is what allow decided about one message.
type verdict struct {
	ok bool
	// log is set, for a refused message, at most once per rateLogInterval
	// per key (and per overflow bucket); dropped then counts the refused
	// messages of the key since its last log line, this one included.
	log      bool
	dropped  uint64
	overflow bool // the key shares the overflow bucket
}

// allow takes a token from key's bucket at now.
func (t *limiterTable) allow(key []byte, now time.Time) verdict {
	if t.limit == 0 {
		return verdict{ok: true}
	}
	b := t.lookup(key, now)
	if b.lim.AllowN(now, 1) {
		return verdict{ok: true}
	}
	v := verdict{overflow: b == &t.overflow}
	b.suppressed++
	if now.Sub(b.loggedAt) >= rateLogInterval {
		v.log, v.dropped = true, b.suppressed
		b.loggedAt, b.suppressed = now, 0
	}
	return v
}

// lookup finds key's bucket, making one if there is room.
func (t *limiterTable) lookup(key []byte, now time.Time) *bucket {
	if e, ok := t.entries[string(key)]; ok {
		t.lru.MoveToFront(e)
		return e.Value.(*bucket)
	}
	if t.lru.Len() >= t.max {
		oldest := t.lru.Back()
		b := oldest.Value.(*bucket)
		if b.lim.TokensAt(now) < float64(t.burst) {
			return &t.overflow
		}
		// Refilled: forgetting it changes nothing, so its entry is reused.
		delete(t.entries, b.key)
		*b = bucket{key: string(key), lim: rate.NewLimiter(t.limit, t.burst)}
		t.entries[b.key] = oldest
		t.lru.MoveToFront(oldest)
		return b
	}
	b := &bucket{key: string(key), lim: rate.NewLimiter(t.limit, t.burst)}
	t.entries[b.key] = t.lru.PushFront(b)
	return b
}

func (t *limiterTable) len() int { return t.lru.Len() }

// limiters are the tables of one rate_limit configuration.
type limiters struct {
	cfg    config.RateLimit
	client *limiterTable // by client DUID
	source *limiterTable // by source address
	relay  *limiterTable // by relay address, for Relay-Forwards
}

func newLimiters(cfg config.RateLimit) *limiters {
	return &limiters{
		cfg:    cfg,
		client: newLimiterTable(cfg.PerClientPerSecond, cfg.Burst, maxClientBuckets),
		source: newLimiterTable(cfg.PerSourcePerSecond, cfg.PerSourceBurst, maxSourceBuckets),
		relay:  newLimiterTable(cfg.PerRelayPerSecond, cfg.PerRelayBurst, maxRelayBuckets),
	}
}
