#!/usr/bin/env bash
# `make lab`: a working IPv6 netboot lab on this machine with the embedded
# default agent. Creates namespaces nblab-srv (the boot server side) and
# nblab-cli (a client), runs `terraform apply` of examples/lab inside nblab-srv
# (so the agent the provider launches serves that namespace's interface), then
# shows a client's view: the RA (rdisc6) and a DHCPv6 lease (dhclient -6).
#   scripts/lab.sh up | down
set -euo pipefail
cd "$(dirname "$0")/.."
SRV=nblab-srv CLI=nblab-cli
SRV_IF=nblab0 CLI_IF=nblab1
WORK=$PWD/.lab
STATE=$WORK/agent

down() {
  if [ -f "$STATE/agent.pid" ]; then kill "$(cat "$STATE/agent.pid")" 2>/dev/null || true; fi
  for ns in $CLI $SRV; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "/etc/netns/$ns"
  done
  rm -rf "$WORK"
  echo "lab down"
}

up() {
  [ "$(id -u)" = 0 ] || { echo "make lab needs root (network namespaces, DHCPv6 port 547)" >&2; exit 1; }
  for tool in ip terraform rdisc6 dhclient; do
    command -v $tool >/dev/null || { echo "missing $tool: apt-get install iproute2 ndisc6 isc-dhcp-client (terraform: see README)" >&2; exit 1; }
  done
  down >/dev/null
  mkdir -p "$WORK/tf" "$STATE"
  for ns in $SRV $CLI; do
    ip netns add $ns
    mkdir -p /etc/netns/$ns && : > /etc/netns/$ns/resolv.conf   # clients never touch the host's resolv.conf
    ip netns exec $ns sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    ip netns exec $ns ip link set lo up
  done
  ip link add $SRV_IF netns $SRV type veth peer name $CLI_IF netns $CLI
  ip netns exec $CLI sysctl -qw net.ipv6.conf.all.accept_ra=2 net.ipv6.conf.default.accept_ra=2
  ip netns exec $SRV ip link set $SRV_IF up
  ip netns exec $CLI ip link set $CLI_IF up
  ip netns exec $SRV ip -6 addr add 2001:db8:1::1/64 dev $SRV_IF nodad
  for _ in $(seq 50); do
    ip netns exec $SRV ip -6 addr show dev $SRV_IF | grep -q tentative || break; sleep 0.1
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
  TF_CLI_CONFIG_FILE="$WORK/terraformrc" ip netns exec $SRV \
    terraform -chdir="$WORK/tf" apply -auto-approve -input=false \
    -var "interface=$SRV_IF" -var "state_dir=$STATE"
  echo "== the agent keeps running after terraform exits: pid $(cat "$STATE/agent.pid"), log $STATE/agent.log"

  echo "== a client in $CLI sees the Router Advertisement"
  ip netns exec $CLI rdisc6 -1 -w 3000 $CLI_IF
  echo "== a client in $CLI gets an address by DHCPv6"
  printf 'also request dhcp6.name-servers, dhcp6.domain-search;\n' > "$WORK/dhclient6.conf"
  ip netns exec $CLI dhclient -6 -1 -v -sf /bin/true -cf "$WORK/dhclient6.conf" \
    -lf "$WORK/dhclient6.leases" -pf "$WORK/dhclient6.pid" $CLI_IF 2>&1 | grep -E 'Reply|Bound|address' || true
  grep -E 'iaaddr|name-servers|domain-search' "$WORK/dhclient6.leases"
  echo "== lab is up. Try: ip netns exec $CLI bash   |   make lab-down"
}

case "${1:-}" in
  up) up ;; down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
