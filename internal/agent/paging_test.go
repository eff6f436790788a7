package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/artifact"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/lab/testlab"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
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
// n stored leases; it returns the store too, to change them behind the
// agent's back.
func leaseService(t *testing.T, n int) (netbootv1.AgentClient, string, *store.Store) {
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
	svc := newTestService(t, dir, st, artifact.SourceOptions{})
	if err := svc.restore(); err != nil {
		t.Fatal(err)
	}
	return serveTest(t, svc, dir), dir, st
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

	// Each lease is its own client: as many hosts, by DUID. A page of hosts
	// costs a pass over every lease, so of a million only the first pages.
	wantHosts := n
	if n > 100_000 {
		wantHosts = 3 * maxPageSize
	}
	start = time.Now()
	var hosts []*netbootv1.Host
	for h, err := range agentclient.Pages(context.Background(), conn.ListHosts, &netbootv1.ListHostsRequest{}, (*netbootv1.ListHostsResponse).GetHosts) {
		if err != nil {
			t.Fatalf("listing hosts: %v", err)
		}
		if hosts = append(hosts, h); len(hosts) == wantHosts {
			break
		}
	}
	t.Logf("client: %d hosts in %s", len(hosts), time.Since(start).Round(time.Millisecond))
	byDUID := func(a, b *netbootv1.Host) int { return strings.Compare(a.GetClientDuid(), b.GetClientDuid()) }
	if len(hosts) != wantHosts || !slices.IsSortedFunc(hosts, byDUID) {
		t.Errorf("listed %d hosts (sorted by DUID: %t), want %d", len(hosts), slices.IsSortedFunc(hosts, byDUID), wantHosts)
	}
}

// TestListingStoredLeases: a boot server that is not serving lists the
// leases in its store, page by page.
func TestListingStoredLeases(t *testing.T) {
	const n = 25000
	client, dir, _ := leaseService(t, n)
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
	var stderr strings.Builder
	cli := exec.Command(testlab.Binary(t), "agent", "leases", "--json", "--state-dir", stateDir)
	cli.Stderr = &stderr
	r, err := cli.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Start(); err != nil {
		t.Fatal(err)
	}
	got, err := countJSONLeases(r)
	if werr := cli.Wait(); werr != nil || err != nil {
		t.Fatalf("agent leases --json: %v, %v\n%s", werr, err, stderr.String())
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
	client, _, _ := leaseService(t, 30)
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

// TestListingContinuesAfterTheLastItemSeen: leases added or removed while
// a client pages never make it skip or repeat one; a lease added before
// its place in the listing is not shown.
func TestListingContinuesAfterTheLastItemSeen(t *testing.T) {
	client, _, st := leaseService(t, 30)
	ctx := context.Background()
	all := fakeLeases(0, 100, time.Now().Add(2*time.Hour))
	if err := st.Leases("big").PutLeases(nil, []netip.Addr{all[3].Address}); err != nil {
		t.Fatal(err)
	}
	first, err := client.ListLeases(ctx, &netbootv1.ListLeasesRequest{PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	// Behind the cursor: lease 3 comes back, lease 5 goes. Ahead: lease 20
	// goes, lease 50 comes.
	if err := st.Leases("big").PutLeases([]lease.Lease{all[3], all[50]}, []netip.Addr{all[5].Address, all[20].Address}); err != nil {
		t.Fatal(err)
	}
	got := addresses(first.GetLeases())
	for token := first.GetNextPageToken(); token != ""; {
		page, err := client.ListLeases(ctx, &netbootv1.ListLeasesRequest{PageSize: 10, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, addresses(page.GetLeases())...)
		token = page.GetNextPageToken()
	}
	var want []string
	for i, l := range all {
		if i < 11 && i != 3 || i >= 11 && i < 30 && i != 20 || i == 50 {
			want = append(want, l.Address.String())
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("listed %v\nwant %v", got, want)
	}
}

func addresses(leases []*netbootv1.Lease) []string {
	var out []string
	for _, l := range leases {
		out = append(out, l.GetAddress())
	}
	return out
}

// TestPagesStayUnderTheMessageLimit: leases as large as a client can make
// them (a long user class) split into pages by size, where one response
// would pass gRPC's 4 MiB limit.
func TestPagesStayUnderTheMessageLimit(t *testing.T) {
	client, _, st := leaseService(t, 0)
	leases := fakeLeases(0, 40, time.Now().Add(2*time.Hour))
	for i := range leases {
		leases[i].UserClass = strings.Repeat("u", 200<<10)
	}
	if err := st.Leases("big").PutLeases(leases, nil); err != nil {
		t.Fatal(err)
	}
	pages := 0
	for l, err := range agentclient.Pages(context.Background(), func(ctx context.Context, req *netbootv1.ListLeasesRequest, opts ...grpc.CallOption) (*netbootv1.ListLeasesResponse, error) {
		resp, err := client.ListLeases(ctx, req, opts...)
		if size := proto.Size(resp); size > maxPageBytes+4096 {
			t.Errorf("page %d is %d bytes, more than %d", pages, size, maxPageBytes)
		}
		pages++
		return resp, err
	}, &netbootv1.ListLeasesRequest{BootServer: "big"}, (*netbootv1.ListLeasesResponse).GetLeases) {
		if err != nil {
			t.Fatal(err)
		}
		if len(l.GetUserClass()) != 200<<10 {
			t.Fatalf("lease %s lost its user class", l.GetAddress())
		}
	}
	if pages < 8 {
		t.Errorf("8 MiB of leases came in %d pages", pages)
	}
}

// TestEveryListPages: each List RPC, read one item a page, returns what
// one default page holds, in the same order, and ends with an empty
// next_page_token.
func TestEveryListPages(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, name := range []string{"big", "b2", "b3"} {
		if err := st.PutBootServer(absentBootServer(name)); err != nil {
			t.Fatal(err)
		}
	}
	putFakeLeases(t, st, "big", 5)
	if err := st.Leases("b3").PutLeases(fakeLeases(10, 2, time.Now().Add(time.Hour)), nil); err != nil {
		t.Fatal(err)
	}
	svc := newTestService(t, dir, st, artifact.SourceOptions{})
	if err := svc.restore(); err != nil {
		t.Fatal(err)
	}
	client := serveTest(t, svc, dir)
	ctx := context.Background()
	for _, name := range []string{"e1", "e2", "e3"} {
		if _, err := client.PutBootEntry(ctx, &netbootv1.PutBootEntryRequest{Entry: &netbootv1.BootEntry{Name: name, Kind: "exit"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.PutBootMenu(ctx, &netbootv1.PutBootMenuRequest{Menu: &netbootv1.BootMenu{Name: "m" + name, Items: []*netbootv1.MenuItem{{Entry: name}}}}); err != nil {
			t.Fatal(err)
		}
		stream, err := client.PutArtifact(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.Send(&netbootv1.PutArtifactRequest{Part: &netbootv1.PutArtifactRequest_Header{Header: &netbootv1.ArtifactHeader{Path: name + ".efi"}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := stream.CloseAndRecv(); err != nil {
			t.Fatal(err)
		}
		svc.mu.Lock()
		svc.images[name] = &netbootv1.NFSRootImageState{Config: &netbootv1.NFSRootImage{Name: name}}
		svc.mu.Unlock()
		svc.operations.start(opArtifactFetch, name, "artifact download", svc.logger).finish(nil)
	}

	checkPages(t, "boot servers", client.ListBootServers, func(size int32) *netbootv1.ListBootServersRequest {
		return &netbootv1.ListBootServersRequest{PageSize: size}
	}, (*netbootv1.ListBootServersResponse).GetBootServers, 3)
	checkPages(t, "leases", client.ListLeases, func(size int32) *netbootv1.ListLeasesRequest {
		return &netbootv1.ListLeasesRequest{PageSize: size}
	}, (*netbootv1.ListLeasesResponse).GetLeases, 7)
	checkPages(t, "leases of b3", client.ListLeases, func(size int32) *netbootv1.ListLeasesRequest {
		return &netbootv1.ListLeasesRequest{PageSize: size, BootServer: "b3"}
	}, (*netbootv1.ListLeasesResponse).GetLeases, 2)
	checkPages(t, "hosts", client.ListHosts, func(size int32) *netbootv1.ListHostsRequest {
		return &netbootv1.ListHostsRequest{PageSize: size}
	}, (*netbootv1.ListHostsResponse).GetHosts, 7)
	checkPages(t, "boot entries", client.ListBootEntries, func(size int32) *netbootv1.ListBootEntriesRequest {
		return &netbootv1.ListBootEntriesRequest{PageSize: size}
	}, (*netbootv1.ListBootEntriesResponse).GetEntries, 3)
	checkPages(t, "boot menus", client.ListBootMenus, func(size int32) *netbootv1.ListBootMenusRequest {
		return &netbootv1.ListBootMenusRequest{PageSize: size}
	}, (*netbootv1.ListBootMenusResponse).GetMenus, 3)
	checkPages(t, "artifacts", client.ListArtifacts, func(size int32) *netbootv1.ListArtifactsRequest {
		return &netbootv1.ListArtifactsRequest{PageSize: size}
	}, (*netbootv1.ListArtifactsResponse).GetArtifacts, 3)
	checkPages(t, "NFS root images", client.ListNFSRootImages, func(size int32) *netbootv1.ListNFSRootImagesRequest {
		return &netbootv1.ListNFSRootImagesRequest{PageSize: size}
	}, (*netbootv1.ListNFSRootImagesResponse).GetImages, 3)
	checkPages(t, "operations", client.ListOperations, func(size int32) *netbootv1.ListOperationsRequest {
		return &netbootv1.ListOperationsRequest{PageSize: size}
	}, (*netbootv1.ListOperationsResponse).GetOperations, 3)
}

type listResponse interface {
	proto.Message
	GetNextPageToken() string
}

// checkPages lists one item a page and wants the want items one default
// page holds, in its order.
func checkPages[Req proto.Message, Resp listResponse, T proto.Message](t *testing.T, name string, call func(context.Context, Req, ...grpc.CallOption) (Resp, error),
	req func(size int32) Req, items func(Resp) []T, want int) {
	t.Helper()
	ctx := context.Background()
	whole, err := call(ctx, req(0))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(items(whole)) != want || whole.GetNextPageToken() != "" {
		t.Fatalf("%s: one page holds %d items and next_page_token %q, want %d and none", name, len(items(whole)), whole.GetNextPageToken(), want)
	}
	pages := 0
	paged, err := agentclient.All(ctx, func(ctx context.Context, r Req, opts ...grpc.CallOption) (Resp, error) {
		pages++
		resp, err := call(ctx, r, opts...)
		if err == nil && len(items(resp)) != 1 {
			t.Errorf("%s: page %d holds %d items, want 1", name, pages, len(items(resp)))
		}
		return resp, err
	}, req(1), items)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if pages != want {
		t.Errorf("%s: %d pages, want %d", name, pages, want)
	}
	for i := range min(len(paged), want) {
		if !proto.Equal(paged[i], items(whole)[i]) {
			t.Errorf("%s: item %d = %v, want %v", name, i, paged[i], items(whole)[i])
		}
	}
}
