package agentcli

import (
	"flag"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/store"
	"github.com/netbootlab/terraform-provider-netboot/internal/wire/paths"
)

const dbUsage = `Usage: terraform-provider-netboot agent db check   [--state-dir DIR]
       terraform-provider-netboot agent db restore [--state-dir DIR]

check reads the state file (state.db) and its snapshot (state.db.snapshot) through and
says whether each is sound. restore replaces a damaged, emptied or lost state.db with
the snapshot, which the agent writes after each configuration change and every few
minutes; the replaced file is kept beside it. restore refuses while an agent runs.
`

// dbMain runs `agent db check|restore`: the state file's health, and the
// way back to its last good copy.
func dbMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, dbUsage)
		return 2
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, dbUsage)
		return 0
	}
	command := args[0]
	fs := flag.NewFlagSet("db "+command, flag.ContinueOnError)
	stateDir := fs.String("state-dir", paths.DefaultStateDir(), "the agent's state dir")
	switch command {
	case "check":
		setUsage(fs, "terraform-provider-netboot agent db check [--state-dir DIR]",
			"Reads the state file and its snapshot through and says whether each is sound: every page\n"+
				"readable and every record decodable. Exits 1 if either is damaged.")
	case "restore":
		setUsage(fs, "terraform-provider-netboot agent db restore [--state-dir DIR]",
			"Replaces the state file with its snapshot, after checking the snapshot. The replaced file\n"+
				"is kept beside it as state.db.replaced-TIME. Refuses while an agent runs on the state dir.")
	default:
		fmt.Fprintf(stderr, "db: unknown command %q\n\n%s", command, dbUsage)
		return 2
	}
	if code, ok := parseFlags(fs, args[1:], stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "db %s: unexpected argument %q\n", command, fs.Arg(0))
		return 2
	}
	dir, err := paths.ResolveStateDir(*stateDir)
	if err != nil {
		fmt.Fprintf(stderr, "db %s: %v\n", command, err)
		return 2
	}
	if command == "check" {
		return dbCheck(dir, stdout)
	}
	if socket := filepath.Join(dir, paths.SocketName); agentAnswers(socket) {
		fmt.Fprintf(stderr, "db restore: an agent is running on %s (it answers on %s): stop it first\n", dir, socket)
		return 1
	}
	r, err := store.Restore(dir)
	if err != nil {
		fmt.Fprintf(stderr, "db restore: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "restored %s from %s\n", filepath.Join(dir, store.FileName), r.Snapshot)
	if r.Kept != "" {
		fmt.Fprintf(stdout, "the replaced file is kept as %s\n", r.Kept)
	}
	fmt.Fprintln(stdout, "leases granted after the snapshot was written are not in it, apart from those still in the lease journal, which the agent writes into it when it starts; start the agent again (terraform launches it)")
	return 0
}

func dbCheck(dir string, stdout io.Writer) int {
	code, restore := 0, false
	for _, r := range store.Check(dir) {
		switch {
		case r.Missing && r.Journal:
			fmt.Fprintf(stdout, "%s: none yet (the agent creates it at its first start)\n", r.Path)
		case r.InUse && r.Journal:
			fmt.Fprintf(stdout, "%s: in use by the running agent\n", r.Path)
		case r.Err != nil && r.Journal:
			fmt.Fprintf(stdout, "%s: DAMAGED: %v (move it away to start without the leases it holds)\n", r.Path, r.Err)
			code = 1
		case r.Journal:
			fmt.Fprintf(stdout, "%s: sound; %d lease changes not yet in %s (the agent writes them there when it starts)", r.Path, r.Objects["lease change"], store.FileName)
			if r.Torn != "" {
				fmt.Fprintf(stdout, "; a torn last frame %s is ignored (an append a crash cut short, whose Replies never left)", r.Torn)
			}
			fmt.Fprintln(stdout)
		case r.Missing && filepath.Base(r.Path) == store.SnapshotName:
			fmt.Fprintf(stdout, "%s: none yet (the agent writes it after each configuration change)\n", r.Path)
		case r.Missing:
			fmt.Fprintf(stdout, "%s: missing\n", r.Path)
		case r.InUse:
			fmt.Fprintf(stdout, "%s: in use by the running agent, which checked it when it started\n", r.Path)
		case r.Err != nil:
			fmt.Fprintf(stdout, "%s: DAMAGED: %v\n", r.Path, r.Err)
			code, restore = 1, true
		default:
			fmt.Fprintf(stdout, "%s: sound; schema %d, written %s; %s\n", r.Path, r.Schema,
				r.Written.UTC().Format(time.RFC3339), countObjects(r.Objects))
		}
	}
	if restore {
		fmt.Fprintf(stdout, "to go back to a sound snapshot: terraform-provider-netboot agent db restore --state-dir %s\n", dir)
	}
	return code
}

// countObjects is "boot server: 3, lease: 4500", in name order.
func countObjects(n map[string]int) string {
	nouns := make([]string, 0, len(n))
	for noun := range n {
		nouns = append(nouns, noun)
	}
	sort.Strings(nouns)
	parts := make([]string, 0, len(nouns))
	for _, noun := range nouns {
		parts = append(parts, fmt.Sprintf("%s: %d", noun, n[noun]))
	}
	if len(parts) == 0 {
		return "no objects"
	}
	return strings.Join(parts, ", ")
}

// agentAnswers says whether an agent accepts connections on socket.
func agentAnswers(socket string) bool {
	conn, err := net.DialTimeout("unix", socket, time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}
