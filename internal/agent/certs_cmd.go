package agent

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/pki"
)

// certsMain runs `agent certs init|server|client`: a lab CA and its
// certificates, so mutual TLS needs no openssl recipes.
func certsMain(args []string, stdout, stderr io.Writer) int {
	usage := func(w io.Writer) {
		fmt.Fprint(w, `Usage:
  terraform-provider-netboot agent certs init   --dir DIR
  terraform-provider-netboot agent certs server --dir DIR --name NAME --host HOST[,HOST...]
  terraform-provider-netboot agent certs client --dir DIR --name NAME [--read-only]

init makes ca.pem/ca-key.pem; server and client write NAME.pem and NAME-key.pem signed by it.
Run the agent with --tls-cert NAME.pem --tls-key NAME-key.pem --client-ca ca.pem; give Terraform
ca_cert = ca.pem and a client pair. A --read-only client may read state and leases but change nothing.
`)
	}
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	if isHelp(args[0]) {
		usage(stdout)
		return 0
	}
	switch args[0] {
	case "init", "server", "client":
	default:
		fmt.Fprintf(stderr, "certs: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	fs := flag.NewFlagSet("certs "+args[0], flag.ContinueOnError)
	fs.Usage = func() { usage(fs.Output()); fmt.Fprint(fs.Output(), "\nFlags:\n"); fs.PrintDefaults() }
	dir := fs.String("dir", "", "directory holding the CA and the certificates")
	name := fs.String("name", "", "file name (without .pem) and common name of the certificate")
	hosts := fs.String("host", "", "server: comma-separated DNS names and IP addresses clients dial")
	readOnly := fs.Bool("read-only", false, "client: may read but not change the agent's objects")
	days := fs.Int("days", 825, "validity in days")
	if code, ok := parseFlags(fs, args[1:], stdout, stderr); !ok {
		return code
	}
	if *dir == "" {
		fmt.Fprintln(stderr, "certs: --dir is required")
		return 2
	}
	if *days < 1 {
		fmt.Fprintf(stderr, "certs %s: --days %d: a certificate must be valid for at least 1 day\n", args[0], *days)
		return 2
	}
	validity := time.Duration(*days) * 24 * time.Hour
	var err error
	switch args[0] {
	case "init":
		err = pki.InitCA(*dir, "netboot lab CA", validity)
	case "server", "client":
		if *name == "" {
			fmt.Fprintln(stderr, "certs: --name is required")
			return 2
		}
		req := pki.Request{Kind: pki.Client, CommonName: *name, ReadOnly: *readOnly, Validity: validity}
		if args[0] == "server" {
			req.Kind = pki.Server
			for _, h := range strings.Split(*hosts, ",") {
				if h = strings.TrimSpace(h); h != "" {
					req.Hosts = append(req.Hosts, h)
				}
			}
		}
		err = pki.Issue(*dir, *name, req)
	}
	if err != nil {
		fmt.Fprintf(stderr, "certs %s: %v\n", args[0], err)
		return 1
	}
	return 0
}
