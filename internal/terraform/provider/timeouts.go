package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// defaultLongTimeout bounds a create or update that downloads or builds
// (an artifact's url, an NFS root image) when timeouts does not say.
const defaultLongTimeout = 20 * time.Minute

var timeoutsAttrTypes = map[string]attr.Type{"create": types.StringType, "update": types.StringType}

// timeoutsBlock is the conventional `timeouts { create = "…", update = "…" }`
// block of a resource whose apply may take long; what says what takes long.
func timeoutsBlock(ctx context.Context, what string) schema.Block {
	desc := func(op string) string {
		return fmt.Sprintf("How long %s may take on %s: a Go duration such as `\"90s\"`, `\"30m\"` or `\"1h\"`. "+
			"Defaults to %d minutes.", what, op, int(defaultLongTimeout.Minutes()))
	}
	b := timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, CreateDescription: desc("create"), UpdateDescription: desc("update")})
	nested := b.(schema.SingleNestedBlock)
	nested.MarkdownDescription = fmt.Sprintf("How long the provider waits for %s. When it runs out, the agent stops, "+
		"keeps serving what it served before and the apply fails with a timeout error; the defaults suit a slow link, "+
		"set shorter ones to fail fast.", what)
	return nested
}

// nullTimeouts is the timeouts block left out, for models built from the
// agent's answer alone (import, list).
func nullTimeouts() timeouts.Value {
	return timeouts.Value{Object: types.ObjectNull(timeoutsAttrTypes)}
}

// errTimedOut is the cause of a context whose timeouts entry ran out.
var errTimedOut = errors.New("timed out")

// withTimeout bounds ctx by t's create or update timeout. The context's
// cause then says which timeout ran out, for addTimedOut.
func withTimeout(ctx context.Context, t timeouts.Value, op string, diags *diag.Diagnostics) (context.Context, context.CancelFunc) {
	get := t.Create
	if op == "update" {
		get = t.Update
	}
	d, ds := get(ctx, defaultLongTimeout)
	diags.Append(ds...)
	return context.WithTimeoutCause(ctx, d, fmt.Errorf("%w: the %s timeout of %s ran out (timeouts { %s = … })", errTimedOut, op, d, op))
}

// addTimedOut reports doing as timed out and returns true when ctx's
// timeout (withTimeout) ran out, rather than the RPC error it caused.
func addTimedOut(ctx context.Context, diags *diag.Diagnostics, doing, outcome string) bool {
	// The agent's copy of the deadline (gRPC sends it along) runs out a
	// moment before ours, so its error can arrive first: an error this
	// close to the deadline waits for it.
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < time.Second {
		<-ctx.Done()
	}
	cause := context.Cause(ctx)
	if !errors.Is(cause, errTimedOut) {
		return false
	}
	diags.AddError("Timed out", fmt.Sprintf("%s: %v. %s\n\nRaise the timeout in the resource's timeouts block if it "+
		"needs longer, or find out on the agent host what is slow: `terraform-provider-netboot agent logs -f` "+
		"shows its progress.", capitalize(doing), cause, outcome))
	return true
}
