#!/usr/bin/env bash
# Fetches Node.js binaries for the test matrix from the npm registry only (the `node` package's platform builds,
# `node-linux-<arch>@<major>`), caches them under node_modules/.cache/node-matrix/<major>/, and prints one line per
# major: `NODE_<major>=<absolute path of bin/node>` (eval-able: `eval "$(scripts/node-matrix.sh 22 24)"`).
#
#   scripts/node-matrix.sh [major|x.y.z ...]     default: 22 24 (an exact version such as 20.2.0 works too:
#                                                 the cache entry and the variable are named after it, NODE_20_2_0)
#   NODE_MATRIX_REFRESH=1 scripts/...      ask the registry again for the newest release of each major
#
# Idempotent: a cached binary that runs and reports the expected major is used as is, with no network at all.
# The only network access is `npm pack` against the configured npm registry. Progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD/node_modules/.cache/node-matrix"
majors=("$@")
[ "${#majors[@]}" -gt 0 ] || majors=(22 24)

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) platform=linux-x64 ;;
  Linux-aarch64) platform=linux-arm64 ;;
  *) echo "node-matrix: no registry build for $(uname -s)-$(uname -m)" >&2; exit 2 ;;
esac

for major in "${majors[@]}"; do
  if ! [[ "$major" =~ ^[0-9]+(\.[0-9]+\.[0-9]+)?$ ]]; then echo "node-matrix: a major version (22) or an exact one (20.2.0), got '$major'" >&2; exit 2; fi
  var="NODE_${major//./_}"
  # A major matches any vMAJOR.*; an exact version only itself.
  if [[ "$major" == *.* ]]; then want="v$major"; else want="v$major."; fi
  dir="$root/$major"
  bin="$dir/bin/node"
  if [ "${NODE_MATRIX_REFRESH:-}" != 1 ] && [ -x "$bin" ] && [[ "$("$bin" --version 2>/dev/null)" == "$want"* ]]; then
    echo "$var=$bin"
    continue
  fi
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "node-matrix: npm pack node-$platform@$major" >&2
  # --json reports the exact version and file name that the range resolved to.
  json="$(cd "$tmp" && npm pack "node-$platform@$major" --json --silent --no-fund --no-audit)"
  file="$(printf '%s' "$json" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[0].filename))')"
  version="$(printf '%s' "$json" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[0].version))')"
  staging="$tmp/x"
  mkdir -p "$staging"
  tar -xzf "$tmp/$file" -C "$staging" --strip-components=1 package/bin/node package/LICENSE
  got="$("$staging/bin/node" --version)"
  if [[ "$got" != "$want"* ]]; then echo "node-matrix: node-$platform@$major unpacked to $got" >&2; exit 3; fi
  # Replace the cache entry whole, so an interrupted run never leaves a half-written binary behind.
  rm -rf "$dir.new" && mkdir -p "$root" && mv "$staging" "$dir.new" && rm -rf "$dir" && mv "$dir.new" "$dir"
  printf '%s\n' "$version" > "$dir/VERSION"
  rm -rf "$tmp"
  trap - EXIT
  echo "node-matrix: node $got cached in $dir" >&2
  echo "$var=$bin"
done
