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
# fuzz_once runs one target. A bare "context deadline exceeded" with no
# failing input written is Go's fuzz coordinator racing its own -fuzztime
# deadline on a busy machine (golang/go#75804, fixed in Go 1.27), not a
# finding: that run is made once more. Anything else fails at once.
fuzz_once() {
  local out
  out=$(mktemp)
  go test -run '^$' -fuzz "^$2\$" -fuzztime "$fuzztime" "$1" 2>&1 | tee "$out"
  local rc=${PIPESTATUS[0]}
  if ((rc != 0)) && grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input written\|panic:' "$out"; then
    echo "== $1 $2: the fuzz coordinator's deadline race, not a finding; running it again"
    go test -run '^$' -fuzz "^$2\$" -fuzztime "$fuzztime" "$1"
    rc=$?
  fi
  rm -f "$out"
  return "$rc"
}
for pkg in $pkgs; do
  dir=$(go list -f '{{.Dir}}' "$pkg") || { failed+=("$pkg (go list)"); continue; }
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
    echo "== $pkg $target ($fuzztime)"
    if ! fuzz_once "$pkg" "$target"; then
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
