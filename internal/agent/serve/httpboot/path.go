package httpboot

import (
	"errors"
	"io/fs"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxPathLen bounds a requested path; content-addressed artifact paths
// are a few hundred bytes at most.
const maxPathLen = 1024

// errEmptyPath is the root ("/"): not found, as there are no listings.
var errEmptyPath = errors.New("empty file name")

// requestPath turns a decoded URL path into a name for the served fs.FS, or
// says why it is refused. The leading slash(es) mean the root and are
// stripped. Everything that could mean something else on some server is
// refused rather than cleaned: "." and ".." elements (also when sent
// percent-encoded, as r.URL.Path is decoded), empty elements, backslashes
// (Windows separators, e.g. "..\boot.ini"), NUL and other control
// characters, and invalid UTF-8. fs.FS forbids escaping its root anyway;
// refusing up front gives the operator a log line that says what the client
// asked for.
func requestPath(raw string) (string, error) {
	if len(raw) > maxPathLen {
		return "", errors.New("path longer than 1024 bytes")
	}
	if !utf8.ValidString(raw) {
		return "", errors.New("file name is not valid UTF-8")
	}
	for _, r := range raw {
		switch {
		case r == 0:
			return "", errors.New("file name contains NUL")
		case r == '\\':
			return "", errors.New("file name contains a backslash")
		case unicode.IsControl(r):
			return "", errors.New("file name contains a control character")
		}
	}
	name := strings.TrimLeft(raw, "/")
	if name == "" {
		return "", errEmptyPath
	}
	for elem := range strings.SplitSeq(name, "/") {
		switch elem {
		case "":
			return "", errors.New("file name has an empty path element")
		case ".", "..":
			return "", errors.New(`file name has a "." or ".." path element`)
		}
	}
	if !fs.ValidPath(name) {
		return "", errors.New("file name is not a valid path")
	}
	return name, nil
}
