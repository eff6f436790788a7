package nfsserve

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMountPath(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"/roots/debian", "/roots/debian", true},
		{"/roots/debian/", "/roots/debian", true},
		{"//roots//debian", "/roots/debian", true},
		{"/roots/./debian", "/roots/debian", true},
		{"/roots/x/../debian", "/roots/debian", true},
		{"/../../etc", "/etc", true},
		{"/", "/", true},
		{"", "", false},
		{"roots/debian", "", false},
		{"/roots\x00/debian", "", false},
		{"/roots/\xff", "", false},
		{"/" + strings.Repeat("a", maxMountPath), "", false},
	}
	for _, tt := range tests {
		got, ok := mountPath([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("mountPath(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestJoinNames(t *testing.T) {
	tests := []struct {
		elem []string
		want string
	}{
		{nil, "."},
		{[]string{"etc"}, "etc"},
		{[]string{"usr", "lib", "x.so"}, "usr/lib/x.so"},
		{[]string{"..."}, "..."},
		{[]string{"etc", ".."}, badName},
		{[]string{".."}, badName},
		{[]string{"."}, badName},
		{[]string{""}, badName},
		{[]string{"etc", "a/b"}, badName},
		{[]string{"/etc"}, badName},
		{[]string{"a\x00b"}, badName},
	}
	for _, tt := range tests {
		if got := joinNames(tt.elem...); got != tt.want {
			t.Errorf("joinNames(%q) = %q, want %q", tt.elem, got, tt.want)
		}
	}
	if err := local("open", badName); err == nil {
		t.Error("badName passes local")
	}
}

// FuzzMountPath: whatever a MOUNT request carries, a path accepted is one
// an Export.Path could be, so routing is an exact map lookup.
func FuzzMountPath(f *testing.F) {
	for _, s := range []string{"/roots/debian", "//a/../b/", "/", "", "a", "/\x00", "/\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, dirpath []byte) {
		p, ok := mountPath(dirpath)
		if !ok {
			return
		}
		if !validExportPath(p) {
			t.Fatalf("mountPath(%q) = %q, not a valid export path", dirpath, p)
		}
		if !utf8.ValidString(p) || strings.Contains(p, "\x00") || strings.Contains(p, "/../") {
			t.Fatalf("mountPath(%q) = %q", dirpath, p)
		}
	})
}

// FuzzJoinNames: the names go-nfs builds from a handle's path and a
// client's file names are either refused or local to the export, made of
// exactly those components.
func FuzzJoinNames(f *testing.F) {
	f.Add("etc", "hostname")
	f.Add("..", "secret")
	f.Add("a/b", "")
	f.Add(".", "\x00")
	f.Fuzz(func(t *testing.T, a, b string) {
		got := joinNames(a, b)
		if got == badName {
			if local("open", got) == nil {
				t.Fatal("badName passes local")
			}
			return
		}
		if !filepath.IsLocal(got) || local("open", got) != nil {
			t.Fatalf("joinNames(%q, %q) = %q, not local", a, b, got)
		}
		if parts := strings.Split(got, "/"); len(parts) != 2 || parts[0] != a || parts[1] != b {
			t.Fatalf("joinNames(%q, %q) = %q", a, b, got)
		}
	})
}
