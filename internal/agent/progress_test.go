package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/artifact"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/paths"
)

// testService serves a service on a unix socket in a temp dir, with a
// short progress interval, and returns a client for it.
func testService(t *testing.T, interval time.Duration) netbootv1.AgentClient {
	t.Helper()
	return testServiceWith(t, interval, artifact.SourceOptions{URLAllow: []string{"*"}}) // test servers are on loopback
}

// testServiceWith is testService with the operator's source rules.
func testServiceWith(t *testing.T, interval time.Duration, rules artifact.SourceOptions) netbootv1.AgentClient {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := newTestService(t, dir, st, rules)
	svc.operations = newOperations(interval)
	return serveTest(t, svc, dir)
}

// newTestService is a core over st with the operator's source rules,
// logging only to its event ring.
func newTestService(t *testing.T, dir string, st *store.Store, rules artifact.SourceOptions) *core {
	t.Helper()
	rules.Private = append(rules.Private, artifact.Private{Path: dir, What: "the agent's state directory"})
	sources, err := artifact.NewSources(rules)
	if err != nil {
		t.Fatal(err)
	}
	arts, err := artifact.Open(dir, st, sources)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ring := newEventRing(defaultEventCapacity)
	logger := slog.New(newEventHandler(slog.NewTextHandler(io.Discard, nil), ring))
	return newCore(ctx, st, arts, dir, logger, ring)
}

// serveTest serves svc through the gRPC adapter, healthy, on dir's agent socket, where the agent
// commands find it too, and returns a client for it.
func serveTest(t *testing.T, svc *core, dir string) netbootv1.AgentClient {
	t.Helper()
	l, err := net.Listen("unix", filepath.Join(dir, paths.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	netbootv1.RegisterAgentServer(g, newGRPCService(svc))
	healthSrv := health.NewServer()
	healthSrv.SetServingStatus(netbootv1.Agent_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(g, healthSrv)
	go func() { _ = g.Serve(l) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient("unix://"+l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return netbootv1.NewAgentClient(conn)
}

// throttledServer serves content in 64 KiB pieces, pausing between them,
// with its Content-Length.
func throttledServer(t *testing.T, content []byte, pause time.Duration) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		for rest := content; len(rest) > 0; {
			n := min(len(rest), 64<<10)
			if _, err := w.Write(rest[:n]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			rest = rest[n:]
			time.Sleep(pause)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func putURL(ctx context.Context, c netbootv1.AgentClient, path, url, sum string) (*netbootv1.Artifact, error) {
	stream, err := c.PutArtifact(ctx)
	if err != nil {
		return nil, err
	}
	if err := stream.Send(&netbootv1.PutArtifactRequest{Part: &netbootv1.PutArtifactRequest_Header{
		Header: &netbootv1.ArtifactHeader{Path: path, Url: url, Sha256: sum}}}); err != nil {
		return nil, err
	}
	return stream.CloseAndRecv()
}

func TestArtifactDownloadReportsProgress(t *testing.T) {
	content := bytes.Repeat([]byte("netboot!"), 4<<20/8) // 4 MiB
	digest := sha256.Sum256(content)
	sum := hex.EncodeToString(digest[:])
	srv := throttledServer(t, content, 15*time.Millisecond) // 64 pieces: about 1 s
	client := testService(t, 100*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	watch, err := client.WatchEvents(ctx, &netbootv1.WatchEventsRequest{Follow: true, Kinds: []string{"artifact"}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var events []*netbootv1.Event
	go func() {
		for {
			e, err := watch.Recv()
			if err != nil {
				return
			}
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		}
	}()

	// While it downloads, ListOperations shows where it is.
	seenRunning := make(chan *netbootv1.Progress, 1)
	go func() {
		for ctx.Err() == nil {
			ops, err := client.ListOperations(ctx, &netbootv1.ListOperationsRequest{})
			if err == nil {
				for _, p := range ops.GetOperations() {
					if p.GetPhase() == "downloading" && p.GetDoneBytes() > 0 {
						seenRunning <- p
						return
					}
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()

	art, err := putURL(ctx, client, "big/image.iso", srv.URL+"/image.iso", sum)
	if err != nil {
		t.Fatal(err)
	}
	if art.GetSize() != uint64(len(content)) || art.GetSha256() != sum {
		t.Fatalf("stored %d bytes with sha256 %s", art.GetSize(), art.GetSha256())
	}
	select {
	case p := <-seenRunning:
		if p.GetObject() != "big/image.iso" || p.GetTotalBytes() != uint64(len(content)) {
			t.Errorf("running operation = %v", p)
		}
	case <-time.After(5 * time.Second):
		t.Error("ListOperations never showed the download running")
	}

	got, err := client.GetArtifact(ctx, &netbootv1.GetArtifactRequest{Path: "big/image.iso"})
	if err != nil {
		t.Fatal(err)
	}
	if p := got.GetProgress(); p.GetPhase() != phaseDone || p.GetDoneBytes() != uint64(len(content)) || len(p.GetLog()) != 1 {
		t.Errorf("artifact's last fetch = %v, want done with every byte and one phase line", p)
	}

	// Progress events, in order, with growing counts; then "done".
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(events)
		last := ""
		if n > 0 {
			last = events[n-1].GetMessage()
		}
		mu.Unlock()
		if last == "artifact stored" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	var progress []*netbootv1.Event
	var done bool
	for _, e := range events {
		switch e.GetMessage() {
		case "artifact download progress":
			progress = append(progress, e)
		case "artifact download done":
			done = true
		}
	}
	if len(progress) < 3 || !done {
		t.Fatalf("saw %d progress events and done=%t, want at least 3 and done; events: %v", len(progress), done, events)
	}
	prev := int64(0)
	for _, e := range progress {
		n, _ := strconv.ParseInt(e.GetAttrs()["done_bytes"], 10, 64)
		if n <= prev || e.GetAttrs()["total_bytes"] != strconv.Itoa(len(content)) || e.GetAttrs()["percent"] == "" ||
			!strings.Contains(e.GetAttrs()["message"], "MiB/s") || e.GetAttrs()["path"] != "big/image.iso" {
			t.Errorf("progress event %v after %d bytes", e.GetAttrs(), prev)
		}
		prev = n
	}
}

func TestArtifactDownloadMismatchSaysWhatToDo(t *testing.T) {
	srv := throttledServer(t, []byte("not what you expect"), 0)
	client := testService(t, time.Second)
	ctx := context.Background()
	wrong := strings.Repeat("ab", 32)
	_, err := putURL(ctx, client, "x.efi", srv.URL+"/x.efi", wrong)
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("err = %v, want InvalidArgument", err)
	}
	for _, want := range []string{"the file at " + srv.URL + "/x.efi has sha256 ", "but sha256 is " + wrong, "update sha256", "url"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	ops, err := client.ListOperations(ctx, &netbootv1.ListOperationsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ops.GetOperations()); n != 1 || ops.GetOperations()[0].GetPhase() != phaseFailed || ops.GetOperations()[0].GetError() == "" {
		t.Fatalf("operations = %v, want one failed fetch with its error", ops.GetOperations())
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 3 << 19: "1.5 MiB", 5 << 30: "5.0 GiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
