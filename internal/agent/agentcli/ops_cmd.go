package agentcli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/paths"
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
		"logs":    "Prints the running agent's recent events (leases, boot files served, configuration changes, errors).\n\n" + kindsHelp(),
	}
)

// kindsHelp lists the event kinds `agent logs --kind` selects, with what
// each holds.
func kindsHelp() string {
	var b strings.Builder
	b.WriteString("Each event has one kind (--kind):")
	for _, k := range eventkind.All() {
		fmt.Fprintf(&b, "\n  %-15s %s", k, k.About())
	}
	return b.String()
}

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
		fs.StringVar(&logsOpts.kinds, "kind", "", "only these kinds, comma-separated: "+eventkind.List())
		fs.StringVar(&logsOpts.client, "client", "", "only events about a client whose DUID, MAC or address contains this")
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", command, fs.Arg(0))
		return 2
	}
	var err error
	if logsOpts.kindNames, err = parseKinds(logsOpts.kinds); err != nil {
		fmt.Fprintf(stderr, "%s: --kind: %v\n", command, err)
		return 2
	}
	// Listings read page after page, each page within its own deadline
	// (agentclient.PageTimeout), so no deadline covers the whole run.
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if command == "logs" && !logsOpts.follow {
		ctx, cancel = context.WithTimeout(ctx, agentclient.PageTimeout)
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
		infoCtx, cancelInfo := context.WithTimeout(ctx, agentclient.PageTimeout)
		info, err := conn.GetAgentInfo(infoCtx, &netbootv1.GetAgentInfoRequest{})
		cancelInfo()
		if err != nil {
			fmt.Fprintf(stderr, "status: %v\n", err)
			return 1
		}
		listServers := func() ([]*netbootv1.BootServerState, error) {
			return agentclient.All(ctx, conn.ListBootServers, &netbootv1.ListBootServersRequest{}, (*netbootv1.ListBootServersResponse).GetBootServers)
		}
		servers, err := listServers()
		if err != nil {
			fmt.Fprintf(stderr, "status: %v\n", err)
			return 1
		}
		if probe {
			probeAll(ctx, conn, servers, stderr)
			if servers, err = listServers(); err != nil {
				fmt.Fprintf(stderr, "status: %v\n", err)
				return 1
			}
		}
		if *asJSON {
			doc := newJSONDoc(stdout, command)
			doc.message("agent", info)
			writeJSONList(doc, "boot_servers", "boot_servers", values(servers))
			return doc.close(stderr)
		}
		fmt.Fprintf(stdout, "agent %s, pid %d, state dir %s, up since %s\n\n", info.GetVersion(), info.GetPid(), info.GetStateDir(),
			time.Unix(info.GetStartedUnix(), 0).Format(time.RFC3339))
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "BOOT SERVER\tINTERFACE\tPREFIX\tDHCPV6\tSERVING\tLEASES\tADDRESSES\tERROR")
		for _, s := range servers {
			c, st := s.GetConfig(), s.GetStatus()
			addrs := append([]string{st.GetLinkLocalAddress()}, st.GetGlobalAddresses()...)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%d\t%s\t%s\n", c.GetName(), c.GetInterface(), c.GetPrefix(), c.GetDhcpv6().GetMode(),
				st.GetServing(), st.GetActiveLeases(), strings.Join(addrs, " "), st.GetError())
		}
		if code := flushTable(tw, stderr); code != 0 {
			return code
		}
		if err := printRelayedLinks(stdout, servers); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		printOtherServers(stdout, servers)
		if err := printLeaseDatabase(stdout, info.GetLeaseDatabase()); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	case "leases":
		// Streamed page by page: a busy site has millions.
		leases := agentclient.Pages(ctx, conn.ListLeases, &netbootv1.ListLeasesRequest{BootServer: *bootServer}, (*netbootv1.ListLeasesResponse).GetLeases)
		if *asJSON {
			doc := newJSONDoc(stdout, command)
			writeJSONList(doc, "leases", "leases", leases)
			return doc.close(stderr)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "BOOT SERVER\tADDRESS\tCLIENT DUID\tIAID\tHARDWARE\tARCH\tUSER CLASS\tVALID UNTIL")
		for l, err := range leases {
			if err != nil {
				fmt.Fprintf(stderr, "leases: %v\n", err)
				return 1
			}
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

// jsonDoc writes a --json document one member at a time, and a list one
// item at a time, so a listing of millions of leases streams to stdout
// instead of being held whole. Each list sits under a member named as the
// List response names it: {"leases": {"leases": [...]}}.
type jsonDoc struct {
	w       *bufio.Writer
	command string // names the command in an error
	members int
	err     error
}

func newJSONDoc(w io.Writer, command string) *jsonDoc {
	d := &jsonDoc{w: bufio.NewWriterSize(w, 64<<10), command: command}
	d.w.WriteString("{")
	return d
}

// write writes m indented to depth, unless an earlier write failed.
func (d *jsonDoc) write(m proto.Message, depth int) {
	if d.err != nil {
		return
	}
	b, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(m)
	if err != nil {
		d.err = err
		return
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, strings.Repeat("  ", depth), "  "); err != nil {
		d.err = err
		return
	}
	_, d.err = d.w.Write(out.Bytes())
}

// member starts the next member of the document.
func (d *jsonDoc) member(key string) {
	if d.members > 0 {
		d.w.WriteString(",")
	}
	d.members++
	fmt.Fprintf(d.w, "\n  %q: ", key)
}

func (d *jsonDoc) message(key string, m proto.Message) {
	d.member(key)
	d.write(m, 1)
}

// writeJSONList writes items as {"<field>": [...]} under key; an error
// from items ends the document's output.
func writeJSONList[T proto.Message](d *jsonDoc, key, field string, items iter.Seq2[T, error]) {
	d.member(key)
	fmt.Fprintf(d.w, "{\n    %q: [", field)
	n := 0
	for item, err := range items {
		if err != nil {
			d.err = err
			return
		}
		if n > 0 {
			d.w.WriteString(",")
		}
		d.w.WriteString("\n      ")
		d.write(item, 3)
		if d.err != nil {
			return
		}
		n++
	}
	if n > 0 {
		d.w.WriteString("\n    ")
	}
	d.w.WriteString("]\n  }")
}

// close ends the document and returns the exit code: 1 after any error.
func (d *jsonDoc) close(stderr io.Writer) int {
	if d.err == nil {
		d.w.WriteString("\n}\n")
		d.err = d.w.Flush()
	} else {
		_ = d.w.Flush()
	}
	if d.err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", d.command, d.err)
		return 1
	}
	return 0
}

// values yields a slice's items as a listing that never fails.
func values[T any](items []T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for _, item := range items {
			if !yield(item, nil) {
				return
			}
		}
	}
}

func flushTable(tw *tabwriter.Writer, stderr io.Writer) int {
	if err := tw.Flush(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
