package menu

import (
	"fmt"
	"testing"
)

// BenchmarkRender renders a host's script the way the HTTP server does on
// every iPXE request: start.ipxe's chain target, menu selection included.
// The 1,000-entry case is the scale the Terraform benchmark applies.
func BenchmarkRender(b *testing.B) {
	host := Host{MAC: "52-54-00-12-34-56", BuildArch: "x86_64", Platform: "efi"}
	for _, n := range []int{10, 1000} {
		c := benchCatalog(n)
		path := HostPath(host)
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, _, err := Render(c, testSite, path, host); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchCatalog is one default menu offering n Linux entries.
func benchCatalog(n int) *Catalog {
	c := &Catalog{Entries: map[string]Entry{}, Menus: map[string]Menu{}}
	main := Menu{Name: "main", Title: "Scale", IsDefault: true}
	for i := range n {
		name := fmt.Sprintf("e%04d", i)
		c.Entries[name] = Entry{
			Name: name, Title: fmt.Sprintf("Entry %d", i), Kind: KindLinux,
			Linux: &Linux{Kernel: "bench/vmlinuz", Initrds: []string{"bench/initrd.img"}, Args: "console=ttyS0 ip=dhcp6 entry={{ .Entry }}"},
		}
		main.Items = append(main.Items, Item{Entry: name})
	}
	c.Menus[main.Name] = main
	return c
}
