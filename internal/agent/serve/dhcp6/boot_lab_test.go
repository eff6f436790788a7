package dhcp6

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/dhcpv6/nclient6"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
)

// labBootConfig is labConfig with the default boot rules, served at the
// lab's server address.
func labBootConfig(t testing.TB, lab *testlab.Lab, mode config.DHCPv6Mode) Config {
	cfg := labConfig(t, lab, mode)
	cfg.Boot = config.DefaultBoot()
	cfg.ServerAddress = netip.MustParseAddr(lab.ServerAddr)
	return cfg
}

// newNclient opens a DHCPv6 client socket on the lab's client interface,
// inside the client namespace; it closes at cleanup.
func newNclient(t *testing.T, lab *testlab.Lab) *nclient6.Client {
	t.Helper()
	var (
		c   *nclient6.Client
		err error
	)
	testlab.InNetns(t, lab.ClientNS, func() {
		c, err = nclient6.New(lab.ClientIf, nclient6.WithTimeout(2*time.Second), nclient6.WithRetry(3))
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestNclientBootFileURL runs Solicit and Request over the wire for the
// machines of a mixed boot lab, each with its own DUID-UUID as iPXE and
// EDK2 use, then switches the server to stateless with Apply and asks as
// iPXE would by Information-request.
func TestNclientBootFileURL(t *testing.T) {
	testlab.RequireRoot(t)
	lab := testlab.New(t)
	srv := startIn(t, lab.ServerNS, labBootConfig(t, lab, config.DHCPv6Stateful), newMemStore())
	c := newNclient(t, lab)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	wantBoot := dhcpv6.WithRequestedOptions(dhcpv6.OptionBootfileURL, dhcpv6.OptionBootfileParam)
	tests := []struct {
		name string
		mods []dhcpv6.Modifier
		want string
	}{
		{"BIOS", []dhcpv6.Modifier{withArch(0x0000)}, "tftp://[2001:db8:1::1]/undionly.kpxe"},
		{"x64 UEFI", []dhcpv6.Modifier{withArch(0x0007)}, "tftp://[2001:db8:1::1]/ipxe.efi"},
		{"ARM64 UEFI", []dhcpv6.Modifier{withArch(0x000b)}, "tftp://[2001:db8:1::1]/ipxe-arm64.efi"},
		{"iPXE", []dhcpv6.Modifier{withArch(0x0007), dhcpv6.WithUserClass([]byte("iPXE"))}, "http://[2001:db8:1::1]/start.ipxe"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			duid := &dhcpv6.DUIDUUID{UUID: [16]byte{15: byte(i + 1)}}
			mods := append([]dhcpv6.Modifier{dhcpv6.WithClientID(duid), wantBoot}, tt.mods...)
			adv, err := c.Solicit(ctx, mods...)
			if err != nil {
				t.Fatalf("Solicit: %v", err)
			}
			if got := adv.Options.BootFileURL(); got != tt.want {
				t.Errorf("Advertise boot-file URL %q, want %q", got, tt.want)
			}
			reply, err := c.Request(ctx, adv, mods...)
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			if reply.MessageType != dhcpv6.MessageTypeReply || reply.Options.OneIANA() == nil {
				t.Fatalf("got %s, want a Reply with an address", reply.Summary())
			}
			if got := reply.Options.BootFileURL(); got != tt.want {
				t.Errorf("Reply boot-file URL %q, want %q", got, tt.want)
			}
		})
	}
	if n := len(srv.Leases()); n != len(tests) {
		t.Errorf("%d leases, want one per machine (%d)", n, len(tests))
	}

	stateless := labBootConfig(t, lab, config.DHCPv6Stateless)
	stateless.Boot.HTTPPort = 8080
	if err := srv.Apply(stateless); err != nil {
		t.Fatal(err)
	}
	info, err := dhcpv6.NewMessage(dhcpv6.WithClientID(&dhcpv6.DUIDUUID{UUID: [16]byte{15: 0xff}}), wantBoot,
		withArch(0x0007), dhcpv6.WithUserClass([]byte("iPXE")))
	if err != nil {
		t.Fatal(err)
	}
	info.MessageType = dhcpv6.MessageTypeInformationRequest
	info.AddOption(dhcpv6.OptElapsedTime(0))
	reply, err := c.SendAndRead(ctx, c.RemoteAddr(), info, nclient6.IsMessageType(dhcpv6.MessageTypeReply))
	if err != nil {
		t.Fatalf("Information-request: %v", err)
	}
	if got, want := reply.Options.BootFileURL(), "http://[2001:db8:1::1]:8080/start.ipxe"; got != want {
		t.Errorf("stateless Reply boot-file URL %q, want %q", got, want)
	}
	// The server counts a reply after sending it: the client may be faster.
	for deadline := time.Now().Add(5 * time.Second); srv.Stats().ByType["INFORMATION-REQUEST"].Replied != 1 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if s := srv.Stats().ByType["INFORMATION-REQUEST"]; s.Replied != 1 {
		t.Errorf("Information-request stats %+v", s)
	}
}

// TestDhclientBootFileURL checks option 59 with a third-party client: ISC
// dhclient asks for it and sends client architecture 7 (x64 UEFI). The
// second case is a misconfigured dhclient that sends its user class as a
// bare string, without the length RFC 8415 puts before each class: it is
// answered as a client without a user class.
func TestDhclientBootFileURL(t *testing.T) {
	for _, tt := range []struct {
		name  string
		extra []string
	}{
		{"arch 7", nil},
		{"arch 7 and a bare user class", []string{
			"option dhcp6.user-class code 15 = string;",
			`send dhcp6.user-class "iPXE";`,
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lab := newLab(t)
			srv := startIn(t, lab.ServerNS, labBootConfig(t, lab, config.DHCPv6Stateful), newMemStore())

			d := newDhclient(t)
			conf := strings.Join(append([]string{
				"option dhcp6.bootfile-url code 59 = string;",
				"option dhcp6.client-arch-type code 61 = unsigned integer 16;",
				"send dhcp6.client-arch-type 7;",
				"also request dhcp6.name-servers;",
				"also request dhcp6.bootfile-url;",
			}, append(tt.extra, "")...), "\n")
			if err := os.WriteFile(filepath.Join(d.dir, "dhclient.conf"), []byte(conf), 0o644); err != nil {
				t.Fatal(err)
			}
			d.run(t, lab)
			env := d.waitEvent(t, 30*time.Second, "BOUND6")
			if got, want := env["new_dhcp6_bootfile_url"], "tftp://[2001:db8:1::1]/ipxe.efi"; got != want {
				t.Errorf("new_dhcp6_bootfile_url=%q, want %q (arch 7 from dhclient's send statement)", got, want)
			}
			if got := env["new_dhcp6_name_servers"]; got != "2001:db8:1::53" {
				t.Errorf("name servers %q", got)
			}
			addr := d.leasedAddr(t)
			l, ok := findLease(srv.Leases(), addr)
			if !ok {
				t.Fatalf("no server lease for %s", addr)
			}
			if l.ClientArch == nil || *l.ClientArch != 7 || l.UserClass != "" {
				t.Errorf("lease records arch %v, user class %q; want 7 and none", l.ClientArch, l.UserClass)
			}
			if m := srv.Stats().Malformed; m != 0 {
				t.Errorf("%d messages counted malformed", m)
			}
		})
	}
}
