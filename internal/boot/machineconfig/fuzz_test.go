package machineconfig

import (
	"strings"
	"testing"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// FuzzRender feeds any template and metadata value through validation,
// rendering and every kind's format check: each answers with an error or
// a file, never a panic, and an error for a machine names it.
func FuzzRender(f *testing.F) {
	f.Add("#cloud-config\nhostname: {{ .Hostname }}\nx: {{ .Metadata.v }}\n", "a: [")
	f.Add("d-i passwd/username string {{ .Metadata.v }}\\\n", "x")
	f.Add("%post\n{{ .Metadata.v }}\n", "%end")
	f.Add(`{"ignition":{"version":"{{ .Metadata.v }}"}}`, "3.4.0")
	f.Add("{{ range fromJSON .Metadata.v }}{{ . }}{{ end }}", `[1,"a",{"b":null}]`)
	f.Add("{{ indent 2 .Metadata.v }}{{ toJSON .Labels }}{{ .ConfigURL .Metadata.v }}", "../x")
	f.Fuzz(func(t *testing.T, template, value string) {
		m := config.Machine{Name: "web1", MACs: []string{"52:54:00:aa:bb:01"}, Metadata: map[string]string{"v": value},
			Labels: map[string]string{"role": "web"}, ConfigToken: "00112233445566778899aabbccddeeff"}
		for _, k := range Kinds {
			c, err := FromProto(&netbootv1.MachineConfig{Name: "cfg", Kind: string(k), File: "f", Template: template})
			if err != nil {
				if _, ok := config.AsFieldErrors(err); !ok {
					t.Fatalf("%s: not a field error: %v", k, err)
				}
				continue
			}
			if _, err := Render(&c, m, SampleSite); err != nil && !strings.Contains(err.Error(), `"web1"`) && !strings.HasPrefix(err.Error(), "template:") {
				t.Fatalf("%s: the error names no machine: %v", k, err)
			}
		}
	})
}
