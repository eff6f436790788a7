package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

var (
	stringSetType = types.SetType{ElemType: types.StringType}
	int64SetType  = types.SetType{ElemType: types.Int64Type}
)

// setStrings reads a set of strings or of string-based custom values.
func setStrings(ctx context.Context, s types.Set) []string {
	var out []string
	for _, e := range s.Elements() {
		if sv, ok := e.(basetypes.StringValuable); ok {
			v, _ := sv.ToStringValue(ctx)
			out = append(out, v.ValueString())
		}
	}
	return out
}

func stringSet(in []string) types.Set {
	elems := make([]attr.Value, len(in))
	for i, s := range in {
		elems[i] = types.StringValue(s)
	}
	return types.SetValueMust(types.StringType, elems)
}

// stringSetOrNull is null for an empty set: the API does not tell an unset
// set from an empty one.
func stringSetOrNull(in []string) types.Set {
	if len(in) == 0 {
		return types.SetNull(types.StringType)
	}
	return stringSet(in)
}

// listsBecameSets upgrades a state whose only change from the prior schema
// version is lists turned into sets: both are JSON arrays in the stored
// state, so it is read again as it is, against the current schema.
func listsBecameSets() resource.StateUpgrader {
	return resource.StateUpgrader{
		StateUpgrader: func(_ context.Context, req resource.UpgradeStateRequest, resp *resource.UpgradeStateResponse) {
			if req.RawState == nil || req.RawState.JSON == nil {
				resp.Diagnostics.AddError("Cannot upgrade state", "the stored state is not JSON: apply again with the previous provider version first")
				return
			}
			resp.DynamicValue = &tfprotov6.DynamicValue{JSON: req.RawState.JSON}
		},
	}
}
