#!/usr/bin/env bash
# `make lint`: the systemd unit in packaging/ is valid (systemd-analyze verify,
# with ExecStart= pointing at a binary built from this tree).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v systemd-analyze >/dev/null || { echo "check-packaging: systemd-analyze not found (Debian package systemd)" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/terraform-provider-netboot" .
for unit in packaging/systemd/*.service; do
  sed "s#/usr/local/bin/terraform-provider-netboot#$dir/terraform-provider-netboot#" "$unit" > "$dir/$(basename "$unit")"
  systemd-analyze verify "$dir/$(basename "$unit")"
  echo "check-packaging: $unit ok"
done
