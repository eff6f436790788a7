package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/artifact"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// A client may publish only what the agent's operator allows; a refusal
// is PermissionDenied naming the attribute and the rule.
func TestPublishingIsLimitedToWhatTheOperatorAllows(t *testing.T) {
	allowed := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(allowed, "ipxe.efi"), []byte("efi"), 0o644))
	must(os.WriteFile(filepath.Join(allowed, "vmlinuz-6.1.0-test"), []byte("kernel"), 0o644))
	must(os.Symlink("/etc/passwd", filepath.Join(allowed, "passwd")))
	client := testServiceWith(t, time.Second, artifact.SourceOptions{FileDirs: []string{allowed}, RootDirs: []string{allowed}})

	if _, err := putHeader(client, &netbootv1.ArtifactHeader{Path: "ipxe.efi", AgentPath: filepath.Join(allowed, "ipxe.efi")}); err != nil {
		t.Fatalf("allowed agent_path: %v", err)
	}
	image := func(rootDir, kernel string) error {
		_, err := client.PutNFSRootImage(context.Background(), &netbootv1.PutNFSRootImageRequest{Image: &netbootv1.NFSRootImage{
			Name: "debian", BootServer: "lab", RootDir: rootDir, Hostname: "nfsroot", Kernel: kernel}})
		return err
	}
	tests := []struct {
		name, field, rule string
		call              func() error
	}{
		{"agent_path /etc/shadow", "agent_path", `artifact "leak/shadow": agent_path "/etc/shadow" is refused: the agent never publishes files under /etc`, func() error {
			_, err := putHeader(client, &netbootv1.ArtifactHeader{Path: "leak/shadow", AgentPath: "/etc/shadow"})
			return err
		}},
		{"agent_path /proc/self/environ", "agent_path", "never publishes files under /proc", func() error {
			_, err := putHeader(client, &netbootv1.ArtifactHeader{Path: "leak/environ", AgentPath: "/proc/self/environ"})
			return err
		}},
		{"a link out of an allowed directory", "agent_path", `resolves to "/etc/passwd"`, func() error {
			_, err := putHeader(client, &netbootv1.ArtifactHeader{Path: "leak/passwd", AgentPath: filepath.Join(allowed, "passwd")})
			return err
		}},
		{"agent_path outside the allowed directories", "agent_path", "outside the directories this agent publishes from (--artifact-path: " + allowed, func() error {
			_, err := putHeader(client, &netbootv1.ArtifactHeader{Path: "x", AgentPath: "/usr/bin/env"})
			return err
		}},
		{"url on a link-local address", "url", "is a link-local address", func() error {
			_, err := putHeader(client, &netbootv1.ArtifactHeader{Path: "meta", Url: "http://169.254.169.254/latest/meta-data/"})
			return err
		}},
		{"root_dir /", "root_dir", `NFS root image "debian": root_dir "/" is refused: the agent never publishes files under /etc`, func() error {
			return image("/", filepath.Join(allowed, "vmlinuz-6.1.0-test"))
		}},
		{"kernel outside", "kernel", `kernel "/etc/vmlinuz-6.1.0-x" is refused`, func() error {
			return image(allowed, "/etc/vmlinuz-6.1.0-x")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := status.Convert(tt.call())
			if st.Code() != codes.PermissionDenied || !strings.Contains(st.Message(), tt.rule) {
				t.Fatalf("got %v: %s, want PermissionDenied saying %q", st.Code(), st.Message(), tt.rule)
			}
			var fields []string
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, fv := range br.GetFieldViolations() {
						fields = append(fields, fv.GetField())
					}
				}
			}
			if len(fields) != 1 || fields[0] != tt.field {
				t.Errorf("the refusal names fields %v, want [%s]", fields, tt.field)
			}
		})
	}
	list, err := client.ListArtifacts(context.Background(), &netbootv1.ListArtifactsRequest{})
	must(err)
	if len(list.GetArtifacts()) != 1 {
		t.Errorf("the agent holds %d artifacts, want only ipxe.efi", len(list.GetArtifacts()))
	}
}

// putHeader sends an artifact header alone: agent_path and url need no content.
func putHeader(c netbootv1.AgentClient, h *netbootv1.ArtifactHeader) (*netbootv1.Artifact, error) {
	stream, err := c.PutArtifact(context.Background())
	if err != nil {
		return nil, err
	}
	if err := stream.Send(&netbootv1.PutArtifactRequest{Part: &netbootv1.PutArtifactRequest_Header{Header: h}}); err != nil {
		return nil, err
	}
	return stream.CloseAndRecv()
}
