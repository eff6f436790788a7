package agent

import (
	"net/netip"
	"testing"

	"github.com/netbootlab/terraform-provider-netboot/internal/config"
)

func TestParseIfInet6(t *testing.T) {
	data := []byte(`00000000000000000000000000000001 01 80 10 80       lo
20010db8000100000000000000000001 03 40 00 80   nbs0
20010db800010000a8bbccfffe000001 03 40 00 00   nbs0
20010db800010000123456789abcdef0 03 40 00 01   nbs0
fe80000000000000a8bbccfffe000001 03 40 20 80   nbs0
20010db8000200000000000000000001 04 40 00 80   other
`)
	got := parseIfInet6(data, "nbs0")
	want := []ifAddr{
		{addr: netip.MustParseAddr("2001:db8:1::1"), permanent: true},
		{addr: netip.MustParseAddr("2001:db8:1:0:a8bb:ccff:fe00:1")},
		{addr: netip.MustParseAddr("2001:db8:1:0:1234:5678:9abc:def0"), temporary: true},
		{addr: netip.MustParseAddr("fe80::a8bb:ccff:fe00:1"), permanent: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

// The boot server's TFTP limits reach its TFTP server.
func TestTFTPConfigCarriesLimits(t *testing.T) {
	var c config.BootServer
	c.Boot = config.DefaultBoot()
	c.Boot.TFTPMaxTransfers, c.Boot.TFTPMaxTransfersPerClient = 100, 11
	got := (&site{}).tftpConfig(c)
	if got.MaxTransfers != 100 || got.MaxTransfersPerClient != 11 {
		t.Errorf("tftp.Config limits = %d, %d; want 100, 11", got.MaxTransfers, got.MaxTransfersPerClient)
	}
}
