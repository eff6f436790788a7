package menu

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"text/template"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/machineconfig"
)

//go:embed templates/*.ipxe.tmpl
var templateFiles embed.FS

var builtin = template.Must(template.New("").ParseFS(templateFiles, "templates/*.ipxe.tmpl"))

// StartPath is the script iPXE is pointed at (DHCPv6 option 59).
const StartPath = "start.ipxe"

// Script labels. Names (config.NamePattern) never contain '.', so the
// suffixes after '.' cannot collide with another object's label.
const failedLabel = "failed"

func menuLabel(name string) string   { return "menu-" + name }
func cancelLabel(name string) string { return "menu-" + name + ".cancel" }
func entryLabel(name string) string  { return "entry-" + name }

// ErrNoMenus means no menu can be chosen for hosts of the boot server, so
// start.ipxe is not generated: the boot server's own files provide it.
var ErrNoMenus = errors.New("no boot menu is offered on boot server")

// MenuView is what a menu template receives: the built-in one and a menu's
// own (Menu.Template). The generated script writes the ":<Label>" line
// before the template's output and, after it, the ":<CancelLabel>" block
// that goes back to Back (or exits to the local disk from the host's own
// menu), so a template only shows the menu and jumps to the choice; the
// built-in template is:
//
//	menu {{.Title}}
//	{{range .Items}}{{if .Gap}}item --gap{{with .Text}} -- {{.}}{{end}}
//	{{else}}item {{with .Key}}--key {{.}} {{end}}{{.ID}} {{.Text}}
//	{{end}}{{end}}{{if .ShowBack}}item --gap
//	item {{.Back}} Back
//	{{end}}choose{{with .TimeoutMillis}} --timeout {{.}}{{end}}{{with .Default}} --default {{.}}{{end}} selected || goto {{.CancelLabel}}
//	goto ${selected}
type MenuView struct {
	// Name and Title are the menu's; Title is Name when unset.
	Name, Title string
	// Label is this menu's script label, "menu-<name>".
	Label string
	// CancelLabel is where to go when the user presses Esc.
	CancelLabel string
	// Items are the menu's items in order.
	Items []ItemView
	// Default is the ID of the item chosen on timeout ("" for the first).
	Default string
	// TimeoutMillis is the choose --timeout value; 0 waits forever.
	TimeoutMillis int64
	// Back is the label of the menu this one was first reached from, ""
	// for the host's own menu.
	Back string
	// ShowBack says whether to add a "Back" item: Back is set and no item
	// already leads there.
	ShowBack bool
	// BootServer is the boot server's name and HTTPBase its HTTP URL
	// (no trailing slash).
	BootServer, HTTPBase string
}

// ItemView is one menu item as a template sees it.
type ItemView struct {
	// ID is the label choose stores and goto jumps to: "entry-<name>" or
	// "menu-<name>"; "" for a gap.
	ID string
	// Text is the item's text, else the entry's or submenu's title, else
	// its name.
	Text string
	// Key is the hot key, if any.
	Key string
	// Gap marks a separator.
	Gap bool
	// Entry and Menu name what the item leads to (one of them, or neither
	// for a gap).
	Entry, Menu string
}

// ScriptData is what RenderMenu needs.
type ScriptData struct {
	Catalog *Catalog
	// Menu names the host's menu.
	Menu string
	// BootServer is the boot server's name; HTTPBase its HTTP URL, which
	// relative kernel and initrd paths are appended to; HTTPSBase its HTTPS
	// URL for args templates, "" while HTTPS is off.
	BootServer, HTTPBase, HTTPSBase string
	// Reason says why the menu was chosen; it goes into a comment.
	Reason string
	// Machine is the machine the host is, nil when none: entries' args
	// get its config URLs.
	Machine *config.Machine
}

type hostView struct {
	BootServer, Reason, RootLabel string
	Menus                         []menuBlock
	Entries                       []entryBlock
}

type menuBlock struct {
	Label, CancelLabel, Back, Body string
}

type entryBlock struct {
	Label, Title string
	Kind         Kind
	URL          string
	Lines        []string
	// Linux is set for a linux entry without platform overrides; Split
	// entries have EFI and PCBIOS instead.
	Split              bool
	Linux, EFI, PCBIOS *linuxBlock
}

type linuxBlock struct {
	Label, Title, Kernel, Args, Return string
	Initrds                            []initrdBlock
}

type initrdBlock struct{ Name, URL string }

// RenderStart renders start.ipxe: it chains to the host's menu script,
// whose path carries what the host is, and boots from the local disk when
// that fails. bootServer must be a valid name (config.NamePattern) and
// httpBase the boot server's HTTP URL, e.g. "http://[2001:db8::1]"; Render
// checks both.
func RenderStart(bootServer, httpBase string) []byte {
	var b bytes.Buffer
	data := struct{ BootServer, HTTPBase string }{bootServer, strings.TrimRight(httpBase, "/")}
	if err := builtin.ExecuteTemplate(&b, "start.ipxe.tmpl", data); err != nil {
		panic(err) // a fixed template over two strings cannot fail
	}
	return b.Bytes()
}

// RenderMenu renders the script for a host whose menu is d.Menu: that menu,
// every submenu reachable from it and every entry they offer, each under its
// own label. Menus come in the order they are first reached (breadth first,
// items in the user's order), entries in the order they are first offered.
func RenderMenu(d ScriptData) ([]byte, error) {
	c := d.Catalog
	if c == nil {
		c = &Catalog{}
	}
	base := strings.TrimRight(d.HTTPBase, "/")
	if _, ok := c.Menus[d.Menu]; !ok {
		return nil, fmt.Errorf("boot menu %q does not exist", d.Menu)
	}
	view := hostView{BootServer: d.BootServer, Reason: d.Reason, RootLabel: menuLabel(d.Menu)}
	order := []string{d.Menu}
	back := map[string]string{d.Menu: ""}
	var entries []string
	offered := map[string]bool{}
	for i := 0; i < len(order); i++ {
		m := c.Menus[order[i]]
		for j, it := range m.Items {
			switch {
			case it.Menu != "":
				if _, ok := c.Menus[it.Menu]; !ok {
					return nil, fmt.Errorf("menu %q items[%d]: boot menu %q does not exist", m.Name, j, it.Menu)
				}
				if _, seen := back[it.Menu]; !seen {
					back[it.Menu] = menuLabel(m.Name)
					order = append(order, it.Menu)
				}
			case it.Entry != "":
				if _, ok := c.Entries[it.Entry]; !ok {
					return nil, fmt.Errorf("menu %q items[%d]: boot entry %q does not exist", m.Name, j, it.Entry)
				}
				if !offered[it.Entry] {
					offered[it.Entry] = true
					entries = append(entries, it.Entry)
				}
			}
		}
	}
	for _, name := range order {
		m := c.Menus[name]
		mv := menuView(c, m, back[name], d.BootServer, base)
		body, err := menuBody(m, mv)
		if err != nil {
			return nil, err
		}
		view.Menus = append(view.Menus, menuBlock{Label: mv.Label, CancelLabel: mv.CancelLabel, Back: mv.Back, Body: body})
	}
	for _, name := range entries {
		eb, err := entryView(c.Entries[name], ArgsData{HTTPBase: base, HTTPSBase: d.HTTPSBase, BootServer: d.BootServer, machine: d.Machine}, view.RootLabel)
		if err != nil {
			return nil, err
		}
		view.Entries = append(view.Entries, eb)
	}
	var b bytes.Buffer
	if err := builtin.ExecuteTemplate(&b, "host.ipxe.tmpl", view); err != nil {
		return nil, fmt.Errorf("rendering the script for menu %q: %w", d.Menu, err)
	}
	return b.Bytes(), nil
}

func menuView(c *Catalog, m Menu, back, bootServer, httpBase string) MenuView {
	mv := MenuView{
		Name: m.Name, Title: orName(m.Title, m.Name),
		Label: menuLabel(m.Name), CancelLabel: cancelLabel(m.Name),
		TimeoutMillis: m.Timeout.Milliseconds(),
		Back:          back, BootServer: bootServer, HTTPBase: httpBase,
	}
	for _, it := range m.Items {
		iv := ItemView{Text: it.Text, Key: it.Key, Gap: it.Gap, Entry: it.Entry, Menu: it.Menu}
		switch {
		case it.Entry != "":
			iv.ID = entryLabel(it.Entry)
			if iv.Text == "" {
				e := c.Entries[it.Entry]
				iv.Text = orName(e.Title, it.Entry)
			}
		case it.Menu != "":
			iv.ID = menuLabel(it.Menu)
			if iv.Text == "" {
				sub := c.Menus[it.Menu]
				iv.Text = orName(sub.Title, it.Menu)
			}
		}
		if mv.Default == "" && m.DefaultItem != "" && (it.Entry == m.DefaultItem || it.Menu == m.DefaultItem) {
			mv.Default = iv.ID
		}
		mv.Items = append(mv.Items, iv)
	}
	mv.ShowBack = back != "" && !slices.ContainsFunc(mv.Items, func(iv ItemView) bool { return iv.ID == back })
	return mv
}

// sampleMenuView is the view a menu's template is tried on when the menu is
// validated, before its entries and submenus are known.
func sampleMenuView(m *Menu) MenuView {
	c := &Catalog{}
	return menuView(c, *m, "", "lab", "http://[2001:db8::1]")
}

func parseMenuTemplate(text string) (*template.Template, error) {
	return template.New("template").Parse(text)
}

func menuBody(m Menu, mv MenuView) (string, error) {
	var b strings.Builder
	if m.Template == "" {
		if err := builtin.ExecuteTemplate(&b, "menu.ipxe.tmpl", mv); err != nil {
			return "", fmt.Errorf("rendering menu %q: %w", m.Name, err)
		}
		return b.String(), nil
	}
	t, err := parseMenuTemplate(m.Template)
	if err != nil {
		return "", fmt.Errorf("menu %q template: %w", m.Name, err)
	}
	if err := t.Execute(&b, mv); err != nil {
		return "", fmt.Errorf("menu %q template: %w", m.Name, err)
	}
	out := b.String()
	if strings.ContainsRune(out, 0) {
		return "", fmt.Errorf("menu %q template renders a NUL byte", m.Name)
	}
	if out != "" && !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	return out, nil
}

func orName(title, name string) string {
	if title != "" {
		return title
	}
	return name
}

// entryView prepares one entry; site holds the boot server's part of the
// arguments' template data.
func entryView(e Entry, site ArgsData, rootLabel string) (entryBlock, error) {
	eb := entryBlock{Label: entryLabel(e.Name), Title: orName(e.Title, e.Name), Kind: e.Kind, URL: e.URL}
	switch e.Kind {
	case KindLinux:
		var err error
		if e.EFI == nil && e.PCBIOS == nil {
			eb.Linux, err = linuxView(e, e.Linux, eb.Label, true, site, rootLabel)
			return eb, err
		}
		eb.Split = true
		if eb.EFI, err = linuxView(e, merge(e.Linux, e.EFI), eb.Label+".efi", true, site, rootLabel); err != nil {
			return eb, err
		}
		eb.PCBIOS, err = linuxView(e, merge(e.Linux, e.PCBIOS), eb.Label+".pcbios", false, site, rootLabel)
		return eb, err
	case KindScript:
		eb.Lines = scriptLines(e.Script)
	case KindExit, KindChain, KindSanboot:
	default:
		return eb, fmt.Errorf("boot entry %q has unknown kind %q", e.Name, e.Kind)
	}
	return eb, nil
}

// merge applies a platform override to the common kernel field by field.
func merge(common, override *Linux) *Linux {
	var l Linux
	if common != nil {
		l = *common
	}
	if override != nil {
		if override.Kernel != "" {
			l.Kernel = override.Kernel
		}
		if len(override.Initrds) > 0 {
			l.Initrds = override.Initrds
		}
		if override.Args != "" {
			l.Args = override.Args
		}
	}
	return &l
}

// linuxView prepares one kernel boot. Every initrd is given a name with
// "initrd --name", and when the boot may run on UEFI the names also go onto
// the command line as initrd=<name>: a kernel started through its EFI stub
// loads its initrds by those names from iPXE's virtual file system (newer
// iPXE and kernels use the LoadFile2 protocol instead and ignore them;
// bzImage booting on BIOS ignores them too). An initrd= the user wrote wins.
func linuxView(e Entry, l *Linux, label string, efi bool, site ArgsData, rootLabel string) (*linuxBlock, error) {
	httpBase := site.HTTPBase
	if l == nil || l.Kernel == "" {
		return nil, fmt.Errorf("boot entry %q has no kernel for %s", e.Name, strings.TrimPrefix(path.Ext(label), "."))
	}
	lb := &linuxBlock{Label: label, Title: orName(e.Title, e.Name), Kernel: artifactURL(httpBase, l.Kernel), Return: rootLabel}
	used := map[string]bool{}
	var names []string
	for i, initrd := range l.Initrds {
		name := initrdName(initrd)
		if used[name] {
			name = fmt.Sprintf("%d-%s", i+1, name)
		}
		used[name] = true
		names = append(names, name)
		lb.Initrds = append(lb.Initrds, initrdBlock{Name: name, URL: artifactURL(httpBase, initrd)})
	}
	site.Entry = e.Name
	args, err := renderArgs(l.Args, site)
	if err != nil {
		return nil, fmt.Errorf("boot entry %q args: %w", e.Name, err)
	}
	var words []string
	if efi && !slices.ContainsFunc(strings.Fields(args), func(w string) bool { return strings.HasPrefix(w, "initrd=") }) {
		for _, n := range names {
			words = append(words, "initrd="+n)
		}
	}
	if args != "" {
		words = append(words, args)
	}
	lb.Args = strings.Join(words, " ")
	return lb, nil
}

func renderArgs(text string, data ArgsData) (string, error) {
	if text == "" {
		return "", nil
	}
	t, err := parsedArgs.get(text)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	if p := textProblem(b.String(), maxArgsLen); p != "" {
		return "", fmt.Errorf("rendered command line %s", p)
	}
	return b.String(), nil
}

// parsedArgs keeps parsed kernel-argument templates: parsing dominated the
// render of a large menu (BenchmarkRender: 1,000 entries, 60 % of the time),
// and every iPXE boot renders its host's script anew.
var parsedArgs = &argsCache{byText: map[string]*template.Template{}}

// maxCachedArgs bounds the cache: arguments of deleted entries stay in it
// until it is full, then it starts over.
const maxCachedArgs = 4096

type argsCache struct {
	mu     sync.Mutex
	byText map[string]*template.Template
}

// get returns text parsed; a template is safe for concurrent Execute.
func (c *argsCache) get(text string) (*template.Template, error) {
	c.mu.Lock()
	t, ok := c.byText[text]
	c.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := parseArgs(text)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.byText) >= maxCachedArgs {
		clear(c.byText)
	}
	c.byText[text] = t
	c.mu.Unlock()
	return t, nil
}

// artifactURL turns an artifact path into a URL on the boot server,
// percent-encoding each path element; absolute URLs stay as written.
func artifactURL(httpBase, p string) string {
	if strings.Contains(p, "://") {
		return p
	}
	elems := strings.Split(p, "/")
	for i, e := range elems {
		elems[i] = url.PathEscape(e)
	}
	return httpBase + "/" + strings.Join(elems, "/")
}

var unsafeNameChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// initrdName is the image name an initrd gets in iPXE: the file name of its
// path or URL, reduced to characters safe on a kernel command line.
func initrdName(p string) string {
	p, _, _ = strings.Cut(p, "?")
	p, _, _ = strings.Cut(p, "#")
	name := unsafeNameChars.ReplaceAllString(path.Base(p), "_")
	if name == "" || name == "." || name == ".." || name == "_" {
		return "initrd"
	}
	return name
}

// hostValue is what a path element may carry after "mac-", "uuid-",
// "arch-" or "platform-": whatever iPXE's ${netX/mac:hexhyp}, ${uuid},
// ${buildarch} and ${platform} produce, and nothing that could change the
// meaning of the script it is echoed in.
var hostValue = regexp.MustCompile(`^[A-Za-z0-9_.:-]{0,64}$`)

// HostPath is the path of host h's menu script, relative to the boot
// server's HTTP root:
// netboot/host/mac-<mac>/uuid-<uuid>/arch-<buildarch>/platform-<platform>/menu.ipxe.
func HostPath(h Host) string {
	return "netboot/host/mac-" + h.MAC + "/uuid-" + h.UUID + "/arch-" + h.BuildArch + "/platform-" + h.Platform + "/menu.ipxe"
}

const hostPathPrefix = "netboot/host/"

// ParseHostPath reads the host back from a HostPath or a GrubHostPath.
// Values may be empty
// ("uuid-" when the firmware has no UUID); they must look like what iPXE
// produces (letters, digits, '-', '_', '.', ':').
func ParseHostPath(p string) (Host, bool) {
	rest, ok := strings.CutPrefix(p, hostPathPrefix)
	if !ok {
		return Host{}, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 5 || parts[4] != ipxeHostFile && parts[4] != grubHostFile {
		return Host{}, false
	}
	var vals [4]string
	for i, prefix := range []string{"mac-", "uuid-", "arch-", "platform-"} {
		v, ok := strings.CutPrefix(parts[i], prefix)
		if !ok || !hostValue.MatchString(v) {
			return Host{}, false
		}
		vals[i] = v
	}
	return Host{MAC: vals[0], UUID: vals[1], BuildArch: vals[2], Platform: vals[3]}, true
}

// checkHost validates a host given directly (RenderScript) the way
// ParseHostPath validates one from a path.
func checkHost(h Host) error {
	var errs config.FieldErrors
	for _, f := range []struct{ name, v string }{{"mac", h.MAC}, {"uuid", h.UUID}, {"buildarch", h.BuildArch}, {"platform", h.Platform}} {
		if !hostValue.MatchString(f.v) {
			add(&errs, "must be at most 64 letters, digits, '-', '_', '.' or ':' (as iPXE reports it)", f.name)
		}
	}
	return result(errs)
}

// offersMenus reports whether any menu can be chosen for hosts of
// bootServer running boot loader f, so that f's start file (start.ipxe,
// GrubStartPath) should be generated. A machine's menu counts: SelectFor
// chooses it for the machine before any match, and the start file is the
// only way there.
func offersMenus(c *Catalog, bootServer string, f Format) bool {
	for _, m := range c.Menus {
		if m.offered(bootServer, f) && m.selectable() {
			return true
		}
	}
	for _, mach := range c.Machines {
		if m, ok := c.Menus[mach.Menu]; ok && m.For(f) {
			return true
		}
	}
	return false
}

// Render produces the script at name for bootServer:
//
//   - "start.ipxe": RenderStart, or an error wrapping ErrNoMenus when no
//     menu is offered there;
//   - a HostPath: the script for the host the path describes (h is
//     ignored);
//   - "": the script for host h (the RenderScript RPC);
//   - GrubStartPath and GrubHostPaths: the same for GRUB (RenderGrubStart,
//     RenderGrubMenu).
//
// menuName and reason say which menu the host got and why (Select); a host
// no menu matches gets a script that says so and boots from the local disk,
// with menuName "". Other names yield an error wrapping fs.ErrNotExist.
// Scripts link to site.HTTPBase; site.HTTPSBase goes to args templates only.
func Render(catalog *Catalog, site machineconfig.Site, name string, h Host) (script []byte, menuName, reason string, err error) {
	r, err := render(catalog, site, name, h, nil)
	return r.script, r.menu, r.reason, err
}

// rendered is what render produced: the script, the menu chosen and why,
// and the machine the host claimed to be and was not believed (refused).
type rendered struct {
	script                []byte
	menu, reason, refused string
}

// render is Render for a request from "from". The MAC address and UUID a
// host path names make the host a machine only when from is that machine;
// else the host is rendered as one with neither, as an unknown host, and
// refused names the machine. A nil from believes the host (the
// RenderScript RPC, an operator's preview).
func render(catalog *Catalog, site machineconfig.Site, name string, h Host, from *config.Requester) (rendered, error) {
	if catalog == nil {
		catalog = &Catalog{}
	}
	bootServer, httpBase := site.BootServer, site.HTTPBase
	if !config.NamePattern.MatchString(bootServer) {
		return rendered{}, fmt.Errorf("boot server name %q: %s", bootServer, nameReason)
	}
	base := strings.TrimRight(httpBase, "/")
	if p := urlProblem(base, []string{"http", "https"}); p != "" || strings.Contains(base, "${") {
		return rendered{}, fmt.Errorf("boot server %q has no usable HTTP URL (%q): boot.http must be on and the server needs an address", bootServer, httpBase)
	}
	grub := IsGrubPath(name)
	format := FormatIPXE
	if grub {
		format = FormatGRUB
	}
	switch name {
	case StartPath, GrubStartPath:
		if !offersMenus(catalog, bootServer, format) {
			return rendered{}, fmt.Errorf("%w %q, so %s comes from its own files", ErrNoMenus, bootServer, name)
		}
		if grub {
			return rendered{script: RenderGrubStart(bootServer)}, nil
		}
		return rendered{script: RenderStart(bootServer, base)}, nil
	case "":
		if err := checkHost(h); err != nil {
			return rendered{}, err
		}
	default:
		var ok bool
		if h, ok = ParseHostPath(name); !ok {
			return rendered{}, fmt.Errorf("%q is neither %s, %s nor a host menu path (%s, or grub.cfg for GRUB): %w", name, StartPath, GrubStartPath, HostPath(Host{MAC: "<mac>", UUID: "<uuid>", BuildArch: "<buildarch>", Platform: "<platform>"}), fs.ErrNotExist)
		}
	}
	var r rendered
	if from != nil {
		if claimed := catalog.Machine(h); claimed != "" && claimed != from.Machine {
			h.MAC, h.UUID, r.refused = "", "", claimed
		}
	}
	menus := make([]Menu, 0, len(catalog.Menus))
	for _, n := range slices.Sorted(maps.Keys(catalog.Menus)) {
		menus = append(menus, catalog.Menus[n])
	}
	m, reason := catalog.SelectFor(menus, bootServer, format, h)
	r.reason = reason
	if m == nil && grub {
		r.script = renderGrubNoMatch(bootServer, reason, h)
		return r, nil
	}
	if m == nil {
		var b bytes.Buffer
		data := struct {
			BootServer, Reason string
			Host               Host
		}{bootServer, reason, h}
		if err := builtin.ExecuteTemplate(&b, "nomatch.ipxe.tmpl", data); err != nil {
			return r, err
		}
		r.script = b.Bytes()
		return r, nil
	}
	d := ScriptData{Catalog: catalog, Menu: m.Name, BootServer: bootServer, HTTPBase: base,
		HTTPSBase: strings.TrimRight(site.HTTPSBase, "/"), Reason: reason}
	if name := catalog.Machine(h); name != "" {
		mach := catalog.Machines[name]
		d.Machine = &mach
	}
	r.menu = m.Name
	var err error
	if grub {
		r.script, err = RenderGrubMenu(d)
	} else {
		r.script, err = RenderMenu(d)
	}
	return r, err
}
