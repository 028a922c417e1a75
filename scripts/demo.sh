#!/usr/bin/env bash
# The main job: a mock sector manager and a worker with three sealing threads on 2KiB sectors,
# the manager making each sector wait DEMO_SEED_DELAY (6s) for its seed as a chain would, both
# from dist/bin (run `make build` first; `make demo` does). Prints `venus-worker worker list`
# every few seconds until Ctrl-C, or for DEMO_SECONDS seconds when that is set.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=./dist/bin
CFG=./assets/venus-worker.mock.toml
TMP=./mock-tmp
SECONDS_TO_RUN=${DEMO_SECONDS:-0}
INTERVAL=${DEMO_INTERVAL:-3}

for b in venus-worker venus-sector-manager; do
  [ -x "$BIN/$b" ] || { echo "demo: $BIN/$b is missing; run 'make build' first" >&2; exit 1; }
done

rm -rf "$TMP"
mkdir -p "$TMP"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  echo "demo: stopped; logs are in $TMP/manager.log and $TMP/worker.log"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

echo "demo: starting the mock sector manager on 127.0.0.1:1789 (log: $TMP/manager.log)"
$BIN/venus-sector-manager mock --miner 10000 --sector-size 2KiB --listen 127.0.0.1:1789 --seed-delay "${DEMO_SEED_DELAY:-6s}" >"$TMP/manager.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do
  (exec 3<>/dev/tcp/127.0.0.1/1789) 2>/dev/null && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "demo: the manager did not start:" >&2; cat "$TMP/manager.log" >&2; exit 1; }
  sleep 0.1
done

echo "demo: open the dashboard at http://127.0.0.1:1789/ ; Prometheus scrapes http://127.0.0.1:1789/debug/metrics (manager)"

$BIN/venus-worker store sealing-init -l $TMP/store1 $TMP/store2 $TMP/store3 2>>"$TMP/worker.log"
$BIN/venus-worker store file-init -l $TMP/remote 2>>"$TMP/worker.log"
echo "demo: starting the worker with $CFG (log: $TMP/worker.log)"
$BIN/venus-worker daemon -c "$CFG" >>"$TMP/worker.log" 2>&1 &
pids+=($!)
admin=$(sed -n 's/^[[:space:]]*rpc_server\.port[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' "$CFG" | head -1)
echo "demo: and http://127.0.0.1:${admin:-17890}/debug/metrics (worker)"

start=$(date +%s)
while :; do
  sleep "$INTERVAL"
  kill -0 "${pids[1]}" 2>/dev/null || { echo "demo: the worker stopped:" >&2; tail -20 "$TMP/worker.log" >&2; exit 1; }
  echo
  echo "\$ venus-worker worker -c $CFG list"
  $BIN/venus-worker worker -c "$CFG" list || true
  sealed=$( (ls "$TMP/remote/sealed" 2>/dev/null || true) | wc -l)
  echo "sealed sectors persisted in $TMP/remote/sealed: $sealed"
  echo "\$ venus-sector-manager util worker list"
  $BIN/venus-sector-manager util --listen 127.0.0.1:1789 worker list || true
  if [ "$SECONDS_TO_RUN" -gt 0 ] && [ $(( $(date +%s) - start )) -ge "$SECONDS_TO_RUN" ]; then
    break
  fi
done
