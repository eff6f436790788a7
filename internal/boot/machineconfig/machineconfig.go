// Package machineconfig renders per-machine install and first-boot files
// (netboot_config): a Go text/template executed over one machine's name,
// labels, metadata and address and the site's URLs, then checked against
// the format its kind names (cloud-init, Ubuntu autoinstall, Debian
// preseed, Kickstart, Ignition). The agent serves the result to that
// machine only, at a URL holding the machine's secret token; the provider
// runs the same rendering at plan so a template that fails for some
// machine fails there, naming it.
package machineconfig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// Kind names a file format the agent checks after rendering.
type Kind string

const (
	// KindCloudConfig is cloud-init NoCloud user-data: "#cloud-config" on
	// the first line, then a YAML mapping.
	KindCloudConfig Kind = "cloud-config"
	// KindMetaData is NoCloud meta-data: a YAML mapping with instance-id.
	KindMetaData Kind = "meta-data"
	// KindNetworkConfig is NoCloud network-config: YAML, version 1 or 2.
	KindNetworkConfig Kind = "network-config"
	// KindAutoinstall is Ubuntu's autoinstall, which the live installer
	// reads as cloud-init user-data with an autoinstall key.
	KindAutoinstall Kind = "autoinstall"
	// KindPreseed is a Debian installer preseed file (debconf lines).
	KindPreseed Kind = "preseed"
	// KindKickstart is a Kickstart file (Fedora, RHEL, CentOS installers).
	KindKickstart Kind = "kickstart"
	// KindIgnition is an Ignition config (Fedora CoreOS, Flatcar): JSON
	// with a spec 3 version.
	KindIgnition Kind = "ignition"
	// KindText is any text; nothing is checked.
	KindText Kind = "text"
)

// Kinds lists every kind, in the order the documentation gives them.
var Kinds = []Kind{KindCloudConfig, KindMetaData, KindNetworkConfig, KindAutoinstall, KindPreseed, KindKickstart, KindIgnition, KindText}

// DefaultFile is the file name a kind is served under unless the config
// names one: NoCloud wants its three names exactly.
var DefaultFile = map[Kind]string{
	KindCloudConfig:   "user-data",
	KindMetaData:      "meta-data",
	KindNetworkConfig: "network-config",
	KindAutoinstall:   "user-data",
	KindPreseed:       "preseed.cfg",
	KindKickstart:     "ks.cfg",
	KindIgnition:      "config.ign",
}

// Config is a template for some machines (netboot_config).
type Config struct {
	Name string
	Kind Kind
	// File is the name it is served under in each machine's directory.
	File     string
	Template string
	// Machines and MatchLabels select machines: by name, or by labels
	// (every one must match). Neither: every machine.
	Machines    []string
	MatchLabels map[string]string
	// SensitiveValues are template inputs kept out of plans.
	SensitiveValues map[string]string
}

const (
	maxTemplate = 1 << 20
	maxRendered = 4 << 20
)

var fileNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// FromProto converts and validates an API object on its own: the template
// must parse and render for a sample machine; whether it renders for the
// machines it selects is CheckMachines' job.
func FromProto(pb *netbootv1.MachineConfig) (Config, error) {
	c := Config{
		Name: pb.GetName(), Kind: Kind(pb.GetKind()), File: pb.GetFile(), Template: pb.GetTemplate(),
		Machines: slices.Clone(pb.GetMachines()), MatchLabels: maps.Clone(pb.GetMatchLabels()),
		SensitiveValues: maps.Clone(pb.GetSensitiveValues()),
	}
	var errs config.FieldErrors
	add := func(reason string, path ...any) { errs = append(errs, &config.FieldError{Path: path, Reason: reason}) }
	if err := config.CheckName(c.Name); err != nil {
		add(err.Error(), "name")
	}
	if !slices.Contains(Kinds, c.Kind) {
		add(fmt.Sprintf("must be one of %s", kindList()), "kind")
	}
	if c.File == "" {
		c.File = DefaultFile[c.Kind]
	}
	switch {
	case c.File == "" && slices.Contains(Kinds, c.Kind):
		add(fmt.Sprintf("must be set for kind %q, which has no usual file name", c.Kind), "file")
	case c.File != "" && !fileNamePattern.MatchString(c.File):
		add("must be a file name of 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", "file")
	}
	for i, m := range c.Machines {
		if err := config.CheckName(m); err != nil {
			add(err.Error(), "machines", i)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.MatchLabels)) {
		if reason := config.LabelProblem(k, c.MatchLabels[k]); reason != "" {
			add(reason, "match_labels", config.MapKey(k))
		}
	}
	switch {
	case c.Template == "":
		add("must be set", "template")
	case len(c.Template) > maxTemplate:
		add(fmt.Sprintf("must be at most %d bytes", maxTemplate), "template")
	default:
		if reason := c.sampleProblem(); reason != "" {
			add(reason, "template")
		}
	}
	if len(errs) > 0 {
		return c, errs
	}
	return c, nil
}

func kindList() string {
	q := make([]string, len(Kinds))
	for i, k := range Kinds {
		q[i] = fmt.Sprintf("%q", k)
	}
	return strings.Join(q, ", ")
}

// ToProto is the API form of c.
func (c *Config) ToProto() *netbootv1.MachineConfig {
	return &netbootv1.MachineConfig{
		Name: c.Name, Kind: string(c.Kind), File: c.File, Template: c.Template,
		Machines: slices.Clone(c.Machines), MatchLabels: maps.Clone(c.MatchLabels),
		SensitiveValues: maps.Clone(c.SensitiveValues),
	}
}

// Site is what a boot server contributes to a rendering: its name, HTTP URL
// and HTTPS URL (from bootfile.URLBase, without a trailing slash; HTTPSBase
// is "" while boot.https is off).
type Site struct {
	BootServer, HTTPBase, HTTPSBase string
}

// SampleSite stands in for a boot server when a template is checked apart
// from one: every boot server's URL has the same form.
var SampleSite = Site{BootServer: "lab", HTTPBase: "http://[2001:db8::1]", HTTPSBase: "https://[2001:db8::1]"}

// Data is what a template receives.
type Data struct {
	// Name is the machine's name; Hostname its host name (Name when it has
	// none).
	Name, Hostname string
	Labels         map[string]string
	Metadata       map[string]string
	// Sensitive holds the config's sensitive_values.
	Sensitive map[string]string
	// Address is the machine's IPv6 address: its reserved address, or ""
	// when it has none.
	Address string
	// MACs, DUIDs and UUIDs are its identifiers in normal form; MAC is the
	// first MAC address or "".
	MACs, DUIDs, UUIDs []string
	MAC                string
	// BootServer, HTTPBase and HTTPSBase are the serving boot server's.
	BootServer, HTTPBase, HTTPSBase string

	token string
}

// ConfigURL is where this machine fetches its file name from the serving
// boot server; "" gives the directory, with a trailing slash, as NoCloud's
// "ds=nocloud;s=<url>" wants it.
func (d Data) ConfigURL(name string) (string, error) {
	return URL(d.HTTPBase, d.Name, d.token, name)
}

// HTTPSConfigURL is ConfigURL over HTTPS, for clients that trust the boot
// server's certificate.
func (d Data) HTTPSConfigURL(name string) (string, error) {
	return HTTPSURL(d.HTTPSBase, d.Name, d.token, name)
}

// DataFor is the template input for machine m served by site.
func DataFor(m config.Machine, site Site, sensitive map[string]string) Data {
	d := Data{
		Name: m.Name, Hostname: m.Hostname, Labels: orEmpty(m.Labels), Metadata: orEmpty(m.Metadata),
		Sensitive: orEmpty(sensitive), MACs: m.MACs, DUIDs: m.DUIDs, UUIDs: m.UUIDs,
		BootServer: site.BootServer, HTTPBase: site.HTTPBase, HTTPSBase: site.HTTPSBase, token: m.ConfigToken,
	}
	if d.Hostname == "" {
		d.Hostname = m.Name
	}
	if m.ReservedAddress.IsValid() {
		d.Address = m.ReservedAddress.String()
	}
	if len(m.MACs) > 0 {
		d.MAC = m.MACs[0]
	}
	return d
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// funcs are the template functions beyond text/template's own.
var funcs = template.FuncMap{
	// fromJSON decodes a metadata value written with jsonencode; "" (a
	// value the sample machine at validation lacks) is nothing.
	"fromJSON": func(s string) (any, error) {
		var v any
		if s == "" {
			return nil, nil
		}
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return nil, fmt.Errorf("fromJSON: %w", err)
		}
		return v, nil
	},
	// toJSON encodes a value as JSON: a quoted, escaped string in YAML
	// and JSON files alike.
	"toJSON": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	// indent prefixes every line but the first with n spaces, for a
	// multi-line value inside a YAML block.
	"indent": func(n int, s string) string {
		return strings.ReplaceAll(s, "\n", "\n"+strings.Repeat(" ", n))
	},
}

func parse(text, missingkey string) (*template.Template, error) {
	return template.New("template").Funcs(funcs).Option("missingkey=" + missingkey).Parse(text)
}

// sampleProblem renders the template for a sample machine with every
// metadata key missing (read as empty), which finds syntax errors and
// misspelt fields; the format is checked per real machine only, since it
// may depend on metadata.
func (c *Config) sampleProblem() string {
	t, err := parse(c.Template, "zero")
	if err != nil {
		return "is not a valid Go template: " + err.Error()
	}
	sample := config.Machine{Name: "sample", MACs: []string{"52:54:00:00:00:01"}, ConfigToken: "0123456789abcdef0123456789abcdef"}
	d := DataFor(sample, SampleSite, c.SensitiveValues)
	if err := t.Execute(&bytes.Buffer{}, d); err != nil {
		return "cannot be rendered: " + err.Error()
	}
	return ""
}

// Render executes c for machine m as site serves it and checks the result
// against c's kind. Errors name the machine.
func Render(c *Config, m config.Machine, site Site) ([]byte, error) {
	t, err := parse(c.Template, "error")
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&limitedWriter{w: &b, left: maxRendered}, DataFor(m, site, c.SensitiveValues)); err != nil {
		return nil, fmt.Errorf("rendering for machine %q: %w", m.Name, err)
	}
	if err := check(c.Kind, b.Bytes()); err != nil {
		return nil, fmt.Errorf("for machine %q, the rendered %s %w", m.Name, c.Kind, err)
	}
	return b.Bytes(), nil
}

type limitedWriter struct {
	w    *bytes.Buffer
	left int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if len(p) > l.left {
		return 0, fmt.Errorf("the rendered file is larger than %d bytes", maxRendered)
	}
	l.left -= len(p)
	return l.w.Write(p)
}

// Selects reports whether c is for machine m, and how specifically: 2 when
// it names m, 1 when its labels match (more labels break ties later), 0
// when it selects every machine; -1 when it is not for m.
func (c *Config) Selects(m config.Machine) int {
	if len(c.Machines) > 0 {
		if slices.Contains(c.Machines, m.Name) {
			return 2
		}
		if len(c.MatchLabels) == 0 {
			return -1
		}
	}
	if len(c.MatchLabels) > 0 {
		if !config.HasLabels(m.Labels, c.MatchLabels) {
			return -1
		}
		return 1
	}
	return 0
}

// For picks the config serving file to machine m among configs: the one
// naming m wins, then the one matching most labels, then the one selecting
// every machine; between equals, the name sorting first. nil when none.
func For(configs map[string]Config, m config.Machine, file string) *Config {
	var best *Config
	bestRank := [2]int{-1, -1}
	for _, name := range slices.Sorted(maps.Keys(configs)) {
		c := configs[name]
		if c.File != file {
			continue
		}
		s := c.Selects(m)
		if s < 0 {
			continue
		}
		rank := [2]int{s, len(c.MatchLabels)}
		if rank[0] > bestRank[0] || (rank[0] == bestRank[0] && rank[1] > bestRank[1]) {
			best, bestRank = &c, rank
		}
	}
	return best
}

// CheckMachines renders c for every machine it selects (with a sample
// site, since each boot server has its own URL) and reports the first
// failure per machine on the template attribute. Machines c names that do
// not exist are not errors: they may come later.
func CheckMachines(c *Config, machines map[string]config.Machine) error {
	var errs config.FieldErrors
	for _, name := range slices.Sorted(maps.Keys(machines)) {
		m := machines[name]
		if c.Selects(m) < 0 {
			continue
		}
		if _, err := Render(c, m, SampleSite); err != nil {
			errs = append(errs, &config.FieldError{Path: []any{"template"}, Reason: err.Error()})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
