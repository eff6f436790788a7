package tftp

import (
	"io/fs"
	"strings"
	"testing"
)

func TestRequestPath(t *testing.T) {
	tests := []struct {
		raw     string
		want    string
		wantErr string
	}{
		{raw: "undionly.kpxe", want: "undionly.kpxe"},
		{raw: "/undionly.kpxe", want: "undionly.kpxe"},
		{raw: "//boot/ipxe.efi", want: "boot/ipxe.efi"},
		{raw: "boot/x86_64/ipxe.efi", want: "boot/x86_64/ipxe.efi"},
		{raw: "sha256:ab12/vmlinuz", want: "sha256:ab12/vmlinuz"},
		{raw: "..file", want: "..file"},
		{raw: "", wantErr: "empty"},
		{raw: "/", wantErr: "empty"},
		{raw: "..", wantErr: `".."`},
		{raw: "../../etc/passwd", wantErr: `".."`},
		{raw: "/../etc/passwd", wantErr: `".."`},
		{raw: "boot/../../etc/passwd", wantErr: `".."`},
		{raw: "boot/..", wantErr: `".."`},
		{raw: "./undionly.kpxe", wantErr: `"."`},
		{raw: "boot/./x", wantErr: `"."`},
		{raw: "boot//x", wantErr: "empty path element"},
		{raw: "boot/", wantErr: "empty path element"},
		{raw: `..\..\boot.ini`, wantErr: "backslash"},
		{raw: `C:\boot.ini`, wantErr: "backslash"},
		{raw: "a\x00b", wantErr: "NUL"},
		{raw: "a\nb", wantErr: "control"},
		{raw: "a\x7fb", wantErr: "control"},
		{raw: "\xff\xfe", wantErr: "UTF-8"},
		{raw: strings.Repeat("a", 256), wantErr: "longer"},
	}
	for _, tt := range tests {
		got, err := requestPath(tt.raw)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("requestPath(%q) = %q, %v; want error containing %q", tt.raw, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("requestPath(%q) = %q, %v; want %q", tt.raw, got, err, tt.want)
		}
	}
}

func FuzzTFTPRequestPath(f *testing.F) {
	for _, seed := range []string{
		"undionly.kpxe", "/boot/ipxe.efi", "../../etc/passwd", `..\x`, "a//b", "./a", "\x00", "/",
		"%2e%2e/x", "a/b/../c", "\u202e", "C:", "a/./b/",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := requestPath(raw)
		if err != nil {
			return
		}
		if !fs.ValidPath(got) || got == "." {
			t.Fatalf("requestPath(%q) = %q, not a valid fs path", raw, got)
		}
		if strings.ContainsAny(got, "\\\x00") || strings.HasPrefix(got, "/") {
			t.Fatalf("requestPath(%q) = %q", raw, got)
		}
		for elem := range strings.SplitSeq(got, "/") {
			if elem == ".." || elem == "." {
				t.Fatalf("requestPath(%q) = %q has a dot element", raw, got)
			}
		}
		// Normalising only strips the leading slashes.
		if got != strings.TrimLeft(raw, "/") {
			t.Fatalf("requestPath(%q) = %q, changed more than leading slashes", raw, got)
		}
	})
}
