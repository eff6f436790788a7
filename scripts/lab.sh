#!/usr/bin/env bash
# `make lab`: a working IPv6-only netboot lab on this machine with the embedded
# default agent. Creates namespaces PREFIX-srv (the boot server side) and
# PREFIX-cli (a client), runs `terraform apply` of examples/lab inside
# PREFIX-srv (so the agent the provider launches serves that namespace's
# interface), then shows the main job from the client's side: the Router
# Advertisement (rdisc6), a DHCPv6 lease put on the client's interface
# (dhclient -6), start.ipxe fetched from that address (curl), and an unmodified
# iPXE in QEMU booting through the menu to a Linux kernel that prints a marker.
#
#   scripts/lab.sh up | down
#
# Environment:
#   LAB_PREFIX=nblab   names of this lab's namespaces, interfaces and .lab/ directory,
#                      so two people on one host keep separate labs (letters/digits, <= 10)
#   LAB_VM=1           0 skips the QEMU boot (also skipped, with a note, when QEMU or iPXE is missing)
#   LAB_VM_TIMEOUT=300 seconds the VM may take to print the marker (software emulation: 30-90 s)
#   LAB_KERNEL=PATH    the kernel the menu boots (default: the newest /boot/vmlinuz-*)
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=${LAB_PREFIX:-nblab}
[[ $PREFIX =~ ^[a-z][a-z0-9]{0,9}$ ]] || { echo "LAB_PREFIX=$PREFIX: want a lowercase letter then up to 9 letters or digits" >&2; exit 2; }
SRV=$PREFIX-srv CLI=$PREFIX-cli
SRV_IF=${PREFIX}0 CLI_IF=${PREFIX}1 BRIDGE=${PREFIX}b TAP=${PREFIX}t
SERVER_ADDR=2001:db8:1::1
WORK=$PWD/.lab/$PREFIX
STATE=$WORK/agent
MARKER=netboot-lab-booted
export PATH="$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin:$PATH"

kill_pidfile() { [ -f "$1" ] && kill "$(cat "$1")" 2>/dev/null || true; }

down() {
  kill_pidfile "$WORK/qemu.pid"
  kill_pidfile "$STATE/agent.pid"
  for ns in $CLI $SRV; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "/etc/netns/$ns"
  done
  rm -rf "$WORK"
  echo "lab $PREFIX down"
}

up() {
  [ "$(id -u)" = 0 ] || { echo "make lab needs root (network namespaces, DHCPv6 port 547)" >&2; exit 1; }
  for tool in ip terraform rdisc6 dhclient curl; do
    command -v $tool >/dev/null || { echo "missing $tool: run scripts/packages.sh install lab (make lab does)" >&2; exit 1; }
  done
  kernel=${LAB_KERNEL:-$(ls -1v /boot/vmlinuz-* 2>/dev/null | tail -n 1)}
  [ -r "$kernel" ] || { echo "no kernel to boot: install linux-image-amd64 or set LAB_KERNEL" >&2; exit 1; }
  down >/dev/null
  mkdir -p "$WORK/tf" "$STATE"
  for ns in $SRV $CLI; do
    ip netns add "$ns"
    mkdir -p "/etc/netns/$ns" && : > "/etc/netns/$ns/resolv.conf"   # clients never touch the host's resolv.conf
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    ip netns exec "$ns" ip link set lo up
  done
  ip link add "$SRV_IF" netns "$SRV" type veth peer name "$CLI_IF" netns "$CLI"
  ip netns exec "$CLI" sysctl -qw net.ipv6.conf.all.accept_ra=2 net.ipv6.conf.default.accept_ra=2
  ip netns exec "$SRV" ip link set "$SRV_IF" up
  ip netns exec "$CLI" ip link set "$CLI_IF" up
  ip netns exec "$SRV" ip -6 addr add $SERVER_ADDR/64 dev "$SRV_IF" nodad
  for _ in $(seq 50); do
    ip netns exec "$SRV" ip -6 addr show dev "$SRV_IF" | grep -q tentative || break; sleep 0.1
  done

  # Terraform uses the provider built here, with no registry download.
  cat > "$WORK/terraformrc" <<RC
provider_installation {
  dev_overrides { "registry.terraform.io/netbootlab/netboot" = "$PWD" }
  direct {}
}
RC
  cp examples/lab/main.tf "$WORK/tf/"
  echo "== terraform apply (in namespace $SRV, embedded default agent, state in $STATE)"
  TF_CLI_CONFIG_FILE="$WORK/terraformrc" ip netns exec "$SRV" \
    terraform -chdir="$WORK/tf" apply -auto-approve -input=false \
    -var "interface=$SRV_IF" -var "state_dir=$STATE" -var "kernel=$kernel" -var "marker=$MARKER"
  echo "== the agent keeps running after terraform exits: pid $(cat "$STATE/agent.pid"), log $STATE/agent.log"

  echo "== a client in $CLI sees the Router Advertisement"
  ip netns exec "$CLI" rdisc6 -1 -w 3000 "$CLI_IF"
  echo "== a client in $CLI gets an address by DHCPv6 and puts it on $CLI_IF"
  printf 'also request dhcp6.name-servers, dhcp6.domain-search;\n' > "$WORK/dhclient6.conf"
  # -sf /bin/true: the lab adds the address itself, so no script runs in the namespace.
  ip netns exec "$CLI" dhclient -6 -1 -v -sf /bin/true -cf "$WORK/dhclient6.conf" \
    -lf "$WORK/dhclient6.leases" -pf "$WORK/dhclient6.pid" "$CLI_IF" 2>&1 | grep -E 'Reply|Bound|address' || true
  # dhclient -1 returns once bound; its background process writes the lease file a moment later.
  for _ in $(seq 50); do grep -q iaaddr "$WORK/dhclient6.leases" && break; sleep 0.1; done
  kill_pidfile "$WORK/dhclient6.pid"
  grep -E 'iaaddr|name-servers|domain-search' "$WORK/dhclient6.leases"
  addr=$(awk '/iaaddr/ {print $2; exit}' "$WORK/dhclient6.leases")
  [ -n "$addr" ] || { echo "no address leased; see $STATE/agent.log" >&2; exit 1; }
  # A /128, as DHCPv6 grants: the RA's on-link prefix gives the route.
  ip netns exec "$CLI" ip -6 addr add "$addr/128" dev "$CLI_IF" nodad
  ip netns exec "$CLI" ip -6 addr show dev "$CLI_IF" scope global
  echo "== from $addr, the script iPXE fetches first: http://[$SERVER_ADDR]/start.ipxe"
  ip netns exec "$CLI" curl -sS -g --fail --interface "$addr" "http://[$SERVER_ADDR]/start.ipxe" | sed 's/^/   /'

  boot_vm
  echo "== lab $PREFIX is up. Try: ip netns exec $CLI bash   |   make lab-down"
}

# An unmodified iPXE (Debian's ipxe.lkrn under SeaBIOS) on a tap bridged to
# the client's side of the link: RA, DHCPv6 with user class iPXE, start.ipxe,
# the menu, whose default entry boots the kernel with the marker on its
# command line.
boot_vm() {
  if [ "${LAB_VM:-1}" = 0 ]; then echo "== LAB_VM=0: no VM boot"; return; fi
  if ! command -v qemu-system-x86_64 >/dev/null || [ ! -r /usr/lib/ipxe/ipxe.lkrn ]; then
    echo "== no VM boot: needs qemu-system-x86_64 and /usr/lib/ipxe/ipxe.lkrn (scripts/packages.sh install lab)"
    return
  fi
  local timeout=${LAB_VM_TIMEOUT:-300} serial=$WORK/serial.log
  ip netns exec "$CLI" ip link add "$BRIDGE" type bridge
  ip netns exec "$CLI" ip link set "$CLI_IF" master "$BRIDGE"
  ip netns exec "$CLI" ip tuntap add "$TAP" mode tap
  ip netns exec "$CLI" ip link set "$TAP" master "$BRIDGE"
  ip netns exec "$CLI" ip link set "$TAP" up
  ip netns exec "$CLI" ip link set "$BRIDGE" up
  echo "== a VM boots iPXE on the link, through the menu to the kernel (up to ${timeout}s; LAB_VM=0 skips)"
  ip netns exec "$CLI" qemu-system-x86_64 -m 512 -nographic -no-reboot -monitor none \
    -kernel /usr/lib/ipxe/ipxe.lkrn -netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no" \
    -device virtio-net-pci,netdev=n0,romfile= -serial "file:$serial" >"$WORK/qemu.out" 2>&1 &
  echo $! > "$WORK/qemu.pid"
  local start=$SECONDS
  until grep -q "$MARKER" "$serial" 2>/dev/null; do
    if ! kill -0 "$(cat "$WORK/qemu.pid")" 2>/dev/null || (( SECONDS - start > timeout )); then
      kill_pidfile "$WORK/qemu.pid"
      echo "the VM did not reach the kernel in $((SECONDS - start))s; console ($serial):" >&2
      tr -d '\r' < "$serial" | tail -n 30 >&2
      exit 1
    fi
    sleep 1
  done
  kill_pidfile "$WORK/qemu.pid"
  tr -d '\r' < "$serial" | grep -aE 'iPXE initialising|ok$|start.ipxe|vmlinuz|Command line|command line' | sed 's/^/   /' | head -n 12
  echo "== the menu's default entry booted the kernel in $((SECONDS - start))s (marker $MARKER on its console)"
}

case "${1:-}" in
  up) up ;; down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
