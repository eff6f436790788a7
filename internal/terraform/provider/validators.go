package provider

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// stringCheck is a string validator made of a function that says what is
// wrong with a value, for the small syntactic checks of paths and URLs.
type stringCheck struct {
	summary     string
	description string
	check       func(string) error
}

var _ validator.String = stringCheck{}

func (v stringCheck) Description(context.Context) string { return v.description }

func (v stringCheck) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := v.check(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, v.summary, "Must be "+v.description+": "+err.Error()+".")
	}
}

// agentNameValidator accepts what names a boot server, entry, menu or
// image on the agent.
func agentNameValidator() validator.String {
	return stringCheck{
		summary:     "Invalid name",
		description: `a name on the agent such as "lab"`,
		check:       config.CheckName,
	}
}

// artifactPathValidator accepts what the agent's TFTP and HTTP servers can
// serve: a clean relative path such as "ipxe.efi" or "linux/vmlinuz".
func artifactPathValidator() validator.String {
	return stringCheck{
		summary:     "Invalid artifact path",
		description: `a clean relative path such as "undionly.kpxe" or "debian/linux"`,
		check:       config.CheckArtifactPath,
	}
}

// agentPathValidator accepts an absolute, clean file path on the agent host.
func agentPathValidator() validator.String {
	return stringCheck{
		summary:     "Invalid agent path",
		description: `an absolute, clean path on the agent host such as "/usr/lib/ipxe/undionly.kpxe"`,
		check: func(p string) error {
			if !filepath.IsAbs(p) {
				return errors.New("it is relative")
			}
			if clean := filepath.Clean(p); clean != p {
				return errors.New("write " + clean)
			}
			return nil
		},
	}
}

// httpURLValidator accepts an absolute http or https URL.
func httpURLValidator() validator.String {
	return stringCheck{
		summary:     "Invalid URL",
		description: `an absolute http:// or https:// URL such as "https://boot.ipxe.org/ipxe.efi" (IPv6 hosts in brackets)`,
		check: func(s string) error {
			u, err := url.Parse(s)
			switch {
			case err != nil:
				return err
			case u.Scheme != "http" && u.Scheme != "https":
				return errors.New("the scheme is not http or https")
			case u.Host == "":
				return errors.New("it has no host")
			}
			return nil
		},
	}
}
