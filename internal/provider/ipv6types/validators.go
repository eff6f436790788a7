package ipv6types

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// AddressValidator checks that a string is an IPv6 address such as
// "2001:db8::1" (not IPv4, no zone).
func AddressValidator() validator.String { return addressValidator{} }

// PrefixValidator checks that a string is an IPv6 prefix in CIDR notation
// such as "2001:db8:1::/64".
func PrefixValidator() validator.String { return prefixValidator{} }

type addressValidator struct{}

func (addressValidator) Description(context.Context) string {
	return `value must be an IPv6 address such as "2001:db8::1"`
}

func (v addressValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (addressValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := ParseAddress(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid IPv6 address",
			`Must be an IPv6 address such as "2001:db8::1": `+err.Error())
	}
}

type prefixValidator struct{}

func (prefixValidator) Description(context.Context) string {
	return `value must be an IPv6 prefix such as "2001:db8:1::/64"`
}

func (v prefixValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (prefixValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := ParsePrefix(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid IPv6 prefix",
			`Must be an IPv6 prefix such as "2001:db8:1::/64": `+err.Error())
	}
}
