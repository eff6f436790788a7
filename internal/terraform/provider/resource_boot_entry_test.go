package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"google.golang.org/protobuf/proto"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

const testEntry = "netboot_boot_entry.test"

// bootEntryConfig is a netboot_boot_entry "test" with the given attributes.
func bootEntryConfig(providerConfig, body string) string {
	return fmt.Sprintf("%s\nresource \"netboot_boot_entry\" \"test\" {\n%s\n}\n", providerConfig, body)
}

// The agent's validation runs at plan, before the provider connects, and
// names the attribute: none of these reaches an agent.
func TestBootEntry_invalidConfigFailsAtPlan(t *testing.T) {
	t.Parallel()
	provider := noAgentProviderConfig(t)
	var cases []planFailure
	for _, tc := range []struct{ name, body, want string }{
		{"title with a line break", `
  name  = "local"
  kind  = "exit"
  title = "Local\nreboot"`,
			"title must not contain line breaks"},
		{"title with a lone ||", `
  name  = "local"
  kind  = "exit"
  title = "Local || reboot"`,
			`title must not contain "||" as a separate word`},
		{"title with a comment", `
  name  = "local"
  kind  = "exit"
  title = "Disk #2"`,
			`title must not contain a word starting with '#'`},
		{"unknown kind", `
  name = "local"
  kind = "pxe"`,
			`value must be one of: ["linux" "exit" "chain" "sanboot" "script"]`},
		{"linux without a kernel", `name = "linux"`,
			`linux must be set when kind is "linux"`},
		{"kernel leaving the HTTP root", `
  name  = "linux"
  linux = { kernel = "../vmlinuz" }`,
			`linux.kernel "../vmlinuz" is not a clean relative path`},
		{"args with an unknown field", `
  name  = "linux"
  linux = {
    kernel = "vmlinuz"
    args   = "url={{ .Host }}/ks.cfg"
  }`,
			"linux.args uses {{ .Host }}: only {{ .HTTPBase }}, {{ .HTTPSBase }}, {{ .BootServer }}, {{ .Entry }}, {{ .ConfigURL"},
		{"efi without pcbios", `
  name = "linux"
  efi  = { kernel = "efi/vmlinuz" }`,
			"pcbios must be set with a kernel"},
		{"empty initrds", `
  name  = "linux"
  linux = {
    kernel  = "vmlinuz"
    initrds = []
  }`,
			"list must contain at least 1 elements"},
		{"linux on an exit entry", `
  name  = "local"
  kind  = "exit"
  linux = { kernel = "vmlinuz" }`,
			`linux is only used when kind is "linux", not "exit"`},
		{"chain without url", `
  name = "xyz"
  kind = "chain"`,
			`url must be set when kind is "chain"`},
		{"sanboot over tftp", `
  name = "disk"
  kind = "sanboot"
  url  = "tftp://[2001:db8::1]/disk.img"`,
			`url "tftp://[2001:db8::1]/disk.img" must be an absolute http://, https://, iscsi:, aoe:, fcp: or ib_srp: URL`},
		{"script defining a reserved label", `
  name   = "shell"
  kind   = "script"
  script = ":failed\nshell\n"`,
			`script line 1 defines label ":failed"`},
		{"invalid name", `
  name = "Local Disk"
  kind = "exit"`,
			"must be 1-63 lowercase letters, digits, '-' or '_'"},
	} {
		cases = append(cases, planFailure{tc.name, bootEntryConfig(provider, tc.body), errorText(tc.want)})
	}
	expectPlanFailures(t, cases)
}

// validateConfig runs a resource's ValidateConfig on a configuration built
// from a model, as Terraform would send it.
func validateConfig(t *testing.T, r resource.ResourceWithValidateConfig, model any) diag.Diagnostics {
	t.Helper()
	ctx := context.Background()
	var schemaResp resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &schemaResp)
	plan := tfsdk.Plan{Schema: schemaResp.Schema, Raw: tftypes.NewValue(schemaResp.Schema.Type().TerraformType(ctx), nil)}
	if diags := plan.Set(ctx, model); diags.HasError() {
		t.Fatal(diags)
	}
	var resp resource.ValidateConfigResponse
	r.ValidateConfig(ctx, resource.ValidateConfigRequest{Config: tfsdk.Config{Schema: schemaResp.Schema, Raw: plan.Raw}}, &resp)
	return resp.Diagnostics
}

// expectErrorsAt checks that diags are errors on exactly paths, in order.
func expectErrorsAt(t *testing.T, diags diag.Diagnostics, paths ...path.Path) {
	t.Helper()
	var got []path.Path
	for _, d := range diags {
		dp, ok := d.(diag.DiagnosticWithPath)
		if !ok || d.Severity() != diag.SeverityError {
			t.Fatalf("diagnostic %v, want an error with a path", d)
		}
		got = append(got, dp.Path())
	}
	if fmt.Sprint(got) != fmt.Sprint(paths) {
		t.Errorf("errors at %v, want at %v (%v)", got, paths, diags)
	}
}

// expectOneErrorAt checks that diags is exactly one error, on p.
func expectOneErrorAt(t *testing.T, diags diag.Diagnostics, p path.Path) {
	t.Helper()
	if len(diags) != 1 {
		t.Fatalf("diagnostics = %v, want one error at %s", diags, p)
	}
	d, ok := diags[0].(diag.DiagnosticWithPath)
	if !ok || !d.Path().Equal(p) || d.Severity() != diag.SeverityError {
		t.Fatalf("diagnostic = %v, want an error at %s", diags[0], p)
	}
}

// Problems are reported on the attribute itself, so Terraform points at it;
// a malformed name is left to the schema's validator, not reported twice.
func TestBootEntry_errorsNameTheirAttribute(t *testing.T) {
	for _, tc := range []struct {
		name  string
		entry *netbootv1.BootEntry
		want  path.Path
	}{
		{"title", &netbootv1.BootEntry{Name: "local", Title: "a\nb", Kind: "exit"}, path.Root("title")},
		{"initrd", &netbootv1.BootEntry{Name: "linux", Kind: "linux",
			Linux: &netbootv1.LinuxBoot{Kernel: "vmlinuz", Initrds: []string{"initrd.img", "/abs/initrd.img"}}},
			path.Root("linux").AtName("initrds").AtListIndex(1)},
		{"name left to the schema", &netbootv1.BootEntry{Name: "Bad Name", Kind: "chain"}, path.Root("url")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m bootEntryModel
			m.fromProto(tc.entry)
			m.ID = types.StringNull()
			expectOneErrorAt(t, validateConfig(t, &bootEntryResource{}, &m), tc.want)
		})
	}
}

// What the agent returns, read into the model and sent back, is unchanged:
// Read followed by an apply without changes is a no-op.
func TestBootEntryRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, in := range []*netbootv1.BootEntry{
		{Name: "centos", Title: "CentOS", Kind: "linux",
			Linux:  &netbootv1.LinuxBoot{Initrds: []string{"centos/initrd.img"}, Args: "inst.repo={{ .HTTPBase }}/centos"},
			Efi:    &netbootv1.LinuxBoot{Kernel: "centos/efi/vmlinuz"},
			Pcbios: &netbootv1.LinuxBoot{Kernel: "centos/bios/vmlinuz", Args: "console=ttyS0"}},
		{Name: "local", Kind: "exit"},
		{Name: "xyz", Kind: "chain", Url: "https://boot.netboot.xyz/ipxe/netboot.xyz.efi"},
		{Name: "shell", Kind: "script", Script: "#!ipxe\nshell\n"},
		// An empty override block stays a block.
		{Name: "empty", Kind: "linux", Linux: &netbootv1.LinuxBoot{Kernel: "vmlinuz"}, Efi: &netbootv1.LinuxBoot{}},
	} {
		var m bootEntryModel
		m.fromProto(in)
		out, diags := m.toProto(ctx)
		if diags.HasError() {
			t.Fatal(diags)
		}
		if !proto.Equal(in, out) {
			t.Errorf("round trip changed the entry:\n in: %v\nout: %v", in, out)
		}
	}
	var m bootEntryModel
	m.fromProto(&netbootv1.BootEntry{Name: "local", Kind: "exit"})
	if !m.Title.IsNull() || !m.Linux.IsNull() || !m.URL.IsNull() || !m.Script.IsNull() {
		t.Errorf("unset fields must read back as null, got %+v", m)
	}
}

// checkEntriesDestroyed is CheckDestroy: the agent holds no boot entries.
func (l *agentLab) checkEntriesDestroyed(t *testing.T) func(*terraform.State) error {
	return func(*terraform.State) error {
		list, err := l.conn(t).ListBootEntries(context.Background(), &netbootv1.ListBootEntriesRequest{})
		if err != nil {
			return err
		}
		if n := len(list.GetEntries()); n != 0 {
			return fmt.Errorf("%d boot entries still on the agent after destroy: %v", n, list.GetEntries())
		}
		return nil
	}
}

// agentEntry checks what the agent holds for an entry.
func (l *agentLab) agentEntry(t *testing.T, want *netbootv1.BootEntry) error {
	got, err := l.conn(t).GetBootEntry(context.Background(), &netbootv1.GetBootEntryRequest{Name: want.GetName()})
	if err != nil {
		return fmt.Errorf("GetBootEntry(%s): %w", want.GetName(), err)
	}
	if !proto.Equal(got, want) {
		return fmt.Errorf("the agent holds %v, want %v", got, want)
	}
	return nil
}

func TestBootEntry_basic(t *testing.T) {
	lab := newFastLab(t)
	linuxBody := `
  name  = "installer"
  title = "Debian installer"
  linux = {
    kernel  = "debian/linux"
    initrds = ["debian/initrd.gz"]
    args    = "auto=true url={{ .HTTPBase }}/preseed/{{ .Entry }}.cfg BOOTIF=$${netX/mac}"
  }
`
	splitBody := `
  name  = "installer"
  title = "Debian installer, BIOS or UEFI"
  linux = {
    kernel  = "debian/linux"
    initrds = ["debian/initrd.gz"]
    args    = "auto=true url={{ .HTTPBase }}/preseed/{{ .Entry }}.cfg BOOTIF=$${netX/mac}"
  }
  efi = {
    kernel = "debian/efi/linux"
  }
  pcbios = {
    args = "auto=true console=ttyS0,115200n8"
  }
`
	chainBody := `
  name  = "installer"
  title = "netboot.xyz"
  kind  = "chain"
  url   = "https://boot.netboot.xyz/ipxe/netboot.xyz.efi"
`
	cfg := func(body string) string { return bootEntryConfig(lab.providerConfig(), body) }
	linux := tfjsonpath.New("linux")
	tfresource.UnitTest(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testProviderFactories,
		CheckDestroy:             lab.checkEntriesDestroyed(t),
		Steps: []tfresource.TestStep{
			{
				Config: cfg(linuxBody),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testEntry, tfjsonpath.New("id"), knownvalue.StringExact("installer")),
					statecheck.ExpectKnownValue(testEntry, tfjsonpath.New("kind"), knownvalue.StringExact("linux")),
					statecheck.ExpectKnownValue(testEntry, linux.AtMapKey("initrds"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("debian/initrd.gz")})),
					statecheck.ExpectKnownValue(testEntry, tfjsonpath.New("efi"), knownvalue.Null()),
					statecheck.ExpectKnownValue(testEntry, tfjsonpath.New("url"), knownvalue.Null()),
				},
				Check: func(*terraform.State) error {
					return lab.agentEntry(t, &netbootv1.BootEntry{Name: "installer", Title: "Debian installer", Kind: "linux",
						Linux: &netbootv1.LinuxBoot{Kernel: "debian/linux", Initrds: []string{"debian/initrd.gz"},
							Args: "auto=true url={{ .HTTPBase }}/preseed/{{ .Entry }}.cfg BOOTIF=${netX/mac}"}})
				},
			},
			{
				// Platform overrides and a new title, in place.
				Config: cfg(splitBody),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testEntry, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testEntry, tfjsonpath.New("efi").AtMapKey("kernel"), knownvalue.StringExact("debian/efi/linux")),
					statecheck.ExpectKnownValue(testEntry, tfjsonpath.New("efi").AtMapKey("initrds"), knownvalue.Null()),
					statecheck.ExpectKnownValue(testEntry, tfjsonpath.New("pcbios").AtMapKey("kernel"), knownvalue.Null()),
				},
				Check: func(*terraform.State) error {
					return lab.agentEntry(t, &netbootv1.BootEntry{Name: "installer", Title: "Debian installer, BIOS or UEFI", Kind: "linux",
						Linux: &netbootv1.LinuxBoot{Kernel: "debian/linux", Initrds: []string{"debian/initrd.gz"},
							Args: "auto=true url={{ .HTTPBase }}/preseed/{{ .Entry }}.cfg BOOTIF=${netX/mac}"},
						Efi:    &netbootv1.LinuxBoot{Kernel: "debian/efi/linux"},
						Pcbios: &netbootv1.LinuxBoot{Args: "auto=true console=ttyS0,115200n8"}})
				},
			},
			{
				ResourceName:      testEntry,
				ImportState:       true,
				ImportStateId:     "installer",
				ImportStateVerify: true,
			},
			{
				// Drift: the entry is changed over gRPC behind Terraform's back.
				PreConfig: func() {
					conn := lab.conn(t)
					e, err := conn.GetBootEntry(context.Background(), &netbootv1.GetBootEntryRequest{Name: "installer"})
					if err != nil {
						t.Fatal(err)
					}
					e.Pcbios = nil
					if _, err := conn.PutBootEntry(context.Background(), &netbootv1.PutBootEntryRequest{Entry: e}); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg(splitBody),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// Apply puts it back, in place.
				Config: cfg(splitBody),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testEntry, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testEntry, tfjsonpath.New("pcbios").AtMapKey("args"), knownvalue.StringExact("auto=true console=ttyS0,115200n8")),
				},
			},
			{
				// Drift: the entry is deleted behind Terraform's back.
				PreConfig: func() {
					if _, err := lab.conn(t).DeleteBootEntry(context.Background(), &netbootv1.DeleteBootEntryRequest{Name: "installer"}); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg(splitBody),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: cfg(splitBody),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testEntry, plancheck.ResourceActionCreate),
				}},
			},
			{
				// Another kind, in place: the kernels go.
				Config: cfg(chainBody),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testEntry, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					return lab.agentEntry(t, &netbootv1.BootEntry{Name: "installer", Title: "netboot.xyz", Kind: "chain",
						Url: "https://boot.netboot.xyz/ipxe/netboot.xyz.efi"})
				},
			},
			{
				// A menu made outside Terraform lists the entry: the agent
				// keeps it, and the error says why.
				PreConfig: func() {
					_, err := lab.conn(t).PutBootMenu(context.Background(), &netbootv1.PutBootMenuRequest{Menu: &netbootv1.BootMenu{
						Name: "elsewhere", Items: []*netbootv1.MenuItem{{Entry: "installer"}},
					}})
					if err != nil {
						t.Fatal(err)
					}
				},
				Config:      lab.providerConfig(),
				ExpectError: errorTexts(`Boot entry "installer" is still in use`, `item 0 of boot menu "elsewhere"`),
			},
			{
				PreConfig: func() {
					if _, err := lab.conn(t).DeleteBootMenu(context.Background(), &netbootv1.DeleteBootMenuRequest{Name: "elsewhere"}); err != nil {
						t.Fatal(err)
					}
				},
				Config: lab.providerConfig(),
			},
		},
	})
}

// An entry booting an NFS root image takes its kernel, initrd and
// arguments from the image, unknown until it is built: they are skipped,
// with the checks that compare with them, and the rest is still checked.
func TestBootEntry_unknownValuesAreSkipped(t *testing.T) {
	linux := func(kernel, args types.String, initrds types.List) types.Object {
		return types.ObjectValueMust(linuxBootAttrTypes, map[string]attr.Value{"kernel": kernel, "initrds": initrds, "args": args})
	}
	unknownInitrds := types.ListValueMust(types.StringType, []attr.Value{types.StringUnknown()})
	for _, tc := range []struct {
		name  string
		entry func(m *bootEntryModel)
		want  []path.Path
	}{
		{"kernel, initrd and args unknown", func(m *bootEntryModel) {
			m.Linux = linux(types.StringUnknown(), types.StringUnknown(), unknownInitrds)
		}, nil},
		{"the whole linux block unknown", func(m *bootEntryModel) {
			m.Linux = types.ObjectUnknown(linuxBootAttrTypes)
		}, nil},
		{"a bad title beside unknown values", func(m *bootEntryModel) {
			m.Title = types.StringValue("a\nb")
			m.Linux = linux(types.StringUnknown(), types.StringValue("console=ttyS0"), unknownInitrds)
		}, []path.Path{path.Root("title")}},
		{"a bad initrd beside an unknown kernel", func(m *bootEntryModel) {
			m.Linux = linux(types.StringUnknown(), types.StringNull(),
				types.ListValueMust(types.StringType, []attr.Value{types.StringUnknown(), types.StringValue("../initrd.img")}))
		}, []path.Path{path.Root("linux").AtName("initrds").AtListIndex(1)}},
		{"kind unknown: url not compared with it", func(m *bootEntryModel) {
			m.Kind = types.StringUnknown()
			m.URL = types.StringValue("https://boot.example/ipxe.efi")
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m bootEntryModel
			m.fromProto(&netbootv1.BootEntry{Name: "diskless", Kind: "linux"})
			m.ID = types.StringNull()
			tc.entry(&m)
			expectErrorsAt(t, validateConfig(t, &bootEntryResource{}, &m), tc.want...)
		})
	}
}
