package agent

import (
	"bytes"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// A warning is due once per key per interval; repeats are counted; past
// max keys a new key waits until an old one's interval has passed.
func TestRepeatWarnings(t *testing.T) {
	w := newRepeatWarnings(time.Minute, 2)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	w.now = func() time.Time { return now }
	for i, tc := range []struct {
		key     string
		advance time.Duration
		due     bool
	}{
		{"a", 0, true},
		{"a", 0, false},
		{"b", 0, true},
		{"c", 0, false}, // two keys remembered: held back
		{"a", 59 * time.Second, false},
		{"c", time.Second, true}, // a and b forgotten; a warns again below
		{"a", 0, true},
		{"b", 0, false}, // c and a remembered
	} {
		now = now.Add(tc.advance)
		if got := w.due(tc.key); got != tc.due {
			t.Errorf("step %d: due(%q) = %v, want %v", i, tc.key, got, tc.due)
		}
	}
	if got := w.suppressedTotal(); got != 4 {
		t.Errorf("suppressed %d, want 4", got)
	}
}

// The claimed machine warning comes once per claimed machine and source
// address per hour, however often a host asks; the others are counted.
func TestWarnClaimedOncePerMachineAndSource(t *testing.T) {
	var logs bytes.Buffer
	s := &site{logger: slog.New(slog.NewTextHandler(&logs, nil)), claims: newRepeatWarnings(claimWarnInterval, maxClaimWarnings)}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s.claims.now = func() time.Time { return now }
	scanner := config.Requester{Address: netip.MustParseAddr("2001:db8:1::1002")}
	web2 := config.Requester{Address: netip.MustParseAddr("2001:db8:1::1003"), Machine: "web2"}
	for range 100 {
		s.warnClaimed("web1", scanner, "http", "netboot/host/mac-52-54-00-aa-bb-01/uuid-/arch-x86_64/platform-efi/menu.ipxe")
	}
	s.warnClaimed("web3", scanner, "http", "netboot/host/mac-52-54-00-aa-bb-03/uuid-/arch-x86_64/platform-efi/menu.ipxe")
	s.warnClaimed("web1", web2, "tftp", "netboot/host/mac-52-54-00-aa-bb-01/uuid-/arch-i386/platform-pcbios/menu.ipxe")
	if n := strings.Count(logs.String(), "level=WARN"); n != 3 {
		t.Fatalf("%d warnings, want one per claimed machine and source (3):\n%s", n, logs.String())
	}
	for _, want := range []string{
		"claimed_machine=web1 client=2001:db8:1::1002 client_machine=\"\" protocol=http",
		"claimed_machine=web3 client=2001:db8:1::1002",
		"claimed_machine=web1 client=2001:db8:1::1003 client_machine=web2 protocol=tftp",
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no warning with %s:\n%s", want, logs.String())
		}
	}
	if got := s.claims.suppressedTotal(); got != 99 {
		t.Errorf("suppressed %d, want 99", got)
	}
	now = now.Add(claimWarnInterval)
	s.warnClaimed("web1", scanner, "http", "netboot/host/mac-52-54-00-aa-bb-01/uuid-/arch-x86_64/platform-efi/menu.ipxe")
	if n := strings.Count(logs.String(), "level=WARN"); n != 4 {
		t.Errorf("%d warnings after an hour, want 4", n)
	}
}
