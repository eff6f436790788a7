package menu

import (
	"bytes"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/machineconfig"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
)

// NewFS serves a boot server's generated scripts over fallback, the boot
// server's own files:
//
//   - start.ipxe, generated when the catalog offers this boot server at
//     least one menu (one that matches hosts or is a default), else
//     fallback's;
//   - netboot/host/mac-<mac>/uuid-<uuid>/arch-<buildarch>/platform-<platform>/menu.ipxe
//     (HostPath), the script for that host; a host no menu matches gets a
//     script that says so and boots from the local disk, never a 404 that
//     would leave iPXE retrying;
//   - grub/grub.cfg (GrubStartPath) and netboot/host/…/grub.cfg
//     (GrubHostPath): the same for a network GRUB;
//   - netboot/config/<machine>/<token>/<file> (machineconfig.Path): the
//     file a netboot_config renders for that machine, only with the
//     machine's token and to that machine (else an fs.ErrPermission
//     error);
//   - every other name from fallback (nil: nothing).
//
// A host script is the machine's own (its menu, label matches, its config
// URLs) only when the request comes from that machine (OpenFor); else it
// is the script of a host the agent does not know. Open is OpenFor a
// request from no machine.
//
// catalog and site are called on every Open, so the agent can swap the
// catalog or the boot server's URLs at any time. Generated files are
// io.ReadSeekers whose ModTime is Catalog.Updated.
func NewFS(catalog func() *Catalog, site func() machineconfig.Site, fallback fs.FS) *FS {
	return &FS{catalog: catalog, site: site, fallback: fallback}
}

// FS is a boot server's files with its generated scripts (NewFS).
type FS struct {
	catalog  func() *Catalog
	site     func() machineconfig.Site
	fallback fs.FS
}

// Open opens name for a request from no machine.
func (s *FS) Open(name string) (fs.File, error) {
	f, _, err := s.OpenFor(config.Requester{}, name)
	return f, err
}

// OpenFor opens name for a request from "from". refused names the machine
// a host script's path names (by MAC address or UUID) when the request
// does not come from that machine: the script is then an unknown host's,
// and the caller should say so in its log.
func (s *FS) OpenFor(from config.Requester, name string) (f fs.File, refused string, err error) {
	if !fs.ValidPath(name) {
		return nil, "", &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	c := s.catalog()
	if c == nil {
		c = &Catalog{}
	}
	site := s.site()
	switch {
	case name == StartPath && offersMenus(c, site.BootServer, FormatIPXE), name == GrubStartPath && offersMenus(c, site.BootServer, FormatGRUB), strings.HasPrefix(name, hostPathPrefix):
		r, err := render(c, site, name, Host{}, &from)
		if err != nil {
			return nil, "", &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return newMemFile(path.Base(name), r.script, c.Updated), r.refused, nil
	case strings.HasPrefix(name, machineconfig.PathPrefix):
		out, err := machineconfig.Serve(c.Machines, c.Configs, site, name, from)
		if err != nil {
			return nil, "", &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return newMemFile(path.Base(name), out, c.Updated), "", nil
	case s.fallback == nil:
		return nil, "", &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	default:
		f, err := s.fallback.Open(name)
		return f, "", err
	}
}

// memFile is a generated script.
type memFile struct {
	*bytes.Reader
	info memInfo
}

func newMemFile(name string, content []byte, modTime time.Time) *memFile {
	return &memFile{Reader: bytes.NewReader(content), info: memInfo{name: name, size: int64(len(content)), modTime: modTime}}
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f.info, nil }

// Close does nothing: the content is only memory.
func (f *memFile) Close() error { return nil }

// EventKind tells the HTTP server that serving f is serving a rendered
// script, so its request is a script event in `agent logs`.
func (f *memFile) EventKind() eventkind.Kind { return eventkind.Script }

type memInfo struct {
	name    string
	size    int64
	modTime time.Time
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() fs.FileMode  { return 0o444 }
func (i memInfo) ModTime() time.Time { return i.modTime }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }
