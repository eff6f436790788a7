package agentcli

import (
	"bytes"
	"strings"
	"testing"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

func TestPrintOtherServers(t *testing.T) {
	lab := func(others ...*netbootv1.OtherServer) []*netbootv1.BootServerState {
		return []*netbootv1.BootServerState{{
			Config: &netbootv1.BootServer{Name: "lab"},
			Status: &netbootv1.BootServerStatus{OtherServers: others},
		}}
	}
	var none bytes.Buffer
	printOtherServers(&none, lab())
	if none.Len() != 0 {
		t.Errorf("printed %q for no other servers", none.String())
	}
	var out bytes.Buffer
	printOtherServers(&out, lab(
		&netbootv1.OtherServer{Protocol: "router_advertisement", SourceAddress: "fe80::1", LinkLayerAddress: "02:00:00:00:00:01",
			Conflicts: []string{"MTU: ours 1500, theirs 1400"}, Offers: []string{"MTU: 1400"}, Messages: 4},
		&netbootv1.OtherServer{Protocol: "dhcpv6", SourceAddress: "fe80::2", Duid: "00010001", Offers: []string{"DNS servers 2001:db8::53"}, Messages: 1},
	))
	for _, want := range []string{
		"OTHER SERVERS ON SERVED LINKS (2)",
		"lab: router_advertisement from fe80::1, MAC 02:00:00:00:00:01, messages: 4, last: ",
		"  conflicts: MTU: ours 1500, theirs 1400\n  offers:    MTU: 1400\n",
		"lab: dhcpv6 from fe80::2, DUID 00010001, messages: 1",
		"  offers:    DNS servers 2001:db8::53\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestDHCPv6ProbeIntervalFlag(t *testing.T) {
	for _, v := range []string{"10ms", "-1s"} {
		var stderr bytes.Buffer
		if code := Main([]string{"--state-dir", t.TempDir(), "--dhcpv6-probe-interval", v}, &bytes.Buffer{}, &stderr); code != 2 ||
			!strings.Contains(stderr.String(), "--dhcpv6-probe-interval "+v+": want 0 (off) or at least 1s") {
			t.Errorf("--dhcpv6-probe-interval %s: exit %d, %q; want 2 and the rule", v, code, stderr.String())
		}
	}
}
