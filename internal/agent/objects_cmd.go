package agent

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"google.golang.org/protobuf/proto"

	"github.com/netbootlab/terraform-provider-netboot/internal/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/api/netbootv1"
)

// printObjects shows everything the agent serves: boot servers, menus and
// entries, artifacts, NFS root images, the hosts it knows with the boot file
// and menu each would get, and long operations.
func printObjects(ctx context.Context, conn *agentclient.Conn, bootServer string, asJSON bool, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "objects: %v\n", err)
		return 1
	}
	servers, err := conn.ListBootServers(ctx, &netbootv1.ListBootServersRequest{})
	if err != nil {
		return fail(err)
	}
	entries, err := conn.ListBootEntries(ctx, &netbootv1.ListBootEntriesRequest{})
	if err != nil {
		return fail(err)
	}
	menus, err := conn.ListBootMenus(ctx, &netbootv1.ListBootMenusRequest{})
	if err != nil {
		return fail(err)
	}
	artifacts, err := conn.ListArtifacts(ctx, &netbootv1.ListArtifactsRequest{})
	if err != nil {
		return fail(err)
	}
	images, err := conn.ListNFSRootImages(ctx, &netbootv1.ListNFSRootImagesRequest{})
	if err != nil {
		return fail(err)
	}
	hosts, err := conn.ListHosts(ctx, &netbootv1.ListHostsRequest{BootServer: bootServer})
	if err != nil {
		return fail(err)
	}
	ops, err := conn.ListOperations(ctx, &netbootv1.ListOperationsRequest{})
	if err != nil {
		return fail(err)
	}
	if bootServer != "" {
		var kept []*netbootv1.BootServerState
		for _, s := range servers.GetBootServers() {
			if s.GetConfig().GetName() == bootServer {
				kept = append(kept, s)
			}
		}
		servers.BootServers = kept
	}
	if asJSON {
		return printJSON(stdout, stderr, map[string]proto.Message{
			"boot_servers": servers, "boot_entries": entries, "boot_menus": menus, "artifacts": artifacts,
			"nfs_root_images": images, "hosts": hosts, "operations": ops,
		})
	}

	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	section := func(title string) { fmt.Fprintf(tw, "\n%s\n", title) }
	section("BOOT SERVERS")
	fmt.Fprintln(tw, "NAME\tINTERFACE\tPREFIX\tDHCPV6\tSERVING\tADDRESSES\tTFTP\tHTTP\tERROR")
	for _, s := range servers.GetBootServers() {
		c, st := s.GetConfig(), s.GetStatus()
		addrs := append([]string{st.GetLinkLocalAddress()}, st.GetGlobalAddresses()...)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%s\t%s\t%s\t%s\n", c.GetName(), c.GetInterface(), c.GetPrefix(), c.GetDhcpv6().GetMode(),
			st.GetServing(), strings.Join(addrs, " "), orDash(st.GetTftpUrlBase()), orDash(st.GetHttpUrlBase()), st.GetError())
	}
	section("BOOT MENUS")
	fmt.Fprintln(tw, "NAME\tTITLE\tDEFAULT\tMATCH\tITEMS\tBOOT SERVERS")
	for _, m := range menus.GetMenus() {
		var items []string
		for _, it := range m.GetItems() {
			switch {
			case it.GetEntry() != "":
				items = append(items, it.GetEntry())
			case it.GetMenu() != "":
				items = append(items, "menu:"+it.GetMenu())
			default:
				items = append(items, "--")
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%s\t%s\n", m.GetName(), m.GetTitle(), m.GetIsDefault(), describeMatch(m.GetMatch()),
			strings.Join(items, ","), orDash(strings.Join(m.GetBootServers(), ",")))
	}
	section("BOOT ENTRIES")
	fmt.Fprintln(tw, "NAME\tTITLE\tKIND\tBOOTS")
	for _, e := range entries.GetEntries() {
		boots := e.GetUrl()
		if l := e.GetLinux(); l != nil {
			boots = l.GetKernel()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.GetName(), e.GetTitle(), e.GetKind(), orDash(boots))
	}
	section("ARTIFACTS")
	fmt.Fprintln(tw, "PATH\tSHA256\tSIZE\tSOURCE\tLAST FETCH")
	for _, a := range artifacts.GetArtifacts() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.GetPath(), a.GetSha256(), formatBytes(int64(a.GetSize())), a.GetSource(), describeProgress(a.GetProgress()))
	}
	section("NFS ROOT IMAGES")
	fmt.Fprintln(tw, "NAME\tBOOT SERVER\tROOT DIR\tNFSROOT\tKERNEL\tINITRD\tLAST BUILD")
	for _, img := range images.GetImages() {
		c := img.GetConfig()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.GetName(), c.GetBootServer(), c.GetRootDir(), img.GetNfsroot(),
			img.GetKernelPath(), img.GetInitrdPath(), describeProgress(img.GetProgress()))
	}
	section("HOSTS (by lease)")
	fmt.Fprintln(tw, "BOOT SERVER\tCLIENT DUID\tMAC\tARCH\tUSER CLASS\tADDRESSES\tBOOT FILE\tMENU")
	for _, h := range hosts.GetHosts() {
		menu := h.GetMenu()
		if menu == "" {
			menu = "- (" + h.GetMenuReason() + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t0x%04x\t%s\t%s\t%s\t%s\n", h.GetBootServer(), h.GetClientDuid(), orDash(h.GetHardwareAddress()),
			h.GetClientArch(), orDash(h.GetUserClass()), strings.Join(h.GetAddresses(), " "), orDash(h.GetBootFileUrl()), menu)
	}
	if len(ops.GetOperations()) > 0 {
		section("OPERATIONS")
		fmt.Fprintln(tw, "OPERATION\tOBJECT\tPHASE\tPROGRESS\tERROR")
		for _, p := range ops.GetOperations() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.GetOperation(), p.GetObject(), p.GetPhase(), p.GetMessage(), p.GetError())
		}
	}
	return flushTable(tw, stderr)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func describeMatch(m *netbootv1.HostMatch) string {
	var parts []string
	for _, f := range []struct {
		name   string
		values []string
	}{{"mac", m.GetMacs()}, {"uuid", m.GetUuids()}, {"platform", m.GetPlatforms()}, {"buildarch", m.GetBuildarchs()}} {
		if len(f.values) > 0 {
			parts = append(parts, f.name+"="+strings.Join(f.values, "|"))
		}
	}
	return orDash(strings.Join(parts, " "))
}

// describeProgress sums up an object's last operation: "done (48.0 MiB of
// 48.0 MiB (100%), 4.1 MiB/s)" or "failed: ...".
func describeProgress(p *netbootv1.Progress) string {
	switch {
	case p == nil:
		return "-"
	case p.GetError() != "":
		return p.GetPhase() + ": " + p.GetError()
	case p.GetMessage() != "":
		return p.GetPhase() + " (" + p.GetMessage() + ")"
	}
	return p.GetPhase()
}
