package ipv6types

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

var (
	_ basetypes.StringTypable                    = PrefixType{}
	_ basetypes.StringValuableWithSemanticEquals = Prefix{}
)

// PrefixType is the attribute type of an IPv6 prefix in CIDR notation.
type PrefixType struct {
	basetypes.StringType
}

func (t PrefixType) String() string { return "ipv6types.PrefixType" }

func (t PrefixType) Equal(o attr.Type) bool {
	_, ok := o.(PrefixType)
	return ok
}

func (t PrefixType) ValueType(context.Context) attr.Value { return Prefix{} }

func (t PrefixType) ValueFromString(_ context.Context, in basetypes.StringValue) (basetypes.StringValuable, diag.Diagnostics) {
	return Prefix{StringValue: in}, nil
}

func (t PrefixType) ValueFromTerraform(ctx context.Context, in tftypes.Value) (attr.Value, error) {
	v, err := t.StringType.ValueFromTerraform(ctx, in)
	if err != nil {
		return nil, err
	}
	s, ok := v.(basetypes.StringValue)
	if !ok {
		return nil, fmt.Errorf("unexpected value type %T", v)
	}
	return Prefix{StringValue: s}, nil
}

// Prefix is an IPv6 prefix as the user wrote it, e.g. "2001:DB8:1::/64".
type Prefix struct {
	basetypes.StringValue
}

// NewPrefixValue returns a known Prefix.
func NewPrefixValue(s string) Prefix { return Prefix{StringValue: basetypes.NewStringValue(s)} }

// NewPrefixNull returns a null Prefix.
func NewPrefixNull() Prefix { return Prefix{StringValue: basetypes.NewStringNull()} }

func (v Prefix) Type(context.Context) attr.Type { return PrefixType{} }

func (v Prefix) Equal(o attr.Value) bool {
	other, ok := o.(Prefix)
	return ok && v.StringValue.Equal(other.StringValue)
}

// StringSemanticEquals reports whether both spell the same prefix.
func (v Prefix) StringSemanticEquals(_ context.Context, newValuable basetypes.StringValuable) (bool, diag.Diagnostics) {
	var diags diag.Diagnostics
	other, ok := newValuable.(Prefix)
	if !ok {
		diags.AddError("Semantic equality check error",
			fmt.Sprintf("Expected an ipv6types.Prefix, got %T. This is a bug in the provider.", newValuable))
		return false, diags
	}
	return samePrefix(v.ValueString(), other.ValueString()), diags
}

func samePrefix(a, b string) bool {
	if a == b {
		return true
	}
	x, errX := netip.ParsePrefix(a)
	y, errY := netip.ParsePrefix(b)
	return errX == nil && errY == nil && x == y
}
