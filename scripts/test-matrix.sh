#!/usr/bin/env bash
# Runs `npm test` (or the npm script given) under one or more Node.js binaries: the machine's own, or majors fetched
# from the npm registry by scripts/node-matrix.sh. The binary's directory goes first on PATH, so npm itself
# (`#!/usr/bin/env node`) and the npm script's `node` both run on it; the version found is printed and logged.
#
#   scripts/test-matrix.sh [system|<major>|/path/to/node ...] [-- <npm script> [args...]]
#   scripts/test-matrix.sh 22 24                 npm test on Node 22 and on Node 24
#   scripts/test-matrix.sh 24 -- test -- test/pool.test.ts
#
# Exit status: 0 when every run passed, else 1. Each run's output goes to node_modules/.cache/node-matrix/logs/.
set -uo pipefail
cd "$(dirname "$0")/.."
targets=()
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do targets+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
script=("$@")
[ "${#script[@]}" -gt 0 ] || script=(test)
[ "${#targets[@]}" -gt 0 ] || targets=(system 22 24)

logs="$PWD/node_modules/.cache/node-matrix/logs"
mkdir -p "$logs"
failed=0
summary=()
for target in "${targets[@]}"; do
  case "$target" in
    system) bin="$(command -v node)" ;;
    /*) bin="$target" ;;
    *) line="$(scripts/node-matrix.sh "$target")" || { summary+=("$target: could not fetch"); failed=1; continue; }
       bin="${line#*=}" ;;
  esac
  dir="$(dirname "$bin")"
  version="$(PATH="$dir:$PATH" node --version)"
  log="$logs/${version}-$(date +%Y%m%dT%H%M%S).log"
  echo "== npm run ${script[*]} on node $version ($bin)"
  start=$(date +%s.%N)
  # tsx is a loader for every supported major; type stripping in 22.18+/24 is not relied on (same path everywhere).
  PATH="$dir:$PATH" npm run --silent "${script[@]}" > "$log" 2>&1
  status=$?
  seconds=$(echo "$(date +%s.%N) - $start" | bc)
  tail -n 12 "$log" | sed 's/^/   /'
  summary+=("node $version: exit $status in ${seconds%.*} s, log $log")
  [ "$status" -eq 0 ] || failed=1
done
echo "== matrix"
printf '%s\n' "${summary[@]}"
exit "$failed"
