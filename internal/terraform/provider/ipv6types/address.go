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
	_ basetypes.StringTypable                    = AddressType{}
	_ basetypes.StringValuableWithSemanticEquals = Address{}
)

// AddressType is the attribute type of an IPv6 address string.
type AddressType struct {
	basetypes.StringType
}

func (t AddressType) String() string { return "ipv6types.AddressType" }

func (t AddressType) Equal(o attr.Type) bool {
	_, ok := o.(AddressType)
	return ok
}

func (t AddressType) ValueType(context.Context) attr.Value { return Address{} }

func (t AddressType) ValueFromString(_ context.Context, in basetypes.StringValue) (basetypes.StringValuable, diag.Diagnostics) {
	return Address{StringValue: in}, nil
}

func (t AddressType) ValueFromTerraform(ctx context.Context, in tftypes.Value) (attr.Value, error) {
	v, err := t.StringType.ValueFromTerraform(ctx, in)
	if err != nil {
		return nil, err
	}
	s, ok := v.(basetypes.StringValue)
	if !ok {
		return nil, fmt.Errorf("unexpected value type %T", v)
	}
	return Address{StringValue: s}, nil
}

// Address is an IPv6 address as the user wrote it.
type Address struct {
	basetypes.StringValue
}

// NewAddressValue returns a known Address.
func NewAddressValue(s string) Address { return Address{StringValue: basetypes.NewStringValue(s)} }

// NewAddressNull returns a null Address, for an address left unset.
func NewAddressNull() Address { return Address{StringValue: basetypes.NewStringNull()} }

func (v Address) Type(context.Context) attr.Type { return AddressType{} }

func (v Address) Equal(o attr.Value) bool {
	other, ok := o.(Address)
	return ok && v.StringValue.Equal(other.StringValue)
}

// StringSemanticEquals reports whether both spell the same address, so the
// spelling in the configuration is kept when the agent returns another.
func (v Address) StringSemanticEquals(_ context.Context, newValuable basetypes.StringValuable) (bool, diag.Diagnostics) {
	var diags diag.Diagnostics
	other, ok := newValuable.(Address)
	if !ok {
		diags.AddError("Semantic equality check error",
			fmt.Sprintf("Expected an ipv6types.Address, got %T. This is a bug in the provider.", newValuable))
		return false, diags
	}
	return sameAddress(v.ValueString(), other.ValueString()), diags
}

func sameAddress(a, b string) bool {
	if a == b {
		return true
	}
	x, errX := netip.ParseAddr(a)
	y, errY := netip.ParseAddr(b)
	return errX == nil && errY == nil && x == y
}
