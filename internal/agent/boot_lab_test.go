package agent_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// putArtifact streams content to the agent in 256 KiB chunks.
func putArtifact(t *testing.T, client netbootv1.AgentClient, header *netbootv1.ArtifactHeader, content []byte) (*netbootv1.Artifact, error) {
	t.Helper()
	stream, err := client.PutArtifact(context.Background())
	if err != nil {
		return nil, err
	}
	if err := stream.Send(&netbootv1.PutArtifactRequest{Part: &netbootv1.PutArtifactRequest_Header{Header: header}}); err != nil {
		return nil, err
	}
	for len(content) > 0 {
		n := min(len(content), 256<<10)
		if err := stream.Send(&netbootv1.PutArtifactRequest{Part: &netbootv1.PutArtifactRequest_Chunk{Chunk: content[:n]}}); err != nil {
			return nil, err
		}
		content = content[n:]
	}
	return stream.CloseAndRecv()
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestAgentChainLoading: what firmware and iPXE do, with third-party clients:
// DHCPv6 gives each client its boot-file URL (dhclient sending arch 7 and
// user class iPXE), tftp-hpa and curl fetch the artifacts the URLs name, and
// the bytes are the ones uploaded.
func TestAgentChainLoading(t *testing.T) {
	testlab.RequireRoot(t, "dhclient", "tftp", "curl")
	lab := testlab.New(t)
	stateDir := t.TempDir()
	lab.StartAgent(t, stateDir)
	conn := connect(t, stateDir)
	ctx := context.Background()

	bs := labBootServer(lab, "stateful")
	state, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: bs})
	if err != nil {
		t.Fatal(err)
	}
	st := state.GetStatus()
	if st.GetBootAddress() != lab.ServerAddr || st.GetTftpUrlBase() != "tftp://["+lab.ServerAddr+"]" || st.GetHttpUrlBase() != "http://["+lab.ServerAddr+"]" {
		t.Fatalf("boot status = %v", st)
	}

	efi := make([]byte, 3<<20+123) // odd size: the last TFTP block is short
	_, _ = rand.Read(efi)
	if a, err := putArtifact(t, conn, &netbootv1.ArtifactHeader{Path: "ipxe.efi", Sha256: sha(efi)}, efi); err != nil || a.GetSize() != uint64(len(efi)) {
		t.Fatalf("upload ipxe.efi: %v %v", a, err)
	}
	script := []byte("#!ipxe\necho hello from the agent\n")
	if _, err := putArtifact(t, conn, &netbootv1.ArtifactHeader{Path: "start.ipxe"}, script); err != nil {
		t.Fatal(err)
	}
	_, err = putArtifact(t, conn, &netbootv1.ArtifactHeader{Path: "bad.efi", Sha256: sha([]byte("other"))}, efi[:10])
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("mismatching sha256: %v, want InvalidArgument", err)
	}

	// Firmware: x64 UEFI asks for option 59 and gets ipxe.efi over TFTP.
	dir := t.TempDir()
	firmware := dhclientBoot(t, lab, dir, "send dhcp6.client-arch-type 7;\n")
	wantTFTP := "tftp://[" + lab.ServerAddr + "]/ipxe.efi"
	if !strings.Contains(firmware, "new_dhcp6_bootfile_url="+wantTFTP) {
		t.Fatalf("arch 7 client did not get %s:\n%s", wantTFTP, firmware)
	}
	got := filepath.Join(dir, "ipxe.efi")
	lab.MustExec(t, lab.ClientNS, "tftp", "-6", lab.ServerAddr, "-m", "binary", "-c", "get", "ipxe.efi", got)
	if b, _ := os.ReadFile(got); !bytes.Equal(b, efi) {
		t.Fatalf("tftp got %d bytes, want the %d uploaded", len(b), len(efi))
	}
	out, err := lab.Exec(ctx, lab.ClientNS, "tftp", "-6", lab.ServerAddr, "-m", "binary", "-c", "get", "../state.db", filepath.Join(dir, "escape"))
	if err == nil && !strings.Contains(out, "Error") {
		t.Fatalf("tftp of ../state.db was not refused: %s", out)
	}

	// iPXE: user class "iPXE" gets its script over HTTP.
	ipxe := dhclientBoot(t, lab, t.TempDir(), "option dhcp6.user-class code 15 = string;\nsend dhcp6.user-class 00:04:69:50:58:45;\n")
	wantHTTP := "http://[" + lab.ServerAddr + "]/start.ipxe"
	if !strings.Contains(ipxe, "new_dhcp6_bootfile_url="+wantHTTP) {
		t.Fatalf("iPXE client did not get %s:\n%s", wantHTTP, ipxe)
	}
	body := lab.MustExec(t, lab.ClientNS, "curl", "-g", "-6", "-sS", "--fail", wantHTTP)
	if body != string(script) {
		t.Fatalf("curl got %q", body)
	}
	partial := lab.MustExec(t, lab.ClientNS, "curl", "-g", "-6", "-sS", "--fail", "-r", "0-6", wantHTTP)
	if partial != "#!ipxe\n" {
		t.Fatalf("Range 0-6 got %q", partial)
	}

	// A changed artifact is served from the next request on, without a restart.
	if _, err := putArtifact(t, conn, &netbootv1.ArtifactHeader{Path: "start.ipxe"}, []byte("#!ipxe\nexit\n")); err != nil {
		t.Fatal(err)
	}
	if body := lab.MustExec(t, lab.ClientNS, "curl", "-g", "-6", "-sS", "--fail", wantHTTP); body != "#!ipxe\nexit\n" {
		t.Fatalf("after update curl got %q", body)
	}
	if _, err := conn.DeleteArtifact(ctx, &netbootv1.DeleteArtifactRequest{Path: "start.ipxe"}); err != nil {
		t.Fatal(err)
	}
	if out, err := lab.Exec(ctx, lab.ClientNS, "curl", "-g", "-6", "-sS", "--fail", "-o", "/dev/null", "-w", "%{http_code}", wantHTTP); err == nil || !strings.Contains(out, "404") {
		t.Fatalf("deleted artifact: %v %s, want 404", err, out)
	}
}

// dhclientBoot asks for option 59 with extra dhclient.conf lines and returns
// the environment dhclient gave its script.
func dhclientBoot(t *testing.T, lab *testlab.Lab, dir, extra string) string {
	t.Helper()
	conf := "option dhcp6.bootfile-url code 59 = string;\n" +
		"option dhcp6.client-arch-type code 61 = unsigned integer 16;\n" +
		"also request dhcp6.bootfile-url;\n" + extra
	if err := os.WriteFile(filepath.Join(dir, "dhclient6.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return dhclientWithConf(t, lab, dir)
}
