package agentcli

import (
	"bytes"
	"strings"
	"testing"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

func TestPrintRelayedLinks(t *testing.T) {
	site := func(links ...*netbootv1.RelayedLinkStatus) []*netbootv1.BootServerState {
		return []*netbootv1.BootServerState{{
			Config: &netbootv1.BootServer{Name: "site"},
			Status: &netbootv1.BootServerStatus{RelayedLinks: links},
		}}
	}
	var none bytes.Buffer
	if err := printRelayedLinks(&none, site()); err != nil || none.Len() != 0 {
		t.Errorf("printed %q (%v) for no relayed links", none.String(), err)
	}
	var out bytes.Buffer
	if err := printRelayedLinks(&out, site(
		&netbootv1.RelayedLinkStatus{Name: "vlan10", Prefix: "2001:db8:10::/64", RelayAddresses: []string{"2001:db8:1::fe"}, ActiveLeases: 3},
		&netbootv1.RelayedLinkStatus{Name: "vlan20", Prefix: "2001:db8:20::/64"},
	)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"RELAYED LINKS (2)",
		"site         vlan10  2001:db8:10::/64  3       2001:db8:1::fe",
		"site         vlan20  2001:db8:20::/64  0       none heard",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
