#!/usr/bin/env bash
# Runs every Go fuzz target of the module for N seconds each (default 10) and fails if any finds
# an input that breaks it; Go writes that input to <package>/testdata/fuzz/<Target>/, where a
# plain `go test` replays it from then on (commit it with the fix).
#
#   scripts/fuzz.sh [seconds] [--save-corpus]
#
# --save-corpus copies the inputs the runs found interesting (Go keeps them in its cache) into
# each package's testdata/fuzz/<Target>/, at most FUZZ_CORPUS_MAX (default 40) per target, the
# smallest first, so the committed corpus grows with each maintainer run.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=10
save=0
for arg in "$@"; do
	case "$arg" in
	--save-corpus) save=1 ;;
	*[!0-9]* | "")
		echo "usage: scripts/fuzz.sh [seconds] [--save-corpus] (got \"$arg\")" >&2
		exit 2
		;;
	*) secs="$arg" ;;
	esac
done
if [ "$secs" -lt 1 ]; then
	echo "scripts/fuzz.sh: seconds must be at least 1" >&2
	exit 2
fi

GO="${GO:-go}"
module="$($GO list -m)"
cache="$($GO env GOCACHE)/fuzz"
# The daemons' logs would drown the fuzzer's progress lines.
export VENUS_LOG="${VENUS_LOG:-error}"

# "<package dir> <Target>" for every fuzz target of the module's packages, in a stable order.
root="$(pwd)"
mapfile -t targets < <($GO list -e -f '{{.Dir}}' ./... | while read -r pkgdir; do
	for file in "$pkgdir"/*_test.go; do
		[ -e "$file" ] || continue
		{ grep -oE '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' "$file" || true; } |
			sed -E "s|^func (Fuzz[A-Za-z0-9_]*).*|${pkgdir#"$root"/} \1|"
	done
done | sort)

if [ "${#targets[@]}" -eq 0 ]; then
	echo "scripts/fuzz.sh: no fuzz target found" >&2
	exit 1
fi

failed=()
summary=()
for entry in "${targets[@]}"; do
	read -r dir name <<<"$entry"
	echo "=== $name ($dir) for ${secs}s"
	log="$(mktemp)"
	start=$(date +%s)
	fuzz_once() { $GO test -run '^$' -fuzz "^${name}\$" -fuzztime "${secs}s" "./$dir" >"$log" 2>&1; }
	ok=0
	if fuzz_once; then
		ok=1
	elif grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written to' "$log"; then
		# Go's fuzzer can report its own deadline as a failure, with no input written (an
		# exec still running when -fuzztime ends); that is no finding, so run once more.
		echo "fuzz: $name hit the fuzzer's own deadline without an input; running it again"
		fuzz_once && ok=1
	fi
	if [ "$ok" -eq 1 ]; then
		took=$(($(date +%s) - start))
		execs="$(grep -oE 'execs: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo '?')"
		summary+=("ok    $name ($dir): fuzzed ${secs}s (${took}s with start-up), ${execs} execs, no finding")
	else
		grep -v -E '^\S+\s+(INFO|DEBUG|WARN)\s' "$log" | tail -40
		summary+=("FAIL  $name ($dir): see the failing input under $dir/testdata/fuzz/$name/")
		failed+=("$name")
	fi
	rm -f "$log"

	if [ "$save" -eq 1 ]; then
		src="$cache/$module/$dir/$name"
		dst="$dir/testdata/fuzz/$name"
		if [ -d "$src" ]; then
			mkdir -p "$dst"
			have=$(find "$dst" -type f | wc -l)
			room=$((${FUZZ_CORPUS_MAX:-40} - have))
			mapfile -t found < <(find "$src" -type f -printf '%s %p\n' | sort -n | cut -d' ' -f2-)
			for f in "${found[@]:0:$((room > 0 ? room : 0))}"; do
				cp -n "$f" "$dst/"
			done
		fi
	fi
done

echo
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
	echo "scripts/fuzz.sh: ${#failed[@]} target(s) found a failing input: ${failed[*]}" >&2
	echo "fuzz: $((${#targets[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
	exit 1
fi
echo "scripts/fuzz.sh: ${#targets[@]} targets, ${secs}s each, no finding"
echo "fuzz: ${#targets[@]} passed, 0 failed"
