package menu

import (
	"bytes"
	"io/fs"
	"path"
	"strings"
	"time"

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
//     machine's token (else an fs.ErrPermission error);
//   - every other name from fallback (nil: nothing).
//
// catalog and site are called on every Open, so the agent can swap the
// catalog or the boot server's URLs at any time. Generated files are
// io.ReadSeekers whose ModTime is Catalog.Updated.
func NewFS(catalog func() *Catalog, site func() machineconfig.Site, fallback fs.FS) fs.FS {
	return &scriptFS{catalog: catalog, site: site, fallback: fallback}
}

type scriptFS struct {
	catalog  func() *Catalog
	site     func() machineconfig.Site
	fallback fs.FS
}

func (s *scriptFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	c := s.catalog()
	if c == nil {
		c = &Catalog{}
	}
	site := s.site()
	switch {
	case name == StartPath && offersMenus(c, site.BootServer, FormatIPXE), name == GrubStartPath && offersMenus(c, site.BootServer, FormatGRUB), strings.HasPrefix(name, hostPathPrefix):
		script, _, _, err := Render(c, site, name, Host{})
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return newMemFile(path.Base(name), script, c.Updated), nil
	case strings.HasPrefix(name, machineconfig.PathPrefix):
		out, err := machineconfig.Serve(c.Machines, c.Configs, site, name)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return newMemFile(path.Base(name), out, c.Updated), nil
	case s.fallback == nil:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	default:
		return s.fallback.Open(name)
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
