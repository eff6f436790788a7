package agent

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

func TestProbeOtherServersErrors(t *testing.T) {
	s := &service{sites: map[string]*site{"lab": {}}}
	for _, tt := range []struct {
		name string
		want codes.Code
	}{
		{"absent", codes.NotFound},
		{"lab", codes.FailedPrecondition}, // not serving, so not probing
	} {
		_, err := s.ProbeOtherServers(context.Background(), &netbootv1.ProbeOtherServersRequest{BootServer: tt.name})
		if status.Code(err) != tt.want {
			t.Errorf("ProbeOtherServers(%q) = %v, want %s", tt.name, err, tt.want)
		}
	}
}
