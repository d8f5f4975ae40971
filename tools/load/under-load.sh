#!/usr/bin/env bash
# Runs the test suite ROUNDS times in a row (default 3) while another process keeps every core busy,
# to show the tests hold on a loaded machine (no wall-clock bounds, no races). Prints pass/fail per
# round; exits 1 if any round failed. The load stops on exit, however the script ends.
#
#   tools/load/under-load.sh [ROUNDS] [-- COMMAND…]     default command: pnpm test --force
#   tools/load/under-load.sh 1 -- pnpm -F @skingan/path-rank-filter test
#
# Load: `stress-ng --cpu N` where installed (Debian: apt-get install -y stress-ng), else N busy
# `node -e` loops; N = the CPU count (LOAD_CPUS overrides).
set -uo pipefail
cd "$(dirname "$0")/../.."

rounds=3
if [[ $# -gt 0 && $1 != "--" ]]; then rounds=$1; shift; fi
if [[ ${1:-} == "--" ]]; then shift; fi
if [[ $# -gt 0 ]]; then cmd=("$@"); else cmd=(pnpm test --force); fi
if ! [[ $rounds =~ ^[1-9][0-9]*$ ]]; then
  echo "under-load: ROUNDS must be a positive integer, got '$rounds'" >&2
  exit 2
fi
cpus=${LOAD_CPUS:-$(nproc)}
# Every round runs every task: turbo would otherwise replay the first round's results from its
# cache, whatever COMMAND reaches turbo through (.ci/run's `pnpm test` does).
export TURBO_FORCE=true

load_pids=()
stop_load() {
  for pid in "${load_pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${load_pids[@]}"; do wait "$pid" 2>/dev/null; done
  load_pids=()
}
trap stop_load EXIT
trap 'exit 130' INT TERM

if command -v stress-ng >/dev/null 2>&1; then
  stress-ng --cpu "$cpus" --quiet &
  load_pids+=($!)
  echo "under-load: stress-ng --cpu $cpus (pid ${load_pids[*]})"
else
  for _ in $(seq "$cpus"); do
    node -e 'for (;;) {}' &
    load_pids+=($!)
  done
  echo "under-load: $cpus busy node loops (pids ${load_pids[*]}); stress-ng is not installed"
fi

failed=0
for round in $(seq "$rounds"); do
  start=$SECONDS
  log=$(mktemp "${TMPDIR:-/tmp}/under-load-$round-XXXXXX.log")
  if "${cmd[@]}" >"$log" 2>&1; then
    echo "round $round/$rounds: pass ($((SECONDS - start)) s) ${cmd[*]}"
    rm -f "$log"
  else
    echo "round $round/$rounds: FAIL ($((SECONDS - start)) s) ${cmd[*]}; log: $log"
    failed=1
  fi
done
exit "$failed"
