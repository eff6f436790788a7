package bootfile

import (
	"net/netip"
	"strings"
	"testing"
)

func TestSelectDefaultRules(t *testing.T) {
	server := Server{Address: netip.MustParseAddr("2001:db8:1::1")}
	tests := []struct {
		name   string
		client Client
		want   string
	}{
		{"iPXE gets its script over HTTP whatever its arch", Client{Arch: []uint16{ArchEFIx64}, UserClasses: []string{"iPXE"}}, "http://[2001:db8:1::1]/start.ipxe"},
		{"BIOS firmware gets undionly over TFTP", Client{Arch: []uint16{ArchBIOS}}, "tftp://[2001:db8:1::1]/undionly.kpxe"},
		{"x64 UEFI", Client{Arch: []uint16{ArchEFIx64}}, "tftp://[2001:db8:1::1]/ipxe.efi"},
		{"EBC (0x09, swapped with 0x07 in old tables)", Client{Arch: []uint16{ArchEFIBC}}, "tftp://[2001:db8:1::1]/ipxe.efi"},
		{"IA32 UEFI", Client{Arch: []uint16{ArchEFIIA32}}, "tftp://[2001:db8:1::1]/ipxe-i386.efi"},
		{"ARM64 UEFI", Client{Arch: []uint16{ArchEFIARM64}}, "tftp://[2001:db8:1::1]/ipxe-arm64.efi"},
		{"ARM32 UEFI", Client{Arch: []uint16{ArchEFIARM32}}, "tftp://[2001:db8:1::1]/ipxe-arm32.efi"},
		{"x64 UEFI HTTP boot", Client{Arch: []uint16{ArchEFIx64HTTP}}, "http://[2001:db8:1::1]/ipxe.efi"},
		{"ARM64 UEFI HTTP boot", Client{Arch: []uint16{ArchEFIARM64HTTP}}, "http://[2001:db8:1::1]/ipxe-arm64.efi"},
		{"second listed arch matches", Client{Arch: []uint16{0x27, ArchEFIx64}}, "tftp://[2001:db8:1::1]/ipxe.efi"},
		{"unknown arch gets nothing", Client{Arch: []uint16{0x27}}, ""},
		{"no arch, no user class gets nothing", Client{}, ""},
		{"user class is case-sensitive", Client{UserClasses: []string{"ipxe"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Select(DefaultRules(), server, tt.client)
			if got.URL != tt.want {
				t.Fatalf("Select(%v) = %q (%s), want %q", tt.client, got.URL, got.Reason, tt.want)
			}
			if (got.RuleIndex < 0) != (tt.want == "") || got.Reason == "" {
				t.Fatalf("Select(%v) rule %d reason %q", tt.client, got.RuleIndex, got.Reason)
			}
		})
	}
}

func TestSelectCustomRules(t *testing.T) {
	server := Server{Address: netip.MustParseAddr("2001:db8:1::1"), HTTPPort: 8080}
	rules := []Rule{
		{UserClass: "iPXE", Arch: []uint16{ArchEFIARM64}, URL: "http://boot.example/arm.ipxe"},
		{UserClass: "iPXE", File: "/menus/start.ipxe", Via: HTTP, Parameters: []string{"console=ttyS0"}},
		{VendorClass: "PXEClient", File: "undionly.kpxe", Via: TFTP},
		{File: "fallback.efi", Via: TFTP},
	}
	tests := []struct {
		client Client
		want   string
		params int
	}{
		{Client{Arch: []uint16{ArchEFIARM64}, UserClasses: []string{"iPXE"}}, "http://boot.example/arm.ipxe", 0},
		{Client{Arch: []uint16{ArchEFIx64}, UserClasses: []string{"iPXE"}}, "http://[2001:db8:1::1]:8080/menus/start.ipxe", 1},
		{Client{VendorClasses: []string{"PXEClient:Arch:00000:UNDI:002001"}}, "tftp://[2001:db8:1::1]/undionly.kpxe", 0},
		{Client{Arch: []uint16{0x27}}, "tftp://[2001:db8:1::1]/fallback.efi", 0},
	}
	for _, tt := range tests {
		got := Select(rules, server, tt.client)
		if got.URL != tt.want || len(got.Parameters) != tt.params {
			t.Errorf("Select(%v) = %q %v, want %q with %d parameters", tt.client, got.URL, got.Parameters, tt.want, tt.params)
		}
	}
}

func TestHTTPBootArch(t *testing.T) {
	for arch, want := range map[uint16]bool{ArchBIOS: false, ArchEFIx64: false, ArchEFIx64HTTP: true, ArchEFIARM64HTTP: true, ArchBIOSHTTP: true} {
		if got := HTTPBootArch(arch); got != want {
			t.Errorf("HTTPBootArch(0x%x) = %v", arch, got)
		}
	}
}

// TestSelectByHost expresses a dhcpd6.conf's per-host if/elsif branches:
// one host by DUID, another by MAC, then everyone else.
func TestSelectByHost(t *testing.T) {
	server := Server{Address: netip.MustParseAddr("2001:db8:1::1")}
	rules := []Rule{
		{DUIDs: []string{"00030001AABBCCDDEEFF", "0004000102030405060708090a0b0c0d0e0f"}, File: "host-a.efi", Via: TFTP},
		{MACs: []string{"52:54:00:12:34:56"}, UserClass: "iPXE", File: "host-b.ipxe", Via: HTTP},
		{MACs: []string{"52:54:00:12:34:56"}, File: "host-b.efi", Via: TFTP},
		{File: "default.efi", Via: TFTP},
	}
	tests := []struct {
		name   string
		client Client
		want   string
		reason string
	}{
		{"DUID-LL host, DUID in other case", Client{DUID: "00030001aabbccddeeff", MAC: "aa:bb:cc:dd:ee:ff"}, "tftp://[2001:db8:1::1]/host-a.efi", "rule 0: DUID 00030001aabbccddeeff"},
		{"DUID-UUID host (iPXE)", Client{DUID: "0004000102030405060708090A0B0C0D0E0F", UserClasses: []string{"iPXE"}}, "tftp://[2001:db8:1::1]/host-a.efi", "rule 0: DUID 0004000102030405060708090a0b0c0d0e0f"},
		{"MAC host running iPXE: both fields must match", Client{DUID: "0004ff", MAC: "52:54:00:12:34:56", UserClasses: []string{"iPXE"}}, "http://[2001:db8:1::1]/host-b.ipxe", `rule 1: user class "iPXE", MAC 52:54:00:12:34:56`},
		{"MAC host firmware", Client{DUID: "0004ff", MAC: "52:54:00:12:34:56"}, "tftp://[2001:db8:1::1]/host-b.efi", "rule 2: MAC 52:54:00:12:34:56"},
		{"unknown MAC", Client{DUID: "0004ff", MAC: "52:54:00:00:00:01"}, "tftp://[2001:db8:1::1]/default.efi", "rule 3: matches every client"},
		{"no MAC known never matches a MAC rule", Client{DUID: "0004ff"}, "tftp://[2001:db8:1::1]/default.efi", "rule 3"},
		{"DUID prefix is no match", Client{DUID: "00030001aabbccddee"}, "tftp://[2001:db8:1::1]/default.efi", "rule 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Select(rules, server, tt.client)
			if got.URL != tt.want || !strings.HasPrefix(got.Reason, tt.reason) {
				t.Errorf("Select(%v) = %q (%s), want %q (%s)", tt.client, got.URL, got.Reason, tt.want, tt.reason)
			}
		})
	}
	// Upper-case MACs in a rule match too.
	upper := []Rule{{MACs: []string{"52:54:00:AB:CD:EF"}, URL: "http://boot.example/x"}}
	if got := Select(upper, server, Client{MAC: "52:54:00:ab:cd:ef"}); got.URL == "" {
		t.Errorf("upper-case rule MAC did not match: %s", got.Reason)
	}
	if got := Select(rules, server, Client{}); !strings.Contains(got.Reason, "rule 3") {
		t.Errorf("empty client: %s", got.Reason)
	}
}

func TestURLBase(t *testing.T) {
	addr := netip.MustParseAddr("2001:db8::1")
	for _, tt := range []struct {
		via  Protocol
		port int
		want string
	}{
		{TFTP, 0, "tftp://[2001:db8::1]"},
		{TFTP, 8080, "tftp://[2001:db8::1]"},
		{HTTP, 0, "http://[2001:db8::1]"},
		{HTTP, 80, "http://[2001:db8::1]"},
		{HTTP, 8080, "http://[2001:db8::1]:8080"},
		{HTTP, 443, "http://[2001:db8::1]:443"},
		{HTTPS, 0, "https://[2001:db8::1]"},
		{HTTPS, 443, "https://[2001:db8::1]"},
		{HTTPS, 8443, "https://[2001:db8::1]:8443"},
		{HTTPS, 80, "https://[2001:db8::1]:80"},
	} {
		server := Server{Address: addr, HTTPPort: tt.port}
		if tt.via == HTTPS {
			// HTTP's port is not HTTPS's.
			server = Server{Address: addr, HTTPPort: 8080, HTTPSPort: tt.port}
		}
		if got := URLBase(tt.via, server); got != tt.want {
			t.Errorf("URLBase(%s, port %d) = %q, want %q", tt.via, tt.port, got, tt.want)
		}
	}
}

// A file is a path in the URL: what a URL path cannot hold is escaped.
func TestSelectEscapesFile(t *testing.T) {
	server := Server{Address: netip.MustParseAddr("2001:db8:1::1"), HTTPPort: 8080}
	for file, want := range map[string]string{
		"boot files/ipxe.efi": "http://[2001:db8:1::1]:8080/boot%20files/ipxe.efi",
		"/grub;x64.efi":       "http://[2001:db8:1::1]:8080/grub;x64.efi",
		"a?b#c":               "http://[2001:db8:1::1]:8080/a%3Fb%23c",
	} {
		if got := Select([]Rule{{File: file, Via: HTTP}}, server, Client{}).URL; got != want {
			t.Errorf("file %q: URL %q, want %q", file, got, want)
		}
	}
}

// TestSelectBySpecificity: among matching rules the most specific wins,
// scored as boot menus are (user class 16, DUIDs or MACs 8, labels 4), and
// the list order decides between equals, whatever their arch or vendor
// class.
func TestSelectBySpecificity(t *testing.T) {
	server := Server{Address: netip.MustParseAddr("2001:db8:1::1")}
	const mac = "52:54:00:12:34:56"
	web := map[string]string{"role": "web"}
	rules := []Rule{
		{Arch: []uint16{ArchEFIx64}, File: "ipxe.efi", Via: TFTP},                                  // 0: score 0
		{UserClass: "iPXE", File: "start.ipxe", Via: HTTP},                                         // 1: 16
		{Labels: web, Arch: []uint16{ArchEFIx64}, File: "web.efi", Via: TFTP},                      // 2: 4
		{MACs: []string{mac}, File: "pinned.efi", Via: TFTP},                                       // 3: 8
		{Labels: web, UserClass: "iPXE", File: "web.ipxe", Via: HTTP},                              // 4: 20
		{Labels: map[string]string{"role": "web", "rack": "a"}, File: "web-rack-a.efi", Via: TFTP}, // 5: 4, after 2
		{VendorClass: "HTTPClient", URL: "http://boot.example/http.efi"},                           // 6: 0
		{Arch: []uint16{ArchEFIx64HTTP}, File: "ipxe.efi", Via: HTTP},                              // 7: 0, after 6
	}
	tests := []struct {
		name   string
		client Client
		want   string
		reason string
	}{
		{"firmware of no machine: the arch rule",
			Client{Arch: []uint16{ArchEFIx64}}, "tftp://[2001:db8:1::1]/ipxe.efi", "rule 0: arch 0x0007"},
		{"firmware of a labelled machine: its label rule beats the arch rule listed first",
			Client{Arch: []uint16{ArchEFIx64}, Machine: "web1", Labels: map[string]string{"role": "web"}}, "tftp://[2001:db8:1::1]/web.efi", `rule 2: arch 0x0007, labels of machine "web1"`},
		{"equal scores: the rule listed first, though the later one names more labels",
			Client{Arch: []uint16{ArchEFIx64}, Machine: "web2", Labels: map[string]string{"role": "web", "rack": "a"}}, "tftp://[2001:db8:1::1]/web.efi", "rule 2"},
		{"a machine's own MAC beats its labels",
			Client{Arch: []uint16{ArchEFIx64}, MAC: mac, Machine: "web1", Labels: web}, "tftp://[2001:db8:1::1]/pinned.efi", "rule 3: MAC " + mac},
		{"iPXE of a pinned machine still gets the iPXE rule: user class outranks the MAC",
			Client{Arch: []uint16{ArchEFIx64}, UserClasses: []string{"iPXE"}, MAC: mac}, "http://[2001:db8:1::1]/start.ipxe", `rule 1: user class "iPXE"`},
		{"iPXE of a labelled machine: the label rule for iPXE",
			Client{Arch: []uint16{ArchEFIx64}, UserClasses: []string{"iPXE"}, Machine: "web1", Labels: web}, "http://[2001:db8:1::1]/web.ipxe", `rule 4: user class "iPXE", labels of machine "web1"`},
		{"labels of another value do not match",
			Client{Arch: []uint16{ArchEFIx64}, Machine: "db1", Labels: map[string]string{"role": "db"}}, "tftp://[2001:db8:1::1]/ipxe.efi", "rule 0"},
		{"a machine without labels matches no label rule",
			Client{Arch: []uint16{ArchEFIx64}, Machine: "bare"}, "tftp://[2001:db8:1::1]/ipxe.efi", "rule 0"},
		{"vendor class and arch weigh nothing: list order",
			Client{Arch: []uint16{ArchEFIx64HTTP}, VendorClasses: []string{"HTTPClient"}}, "http://boot.example/http.efi", `rule 6: vendor class "HTTPClient"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Select(rules, server, tt.client)
			if got.URL != tt.want || !strings.HasPrefix(got.Reason, tt.reason) {
				t.Errorf("Select(%v) = %q (%s), want %q (%s)", tt.client, got.URL, got.Reason, tt.want, tt.reason)
			}
		})
	}
}

func TestRuleScore(t *testing.T) {
	for _, tt := range []struct {
		rule Rule
		want int
	}{
		{Rule{}, 0},
		{Rule{Arch: []uint16{ArchBIOS}, VendorClass: "PXEClient"}, 0},
		{Rule{UserClass: "iPXE"}, 16},
		{Rule{DUIDs: []string{"000300"}}, 8},
		{Rule{MACs: []string{"52:54:00:12:34:56"}, DUIDs: []string{"000300"}}, 8},
		{Rule{Labels: map[string]string{"a": "b"}}, 4},
		{Rule{UserClass: "iPXE", MACs: []string{"52:54:00:12:34:56"}, Labels: map[string]string{"a": "b"}}, 28},
	} {
		if got := tt.rule.Score(); got != tt.want {
			t.Errorf("%+v.Score() = %d, want %d", tt.rule, got, tt.want)
		}
	}
}
