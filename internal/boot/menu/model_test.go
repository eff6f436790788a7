package menu

import (
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"
)

func TestProtoRoundTrip(t *testing.T) {
	c := testCatalog()
	for name, e := range c.Entries {
		pb := e.ToProto()
		if got := EntryFromProto(pb); !reflect.DeepEqual(got, e) {
			t.Errorf("entry %s: round trip gave %+v, want %+v", name, got, e)
		}
		if again := EntryFromProto(pb).ToProto(); !proto.Equal(again, pb) {
			t.Errorf("entry %s: proto round trip differs", name)
		}
	}
	c.Menus["sb"] = Menu{Name: "sb", Items: []Item{{Entry: "local"}}, Formats: []Format{FormatGRUB}}
	for name, m := range c.Menus {
		pb := m.ToProto()
		if got := MenuFromProto(pb); !reflect.DeepEqual(got, m) {
			t.Errorf("menu %s: round trip gave %+v, want %+v", name, got, m)
		}
		if (pb.GetMatch() == nil) != m.Match.IsZero() {
			t.Errorf("menu %s: match presence not kept", name)
		}
	}
}

func TestFromProtoDoesNotAlias(t *testing.T) {
	e := testCatalog().Entries["debian"]
	pb := e.ToProto()
	got := EntryFromProto(pb)
	pb.Linux.Initrds[0] = "changed"
	if got.Linux.Initrds[0] == "changed" {
		t.Error("EntryFromProto shares the message's initrds slice")
	}
}
