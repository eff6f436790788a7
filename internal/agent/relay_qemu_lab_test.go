package agent_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// TestQEMUiPXEBootsThroughRelay is the QEMU boot one hop further: an
// unmodified iPXE (Debian's ipxe.lkrn) on a link the agent has no
// interface on. The router of that link sends the RA (radvd, M and O set)
// and relays DHCPv6 (ISC dhcrelay -6); the agent leases from the link's
// range and sends option 59 naming its service address (boot.server_address,
// an address of its interface used for nothing else), where iPXE fetches
// the agent's menu over HTTP, whose default entry boots Linux to the marker.
func TestQEMUiPXEBootsThroughRelay(t *testing.T) {
	testlab.RequireRoot(t, "qemu-system-x86_64", "dhcrelay", "radvd")
	if _, err := os.Stat("/usr/lib/ipxe/ipxe.lkrn"); err != nil {
		testlab.Unavailable(t, "needs /usr/lib/ipxe/ipxe.lkrn (Debian ipxe)")
	}
	kernelPath := testlab.Kernel(t)
	const marker = "NETBOOT-AGENT-RELAYED-OK"
	lab := testlab.New(t)
	link := lab.AddRoutedLink(t, 1)
	tap := link.AttachTap(t, lab)
	const service = "2001:db8:1::80"
	lab.MustExec(t, lab.ServerNS, "ip", "-6", "addr", "add", service+"/64", "dev", lab.ServerIf, "nodad")

	stateDir := t.TempDir()
	lab.StartAgent(t, stateDir)
	conn := connect(t, stateDir)
	bs := labBootServer(lab, "stateful")
	bs.Dhcpv6.RelayedLinks = map[string]*netbootv1.RelayedLink{
		"link1": {Prefix: link.Prefix, Ranges: []*netbootv1.AddressRange{{Start: "2001:db8:10::100", End: "2001:db8:10::1ff"}}},
	}
	bs.Boot = &netbootv1.Boot{TftpEnabled: true, HttpEnabled: true, ServerAddress: service,
		Rules: []*netbootv1.BootFileRule{{UserClass: "iPXE", File: "start.ipxe", Via: "http"}}}
	if _, err := conn.PutBootServer(t.Context(), &netbootv1.PutBootServerRequest{BootServer: bs}); err != nil {
		t.Fatal(err)
	}
	if _, err := putArtifact(t, conn, &netbootv1.ArtifactHeader{Path: "linux/vmlinuz", AgentPath: kernelPath}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := putArtifact(t, conn, &netbootv1.ArtifactHeader{Path: "linux/initrd.img"}, testlab.MarkerInitramfs(t, marker)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.PutBootEntry(t.Context(), &netbootv1.PutBootEntryRequest{Entry: &netbootv1.BootEntry{
		Name: "linux", Title: "Debian", Kind: "linux",
		Linux: &netbootv1.LinuxBoot{Kernel: "linux/vmlinuz", Initrds: []string{"linux/initrd.img"}, Args: "console=ttyS0 panic=-1"},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.PutBootMenu(t.Context(), &netbootv1.PutBootMenuRequest{Menu: &netbootv1.BootMenu{
		Name: "main", Title: "Relayed boot", IsDefault: true, DefaultItem: "linux", TimeoutSeconds: 1,
		Items: []*netbootv1.MenuItem{{Entry: "linux"}},
	}}); err != nil {
		t.Fatal(err)
	}

	lab.StartRadvd(t, lab.ClientNS, fmt.Sprintf(`interface %s {
    AdvSendAdvert on;
    MinRtrAdvInterval 3;
    MaxRtrAdvInterval 10;
    AdvManagedFlag on;
    AdvOtherConfigFlag on;
    prefix %s {
        AdvOnLink on;
        AdvAutonomous off;
    };
};
`, link.RouterIf, link.Prefix), t.TempDir())
	lab.StartDhcrelay(t, link)

	console, took, ok := lab.Boot(t, tap, testlab.QEMU{NS: link.NS, Firmware: testlab.BIOS, Marker: marker, Timeout: 240 * time.Second})
	if !ok {
		t.Fatalf("no marker on the serial console:\n%s", console)
	}
	t.Logf("QEMU start → Linux marker through the relay in %s", took.Round(time.Second))
	// iPXE prints its address and each URL it fetches.
	for _, want := range []string{"net0: 2001:db8:10::1", "Filename: http://[" + service + "]/start.ipxe", "http://[" + service + "]/netboot/host/"} {
		if !strings.Contains(console, want) {
			t.Errorf("serial console lacks %q:\n%s", want, console)
		}
	}
	st := relayedLinkStatus(t, conn, "link1")
	if st.GetActiveLeases() != 1 || len(st.GetRelayAddresses()) == 0 {
		t.Errorf("link1 after the boot: %v, want the guest's lease and the relay heard", st)
	}
}
