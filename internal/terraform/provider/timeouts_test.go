package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
)

// The resources whose apply downloads or builds take a timeouts block with
// create and update.
func TestLongOperationsHaveTimeouts(t *testing.T) {
	for _, r := range []resource.Resource{&artifactResource{}, &nfsRootImageResource{}} {
		var resp resource.SchemaResponse
		r.Schema(context.Background(), resource.SchemaRequest{}, &resp)
		block, ok := resp.Schema.Blocks["timeouts"].(schema.SingleNestedBlock)
		if !ok {
			t.Errorf("%T has no timeouts block", r)
			continue
		}
		for _, op := range []string{"create", "update"} {
			if _, ok := block.Attributes[op]; !ok {
				t.Errorf("%T: timeouts has no %s", r, op)
			}
		}
	}
}
