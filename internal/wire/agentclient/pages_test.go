package agentclient

import (
	"context"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// fakeLeasePages answers ListLeases from pages keyed by page_token,
// recording the requests.
type fakeLeasePages struct {
	pages map[string]*netbootv1.ListLeasesResponse
	reqs  []*netbootv1.ListLeasesRequest
}

func (f *fakeLeasePages) list(_ context.Context, req *netbootv1.ListLeasesRequest, _ ...grpc.CallOption) (*netbootv1.ListLeasesResponse, error) {
	f.reqs = append(f.reqs, req)
	return f.pages[req.GetPageToken()], nil
}

func page(token string, addrs ...string) *netbootv1.ListLeasesResponse {
	resp := &netbootv1.ListLeasesResponse{NextPageToken: token}
	for _, a := range addrs {
		resp.Leases = append(resp.Leases, &netbootv1.Lease{Address: a})
	}
	return resp
}

func addrs(leases []*netbootv1.Lease) []string {
	var out []string
	for _, l := range leases {
		out = append(out, l.GetAddress())
	}
	return out
}

func TestAllReadsEveryPageWithTheSameRequest(t *testing.T) {
	f := &fakeLeasePages{pages: map[string]*netbootv1.ListLeasesResponse{
		"":   page("t1", "::1", "::2"),
		"t1": page("t2"), // an empty page is not the end
		"t2": page("", "::3"),
	}}
	req := &netbootv1.ListLeasesRequest{BootServer: "lab", PageSize: 2}
	got, err := All(context.Background(), f.list, req, (*netbootv1.ListLeasesResponse).GetLeases)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"::1", "::2", "::3"}; !slices.Equal(addrs(got), want) {
		t.Errorf("All = %v, want %v", addrs(got), want)
	}
	var tokens []string
	for _, r := range f.reqs {
		tokens = append(tokens, r.GetPageToken())
		if r.GetBootServer() != "lab" || r.GetPageSize() != 2 {
			t.Errorf("page request %v lost the request's other fields", r)
		}
	}
	if want := []string{"", "t1", "t2"}; !slices.Equal(tokens, want) {
		t.Errorf("page tokens sent = %q, want %q", tokens, want)
	}
	if req.GetPageToken() != "" {
		t.Errorf("the caller's request was changed: %v", req)
	}
}

func TestAllRefusesAListingThatDoesNotAdvance(t *testing.T) {
	f := &fakeLeasePages{pages: map[string]*netbootv1.ListLeasesResponse{
		"":   page("t1", "::1"),
		"t1": page("t2", "::2"),
		"t2": page("t1", "::3"),
	}}
	_, err := All(context.Background(), f.list, &netbootv1.ListLeasesRequest{}, (*netbootv1.ListLeasesResponse).GetLeases)
	if err == nil || !strings.Contains(err.Error(), "same next_page_token twice") {
		t.Fatalf("err = %v, want the repeated token named", err)
	}
}

func TestPagesNeedsAPagedRequest(t *testing.T) {
	call := func(context.Context, *netbootv1.GetAgentInfoRequest, ...grpc.CallOption) (*netbootv1.ListLeasesResponse, error) {
		t.Fatal("called an RPC that cannot page")
		return nil, nil
	}
	_, err := All(context.Background(), call, &netbootv1.GetAgentInfoRequest{}, (*netbootv1.ListLeasesResponse).GetLeases)
	if err == nil || !strings.Contains(err.Error(), "GetAgentInfoRequest has no page_token") {
		t.Fatalf("err = %v, want the request named", err)
	}
}

func TestPagesStopsWhenTheCallerDoes(t *testing.T) {
	f := &fakeLeasePages{pages: map[string]*netbootv1.ListLeasesResponse{"": page("t1", "::1", "::2"), "t1": page("", "::3")}}
	for range Pages(context.Background(), f.list, &netbootv1.ListLeasesRequest{}, (*netbootv1.ListLeasesResponse).GetLeases) {
		break
	}
	if len(f.reqs) != 1 {
		t.Errorf("%d pages fetched after the caller stopped at the first item, want 1", len(f.reqs))
	}
}
