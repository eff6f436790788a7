#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a short while each (default 10s).
# Corpora that find crashes land in the package's testdata/fuzz/ and are kept.
# A failing target does not stop the others: every failure is listed at the
# end, and the script exits non-zero if there was any.
set -uo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-10s}
pkgs=$(go list ./...) || exit 1
failed=()
for pkg in $pkgs; do
  dir=$(go list -f '{{.Dir}}' "$pkg") || { failed+=("$pkg (go list)"); continue; }
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
    echo "== $pkg $target ($fuzztime)"
    if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"; then
      failed+=("$pkg $target")
    fi
  done
done
if ((${#failed[@]})); then
  echo "== ${#failed[@]} fuzz target(s) failed:" >&2
  printf '   %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "== every fuzz target passed"
