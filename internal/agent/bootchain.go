package agent

import (
	"errors"
	"io/fs"
	"log/slog"
	"path"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
)

// missingChainFile says what a request for name, which the boot server
// does not have, most likely means in the Secure Boot chain (firmware →
// shim → GRUB → grub.cfg), or "" when the name is not part of it or is
// one the chain asks for and does without (shim's revocations_*.efi and
// shim_certificate_*.efi, GRUB's module lists).
func missingChainFile(name string) string {
	switch path.Base(name) {
	case "grubx64.efi", "grubaa64.efi", "grubia32.efi":
		if path.Dir(name) == "." {
			return "shim loads GRUB from next to itself and found none: publish the distribution's signed " +
				"network GRUB under this name (Debian: /usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed as " +
				"netboot_artifact path \"grubx64.efi\")"
		}
	case "mmx64.efi", "mmaa64.efi", "mmia32.efi":
		return "shim starts MokManager when it cannot verify GRUB: the GRUB served is not signed by a key this " +
			"shim trusts (serve shim and GRUB from the same distribution)"
	}
	if name == "grub/grub.cfg" {
		return "GRUB reads its configuration here: offer a boot menu to GRUB on this boot server (is_default or " +
			"match, and formats with \"grub\"), or publish a grub/grub.cfg artifact"
	}
	return ""
}

// chainWarnInterval keeps a client retrying a missing file from filling
// the log: one warning per file per interval.
const chainWarnInterval = time.Minute

// chainWarnings logs a warning naming the likely cause when a file of the
// Secure Boot chain is missing: the TFTP or HTTP record of the failed
// request says only "not found".
type chainWarnings struct {
	logger *slog.Logger
	// files has a key per file name, from the few missingChainFile knows.
	files *repeatWarnings
}

func newChainWarnings(logger *slog.Logger) *chainWarnings {
	return &chainWarnings{logger: logger, files: newRepeatWarnings(chainWarnInterval, 64)}
}

// opened looks at the outcome of opening name.
func (c *chainWarnings) opened(name string, err error) {
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return
	}
	if cause := missingChainFile(name); cause != "" && c.files.due(name) {
		c.logger.Warn("boot chain file missing", eventkind.BootChain.Attr(), slog.String("file", name), slog.String("cause", cause))
	}
}
