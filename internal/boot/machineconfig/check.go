package machineconfig

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// check says why out is not a file of kind k, naming the line where it can.
// The checks are what each consumer refuses outright or silently ignores:
// cloud-init skips user-data without its header, and an installer stops at
// a preseed or Kickstart it cannot parse, far from the operator's eyes.
func check(k Kind, out []byte) error {
	switch k {
	case KindCloudConfig:
		_, err := cloudConfig(out)
		return err
	case KindAutoinstall:
		doc, err := cloudConfig(out)
		if err != nil {
			return err
		}
		ai, ok := doc["autoinstall"].(map[string]any)
		if !ok {
			return errors.New("has no autoinstall mapping at the top level, so the Ubuntu installer would ask its questions")
		}
		if v, ok := ai["version"].(int); !ok || v != 1 {
			return errors.New("must say autoinstall: version: 1, the only version the Ubuntu installer knows")
		}
		return nil
	case KindMetaData:
		doc, err := yamlMapping(out)
		if err != nil {
			return err
		}
		if _, ok := doc["instance-id"]; !ok {
			return errors.New("has no instance-id: cloud-init's NoCloud source needs one")
		}
		return nil
	case KindNetworkConfig:
		doc, err := yamlMapping(out)
		if err != nil {
			return err
		}
		if n, ok := doc["network"].(map[string]any); ok {
			doc = n
		}
		if v, ok := doc["version"].(int); !ok || (v != 1 && v != 2) {
			return errors.New("must say version: 1 or version: 2 (cloud-init's network config formats)")
		}
		return nil
	case KindPreseed:
		return checkPreseed(out)
	case KindKickstart:
		return checkKickstart(out)
	case KindIgnition:
		return checkIgnition(out)
	}
	return nil
}

// cloudConfig checks cloud-init's "#cloud-config" header and the YAML
// mapping after it.
func cloudConfig(out []byte) (map[string]any, error) {
	first, _, _ := bytes.Cut(out, []byte("\n"))
	if strings.TrimRight(string(first), " \r") != "#cloud-config" {
		return nil, fmt.Errorf("must start with the line #cloud-config (cloud-init ignores user-data without it), not %q", truncate(string(first)))
	}
	return yamlMapping(out)
}

func yamlMapping(out []byte) (map[string]any, error) {
	var doc any
	if err := yaml.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("is not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if doc == nil {
		return map[string]any{}, nil // only comments: an empty mapping
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, errors.New("must be a YAML mapping (key: value lines)")
	}
	return m, nil
}

// preseedTypes are debconf's question types.
var preseedTypes = []string{"string", "boolean", "select", "multiselect", "note", "text", "password", "error", "title", "seen"}

// checkPreseed checks each debconf line, "<owner> <question> <type>
// [value]", with '\' continuing a line as debconf-set-selections reads it.
func checkPreseed(out []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, maxRendered)
	line, start := "", 0
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		if line == "" {
			start = n
		}
		if cont, ok := strings.CutSuffix(text, "\\"); ok {
			line += cont
			continue
		}
		line += text
		trimmed := strings.TrimSpace(line)
		line = ""
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		f := strings.Fields(trimmed)
		if len(f) < 3 {
			return fmt.Errorf("line %d: %q is not \"<owner> <question> <type> <value>\" (e.g. \"d-i debian-installer/locale string en_US\")", start, truncate(trimmed))
		}
		if !slices.Contains(preseedTypes, f[2]) {
			return fmt.Errorf("line %d: %q is not a debconf type (%s)", start, f[2], strings.Join(preseedTypes, ", "))
		}
	}
	if line != "" {
		return fmt.Errorf("line %d: the last line ends with '\\', continuing into nothing", start)
	}
	return nil
}

var kickstartSection = regexp.MustCompile(`^%(packages|pre|post|pre-install|onerror|traceback|addon|anaconda)\b`)

// checkKickstart checks that every %section closes with %end before the
// next one and that no %end stands alone: Anaconda stops on either.
func checkKickstart(out []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, maxRendered)
	open, openLine := "", 0
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		switch {
		case text == "%end":
			if open == "" {
				return fmt.Errorf("line %d: %%end closes no section", n)
			}
			open = ""
		case kickstartSection.MatchString(text):
			if open != "" {
				return fmt.Errorf("line %d: %s starts before %s (line %d) ends with %%end", n, strings.Fields(text)[0], open, openLine)
			}
			open, openLine = strings.Fields(text)[0], n
		}
	}
	if open != "" {
		return fmt.Errorf("line %d: %s never ends with %%end", openLine, open)
	}
	return nil
}

// ignitionVersions are the config spec versions Ignition 2.x reads; a
// config of spec 2.x needs Ignition 0.x, which current systems no longer
// ship.
var ignitionVersions = []string{"3.0.0", "3.1.0", "3.2.0", "3.3.0", "3.4.0", "3.5.0"}

func checkIgnition(out []byte) error {
	var doc struct {
		Ignition *struct {
			Version string `json:"version"`
		} `json:"ignition"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("is not valid JSON: line %d: %v", lineAt(out, se.Offset), err)
		}
		return fmt.Errorf("is not an Ignition config: %v", err)
	}
	if doc.Ignition == nil || doc.Ignition.Version == "" {
		return errors.New("has no ignition.version")
	}
	if !slices.Contains(ignitionVersions, doc.Ignition.Version) {
		return fmt.Errorf("has ignition.version %q; Ignition reads spec %s", doc.Ignition.Version, strings.Join(ignitionVersions, ", "))
	}
	return nil
}

func lineAt(b []byte, offset int64) int {
	if offset > int64(len(b)) {
		offset = int64(len(b))
	}
	return bytes.Count(b[:offset], []byte("\n")) + 1
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}
