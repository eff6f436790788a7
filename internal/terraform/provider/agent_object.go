package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
)

// agentObject is the lifecycle every resource backed by one named object on
// the agent shares: Create and Update are one idempotent Put whose answer
// becomes the state; Read takes the object from the agent, so changes behind
// Terraform's back show at plan, and drops the resource only when the agent
// answers NotFound (a network blip is an error, not a deletion); Delete
// takes NotFound as done. M is the resource's model; the functions are its
// RPCs.
type agentObject[M any] struct {
	// noun names the object in diagnostics, e.g. "boot entry".
	noun string
	// keyAttr is the attribute naming the object on the agent ("name", or
	// "path" for artifacts); it is also the identity's key.
	keyAttr string
	// key returns the object's name from m: keyAttr's value, or id's right
	// after an import.
	key func(m *M) string
	// put saves m on the agent and sets m from the answer.
	put func(ctx context.Context, agent *agentclient.Conn, m *M, diags *diag.Diagnostics)
	// get reads the object named key into m and returns the RPC's error.
	get func(ctx context.Context, agent *agentclient.Conn, key string, m *M, diags *diag.Diagnostics) error
	// list returns every object of the kind on the agent, for the list
	// resource, and the RPC's error.
	list func(ctx context.Context, agent *agentclient.Conn, diags *diag.Diagnostics) ([]M, error)
	// remove deletes the object named key and returns the RPC's error.
	remove func(ctx context.Context, agent *agentclient.Conn, key string) error
	// removeError reports a failed remove other than NotFound; nil means
	// addAgentError.
	removeError func(diags *diag.Diagnostics, key string, err error)
	// validKey says why an import ID cannot name an object ("" when it can).
	validKey func(key string) string
	// reads, when the kind's get reads through a batchedReads, is told when
	// this process changes an object of the kind.
	reads interface{ forget(*agentclient.Conn) }
}

func (o *agentObject[M]) changed(agent *agentclient.Conn) {
	if o.reads != nil {
		o.reads.forget(agent)
	}
}

func (o *agentObject[M]) create(ctx context.Context, agent *agentclient.Conn, req resource.CreateRequest, resp *resource.CreateResponse) {
	o.apply(ctx, agent, req.Plan, &resp.State, resp.Identity, &resp.Diagnostics)
}

func (o *agentObject[M]) update(ctx context.Context, agent *agentclient.Conn, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	o.apply(ctx, agent, req.Plan, &resp.State, resp.Identity, &resp.Diagnostics)
}

func (o *agentObject[M]) apply(ctx context.Context, agent *agentclient.Conn, plan tfsdk.Plan, state *tfsdk.State,
	identity *tfsdk.ResourceIdentity, diags *diag.Diagnostics) {
	m, ok := o.load(ctx, agent, plan.Get, diags)
	if !ok {
		return
	}
	o.put(ctx, agent, &m, diags)
	o.changed(agent)
	if diags.HasError() {
		return
	}
	diags.Append(state.Set(ctx, &m)...)
	o.setIdentity(ctx, agent, identity, o.key(&m), diags)
}

// load reads the model from a plan or state (get) and checks that the
// provider is connected; ok is false when diags say why not.
func (o *agentObject[M]) load(ctx context.Context, agent *agentclient.Conn, get func(context.Context, any) diag.Diagnostics,
	diags *diag.Diagnostics) (m M, ok bool) {
	diags.Append(get(ctx, &m)...)
	if diags.HasError() {
		return m, false
	}
	if agent == nil {
		addNotConfigured(diags)
		return m, false
	}
	return m, true
}

func (o *agentObject[M]) read(ctx context.Context, agent *agentclient.Conn, req resource.ReadRequest, resp *resource.ReadResponse) {
	m, ok := o.load(ctx, agent, req.State.Get, &resp.Diagnostics)
	if !ok {
		return
	}
	key := o.key(&m)
	err := o.get(ctx, agent, key, &m, &resp.Diagnostics)
	if status.Code(err) == codes.NotFound {
		// Deleted behind Terraform's back: plan will create it again. The
		// framework wants an identity after every Read that has no error,
		// this one too.
		resp.State.RemoveResource(ctx)
		o.setIdentity(ctx, agent, resp.Identity, key, &resp.Diagnostics)
		return
	}
	if err != nil {
		addAgentError(&resp.Diagnostics, o.noun, fmt.Sprintf("reading %s %q", o.noun, key), err)
		return
	}
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
	o.setIdentity(ctx, agent, resp.Identity, key, &resp.Diagnostics)
}

func (o *agentObject[M]) delete(ctx context.Context, agent *agentclient.Conn, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	m, ok := o.load(ctx, agent, req.State.Get, &resp.Diagnostics)
	if !ok {
		return
	}
	key := o.key(&m)
	err := o.remove(ctx, agent, key)
	o.changed(agent)
	switch {
	case err == nil, status.Code(err) == codes.NotFound:
	case o.removeError != nil:
		o.removeError(&resp.Diagnostics, key, err)
	default:
		addAgentError(&resp.Diagnostics, o.noun, fmt.Sprintf("deleting %s %q", o.noun, key), err)
	}
}

// importState takes the object's key from `terraform import`'s ID or from an
// import block's identity; Read fills in the rest.
func (o *agentObject[M]) importState(ctx context.Context, agent *agentclient.Conn, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	key := req.ID
	if key == "" && req.Identity != nil {
		var id objectIdentity
		resp.Diagnostics.Append(req.Identity.GetAttribute(ctx, path.Root(o.keyAttr), &id.Key)...)
		resp.Diagnostics.Append(req.Identity.GetAttribute(ctx, path.Root(identityAgentAttr), &id.Agent)...)
		if resp.Diagnostics.HasError() {
			return
		}
		key = id.Key.ValueString()
		if a := id.Agent.ValueString(); a != "" && agent != nil && a != agent.Address {
			resp.Diagnostics.AddAttributeError(path.Root(identityAgentAttr), "Identity of another agent",
				fmt.Sprintf("The identity names the %s %q on agent %q, but this provider configuration talks to %q. "+
					"Import it through a provider configured for that agent (provider = netboot.<alias>), or leave %s out.",
					o.noun, key, a, agent.Address, identityAgentAttr))
			return
		}
	}
	if problem := o.validKey(key); problem != "" {
		resp.Diagnostics.AddError("Invalid import ID", fmt.Sprintf("The import ID is the %s's %s (%s), got %q.", o.noun, o.keyAttr, problem, key))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), key)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(o.keyAttr), key)...)
	o.setIdentity(ctx, agent, resp.Identity, key, &resp.Diagnostics)
}

// identitySchema is the resource identity (Terraform 1.12 and later): the
// object's key on the agent, and which agent, since two sites' agents may
// each hold an object of the same name.
func (o *agentObject[M]) identitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityschema.Schema{
		Attributes: map[string]identityschema.Attribute{
			o.keyAttr: identityschema.StringAttribute{
				RequiredForImport: true,
				Description:       fmt.Sprintf("The %s's %s on the agent.", o.noun, o.keyAttr),
			},
			identityAgentAttr: identityschema.StringAttribute{
				OptionalForImport: true,
				Description: "The agent holding it: the provider's endpoint (host:port), or unix://<state_dir>/agent.sock " +
					"for the local agent. When importing, it must match the provider configuration's agent.",
			},
		},
	}
}

const identityAgentAttr = "agent"

// agentObjectBehavior lets an identity's agent change: it is how the
// provider reaches the agent (endpoint or socket path), and a user may
// repoint the provider at the same agent under another name.
var agentObjectBehavior = resource.ResourceBehavior{MutableIdentity: true}

type objectIdentity struct {
	Key   types.String
	Agent types.String
}

func (o *agentObject[M]) setIdentity(ctx context.Context, agent *agentclient.Conn, identity *tfsdk.ResourceIdentity, key string, diags *diag.Diagnostics) {
	if identity == nil || agent == nil {
		return
	}
	diags.Append(identity.SetAttribute(ctx, path.Root(o.keyAttr), key)...)
	diags.Append(identity.SetAttribute(ctx, path.Root(identityAgentAttr), agent.Address)...)
}

// nameOrID is the key of objects named by a "name" attribute.
func nameOrID(name, id types.String) string {
	if n := name.ValueString(); n != "" {
		return n
	}
	return id.ValueString()
}

// validObjectName is validKey for objects named by config.NamePattern.
func validObjectName(name string) string {
	if err := config.CheckName(name); err != nil {
		return err.Error()
	}
	return ""
}
