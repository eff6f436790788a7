package provider

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
)

// countingReads is a batchedReads over a map standing for the agent's
// objects, counting the RPCs it makes.
func countingReads(objects map[string]string) (*batchedReads[string], *int, *int) {
	gets, lists := new(int), new(int)
	b := &batchedReads[string]{
		get: func(_ context.Context, _ *agentclient.Conn, key string) (string, error) {
			*gets++
			v, ok := objects[key]
			if !ok {
				return "", status.Error(codes.NotFound, "no such object")
			}
			return v, nil
		},
		list: func(context.Context, *agentclient.Conn) ([]string, error) {
			*lists++
			var all []string
			for _, v := range objects {
				all = append(all, v)
			}
			return all, nil
		},
		key: func(v string) string { return v },
	}
	return b, gets, lists
}

func TestBatchedReadsListOnceForManyReads(t *testing.T) {
	objects := map[string]string{}
	for i := range 100 {
		k := fmt.Sprintf("entry-%03d", i)
		objects[k] = k
	}
	b, gets, lists := countingReads(objects)
	agent := &agentclient.Conn{}
	ctx := context.Background()
	for k := range objects {
		v, err := b.read(ctx, agent, k)
		if err != nil || v != k {
			t.Fatalf("read(%q) = %q, %v", k, v, err)
		}
	}
	if *gets != readsBeforeList || *lists != 1 {
		t.Errorf("100 reads made %d Gets and %d Lists, want %d and 1", *gets, *lists, readsBeforeList)
	}

	// An object the List did not see is read with a Get, whose NotFound is
	// the agent's own answer.
	objects["entry-new"] = "entry-new"
	if v, err := b.read(ctx, agent, "entry-new"); err != nil || v != "entry-new" {
		t.Errorf("read of an object created after the List = %q, %v", v, err)
	}
	if _, err := b.read(ctx, agent, "gone"); status.Code(err) != codes.NotFound {
		t.Errorf("read of a missing object: %v, want NotFound from a Get", err)
	}

	// After this process changes an object, reads start again with Gets.
	b.forget(agent)
	*gets, *lists = 0, 0
	if _, err := b.read(ctx, agent, "entry-001"); err != nil {
		t.Fatal(err)
	}
	if *gets != 1 || *lists != 0 {
		t.Errorf("first read after forget made %d Gets and %d Lists, want 1 and 0", *gets, *lists)
	}

	// Another connection (another provider configuration) has its own count.
	other := &agentclient.Conn{}
	*gets = 0
	if _, err := b.read(ctx, other, "entry-002"); err != nil {
		t.Fatal(err)
	}
	if *gets != 1 {
		t.Errorf("first read on another connection made %d Gets, want 1", *gets)
	}
}

func TestBatchedReadsFailedListFallsBackToGet(t *testing.T) {
	b, gets, lists := countingReads(map[string]string{"a": "a"})
	failing := true
	list := b.list
	b.list = func(ctx context.Context, agent *agentclient.Conn) ([]string, error) {
		if failing {
			*lists++
			return nil, status.Error(codes.Unavailable, "agent restarting")
		}
		return list(ctx, agent)
	}
	clock := time.Unix(1_000_000, 0)
	b.now = func() time.Time { return clock }
	agent := &agentclient.Conn{}
	readAll := func(n int) {
		t.Helper()
		for range n {
			if v, err := b.read(context.Background(), agent, "a"); err != nil || v != "a" {
				t.Fatalf("read = %q, %v", v, err)
			}
		}
	}
	readAll(readsBeforeList + 20)
	if *gets != readsBeforeList+20 || *lists != 1 {
		t.Errorf("made %d Gets and %d Lists, want one Get per read and one List while the List fails", *gets, *lists)
	}

	// Once the failure is older than listFreshFor, the List is tried again.
	clock = clock.Add(listFreshFor + time.Second)
	failing = false
	*gets, *lists = 0, 0
	readAll(5)
	if *gets != 0 || *lists != 1 {
		t.Errorf("after the window: %d Gets and %d Lists, want 0 and 1", *gets, *lists)
	}
}
