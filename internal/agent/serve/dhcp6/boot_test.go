package dhcp6

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/bootfile"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

var bootServerAddr = netip.MustParseAddr("2001:db8:1::1")

// bootConfig is testConfig with the default boot rules and a server address.
func bootConfig(mode config.DHCPv6Mode) Config {
	cfg := testConfig(mode)
	cfg.Boot = config.DefaultBoot()
	cfg.ServerAddress = bootServerAddr
	return cfg
}

// Modifiers as boot clients use them.
var (
	wantBoot  = dhcpv6.WithRequestedOptions(dhcpv6.OptionBootfileURL, dhcpv6.OptionBootfileParam)
	ipxeClass = dhcpv6.WithUserClass([]byte("iPXE"))
)

func withArch(a uint16) dhcpv6.Modifier { return dhcpv6.WithArchType(iana.Arch(a)) }

// Ways of asking: each returns the server's Advertise or Reply to a client
// message carrying mods.
type asker func(t *testing.T, h *handler, mods ...dhcpv6.Modifier) *dhcpv6.Message

func askSolicit(t *testing.T, h *handler, mods ...dhcpv6.Modifier) *dhcpv6.Message {
	return exchange(t, h, newSolicit(t, mods...), t0)
}

func askRequest(t *testing.T, h *handler, mods ...dhcpv6.Modifier) *dhcpv6.Message {
	return request(t, h, t0, mods...)
}

func askRapid(t *testing.T, h *handler, mods ...dhcpv6.Modifier) *dhcpv6.Message {
	return exchange(t, h, newSolicit(t, append(mods, dhcpv6.WithRapidCommit)...), t0)
}

func askRenew(t *testing.T, h *handler, mods ...dhcpv6.Modifier) *dhcpv6.Message {
	addr, _, _ := leased(t, request(t, h, t0))
	return exchange(t, h, withMods(clientMessage(t, dhcpv6.MessageTypeRenew, clientDUID, serverDUID, iaNA(clientIAID, addr.String())), mods), t0)
}

func askRebind(t *testing.T, h *handler, mods ...dhcpv6.Modifier) *dhcpv6.Message {
	addr, _, _ := leased(t, request(t, h, t0))
	return exchange(t, h, withMods(clientMessage(t, dhcpv6.MessageTypeRebind, clientDUID, nil, iaNA(clientIAID, addr.String())), mods), t0)
}

func askInfo(t *testing.T, h *handler, mods ...dhcpv6.Modifier) *dhcpv6.Message {
	return exchange(t, h, withMods(clientMessage(t, dhcpv6.MessageTypeInformationRequest, clientDUID, nil), mods), t0)
}

func withMods(m *dhcpv6.Message, mods []dhcpv6.Modifier) *dhcpv6.Message {
	for _, mod := range mods {
		mod(m)
	}
	return m
}

// bootOf is what a response says about the boot file.
type bootOf struct {
	url        string
	params     []string
	httpClient bool // vendor class 343 "HTTPClient"
	vendorOpts int  // option 16 instances
}

func bootOptions(m *dhcpv6.Message) bootOf {
	b := bootOf{url: m.Options.BootFileURL(), params: m.Options.BootFileParam(), vendorOpts: len(m.Options.Get(dhcpv6.OptionVendorClass))}
	for _, d := range m.Options.VendorClass(enterprisePXE) {
		if string(d) == "HTTPClient" {
			b.httpClient = true
		}
	}
	return b
}

func TestBootFileURL(t *testing.T) {
	const (
		script  = "http://[2001:db8:1::1]/start.ipxe"
		undi    = "tftp://[2001:db8:1::1]/undionly.kpxe"
		efi     = "tftp://[2001:db8:1::1]/ipxe.efi"
		arm64   = "tftp://[2001:db8:1::1]/ipxe-arm64.efi"
		httpEFI = "http://[2001:db8:1::1]/ipxe.efi"
	)
	custom := bootConfig(config.DHCPv6Stateful)
	custom.Boot.Rules = []bootfile.Rule{
		{VendorClass: "PXEClient:Arch:00007", File: "snp.efi", Via: bootfile.TFTP, Parameters: []string{"console=ttyS0", "ip=dhcp6"}},
		{UserClass: "iPXE", URL: "https://boot.example/menu.ipxe", Parameters: []string{"menu"}},
		{File: "fallback.efi", Via: bootfile.HTTP},
	}
	otherPort := bootConfig(config.DHCPv6Stateful)
	otherPort.Boot.HTTPPort = 8080
	noAddr := bootConfig(config.DHCPv6Stateful)
	noAddr.ServerAddress = netip.Addr{}
	linkLocalAddr := bootConfig(config.DHCPv6Stateful)
	linkLocalAddr.ServerAddress = netip.MustParseAddr("fe80::1")
	noAddrAbsolute := noAddr
	noAddrAbsolute.Boot.Rules = []bootfile.Rule{{UserClass: "iPXE", URL: "http://[2001:db8:9::9]/boot.ipxe"}, {File: "ipxe.efi", Via: bootfile.TFTP}}
	stateless := bootConfig(config.DHCPv6Stateless)
	edk2VendorClass := dhcpv6.WithOption(&dhcpv6.OptVendorClass{EnterpriseNumber: enterprisePXE, Data: [][]byte{[]byte("PXEClient:Arch:00007:UNDI:003016")}})

	tests := []struct {
		name string
		cfg  Config
		ask  asker
		mods []dhcpv6.Modifier
		want bootOf
	}{
		{name: "iPXE gets its script over HTTP", ask: askSolicit, mods: []dhcpv6.Modifier{wantBoot, withArch(0x0007), ipxeClass}, want: bootOf{url: script}},
		{name: "BIOS gets undionly.kpxe", ask: askSolicit, mods: []dhcpv6.Modifier{wantBoot, withArch(0x0000)}, want: bootOf{url: undi}},
		{name: "x64 UEFI gets ipxe.efi", ask: askSolicit, mods: []dhcpv6.Modifier{wantBoot, withArch(0x0007)}, want: bootOf{url: efi}},
		{name: "ARM64 UEFI gets ipxe-arm64.efi", ask: askSolicit, mods: []dhcpv6.Modifier{wantBoot, withArch(0x000b)}, want: bootOf{url: arm64}},
		{name: "x64 UEFI HTTP gets an http URL and HTTPClient", ask: askSolicit, mods: []dhcpv6.Modifier{wantBoot, withArch(0x0010)}, want: bootOf{url: httpEFI, httpClient: true, vendorOpts: 1}},
		{name: "UEFI HTTP in the Request too", ask: askRequest, mods: []dhcpv6.Modifier{wantBoot, withArch(0x0010)}, want: bootOf{url: httpEFI, httpClient: true, vendorOpts: 1}},
		{name: "unknown arch LoongArch64 gets nothing", ask: askSolicit, mods: []dhcpv6.Modifier{wantBoot, withArch(0x0027)}},
		{name: "every listed arch counts", ask: askSolicit, mods: []dhcpv6.Modifier{wantBoot, dhcpv6.WithOption(dhcpv6.OptClientArchType(0x0027, 0x000b))}, want: bootOf{url: arm64}},
		{name: "rule order wins over arch order", ask: askSolicit, mods: []dhcpv6.Modifier{wantBoot, dhcpv6.WithOption(dhcpv6.OptClientArchType(0x000b, 0x0007))}, want: bootOf{url: efi}},
		{name: "no option 59 in the ORO", ask: askSolicit, mods: []dhcpv6.Modifier{withArch(0x0000), ipxeClass}},
		{name: "only option 60 in the ORO", ask: askSolicit, mods: []dhcpv6.Modifier{dhcpv6.WithRequestedOptions(dhcpv6.OptionBootfileParam), withArch(0x0000)}},
		{name: "no arch, no class", ask: askSolicit, mods: []dhcpv6.Modifier{wantBoot}},
		{name: "Request", ask: askRequest, mods: []dhcpv6.Modifier{wantBoot, withArch(0x0000)}, want: bootOf{url: undi}},
		{name: "rapid commit Reply", ask: askRapid, mods: []dhcpv6.Modifier{wantBoot, withArch(0x0007), ipxeClass}, want: bootOf{url: script}},
		{name: "Renew", ask: askRenew, mods: []dhcpv6.Modifier{wantBoot, withArch(0x000b)}, want: bootOf{url: arm64}},
		{name: "Rebind", ask: askRebind, mods: []dhcpv6.Modifier{wantBoot, withArch(0x000b)}, want: bootOf{url: arm64}},
		{name: "stateful Information-request", ask: askInfo, mods: []dhcpv6.Modifier{wantBoot, ipxeClass}, want: bootOf{url: script}},
		{name: "stateless Information-request from iPXE", cfg: stateless, ask: askInfo, mods: []dhcpv6.Modifier{wantBoot, withArch(0x0007), ipxeClass}, want: bootOf{url: script}},
		{name: "stateless Information-request from firmware", cfg: stateless, ask: askInfo, mods: []dhcpv6.Modifier{wantBoot, withArch(0x0000)}, want: bootOf{url: undi}},
		{name: "stateless Request", cfg: stateless, ask: func(t *testing.T, h *handler, mods ...dhcpv6.Modifier) *dhcpv6.Message {
			return exchange(t, h, withMods(clientMessage(t, dhcpv6.MessageTypeRequest, clientDUID, serverDUID, iaNA(1)), mods), t0)
		}, mods: []dhcpv6.Modifier{wantBoot, withArch(0x0000)}, want: bootOf{url: undi}},
		{name: "HTTP port in http URLs only", cfg: otherPort, ask: askSolicit, mods: []dhcpv6.Modifier{wantBoot, withArch(0x0007), ipxeClass}, want: bootOf{url: "http://[2001:db8:1::1]:8080/start.ipxe"}},
		{name: "HTTP port not in tftp URLs", cfg: otherPort, ask: askSolicit, mods: []dhcpv6.Modifier{wantBoot, withArch(0x0000)}, want: bootOf{url: undi}},
		{name: "custom rule by vendor class with parameters", cfg: custom, ask: askSolicit, mods: []dhcpv6.Modifier{wantBoot, withArch(0x0007), edk2VendorClass},
			want: bootOf{url: "tftp://[2001:db8:1::1]/snp.efi", params: []string{"console=ttyS0", "ip=dhcp6"}}},
		{name: "custom absolute https URL with a parameter", cfg: custom, ask: askInfo, mods: []dhcpv6.Modifier{wantBoot, ipxeClass}, want: bootOf{url: "https://boot.example/menu.ipxe", params: []string{"menu"}}},
		{name: "custom catch-all for an HTTP-boot arch", cfg: custom, ask: askRequest, mods: []dhcpv6.Modifier{wantBoot, withArch(0x0013)}, want: bootOf{url: "http://[2001:db8:1::1]/fallback.efi", httpClient: true, vendorOpts: 1}},
		{name: "custom catch-all, no HTTPClient for a PXE arch", cfg: custom, ask: askSolicit, mods: []dhcpv6.Modifier{wantBoot, withArch(0x000b)}, want: bootOf{url: "http://[2001:db8:1::1]/fallback.efi"}},
		{name: "no server address", cfg: noAddr, ask: askSolicit, mods: []dhcpv6.Modifier{wantBoot, withArch(0x0007), ipxeClass}},
		{name: "link-local server address", cfg: linkLocalAddr, ask: askSolicit, mods: []dhcpv6.Modifier{wantBoot, withArch(0x0000)}},
		{name: "no server address, absolute URL rule", cfg: noAddrAbsolute, ask: askSolicit, mods: []dhcpv6.Modifier{wantBoot, ipxeClass}, want: bootOf{url: "http://[2001:db8:9::9]/boot.ipxe"}},
		{name: "no server address, file rule", cfg: noAddrAbsolute, ask: askSolicit, mods: []dhcpv6.Modifier{wantBoot, withArch(0x0007)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg.Interface.Name == "" {
				cfg = bootConfig(config.DHCPv6Stateful)
			}
			h, _ := newTestHandler(cfg)
			resp := tt.ask(t, h, tt.mods...)
			got := bootOptions(resp)
			if got.url != tt.want.url || !slices.Equal(got.params, tt.want.params) || got.httpClient != tt.want.httpClient || got.vendorOpts != tt.want.vendorOpts {
				t.Errorf("got %+v, want %+v in %s", got, tt.want, resp.Summary())
			}
			if n := len(resp.Options.Get(dhcpv6.OptionBootfileURL)); n > 1 {
				t.Errorf("%d boot-file URL options", n)
			}
			if resp.Options.Status() != nil && resp.Options.Status().StatusCode != iana.StatusSuccess {
				t.Errorf("unexpected status: %s", resp.Summary())
			}
		})
	}
}

// TestNoBootFileURL checks the responses that must not carry option 59 even
// when the client asks: Release, Decline and Confirm replies, the
// NoAddrsAvail Advertise (RFC 8415 section 18.3.9: only the status and the
// identifiers) and the UseMulticast Reply.
func TestNoBootFileURL(t *testing.T) {
	mods := []dhcpv6.Modifier{wantBoot, withArch(0x0000)}
	for _, typ := range []dhcpv6.MessageType{dhcpv6.MessageTypeRelease, dhcpv6.MessageTypeDecline} {
		h, _ := newTestHandler(bootConfig(config.DHCPv6Stateful))
		addr, _, _ := leased(t, request(t, h, t0))
		reply := exchange(t, h, withMods(clientMessage(t, typ, clientDUID, serverDUID, iaNA(clientIAID, addr.String())), mods), t0)
		if u := reply.Options.BootFileURL(); u != "" {
			t.Errorf("%s Reply carries boot-file URL %q", typ, u)
		}
	}
	h, _ := newTestHandler(bootConfig(config.DHCPv6Stateful))
	if u := exchange(t, h, withMods(clientMessage(t, dhcpv6.MessageTypeConfirm, clientDUID, nil, iaNA(1, "2001:db8:1::123")), mods), t0).Options.BootFileURL(); u != "" {
		t.Errorf("Confirm Reply carries boot-file URL %q", u)
	}
	resp, err := h.handleAlone(withMods(clientMessage(t, dhcpv6.MessageTypeRequest, clientDUID, serverDUID, iaNA(1)), mods), clientLL, true, t0)
	if err != nil || resp.Options.BootFileURL() != "" {
		t.Errorf("UseMulticast Reply: %v, %v", resp, err)
	}
	for _, cfg := range []Config{bootConfig(config.DHCPv6Stateless), func() Config {
		c := bootConfig(config.DHCPv6Stateful)
		c.DHCPv6.Ranges[0].End = c.DHCPv6.Ranges[0].Start
		return c
	}()} {
		h, _ := newTestHandler(cfg)
		if cfg.DHCPv6.Mode == config.DHCPv6Stateful {
			if _, _, err := h.pool.Bind(lease.Lease{Kind: lease.NA, DUID: otherDUID.ToBytes(), IAID: 1, ValidUntil: t0.Add(lease.OfferTTL)}, t0); err != nil {
				t.Fatal(err)
			}
		}
		adv := exchange(t, h, newSolicit(t, mods...), t0)
		if status(adv) != iana.StatusNoAddrsAvail || len(adv.Options.Options) != 3 {
			t.Errorf("%s: got %s, want only NoAddrsAvail and the identifiers", cfg.DHCPv6.Mode, adv.Summary())
		}
	}
}

func TestBootClientOf(t *testing.T) {
	// What iPXE sends (src/net/udp/dhcpv6.c), plus a second user class and
	// an arch beyond insomniacslk's named constants.
	req := newSolicit(t,
		wantBoot,
		dhcpv6.WithOption(dhcpv6.OptClientArchType(0x0027, iana.EFI_X86_64)),
		dhcpv6.WithOption(&dhcpv6.OptUserClass{UserClasses: [][]byte{[]byte("iPXE"), []byte("lab")}}),
		dhcpv6.WithOption(&dhcpv6.OptVendorClass{EnterpriseNumber: enterprisePXE, Data: [][]byte{[]byte("PXEClient:Arch:00007:UNDI:003010")}}),
	)
	// A second option 16 (RFC 8415 allows one per enterprise number).
	req.AddOption(&dhcpv6.OptVendorClass{EnterpriseNumber: 99, Data: [][]byte{[]byte("a"), []byte("b")}})
	// As the server sees it: parsed from the wire.
	parsed, err := dhcpv6.MessageFromBytes(req.ToBytes())
	if err != nil {
		t.Fatal(err)
	}
	got := bootClientOf(parsed)
	if !slices.Equal(got.Arch, []uint16{0x0027, 0x0007}) {
		t.Errorf("arch %#v", got.Arch)
	}
	if !slices.Equal(got.UserClasses, []string{"iPXE", "lab"}) {
		t.Errorf("user classes %q", got.UserClasses)
	}
	if !slices.Equal(got.VendorClasses, []string{"PXEClient:Arch:00007:UNDI:003010", "a", "b"}) {
		t.Errorf("vendor classes %q", got.VendorClasses)
	}
	if empty := bootClientOf(clientMessage(t, dhcpv6.MessageTypeSolicit, clientDUID, nil)); len(empty.Arch)+len(empty.UserClasses)+len(empty.VendorClasses) != 0 {
		t.Errorf("client without options: %+v", empty)
	}
	// An option 61 the library kept generic (built in memory) still counts.
	generic := clientMessage(t, dhcpv6.MessageTypeSolicit, clientDUID, nil)
	generic.AddOption(&dhcpv6.OptionGeneric{OptionCode: dhcpv6.OptionClientArchType, OptionData: []byte{0, 0x27, 0, 0x0b, 0xff}})
	if got := bootClientOf(generic).Arch; !slices.Equal(got, []uint16{0x27, 0x0b}) {
		t.Errorf("generic option 61: %#v", got)
	}
}

func TestBootAddrProblem(t *testing.T) {
	for addr, ok := range map[string]bool{"": false, "::": false, "2001:db8:1::1": true, "fd00::1": true, "fe80::1": false, "192.0.2.1": false, "::ffff:192.0.2.1": false, "ff02::1": false, "::1": false} {
		var a netip.Addr
		if addr != "" {
			a = netip.MustParseAddr(addr)
		}
		reason := bootAddrProblem(a)
		if (reason == "") != ok {
			t.Errorf("%q: reason %q, want usable %v", addr, reason, ok)
		}
		if reason != "" && !strings.HasPrefix(reason, noBootAddress) {
			t.Errorf("%q: reason %q does not start with %q", addr, reason, noBootAddress)
		}
	}
}

// logLines decodes a JSON log.
func logLines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		m := map[string]any{}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func jsonLogger(b *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestBootDecisionLog(t *testing.T) {
	var buf bytes.Buffer
	cfg := bootConfig(config.DHCPv6Stateless)
	h := newHandler(serverDUID, cfg, lease.NewPool(lease.Spaces{}), newMemStore(), jsonLogger(&buf))
	vc := dhcpv6.WithOption(&dhcpv6.OptVendorClass{EnterpriseNumber: enterprisePXE, Data: [][]byte{[]byte("PXEClient:Arch:00007:UNDI:003010")}})
	exchange(t, h, withMods(clientMessage(t, dhcpv6.MessageTypeInformationRequest, clientDUID, nil), []dhcpv6.Modifier{wantBoot, withArch(0x0007), ipxeClass, vc}), t0)
	exchange(t, h, withMods(clientMessage(t, dhcpv6.MessageTypeInformationRequest, clientDUID, nil), []dhcpv6.Modifier{withArch(0x0000)}), t0)
	exchange(t, h, withMods(clientMessage(t, dhcpv6.MessageTypeInformationRequest, clientDUID, nil), []dhcpv6.Modifier{wantBoot, withArch(0x0027)}), t0)
	lines := logLines(t, &buf)
	if len(lines) != 3 {
		t.Fatalf("%d log lines, want one per decision:\n%s", len(lines), buf.String())
	}
	want := []map[string]any{
		{"level": "INFO", "duid": "00030001525400123456", "arch": "0x0007", "user_class": "iPXE", "vendor_class": "PXEClient:Arch:00007:UNDI:003010",
			"url": "http://[2001:db8:1::1]/start.ipxe", "reason": `rule 0: user class "iPXE"`, "msg_type": "INFORMATION-REQUEST", "hardware_addr": clientMAC.String()},
		{"level": "DEBUG", "arch": "0x0000", "user_class": "", "url": nil, "reason": nil},
		{"level": "INFO", "arch": "0x0027", "url": "", "reason": "no rule matches client (arch [0x0027], user class [], vendor class [], DUID 00030001525400123456, MAC \"52:54:00:12:34:56\")"},
	}
	for i, w := range want {
		for k, v := range w {
			if got := lines[i][k]; got != v {
				t.Errorf("line %d: %s = %#v, want %#v (%v)", i, k, got, v, lines[i])
			}
		}
	}
}

// TestApplyBoot checks that Apply changes rules and server address live and
// warns, once per Apply, when file rules have no address to put in URLs.
func TestApplyBoot(t *testing.T) {
	var buf bytes.Buffer
	cfg := bootConfig(config.DHCPv6Stateful)
	h, _ := newTestHandler(cfg)
	s := &Server{link: &serverLink{ifi: &net.Interface{Name: cfg.Interface.Name}}, h: h, logger: jsonLogger(&buf)}
	ask := func() string {
		return askSolicit(t, h, wantBoot, withArch(0x0000)).Options.BootFileURL()
	}
	warnings := func() int {
		n := 0
		for _, l := range logLines(t, &buf) {
			if l["level"] == "WARN" && l["reason"] == noBootAddress {
				n++
			}
		}
		buf.Reset()
		return n
	}
	if got := ask(); got != "tftp://[2001:db8:1::1]/undionly.kpxe" {
		t.Fatalf("before Apply: %q", got)
	}

	moved := bootConfig(config.DHCPv6Stateful)
	moved.ServerAddress = netip.MustParseAddr("2001:db8:1::2")
	moved.Boot.Rules[1].File = "undionly.kpxe.0"
	if err := s.Apply(moved); err != nil {
		t.Fatal(err)
	}
	moved.Boot.Rules[1].File = "changed after Apply"
	if got := ask(); got != "tftp://[2001:db8:1::2]/undionly.kpxe.0" {
		t.Errorf("after Apply: %q", got)
	}
	if n := warnings(); n != 0 {
		t.Errorf("%d warnings with a server address", n)
	}

	none := bootConfig(config.DHCPv6Stateful)
	none.ServerAddress = netip.Addr{}
	if err := s.Apply(none); err != nil {
		t.Fatal(err)
	}
	if got := ask(); got != "" {
		t.Errorf("without a server address: %q", got)
	}
	ask()
	if n := warnings(); n != 1 {
		t.Errorf("%d warnings after one Apply without a server address, want 1", n)
	}

	absolute := none
	absolute.Boot.Rules = []bootfile.Rule{{URL: "tftp://[2001:db8:9::9]/undionly.kpxe"}}
	if err := s.Apply(absolute); err != nil {
		t.Fatal(err)
	}
	if got := ask(); got != "tftp://[2001:db8:9::9]/undionly.kpxe" {
		t.Errorf("absolute URL without a server address: %q", got)
	}
	if n := warnings(); n != 0 {
		t.Errorf("%d warnings though no rule needs the server address", n)
	}
}

func TestDecideBoot(t *testing.T) {
	cfg := bootConfig(config.DHCPv6Stateless)
	noAddr := cfg
	noAddr.ServerAddress = netip.Addr{}
	tests := []struct {
		name          string
		cfg           Config
		mods          []dhcpv6.Modifier
		wantRequested bool
		wantRule      int
		wantReason    string // substring
		wantOptions   []dhcpv6.OptionCode
	}{
		{name: "not requested", cfg: cfg, mods: []dhcpv6.Modifier{ipxeClass}},
		{name: "iPXE", cfg: cfg, mods: []dhcpv6.Modifier{wantBoot, ipxeClass}, wantRequested: true, wantReason: `rule 0: user class "iPXE"`, wantOptions: []dhcpv6.OptionCode{dhcpv6.OptionBootfileURL}},
		{name: "UEFI HTTP", cfg: cfg, mods: []dhcpv6.Modifier{wantBoot, withArch(0x0010)}, wantRequested: true, wantRule: 6, wantReason: "rule 6: arch 0x0010",
			wantOptions: []dhcpv6.OptionCode{dhcpv6.OptionBootfileURL, dhcpv6.OptionVendorClass}},
		{name: "no match", cfg: cfg, mods: []dhcpv6.Modifier{wantBoot, withArch(0x0027)}, wantRequested: true, wantRule: -1, wantReason: "no rule matches"},
		{name: "no server address", cfg: noAddr, mods: []dhcpv6.Modifier{wantBoot, withArch(0x0000)}, wantRequested: true, wantRule: 1, wantReason: "rule 1: arch 0x0000; not sent: " + noBootAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := withMods(clientMessage(t, dhcpv6.MessageTypeInformationRequest, clientDUID, nil), tt.mods)
			a := decideBoot(req, clientOf(req, clientLL), &tt.cfg)
			var codes []dhcpv6.OptionCode
			for _, o := range a.options {
				codes = append(codes, o.Code())
			}
			if a.requested != tt.wantRequested || !slices.Equal(codes, tt.wantOptions) {
				t.Fatalf("requested %v, options %v; want %v, %v", a.requested, codes, tt.wantRequested, tt.wantOptions)
			}
			if !tt.wantRequested {
				return
			}
			if a.decision.RuleIndex != tt.wantRule || !strings.Contains(a.decision.Reason, tt.wantReason) {
				t.Errorf("rule %d, reason %q; want rule %d, reason containing %q", a.decision.RuleIndex, a.decision.Reason, tt.wantRule, tt.wantReason)
			}
		})
	}
}
