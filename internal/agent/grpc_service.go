package agent

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// grpcService serves the Agent API over gRPC. It only translates: each call
// goes to the core, and the core's errors become status codes in statusOf.
type grpcService struct {
	netbootv1.UnimplementedAgentServer
	core *core
}

var _ netbootv1.AgentServer = (*grpcService)(nil)

func newGRPCService(c *core) *grpcService { return &grpcService{core: c} }

// reply returns a core call's answer with its error as a gRPC status.
func reply[T any](v T, err error) (T, error) {
	if err != nil {
		var zero T
		return zero, statusOf(err)
	}
	return v, nil
}

func (g *grpcService) PutBootServer(ctx context.Context, req *netbootv1.PutBootServerRequest) (*netbootv1.BootServerState, error) {
	return reply(g.core.PutBootServer(ctx, req))
}

func (g *grpcService) GetBootServer(ctx context.Context, req *netbootv1.GetBootServerRequest) (*netbootv1.BootServerState, error) {
	return reply(g.core.GetBootServer(ctx, req))
}

func (g *grpcService) ListBootServers(ctx context.Context, req *netbootv1.ListBootServersRequest) (*netbootv1.ListBootServersResponse, error) {
	return reply(g.core.ListBootServers(ctx, req))
}

func (g *grpcService) DeleteBootServer(ctx context.Context, req *netbootv1.DeleteBootServerRequest) (*netbootv1.DeleteBootServerResponse, error) {
	return reply(g.core.DeleteBootServer(ctx, req))
}

func (g *grpcService) ListLeases(ctx context.Context, req *netbootv1.ListLeasesRequest) (*netbootv1.ListLeasesResponse, error) {
	return reply(g.core.ListLeases(ctx, req))
}

func (g *grpcService) GetAgentInfo(ctx context.Context, req *netbootv1.GetAgentInfoRequest) (*netbootv1.AgentInfo, error) {
	return reply(g.core.GetAgentInfo(ctx, req))
}

// PutArtifact reads the header, then hands the core the chunks that follow
// as one stream of content.
func (g *grpcService) PutArtifact(stream grpc.ClientStreamingServer[netbootv1.PutArtifactRequest, netbootv1.Artifact]) error {
	first, err := stream.Recv()
	if err != nil {
		return statusOf(invalidArgumentf("reading artifact header: %v", err))
	}
	a, err := g.core.PutArtifact(stream.Context(), first.GetHeader(), &chunkReader{stream: stream})
	if err != nil {
		return statusOf(err)
	}
	return stream.SendAndClose(a)
}

func (g *grpcService) GetArtifact(ctx context.Context, req *netbootv1.GetArtifactRequest) (*netbootv1.Artifact, error) {
	return reply(g.core.GetArtifact(ctx, req))
}

func (g *grpcService) ListArtifacts(ctx context.Context, req *netbootv1.ListArtifactsRequest) (*netbootv1.ListArtifactsResponse, error) {
	return reply(g.core.ListArtifacts(ctx, req))
}

func (g *grpcService) DeleteArtifact(ctx context.Context, req *netbootv1.DeleteArtifactRequest) (*netbootv1.DeleteArtifactResponse, error) {
	return reply(g.core.DeleteArtifact(ctx, req))
}

func (g *grpcService) PutBootEntry(ctx context.Context, req *netbootv1.PutBootEntryRequest) (*netbootv1.BootEntry, error) {
	return reply(g.core.PutBootEntry(ctx, req))
}

func (g *grpcService) GetBootEntry(ctx context.Context, req *netbootv1.GetBootEntryRequest) (*netbootv1.BootEntry, error) {
	return reply(g.core.GetBootEntry(ctx, req))
}

func (g *grpcService) ListBootEntries(ctx context.Context, req *netbootv1.ListBootEntriesRequest) (*netbootv1.ListBootEntriesResponse, error) {
	return reply(g.core.ListBootEntries(ctx, req))
}

func (g *grpcService) DeleteBootEntry(ctx context.Context, req *netbootv1.DeleteBootEntryRequest) (*netbootv1.DeleteBootEntryResponse, error) {
	return reply(g.core.DeleteBootEntry(ctx, req))
}

func (g *grpcService) PutBootMenu(ctx context.Context, req *netbootv1.PutBootMenuRequest) (*netbootv1.BootMenu, error) {
	return reply(g.core.PutBootMenu(ctx, req))
}

func (g *grpcService) GetBootMenu(ctx context.Context, req *netbootv1.GetBootMenuRequest) (*netbootv1.BootMenu, error) {
	return reply(g.core.GetBootMenu(ctx, req))
}

func (g *grpcService) ListBootMenus(ctx context.Context, req *netbootv1.ListBootMenusRequest) (*netbootv1.ListBootMenusResponse, error) {
	return reply(g.core.ListBootMenus(ctx, req))
}

func (g *grpcService) DeleteBootMenu(ctx context.Context, req *netbootv1.DeleteBootMenuRequest) (*netbootv1.DeleteBootMenuResponse, error) {
	return reply(g.core.DeleteBootMenu(ctx, req))
}

func (g *grpcService) RenderScript(ctx context.Context, req *netbootv1.RenderScriptRequest) (*netbootv1.RenderScriptResponse, error) {
	return reply(g.core.RenderScript(ctx, req))
}

func (g *grpcService) PutNFSRootImage(ctx context.Context, req *netbootv1.PutNFSRootImageRequest) (*netbootv1.NFSRootImageState, error) {
	return reply(g.core.PutNFSRootImage(ctx, req))
}

func (g *grpcService) GetNFSRootImage(ctx context.Context, req *netbootv1.GetNFSRootImageRequest) (*netbootv1.NFSRootImageState, error) {
	return reply(g.core.GetNFSRootImage(ctx, req))
}

func (g *grpcService) ListNFSRootImages(ctx context.Context, req *netbootv1.ListNFSRootImagesRequest) (*netbootv1.ListNFSRootImagesResponse, error) {
	return reply(g.core.ListNFSRootImages(ctx, req))
}

func (g *grpcService) DeleteNFSRootImage(ctx context.Context, req *netbootv1.DeleteNFSRootImageRequest) (*netbootv1.DeleteNFSRootImageResponse, error) {
	return reply(g.core.DeleteNFSRootImage(ctx, req))
}

func (g *grpcService) WatchEvents(req *netbootv1.WatchEventsRequest, stream grpc.ServerStreamingServer[netbootv1.Event]) error {
	return statusOf(g.core.WatchEvents(stream.Context(), req, stream.Send))
}

func (g *grpcService) ListHosts(ctx context.Context, req *netbootv1.ListHostsRequest) (*netbootv1.ListHostsResponse, error) {
	return reply(g.core.ListHosts(ctx, req))
}

func (g *grpcService) ListOperations(ctx context.Context, req *netbootv1.ListOperationsRequest) (*netbootv1.ListOperationsResponse, error) {
	return reply(g.core.ListOperations(ctx, req))
}

func (g *grpcService) ProbeOtherServers(ctx context.Context, req *netbootv1.ProbeOtherServersRequest) (*netbootv1.BootServerState, error) {
	return reply(g.core.ProbeOtherServers(ctx, req))
}

func (g *grpcService) PutMachine(ctx context.Context, req *netbootv1.PutMachineRequest) (*netbootv1.Machine, error) {
	return reply(g.core.PutMachine(ctx, req))
}

func (g *grpcService) GetMachine(ctx context.Context, req *netbootv1.GetMachineRequest) (*netbootv1.Machine, error) {
	return reply(g.core.GetMachine(ctx, req))
}

func (g *grpcService) ListMachines(ctx context.Context, req *netbootv1.ListMachinesRequest) (*netbootv1.ListMachinesResponse, error) {
	return reply(g.core.ListMachines(ctx, req))
}

func (g *grpcService) DeleteMachine(ctx context.Context, req *netbootv1.DeleteMachineRequest) (*netbootv1.DeleteMachineResponse, error) {
	return reply(g.core.DeleteMachine(ctx, req))
}

func (g *grpcService) PutMachineConfig(ctx context.Context, req *netbootv1.PutMachineConfigRequest) (*netbootv1.MachineConfig, error) {
	return reply(g.core.PutMachineConfig(ctx, req))
}

func (g *grpcService) GetMachineConfig(ctx context.Context, req *netbootv1.GetMachineConfigRequest) (*netbootv1.MachineConfig, error) {
	return reply(g.core.GetMachineConfig(ctx, req))
}

func (g *grpcService) ListMachineConfigs(ctx context.Context, req *netbootv1.ListMachineConfigsRequest) (*netbootv1.ListMachineConfigsResponse, error) {
	return reply(g.core.ListMachineConfigs(ctx, req))
}

func (g *grpcService) DeleteMachineConfig(ctx context.Context, req *netbootv1.DeleteMachineConfigRequest) (*netbootv1.DeleteMachineConfigResponse, error) {
	return reply(g.core.DeleteMachineConfig(ctx, req))
}

// chunkReader turns the upload's chunk messages into an io.Reader.
type chunkReader struct {
	stream grpc.ClientStreamingServer[netbootv1.PutArtifactRequest, netbootv1.Artifact]
	buf    []byte
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.buf) == 0 {
		msg, err := c.stream.Recv()
		if err == io.EOF {
			return 0, io.EOF
		}
		if err != nil {
			return 0, err
		}
		if msg.GetHeader() != nil {
			return 0, errors.New("a second header arrived in the middle of the content")
		}
		c.buf = msg.GetChunk()
	}
	n := copy(p, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}
