#!/usr/bin/env bash
# The data path benchmarks: AddPiece+CommP and tree_d on 1GiB of random data streamed from a
# file, with go-fil-commp-hashhash and raw SHA-256 measured in the same run, then the ratios.
# BENCHTIME (default 3x) is the -benchtime of the 1GiB benchmarks; a run takes about a minute
# and needs 5GiB in the temporary directory. The figures are MB/s; the machine's load changes
# them, the ratios less so, since the baselines are timed between the iterations.
set -euo pipefail
cd "$(dirname "$0")/.."

BENCHTIME=${BENCHTIME:-3x}
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT

go test -run '^$' -bench 'HashLayer|TreeHashing' ./piece/merkle/ | tee "$OUT"
go test -run '^$' -bench 'AddPieceCommP|CommP|TreeD' -benchtime "$BENCHTIME" \
	./piece/ ./worker/processor/treed/ | tee -a "$OUT"

# A benchmark line is: name iterations ns/op value MB/s [value unit]...
metric() { # metric <benchmark> <unit>
	awk -v b="$1" -v u="$2" '$1 ~ "^Benchmark"b"(-[0-9]+)?$" { for (i = 3; i < NF; i++) if ($(i+1) == u) print $i }' "$OUT"
}

echo
echo "== data path, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "   (SHA-256 limit of a tree: raw SHA-256 on all cores / 4, as every byte of leaves costs four hashed)"
printf 'raw SHA-256, all cores, in cache     %8s MB/s\n' "$(metric TreeD sha256_MB/s)"
printf 'tree hashing alone, no I/O           %8s MB/s  %sx the SHA-256 limit\n' \
	"$(metric TreeHashing MB/s)" "$(metric TreeHashing x_sha_limit)"
printf 'tree_d build, file to file, fsync    %8s MB/s  %sx the SHA-256 limit\n' \
	"$(metric TreeD MB/s)" "$(metric TreeD x_sha_limit)"
printf 'CommP alone (what the manager runs)  %8s MB/s  %sx go-fil-commp-hashhash (%s MB/s)\n' \
	"$(metric CommP MB/s)" "$(metric CommP x_hashhash)" "$(metric CommP hashhash_MB/s)"
printf 'AddPiece+CommP into a staged file    %8s MB/s  %sx go-fil-commp-hashhash (%s MB/s)\n' \
	"$(metric AddPieceCommP MB/s)" "$(metric AddPieceCommP x_hashhash)" "$(metric AddPieceCommP hashhash_MB/s)"
