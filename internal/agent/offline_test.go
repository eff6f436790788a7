package agent_test

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// An offline agent validates, stores and reports boot servers on the links
// it is given, binds nothing (port 547 would need root) and knows no other
// interface.
func TestOfflineAgentStoresAndReportsWithoutServing(t *testing.T) {
	dir, err := os.MkdirTemp("", "nb") // a unix socket path has at most 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	stop, err := agent.Start(context.Background(), agent.Options{
		StateDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Offline: &agent.Offline{Links: map[string]agent.OfflineLink{"lab0": {
			LinkLocal: netip.MustParseAddr("fe80::1"), Global: []netip.Addr{netip.MustParseAddr("2001:db8:1::1")},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	conn, err := agentclient.Connect(context.Background(), agentclient.Options{StateDir: dir, NoLaunch: true, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()

	bs := labBootServer(&testlab.Lab{ServerIf: "lab0", Prefix: "2001:db8:1::/64"}, "stateful")
	st, err := conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: bs})
	if err != nil {
		t.Fatal(err)
	}
	s := st.GetStatus()
	if s.GetServing() || !strings.HasPrefix(s.GetError(), "offline:") {
		t.Errorf("serving %t, error %q; want not serving, offline", s.GetServing(), s.GetError())
	}
	if s.GetLinkLocalAddress() != "fe80::1" || strings.Join(s.GetGlobalAddresses(), ",") != "2001:db8:1::1" ||
		s.GetBootAddress() != "2001:db8:1::1" || s.GetHttpUrlBase() != "http://[2001:db8:1::1]" {
		t.Errorf("status %v; want the offline link's addresses", s)
	}

	bs.Interface = "eth9"
	_, err = conn.PutBootServer(ctx, &netbootv1.PutBootServerRequest{BootServer: bs})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), `interface "eth9" does not exist on the agent host (it has: [lab0])`) {
		t.Errorf("PutBootServer on eth9: %v; want FailedPrecondition naming the missing interface", err)
	}
	if got, err := conn.GetBootServer(ctx, &netbootv1.GetBootServerRequest{Name: "lab"}); err != nil || got.GetConfig().GetInterface() != "lab0" {
		t.Errorf("after the refused change: %v, %v; want lab0 kept", got.GetConfig(), err)
	}
}
