package pki

import (
	"strings"
	"testing"
	"time"
)

func TestValidityBelowOneDayIsRefused(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []time.Duration{0, -24 * time.Hour, time.Hour} {
		if err := InitCA(dir, "CA", v); err == nil || !strings.Contains(err.Error(), "at least one day") {
			t.Errorf("InitCA(validity %v) = %v", v, err)
		}
	}
	if err := InitCA(dir, "CA", 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := Issue(dir, "admin", Request{Kind: Client, CommonName: "admin", Validity: -24 * time.Hour}); err == nil || !strings.Contains(err.Error(), "at least one day") {
		t.Errorf("Issue(validity -24h) = %v", err)
	}
}
