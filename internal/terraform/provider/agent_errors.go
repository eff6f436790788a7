package provider

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// addAgentError turns a failed RPC into diagnostics by its gRPC code: the
// agent names bad attributes in InvalidArgument's BadRequest details, and
// says what to fix in FailedPrecondition's message. object says what the
// RPC is about ("boot server", "artifact") in the summaries.
func addAgentError(diags *diag.Diagnostics, object, doing string, err error) {
	st := status.Convert(err)
	switch st.Code() {
	case codes.InvalidArgument:
		named := 0
		for _, detail := range st.Details() {
			br, ok := detail.(*errdetails.BadRequest)
			if !ok {
				continue
			}
			for _, fv := range br.GetFieldViolations() {
				addFieldError(diags, object, fieldPath(parseField(fv.GetField())), fv.GetField(), fv.GetDescription())
				named++
			}
		}
		if named == 0 {
			diags.AddError(invalidSummary(object), fmt.Sprintf("The agent rejected %s: %s", doing, st.Message()))
		}
	case codes.PermissionDenied:
		// The agent's operator, not this configuration, decides what the
		// agent may publish (--artifact-path and the like) and who may
		// change it (read-only certificates).
		summary := "The agent refuses this " + object
		named := false
		for _, detail := range st.Details() {
			if br, ok := detail.(*errdetails.BadRequest); ok {
				for _, fv := range br.GetFieldViolations() {
					diags.AddAttributeError(fieldPath(parseField(fv.GetField())), summary, fmt.Sprintf("%s: %s.",
						capitalize(doing), st.Message()))
					named = true
				}
			}
		}
		if !named {
			diags.AddError(summary, fmt.Sprintf("%s: %s", capitalize(doing), st.Message()))
		}
	case codes.FailedPrecondition:
		diags.AddError("The agent cannot serve this "+object, fmt.Sprintf("%s: %s", capitalize(doing), st.Message()))
	case codes.Unavailable, codes.DeadlineExceeded:
		diags.AddError("Cannot reach the netboot agent", fmt.Sprintf("%s: %s\n\n"+
			"Check that the agent is running; a local agent logs to agent.log in its state_dir.", capitalize(doing), st.Message()))
	default:
		diags.AddError("Netboot agent error", fmt.Sprintf("%s: %s (%s)", capitalize(doing), st.Message(), st.Code()))
	}
}

// addValidationErrors reports the agent's own validation of a configuration
// (config.FieldErrors, as config.FromProto and menu's Validate return them)
// on the attributes it names. cfg is the configuration validated: an error
// on a value it does not know yet (a module input), or comparing with one
// (config.FieldError.Depends), is left out, since the value was validated
// as a stand-in. Errors on the top-level attributes in skip are left out
// too: their schema validators already report them.
func addValidationErrors(diags *diag.Diagnostics, object string, err error, cfg tftypes.Value, skip ...string) {
	if err == nil {
		return
	}
	unknown := unknownPaths(cfg)
	fes, ok := config.AsFieldErrors(err)
	if !ok {
		if len(unknown) == 0 {
			diags.AddError(invalidSummary(object), err.Error())
		}
		return
	}
	for _, fe := range fes {
		if len(fe.Path) > 0 && slices.Contains(skip, fmt.Sprint(fe.Path[0])) {
			continue
		}
		if slices.ContainsFunc(append([][]any{fe.Path}, fe.Depends...), func(p []any) bool { return touchesAny(p, unknown) }) {
			continue
		}
		addFieldError(diags, object, fieldPathIn(cfg.Type(), fe.Path), fe.Field(), fe.Reason)
	}
}

// unknownPaths lists where v holds unknown values, as config.FieldError
// paths. An unknown element of a set makes the whole set unknown: errors
// name set elements by an index that says nothing about which.
func unknownPaths(v tftypes.Value) [][]any {
	var out [][]any
	_ = tftypes.Walk(v, func(p *tftypes.AttributePath, v tftypes.Value) (bool, error) {
		if v.IsKnown() {
			return true, nil
		}
		var steps []any
	walk:
		for _, step := range p.Steps() {
			switch s := step.(type) {
			case tftypes.AttributeName:
				steps = append(steps, string(s))
			case tftypes.ElementKeyInt:
				steps = append(steps, int(s))
			default:
				break walk
			}
		}
		out = append(out, steps)
		return false, nil
	})
	return out
}

// touchesAny reports whether p lies inside one of paths or holds one.
func touchesAny(p []any, paths [][]any) bool {
	for _, u := range paths {
		n := min(len(p), len(u))
		if slices.Equal(p[:n], u[:n]) {
			return true
		}
	}
	return false
}

// addInUseError explains the agent's refusal to delete an entry or menu that
// a menu still lists, and how to let Terraform order the change.
func addInUseError(diags *diag.Diagnostics, object, name string, err error) {
	diags.AddError(fmt.Sprintf("Boot %s %q is still in use", object, name),
		fmt.Sprintf("The agent keeps boot %s %q: %s.\n\n"+
			"Remove it from that menu's items, in the same apply or first. When the menu refers to it by reference "+
			"(e.g. netboot_boot_%s.<label>.name), Terraform updates the menu before deleting it; when it is "+
			"replaced under a new name, also set lifecycle { create_before_destroy = true } on it.",
			object, name, status.Convert(err).Message(), object))
}

func invalidSummary(object string) string { return "Invalid " + object + " configuration" }

// addFieldError reports a problem with one attribute of an object; field is
// its HCL spelling, repeated in the text so it reads well wherever it is shown.
func addFieldError(diags *diag.Diagnostics, object string, p path.Path, field, reason string) {
	summary := invalidSummary(object)
	if len(p.Steps()) == 0 {
		diags.AddError(summary, strings.TrimSpace(field+" "+reason))
		return
	}
	diags.AddAttributeError(p, summary, field+" "+reason)
}

// fieldPath converts config.FieldError's path (attribute names and list
// indexes) to a framework path.
func fieldPath(steps []any) path.Path { return fieldPathIn(nil, steps) }

// fieldPathIn is fieldPath for a value of type typ, if known: an index into
// a set stops at the set, since a set's elements have no index.
func fieldPathIn(typ tftypes.Type, steps []any) path.Path {
	p := path.Empty()
	for _, step := range steps {
		if _, ok := typ.(tftypes.Set); ok {
			return p
		}
		switch s := step.(type) {
		case int:
			p = p.AtListIndex(s)
			if l, ok := typ.(tftypes.List); ok {
				typ = l.ElementType
			} else {
				typ = nil
			}
		case string:
			p = p.AtName(s)
			if o, ok := typ.(tftypes.Object); ok {
				typ = o.AttributeTypes[s]
			} else {
				typ = nil
			}
		case config.MapKey:
			p = p.AtMapKey(string(s))
			if m, ok := typ.(tftypes.Map); ok {
				typ = m.ElementType
			} else {
				typ = nil
			}
		default:
			return path.Empty()
		}
	}
	return p
}

// parseField splits an HCL path such as "dhcpv6.ranges[0].start" or
// dhcpv6.relayed_links["vlan10"].prefix into names, indexes and map keys
// (whose names hold no '.'); nil if it is not one.
func parseField(field string) []any {
	var steps []any
	for _, part := range strings.Split(field, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name == "" {
			return nil
		}
		steps = append(steps, name)
		for rest != "" {
			idx, after, ok := strings.Cut(rest, "]")
			if key, err := strconv.Unquote(idx); ok && err == nil {
				steps = append(steps, config.MapKey(key))
			} else if n, err := strconv.Atoi(idx); ok && err == nil && n >= 0 {
				steps = append(steps, n)
			} else {
				return nil
			}
			if after == "" {
				break
			}
			if !strings.HasPrefix(after, "[") {
				return nil
			}
			rest = after[1:]
		}
	}
	return steps
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
