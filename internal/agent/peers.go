package agent

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"os"

	"google.golang.org/protobuf/proto"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/pglease"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// inventory is what this agent reports to the others sharing its lease
// database (pglease.DB.Report): its boot servers, and digests of its
// configuration and artifacts that are equal on agents a Terraform module
// gave the same objects. Boot servers' interface names are left out, as
// each host may name its interface differently.
func (s *core) inventory(listen string) pglease.Inventory {
	host, _ := os.Hostname()
	inv := pglease.Inventory{Host: host, Version: Version, Listen: listen, Started: s.started}
	config := sha256.New()
	s.mu.Lock()
	for _, name := range sortedKeys(s.sites) {
		inv.BootServers = append(inv.BootServers, name)
		pb := s.sites[name].cfg.ToProto()
		pb.Interface = ""
		digestObject(config, "boot_server", name, pb)
	}
	for _, name := range sortedKeys(s.images) {
		digestObject(config, "nfs_root_image", name, s.images[name].GetConfig())
	}
	s.mu.Unlock()
	catalog := s.catalog.Load()
	for _, name := range sortedKeys(catalog.Entries) {
		digestObject(config, "boot_entry", name, catalog.Entries[name].ToProto())
	}
	for _, name := range sortedKeys(catalog.Menus) {
		digestObject(config, "boot_menu", name, catalog.Menus[name].ToProto())
	}
	inv.ConfigDigest = hex.EncodeToString(config.Sum(nil))

	artifacts := sha256.New()
	for _, r := range s.artifacts.List() {
		artifacts.Write([]byte(r.Path + "\x00" + r.SHA256 + "\n"))
		inv.Artifacts++
	}
	inv.ArtifactsDigest = hex.EncodeToString(artifacts.Sum(nil))
	return inv
}

// digestObject adds one object to h, framed so that no two sequences of
// objects write the same bytes.
func digestObject(h hash.Hash, kind, name string, m proto.Message) {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	h.Write([]byte(kind + "\x00" + name + "\x00"))
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(b))))
	h.Write(b)
}

// leaseDatabase is the lease database part of GetAgentInfo: nil without
// one; otherwise the agents recorded in it, compared with this one.
func (s *core) leaseDatabase(ctx context.Context) *netbootv1.LeaseDatabase {
	if s.leaseDB == nil {
		return nil
	}
	out := &netbootv1.LeaseDatabase{Reachable: true, Agent: s.leaseDB.Name()}
	peers, err := s.leaseDB.Peers(ctx)
	if err != nil {
		out.Reachable, out.Error = false, err.Error()
		return out
	}
	if err := s.leaseDB.Err(); err != nil {
		out.Reachable, out.Error = false, err.Error()
	}
	var self *pglease.Peer
	for i, p := range peers {
		if p.Name == out.Agent {
			self = &peers[i]
		}
	}
	for _, p := range peers {
		pb := &netbootv1.LeaseDatabaseAgent{
			Name: p.Name, Host: p.Host, Version: p.Version, Listen: p.Listen, StartedUnix: p.Started.Unix(),
			SeenSecondsAgo: int64(p.SeenAgo.Seconds()), Live: p.Live, This: p.Name == out.Agent, BootServers: p.BootServers,
			ConfigDigest: p.ConfigDigest, ArtifactsDigest: p.ArtifactsDigest, Artifacts: uint32(p.Artifacts),
		}
		if self != nil {
			pb.SameConfig, pb.SameArtifacts = p.ConfigDigest == self.ConfigDigest, p.ArtifactsDigest == self.ArtifactsDigest
		}
		out.Agents = append(out.Agents, pb)
	}
	return out
}

// forgetLeases removes a deleted boot server's leases from the lease
// database unless another agent still serves it (pglease.ForgetBootServer).
// Deleting the boot server does not wait for the database: when it is
// unreachable the leases stay until they expire.
func (s *core) forgetLeases(name string) {
	if s.leaseDB == nil {
		return
	}
	deleted, others, err := s.leaseDB.ForgetBootServer(name)
	switch {
	case err != nil:
		s.logger.Warn("deleted boot server's leases stay in the lease database until they expire", eventkind.Config.Attr(),
			"boot_server", name, "error", err)
		return
	case others > 0:
		s.logger.Info("deleted boot server's leases stay in the lease database: other agents serve it", eventkind.Config.Attr(),
			"boot_server", name, "agents", others)
		return
	}
	s.logger.Info("deleted boot server's leases removed from the lease database", eventkind.Config.Attr(),
		"boot_server", name, "leases", deleted)
}
