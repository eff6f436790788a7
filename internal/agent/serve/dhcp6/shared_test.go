package dhcp6

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/pglease"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// sharedHandler is one agent's DHCPv6 handler on a lease database several
// agents share.
func sharedHandler(t *testing.T, url string) *handler {
	t.Helper()
	db, err := pglease.Open(context.Background(), url, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	cfg := testConfig(config.DHCPv6Stateful)
	return newHandler(serverDUID, cfg, lease.NewPool(spacesOf(cfg)), db.Leases("site"), slog.New(slog.DiscardHandler))
}

// TestTwoAgentsOneDatabase runs two handlers of one link on one PostgreSQL:
// an address one granted is never granted by the other, and the client
// renewing or rebinding at the other keeps it.
func TestTwoAgentsOneDatabase(t *testing.T) {
	pg := testlab.StartPostgreSQL(t)
	a, b := sharedHandler(t, pg.URL), sharedHandler(t, pg.URL)
	now := time.Now()
	mine, _, _ := leased(t, request(t, a, now))

	// Another client asks b for the same address: b's pool does not know
	// it is taken, the database does. The Reply is withheld; the
	// retransmission gets another address.
	theirs := clientMessage(t, dhcpv6.MessageTypeRequest, otherDUID, serverDUID, iaNA(7, mine.String()))
	var conflict *lease.ConflictError
	if _, err := b.handleAlone(theirs, clientLL, false, now); !errors.As(err, &conflict) {
		t.Fatalf("Request of a taken address at the peer: %v, want a conflict", err)
	}
	other, _, _ := leased(t, exchange(t, b, theirs, now))
	if other == mine || !inRange(other) {
		t.Fatalf("retransmitted Request got %s; want an address other than %s in range", other, mine)
	}

	for _, typ := range []dhcpv6.MessageType{dhcpv6.MessageTypeRenew, dhcpv6.MessageTypeRebind} {
		b := sharedHandler(t, pg.URL) // knows nothing of the lease
		var sid dhcpv6.DUID
		if typ == dhcpv6.MessageTypeRenew {
			sid = serverDUID
		}
		later := time.Now().Add(time.Minute)
		reply := exchange(t, b, clientMessage(t, typ, clientDUID, sid, iaNA(clientIAID, mine.String())), later)
		if got, _, ia := leased(t, reply); got != mine || ia.ValidLifetime != 2*time.Hour {
			t.Errorf("%s at the peer: got %s valid %s, want %s extended", typ, got, ia.ValidLifetime, mine)
		}
	}
}

// TestUnreachableDatabase stops PostgreSQL under a handler: it stops
// granting, still answers Information-requests, and grants again once the
// database is back, without a restart.
func TestUnreachableDatabase(t *testing.T) {
	pg := testlab.StartPostgreSQL(t)
	h := sharedHandler(t, pg.URL)
	shared := h.store.(SharedLeaseStore)
	waitErr := func(down bool) {
		t.Helper()
		for i := 0; (shared.Err() != nil) != down; i++ {
			if i == 150 {
				t.Fatalf("lease database down = %v after 15s, want %v", shared.Err() != nil, down)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	pg.Stop(t)
	waitErr(true)
	mustDiscard(t, h, newSolicit(t), false)
	info := clientMessage(t, dhcpv6.MessageTypeInformationRequest, clientDUID, nil)
	if reply := exchange(t, h, info, time.Now()); status(reply) != iana.StatusSuccess {
		t.Errorf("Information-request with the database down: %s", reply.Summary())
	}
	pg.Start(t)
	waitErr(false)
	if a, _, _ := leased(t, request(t, h, time.Now())); !inRange(a) {
		t.Errorf("after the database is back: leased %s", a)
	}
}
