package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/api/netbootv1"
	"github.com/netbootlab/terraform-provider-netboot/internal/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/testlab"
)

// absentBootServer is a stateful boot server on an interface the host
// lacks: it stays stored but not serving, so its leases are read from the
// store.
func absentBootServer(name string) *netbootv1.BootServer {
	return &netbootv1.BootServer{
		Name: name, Interface: "nbabsent0", Prefix: "2001:db8:1::/64",
		RouterAdvertisement: &netbootv1.RouterAdvertisement{Managed: true, MinIntervalSeconds: 30, MaxIntervalSeconds: 60},
		Dhcpv6: &netbootv1.DHCPv6{
			Mode:                     "stateful",
			Ranges:                   []*netbootv1.AddressRange{{Start: "2001:db8:1::1:0", End: "2001:db8:1::ffff:ffff"}},
			PreferredLifetimeSeconds: 3600, ValidLifetimeSeconds: 7200,
		},
	}
}

// fakeLeases are n leases of n clients from the i-th address of the
// range on, as large as real ones (DUID-LLT, architecture, user class).
func fakeLeases(from, n int, until time.Time) []lease.Lease {
	base := netip.MustParseAddr("2001:db8:1::1:0").As16()
	arch := uint16(7)
	out := make([]lease.Lease, n)
	for i := range out {
		a := base
		v := uint32(from + i)
		w := 1<<16 + v // from 2001:db8:1::1:0 on
		a[12], a[13], a[14], a[15] = byte(w>>24), byte(w>>16), byte(w>>8), byte(w)
		duid := []byte{0, 1, 0, 1, 0x2e, 0x5c, 0x11, 0x22, 0x52, 0x54, byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
		out[i] = lease.Lease{
			Kind: lease.NA, Address: netip.AddrFrom16(a), DUID: duid, IAID: v,
			PreferredUntil: until.Add(-time.Hour), ValidUntil: until, ClientArch: &arch, UserClass: "iPXE",
			HardwareAddr: fmt.Sprintf("52:54:%02x:%02x:%02x:%02x", byte(v>>24), byte(v>>16), byte(v>>8), byte(v)),
		}
	}
	return out
}

// putFakeLeases writes n leases of boot server name straight into st, in
// batches, as a bulk load would.
func putFakeLeases(t *testing.T, st *store.Store, name string, n int) {
	t.Helper()
	until := time.Now().Add(2 * time.Hour)
	const batch = 50000
	for from := 0; from < n; from += batch {
		if err := st.Leases(name).PutLeases(fakeLeases(from, min(batch, n-from), until), nil); err != nil {
			t.Fatal(err)
		}
	}
}

// leaseService serves an agent whose boot server "big", not serving, holds
// n stored leases.
func leaseService(t *testing.T, n int) (netbootv1.AgentClient, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.OpenWith(dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.PutBootServer(absentBootServer("big")); err != nil {
		t.Fatal(err)
	}
	putFakeLeases(t, st, "big", n)
	svc := newTestService(t, dir, st)
	if err := svc.restore(); err != nil {
		t.Fatal(err)
	}
	return serveTest(t, svc, dir), dir
}

// TestListingAMillionLeases: a serving site far past the 40,000 leases that
// fit in gRPC's 4 MiB message lists every lease its DHCPv6 server holds,
// through the real client and `agent leases --json` of the agent binary.
// It lists 100,000 leases; NETBOOT_SCALE=1 lists 1,000,000.
func TestListingAMillionLeases(t *testing.T) {
	testlab.RequireRoot(t)
	n := 100_000
	if os.Getenv("NETBOOT_SCALE") == "1" {
		n = 1_000_000
	}
	lab := testlab.New(t)
	stateDir := t.TempDir()
	start := time.Now()
	st, err := store.OpenWith(stateDir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	putFakeLeases(t, st, "lab", n)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stored %d leases in %s", n, time.Since(start).Round(time.Millisecond))

	lab.StartAgent(t, stateDir)
	conn, err := agentclient.Connect(context.Background(), agentclient.Options{StateDir: stateDir, NoLaunch: true, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	bs := absentBootServer("lab")
	bs.Interface = lab.ServerIf
	start = time.Now()
	state, err := conn.PutBootServer(context.Background(), &netbootv1.PutBootServerRequest{BootServer: bs})
	if err != nil {
		t.Fatal(err)
	}
	if !state.GetStatus().GetServing() || state.GetStatus().GetActiveLeases() != uint64(n) {
		t.Fatalf("boot server status = %v, want serving with %d leases", state.GetStatus(), n)
	}
	t.Logf("the DHCPv6 server loaded them in %s", time.Since(start).Round(time.Millisecond))
	checkListsEveryLease(t, conn, stateDir, n)
}

// TestListingStoredLeases: a boot server that is not serving lists the
// leases in its store, page by page.
func TestListingStoredLeases(t *testing.T) {
	const n = 25000
	client, dir := leaseService(t, n)
	checkListsEveryLease(t, client, dir, n)
}

// checkListsEveryLease lists the agent's leases through client and
// through `agent leases --json` and wants all n, in address order, with
// no error (such as ResourceExhausted).
func checkListsEveryLease(t *testing.T, client netbootv1.AgentClient, stateDir string, n int) {
	t.Helper()
	start := time.Now()
	pages := 0
	count := func(ctx context.Context, req *netbootv1.ListLeasesRequest, opts ...grpc.CallOption) (*netbootv1.ListLeasesResponse, error) {
		pages++
		return client.ListLeases(ctx, req, opts...)
	}
	leases, err := agentclient.All(context.Background(), count, &netbootv1.ListLeasesRequest{}, (*netbootv1.ListLeasesResponse).GetLeases)
	if err != nil {
		t.Fatalf("listing through the client: %v", err)
	}
	t.Logf("client: %d leases in %d pages in %s", len(leases), pages, time.Since(start).Round(time.Millisecond))
	if len(leases) != n {
		t.Fatalf("client listed %d leases, want %d", len(leases), n)
	}
	for i := 1; i < len(leases); i++ {
		if netip.MustParseAddr(leases[i-1].GetAddress()).Compare(netip.MustParseAddr(leases[i].GetAddress())) >= 0 {
			t.Fatalf("leases %d and %d out of order: %s, %s", i-1, i, leases[i-1].GetAddress(), leases[i].GetAddress())
		}
	}

	start = time.Now()
	r, w := io.Pipe()
	var stderr strings.Builder
	code := make(chan int, 1)
	go func() {
		code <- Main([]string{"leases", "--json", "--state-dir", stateDir}, w, &stderr)
		w.Close()
	}()
	got, err := countJSONLeases(r)
	if c := <-code; c != 0 || err != nil {
		t.Fatalf("agent leases --json: exit %d, %v\n%s", c, err, stderr.String())
	}
	t.Logf("agent leases --json: %d leases in %s", got, time.Since(start).Round(time.Millisecond))
	if got != n {
		t.Fatalf("agent leases --json printed %d leases, want %d", got, n)
	}
}

// countJSONLeases reads {"leases": {"leases": [...]}} item by item and
// counts the leases, each with an address.
func countJSONLeases(r io.Reader) (int, error) {
	dec := json.NewDecoder(r)
	for _, want := range []any{json.Delim('{'), "leases", json.Delim('{'), "leases", json.Delim('[')} {
		tok, err := dec.Token()
		if err != nil {
			return 0, err
		}
		if tok != want {
			return 0, fmt.Errorf("got %v, want %v", tok, want)
		}
	}
	n := 0
	for dec.More() {
		var l struct{ Address string }
		if err := dec.Decode(&l); err != nil {
			return n, err
		}
		if l.Address == "" {
			return n, fmt.Errorf("lease %d has no address", n)
		}
		n++
	}
	_, err := io.Copy(io.Discard, r)
	return n, err
}

// TestPageTokenErrors: a page request the agent cannot continue fails with
// InvalidArgument naming the field and saying what to do, never with a
// wrong page.
func TestPageTokenErrors(t *testing.T) {
	client, _ := leaseService(t, 30)
	ctx := context.Background()
	first, err := client.ListLeases(ctx, &netbootv1.ListLeasesRequest{PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.GetLeases()) != 10 || first.GetNextPageToken() == "" {
		t.Fatalf("first page of 10 = %d leases, next_page_token %q", len(first.GetLeases()), first.GetNextPageToken())
	}
	token := first.GetNextPageToken()
	last := []string{"big", addrKey(netip.MustParseAddr(first.GetLeases()[9].GetAddress()))}
	expired := pageToken{List: "leases", After: last, Issued: time.Now().Add(-pageTokenTTL - time.Minute).Unix()}.encode()
	damaged := pageToken{List: "leases", After: []string{"big", "not-hex"}, Issued: time.Now().Unix()}.encode()
	for _, tc := range []struct {
		name, field, reason string
		call                func() error
	}{
		{"not a token", "page_token", "is not a page token this agent issued", func() error {
			_, err := client.ListLeases(ctx, &netbootv1.ListLeasesRequest{PageToken: "not a token"})
			return err
		}},
		{"truncated", "page_token", "is not a page token this agent issued", func() error {
			_, err := client.ListLeases(ctx, &netbootv1.ListLeasesRequest{PageToken: token[:len(token)/2]})
			return err
		}},
		{"damaged key", "page_token", "is not a page token this agent issued", func() error {
			_, err := client.ListLeases(ctx, &netbootv1.ListLeasesRequest{PageToken: damaged})
			return err
		}},
		{"expired", "page_token", "has expired", func() error {
			_, err := client.ListLeases(ctx, &netbootv1.ListLeasesRequest{PageToken: expired})
			return err
		}},
		{"filter changed", "page_token", "keep every field but page_size", func() error {
			_, err := client.ListLeases(ctx, &netbootv1.ListLeasesRequest{BootServer: "big", PageToken: token})
			return err
		}},
		{"another list's token", "page_token", "continues a listing of leases, not of hosts", func() error {
			_, err := client.ListHosts(ctx, &netbootv1.ListHostsRequest{PageToken: token})
			return err
		}},
		{"another list's token, one-part keys", "page_token", "is not a page token this agent issued", func() error {
			_, err := client.ListBootEntries(ctx, &netbootv1.ListBootEntriesRequest{PageToken: token})
			return err
		}},
		{"negative page size", "page_size", "is -1", func() error {
			_, err := client.ListBootServers(ctx, &netbootv1.ListBootServersRequest{PageSize: -1})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), tc.field+": ") || !strings.Contains(st.Message(), tc.reason) {
				t.Fatalf("error = %v, want InvalidArgument saying %s: %s", err, tc.field, tc.reason)
			}
			var fields []string
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, v := range br.GetFieldViolations() {
						fields = append(fields, v.GetField())
					}
				}
			}
			if !slices.Equal(fields, []string{tc.field}) {
				t.Errorf("field violations name %v, want [%s]", fields, tc.field)
			}
		})
	}

	// The real token continues where the first page stopped.
	rest, err := client.ListLeases(ctx, &netbootv1.ListLeasesRequest{PageToken: token})
	if err != nil {
		t.Fatal(err)
	}
	if len(rest.GetLeases()) != 20 || rest.GetNextPageToken() != "" || rest.GetLeases()[0].GetAddress() != "2001:db8:1::1:a" {
		t.Errorf("second page = %d leases from %s, next_page_token %q; want the other 20 from 2001:db8:1::1:a and no token",
			len(rest.GetLeases()), rest.GetLeases()[0].GetAddress(), rest.GetNextPageToken())
	}
}
