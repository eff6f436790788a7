package agentclient

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// logCalls records every RPC to the agent in Terraform's log (TF_LOG=debug
// shows them): the method, how long it took and its status. Outside a
// provider call the context carries no logger and nothing is written.
func logCalls() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			start := time.Now()
			err := invoker(ctx, method, req, reply, cc, opts...)
			logCall(ctx, method, start, err)
			return err
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			start := time.Now()
			s, err := streamer(ctx, desc, cc, method, opts...)
			logCall(ctx, method+" (stream opened)", start, err)
			return s, err
		}),
	}
}

func logCall(ctx context.Context, method string, start time.Time, err error) {
	fields := map[string]any{
		"rpc":         method,
		"duration_ms": time.Since(start).Milliseconds(),
		"code":        status.Code(err).String(),
	}
	if err != nil {
		fields["error"] = status.Convert(err).Message()
	}
	tflog.Debug(ctx, "netboot agent call", fields)
}
