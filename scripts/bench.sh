#!/usr/bin/env bash
# `make bench`: the agent against the reference peers it replaces (Kea, tftpd-hpa,
# python's http.server, busybox httpd, radvd), side by side on network-namespace
# links in one run; prints the table and rewrites docs/benchmarks.md.
# Needs root. Installs the Debian packages it uses when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "make bench needs root (network namespaces, ports 69, 80, 547)" >&2; exit 1; }

scripts/packages.sh install bench

# -count=1: a cached pass would leave docs/benchmarks.md as it was.
NETBOOT_BENCH=1 NETBOOT_BENCH_OUT=docs/benchmarks.md \
  go test ./internal/lab/benchlab/ -run TestBenchmarks -count=1 -v -timeout 60m

# Terraform plan/apply time for 1, 100 and 1,000 boot entries: the real CLI
# and provider binary against an agent in a lab namespace.
if command -v terraform >/dev/null; then
  tf_table=$(mktemp)
  trap 'rm -f "$tf_table"' EXIT
  NETBOOT_BENCH=1 NETBOOT_BENCH_TF_OUT="$tf_table" \
    go test ./internal/terraform/provider/ -run TestTerraformScaling -count=1 -v -timeout 30m
  {
    printf '\n## Terraform: plan and apply for 1, 100 and 1,000 boot entries\n\n'
    printf '`TestTerraformScaling` in `internal/terraform/provider` (%s): one boot server, N `netboot_boot_entry` resources and one menu listing them, applied by the terraform CLI through the provider binary to an agent in a lab namespace. The second table is the same shape on Terraform'"'"'s built-in terraform_data: Terraform'"'"'s own share of the time. RPC counts come from one extra run through a counting gRPC proxy.\n\n' "$(terraform version | head -1)"
    cat "$tf_table"
  } >> docs/benchmarks.md
else
  echo "terraform not on PATH: the Terraform section of docs/benchmarks.md is left out" >&2
fi
