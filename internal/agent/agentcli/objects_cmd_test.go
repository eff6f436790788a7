package agentcli

import (
	"strings"
	"testing"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// TestMachineRow: the MACHINES section of `agent objects` shows every
// identifier and reservation a machine has, a dash where it has none.
func TestMachineRow(t *testing.T) {
	columns := strings.Split(machinesHeader, "\t")
	for _, tc := range []struct {
		name    string
		machine *netbootv1.Machine
		want    map[string]string
	}{{
		name: "router with a reserved prefix",
		machine: &netbootv1.Machine{Name: "rack1", Macs: []string{"52:54:00:aa:00:01"},
			ReservedPrefix: "2001:db8:100:4200::/56"},
		want: map[string]string{"NAME": "rack1", "MACS": "52:54:00:aa:00:01", "UUIDS": "-", "DUIDS": "-",
			"RESERVED ADDRESS": "-", "RESERVED PREFIX": "2001:db8:100:4200::/56", "MENU": "-", "LAST BOOT FILE": "-", "LAST CONFIG": "-"},
	}, {
		name: "machine by UUID with a reserved address and a fetch",
		machine: &netbootv1.Machine{Name: "web1", Uuids: []string{"4c4c4544-0042-3510-8052-b4c04f4b4e31"},
			Duids: []string{"00030001525400123401"}, ReservedAddress: "2001:db8:1::101", Menu: "install",
			LastConfig: &netbootv1.FileFetch{File: "user-data", Protocol: "http", Address: "2001:db8:1::101", TimeUnix: 0}},
		want: map[string]string{"NAME": "web1", "MACS": "-", "UUIDS": "4c4c4544-0042-3510-8052-b4c04f4b4e31",
			"DUIDS": "00030001525400123401", "RESERVED ADDRESS": "2001:db8:1::101", "RESERVED PREFIX": "-", "MENU": "install",
			"LAST BOOT FILE": "-", "LAST CONFIG": "user-data (http from 2001:db8:1::101, 1970-01-01T00:00:00Z)"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			cells := strings.Split(machineRow(tc.machine), "\t")
			if len(cells) != len(columns) {
				t.Fatalf("%d cells for %d columns: %q", len(cells), len(columns), cells)
			}
			for i, col := range columns {
				if cells[i] != tc.want[col] {
					t.Errorf("%s = %q, want %q", col, cells[i], tc.want[col])
				}
			}
		})
	}
}
