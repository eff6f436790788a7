package menu

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/machineconfig"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/nfsroot"
)

// maxTimeout bounds a menu's timeout: a day is plenty, and iPXE keeps the
// timeout in milliseconds in an unsigned long, 32 bits on i386 and arm32.
const maxTimeout = 24 * time.Hour

// Platforms are the values of iPXE's ${platform} a menu can match, and
// BuildArchs those of ${buildarch}.
var (
	Platforms  = []string{"efi", "pcbios"}
	BuildArchs = []string{"i386", "x86_64", "arm32", "arm64", "riscv32", "riscv64", "loong64"}
)

// keyPattern is an iPXE hot key: iPXE takes a one-character --key literally.
var keyPattern = regexp.MustCompile(`^[A-Za-z0-9]$`)

const nameReason = config.NameReason

func add(errs *config.FieldErrors, reason string, path ...any) {
	*errs = append(*errs, &config.FieldError{Path: path, Reason: reason})
}

// addVs adds an error on path that follows from comparing it with the
// attributes at depends (config.FieldError.Depends).
func addVs(errs *config.FieldErrors, reason string, path []any, depends ...[]any) {
	*errs = append(*errs, &config.FieldError{Path: path, Reason: reason, Depends: depends})
}

var kindPath = []any{"kind"}

func result(errs config.FieldErrors) error {
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// Validate checks every field of e on its own (ValidateCatalog checks
// references between objects). The error, if any, is config.FieldErrors
// with HCL attribute paths ("linux.initrds[1]").
func (e *Entry) Validate() error {
	var errs config.FieldErrors
	if !config.NamePattern.MatchString(e.Name) {
		add(&errs, nameReason, "name")
	}
	if e.Title != "" {
		if p := textProblem(e.Title, maxTitleLen); p != "" {
			add(&errs, p, "title")
		}
	}
	switch e.Kind {
	case KindLinux:
		e.validateLinux(&errs)
	case KindChain:
		if e.URL == "" {
			addVs(&errs, "must be set when kind is \"chain\": the image to download and run", []any{"url"}, kindPath)
		} else if p := urlProblem(e.URL, chainSchemes); p != "" {
			add(&errs, p, "url")
		}
	case KindSanboot:
		if e.URL == "" {
			addVs(&errs, "must be set when kind is \"sanboot\": the SAN target or disk image to boot", []any{"url"}, kindPath)
		} else if p := urlProblem(e.URL, sanbootSchemes); p != "" {
			add(&errs, p, "url")
		}
	case KindScript:
		if p := scriptProblem(e.Script); p != "" {
			add(&errs, p, "script")
		}
	case KindExit:
	default:
		add(&errs, fmt.Sprintf("must be one of \"linux\", \"exit\", \"chain\", \"sanboot\" or \"script\", got %q", e.Kind), "kind")
		return errs
	}
	if e.Kind != KindLinux {
		for _, b := range []struct {
			name string
			l    *Linux
		}{{"linux", e.Linux}, {"efi", e.EFI}, {"pcbios", e.PCBIOS}} {
			if b.l != nil {
				addVs(&errs, fmt.Sprintf("is only used when kind is \"linux\", not %q", e.Kind), []any{b.name}, kindPath)
			}
		}
	}
	if e.URL != "" && e.Kind != KindChain && e.Kind != KindSanboot {
		addVs(&errs, fmt.Sprintf("is only used when kind is \"chain\" or \"sanboot\", not %q", e.Kind), []any{"url"}, kindPath)
	}
	if e.Script != "" && e.Kind != KindScript {
		addVs(&errs, fmt.Sprintf("is only used when kind is \"script\", not %q", e.Kind), []any{"script"}, kindPath)
	}
	return result(errs)
}

func (e *Entry) validateLinux(errs *config.FieldErrors) {
	if e.Linux == nil && e.EFI == nil && e.PCBIOS == nil {
		addVs(errs, "must be set when kind is \"linux\" (or set both efi and pcbios)", []any{"linux"}, kindPath, []any{"efi"}, []any{"pcbios"})
		return
	}
	for _, b := range []struct {
		name string
		l    *Linux
	}{{"linux", e.Linux}, {"efi", e.EFI}, {"pcbios", e.PCBIOS}} {
		if b.l == nil {
			continue
		}
		if b.l.Kernel != "" {
			if p := artifactOrURLProblem(b.l.Kernel); p != "" {
				add(errs, p, b.name, "kernel")
			}
		}
		for i, initrd := range b.l.Initrds {
			if p := artifactOrURLProblem(initrd); p != "" {
				add(errs, p, b.name, "initrds", i)
			}
		}
		if p := argsProblem(b.l.Args, e.Name); p != "" {
			add(errs, p, b.name, "args")
		}
	}
	if e.Linux != nil && e.Linux.Kernel != "" {
		return
	}
	if e.Linux != nil && (e.EFI == nil || e.PCBIOS == nil) {
		addVs(errs, "must be set, unless both efi and pcbios set their own kernel", []any{"linux", "kernel"}, []any{"efi"}, []any{"pcbios"})
		return
	}
	for _, b := range []struct {
		name string
		l    *Linux
	}{{"efi", e.EFI}, {"pcbios", e.PCBIOS}} {
		switch {
		case b.l == nil:
			addVs(errs, "must be set with a kernel: linux sets no kernel, so each platform needs its own", []any{b.name}, []any{"linux"})
		case b.l.Kernel == "":
			addVs(errs, "must be set: linux sets no kernel, so each platform needs its own", []any{b.name, "kernel"}, []any{"linux"})
		}
	}
}

// ArgsData is what a kernel command line template (Linux.Args) receives.
type ArgsData struct {
	// HTTPBase is the boot server's HTTP URL without a trailing slash,
	// e.g. "http://[2001:db8::1]" or "http://[2001:db8::1]:8080".
	HTTPBase string
	// HTTPSBase is its HTTPS URL, e.g. "https://[2001:db8::1]"; "" while
	// boot.https is off.
	HTTPSBase string
	// BootServer is the boot server's name.
	BootServer string
	// Entry is the boot entry's name.
	Entry string

	// machine is the machine booting, nil when the host is none.
	machine *config.Machine
}

// ConfigURL is where the booting machine fetches its file name (a
// netboot_config's file, "user-data" say) from this boot server; "" gives
// its directory with a trailing slash, for NoCloud's "ds=nocloud;s=".
// A host that is no machine has none, and its menu fails to render.
func (d ArgsData) ConfigURL(name string) (string, error) {
	if d.machine == nil {
		return "", errors.New("ConfigURL: this host is no netboot_machine (no machine has its MAC address or UUID), so it has no config URL; offer the entry in a menu of machines only")
	}
	return machineconfig.URL(d.HTTPBase, d.machine.Name, d.machine.ConfigToken, name)
}

// HTTPSConfigURL is ConfigURL over HTTPS, for an installer or cloud-init
// that trusts the boot server's certificate: the token in the URL is then
// not readable on the wire. An error while the boot server has no HTTPS.
func (d ArgsData) HTTPSConfigURL(name string) (string, error) {
	if d.machine == nil {
		return d.ConfigURL(name)
	}
	return machineconfig.HTTPSURL(d.HTTPSBase, d.machine.Name, d.machine.ConfigToken, name)
}

var argsFields = []string{"HTTPBase", "HTTPSBase", "BootServer", "Entry", "ConfigURL", "HTTPSConfigURL"}

// sampleArgsData stands in for a real boot server and machine when args
// are validated.
func sampleArgsData(entry string) ArgsData {
	return ArgsData{HTTPBase: machineconfig.SampleSite.HTTPBase, HTTPSBase: machineconfig.SampleSite.HTTPSBase, BootServer: "lab", Entry: entry,
		machine: &config.Machine{Name: "sample", ConfigToken: "0123456789abcdef0123456789abcdef"}}
}

func parseArgs(text string) (*template.Template, error) {
	return template.New("args").Option("missingkey=error").Parse(text)
}

// argsProblem says why a kernel command line template is unusable, or ""
// when it is fine.
func argsProblem(text, entry string) string {
	if text == "" {
		return ""
	}
	if len(text) > maxArgsLen {
		return fmt.Sprintf("must be at most %d bytes, got %d", maxArgsLen, len(text))
	}
	if strings.ContainsAny(text, "\r\n") {
		return "must be a single line: every line of an iPXE script is a command, so a line break would inject one"
	}
	t, err := parseArgs(text)
	if err != nil {
		return "is not a valid Go template: " + err.Error()
	}
	for _, tt := range t.Templates() {
		if tt.Tree == nil {
			continue
		}
		for _, f := range templateFields(tt.Tree.Root) {
			if !slices.Contains(argsFields, f) {
				return fmt.Sprintf("uses {{ .%s }}: only {{ .HTTPBase }}, {{ .HTTPSBase }}, {{ .BootServer }}, {{ .Entry }}, {{ .ConfigURL \"<file>\" }} and {{ .HTTPSConfigURL \"<file>\" }} exist (iPXE's own ${...} settings pass through as written)", f)
			}
		}
	}
	var out bytes.Buffer
	if err := t.Execute(&out, sampleArgsData(entry)); err != nil {
		return "cannot be rendered: " + err.Error()
	}
	if p := textProblem(out.String(), maxArgsLen); p != "" {
		return "after rendering, " + p
	}
	return nfsrootProblem(out.String())
}

// nfsrootProblem catches the diskless trap: nfsroot= with a literal address.
func nfsrootProblem(args string) string {
	for _, word := range strings.Fields(args) {
		value, ok := strings.CutPrefix(word, "nfsroot=")
		if !ok {
			continue
		}
		value, _, _ = strings.Cut(value, ",")
		host := value
		if i := strings.LastIndex(value, ":"); i >= 0 && !strings.HasPrefix(value, "[") && strings.Count(value, ":") == 1 {
			host = value[:i]
		}
		if strings.HasPrefix(value, "[") || strings.Count(value, ":") > 1 {
			host = value
		}
		if err := nfsroot.ValidateNFSRootHost(host); err != nil {
			return err.Error()
		}
	}
	return ""
}

// templateFields lists the fields of dot (and of $) a template refers to.
func templateFields(n parse.Node) []string {
	var out []string
	var walk func(parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			out = append(out, n.Ident[0])
		case *parse.VariableNode:
			if len(n.Ident) > 1 && n.Ident[0] == "$" {
				out = append(out, n.Ident[1])
			}
		case *parse.ChainNode:
			walk(n.Node)
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walk(n.Pipe)
		}
	}
	walk(n)
	return out
}

// Validate checks every field of m on its own (ValidateCatalog checks that
// items name existing entries and menus). The error, if any, is
// config.FieldErrors with HCL attribute paths ("items[2].key").
func (m *Menu) Validate() error {
	var errs config.FieldErrors
	if !config.NamePattern.MatchString(m.Name) {
		add(&errs, nameReason, "name")
	}
	if m.Title != "" {
		if p := textProblem(m.Title, maxTitleLen); p != "" {
			add(&errs, p, "title")
		} else if strings.HasPrefix(strings.TrimLeft(m.Title, " "), "-") {
			add(&errs, "must not start with '-': iPXE's menu command would read the title as an option", "title")
		}
	}
	m.validateItems(&errs)
	if m.Timeout < 0 || m.Timeout > maxTimeout || m.Timeout%time.Second != 0 {
		add(&errs, fmt.Sprintf("must be whole seconds between 0 (wait forever) and %d", int(maxTimeout/time.Second)), "timeout")
	}
	if m.Template != "" {
		if p := menuTemplateProblem(m); p != "" {
			add(&errs, p, "template")
		}
	}
	m.Match.validate(&errs)
	seen := map[string]int{}
	for i, bs := range m.BootServers {
		if !config.NamePattern.MatchString(bs) {
			add(&errs, "must name a boot server: "+nameReason, "boot_servers", i)
		} else if j, dup := seen[bs]; dup {
			add(&errs, fmt.Sprintf("repeats boot_servers[%d]", j), "boot_servers", i)
		} else {
			seen[bs] = i
		}
	}
	seenFormat := map[Format]int{}
	for i, f := range m.Formats {
		if !slices.Contains(Formats, f) {
			add(&errs, fmt.Sprintf("must be \"ipxe\" or \"grub\", got %q", f), "formats", i)
		} else if j, dup := seenFormat[f]; dup {
			add(&errs, fmt.Sprintf("repeats formats[%d]", j), "formats", i)
		} else {
			seenFormat[f] = i
		}
	}
	return result(errs)
}

func (m *Menu) validateItems(errs *config.FieldErrors) {
	if len(m.Items) == 0 {
		add(errs, "must list at least one entry or submenu", "items")
		return
	}
	keys := map[string]int{}
	selectable := 0
	for i, it := range m.Items {
		set := 0
		for _, b := range []bool{it.Entry != "", it.Menu != "", it.Gap} {
			if b {
				set++
			}
		}
		switch {
		case set == 0:
			add(errs, "must set exactly one of entry, menu or gap", "items", i)
		case set > 1:
			add(errs, "must set only one of entry, menu or gap", "items", i)
		}
		if it.Entry != "" {
			selectable++
			if !config.NamePattern.MatchString(it.Entry) {
				add(errs, "must name a boot entry: "+nameReason, "items", i, "entry")
			}
		}
		if it.Menu != "" {
			selectable++
			if !config.NamePattern.MatchString(it.Menu) {
				add(errs, "must name a boot menu: "+nameReason, "items", i, "menu")
			}
		}
		if it.Text != "" {
			if p := textProblem(it.Text, maxTitleLen); p != "" {
				add(errs, p, "items", i, "text")
			}
		}
		switch {
		case it.Key == "":
		case it.Gap:
			add(errs, "must not be set on a gap: a gap cannot be chosen", "items", i, "key")
		case !keyPattern.MatchString(it.Key):
			add(errs, fmt.Sprintf("must be a single letter or digit, got %q (iPXE hot keys are one character)", it.Key), "items", i, "key")
		default:
			if j, dup := keys[it.Key]; dup {
				add(errs, fmt.Sprintf("%q is already the key of items[%d]", it.Key, j), "items", i, "key")
			} else {
				keys[it.Key] = i
			}
		}
	}
	if selectable == 0 {
		add(errs, "must list at least one entry or submenu: iPXE refuses to show a menu of gaps only", "items")
	}
	if m.DefaultItem == "" {
		return
	}
	var asEntry, asMenu bool
	var choices []string
	for _, it := range m.Items {
		asEntry = asEntry || it.Entry == m.DefaultItem
		asMenu = asMenu || it.Menu == m.DefaultItem
		if it.Entry != "" {
			choices = append(choices, fmt.Sprintf("%q", it.Entry))
		}
		if it.Menu != "" {
			choices = append(choices, fmt.Sprintf("%q", it.Menu))
		}
	}
	switch {
	case asEntry && asMenu:
		add(errs, fmt.Sprintf("%q is ambiguous: items offer both an entry and a submenu of that name; rename one", m.DefaultItem), "default_item")
	case !asEntry && !asMenu:
		add(errs, fmt.Sprintf("must be the entry or menu of one of the items (%s), got %q", strings.Join(choices, ", "), m.DefaultItem), "default_item")
	}
}

// menuTemplateProblem parses a custom menu template and runs it on a view
// of the menu itself, so a misspelt field fails at plan time rather than
// when a host boots.
func menuTemplateProblem(m *Menu) string {
	if len(m.Template) > maxTemplateLen {
		return fmt.Sprintf("must be at most %d bytes", maxTemplateLen)
	}
	t, err := parseMenuTemplate(m.Template)
	if err != nil {
		return "is not a valid Go template: " + err.Error()
	}
	view := sampleMenuView(m)
	if err := t.Execute(&bytes.Buffer{}, view); err != nil {
		return "cannot be rendered: " + err.Error() + " (see the documentation for the fields a menu template receives)"
	}
	return ""
}

func (mt *Match) validate(errs *config.FieldErrors) {
	check := func(field string, values []string, normalize func(string) (string, bool), reason string) {
		seen := map[string]int{}
		for i, v := range values {
			n, ok := normalize(v)
			if !ok {
				add(errs, fmt.Sprintf("%s, got %q", reason, v), "match", field, i)
				continue
			}
			if j, dup := seen[n]; dup {
				add(errs, fmt.Sprintf("repeats match.%s[%d]", field, j), "match", field, i)
				continue
			}
			seen[n] = i
		}
	}
	check("macs", mt.MACs, NormalizeMAC, `must be a MAC address such as "52:54:00:12:34:56" or "52-54-00-12-34-56"`)
	check("uuids", mt.UUIDs, NormalizeUUID, `must be a UUID such as "4c4c4544-0042-3510-8052-b4c04f4b4e31"`)
	check("platforms", mt.Platforms, oneOf(Platforms), `must be "efi" or "pcbios" (iPXE's ${platform})`)
	check("buildarchs", mt.BuildArchs, oneOf(BuildArchs), `must be one of "`+strings.Join(BuildArchs, `", "`)+`" (iPXE's ${buildarch})`)
	for _, k := range slices.Sorted(maps.Keys(mt.Labels)) {
		if reason := config.LabelProblem(k, mt.Labels[k]); reason != "" {
			add(errs, reason, "match", "labels", config.MapKey(k))
		}
	}
}

func oneOf(list []string) func(string) (string, bool) {
	return func(s string) (string, bool) { return s, slices.Contains(list, s) }
}

// CatalogError is a problem between objects, reported on the menu whose
// attribute is wrong.
type CatalogError struct {
	Menu  string
	Field *config.FieldError
	// Entry names the boot entry at fault, when the problem is an entry a
	// GRUB menu cannot boot: changing that entry is refused too.
	Entry string
}

func (e *CatalogError) Error() string { return fmt.Sprintf("menu %q: %s", e.Menu, e.Field.Error()) }

// EntryRefusal says why a change making e.Entry what e reports is
// refused: the menu still leads to the entry.
func (e *CatalogError) EntryRefusal() string {
	return fmt.Sprintf("boot entry %q: %v; take it out of that menu first", e.Entry, e)
}

// CatalogErrors lists every problem ValidateCatalog found.
type CatalogErrors []*CatalogError

func (es CatalogErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// ForMenu returns the problems with one menu as FieldErrors, e.g. to report
// them on the menu being created.
func (es CatalogErrors) ForMenu(name string) config.FieldErrors {
	var out config.FieldErrors
	for _, e := range es {
		if e.Menu == name {
			out = append(out, e.Field)
		}
	}
	return out
}

// ValidateCatalog checks what no single object can: every item names an
// existing entry or menu (cycles between menus are fine: they are goto
// labels); a menu for GRUB alone leads only to entries GRUB can boot
// (GrubOnlyProblems); at most one default menu per boot server and boot
// loader; no two menus offered on the same boot server to the same boot
// loader have the same match, which would make them tie for every host they
// match. The error, if any, is CatalogErrors, each naming a menu. Keys must
// equal the objects' names.
func ValidateCatalog(entries map[string]Entry, menus map[string]Menu) error {
	var errs CatalogErrors
	fail := func(menu, reason string, path ...any) {
		errs = append(errs, &CatalogError{Menu: menu, Field: &config.FieldError{Path: path, Reason: reason}})
	}
	names := slices.Sorted(maps.Keys(menus))
	for _, name := range names {
		errs = append(errs, GrubOnlyProblems(entries, menus, name)...)
		for i, it := range menus[name].Items {
			if _, ok := entries[it.Entry]; it.Entry != "" && !ok {
				fail(name, fmt.Sprintf("boot entry %q does not exist", it.Entry), "items", i, "entry")
			}
			if _, ok := menus[it.Menu]; it.Menu != "" && !ok {
				fail(name, fmt.Sprintf("boot menu %q does not exist", it.Menu), "items", i, "menu")
			}
		}
	}
	for j, b := range names {
		mb := menus[b]
		for _, a := range names[:j] {
			ma := menus[a]
			where, overlap := sharedBootServers(ma.BootServers, mb.BootServers)
			if !overlap || !slices.ContainsFunc(Formats, func(f Format) bool { return ma.For(f) && mb.For(f) }) {
				continue
			}
			if ma.IsDefault && mb.IsDefault {
				fail(b, fmt.Sprintf("conflicts with menu %q, already the default menu on %s: a boot server has at most one default menu per boot loader (formats)", a, where), "is_default")
			}
			if !ma.Match.IsZero() && ma.Match.key() == mb.Match.key() {
				fail(b, fmt.Sprintf("is the same as menu %q's on %s: a host would match both equally; merge them or make one more specific", a, where), "match")
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// GrubOnlyProblems lists the items of menu name, if it is for GRUB alone
// (Menu.GrubOnly), that lead to a boot entry GRUB cannot boot (GrubProblem),
// directly or through submenus: in a GRUB-only menu such an entry could
// only show an error. Entries and menus missing from the maps are skipped
// (ValidateCatalog reports them), so a caller holding only some of the
// objects gets the problems among those.
func GrubOnlyProblems(entries map[string]Entry, menus map[string]Menu, name string) CatalogErrors {
	m, ok := menus[name]
	if !ok || !m.GrubOnly() {
		return nil
	}
	var errs CatalogErrors
	for i, it := range m.Items {
		if e, ok := entries[it.Entry]; ok && it.Entry != "" {
			if p := GrubProblem(e); p != "" {
				errs = append(errs, &CatalogError{Menu: name, Entry: e.Name, Field: &config.FieldError{Path: []any{"items", i, "entry"},
					Reason: fmt.Sprintf("boot entry %q cannot boot from GRUB: %s; a menu whose formats are only \"grub\" may offer only entries GRUB boots (add \"ipxe\" to formats to keep it for iPXE hosts)", e.Name, p)}})
			}
		}
		if it.Menu == "" {
			continue
		}
		seen := map[string]bool{name: true}
		var walk func(sub string)
		walk = func(sub string) {
			sm, ok := menus[sub]
			if !ok || seen[sub] {
				return
			}
			seen[sub] = true
			for _, sit := range sm.Items {
				if e, ok := entries[sit.Entry]; ok && sit.Entry != "" {
					if p := GrubProblem(e); p != "" {
						errs = append(errs, &CatalogError{Menu: name, Entry: e.Name, Field: &config.FieldError{Path: []any{"items", i, "menu"},
							Reason: fmt.Sprintf("leads to boot entry %q (in menu %q), which cannot boot from GRUB: %s; a menu whose formats are only \"grub\" may lead only to entries GRUB boots", e.Name, sub, p)}})
					}
				}
				if sit.Menu != "" {
					walk(sit.Menu)
				}
			}
		}
		walk(it.Menu)
	}
	return errs
}

// sharedBootServers says whether two menus are offered on a common boot
// server (empty means every boot server) and where.
func sharedBootServers(a, b []string) (string, bool) {
	switch {
	case len(a) == 0 && len(b) == 0:
		return "every boot server", true
	case len(a) == 0:
		return "boot servers " + quoteList(b), true
	case len(b) == 0:
		return "boot servers " + quoteList(a), true
	}
	var both []string
	for _, s := range b {
		if slices.Contains(a, s) {
			both = append(both, s)
		}
	}
	return "boot servers " + quoteList(both), len(both) > 0
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// key is a canonical form of the match: normalised, deduplicated, sorted.
func (mt Match) key() string {
	canon := func(values []string, normalize func(string) (string, bool)) string {
		var out []string
		for _, v := range values {
			if n, ok := normalize(v); ok {
				out = append(out, n)
			}
		}
		sort.Strings(out)
		return strings.Join(slices.Compact(out), ",")
	}
	same := func(s string) (string, bool) { return s, true }
	var labels []string
	for _, k := range slices.Sorted(maps.Keys(mt.Labels)) {
		labels = append(labels, strconv.Quote(k)+"="+strconv.Quote(mt.Labels[k]))
	}
	return strings.Join([]string{canon(mt.MACs, NormalizeMAC), canon(mt.UUIDs, NormalizeUUID), canon(mt.Platforms, same), canon(mt.BuildArchs, same),
		strings.Join(labels, ",")}, "|")
}
