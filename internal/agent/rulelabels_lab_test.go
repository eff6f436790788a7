package agent_test

import (
	"context"
	"strings"
	"testing"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// TestBootRuleSelectsMachineByLabel: two ISC dhclient -6 clients of x64
// UEFI firmware on one link ask for a boot file. The one whose MAC address
// is a machine labelled role=installer gets the labelled rule's file,
// though the architecture rule is listed first; the other, of another MAC
// address, gets the default rules' iPXE build. The hosts listing (agent objects)
// predicts the same and says why.
func TestBootRuleSelectsMachineByLabel(t *testing.T) {
	lab, _, conn, bs := provisioningLab(t, "dhclient")
	ctx := context.Background()
	bs.Boot = &netbootv1.Boot{TftpEnabled: true, HttpEnabled: true, Rules: []*netbootv1.BootFileRule{
		{UserClass: "iPXE", File: "start.ipxe", Via: "http"},
		{Arch: []uint32{7}, File: "ipxe.efi", Via: "tftp"},
		{Labels: map[string]string{"role": "installer"}, Arch: []uint32{7}, File: "installer/ipxe.efi", Via: "tftp"},
	}}
	if _, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: bs}); err != nil {
		t.Fatal(err)
	}
	mac := func() string {
		return strings.TrimSpace(lab.MustExec(t, lab.ClientNS, "cat", "/sys/class/net/"+lab.ClientIf+"/address"))
	}
	installer := mac()
	if _, err := conn.PutMachine(ctx, &netbootv1.PutMachineRequest{Machine: &netbootv1.Machine{
		Name: "installer1", Macs: []string{installer}, Labels: map[string]string{"role": "installer"}}}); err != nil {
		t.Fatal(err)
	}
	firmware := "send dhcp6.client-arch-type 7;\n"
	tftp := "tftp://[" + lab.ServerAddr + "]/"

	// dhclient's DUID (DUID-LLT by default) holds the interface's MAC.
	if got := dhclientBoot(t, lab, t.TempDir(), firmware); !strings.Contains(got, "new_dhcp6_bootfile_url="+tftp+"installer/ipxe.efi") {
		t.Fatalf("the labelled machine did not get the labelled rule's file:\n%s", got)
	}

	// A second client: another MAC address, so another DUID and link-local
	// address, none of them a machine's.
	const other = "52:54:00:0b:0b:02"
	lab.SetClientMAC(t, other)
	if got := dhclientBoot(t, lab, t.TempDir(), firmware); !strings.Contains(got, "new_dhcp6_bootfile_url="+tftp+"ipxe.efi\n") {
		t.Fatalf("the other client did not get the default file:\n%s", got)
	}

	// The hosts listing predicts the same from the leases, and says why.
	resp, err := conn.ListHosts(ctx, &netbootv1.ListHostsRequest{BootServer: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]*netbootv1.Host{}
	for _, h := range resp.GetHosts() {
		seen[h.GetHardwareAddress()] = h
	}
	if h := seen[installer]; h == nil || h.GetBootFileUrl() != tftp+"installer/ipxe.efi" || !strings.Contains(h.GetBootFileReason(), `labels of machine "installer1"`) {
		t.Errorf("listed host of the machine: %v", h)
	}
	if h := seen[other]; h == nil || h.GetBootFileUrl() != tftp+"ipxe.efi" {
		t.Errorf("listed host of the other client: %v", h)
	}
}
