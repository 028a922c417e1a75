#!/usr/bin/env bash
# `make bench`: the benchmark suite of issue 7. Runs the Go benchmarks (bench/, the data path's
# scripts/bench-datapath.sh), saves their raw output (benchstat-compatible) to bench/results.txt,
# and writes BENCHMARKS.md from it with the machine it ran on. Every figure is a ratio against a
# baseline measured in the same run, or a count. Takes about 5 minutes on 2 cores.
#
# PIPELINE_SECTORS (default 300) is the -benchtime of the pipeline benchmarks (sectors per run);
# DATAPATH_BENCHTIME (default 3x, as scripts/bench-datapath.sh: steady state, not one cold pass) that of the data path; SKIP_DATAPATH=1 leaves it out.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
PIPELINE_SECTORS=${PIPELINE_SECTORS:-300}
DATAPATH_BENCHTIME=${DATAPATH_BENCHTIME:-3x}
RESULTS=bench/results.txt
START=$(date +%s)

run() { # run <go test args...>: runs, shows and keeps the output
	"$GO" test -run '^$' "$@" 2>&1 | tee -a "$RESULTS"
}

: >"$RESULTS"
echo "# venus-cluster-go benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$RESULTS"

# 4. Data path first: it streams 1 GiB files, and on this VM its figures suffer from the memory
# the benchmarks before it leave to be reclaimed. Its raw lines go to the results too.
if [ "${SKIP_DATAPATH:-0}" != 1 ] && [ -x scripts/bench-datapath.sh ]; then
	BENCHTIME="$DATAPATH_BENCHTIME" bash scripts/bench-datapath.sh 2>&1 | tee -a "$RESULTS"
fi
# 1. Pipeline: sectors/s with 1, 8 and 64 threads, then where a sector's time goes.
run -bench 'BenchmarkPipeline$' -benchtime "${PIPELINE_SECTORS}x" -count 1 ./bench/
run -bench 'BenchmarkPipelineBreakdown$' -benchtime "${PIPELINE_SECTORS}x" -count 1 ./bench/
# 2. Manager under 1,000 workers and 10,000 sectors.
run -bench 'BenchmarkManager$' -benchtime 10x ./bench/
# 3. Worker footprint and admin latency; 5. recovery (real daemons, one iteration each).
run -bench 'BenchmarkWorkerFootprint$|BenchmarkRecovery$' -benchtime 1x ./bench/
# 6. The production manager over JSON-RPC to the simulated Lotus node (issue 11).
run -bench 'BenchmarkChainSectors$|BenchmarkChainInFlight$' -benchtime 16x ./bench/
# 7. Operations (issue 13): the pipeline with metrics on and off; the dashboard in Chromium (skipped
# without it). The scrape at 256 threads is part of 3.
run -bench 'BenchmarkPipelineMetrics$' -benchtime "${PIPELINE_SECTORS}x" -count 1 ./bench/
run -bench 'BenchmarkDashboardLoad$' -benchtime 3x ./bench/
# 8. WindowPoSt (issue 14): a deadline of 1, 10 and 100 partitions; the sector check before a proof.
run -bench 'BenchmarkPoSt$' -benchtime 10x ./bench/
run -bench 'BenchmarkSectorCheck$' -benchtime 20x ./bench/
run -bench 'BenchmarkWinningPoSt$' -benchtime 500x ./bench/

ELAPSED=$(($(date +%s) - START))
"$GO" run ./bench/mkreport \
	-results "$RESULTS" \
	-out BENCHMARKS.md \
	-nproc "$(nproc)" \
	-cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" \
	-go "$("$GO" version)" \
	-commit "$(git describe --always --dirty 2>/dev/null || echo unknown)" \
	-elapsed "${ELAPSED}s"
echo "wrote BENCHMARKS.md and $RESULTS in ${ELAPSED}s"
