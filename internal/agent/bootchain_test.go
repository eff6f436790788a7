package agent

import (
	"bytes"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestMissingChainFile(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"grubx64.efi", "publish the distribution's signed network GRUB"},
		{"grubaa64.efi", "signed network GRUB"},
		{"mmx64.efi", "not signed by a key this shim trusts"},
		{"grub/grub.cfg", "offer a boot menu to GRUB on this boot server"},
		// Asked for and done without.
		{"revocations_sku.efi", ""},
		{"revocations_sbat.efi", ""},
		{"shim_certificate_0.efi", ""},
		{"grub/x86_64-efi/command.lst", ""},
		{"grub/x86_64-efi/grubx64.efi", ""},
		{"start.ipxe", ""},
	} {
		got := missingChainFile(tc.name)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("missingChainFile(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestChainWarningsOncePerInterval checks the warning names the file and the
// cause, is not repeated for a retrying client, comes again after the
// interval, and that files which exist or are optional log nothing.
func TestChainWarningsOncePerInterval(t *testing.T) {
	var logs bytes.Buffer
	files := fstest.MapFS{"shimx64.efi": {Data: []byte("shim")}}
	c := newChainWarnings(slog.New(slog.NewTextHandler(&logs, nil)))
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c.files.now = func() time.Time { return now }
	open := func(name string) {
		t.Helper()
		f, err := files.Open(name)
		c.opened(name, err)
		if err == nil {
			f.Close()
		} else if !strings.Contains(err.Error(), fs.ErrNotExist.Error()) {
			t.Fatalf("Open(%q): %v", name, err)
		}
	}
	open("shimx64.efi")
	open("revocations_sbat.efi")
	if logs.Len() != 0 {
		t.Fatalf("logged for a served or optional file:\n%s", logs.String())
	}
	open("grubx64.efi")
	open("grubx64.efi")
	if n := strings.Count(logs.String(), "boot chain file missing"); n != 1 {
		t.Fatalf("%d warnings for two requests within the interval, want 1:\n%s", n, logs.String())
	}
	for _, want := range []string{"level=WARN", "event=boot_chain", "file=grubx64.efi", "cause=\"shim loads GRUB"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("warning lacks %s:\n%s", want, logs.String())
		}
	}
	now = now.Add(chainWarnInterval)
	open("grubx64.efi")
	if n := strings.Count(logs.String(), "boot chain file missing"); n != 2 {
		t.Errorf("%d warnings after the interval, want 2:\n%s", n, logs.String())
	}
}
