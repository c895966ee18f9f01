#!/bin/sh
# Runs one test file N times in a row with a given node binary and stops at the first failure:
#   scripts/repeat-test.sh [N] [node] [test file]
#   scripts/repeat-test.sh 20 node test/workers/exactness.test.ts
n=${1:-20}
node=${2:-node}
file=${3:-test/workers/exactness.test.ts}
i=1
while [ "$i" -le "$n" ]; do
  if ! "$node" --import tsx --test --test-reporter=dot "$file" >/tmp/repeat-test.$$.log 2>&1; then
    cat /tmp/repeat-test.$$.log
    echo "run $i of $n FAILED ($("$node" --version) $file)"
    rm -f /tmp/repeat-test.$$.log
    exit 1
  fi
  i=$((i + 1))
done
rm -f /tmp/repeat-test.$$.log
echo "$n of $n runs passed ($("$node" --version) $file)"
