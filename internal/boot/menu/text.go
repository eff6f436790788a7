package menu

import (
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// iPXE has no quoting (src/core/exec.c, src/image/script.c): a script line
// is split on whitespace; a word that is exactly "||", "&&" or ";" ends the
// command and starts another; a word starting with '#' ends the line; a
// line ending in '\' continues on the next; ${name} is replaced by a
// setting. Text a user writes is therefore checked word by word before it
// is put on a command line.

// Limits keep scripts readable and well inside iPXE's and Linux's limits
// (an iPXE menu is 80 columns; x86 kernels take a 2048-byte command line by
// default, others more).
const (
	maxTitleLen    = 128
	maxArgsLen     = 4096
	maxURLLen      = 2048
	maxScriptLen   = 64 << 10
	maxTemplateLen = 64 << 10
)

// settingRef is one iPXE setting reference such as ${netX/mac:hexhyp} or
// ${net0.dhcp/ip}.
var settingRef = regexp.MustCompile(`\$\{[A-Za-z0-9_.:/-]+\}`)

// textProblem says why s cannot be written as words on an iPXE command
// line, or "" when it can. Any printable Unicode is fine; iPXE passes bytes
// above 0x7f through untouched.
func textProblem(s string, maxLen int) string {
	if len(s) > maxLen {
		return fmt.Sprintf("must be at most %d bytes, got %d", maxLen, len(s))
	}
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r':
			return "must not contain line breaks: every line of an iPXE script is a command, so a line break would inject one"
		case r == '\t':
			return "must not contain tabs: write spaces"
		case !unicode.IsPrint(r):
			return fmt.Sprintf("must not contain the control or invisible character %U: iPXE would split words on it or print garbage", r)
		}
	}
	if strings.HasSuffix(s, `\`) {
		return `must not end with a backslash: iPXE joins a line ending in "\" with the next line`
	}
	for _, w := range strings.Fields(s) {
		switch {
		case w == "||" || w == "&&" || w == ";":
			return fmt.Sprintf("must not contain %q as a separate word: iPXE reads it as the end of the command and runs what follows as a new one", w)
		case strings.HasPrefix(w, "#"):
			return fmt.Sprintf("must not contain a word starting with '#' (%q): iPXE treats it as a comment and drops the rest of the line (write e.g. \"No. 5\" or \"n#5\")", w)
		}
	}
	return settingRefProblem(s)
}

// settingRefProblem checks that every "${" starts a well-formed iPXE
// setting reference; iPXE silently mangles unbalanced ones.
func settingRefProblem(s string) string {
	rest := settingRef.ReplaceAllString(s, "")
	if i := strings.Index(rest, "${"); i >= 0 {
		return "has a malformed iPXE setting reference: write ${name} with letters, digits and . _ - / : only (e.g. ${netX/mac} or ${buildarch}), each closed by '}'"
	}
	return ""
}

// artifactOrURLProblem checks a kernel or initrd: a clean relative artifact
// path, served by the boot server over HTTP, or an absolute http, https or
// tftp URL.
func artifactOrURLProblem(s string) string {
	if s == "" {
		return "must be set: an artifact path such as \"centos/vmlinuz\" or an http://, https:// or tftp:// URL"
	}
	if strings.Contains(s, "://") {
		return urlProblem(s, chainSchemes)
	}
	if strings.HasPrefix(s, "/") {
		return fmt.Sprintf("must be relative to the boot server's HTTP root: write %q", strings.TrimLeft(s, "/"))
	}
	if len(s) > maxURLLen {
		return fmt.Sprintf("must be at most %d bytes", maxURLLen)
	}
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r == '\\' || unicode.IsControl(r) }) || !fs.ValidPath(s) {
		return fmt.Sprintf("%q is not a clean relative path (no \"..\", \".\" or empty elements, backslashes or control characters) nor an absolute URL", s)
	}
	return ""
}

// Schemes iPXE can fetch an image with (chain, kernel, initrd), and the SAN
// URI schemes sanboot accepts (https://ipxe.org/sanuri). TFTP has no byte
// ranges, so sanboot cannot use it.
var (
	chainSchemes   = []string{"http", "https", "tftp"}
	sanbootSchemes = []string{"http", "https", "iscsi", "aoe", "fcp", "ib_srp"}
)

// urlProblem checks an absolute URL that goes on an iPXE command line.
func urlProblem(s string, schemes []string) string {
	want := "an absolute " + schemeList(schemes) + " URL"
	if len(s) > maxURLLen {
		return fmt.Sprintf("must be at most %d bytes", maxURLLen)
	}
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || !unicode.IsPrint(r) }) {
		return "must not contain spaces or control characters: percent-encode them (a space is %20)"
	}
	if p := settingRefProblem(s); p != "" {
		return p
	}
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || !slices.Contains(schemes, strings.ToLower(scheme)) {
		return fmt.Sprintf("%q must be %s", s, want)
	}
	switch strings.ToLower(scheme) {
	case "http", "https", "tftp":
		// A setting reference may stand for the host (http://${next-server}/);
		// net/url would refuse its braces.
		u, err := url.Parse(settingRef.ReplaceAllString(s, "x"))
		if err != nil || u.Host == "" {
			return fmt.Sprintf("%q must be %s with a host (IPv6 addresses in brackets, e.g. http://[2001:db8::1]/boot.efi)", s, want)
		}
	default:
		if rest == "" {
			return fmt.Sprintf("%q names no target after %q (see https://ipxe.org/sanuri)", s, scheme+":")
		}
	}
	return ""
}

// reservedLabel reports whether a script label belongs to the generated
// script, so a raw script must not define it.
func reservedLabel(label string) bool {
	return strings.HasPrefix(label, "menu-") || strings.HasPrefix(label, "entry-") || label == failedLabel
}

// scriptLines returns a raw script's lines as they go into the generated
// script: a leading "#!ipxe" line (often pasted along) is dropped and
// trailing carriage returns are removed.
func scriptLines(s string) []string {
	lines := strings.Split(strings.TrimRight(s, "\r\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, "\r")
	}
	if len(lines) > 0 && strings.HasPrefix(lines[0], "#!") {
		lines = lines[1:]
	}
	return lines
}

// scriptProblem checks a raw iPXE script for what would break the script it
// is embedded in.
func scriptProblem(s string) string {
	if strings.TrimSpace(s) == "" {
		return "must not be empty when kind is \"script\""
	}
	if len(s) > maxScriptLen {
		return fmt.Sprintf("must be at most %d bytes", maxScriptLen)
	}
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	lines := scriptLines(s)
	if len(lines) == 0 || strings.TrimSpace(strings.Join(lines, "")) == "" {
		return "must contain iPXE commands, not only the \"#!ipxe\" line"
	}
	for i, line := range lines {
		if strings.ContainsFunc(line, func(r rune) bool { return r != '\t' && unicode.IsControl(r) }) {
			return fmt.Sprintf("line %d contains a control character (NUL, escape, ...): iPXE would misread it", i+1)
		}
		if label, ok := strings.CutPrefix(strings.TrimLeft(line, " \t"), ":"); ok {
			label, _, _ = strings.Cut(label, " ")
			if reservedLabel(label) {
				return fmt.Sprintf("line %d defines label %q, which the generated script uses: labels starting with \"menu-\" or \"entry-\" and \"failed\" are reserved", i+1, ":"+label)
			}
		}
	}
	if last := lines[len(lines)-1]; strings.HasSuffix(last, `\`) {
		return `the last line must not end with a backslash: iPXE would join it with the generated line after it`
	}
	return ""
}

// schemeList spells schemes the way users write them: "http://, https://
// or tftp://".
func schemeList(schemes []string) string {
	spelled := make([]string, len(schemes))
	for i, s := range schemes {
		switch s {
		case "http", "https", "tftp":
			spelled[i] = s + "://"
		default:
			spelled[i] = s + ":"
		}
	}
	return strings.Join(spelled[:len(spelled)-1], ", ") + " or " + spelled[len(spelled)-1]
}
