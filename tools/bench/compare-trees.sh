#!/bin/bash
# Compares two built checkouts of skingan setup by setup, taking turns: for each setup and round,
# OLD then NEW run `node tools/bench/run-one.mjs SETUP` in fresh processes. One RESULT line a run
# goes to OUT (default bench-compare.txt), prefixed by time, setup, round, tree and load average.
#   tools/bench/compare-trees.sh OLD_DIR NEW_DIR ROUNDS SETUP... [> OUT]
# On a shared machine only the ratio of medians taken this way means anything.
set -u
old=$1 new=$2 rounds=$3; shift 3
for s in "$@"; do
  for r in $(seq 1 "$rounds"); do
    for tree in "$old" "$new"; do
      line=$(cd "$tree/tools/bench" && node run-one.mjs "$s" 2>/dev/null | grep '^RESULT ')
      echo "$(date -u +%T) $s $r $tree $(cut -d' ' -f1 /proc/loadavg) ${line#RESULT }"
    done
  done
done
