package machineconfig

import (
	"errors"
	"flag"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func machine(t *testing.T, pb *netbootv1.Machine) config.Machine {
	t.Helper()
	m, err := config.MachineFromProto(pb)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func web1(t *testing.T) config.Machine {
	m := machine(t, &netbootv1.Machine{Name: "web1", Macs: []string{"52:54:00:aa:bb:01"}, Hostname: "web1.lab.example",
		Labels:          map[string]string{"role": "web"},
		Metadata:        map[string]string{"ssh_user": "ops", "disk": "/dev/vda", "networks": `[{"name":"eth0","mtu":9000}]`},
		ReservedAddress: "2001:db8:1::10"})
	m.ConfigToken = "00112233445566778899aabbccddeeff"
	return m
}

var site = Site{BootServer: "lab", HTTPBase: "http://[2001:db8:1::1]"}

// Every kind renders its example for a machine; the output is compared
// with testdata/<kind>.golden (go test -update rewrites them).
func TestRenderKinds(t *testing.T) {
	for _, k := range Kinds {
		t.Run(string(k), func(t *testing.T) {
			text, err := os.ReadFile(filepath.Join("testdata", string(k)+".tmpl"))
			if err != nil {
				t.Fatal(err)
			}
			c, err := FromProto(&netbootv1.MachineConfig{Name: "cfg", Kind: string(k), File: map[Kind]string{KindText: "motd"}[k],
				Template: string(text), SensitiveValues: map[string]string{"password_hash": "$6$salt$hash"}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := Render(&c, web1(t), site)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", string(k)+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("rendered:\n%s\nwant (%s):\n%s", got, golden, want)
			}
		})
	}
}

func TestRenderRefusesBrokenFiles(t *testing.T) {
	for _, tc := range []struct {
		kind     Kind
		template string
		want     string
	}{
		{KindCloudConfig, "hostname: {{ .Hostname }}\n", `for machine "web1", the rendered cloud-config must start with the line #cloud-config`},
		{KindCloudConfig, "#cloud-config\nusers:\n  - name: a\n\tbad: x\n", `for machine "web1", the rendered cloud-config is not valid YAML: line `},
		{KindAutoinstall, "#cloud-config\nhostname: x\n", "has no autoinstall mapping"},
		{KindAutoinstall, "#cloud-config\nautoinstall:\n  version: 2\n", "version: 1"},
		{KindMetaData, "local-hostname: {{ .Hostname }}\n", "has no instance-id"},
		{KindNetworkConfig, "network:\n  version: 3\n", "version: 1 or version: 2"},
		{KindPreseed, "d-i debian-installer/locale string en_US\nd-i mirror/country\n", `line 2: "d-i mirror/country" is not`},
		{KindPreseed, "d-i passwd/root-password-crypted pasword {{ .Sensitive.password_hash }}\n", `line 1: "pasword" is not a debconf type`},
		{KindKickstart, "text\n%packages\n@core\n%post\necho\n%end\n", "line 4: %post starts before %packages (line 2) ends with %end"},
		{KindKickstart, "text\n%post\necho\n", "line 2: %post never ends with %end"},
		{KindIgnition, `{"ignition": {"version": "2.2.0"}}`, `has ignition.version "2.2.0"`},
		{KindIgnition, "{\"ignition\": {\"version\": \"3.4.0\"},\n\"storage\": {,}}", "is not valid JSON: line 2"},
		{KindIgnition, `{"storage": {}}`, "has no ignition.version"},
		{KindText, "{{ .Metadata.missing }}", `rendering for machine "web1"`},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			c, err := FromProto(&netbootv1.MachineConfig{Name: "cfg", Kind: string(tc.kind), File: "f", Template: tc.template,
				SensitiveValues: map[string]string{"password_hash": "$6$x"}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = Render(&c, web1(t), site)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
			// The agent's check at Put finds it too, naming the machine.
			fes, ok := config.AsFieldErrors(CheckMachines(&c, map[string]config.Machine{"web1": web1(t)}))
			if !ok || fes[0].Field() != "template" || !strings.Contains(fes[0].Reason, `"web1"`) {
				t.Errorf("CheckMachines: %v", fes)
			}
		})
	}
}

func TestFromProtoNamesFields(t *testing.T) {
	_, err := FromProto(&netbootv1.MachineConfig{Name: "Bad", Kind: "yaml", Template: "{{ .Nope }}",
		Machines: []string{"web 1"}, MatchLabels: map[string]string{"-x": "y"}})
	fes, ok := config.AsFieldErrors(err)
	if !ok {
		t.Fatal(err)
	}
	var fields []string
	for _, fe := range fes {
		fields = append(fields, fe.Field())
	}
	want := `name kind machines[0] match_labels["-x"] template`
	if got := strings.Join(fields, " "); got != want {
		t.Errorf("fields %q, want %q (%v)", got, want, err)
	}
	if !strings.Contains(fes[len(fes)-1].Reason, "can't evaluate field Nope") {
		t.Errorf("template error: %v", fes[len(fes)-1])
	}
	_, err = FromProto(&netbootv1.MachineConfig{Name: "t", Kind: "text", Template: "x"})
	if fes, _ := config.AsFieldErrors(err); len(fes) != 1 || fes[0].Field() != "file" {
		t.Errorf("text without file: %v", err)
	}
}

func TestForPrecedence(t *testing.T) {
	m := web1(t)
	mk := func(name string, machines []string, labels map[string]string) Config {
		return Config{Name: name, Kind: KindCloudConfig, File: "user-data", Machines: machines, MatchLabels: labels}
	}
	for _, tc := range []struct {
		configs map[string]Config
		want    string
	}{
		{map[string]Config{"all": mk("all", nil, nil)}, "all"},
		{map[string]Config{"all": mk("all", nil, nil), "web": mk("web", nil, map[string]string{"role": "web"})}, "web"},
		{map[string]Config{"web": mk("web", nil, map[string]string{"role": "web"}), "named": mk("named", []string{"web1"}, nil)}, "named"},
		{map[string]Config{"b": mk("b", nil, nil), "a": mk("a", nil, nil)}, "a"},
		{map[string]Config{"db": mk("db", nil, map[string]string{"role": "db"}), "other": mk("other", []string{"web2"}, nil)}, ""},
	} {
		got := For(tc.configs, m, "user-data")
		name := ""
		if got != nil {
			name = got.Name
		}
		if name != tc.want {
			t.Errorf("For(%v) = %q, want %q", tc.configs, name, tc.want)
		}
	}
}

func TestServeOnlyWithTheMachinesTokenToTheMachine(t *testing.T) {
	w1 := web1(t)
	w2 := machine(t, &netbootv1.Machine{Name: "web2", Macs: []string{"52:54:00:aa:bb:02"}, Metadata: map[string]string{"ssh_user": "root"}})
	w2.ConfigToken = "ffeeddccbbaa99887766554433221100"
	machines := map[string]config.Machine{"web1": w1, "web2": w2}
	c, err := FromProto(&netbootv1.MachineConfig{Name: "ud", Kind: "cloud-config", Template: "#cloud-config\nuser: {{ .Metadata.ssh_user }}\n"})
	if err != nil {
		t.Fatal(err)
	}
	configs := map[string]Config{"ud": c}
	fromWeb1 := config.Requester{Address: netip.MustParseAddr("2001:db8:1::101"), Machine: "web1", By: config.AttributedByLease}
	fromWeb2 := config.Requester{Address: netip.MustParseAddr("2001:db8:1::102"), Machine: "web2", By: config.AttributedByLease}
	fromNobody := config.Requester{Address: netip.MustParseAddr("2001:db8:1::103")}
	got, err := Serve(machines, configs, site, Path("web1", w1.ConfigToken, "user-data"), fromWeb1)
	if err != nil || string(got) != "#cloud-config\nuser: ops\n" {
		t.Fatalf("own file: %q, %v", got, err)
	}
	for _, tc := range []struct {
		path string
		from config.Requester
		want error
	}{
		{Path("web1", w2.ConfigToken, "user-data"), fromWeb1, ErrWrongToken},
		{"netboot/config/web1/user-data", fromWeb1, ErrWrongToken},
		{Path("web1", "", "user-data"), fromWeb1, ErrWrongToken},
		// The neighbour, with and without the token.
		{Path("web1", w1.ConfigToken, "user-data"), fromWeb2, ErrNotItsAddress},
		{Path("web1", w1.ConfigToken, "user-data"), fromNobody, ErrNotItsAddress},
		{Path("web1", "", "user-data"), fromWeb2, ErrWrongToken},
		{Path("web3", w1.ConfigToken, "user-data"), fromWeb1, fs.ErrNotExist},
		{Path("web1", w1.ConfigToken, "meta-data"), fromWeb1, fs.ErrNotExist},
	} {
		_, err := Serve(machines, configs, site, tc.path, tc.from)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s from %s: got %v, want %v", tc.path, tc.from, err, tc.want)
		}
		if errors.Is(tc.want, fs.ErrPermission) && !errors.Is(err, fs.ErrPermission) {
			t.Errorf("%s from %s: %v is no fs.ErrPermission (403)", tc.path, tc.from, err)
		}
	}
	u, err := URL(site.HTTPBase, "web1", w1.ConfigToken, "")
	if want := "http://[2001:db8:1::1]/netboot/config/web1/00112233445566778899aabbccddeeff/"; err != nil || u != want {
		t.Errorf("URL = %q, %v; want %q", u, err, want)
	}
}

// A config template gets the HTTPS base and its own URL over HTTPS; while
// the boot server has no HTTPS, HTTPSConfigURL fails to render.
func TestRenderHTTPSURLs(t *testing.T) {
	c, err := FromProto(&netbootv1.MachineConfig{Name: "cfg", Kind: string(KindText), File: "motd",
		Template: `{{ .HTTPSBase }} {{ .HTTPSConfigURL "meta-data" }}`})
	if err != nil {
		t.Fatal(err)
	}
	withHTTPS := Site{BootServer: "lab", HTTPBase: "http://[2001:db8:1::1]", HTTPSBase: "https://[2001:db8:1::1]"}
	got, err := Render(&c, web1(t), withHTTPS)
	want := "https://[2001:db8:1::1] https://[2001:db8:1::1]/netboot/config/web1/00112233445566778899aabbccddeeff/meta-data"
	if err != nil || string(got) != want {
		t.Errorf("rendered %q (%v), want %q", got, err, want)
	}
	if _, err := Render(&c, web1(t), site); err == nil || !strings.Contains(err.Error(), "boot.https.enabled is false") {
		t.Errorf("without HTTPS: %v, want an error saying HTTPS is off", err)
	}
}
