package agent

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/netbootlab/terraform-provider-netboot/internal/agentclient"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/api/netbootv1"
	"github.com/netbootlab/terraform-provider-netboot/internal/paths"
)

var (
	opsSynopsis = map[string]string{
		"status":  "terraform-provider-netboot agent status [--json] [--state-dir DIR | --endpoint HOST:PORT --ca-cert FILE --client-cert FILE --client-key FILE]",
		"leases":  "terraform-provider-netboot agent leases [--json] [--boot-server NAME] [--state-dir DIR | --endpoint HOST:PORT ...]",
		"objects": "terraform-provider-netboot agent objects [--json] [--boot-server NAME] [--state-dir DIR | --endpoint HOST:PORT ...]",
		"logs":    "terraform-provider-netboot agent logs [-f] [--json] [--since DURATION] [--kind KIND,...] [--client DUID|MAC|ADDRESS] [--state-dir DIR | --endpoint HOST:PORT ...]",
	}
	opsAbout = map[string]string{
		"status":  "Shows the running agent's version and state dir, and each boot server: interface, prefix, DHCPv6 mode, whether it serves, leases, addresses, error.",
		"leases":  "Lists the DHCPv6 leases the running agent holds.",
		"objects": "Lists what Terraform configured on the running agent: boot servers, artifacts, boot entries, menus, NFS root images.",
		"logs":    "Prints the running agent's recent events (leases, boot files served, configuration changes, errors).",
	}
)

// opsMain runs the operator commands `agent status`, `leases`, `objects`
// and `logs`: what a running agent serves and does, as a table or as JSON
// for scripts.
func opsMain(command string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(command, flag.ContinueOnError)
	setUsage(fs, opsSynopsis[command], opsAbout[command])
	stateDir := fs.String("state-dir", paths.DefaultStateDir(), "state dir of the local agent to ask")
	endpoint := fs.String("endpoint", "", "remote agent host:port (mutual TLS) instead of the local one")
	caCert := fs.String("ca-cert", "", "CA certificate for --endpoint")
	clientCert := fs.String("client-cert", "", "client certificate for --endpoint")
	clientKey := fs.String("client-key", "", "client key for --endpoint")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	bootServer := fs.String("boot-server", "", "leases, objects, logs: only this boot server's")
	var logsOpts logsOptions
	var probe bool
	if command == "status" {
		fs.BoolVar(&probe, "probe", false, "first send a probe Solicit on every serving boot server's link, to list other DHCPv6 servers now rather than after the next periodic probe")
	}
	if command == "logs" {
		fs.BoolVar(&logsOpts.follow, "f", false, "keep printing new events, like tail -f")
		fs.BoolVar(&logsOpts.follow, "follow", false, "same as -f")
		fs.DurationVar(&logsOpts.since, "since", 0, "only events of this last duration, e.g. 10m")
		fs.StringVar(&logsOpts.kinds, "kind", "", "only these kinds, comma-separated: lease, boot_file, tftp, http, script, artifact, nfs_root_image, config, ...")
		fs.StringVar(&logsOpts.client, "client", "", "only events about a client whose DUID, MAC or address contains this")
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", command, fs.Arg(0))
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if command == "logs" && logsOpts.follow {
		// Following runs until interrupted, not for a fixed time.
		cancel()
		ctx, cancel = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer cancel()
	}
	conn, err := agentclient.Connect(ctx, agentclient.Options{
		Endpoint: *endpoint, StateDir: *stateDir, CACert: *caCert, ClientCert: *clientCert, ClientKey: *clientKey,
		NoLaunch: true, Timeout: 10 * time.Second,
	})
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", command, err)
		return 1
	}
	defer conn.Close()

	switch command {
	case "status":
		info, err := conn.GetAgentInfo(ctx, &netbootv1.GetAgentInfoRequest{})
		if err != nil {
			fmt.Fprintf(stderr, "status: %v\n", err)
			return 1
		}
		servers, err := conn.ListBootServers(ctx, &netbootv1.ListBootServersRequest{})
		if err != nil {
			fmt.Fprintf(stderr, "status: %v\n", err)
			return 1
		}
		if probe {
			probeAll(ctx, conn, servers.GetBootServers(), stderr)
			if servers, err = conn.ListBootServers(ctx, &netbootv1.ListBootServersRequest{}); err != nil {
				fmt.Fprintf(stderr, "status: %v\n", err)
				return 1
			}
		}
		if *asJSON {
			return printJSON(stdout, stderr, map[string]proto.Message{"agent": info, "boot_servers": servers})
		}
		fmt.Fprintf(stdout, "agent %s, pid %d, state dir %s, up since %s\n\n", info.GetVersion(), info.GetPid(), info.GetStateDir(),
			time.Unix(info.GetStartedUnix(), 0).Format(time.RFC3339))
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "BOOT SERVER\tINTERFACE\tPREFIX\tDHCPV6\tSERVING\tLEASES\tADDRESSES\tERROR")
		for _, s := range servers.GetBootServers() {
			c, st := s.GetConfig(), s.GetStatus()
			addrs := append([]string{st.GetLinkLocalAddress()}, st.GetGlobalAddresses()...)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%d\t%s\t%s\n", c.GetName(), c.GetInterface(), c.GetPrefix(), c.GetDhcpv6().GetMode(),
				st.GetServing(), st.GetActiveLeases(), strings.Join(addrs, " "), st.GetError())
		}
		if code := flushTable(tw, stderr); code != 0 {
			return code
		}
		printOtherServers(stdout, servers.GetBootServers())
		return 0
	case "leases":
		leases, err := conn.ListLeases(ctx, &netbootv1.ListLeasesRequest{BootServer: *bootServer})
		if err != nil {
			fmt.Fprintf(stderr, "leases: %v\n", err)
			return 1
		}
		if *asJSON {
			return printJSON(stdout, stderr, map[string]proto.Message{"leases": leases})
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "BOOT SERVER\tADDRESS\tCLIENT DUID\tIAID\tHARDWARE\tARCH\tUSER CLASS\tVALID UNTIL")
		for _, l := range leases.GetLeases() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t0x%04x\t%s\t%s\n", l.GetBootServer(), l.GetAddress(), l.GetClientDuid(), l.GetIaid(),
				l.GetHardwareAddress(), l.GetClientArch(), l.GetUserClass(), time.Unix(l.GetValidUntilUnix(), 0).Format(time.RFC3339))
		}
		return flushTable(tw, stderr)
	case "objects":
		return printObjects(ctx, conn, *bootServer, *asJSON, stdout, stderr)
	case "logs":
		logsOpts.bootServer, logsOpts.json = *bootServer, *asJSON
		return printLogs(ctx, conn, logsOpts, stdout, stderr)
	}
	return 2
}

func printJSON(stdout, stderr io.Writer, parts map[string]proto.Message) int {
	out := map[string]json.RawMessage{}
	for k, m := range parts {
		b, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(m)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		out[k] = b
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

func flushTable(tw *tabwriter.Writer, stderr io.Writer) int {
	if err := tw.Flush(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
