package agent

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/artifact"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// PutArtifact stores the artifact h describes: the file at agent_path, the
// download of url, or else content, an upload.
func (s *core) PutArtifact(ctx context.Context, h *netbootv1.ArtifactHeader, content io.Reader) (*netbootv1.Artifact, error) {
	if h == nil {
		return nil, invalidArgumentf("the first message must be the artifact header (path, sha256, agent_path or url)")
	}
	if _, err := artifact.CleanPath(h.GetPath()); err != nil {
		return nil, invalidArgumentf("%v", err)
	}
	if h.GetAgentPath() != "" && h.GetUrl() != "" {
		return nil, invalidArgumentf("set either agent_path or url, not both")
	}
	var (
		rec artifact.Record
		err error
	)
	switch {
	case h.GetAgentPath() != "":
		rec, err = s.artifacts.PutFromFile(ctx, h.GetPath(), h.GetSha256(), "agent_path", h.GetAgentPath())
	case h.GetUrl() != "":
		rec, err = s.fetchArtifact(ctx, h)
	default:
		rec, err = s.artifacts.Put(h.GetPath(), h.GetSha256(), "upload", content)
	}
	var (
		mismatch *artifact.ChecksumError
		refusal  *artifact.RefusedError
	)
	switch {
	case errors.As(err, &refusal):
		return nil, refused(fmt.Sprintf("artifact %q", h.GetPath()), refusal)
	case errors.As(err, &mismatch):
		return nil, invalidArgumentf("%s", checksumMessage(h, mismatch))
	case err != nil:
		return nil, failedPrecondition("storing artifact %q: %v", h.GetPath(), err)
	}
	s.logger.Info("artifact stored", eventkind.Artifact.Attr(), "path", rec.Path, "sha256", rec.SHA256, "size", rec.Size, "source", rec.Source)
	return artifactToProto(rec), nil
}

// fetchArtifact downloads h.url, logging its progress and keeping it for
// ListOperations and the artifact's progress.
func (s *core) fetchArtifact(ctx context.Context, h *netbootv1.ArtifactHeader) (artifact.Record, error) {
	op := s.operations.start(opArtifactFetch, h.GetPath(), "artifact download", s.logger.With(eventkind.Artifact.Attr(), "path", h.GetPath(), "url", h.GetUrl()))
	op.phase("downloading")
	rec, err := s.artifacts.PutFromURL(ctx, h.GetPath(), h.GetSha256(), h.GetUrl(), op.bytes)
	op.finish(err)
	return rec, err
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

func (s *core) GetArtifact(_ context.Context, req *netbootv1.GetArtifactRequest) (*netbootv1.Artifact, error) {
	rec, ok := s.artifacts.Get(req.GetPath())
	if !ok {
		return nil, notFound("artifact %q does not exist on this agent", req.GetPath())
	}
	return s.artifactState(rec), nil
}

func (s *core) ListArtifacts(_ context.Context, req *netbootv1.ListArtifactsRequest) (*netbootv1.ListArtifactsResponse, error) {
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
func (s *core) artifactState(rec artifact.Record) *netbootv1.Artifact {
	pb := artifactToProto(rec)
	pb.Progress = s.operations.lastOf(opArtifactFetch, rec.Path)
	return pb
}

func (s *core) DeleteArtifact(_ context.Context, req *netbootv1.DeleteArtifactRequest) (*netbootv1.DeleteArtifactResponse, error) {
	err := s.artifacts.Delete(req.GetPath())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, notFound("artifact %q does not exist on this agent", req.GetPath())
	case err != nil:
		return nil, internalError("deleting artifact %q: %v", req.GetPath(), err)
	}
	s.logger.Info("artifact deleted", eventkind.Artifact.Attr(), "path", req.GetPath())
	return &netbootv1.DeleteArtifactResponse{}, nil
}

func artifactToProto(r artifact.Record) *netbootv1.Artifact {
	return &netbootv1.Artifact{Path: r.Path, Sha256: r.SHA256, Size: uint64(r.Size), Source: r.Source}
}
