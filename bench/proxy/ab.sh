#!/bin/bash
# A/B of two switchyard builds against HAProxy `nbthread 1`: the proxy's CPU time per connection (MODE=rate, 50
# concurrent clients, 64-byte echo) or per GB relayed (MODE=bulk, 8 streams backend→client), runs of 3.5 s
# alternating A, B, HAProxy (reversed every other round, after two unmeasured rounds), then the mean of each.
# Builds: directories of a tsc build of src/ (as bench:proxy makes build/bench-proxy/), e.g. for a commit:
#   git worktree add /tmp/old <commit> && ln -s "$PWD/node_modules" /tmp/old/node_modules
#   (cd /tmp/old && node node_modules/typescript/bin/tsc -p tsconfig.build.json --outDir "$OLDPWD/build/ab-old" --declaration false --declarationMap false --sourceMap false)
#   flock /tmp/switchyard-bench.lock bench/proxy/ab.sh build/ab-old build/bench-proxy [rounds]
# ENV_A / ENV_B: environment for one side (ENV_B=SWITCHYARD_NO_RAW_RELAY=1: the same build on net.Socket).
# Loopback only; every run is bounded by its seconds; the processes it starts are killed by PID at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
A=$1
B=$2
rounds=${3:-6}
mode=${MODE:-rate}
node=${NODE:-node}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
gcc -O2 -o "$tmp/loadgen" bench/proxy/loadgen.c
taskset -c 0 "$tmp/loadgen" serve echo 3 > "$tmp/echo.out" & pids+=($!)
taskset -c 0 "$tmp/loadgen" serve source 3 > "$tmp/source.out" & pids+=($!)
for _ in $(seq 50); do [ -s "$tmp/echo.out" ] && [ -s "$tmp/source.out" ] && break; sleep 0.1; done
echo_ports=$(head -1 "$tmp/echo.out" | cut -d' ' -f2- | tr ' ' ',')
source_ports=$(head -1 "$tmp/source.out" | cut -d' ' -f2- | tr ' ' ',')
groups="{\"echo\":[$echo_ports],\"source\":[$source_ports]}"
env ${ENV_A:-} taskset -c 1 "$node" bench/proxy/switchyard-proxy.mjs "$A" "$groups" > "$tmp/a.out" & pid_a=$!; pids+=($pid_a)
env ${ENV_B:-} taskset -c 1 "$node" bench/proxy/switchyard-proxy.mjs "$B" "$groups" > "$tmp/b.out" & pid_b=$!; pids+=($pid_b)
for _ in $(seq 100); do [ -s "$tmp/a.out" ] && [ -s "$tmp/b.out" ] && break; sleep 0.1; done
# switchyard-proxy.mjs prints "LISTENING <echo port> <source port>"
field=$([ "$mode" = bulk ] && echo 3 || echo 2)
port_a=$(head -1 "$tmp/a.out" | cut -d' ' -f"$field")
port_b=$(head -1 "$tmp/b.out" | cut -d' ' -f"$field")
port_h=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
backends=$([ "$mode" = bulk ] && echo "$source_ports" || echo "$echo_ports")
{
  printf 'global\n  nbthread 1\n  maxconn 4000\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n'
  printf 'frontend f\n  bind 127.0.0.1:%s\n  default_backend b\nbackend b\n  balance roundrobin\n' "$port_h"
  i=1
  for p in ${backends//,/ }; do printf '  server s%d 127.0.0.1:%s\n' $i "$p"; i=$((i + 1)); done
} > "$tmp/haproxy.cfg"
taskset -c 1 /usr/sbin/haproxy -db -f "$tmp/haproxy.cfg" & pid_h=$!; pids+=($pid_h)
sleep 1
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# One run: prints "<name> <conn/s or MB/s> <µs CPU per connection or ms CPU per GB>".
run() {
  local pid=$1 port=$2 name=$3 before after out n
  before=$(cpu_ticks "$pid")
  if [ "$mode" = bulk ]; then
    out=$(taskset -c 0 "$tmp/loadgen" bulk "$port" 8 0.5 3)
    n=$(echo "$out" | sed -n 's/^BULK \([0-9]*\).*/\1/p')
    after=$(cpu_ticks "$pid")
    awk -v t=$((after - before)) -v n="$n" -v name="$name" 'BEGIN { printf "%s %.0f %.1f\n", name, n / 1e6, t * 10 / (n * 3.5 / 1e9) }'
  else
    out=$(taskset -c 0 "$tmp/loadgen" rate "$port" 50 0.5 3)
    n=$(echo "$out" | sed -n 's/^RATE \([0-9]*\).*/\1/p')
    after=$(cpu_ticks "$pid")
    awk -v t=$((after - before)) -v n="$n" -v name="$name" 'BEGIN { printf "%s %.0f %.1f\n", name, n, t * 10000 / (n * 3.5) }'
  fi
}
for _ in 1 2; do run $pid_a "$port_a" A > /dev/null; run $pid_b "$port_b" B > /dev/null; run $pid_h "$port_h" H > /dev/null; done
for r in $(seq "$rounds"); do
  if [ $((r % 2)) = 1 ]; then run $pid_a "$port_a" A; run $pid_b "$port_b" B; run $pid_h "$port_h" H
  else run $pid_h "$port_h" H; run $pid_b "$port_b" B; run $pid_a "$port_a" A; fi
done | tee "$tmp/results"
unit=$([ "$mode" = bulk ] && echo "MB/s, ms CPU per GB" || echo "conn/s, µs CPU per connection")
echo "means ($unit), A = $A, B = $B, H = HAProxy nbthread 1:"
awk '{ n[$1]++; x[$1] += $2; c[$1] += $3 } END { for (k in n) printf "  %s %.0f %.1f\n", k, x[k] / n[k], c[k] / n[k] }' "$tmp/results" | sort
