package agentclient

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// PageTimeout bounds the wait for each page of a listing, so a long
// listing is never cut off by one deadline for the whole of it while an
// agent that stopped answering still is.
const PageTimeout = 30 * time.Second

// listResponse is what every List response carries.
type listResponse interface {
	proto.Message
	GetNextPageToken() string
}

// Pages yields every item of a List RPC, fetching page after page: call is
// the RPC (conn.ListLeases), req its request (its page_token is set for each
// page on a copy; page_size is kept) and items the response's list
// ((*netbootv1.ListLeasesResponse).GetLeases). It stops at the first
// error, which it yields last.
func Pages[Req proto.Message, Resp listResponse, T any](ctx context.Context, call func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req, items func(Resp) []T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		fail := func(err error) { yield(zero, err) }
		field := req.ProtoReflect().Descriptor().Fields().ByName("page_token")
		if field == nil || field.Kind() != protoreflect.StringKind {
			fail(fmt.Errorf("%s has no page_token: it is not a paged list request", req.ProtoReflect().Descriptor().FullName()))
			return
		}
		seen := map[string]bool{}
		token := ""
		for {
			page := proto.Clone(req).(Req)
			page.ProtoReflect().Set(field, protoreflect.ValueOfString(token))
			pctx, cancel := context.WithTimeout(ctx, PageTimeout)
			resp, err := call(pctx, page)
			cancel()
			if err != nil {
				fail(err)
				return
			}
			for _, item := range items(resp) {
				if !yield(item, nil) {
					return
				}
			}
			token = resp.GetNextPageToken()
			if token == "" {
				return
			}
			if seen[token] {
				fail(errors.New("the agent returned the same next_page_token twice; its listing does not advance"))
				return
			}
			seen[token] = true
		}
	}
}

// All returns every item of a List RPC, reading all its pages (see Pages).
func All[Req proto.Message, Resp listResponse, T any](ctx context.Context, call func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req, items func(Resp) []T) ([]T, error) {
	var out []T
	for item, err := range Pages(ctx, call, req, items) {
		if err != nil {
			return nil, err
		}
		out = append(out, item)
	}
	return out, nil
}
