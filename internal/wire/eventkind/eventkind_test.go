package eventkind

import (
	"regexp"
	"strings"
	"testing"
)

// TestEveryKindIsDescribed: help texts list every kind with what it holds,
// and names are what users type after --kind.
func TestEveryKindIsDescribed(t *testing.T) {
	seen := map[Kind]bool{}
	for _, k := range All() {
		if seen[k] {
			t.Errorf("kind %q listed twice", k)
		}
		seen[k] = true
		if k.About() == "" {
			t.Errorf("kind %q has no description", k)
		}
		if !regexp.MustCompile(`^[a-z][a-z0-9_]*$`).MatchString(string(k)) {
			t.Errorf("kind %q is not a lowercase word", k)
		}
		if got, err := Parse(string(k)); got != k || err != nil {
			t.Errorf("Parse(%q) = %q, %v", k, got, err)
		}
		if a := k.Attr(); a.Key != Key || a.Value.String() != string(k) {
			t.Errorf("%q.Attr() = %v", k, a)
		}
	}
	// The kinds users already select by.
	for _, k := range []Kind{"lease", "boot_file", "dhcpv6", "ra", "tftp", "http", "script", "artifact", "nfs_root_image", "nfs", "dns", "config", "control", "agent"} {
		if !seen[k] {
			t.Errorf("kind %q is gone", k)
		}
	}
}

func TestParseRefusesUnknownKinds(t *testing.T) {
	for _, s := range []string{"", "leases", "Lease", " lease"} {
		_, err := Parse(s)
		if err == nil || !strings.Contains(err.Error(), "not an event kind") || !strings.Contains(err.Error(), "boot_file") {
			t.Errorf("Parse(%q) error %v, want one listing the kinds", s, err)
		}
	}
}
