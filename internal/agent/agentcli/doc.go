// Package agentcli is the agent's command line: `terraform-provider-netboot
// agent` with its flags, which runs the daemon (package agent), and the
// operator commands that talk to a running agent through its gRPC API
// (status, leases, objects, logs), keep its state file (db) and make its
// certificates (certs).
package agentcli
