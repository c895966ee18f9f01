#!/bin/bash
# CPU time per thread of the switchyard bench proxy during one connection-rate run (50 concurrent clients):
# how much of a proxied connection the main thread (grants) and each worker thread (accept, dial, relay) spend.
# Needs a build first (npm run bench:proxy makes build/bench-proxy/). Wrap it in the bench lock:
#   flock /tmp/switchyard-bench.lock bench/proxy/thread-cpu.sh <threads> [seconds]      (0 = one TcpProxy; n: the main thread and n - 1 workers, SWITCHYARD_MAIN_ACCEPTS=0: n workers)
#   NODE=node_modules/.cache/node-matrix/22/bin/node flock /tmp/switchyard-bench.lock bench/proxy/thread-cpu.sh 2
# Loopback only; the processes it starts are killed by PID at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-2}
seconds=${2:-2}
node=${NODE:-node}
tmp=$(mktemp -d)
trap 'kill ${P:-} ${E:-} 2>/dev/null || true; rm -rf "$tmp"' EXIT
gcc -O2 -o "$tmp/loadgen" bench/proxy/loadgen.c
taskset -c 0 "$tmp/loadgen" serve echo 3 > "$tmp/echo.out" & E=$!
for _ in $(seq 50); do [ -s "$tmp/echo.out" ] && break; sleep 0.1; done
ports=$(head -1 "$tmp/echo.out" | cut -d' ' -f2- | tr ' ' ',')
taskset -c "${CPUS:-0-$(($(nproc) - 1))}" "$node" bench/proxy/switchyard-proxy.mjs build/bench-proxy "{\"echo\":[$ports],\"source\":[$ports]}" "$threads" > "$tmp/proxy.out" & P=$!
for _ in $(seq 100); do [ -s "$tmp/proxy.out" ] && break; sleep 0.1; done
port=$(head -1 "$tmp/proxy.out" | cut -d' ' -f2)
snap() { for t in /proc/$P/task/*; do echo "$(basename "$t") $(cat "$t/comm") $(awk '{print $14+$15}' "$t/stat")"; done; }
# WARM=<seconds>: a rate run first, so JIT compilation of every isolate is done before the measured run.
[ "${WARM:-0}" != 0 ] && taskset -c 0 "$tmp/loadgen" rate "$port" 50 0 "$WARM" > /dev/null
snap > "$tmp/before"
out=$(taskset -c 0 "$tmp/loadgen" rate "$port" 50 0 "$seconds")
snap > "$tmp/after"
rate=$(echo "$out" | sed -n 's/^RATE \([0-9]*\).*/\1/p')
echo "node $("$node" --version), $threads threads (main accepts: ${SWITCHYARD_MAIN_ACCEPTS:-1}): $rate conn/s over $seconds s"
join "$tmp/before" "$tmp/after" | awk -v n="$((rate * seconds))" -v pid="$P" '{ d = ($5 - $3) * 10; if (d > 0) { t += d; printf "  thread %s%s: %d ms, %.1f µs per connection\n", $1, ($1 == pid ? " (main)" : ""), d, d * 1000 / n } } END { printf "  all threads: %.1f µs per connection\n", t * 1000 / n }'
