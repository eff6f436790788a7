#!/usr/bin/env bash
# The one list of what this project needs from the system, by purpose, and an
# installer for what is missing. `make lab`, `make test`, `make bench` and CI
# (.ci/run) all call it, so a fresh Debian 12 machine with Go needs nothing else.
#   scripts/packages.sh install lab|test|bench   install what that job lacks (root)
#   scripts/packages.sh list lab|test|bench      print the Debian packages
set -euo pipefail
cd "$(dirname "$0")/.."

# The lab: namespaces, the client's view (rdisc6, dhclient, curl) and a VM
# booting iPXE through the menu (qemu, Debian's iPXE builds, a kernel).
lab=(iproute2 ndisc6 isc-dhcp-client curl ca-certificates git make qemu-system-x86 ipxe linux-image-amd64)
# Every test: the lab's, plus the other real clients and tools the protocol
# and acceptance tests drive; the Secure Boot boot runs Debian's signed shim
# and GRUB under OVMF's Secure Boot build (ovmf), and GRUB's own parser
# checks the rendered grub.cfg (grub-common); the arm64 boot runs in
# qemu-system-aarch64 on AAVMF (qemu-system-arm, qemu-efi-aarch64; its arm64
# shim, GRUB and kernel come from scripts/arm64-chain.sh); the shared lease database
# tests start their own PostgreSQL (postgresql); the relayed-link tests run
# ISC's DHCPv6 relay (isc-dhcp-relay).
test=("${lab[@]}" radvd isc-dhcp-relay kea-dhcp6-server tftp-hpa bind9-dnsutils unzip protobuf-compiler busybox-static ovmf nfs-common kea-admin tshark systemd shim-signed grub-efi-amd64-signed grub-common postgresql qemu-system-arm qemu-efi-aarch64)
# The benchmark's reference peers.
bench=("${test[@]}" tftpd-hpa)

# The Terraform CLI the lab and the acceptance tests drive, when none is on PATH.
terraform_module=github.com/hashicorp/terraform@v1.5.7

job=${2:-}
case "$job" in
  lab) packages=("${lab[@]}") ;;
  test) packages=("${test[@]}") ;;
  bench) packages=("${bench[@]}") ;;
  *) echo "usage: $0 install|list lab|test|bench" >&2; exit 2 ;;
esac

case "${1:-}" in
  list) printf '%s\n' "${packages[@]}"; exit 0 ;;
  install) ;;
  *) echo "usage: $0 install|list lab|test|bench" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "missing Debian packages: ${missing[*]}; run as root to install them" >&2; exit 1; }
  echo "== installing ${missing[*]}"
  # Install, but start none of their services on the host: the lab and the
  # tests run each server themselves, inside their own namespaces.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
fi

if ! command -v terraform >/dev/null; then
  echo "== installing terraform ($terraform_module, built by go install: a few minutes)"
  go install "$terraform_module"
fi
