package provider

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// requiredInElement checks, for an object in a list, set or map, that the
// named attributes are set. It stands in for `Required: true` on those
// attributes: terraform-plugin-framework (v1.19) reads the attributes of a
// collection element that is still unknown at validation (`ranges =
// [var.r]` in a module) as null, and reports a required one as missing
// though the whole object will be set. This validator waits until the
// element is known.
type requiredInElement []string

var _ validator.Object = requiredInElement{}

func (v requiredInElement) Description(context.Context) string {
	return "each element sets " + strings.Join(v, " and ")
}

func (v requiredInElement) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v requiredInElement) ValidateObject(_ context.Context, req validator.ObjectRequest, resp *validator.ObjectResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	attrs := req.ConfigValue.Attributes()
	for _, name := range v {
		if value, ok := attrs[name]; !ok || value.IsNull() {
			resp.Diagnostics.AddAttributeError(req.Path.AtName(name), "Missing required attribute",
				req.Path.String()+" sets no "+name+": every element needs one.")
		}
	}
}
