package agent

import (
	"context"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/artifact"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

func TestStatusOf(t *testing.T) {
	already := status.Error(codes.Aborted, "stream broke")
	for _, tt := range []struct {
		name   string
		err    error
		code   codes.Code
		msg    string
		fields map[string]string
	}{
		{"nil", nil, codes.OK, "", nil},
		{"not found", notFound("boot server %q does not exist on this agent", "x"), codes.NotFound, `boot server "x" does not exist on this agent`, nil},
		{"failed precondition", failedPrecondition("in use"), codes.FailedPrecondition, "in use", nil},
		{"unavailable", unavailable("try again"), codes.Unavailable, "try again", nil},
		{"internal", internalError("disk"), codes.Internal, "disk", nil},
		{"invalid argument, no field", invalidArgumentf("kinds: bad"), codes.InvalidArgument, "kinds: bad", nil},
		{
			"invalid argument with fields",
			invalidArgument("boot server", config.FieldErrors{{Path: []any{"dhcpv6", "ranges", 0, "start"}, Reason: "is required"}}),
			codes.InvalidArgument, "invalid boot server: dhcpv6.ranges[0].start: is required",
			map[string]string{"dhcpv6.ranges[0].start": "is required"},
		},
		{
			"refused",
			refused(`artifact "a"`, &artifact.RefusedError{Field: "url", Value: "http://x", Reason: "not allowed"}),
			codes.PermissionDenied, `artifact "a": url "http://x" is refused: not allowed`,
			map[string]string{"url": `"http://x" is refused by the agent: not allowed`},
		},
		{"wrapped class", fmt.Errorf("outer: %w", notFound("inner")), codes.NotFound, "outer: inner", nil},
		{"deadline", fmt.Errorf("building: %w", context.DeadlineExceeded), codes.DeadlineExceeded, "building: context deadline exceeded", nil},
		{"cancelled", context.Canceled, codes.Canceled, "context canceled", nil},
		{"already a status", already, codes.Aborted, "stream broke", nil},
		{"plain", errors.New("odd"), codes.Unknown, "odd", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := status.Convert(statusOf(tt.err))
			if st.Code() != tt.code || st.Message() != tt.msg {
				t.Errorf("statusOf = %s %q, want %s %q", st.Code(), st.Message(), tt.code, tt.msg)
			}
			got := map[string]string{}
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, v := range br.GetFieldViolations() {
						got[v.GetField()] = v.GetDescription()
					}
				}
			}
			if len(got) != len(tt.fields) {
				t.Fatalf("field violations %v, want %v", got, tt.fields)
			}
			for f, d := range tt.fields {
				if got[f] != d {
					t.Errorf("field %s: %q, want %q", f, got[f], d)
				}
			}
		})
	}
}

// TestStatusCodesOnlyInAdapter keeps gRPC status codes out of the core:
// only the adapter's files (grpc_*.go) may import codes or status, so the
// rules never depend on the transport.
func TestStatusCodesOnlyInAdapter(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || strings.HasPrefix(f, "grpc_") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range file.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if path == "google.golang.org/grpc/codes" || path == "google.golang.org/grpc/status" {
				t.Errorf("%s imports %s: return the core's errors (errors.go) and let statusOf (grpc_status.go) map them", f, path)
			}
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("checked only %d files; is the test running in the package directory?", checked)
	}
}
