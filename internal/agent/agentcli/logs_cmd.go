package agentcli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/netbootlab/terraform-provider-netboot/internal/wire/agentclient"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/eventkind"
	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

type logsOptions struct {
	follow     bool
	json       bool
	since      time.Duration
	kinds      string   // --kind as given
	kindNames  []string // --kind, checked
	client     string
	bootServer string
}

// parseKinds checks a comma-separated list of event kinds.
func parseKinds(list string) ([]string, error) {
	if list == "" {
		return nil, nil
	}
	var out []string
	for _, s := range strings.Split(list, ",") {
		k, err := eventkind.Parse(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		out = append(out, string(k))
	}
	return out, nil
}

// printLogs prints the agent's recent events, and with follow new ones as
// they happen: one line each, or one JSON object per line with --json.
func printLogs(ctx context.Context, conn *agentclient.Conn, o logsOptions, stdout, stderr io.Writer) int {
	req := &netbootv1.WatchEventsRequest{Follow: o.follow, Client: o.client, BootServer: o.bootServer}
	req.Kinds = o.kindNames
	if o.since > 0 {
		req.SinceUnixNano = time.Now().Add(-o.since).UnixNano()
	}
	stream, err := conn.WatchEvents(ctx, req)
	if err != nil {
		fmt.Fprintf(stderr, "logs: %v\n", err)
		return 1
	}
	marshal := protojson.MarshalOptions{UseProtoNames: true}
	for {
		e, err := stream.Recv()
		switch {
		case errors.Is(err, io.EOF):
			return 0
		case o.follow && (status.Code(err) == codes.Canceled || ctx.Err() != nil):
			return 0 // interrupted while following
		case err != nil:
			fmt.Fprintf(stderr, "logs: %v\n", err)
			return 1
		}
		if e.GetDropped() > 0 {
			fmt.Fprintf(stderr, "logs: %d events dropped: this client read too slowly\n", e.GetDropped())
		}
		if o.json {
			b, err := marshal.Marshal(e)
			if err != nil {
				fmt.Fprintln(stderr, err)
				return 1
			}
			fmt.Fprintf(stdout, "%s\n", b)
			continue
		}
		fmt.Fprintln(stdout, formatEvent(e))
	}
}

// formatEvent writes an event as one line: time, level, kind, boot server,
// message, then its attributes sorted by key.
func formatEvent(e *netbootv1.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %-5s %-14s", time.Unix(0, e.GetTimeUnixNano()).Format("2006-01-02T15:04:05.000"), e.GetLevel(), e.GetKind())
	if e.GetBootServer() != "" {
		fmt.Fprintf(&b, " [%s]", e.GetBootServer())
	}
	b.WriteString(" " + e.GetMessage())
	keys := make([]string, 0, len(e.GetAttrs()))
	for k := range e.GetAttrs() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := e.GetAttrs()[k]
		if v == "" || strings.ContainsAny(v, " \t\"=") {
			v = fmt.Sprintf("%q", v)
		}
		fmt.Fprintf(&b, " %s=%s", k, v)
	}
	return b.String()
}
