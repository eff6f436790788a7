package agentcli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// printObjects shows everything the agent serves: boot servers, menus and
// entries, artifacts, NFS root images, the hosts it knows with the boot file
// and menu each would get, the machines with what each fetched last, and
// long operations.
func printObjects(ctx context.Context, conn *agentclient.Conn, bootServer string, asJSON bool, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "objects: %v\n", err)
		return 1
	}
	servers, err := agentclient.All(ctx, conn.ListBootServers, &netbootv1.ListBootServersRequest{}, (*netbootv1.ListBootServersResponse).GetBootServers)
	if err != nil {
		return fail(err)
	}
	entries, err := agentclient.All(ctx, conn.ListBootEntries, &netbootv1.ListBootEntriesRequest{}, (*netbootv1.ListBootEntriesResponse).GetEntries)
	if err != nil {
		return fail(err)
	}
	menus, err := agentclient.All(ctx, conn.ListBootMenus, &netbootv1.ListBootMenusRequest{}, (*netbootv1.ListBootMenusResponse).GetMenus)
	if err != nil {
		return fail(err)
	}
	artifacts, err := agentclient.All(ctx, conn.ListArtifacts, &netbootv1.ListArtifactsRequest{}, (*netbootv1.ListArtifactsResponse).GetArtifacts)
	if err != nil {
		return fail(err)
	}
	images, err := agentclient.All(ctx, conn.ListNFSRootImages, &netbootv1.ListNFSRootImagesRequest{}, (*netbootv1.ListNFSRootImagesResponse).GetImages)
	if err != nil {
		return fail(err)
	}
	hosts, err := agentclient.All(ctx, conn.ListHosts, &netbootv1.ListHostsRequest{BootServer: bootServer}, (*netbootv1.ListHostsResponse).GetHosts)
	if err != nil {
		return fail(err)
	}
	machines, err := agentclient.All(ctx, conn.ListMachines, &netbootv1.ListMachinesRequest{}, (*netbootv1.ListMachinesResponse).GetMachines)
	if err != nil {
		return fail(err)
	}
	for _, m := range machines {
		m.ConfigToken = "" // a secret: it stays out of terminals and scripts' output
	}
	ops, err := agentclient.All(ctx, conn.ListOperations, &netbootv1.ListOperationsRequest{}, (*netbootv1.ListOperationsResponse).GetOperations)
	if err != nil {
		return fail(err)
	}
	if bootServer != "" {
		servers = slices.DeleteFunc(servers, func(s *netbootv1.BootServerState) bool { return s.GetConfig().GetName() != bootServer })
	}
	if asJSON {
		doc := newJSONDoc(stdout, "objects")
		writeJSONList(doc, "artifacts", "artifacts", values(artifacts))
		writeJSONList(doc, "boot_entries", "entries", values(entries))
		writeJSONList(doc, "boot_menus", "menus", values(menus))
		writeJSONList(doc, "boot_servers", "boot_servers", values(servers))
		writeJSONList(doc, "hosts", "hosts", values(hosts))
		writeJSONList(doc, "machines", "machines", values(machines))
		writeJSONList(doc, "nfs_root_images", "images", values(images))
		writeJSONList(doc, "operations", "operations", values(ops))
		return doc.close(stderr)
	}

	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	section := func(title string) { fmt.Fprintf(tw, "\n%s\n", title) }
	section("BOOT SERVERS")
	fmt.Fprintln(tw, "NAME\tINTERFACE\tPREFIX\tDHCPV6\tSERVING\tADDRESSES\tTFTP\tHTTP\tHTTPS\tERROR")
	for _, s := range servers {
		c, st := s.GetConfig(), s.GetStatus()
		addrs := append([]string{st.GetLinkLocalAddress()}, st.GetGlobalAddresses()...)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%s\t%s\t%s\t%s\t%s\n", c.GetName(), c.GetInterface(), c.GetPrefix(), c.GetDhcpv6().GetMode(),
			st.GetServing(), strings.Join(addrs, " "), orDash(st.GetTftpUrlBase()), orDash(st.GetHttpUrlBase()), orDash(st.GetHttpsUrlBase()), st.GetError())
	}
	section("BOOT MENUS")
	fmt.Fprintln(tw, "NAME\tTITLE\tDEFAULT\tMATCH\tITEMS\tBOOT SERVERS")
	for _, m := range menus {
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
	for _, e := range entries {
		boots := e.GetUrl()
		if l := e.GetLinux(); l != nil {
			boots = l.GetKernel()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.GetName(), e.GetTitle(), e.GetKind(), orDash(boots))
	}
	section("ARTIFACTS")
	fmt.Fprintln(tw, "PATH\tSHA256\tSIZE\tSOURCE\tLAST FETCH")
	for _, a := range artifacts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.GetPath(), a.GetSha256(), agent.FormatBytes(int64(a.GetSize())), a.GetSource(), describeProgress(a.GetProgress()))
	}
	section("NFS ROOT IMAGES")
	fmt.Fprintln(tw, "NAME\tBOOT SERVER\tROOT DIR\tNFSROOT\tKERNEL\tINITRD\tLAST BUILD")
	for _, img := range images {
		c := img.GetConfig()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.GetName(), c.GetBootServer(), c.GetRootDir(), img.GetNfsroot(),
			img.GetKernelPath(), img.GetInitrdPath(), describeProgress(img.GetProgress()))
	}
	section("HOSTS (by lease)")
	fmt.Fprintln(tw, "BOOT SERVER\tCLIENT DUID\tMAC\tARCH\tUSER CLASS\tADDRESSES\tBOOT FILE\tMENU")
	for _, h := range hosts {
		menu := h.GetMenu()
		if menu == "" {
			menu = "- (" + h.GetMenuReason() + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t0x%04x\t%s\t%s\t%s\t%s\n", h.GetBootServer(), h.GetClientDuid(), orDash(h.GetHardwareAddress()),
			h.GetClientArch(), orDash(h.GetUserClass()), strings.Join(h.GetAddresses(), " "), orDash(h.GetBootFileUrl()), menu)
	}
	section("MACHINES")
	fmt.Fprintln(tw, machinesHeader)
	for _, m := range machines {
		fmt.Fprintln(tw, machineRow(m))
	}
	if len(ops) > 0 {
		section("OPERATIONS")
		fmt.Fprintln(tw, "OPERATION\tOBJECT\tPHASE\tPROGRESS\tERROR")
		for _, p := range ops {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.GetOperation(), p.GetObject(), p.GetPhase(), p.GetMessage(), p.GetError())
		}
	}
	return flushTable(tw, stderr)
}

// machinesHeader and machineRow are the MACHINES section's table.
const machinesHeader = "NAME\tMACS\tUUIDS\tDUIDS\tRESERVED ADDRESS\tRESERVED PREFIX\tMENU\tLAST BOOT FILE\tLAST CONFIG"

func machineRow(m *netbootv1.Machine) string {
	return strings.Join([]string{m.GetName(), orDash(strings.Join(m.GetMacs(), ",")), orDash(strings.Join(m.GetUuids(), ",")),
		orDash(strings.Join(m.GetDuids(), ",")), orDash(m.GetReservedAddress()), orDash(m.GetReservedPrefix()), orDash(m.GetMenu()),
		describeFetch(m.GetLastBootFile()), describeFetch(m.GetLastConfig())}, "\t")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// describeFetch sums up a file served to a machine: "user-data (http from
// 2001:db8:1::1001, 2026-01-02T03:04:05Z)", or "-".
func describeFetch(f *netbootv1.FileFetch) string {
	if f == nil {
		return "-"
	}
	return fmt.Sprintf("%s (%s from %s, %s)", f.GetFile(), f.GetProtocol(), f.GetAddress(),
		time.Unix(f.GetTimeUnix(), 0).UTC().Format(time.RFC3339))
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
