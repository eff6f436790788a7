package config

import (
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/bootfile"
)

func validStateful() BootServer {
	return BootServer{
		Name:      "lab",
		Interface: "eth0",
		Prefix:    netip.MustParsePrefix("2001:db8:1::/64"),
		RA: RouterAdvertisement{
			Managed: true, OtherConfig: true,
			MinInterval: Defaults.MinInterval, MaxInterval: Defaults.MaxInterval,
			PrefixOnLink: true, PrefixAutonomous: true,
			PrefixValidLifetime: Defaults.PrefixValidLifetime, PrefixPreferredLifetime: Defaults.PrefixPreferredLifetime,
			RDNSS: []netip.Addr{netip.MustParseAddr("2001:db8:1::53")}, DNSSL: []string{"lab.example"},
			DNSLifetime: Defaults.DNSLifetime,
		},
		DHCPv6: DHCPv6{
			Mode:      DHCPv6Stateful,
			Ranges:    []AddressRange{{Start: netip.MustParseAddr("2001:db8:1::1000"), End: netip.MustParseAddr("2001:db8:1::1fff")}},
			RenewTime: Defaults.RenewTime, RebindTime: Defaults.RebindTime,
			PreferredLifetime: Defaults.PreferredLifetime, ValidLifetime: Defaults.ValidLifetime,
		},
		Boot: DefaultBoot(),
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*BootServer)
		field  string // "" means valid
		reason string
	}{
		{"valid stateful", func(*BootServer) {}, "", ""},
		{"valid stateless", func(b *BootServer) {
			b.DHCPv6.Mode, b.DHCPv6.Ranges, b.RA.Managed = DHCPv6Stateless, nil, false
		}, "", ""},
		{"valid off", func(b *BootServer) {
			b.DHCPv6.Mode, b.DHCPv6.Ranges, b.RA.Managed, b.RA.OtherConfig = DHCPv6Off, nil, false, false
		}, "", ""},
		{"bad name", func(b *BootServer) { b.Name = "Lab One" }, "name", "lowercase"},
		{"long interface", func(b *BootServer) { b.Interface = "averyveryverylongname" }, "interface", "1-15"},
		{"slash in interface", func(b *BootServer) { b.Interface = "eth0/1" }, "interface", "without '/'"},
		{"prefix /48", func(b *BootServer) { b.Prefix = netip.MustParsePrefix("2001:db8::/48") }, "prefix", "must be a /64"},
		{"prefix host bits", func(b *BootServer) { b.Prefix = netip.MustParsePrefix("2001:db8:1::1/64") }, "prefix", "host bits"},
		{"prefix ipv4", func(b *BootServer) { b.Prefix = netip.MustParsePrefix("10.0.0.0/24") }, "prefix", "not IPv4"},
		{"prefix link-local", func(b *BootServer) {
			b.Prefix = netip.MustParsePrefix("fe80::/64")
			b.DHCPv6.Ranges = nil
			b.DHCPv6.Mode = DHCPv6Off
			b.RA.Managed = false
			b.RA.OtherConfig = false
		}, "prefix", "link-local"},
		{"range outside prefix", func(b *BootServer) { b.DHCPv6.Ranges[0].End = netip.MustParseAddr("2001:db8:2::1") }, "dhcpv6.ranges[0].end", "outside prefix"},
		{"range reversed", func(b *BootServer) {
			b.DHCPv6.Ranges[0] = AddressRange{Start: netip.MustParseAddr("2001:db8:1::2000"), End: netip.MustParseAddr("2001:db8:1::1000")}
		}, "dhcpv6.ranges[0].end", "below start"},
		{"ranges overlap", func(b *BootServer) {
			b.DHCPv6.Ranges = append(b.DHCPv6.Ranges, AddressRange{Start: netip.MustParseAddr("2001:db8:1::1800"), End: netip.MustParseAddr("2001:db8:1::2800")})
		}, "dhcpv6.ranges[1]", "overlaps ranges[0]"},
		{"stateful without ranges", func(b *BootServer) { b.DHCPv6.Ranges = nil }, "dhcpv6.ranges", "at least one range"},
		{"stateless with ranges", func(b *BootServer) { b.DHCPv6.Mode = DHCPv6Stateless; b.RA.Managed = false }, "dhcpv6.ranges", "only used when"},
		{"bad mode", func(b *BootServer) { b.DHCPv6.Mode = "auto" }, "dhcpv6.mode", "one of"},
		{"stateful needs M", func(b *BootServer) { b.RA.Managed = false }, "router_advertisement.managed", "must be true"},
		{"stateless needs O", func(b *BootServer) {
			b.DHCPv6.Mode, b.DHCPv6.Ranges, b.RA.Managed, b.RA.OtherConfig = DHCPv6Stateless, nil, false, false
		}, "router_advertisement.other_config", "must be true"},
		{"off forbids O", func(b *BootServer) {
			b.DHCPv6.Mode, b.DHCPv6.Ranges, b.RA.Managed = DHCPv6Off, nil, false
		}, "router_advertisement.other_config", "must be false"},
		{"T1 above T2", func(b *BootServer) { b.DHCPv6.RenewTime = b.DHCPv6.RebindTime + time.Second }, "dhcpv6.renew_time", "rebind_time"},
		{"T2 above preferred", func(b *BootServer) { b.DHCPv6.RebindTime = b.DHCPv6.PreferredLifetime + time.Second }, "dhcpv6.rebind_time", "preferred_lifetime"},
		{"preferred above valid", func(b *BootServer) { b.DHCPv6.PreferredLifetime = b.DHCPv6.ValidLifetime + time.Second }, "dhcpv6.preferred_lifetime", "valid_lifetime"},
		{"min interval too big", func(b *BootServer) { b.RA.MinInterval = b.RA.MaxInterval }, "router_advertisement.min_interval", "0.75"},
		{"max interval too big", func(b *BootServer) { b.RA.MaxInterval = time.Hour }, "router_advertisement.max_interval", "1800"},
		{"router lifetime below max interval", func(b *BootServer) { b.RA.RouterLifetime = 10 * time.Second }, "router_advertisement.router_lifetime", "max_interval"},
		{"rdnss multicast", func(b *BootServer) { b.RA.RDNSS = []netip.Addr{netip.MustParseAddr("ff02::1")} }, "router_advertisement.rdnss[0]", "unicast"},
		{"dnssl bad label", func(b *BootServer) { b.RA.DNSSL = []string{"-bad.example"} }, "router_advertisement.dnssl[0]", "hyphen"},
		{"dns server ipv4", func(b *BootServer) { b.DHCPv6.DNSServers = []netip.Addr{netip.MustParseAddr("192.0.2.1")} }, "dhcpv6.dns_servers[0]", "not IPv4"},
		{"info refresh too small", func(b *BootServer) { b.DHCPv6.InfoRefreshTime = time.Minute }, "dhcpv6.info_refresh_time", "600"},
		// The seed's dhcpd6.conf: range6 … temporary, prefix6 … /64.
		{"valid seed", func(b *BootServer) {
			b.Prefix = netip.MustParsePrefix("3ffe:501:ffff:100::/64")
			b.DHCPv6.Ranges = []AddressRange{rangeOf("3ffe:501:ffff:100::10", "3ffe:501:ffff:100::11")}
			b.DHCPv6.TemporaryRanges = []AddressRange{rangeOf("3ffe:501:ffff:100::100", "3ffe:501:ffff:100::1ff")}
			b.DHCPv6.PrefixDelegation = &PrefixDelegation{Start: netip.MustParseAddr("3ffe:501:ffff:101::"), End: netip.MustParseAddr("3ffe:501:ffff:111::"), Length: 64}
			b.DHCPv6.Preference = 255
			b.DHCPv6.InfoRefreshTime = 21600 * time.Second
		}, "", ""},
		{"valid /56 delegation", func(b *BootServer) { b.DHCPv6.PrefixDelegation = seedPD("2001:db8:100::", "2001:db8:1ff:ff00::", 56) }, "", ""},
		{"temporary range outside prefix", func(b *BootServer) {
			b.DHCPv6.TemporaryRanges = []AddressRange{rangeOf("2001:db8:1::2000", "2001:db8:2::1")}
		}, "dhcpv6.temporary_ranges[0].end", "outside prefix"},
		{"temporary range reversed", func(b *BootServer) {
			b.DHCPv6.TemporaryRanges = []AddressRange{rangeOf("2001:db8:1::3000", "2001:db8:1::2000")}
		}, "dhcpv6.temporary_ranges[0].end", "below start"},
		{"temporary range overlaps a range", func(b *BootServer) {
			b.DHCPv6.TemporaryRanges = []AddressRange{rangeOf("2001:db8:1::1f00", "2001:db8:1::20ff")}
		}, "dhcpv6.temporary_ranges[0]", "overlaps ranges[0] (2001:db8:1::1000-2001:db8:1::1fff)"},
		{"temporary ranges overlap", func(b *BootServer) {
			b.DHCPv6.TemporaryRanges = []AddressRange{rangeOf("2001:db8:1::2000", "2001:db8:1::20ff"), rangeOf("2001:db8:1::2080", "2001:db8:1::2100")}
		}, "dhcpv6.temporary_ranges[1]", "overlaps temporary_ranges[0]"},
		{"temporary ranges when stateless", func(b *BootServer) {
			b.DHCPv6.Mode, b.DHCPv6.Ranges, b.RA.Managed = DHCPv6Stateless, nil, false
			b.DHCPv6.TemporaryRanges = []AddressRange{rangeOf("2001:db8:1::2000", "2001:db8:1::20ff")}
		}, "dhcpv6.temporary_ranges", "only used when"},
		{"delegation when stateless", func(b *BootServer) {
			b.DHCPv6.Mode, b.DHCPv6.Ranges, b.RA.Managed = DHCPv6Stateless, nil, false
			b.DHCPv6.PrefixDelegation = seedPD("2001:db8:100::", "2001:db8:111::", 64)
		}, "dhcpv6.prefix_delegation", "only used when"},
		{"delegated length too long", func(b *BootServer) { b.DHCPv6.PrefixDelegation = seedPD("2001:db8:100::", "2001:db8:111::", 80) }, "dhcpv6.prefix_delegation.length", "between 48 and 64"},
		{"delegated length too short", func(b *BootServer) { b.DHCPv6.PrefixDelegation = seedPD("2001:db8::", "2001:db8::", 32) }, "dhcpv6.prefix_delegation.length", "between 48 and 64"},
		{"delegation start not aligned", func(b *BootServer) { b.DHCPv6.PrefixDelegation = seedPD("2001:db8:100::1", "2001:db8:111::", 64) }, "dhcpv6.prefix_delegation.start", "write 2001:db8:100::"},
		{"delegation end not aligned to /56", func(b *BootServer) { b.DHCPv6.PrefixDelegation = seedPD("2001:db8:100::", "2001:db8:111:180::", 56) }, "dhcpv6.prefix_delegation.end", "write 2001:db8:111:100::"},
		{"delegation reversed", func(b *BootServer) { b.DHCPv6.PrefixDelegation = seedPD("2001:db8:111::", "2001:db8:100::", 64) }, "dhcpv6.prefix_delegation.end", "below start"},
		{"delegation covers the on-link prefix", func(b *BootServer) { b.DHCPv6.PrefixDelegation = seedPD("2001:db8::", "2001:db8:2::", 64) }, "dhcpv6.prefix_delegation", "overlap the on-link prefix 2001:db8:1::/64"},
		{"/48 delegation holding the on-link prefix", func(b *BootServer) { b.DHCPv6.PrefixDelegation = seedPD("2001:db8:1::", "2001:db8:1::", 48) }, "dhcpv6.prefix_delegation", "overlap the on-link prefix"},
		{"delegation of multicast", func(b *BootServer) { b.DHCPv6.PrefixDelegation = seedPD("ff00::", "ff00::", 64) }, "dhcpv6.prefix_delegation.start", "unicast"},
		{"valid default rate limit", func(b *BootServer) { b.DHCPv6.RateLimit = Defaults.RateLimit }, "", ""},
		{"rate limits off", func(b *BootServer) { b.DHCPv6.RateLimit = RateLimit{} }, "", ""},
		{"client burst of 1", func(b *BootServer) { b.DHCPv6.RateLimit = RateLimit{PerClientPerSecond: 10, Burst: 1} }, "dhcpv6.rate_limit.burst", "between 2 and"},
		{"client rate without burst", func(b *BootServer) { b.DHCPv6.RateLimit = RateLimit{PerClientPerSecond: 10} }, "dhcpv6.rate_limit.burst", "Solicit and Request"},
		{"relay burst of 1", func(b *BootServer) { b.DHCPv6.RateLimit.PerRelayPerSecond, b.DHCPv6.RateLimit.PerRelayBurst = 10, 1 }, "dhcpv6.rate_limit.per_relay_burst", "between 2 and"},
		{"relay rate too high", func(b *BootServer) { b.DHCPv6.RateLimit.PerRelayPerSecond = MaxRate + 1 }, "dhcpv6.rate_limit.per_relay_per_second", "between 0 (no limit)"},
		{"client rate too high", func(b *BootServer) { b.DHCPv6.RateLimit = RateLimit{PerClientPerSecond: MaxRate + 1, Burst: 2} }, "dhcpv6.rate_limit.per_client_per_second", "between 0 (no limit)"},
		{"source burst of 1", func(b *BootServer) {
			b.DHCPv6.RateLimit = Defaults.RateLimit
			b.DHCPv6.RateLimit.PerSourceBurst = 1
		}, "dhcpv6.rate_limit.per_source_burst", "between 2 and"},
		{"source rate too high", func(b *BootServer) {
			b.DHCPv6.RateLimit = Defaults.RateLimit
			b.DHCPv6.RateLimit.PerSourcePerSecond = MaxRate + 1
		}, "dhcpv6.rate_limit.per_source_per_second", "messages per second"},
		{"source burst too big", func(b *BootServer) {
			b.DHCPv6.RateLimit = Defaults.RateLimit
			b.DHCPv6.RateLimit.PerSourceBurst = MaxBurst + 1
		}, "dhcpv6.rate_limit.per_source_burst", "between 2 and"},
		{"delegation of link-local", func(b *BootServer) { b.DHCPv6.PrefixDelegation = seedPD("2001:db8:100::", "fe80::", 64) }, "dhcpv6.prefix_delegation.end", "link-local"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := validStateful()
			tt.modify(&b)
			err := b.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			fes, ok := AsFieldErrors(err)
			if !ok {
				t.Fatalf("Validate() = %v, want FieldErrors on %s", err, tt.field)
			}
			for _, fe := range fes {
				if fe.Field() == tt.field && strings.Contains(fe.Reason, tt.reason) {
					return
				}
			}
			t.Fatalf("Validate() = %v, want %s: …%s…", err, tt.field, tt.reason)
		})
	}
}

func rangeOf(start, end string) AddressRange {
	return AddressRange{Start: netip.MustParseAddr(start), End: netip.MustParseAddr(end)}
}

func seedPD(start, end string, length int) *PrefixDelegation {
	return &PrefixDelegation{Start: netip.MustParseAddr(start), End: netip.MustParseAddr(end), Length: length}
}

func TestPrefixDelegationContains(t *testing.T) {
	pd := seedPD("3ffe:501:ffff:100::", "3ffe:501:ffff:111::", 64)
	for p, want := range map[string]bool{
		"3ffe:501:ffff:100::/64": true, "3ffe:501:ffff:111::/64": true, "3ffe:501:ffff:10a::/64": true,
		"3ffe:501:ffff:112::/64": false, "3ffe:501:ffff:ff::/64": false,
		"3ffe:501:ffff:100::/56": false, "3ffe:501:ffff:100::1/128": false,
	} {
		if got := pd.Contains(netip.MustParsePrefix(p)); got != want {
			t.Errorf("Contains(%s) = %v, want %v", p, got, want)
		}
	}
	if pd.Contains(netip.Prefix{}) {
		t.Error("Contains(invalid prefix)")
	}
}

func TestProtoRoundTripCanonicalises(t *testing.T) {
	b := validStateful()
	pb := b.ToProto()
	pb.Prefix = "2001:DB8:1::/64"
	pb.Dhcpv6.Ranges[0].Start = "2001:0db8:1::1000"
	got, err := FromProto(pb)
	if err != nil {
		t.Fatal(err)
	}
	back := got.ToProto()
	if back.Prefix != "2001:db8:1::/64" || back.Dhcpv6.Ranges[0].Start != "2001:db8:1::1000" {
		t.Fatalf("not canonical: %v", back)
	}
}

// TestRateLimitAndLeasequeryProto: a boot server stored before
// dhcpv6.rate_limit existed gets the default limits, explicit ones and
// allow_leasequery round-trip, and leasequery is off unless asked for.
func TestRateLimitAndLeasequeryProto(t *testing.T) {
	b := validStateful()
	pb := b.ToProto()
	pb.Dhcpv6.RateLimit = nil
	got, err := FromProto(pb)
	if err != nil {
		t.Fatal(err)
	}
	if got.DHCPv6.RateLimit != Defaults.RateLimit || got.DHCPv6.AllowLeasequery {
		t.Fatalf("without rate_limit: %+v, allow_leasequery %v; want %+v, false", got.DHCPv6.RateLimit, got.DHCPv6.AllowLeasequery, Defaults.RateLimit)
	}
	b.DHCPv6.RateLimit = RateLimit{PerClientPerSecond: 3, Burst: 5, PerSourcePerSecond: 0, PerSourceBurst: 0}
	b.DHCPv6.AllowLeasequery = true
	got, err = FromProto(b.ToProto())
	if err != nil {
		t.Fatal(err)
	}
	if got.DHCPv6.RateLimit != b.DHCPv6.RateLimit || !got.DHCPv6.AllowLeasequery {
		t.Fatalf("round trip: %+v, allow_leasequery %v", got.DHCPv6.RateLimit, got.DHCPv6.AllowLeasequery)
	}
}

func TestFromProtoNamesUnparseableFields(t *testing.T) {
	b := validStateful()
	pb := b.ToProto()
	pb.Dhcpv6.DnsServers = []string{"not-an-address"}
	pb.Dhcpv6.Preference = 300
	_, err := FromProto(pb)
	fes, ok := AsFieldErrors(err)
	if !ok || len(fes) != 2 || fes[0].Field() != "dhcpv6.dns_servers[0]" || fes[1].Field() != "dhcpv6.preference" {
		t.Fatalf("FromProto = %v", err)
	}
}

func TestValidateBoot(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Boot)
		field  string
		reason string
	}{
		{"defaults are valid", func(*Boot) {}, "", ""},
		{"file and url", func(b *Boot) { b.Rules[0].URL = "http://x/y" }, "boot.rules[0].url", "not both"},
		{"neither file nor url", func(b *Boot) { b.Rules[1].File = "" }, "boot.rules[1].file", "set file"},
		{"traversal", func(b *Boot) { b.Rules[1].File = "../etc/passwd" }, "boot.rules[1].file", `".." element`},
		{"control characters", func(b *Boot) { b.Rules[1].File = "a\nb c;d" }, "boot.rules[1].file", "control character"},
		{"backslash", func(b *Boot) { b.Rules[1].File = `boot\bcd` }, "boot.rules[1].file", "backslash"},
		{"long file", func(b *Boot) { b.Rules[1].File = strings.Repeat("a", 256) }, "boot.rules[1].file", "255 bytes"},
		{"bad via", func(b *Boot) { b.Rules[1].Via = "ftp" }, "boot.rules[1].via", "\"tftp\" or \"http\""},
		{"tftp rule with tftp off", func(b *Boot) { b.TFTP = false }, "boot.rules[1].via", "boot.tftp is false"},
		{"bad url", func(b *Boot) { b.Rules = []bootfile.Rule{{URL: "boot.ipxe"}} }, "boot.rules[0].url", "absolute"},
		{"link-local server address", func(b *Boot) { b.ServerAddress = netip.MustParseAddr("fe80::1") }, "boot.server_address", "zone"},
		{"port zero", func(b *Boot) { b.HTTPPort = 0 }, "boot.http_port", "between 1 and 65535"},
		{"xinetd's TFTP limits", func(b *Boot) { b.TFTPMaxTransfers, b.TFTPMaxTransfersPerClient = 100, 11 }, "", ""},
		{"no TFTP transfers", func(b *Boot) { b.TFTPMaxTransfers = 0 }, "boot.tftp_max_transfers", "between 1 and 1024, got 0"},
		{"too many TFTP transfers", func(b *Boot) { b.TFTPMaxTransfers = 1025 }, "boot.tftp_max_transfers", "between 1 and 1024, got 1025"},
		{"no TFTP transfers per client", func(b *Boot) { b.TFTPMaxTransfersPerClient = 0 }, "boot.tftp_max_transfers_per_client", "between 1 and tftp_max_transfers (64), got 0"},
		{"more per client than in all", func(b *Boot) { b.TFTPMaxTransfers, b.TFTPMaxTransfersPerClient = 8, 9 },
			"boot.tftp_max_transfers_per_client", "between 1 and tftp_max_transfers (8), got 9"},
		{"host rules", func(b *Boot) {
			b.Rules = append([]bootfile.Rule{{DUIDs: []string{"00030001525400ABCDEF"}, MACs: []string{"52:54:00:AB:cd:ef"}, File: "host.efi", Via: bootfile.TFTP}}, b.Rules...)
		}, "", ""},
		{"DUID with colons", func(b *Boot) { b.Rules[0].DUIDs = []string{"00:03:00:01:52:54:00:ab:cd:ef"} }, "boot.rules[0].duids[0]", "hex without separators"},
		{"DUID odd length", func(b *Boot) { b.Rules[0].DUIDs = []string{"0003000"} }, "boot.rules[0].duids[0]", "hex"},
		{"DUID too short", func(b *Boot) { b.Rules[0].DUIDs = []string{"0003"} }, "boot.rules[0].duids[0]", "3 to 130 bytes"},
		{"DUID too long", func(b *Boot) { b.Rules[0].DUIDs = []string{strings.Repeat("ab", 131)} }, "boot.rules[0].duids[0]", "3 to 130 bytes"},
		{"MAC with dashes", func(b *Boot) { b.Rules[2].MACs = []string{"52-54-00-12-34-56"} }, "boot.rules[2].macs[0]", "colon-separated"},
		{"MAC of EUI-64", func(b *Boot) { b.Rules[2].MACs = []string{"52:54:00:ff:fe:12:34:56"} }, "boot.rules[2].macs[0]", "six"},
		{"empty MAC", func(b *Boot) { b.Rules[2].MACs = []string{""} }, "boot.rules[2].macs[0]", "MAC address"},
		{"labels", func(b *Boot) { b.Rules[2].Labels = map[string]string{"role": "web", "example.com/rack": "a 1"} }, "", ""},
		{"label key with a space", func(b *Boot) { b.Rules[2].Labels = map[string]string{"my role": "web"} }, `boot.rules[2].labels["my role"]`, "a label key is"},
		{"label value on two lines", func(b *Boot) { b.Rules[2].Labels = map[string]string{"role": "web\nx"} }, `boot.rules[2].labels["role"]`, "one line"},
		{"too many labels", func(b *Boot) {
			b.Rules[2].Labels = map[string]string{}
			for i := range 65 {
				b.Rules[2].Labels[fmt.Sprintf("k%d", i)] = "v"
			}
		}, "boot.rules[2].labels", "at most 64 labels, got 65"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := validStateful()
			b.Boot = DefaultBoot()
			tt.modify(&b.Boot)
			err := b.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			fes, _ := AsFieldErrors(err)
			for _, fe := range fes {
				if fe.Field() == tt.field && strings.Contains(fe.Reason, tt.reason) {
					return
				}
			}
			t.Fatalf("Validate() = %v, want %s: …%s…", err, tt.field, tt.reason)
		})
	}
}

func TestBootProtoDefaultsAndArchRange(t *testing.T) {
	b := validStateful()
	pb := b.ToProto()
	pb.Boot = nil
	got, err := FromProto(pb)
	if err != nil || len(got.Boot.Rules) != len(bootfile.DefaultRules()) || !got.Boot.TFTP || got.Boot.HTTPPort != 80 {
		t.Fatalf("unset boot = %+v, %v; want defaults", got.Boot, err)
	}
	if got.Boot.TFTPMaxTransfers != 64 || got.Boot.TFTPMaxTransfersPerClient != 4 {
		t.Errorf("unset boot: TFTP limits %d, %d; want 64, 4", got.Boot.TFTPMaxTransfers, got.Boot.TFTPMaxTransfersPerClient)
	}
	pb = got.ToProto()
	pb.Boot.Rules[1].Arch = []uint32{0x10000}
	if _, err := FromProto(pb); err == nil || !strings.Contains(err.Error(), "boot.rules[1].arch[0]") {
		t.Fatalf("arch 0x10000: %v", err)
	}
}

// TestSeedProtoRoundTrip carries every new DHCPv6 field and host rule
// through the API form and back.
func TestSeedProtoRoundTrip(t *testing.T) {
	b := validStateful()
	b.DHCPv6.TemporaryRanges = []AddressRange{rangeOf("2001:db8:1::2000", "2001:db8:1::20ff")}
	b.DHCPv6.PrefixDelegation = seedPD("2001:db8:100::", "2001:db8:111::", 64)
	b.Boot.Rules = append([]bootfile.Rule{{DUIDs: []string{"00030001525400abcdef"}, MACs: []string{"52:54:00:ab:cd:ef"}, File: "host.efi", Via: bootfile.TFTP},
		{Labels: map[string]string{"role": "installer"}, UserClass: "iPXE", File: "install.ipxe", Via: bootfile.HTTP}}, b.Boot.Rules...)
	pb := b.ToProto()
	pb.Dhcpv6.PrefixDelegation.Start = "2001:DB8:100:0::"
	got, err := FromProto(pb)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, b) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, b)
	}
	if back := got.ToProto(); back.Dhcpv6.PrefixDelegation.GetStart() != "2001:db8:100::" || back.Dhcpv6.PrefixDelegation.GetLength() != 64 {
		t.Errorf("prefix_delegation not canonical: %v", back.Dhcpv6.PrefixDelegation)
	}
	pb.Dhcpv6.PrefixDelegation = nil
	if got, err := FromProto(pb); err != nil || got.DHCPv6.PrefixDelegation != nil {
		t.Errorf("no prefix_delegation: %+v, %v", got.DHCPv6.PrefixDelegation, err)
	}
	pb = b.ToProto()
	pb.Dhcpv6.TemporaryRanges[0].End = "nope"
	pb.Dhcpv6.PrefixDelegation.Start = "2001:db8:100::/64"
	pb.Dhcpv6.PrefixDelegation.Length = 1 << 20
	_, err = FromProto(pb)
	fes, _ := AsFieldErrors(err)
	var fields []string
	for _, fe := range fes {
		fields = append(fields, fe.Field())
	}
	// The length, though parsed, is wrong too: every problem is reported.
	if strings.Join(fields, " ") != "dhcpv6.temporary_ranges[0].end dhcpv6.prefix_delegation.start dhcpv6.prefix_delegation.length" {
		t.Errorf("unparseable new fields: %v", err)
	}
}

// TestClientLimitsProto: a boot server stored before the client limits
// existed gets the defaults; explicit values, 0 (no limit) among them,
// round-trip; values over the bounds name their attribute.
func TestClientLimitsProto(t *testing.T) {
	stored := validStateful()
	pb := stored.ToProto()
	pb.Dhcpv6.MaxIasPerMessage, pb.Dhcpv6.MaxLeasesPerClient = nil, nil
	got, err := FromProto(pb)
	if err != nil {
		t.Fatal(err)
	}
	if got.DHCPv6.MaxIAsPerMessage != 8 || got.DHCPv6.MaxLeasesPerClient != 16 {
		t.Fatalf("stored without limits: %d IAs per message, %d leases per client; want the defaults 8 and 16",
			got.DHCPv6.MaxIAsPerMessage, got.DHCPv6.MaxLeasesPerClient)
	}
	for _, tt := range []struct {
		ias, leases int
		wantErr     string
	}{
		{0, 0, ""},
		{1, 1, ""},
		{MaxIAsPerMessage, MaxLeasesPerClient, ""},
		{MaxIAsPerMessage + 1, 16, "dhcpv6.max_ias_per_message: must be between 0 (no limit) and 256"},
		{8, MaxLeasesPerClient + 1, "dhcpv6.max_leases_per_client: must be between 0 (no limit) and 65536"},
	} {
		b := validStateful()
		b.DHCPv6.MaxIAsPerMessage, b.DHCPv6.MaxLeasesPerClient = tt.ias, tt.leases
		got, err := FromProto(b.ToProto())
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%d, %d: error %v, want %q", tt.ias, tt.leases, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.DHCPv6.MaxIAsPerMessage != tt.ias || got.DHCPv6.MaxLeasesPerClient != tt.leases {
			t.Errorf("%d, %d: round trip gave %d, %d, %v", tt.ias, tt.leases, got.DHCPv6.MaxIAsPerMessage, got.DHCPv6.MaxLeasesPerClient, err)
		}
	}
}

// TestTFTPLimitsProto carries the TFTP limits through the API form; 0 there
// means the default, and a value too large for the agent is refused by name.
func TestTFTPLimitsProto(t *testing.T) {
	b := validStateful()
	b.Boot.TFTPMaxTransfers, b.Boot.TFTPMaxTransfersPerClient = 100, 11
	pb := b.ToProto()
	if pb.Boot.TftpMaxTransfers != 100 || pb.Boot.TftpMaxTransfersPerClient != 11 {
		t.Fatalf("ToProto: %d, %d", pb.Boot.TftpMaxTransfers, pb.Boot.TftpMaxTransfersPerClient)
	}
	got, err := FromProto(pb)
	if err != nil || got.Boot.TFTPMaxTransfers != 100 || got.Boot.TFTPMaxTransfersPerClient != 11 {
		t.Fatalf("FromProto = %d, %d, %v", got.Boot.TFTPMaxTransfers, got.Boot.TFTPMaxTransfersPerClient, err)
	}
	pb.Boot.TftpMaxTransfers, pb.Boot.TftpMaxTransfersPerClient = 0, 0
	if got, err := FromProto(pb); err != nil || got.Boot.TFTPMaxTransfers != 64 || got.Boot.TFTPMaxTransfersPerClient != 4 {
		t.Fatalf("zero limits: %d, %d, %v; want the defaults", got.Boot.TFTPMaxTransfers, got.Boot.TFTPMaxTransfersPerClient, err)
	}
	pb.Boot.TftpMaxTransfers = math.MaxUint32
	_, err = FromProto(pb)
	if fes, _ := AsFieldErrors(err); len(fes) != 1 || fes[0].Field() != "boot.tftp_max_transfers" {
		t.Fatalf("tftp_max_transfers 2^32-1: %v", err)
	}
}
