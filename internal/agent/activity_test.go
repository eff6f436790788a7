package agent

import (
	"net/netip"
	"testing"
	"time"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// A config is noted apart from boot files, by its file name; a deleted
// machine's record goes with it.
func TestMachineActivity(t *testing.T) {
	a := newMachineActivity()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a.now = func() time.Time { return at }
	from := netip.MustParseAddr("2001:db8:1::1001")
	a.note("web1", "lab", protocolTFTP, "ipxe.efi", from)
	a.note("web1", "lab", protocolHTTP, "netboot/config/web1/00112233445566778899aabbccddeeff/user-data", from)
	a.note("web1", "lab", protocolHTTP, "vmlinuz", from)
	pb := a.fill(&netbootv1.Machine{Name: "web1"})
	if b := pb.GetLastBootFile(); b.GetFile() != "vmlinuz" || b.GetProtocol() != "http" || b.GetAddress() != from.String() || b.GetTimeUnix() != at.Unix() || b.GetBootServer() != "lab" {
		t.Errorf("last boot file: %v", b)
	}
	if c := pb.GetLastConfig(); c.GetFile() != "user-data" || c.GetAddress() != from.String() {
		t.Errorf("last config: %v", c)
	}
	if pb := a.fill(&netbootv1.Machine{Name: "web2"}); pb.GetLastBootFile() != nil || pb.GetLastConfig() != nil {
		t.Errorf("web2 fetched nothing, got %v", pb)
	}
	a.forget("web1")
	if pb := a.fill(&netbootv1.Machine{Name: "web1"}); pb.GetLastBootFile() != nil {
		t.Errorf("after forget: %v", pb)
	}
}
