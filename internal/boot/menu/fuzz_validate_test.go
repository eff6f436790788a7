package menu

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// FuzzEntryValidate feeds PutBootEntry's validator arbitrary requests: it
// must never panic, must reject with FieldErrors naming an attribute, and
// an entry it accepts must render into a host's script.
func FuzzEntryValidate(f *testing.F) {
	for _, e := range testCatalog().Entries {
		b, err := proto.Marshal(e.ToProto())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, wire []byte) {
		var pb netbootv1.BootEntry
		if proto.Unmarshal(wire, &pb) != nil {
			return
		}
		e := EntryFromProto(&pb)
		if err := e.Validate(); err != nil {
			requireFieldErrors(t, err)
			return
		}
		c := &Catalog{
			Entries: map[string]Entry{e.Name: e},
			Menus:   map[string]Menu{"main": {Name: "main", IsDefault: true, Items: []Item{{Entry: e.Name}}}},
		}
		host := Host{MAC: "52-54-00-12-34-56", BuildArch: "x86_64", Platform: "efi"}
		if _, _, _, err := Render(c, testSite, HostPath(host), host); err != nil {
			t.Fatalf("accepted entry %+v does not render: %v", e, err)
		}
	})
}

// FuzzMenuValidate feeds PutBootMenu's validator arbitrary requests.
func FuzzMenuValidate(f *testing.F) {
	menus := testCatalog().Menus
	menus["sb"] = Menu{Name: "sb", Items: []Item{{Entry: "local"}}, Formats: []Format{FormatGRUB}}
	for _, m := range menus {
		b, err := proto.Marshal(m.ToProto())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, wire []byte) {
		var pb netbootv1.BootMenu
		if proto.Unmarshal(wire, &pb) != nil {
			return
		}
		m := MenuFromProto(&pb)
		if err := m.Validate(); err != nil {
			requireFieldErrors(t, err)
		}
	})
}

func requireFieldErrors(t *testing.T, err error) {
	t.Helper()
	fes, ok := config.AsFieldErrors(err)
	if !ok || len(fes) == 0 {
		t.Fatalf("rejection without field errors: %v", err)
	}
	for _, fe := range fes {
		if len(fe.Path) == 0 || fe.Reason == "" {
			t.Fatalf("field error without attribute or reason: %+v", fe)
		}
	}
}
