package ipv6types

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

func TestAddressSemanticEquals(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"2001:db8::1", "2001:db8::1", true},
		{"2001:DB8::1", "2001:db8::1", true},
		{"2001:db8:0:0:0:0:0:1", "2001:db8::1", true},
		{"2001:0db8::0001", "2001:db8::1", true},
		{"2001:db8::1", "2001:db8::2", false},
		{"not an address", "2001:db8::1", false},
		{"not an address", "not an address", true},
	} {
		got, diags := NewAddressValue(tc.a).StringSemanticEquals(ctx, NewAddressValue(tc.b))
		if diags.HasError() {
			t.Fatal(diags)
		}
		if got != tc.want {
			t.Errorf("%q ≡ %q: %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	if _, diags := NewAddressValue("::1").StringSemanticEquals(ctx, NewPrefixValue("::/64")); !diags.HasError() {
		t.Error("comparing an Address with a Prefix should be an error")
	}
}

func TestPrefixSemanticEquals(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"2001:DB8:1::/64", "2001:db8:1::/64", true},
		{"2001:db8:1:0:0:0:0:0/64", "2001:db8:1::/64", true},
		{"2001:db8:1::/64", "2001:db8:1::/48", false},
		{"2001:db8:1::/64", "2001:db8:2::/64", false},
		{"garbage", "2001:db8:1::/64", false},
	} {
		got, diags := NewPrefixValue(tc.a).StringSemanticEquals(ctx, NewPrefixValue(tc.b))
		if diags.HasError() {
			t.Fatal(diags)
		}
		if got != tc.want {
			t.Errorf("%q ≡ %q: %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestTypesRoundTripTerraformValues(t *testing.T) {
	ctx := context.Background()
	v, err := AddressType{}.ValueFromTerraform(ctx, tftypes.NewValue(tftypes.String, "2001:db8::1"))
	if err != nil || !v.Equal(NewAddressValue("2001:db8::1")) {
		t.Errorf("AddressType.ValueFromTerraform = %v, %v", v, err)
	}
	p, err := PrefixType{}.ValueFromTerraform(ctx, tftypes.NewValue(tftypes.String, "2001:db8::/64"))
	if err != nil || !p.Equal(NewPrefixValue("2001:db8::/64")) {
		t.Errorf("PrefixType.ValueFromTerraform = %v, %v", p, err)
	}
	if (AddressType{}).Equal(PrefixType{}) || !(AddressType{}).Equal(AddressType{}) {
		t.Error("type equality is by kind")
	}
}
