package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/artifact"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/nfsroot"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// countdownContext runs out (DeadlineExceeded) at its n-th Err call, so a
// test can let a deadline expire at each point where a build looks, in turn.
type countdownContext struct {
	context.Context
	mu   sync.Mutex
	left int
	done chan struct{}
}

func newCountdownContext(n int) *countdownContext {
	return &countdownContext{Context: context.Background(), left: n, done: make(chan struct{})}
}

func (c *countdownContext) Done() <-chan struct{} { return c.done }

func (c *countdownContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.left <= 0 {
		select {
		case <-c.done:
		default:
			close(c.done)
		}
		return context.DeadlineExceeded
	}
	c.left--
	return nil
}

// fakeInitrd stands in for nfsroot.BuildInitrd, which needs the host's
// busybox, mount.nfs and kernel modules: an initrd naming its kernel
// release, built in two steps that each look at ctx.
func fakeInitrd(ctx context.Context, opts nfsroot.InitrdOptions) (*nfsroot.Initrd, error) {
	for range 2 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	data := []byte("initrd for " + opts.KernelVersion)
	sum := sha256.Sum256(data)
	return &nfsroot.Initrd{Data: data, Size: len(data), SHA256: hex.EncodeToString(sum[:])}, nil
}

// A build whose deadline runs out stops at the next step, whichever it is,
// and leaves the agent as it was: the image's previous kernel, initrd and
// state (or none), and no stored content that nothing serves. The error
// says it timed out, as DeadlineExceeded.
func TestNFSRootImageBuildStopsWhenItsContextEnds(t *testing.T) {
	files := t.TempDir()
	for _, k := range []string{"vmlinuz-6.1.0-1-amd64", "vmlinuz-6.1.0-2-amd64"} {
		if err := os.WriteFile(filepath.Join(files, k), []byte("kernel "+k), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := newTestService(t, dir, st, artifact.SourceOptions{FileDirs: []string{files}, RootDirs: []string{files}})
	s.offline = &Offline{Links: map[string]OfflineLink{"lab0": {
		LinkLocal: netip.MustParseAddr("fe80::1"), Global: []netip.Addr{netip.MustParseAddr("2001:db8:1::1")},
	}}}
	s.lookupLink = s.offline.lookup
	s.buildInitrd = fakeInitrd
	bs := absentBootServer("lab")
	bs.Interface = "lab0"
	if _, err := s.PutBootServer(context.Background(), &netbootv1.PutBootServerRequest{BootServer: bs}); err != nil {
		t.Fatal(err)
	}
	image := func(name, kernel string) *netbootv1.PutNFSRootImageRequest {
		return &netbootv1.PutNFSRootImageRequest{Image: &netbootv1.NFSRootImage{
			Name: name, BootServer: "lab", RootDir: files, Hostname: "nfs.boot.test", Kernel: filepath.Join(files, kernel)}}
	}
	if _, err := s.PutNFSRootImage(context.Background(), image("old", "vmlinuz-6.1.0-1-amd64")); err != nil {
		t.Fatal(err)
	}
	blobs := func() []string {
		entries, err := os.ReadDir(filepath.Join(dir, "artifacts", "blobs", "sha256"))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}

	for _, name := range []string{"old", "new"} {
		t.Run(name, func(t *testing.T) {
			artifactsBefore, blobsBefore := s.artifacts.List(), blobs()
			imageBefore, _ := s.GetNFSRootImage(context.Background(), &netbootv1.GetNFSRootImageRequest{Name: name})
			stops := 0
			for n := 0; ; n++ {
				_, err := s.PutNFSRootImage(newCountdownContext(n), image(name, "vmlinuz-6.1.0-2-amd64"))
				if err == nil {
					break
				}
				stops++
				st := status.Convert(statusOf(err))
				if !errors.Is(err, context.DeadlineExceeded) || st.Code() != codes.DeadlineExceeded || !strings.Contains(st.Message(), "timed out") {
					t.Fatalf("deadline at check %d: %s %q; want DeadlineExceeded saying it timed out", n, st.Code(), st.Message())
				}
				if got := s.artifacts.List(); !slices.Equal(got, artifactsBefore) {
					t.Errorf("deadline at check %d (%s): artifacts %v, want %v as before", n, st.Message(), got, artifactsBefore)
				}
				if got := blobs(); !slices.Equal(got, blobsBefore) {
					t.Errorf("deadline at check %d (%s): stored content %v, want %v as before", n, st.Message(), got, blobsBefore)
				}
				got, _ := s.GetNFSRootImage(context.Background(), &netbootv1.GetNFSRootImageRequest{Name: name})
				if !proto.Equal(got, imageBefore) {
					t.Errorf("deadline at check %d (%s): image %v, want %v as before", n, st.Message(), got, imageBefore)
				}
				if p := s.operations.lastOf(opNFSRootImageBuild, name); p.GetPhase() != phaseFailed || !strings.Contains(p.GetError(), "timed out") {
					t.Errorf("deadline at check %d: the build's progress %v, want failed, timed out", n, p)
				}
			}
			// Between steps, during the initrd and the kernel copy.
			if stops < 5 {
				t.Errorf("the build stopped at %d points; want every step and the copies", stops)
			}
			got, err := s.GetNFSRootImage(context.Background(), &netbootv1.GetNFSRootImageRequest{Name: name})
			if err != nil || !strings.HasSuffix(got.GetConfig().GetKernel(), "vmlinuz-6.1.0-2-amd64") {
				t.Fatalf("after the build completed: %v, %v", got, err)
			}
			// The replaced kernel and initrd are gone once nothing serves them.
			served := map[string]bool{}
			for _, a := range s.artifacts.List() {
				served[a.SHA256] = true
			}
			if len(blobs()) != len(served) {
				t.Errorf("stored content %v; want only the %d contents served", blobs(), len(served))
			}
		})
	}
}
