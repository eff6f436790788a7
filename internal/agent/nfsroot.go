package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/artifact"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/nfsserve"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/nfsroot"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// nfsImage is what a site serves for one NFS root image: the export and the
// DNS name that nfsroot= uses.
type nfsImage struct {
	hostname string
	export   nfsserve.Export
}

// PutNFSRootImage builds the image's initrd, stores kernel and initrd as
// artifacts, and has the boot server export the root and answer DNS for its
// host name. Nothing is stored if any step fails, and the build stops
// between steps (and while copying the kernel or building the initrd) when
// ctx ends, leaving everything as it was.
func (s *core) PutNFSRootImage(ctx context.Context, req *netbootv1.PutNFSRootImageRequest) (_ *netbootv1.NFSRootImageState, err error) {
	img := proto.Clone(req.GetImage()).(*netbootv1.NFSRootImage)
	if img == nil {
		img = &netbootv1.NFSRootImage{}
	}
	if err := completeNFSRootImage(img); err != nil {
		return nil, invalidArgument("NFS root image", err)
	}
	if err := s.checkImageSources(img); err != nil {
		return nil, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.sites[img.GetBootServer()]
	if !ok {
		return nil, failedPrecondition("boot server %q does not exist on this agent; create it first", img.GetBootServer())
	}
	if !st.bootAddr.IsValid() {
		return nil, failedPrecondition("boot server %q has no global address in %s yet: the image's DNS name needs one; add an address to %s or set boot.server_address",
			img.GetBootServer(), st.cfg.Prefix, st.cfg.Interface)
	}
	for name, other := range s.images {
		if name != img.GetName() && other.GetConfig().GetBootServer() == img.GetBootServer() && other.GetConfig().GetExportPath() == img.GetExportPath() {
			return nil, failedPrecondition("export path %q is already used by NFS root image %q on boot server %q", img.GetExportPath(), name, img.GetBootServer())
		}
	}

	// The build's phases are logged and kept (ListOperations while it runs,
	// NFSRootImageState.progress after), so a slow build shows where it is.
	op := s.operations.start(opNFSRootImageBuild, img.GetName(), "NFS root image build",
		s.logger.With(eventkind.NFSRootImage.Attr(), "image", img.GetName(), "boot_server", img.GetBootServer()))
	defer func() {
		if err != nil {
			op.finish(err)
		}
	}()
	kernelPath, initrdPath := path.Join(nfsRootArtifactDir, img.GetName(), "vmlinuz"), path.Join(nfsRootArtifactDir, img.GetName(), "initrd.img")
	// Until the image is saved, a failure or the end of ctx (the caller's
	// timeout) puts both paths back as they were: no new kernel beside an
	// old initrd, no files of an image that does not exist.
	snap := s.artifacts.Snapshot(kernelPath, initrdPath)
	defer snap.Release()
	defer func() {
		if err != nil {
			if rerr := snap.Restore(); rerr != nil {
				s.logger.Error("restoring the NFS root image's previous files", eventkind.NFSRootImage.Attr(), "image", img.GetName(), "error", rerr)
			}
		}
	}()
	phase := ""
	// next starts the next phase, unless ctx ended: then the build stops.
	next := func(name string) error {
		if err := ctx.Err(); err != nil {
			return buildStopped(img.GetName(), phase, err)
		}
		phase = name
		op.phase(name)
		return nil
	}
	if err := next("building initrd"); err != nil {
		return nil, err
	}
	initrd, err := s.buildInitrd(ctx, nfsroot.InitrdOptions{KernelVersion: img.GetKernelVersion(), ExtraModules: img.GetExtraModules(), Gzip: true})
	if ctx.Err() != nil {
		return nil, buildStopped(img.GetName(), phase, ctx.Err())
	}
	if err != nil {
		return nil, failedPrecondition("NFS root image %q: building the initrd for kernel_version %q: %v", img.GetName(), img.GetKernelVersion(), err)
	}
	op.note("%s for kernel %s", FormatBytes(int64(initrd.Size)), img.GetKernelVersion())
	args, err := nfsroot.KernelArgs(nfsroot.ArgsOptions{
		Interface: img.GetInterface(), Hostname: img.GetHostname(), ExportPath: img.GetExportPath(),
		DNSServers: []netip.Addr{st.bootAddr}, ReadWrite: img.GetReadWrite(), Console: img.GetConsole(),
	})
	if err != nil {
		return nil, invalidArgumentf("NFS root image %q: %v", img.GetName(), err)
	}
	if err := next("storing kernel"); err != nil {
		return nil, err
	}
	kernel, err := s.artifacts.PutFromFile(ctx, kernelPath, "", "kernel", img.GetKernel())
	var refusal *artifact.RefusedError
	switch {
	case ctx.Err() != nil:
		return nil, buildStopped(img.GetName(), phase, ctx.Err())
	case errors.As(err, &refusal):
		return nil, refused(fmt.Sprintf("NFS root image %q", img.GetName()), refusal)
	case err != nil:
		return nil, failedPrecondition("NFS root image %q: storing the kernel %q: %v", img.GetName(), img.GetKernel(), err)
	}
	op.note("%s from %s", FormatBytes(kernel.Size), img.GetKernel())
	if err := next("storing initrd"); err != nil {
		return nil, err
	}
	initrdRec, err := s.artifacts.Put(initrdPath, initrd.SHA256, "nfs_root_image:"+img.GetName(), bytes.NewReader(initrd.Data))
	if err != nil {
		return nil, internalError("NFS root image %q: storing the initrd: %v", img.GetName(), err)
	}
	// The last point where the build stops: exporting and saving are quick,
	// local and undone together.
	if err := next("exporting " + img.GetRootDir()); err != nil {
		return nil, err
	}
	state := &netbootv1.NFSRootImageState{
		Config: img, KernelPath: kernel.Path, KernelSha256: kernel.SHA256,
		InitrdPath: initrdRec.Path, InitrdSize: uint64(initrdRec.Size), InitrdSha256: initrdRec.SHA256,
		KernelArgs: args, Nfsroot: img.GetHostname() + ":" + img.GetExportPath(),
		Progress: op.result(),
	}
	prev, existed := s.images[img.GetName()]
	s.images[img.GetName()] = state
	if err := s.syncImages(); err != nil {
		restoreImage(s.images, img.GetName(), prev, existed)
		_ = s.syncImages()
		return nil, failedPrecondition("NFS root image %q: %v", img.GetName(), err)
	}
	if err := s.store.Put(store.NFSRootImages, img.GetName(), state); err != nil {
		restoreImage(s.images, img.GetName(), prev, existed)
		_ = s.syncImages()
		return nil, internalError("saving NFS root image %q: %v", img.GetName(), err)
	}
	op.finish(nil)
	s.logger.Info("NFS root image ready", eventkind.NFSRootImage.Attr(), "image", img.GetName(), "boot_server", img.GetBootServer(),
		"nfsroot", state.GetNfsroot(), "initrd_size", initrd.Size, "kernel_args", args)
	return state, nil
}

// nfsRootArtifactDir holds each image's kernel and initrd, under its name.
const nfsRootArtifactDir = "nfsroot"

// buildStopped is the error of a build that stopped in phase because its
// context ended (err): it says whether it timed out or was cancelled, and
// keeps err so the caller gets DeadlineExceeded or Canceled.
func buildStopped(name, phase string, err error) error {
	how := "was cancelled"
	if errors.Is(err, context.DeadlineExceeded) {
		how = "timed out"
	}
	if phase == "" {
		return fmt.Errorf("NFS root image %q: the build %s before it started; nothing was changed: %w", name, how, err)
	}
	return fmt.Errorf("NFS root image %q: the build %s while %s; the agent serves what it served before: %w", name, how, phase, err)
}

func restoreImage(images map[string]*netbootv1.NFSRootImageState, name string, prev *netbootv1.NFSRootImageState, existed bool) {
	if existed {
		images[name] = prev
	} else {
		delete(images, name)
	}
}

// checkImageSources refuses a root_dir or kernel the agent's operator does
// not let it publish, before any slow step.
func (s *core) checkImageSources(img *netbootv1.NFSRootImage) error {
	sources := s.artifacts.Sources()
	_, err := sources.RootDir("root_dir", img.GetRootDir())
	if err == nil {
		var f *os.File
		if f, err = sources.OpenFile("kernel", img.GetKernel()); err == nil {
			f.Close()
		}
	}
	var refusal *artifact.RefusedError
	if errors.As(err, &refusal) {
		return refused(fmt.Sprintf("NFS root image %q", img.GetName()), refusal)
	}
	// Other errors (a missing kernel) are reported where the file is used.
	return nil
}

// completeNFSRootImage fills defaults and validates, naming attributes.
func completeNFSRootImage(img *netbootv1.NFSRootImage) error {
	var errs config.FieldErrors
	add := func(field, reason string) {
		errs = append(errs, &config.FieldError{Path: []any{field}, Reason: reason})
	}
	if err := config.CheckName(img.GetName()); err != nil {
		add("name", err.Error())
	}
	if img.GetBootServer() == "" {
		add("boot_server", "is required")
	}
	if info, err := os.Stat(img.GetRootDir()); !filepath.IsAbs(img.GetRootDir()) || err != nil || !info.IsDir() {
		add("root_dir", fmt.Sprintf("%q must be an absolute path to a directory on the agent host", img.GetRootDir()))
	}
	if err := nfsroot.ValidateNFSRootHost(img.GetHostname()); err != nil {
		add("hostname", err.Error())
	}
	if img.GetExportPath() == "" {
		img.ExportPath = "/roots/" + img.GetName()
	}
	if err := nfsroot.CheckExportPath(img.GetExportPath()); err != nil {
		add("export_path", err.Error())
	}
	if img.GetInterface() == "" {
		img.Interface = "eth0"
	}
	if img.GetKernel() == "" {
		kernels, _ := filepath.Glob("/boot/vmlinuz-*")
		sort.Strings(kernels)
		if len(kernels) == 0 {
			add("kernel", "is empty and the agent host has no /boot/vmlinuz-*: install linux-image-amd64 or set kernel")
		} else {
			img.Kernel = kernels[len(kernels)-1]
		}
	}
	if img.GetKernelVersion() == "" && img.GetKernel() != "" {
		if v, ok := nfsroot.KernelVersionOf(img.GetKernel()); ok {
			img.KernelVersion = v
		} else {
			add("kernel_version", fmt.Sprintf("cannot be derived from %q (not vmlinuz-VERSION): set it", filepath.Base(img.GetKernel())))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// imagesFor lists the images boot server serves, by image name.
func (s *core) imagesFor(bootServer string) []nfsImage {
	var out []nfsImage
	for _, name := range sortedKeys(s.images) {
		c := s.images[name].GetConfig()
		if c.GetBootServer() != bootServer {
			continue
		}
		// Checked again on every start: the operator may have narrowed
		// --nfs-root-path, or a link in the path may point elsewhere now.
		dir, err := s.artifacts.Sources().RootDir("root_dir", c.GetRootDir())
		if err != nil {
			s.logger.Warn("NFS root image not exported", eventkind.NFSRootImage.Attr(), "image", name, "boot_server", bootServer, "error", err)
			continue
		}
		out = append(out, nfsImage{
			hostname: c.GetHostname(),
			export: nfsserve.Export{Path: c.GetExportPath(), Dir: dir, ReadOnly: !c.GetReadWrite(),
				NoRootSquash: c.GetNoRootSquash()},
		})
	}
	return out
}

// syncImages gives every site the exports and DNS names of its images.
func (s *core) syncImages() error {
	var errs []error
	for name, st := range s.sites {
		st.images = s.imagesFor(name)
		if st.serving() {
			if err := st.syncFileServers(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (s *core) GetNFSRootImage(_ context.Context, req *netbootv1.GetNFSRootImageRequest) (*netbootv1.NFSRootImageState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	img, ok := s.images[req.GetName()]
	if !ok {
		return nil, notFound("NFS root image %q does not exist on this agent", req.GetName())
	}
	return img, nil
}

func (s *core) ListNFSRootImages(_ context.Context, req *netbootv1.ListNFSRootImagesRequest) (*netbootv1.ListNFSRootImagesResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	images, next, err := pageByName("NFS root images", req, sortedKeys(s.images), func(name string) *netbootv1.NFSRootImageState { return s.images[name] })
	if err != nil {
		return nil, err
	}
	return &netbootv1.ListNFSRootImagesResponse{Images: images, NextPageToken: next}, nil
}

func (s *core) DeleteNFSRootImage(_ context.Context, req *netbootv1.DeleteNFSRootImageRequest) (*netbootv1.DeleteNFSRootImageResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	img, ok := s.images[req.GetName()]
	if !ok {
		return nil, notFound("NFS root image %q does not exist on this agent", req.GetName())
	}
	if err := s.store.Delete(store.NFSRootImages, req.GetName()); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, internalError("deleting NFS root image %q: %v", req.GetName(), err)
	}
	delete(s.images, req.GetName())
	if err := s.syncImages(); err != nil {
		s.logger.Warn("updating exports after deleting an image", eventkind.NFSRootImage.Attr(), "image", req.GetName(), "error", err)
	}
	for _, p := range []string{img.GetKernelPath(), img.GetInitrdPath()} {
		if err := s.artifacts.Delete(p); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.logger.Warn("deleting image artifact", eventkind.NFSRootImage.Attr(), "path", p, "error", err)
		}
	}
	s.logger.Info("NFS root image deleted", eventkind.NFSRootImage.Attr(), "image", req.GetName())
	return &netbootv1.DeleteNFSRootImageResponse{}, nil
}

// loadImages reads stored images; restore gives them to their sites.
func (s *core) loadImages() error {
	return s.store.List(store.NFSRootImages, func(name string, data []byte) error {
		st := &netbootv1.NFSRootImageState{}
		if err := proto.Unmarshal(data, st); err != nil {
			return fmt.Errorf("decoding NFS root image %q: %w", name, err)
		}
		s.images[name] = st
		return nil
	})
}
