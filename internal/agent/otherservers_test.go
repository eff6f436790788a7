package agent

import (
	"context"
	"errors"
	"testing"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

func TestProbeOtherServersErrors(t *testing.T) {
	s := &core{sites: map[string]*site{"lab": {}}}
	for _, tt := range []struct {
		name string
		want error
	}{
		{"absent", errNotFound},
		{"lab", errFailedPrecondition}, // not serving, so not probing
	} {
		_, err := s.ProbeOtherServers(context.Background(), &netbootv1.ProbeOtherServersRequest{BootServer: tt.name})
		if !errors.Is(err, tt.want) {
			t.Errorf("ProbeOtherServers(%q) = %v, want %v", tt.name, err, tt.want)
		}
	}
}
