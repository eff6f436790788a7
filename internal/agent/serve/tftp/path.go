package tftp

import (
	"errors"
	"io/fs"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxPathLen bounds a requested file name. RFC 2347 caps a whole request at
// 512 octets; boot files are named far shorter.
const maxPathLen = 255

// requestPath turns a file name from a read request into a name for the
// served fs.FS, or says why it is refused. Clients write the name as an
// absolute path ("/undionly.kpxe") as often as a relative one, so leading
// slashes mean the TFTP root and are stripped. Everything that could mean
// something else on some server is refused rather than cleaned: "." and ".."
// elements, empty elements, backslashes (Windows separators, e.g.
// "..\boot.ini"), NUL and other control characters, and invalid UTF-8.
// fs.FS forbids escaping its root anyway; refusing up front gives the
// operator a log line that says what the client asked for.
func requestPath(raw string) (string, error) {
	if len(raw) > maxPathLen {
		return "", errors.New("file name longer than 255 bytes")
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
		return "", errors.New("empty file name")
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
