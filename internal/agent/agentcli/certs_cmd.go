package agentcli

import (
	"flag"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/wire/pki"
)

// certsMain runs `agent certs init|server|client|boot-server`: a lab CA and
// its certificates, so mutual TLS and a boot server's HTTPS need no openssl
// recipes.
func certsMain(args []string, stdout, stderr io.Writer) int {
	usage := func(w io.Writer) {
		fmt.Fprint(w, `Usage:
  terraform-provider-netboot agent certs init   --dir DIR
  terraform-provider-netboot agent certs server --dir DIR --name NAME --host HOST[,HOST...]
  terraform-provider-netboot agent certs client --dir DIR --name NAME [--read-only]
  terraform-provider-netboot agent certs boot-server --dir DIR --name NAME --host ADDRESS[,HOST...]

init makes ca.pem/ca-key.pem; server, client and boot-server write NAME.pem and NAME-key.pem signed by it.
Run the agent with --tls-cert NAME.pem --tls-key NAME-key.pem --client-ca ca.pem; give Terraform
ca_cert = ca.pem and a client pair. A --read-only client may read state and leases but change nothing.
boot-server is a boot server's HTTPS certificate (boot.https): --host names its boot address (its
https_url_base) and any names clients use. Booting machines must trust ca.pem, so keep a CA of its
own for boot servers (another --dir) apart from the one that admits Terraform.
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
	case "init", "server", "client", "boot-server":
	default:
		fmt.Fprintf(stderr, "certs: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	cmd := args[0]
	fs := flag.NewFlagSet("certs "+cmd, flag.ContinueOnError)
	fs.Usage = func() { usage(fs.Output()); fmt.Fprint(fs.Output(), "\nFlags of certs "+cmd+":\n"); fs.PrintDefaults() }
	// Each command takes only the flags it uses.
	dir := fs.String("dir", "", "directory holding the CA and the certificates")
	days := fs.Int("days", 825, "validity in days")
	var name, hosts *string
	var readOnly *bool
	if cmd != "init" {
		name = fs.String("name", "", "file name (without .pem) and common name of the certificate")
	}
	switch cmd {
	case "server":
		hosts = fs.String("host", "", "comma-separated DNS names and IP addresses clients dial, e.g. boot-a.example,2001:db8:a::2")
	case "boot-server":
		hosts = fs.String("host", "", "comma-separated boot addresses and DNS names in the boot server's URLs, e.g. 2001:db8:1::1")
	case "client":
		readOnly = fs.Bool("read-only", false, "may read but not change the agent's objects")
	}
	if code, ok := parseFlags(fs, args[1:], stdout, stderr); !ok {
		return code
	}
	if *dir == "" {
		fmt.Fprintf(stderr, "certs %s: --dir is required\n", cmd)
		return 2
	}
	if *days < 1 {
		fmt.Fprintf(stderr, "certs %s: --days %d: a certificate must be valid for at least 1 day\n", cmd, *days)
		return 2
	}
	validity := time.Duration(*days) * 24 * time.Hour
	if cmd == "init" {
		if err := pki.InitCA(*dir, "netboot lab CA", validity); err != nil {
			fmt.Fprintf(stderr, "certs init: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "wrote %s and %s: the agent's --client-ca and the provider's ca_cert are %[1]s; keep %[2]s private\n",
			filepath.Join(*dir, "ca.pem"), filepath.Join(*dir, "ca-key.pem"))
		return 0
	}
	if *name == "" {
		fmt.Fprintf(stderr, "certs %s: --name is required\n", cmd)
		return 2
	}
	req := pki.Request{Kind: pki.Client, CommonName: *name, Validity: validity}
	if cmd == "server" || cmd == "boot-server" {
		req.Kind = pki.Server
		for _, h := range strings.Split(*hosts, ",") {
			if h = strings.TrimSpace(h); h != "" {
				req.Hosts = append(req.Hosts, h)
			}
		}
		if len(req.Hosts) == 0 {
			fmt.Fprintf(stderr, "certs %s: --host is required: the names and addresses clients dial, e.g. --host boot-a.example,2001:db8:a::2\n", cmd)
			return 2
		}
		// A boot server's URLs carry its address, never a name, so the
		// certificate must name the address.
		if cmd == "boot-server" && !slices.ContainsFunc(req.Hosts, func(h string) bool { return net.ParseIP(h) != nil }) {
			fmt.Fprintf(stderr, "certs boot-server: --host %s names no IP address: boot URLs carry the boot address (the boot server's https_url_base), so include it, e.g. --host 2001:db8:1::1\n", *hosts)
			return 2
		}
	} else {
		req.ReadOnly = *readOnly
	}
	if err := pki.Issue(*dir, *name, req); err != nil {
		fmt.Fprintf(stderr, "certs %s: %v\n", cmd, err)
		return 1
	}
	cert, key := filepath.Join(*dir, *name+".pem"), filepath.Join(*dir, *name+"-key.pem")
	if cmd == "boot-server" {
		fmt.Fprintf(stdout, "wrote %[1]s and %[2]s for %[3]s: set boot.https.certificate_pem = file(%[1]q) and "+
			"boot.https.private_key_pem = file(%[2]q); booting machines must trust %[4]s (curl --cacert, cloud-init ca_certs)\n",
			cert, key, strings.Join(req.Hosts, ", "), filepath.Join(*dir, "ca.pem"))
		return 0
	}
	if cmd == "server" {
		fmt.Fprintf(stdout, "wrote %[1]s and %[2]s for %[3]s: run the agent with --tls-cert %[1]s --tls-key %[2]s --client-ca %[4]s\n",
			cert, key, strings.Join(req.Hosts, ", "), filepath.Join(*dir, "ca.pem"))
		return 0
	}
	role := "read-write"
	if req.ReadOnly {
		role = "read-only"
	}
	fmt.Fprintf(stdout, "wrote %s and %s (%s): the provider's client_cert and client_key, or --client-cert and --client-key of agent status\n",
		cert, key, role)
	return 0
}
