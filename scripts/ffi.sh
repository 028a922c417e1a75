#!/usr/bin/env bash
# `make ffi`: venus-worker and venus-sector-manager with real proofs (build tag `ffi`).
#
#  1. copies filecoin-ffi $FFI_VERSION from the Go module proxy into extern/filecoin-ffi;
#  2. builds its Rust library there (libfilcrypto.a, filcrypto.h, filcrypto.pc) with its own
#     install-filcrypto script;
#  3. builds both binaries with `-tags ffi` into dist/bin, resolving filecoin-ffi to
#     extern/filecoin-ffi through a temporary -modfile (the committed go.mod never names it).
#
# This is for real sealing hosts: it needs the Rust toolchain (rustup, cargo), network access to
# the Rust toolchain servers and the crate registry (crates.io), a C compiler, pkg-config and jq.
# The default build (`make build`) needs none of them. See extern/README.md.
#
# Steps 1 and 2 are skipped when extern/filecoin-ffi already holds a built $FFI_VERSION.
# Environment: GO (go command), BIN (output directory), LDFLAGS (go build -ldflags), and
# filecoin-ffi's own FFI_* switches, which install-filcrypto reads (FFI_USE_GPU=0,
# FFI_USE_OPENCL=1, FFI_USE_CUDA_SUPRASEAL=1, FFI_PORTABLE=1, FFI_USE_MULTICORE_SDR=0, ...).
set -euo pipefail

# The one place the filecoin-ffi version is pinned; worker/processor/ffi/typecheck_test.go
# reads it from here, so the adapter is type-checked against what this builds.
readonly FFI_VERSION=v1.34.0
readonly FFI_MODULE=github.com/filecoin-project/filecoin-ffi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly root
readonly ffi_dir=$root/extern/filecoin-ffi
readonly marker=$ffi_dir/.venus-cluster-ffi-version
GO=${GO:-go}
BIN=${BIN:-$root/dist/bin}
[[ $BIN == /* ]] || BIN=$PWD/$BIN
LDFLAGS=${LDFLAGS:-}

die() {
	echo "make ffi: $*" >&2
	exit 1
}

# require_tools fails once, naming everything that is missing, before anything is downloaded.
require_tools() {
	local missing=() tool cc
	for tool in "$GO" cargo rustup jq pkg-config; do
		command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
	done
	if command -v "$GO" >/dev/null 2>&1; then
		cc=$("$GO" env CC)
		command -v "${cc%% *}" >/dev/null 2>&1 || missing+=("a C compiler (${cc})")
	fi
	if ((${#missing[@]})); then
		die "missing: ${missing[*]}. This build links filecoin-ffi's Rust library and is for real" \
			"sealing hosts: it needs the Rust toolchain (rustup and cargo, https://rustup.rs), network" \
			"access to the crate registry (crates.io), a C compiler, pkg-config and jq. The default" \
			"build (make build) needs none of them."
	fi
}

# fetch_source puts a writable copy of the module's source in extern/filecoin-ffi. The Go module
# proxy serves the module zip, which holds the Rust sources too.
fetch_source() {
	if [[ -f $marker && $(<"$marker") == "$FFI_VERSION" ]]; then
		return
	fi
	if [[ -e $ffi_dir && ! -f $marker ]]; then
		die "$ffi_dir exists but was not made by make ffi: move it away and run make ffi again."
	fi
	local json dir
	# Outside this module, so the committed go.mod and go.sum stay untouched.
	json=$(cd "$tmp" && GOWORK=off GOFLAGS= "$GO" mod download -json "$FFI_MODULE@$FFI_VERSION") ||
		die "cannot download $FFI_MODULE@$FFI_VERSION from the Go module proxy ($("$GO" env GOPROXY)):" \
			"$(jq -r '.Error // empty' <<<"$json" 2>/dev/null)"
	dir=$(jq -r '.Dir // empty' <<<"$json")
	[[ -n $dir ]] || die "go mod download did not say where $FFI_MODULE@$FFI_VERSION is: $json"
	rm -rf "$ffi_dir"
	mkdir -p "$ffi_dir"
	cp -R "$dir/." "$ffi_dir/"
	chmod -R u+w "$ffi_dir" # the module cache is read-only; the build writes into this copy
	echo "$FFI_VERSION" >"$marker"
}

# install_toolchain installs the Rust toolchain filecoin-ffi pins in rust/rust-toolchain.toml:
# recent rustup versions no longer install it on first use.
install_toolchain() {
	local toolchain log=$ffi_dir/.rustup.log
	toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$ffi_dir/rust/rust-toolchain.toml")
	[[ -n $toolchain ]] || die "$ffi_dir/rust/rust-toolchain.toml names no toolchain channel."
	if rustup toolchain list | grep "^$toolchain-" >/dev/null; then
		return
	fi
	RUST_BACKTRACE=0 rustup toolchain install "$toolchain" --profile minimal >"$log" 2>&1 ||
		die "cannot install Rust toolchain $toolchain, which filecoin-ffi $FFI_VERSION pins" \
			"($(cause "$log")). This build is for real sealing hosts with network access to the" \
			"Rust toolchain servers and the crate registry (crates.io); the full output is in $log." \
			"The default build (make build) needs neither."
}

# fetch_crates downloads filecoin-ffi's crates up front, so a host that cannot reach the crate
# registry fails with one message instead of deep inside the build.
fetch_crates() {
	local log=$ffi_dir/.cargo-fetch.log
	(cd "$ffi_dir/rust" && RUST_BACKTRACE=0 cargo fetch --locked) >"$log" 2>&1 ||
		die "cannot download filecoin-ffi's Rust crates from the crate registry ($(cause "$log"))." \
			"This build is for real sealing hosts with network access to the crate registry" \
			"(crates.io); the full output is in $log. The default build (make build) needs neither."
}

# cause sums up a failed rustup or cargo run: its first error line and its root cause, the last
# line of the "Caused by" chain.
cause() {
	local first last
	first=$(grep -m1 '^error' "$1" || true)
	last=$(grep -v '^[[:space:]]*$' "$1" | tail -n1 | sed 's/^[[:space:]]*//')
	if [[ -z $first || $first == "$last" ]]; then
		echo "$last"
	else
		echo "$first; caused by: $last"
	fi
}

library_built() {
	[[ -f $ffi_dir/libfilcrypto.a && -f $ffi_dir/filcrypto.h && -f $ffi_dir/filcrypto.pc ]]
}

# build_library runs filecoin-ffi's install-filcrypto. Not its Makefile: that also wipes the whole
# Go build cache. FFI_BUILD_FROM_SOURCE=1 because the prebuilt download looks for a git tag on
# HEAD, and the HEAD around extern/ is this repository's, not filecoin-ffi's.
build_library() {
	(cd "$ffi_dir" && FFI_BUILD_FROM_SOURCE=1 FFI_GIT_COMMIT="$FFI_VERSION" ./install-filcrypto) ||
		die "building filecoin-ffi's Rust library in $ffi_dir failed (its output is above)."
}

# build_binaries builds with a copy of go.mod that requires filecoin-ffi and replaces it with
# extern/filecoin-ffi; -mod=mod lets go add filecoin-ffi's own requirements to that copy.
build_binaries() {
	cp "$root/go.mod" "$tmp/go.mod"
	cp "$root/go.sum" "$tmp/go.sum"
	"$GO" mod edit -require="$FFI_MODULE@$FFI_VERSION" -replace="$FFI_MODULE=$ffi_dir" "$tmp/go.mod"
	mkdir -p "$BIN"
	(cd "$root" && CGO_ENABLED=1 "$GO" build -modfile="$tmp/go.mod" -mod=mod -tags ffi \
		-ldflags "$LDFLAGS" -o "$BIN/" ./cmd/venus-worker ./cmd/venus-sector-manager) ||
		die "go build -tags ffi failed (its output is above)."
	echo "make ffi: built $BIN/venus-worker and $BIN/venus-sector-manager with filecoin-ffi $FFI_VERSION"
}

require_tools
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fetch_source
if ! library_built; then
	install_toolchain
	fetch_crates
	build_library
fi
build_binaries
