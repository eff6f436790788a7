#!/usr/bin/env bash
# Runs `terraform validate` on every directory under examples/ that holds .tf
# files, against the provider built from this tree, and checks their format.
# Prints one line per directory; on failure prints terraform's message and
# exits 1 after checking every directory.
#
# It works offline: a dev_overrides CLI configuration points Terraform at the
# fresh build, so no directory needs `terraform init` for netboot, and local
# module calls are installed by `terraform get`, which downloads nothing. An
# example that needs any other provider fails, since CI cannot download it.
#
# The examples are validated in a copy, so no .terraform directory or lock
# file is left in the tree. The fragments that tfplugindocs renders
# (examples/resources/*, examples/data-sources/*, examples/provider) carry no
# terraform block; the copy gets one naming netbootlab/netboot. Every other
# example must declare required_providers itself.
#
# terraform validate takes every input variable as unknown, so values that
# reach a resource through a variable or a module input are not checked by
# the provider there. A directory with a plan.tfvars is therefore also
# planned with it, against a private agent in a temporary state directory
# (as root, which the agent needs; skipped otherwise): plan runs the
# provider's checks on the real values and creates nothing.
#
# Usage: scripts/validate-examples.sh   (TERRAFORM=/path/to/terraform to pick one)
set -euo pipefail
cd "$(dirname "$0")/.."

terraform=${TERRAFORM:-terraform}
command -v "$terraform" >/dev/null || { echo "validate-examples: $terraform not found; install Terraform >= 1.5 or set TERRAFORM" >&2; exit 1; }

work=$(mktemp -d)
agent_pid=
cleanup() {
  if [[ -n $agent_pid ]]; then
    kill "$agent_pid" 2>/dev/null || true
    wait "$agent_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/bin/terraform-provider-netboot" .

cat >"$work/terraformrc" <<EOF
provider_installation {
  dev_overrides {
    "registry.terraform.io/netbootlab/netboot" = "$work/bin"
  }
  direct {}
}
EOF
export TF_CLI_CONFIG_FILE="$work/terraformrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
unset TF_CLI_ARGS TF_CLI_ARGS_validate TF_DATA_DIR

cp -r examples "$work/examples"
find "$work/examples" \( -name .terraform -o -name .terraform.lock.hcl -o -name '*.tfstate*' \) -prune -exec rm -rf {} +

# start_agent runs the agent the plans talk to, once; the provider finds it
# by NETBOOT_STATE_DIR and so launches none itself.
start_agent() {
  [[ -z $agent_pid ]] || return 0
  mkdir -p "$work/agent"
  "$work/bin/terraform-provider-netboot" agent --state-dir "$work/agent" >"$work/agent.log" 2>&1 &
  agent_pid=$!
  export NETBOOT_STATE_DIR="$work/agent"
  unset NETBOOT_ENDPOINT
  for _ in $(seq 50); do
    [[ -S $work/agent/agent.sock ]] && return 0
    kill -0 "$agent_pid" 2>/dev/null || break
    sleep 0.2
  done
  echo "validate-examples: the agent did not start:" >&2
  cat "$work/agent.log" >&2
  return 1
}

# Terraform's text output less its warning that dev_overrides are in effect,
# which every command prints here.
quiet() {
  sed -e '/Provider development overrides are in effect/,/^releases\.$/d' \
    -e '/^Skip terraform init when using provider development overrides/,/^necessary and may error unexpectedly\.$/d' |
    sed -e '/^Success! The configuration is valid/,$d' | cat -s
}

failed=()
fail() { # dir, message
  printf 'FAIL %s\n' "$1"
  sed -e '/./,$!d' -e 's/^/     /' <<<"$2"
  failed+=("$1")
}

if ! out=$("$terraform" fmt -check -recursive -list=true examples 2>&1); then
  fail "examples (terraform fmt)" "files need terraform fmt: $out"
else
  echo "ok   examples (terraform fmt)"
fi

while IFS= read -r dir; do
  rel=${dir#"$work"/}
  case $rel in
  examples/resources/* | examples/data-sources/* | examples/ephemeral-resources/* | examples/functions/* | examples/provider)
    cat >"$dir/zz_validate_examples.tf" <<'EOF'
terraform {
  required_providers {
    netboot = {
      source = "registry.terraform.io/netbootlab/netboot"
    }
  }
}
EOF
    ;;
  esac

  if grep -Eqs '^[[:space:]]*module[[:space:]]+"' "$dir"/*.tf; then
    if ! out=$(cd "$dir" && "$terraform" get -no-color 2>&1); then
      fail "$rel" "$(quiet <<<"$out")"
      continue
    fi
  fi

  if ! out=$(cd "$dir" && "$terraform" providers -no-color 2>&1); then
    fail "$rel" "$(quiet <<<"$out")"
    continue
  fi
  others=$(grep -o 'provider\[[^]]*\]' <<<"$out" | sed 's/^provider\[\(.*\)\]$/\1/' |
    grep -v -e '^registry\.terraform\.io/netbootlab/netboot$' -e '^terraform\.io/builtin/terraform$' | sort -u || true)
  if grep -qx 'registry.terraform.io/hashicorp/netboot' <<<"$others"; then
    fail "$rel" "uses netboot_* without declaring the provider: add terraform { required_providers { netboot = { source = \"registry.terraform.io/netbootlab/netboot\" } } }"
    continue
  elif [[ -n $others ]]; then
    fail "$rel" "needs provider(s) $(paste -sd ' ' <<<"$others"): examples may use only netbootlab/netboot, since CI cannot download providers"
    continue
  fi

  if ! out=$(cd "$dir" && "$terraform" validate -no-color 2>&1); then
    fail "$rel" "$(quiet <<<"$out")"
    continue
  fi
  if [[ -f $dir/plan.tfvars ]]; then
    if ((EUID != 0)); then
      echo "ok   $rel (plan skipped: the agent needs root)"
      continue
    fi
    start_agent
    if ! out=$(cd "$dir" && "$terraform" plan -no-color -input=false -lock=false -refresh=false -var-file=plan.tfvars 2>&1); then
      # The planned actions before the first error are noise here.
      msg=$(quiet <<<"$out" | sed -n '/^Error: /,$p')
      fail "$rel (plan)" "${msg:-$(quiet <<<"$out")}"
      continue
    fi
    echo "ok   $rel (validate, plan)"
    continue
  fi
  echo "ok   $rel"
done < <(find "$work/examples" -name '*.tf' -not -path '*/.terraform/*' -printf '%h\n' | sort -u)

if ((${#failed[@]})); then
  echo "validate-examples: ${#failed[@]} failed: ${failed[*]}" >&2
  exit 1
fi
echo "validate-examples: every example is valid"
