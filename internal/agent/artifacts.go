package agent

import (
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/artifact"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// PutArtifact receives a header and, for uploads, the content in chunks.
func (s *service) PutArtifact(stream grpc.ClientStreamingServer[netbootv1.PutArtifactRequest, netbootv1.Artifact]) error {
	first, err := stream.Recv()
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "reading artifact header: %v", err)
	}
	h := first.GetHeader()
	if h == nil {
		return status.Error(codes.InvalidArgument, "the first message must be the artifact header (path, sha256, agent_path or url)")
	}
	if _, err := artifact.CleanPath(h.GetPath()); err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	if h.GetAgentPath() != "" && h.GetUrl() != "" {
		return status.Error(codes.InvalidArgument, "set either agent_path or url, not both")
	}
	var rec artifact.Record
	switch {
	case h.GetAgentPath() != "":
		rec, err = s.artifacts.PutFromFile(h.GetPath(), h.GetSha256(), "agent_path", h.GetAgentPath())
	case h.GetUrl() != "":
		rec, err = s.fetchArtifact(stream.Context(), h)
	default:
		rec, err = s.artifacts.Put(h.GetPath(), h.GetSha256(), "upload", &chunkReader{stream: stream})
	}
	var (
		mismatch *artifact.ChecksumError
		refused  *artifact.RefusedError
	)
	switch {
	case errors.As(err, &refused):
		return refusedStatus(fmt.Sprintf("artifact %q", h.GetPath()), refused)
	case errors.As(err, &mismatch):
		return status.Error(codes.InvalidArgument, checksumMessage(h, mismatch))
	case err != nil:
		return status.Errorf(codes.FailedPrecondition, "storing artifact %q: %v", h.GetPath(), err)
	}
	s.logger.Info("artifact stored", eventkind.Artifact.Attr(), "path", rec.Path, "sha256", rec.SHA256, "size", rec.Size, "source", rec.Source)
	return stream.SendAndClose(artifactToProto(rec))
}

// fetchArtifact downloads h.url, logging its progress and keeping it for
// ListOperations and the artifact's progress.
func (s *service) fetchArtifact(ctx context.Context, h *netbootv1.ArtifactHeader) (artifact.Record, error) {
	op := s.operations.start(opArtifactFetch, h.GetPath(), "artifact download", s.logger.With(eventkind.Artifact.Attr(), "path", h.GetPath(), "url", h.GetUrl()))
	op.phase("downloading")
	rec, err := s.artifacts.PutFromURL(ctx, h.GetPath(), h.GetSha256(), h.GetUrl(), op.bytes)
	op.finish(err)
	return rec, err
}

// refusedStatus is PermissionDenied naming the attribute the agent's
// operator does not allow, so the provider shows it against that attribute.
func refusedStatus(object string, e *artifact.RefusedError) error {
	st := status.New(codes.PermissionDenied, object+": "+e.Error())
	br := &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
		{Field: e.Field, Description: fmt.Sprintf("%q is refused by the agent: %s", e.Value, e.Reason)},
	}}
	if withDetails, err := st.WithDetails(br); err == nil {
		st = withDetails
	}
	return st.Err()
}

// checksumMessage says which content did not match sha256 and what to do.
func checksumMessage(h *netbootv1.ArtifactHeader, e *artifact.ChecksumError) string {
	var what, fix string
	switch {
	case h.GetUrl() != "":
		what, fix = "the file at "+h.GetUrl(), "update sha256 if the file changed on purpose, or correct the url"
	case h.GetAgentPath() != "":
		what, fix = "the file "+h.GetAgentPath()+" on the agent host", "update sha256 to the file's digest, or correct agent_path"
	default:
		what, fix = "the uploaded content", "update sha256 to the content's digest"
	}
	return fmt.Sprintf("%v: %s has sha256 %s, but sha256 is %s; %s. Artifact %q keeps its previous content",
		artifact.ErrChecksumMismatch, what, e.Got, e.Want, fix, e.Path)
}

func (s *service) GetArtifact(_ context.Context, req *netbootv1.GetArtifactRequest) (*netbootv1.Artifact, error) {
	rec, ok := s.artifacts.Get(req.GetPath())
	if !ok {
		return nil, status.Errorf(codes.NotFound, "artifact %q does not exist on this agent", req.GetPath())
	}
	return s.artifactState(rec), nil
}

func (s *service) ListArtifacts(_ context.Context, req *netbootv1.ListArtifactsRequest) (*netbootv1.ListArtifactsResponse, error) {
	records := s.artifacts.List()
	byPath := make(map[string]artifact.Record, len(records))
	paths := make([]string, len(records))
	for i, rec := range records {
		byPath[rec.Path], paths[i] = rec, rec.Path
	}
	arts, next, err := pageByName("artifacts", req, paths, func(p string) *netbootv1.Artifact { return s.artifactState(byPath[p]) })
	if err != nil {
		return nil, err
	}
	return &netbootv1.ListArtifactsResponse{Artifacts: arts, NextPageToken: next}, nil
}

// artifactState is the stored artifact with the agent's last fetch of it.
func (s *service) artifactState(rec artifact.Record) *netbootv1.Artifact {
	pb := artifactToProto(rec)
	pb.Progress = s.operations.lastOf(opArtifactFetch, rec.Path)
	return pb
}

func (s *service) DeleteArtifact(_ context.Context, req *netbootv1.DeleteArtifactRequest) (*netbootv1.DeleteArtifactResponse, error) {
	err := s.artifacts.Delete(req.GetPath())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, status.Errorf(codes.NotFound, "artifact %q does not exist on this agent", req.GetPath())
	case err != nil:
		return nil, status.Errorf(codes.Internal, "deleting artifact %q: %v", req.GetPath(), err)
	}
	s.logger.Info("artifact deleted", eventkind.Artifact.Attr(), "path", req.GetPath())
	return &netbootv1.DeleteArtifactResponse{}, nil
}

func artifactToProto(r artifact.Record) *netbootv1.Artifact {
	return &netbootv1.Artifact{Path: r.Path, Sha256: r.SHA256, Size: uint64(r.Size), Source: r.Source}
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
