package lease

import (
	"fmt"
	"net/netip"
)

// ConflictError is returned by a lease store that several agents share
// when a lease to store names an address or prefix another client holds
// there: the peer agent granted it first. Nothing of the batch is stored;
// Taken are the other clients' leases, so the pool can learn them and give
// the retransmitting client another address.
type ConflictError struct {
	Taken []Lease
}

func (e *ConflictError) Error() string {
	addrs := make([]netip.Addr, 0, len(e.Taken))
	for _, l := range e.Taken {
		addrs = append(addrs, l.Address)
	}
	return fmt.Sprintf("%d addresses or prefixes are leased to other clients in the shared lease database: %v", len(e.Taken), addrs)
}
