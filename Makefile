# venus-cluster in Go. `make demo` runs a mock manager and a worker sealing 2KiB sectors;
# `make test` runs the tests as CI does.
GO       ?= go
COMMIT   := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X github.com/ipfs-force-community/venus-cluster-go/version.Commit=$(COMMIT)
BIN      := dist/bin

.PHONY: build test test-short demo bench clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/venus-worker ./cmd/venus-sector-manager

# The whole suite with the race detector, as CI runs it.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...

test-short:
	$(GO) test -count=1 ./...

# A mock sector manager and a worker with three sealing threads on 2KiB sectors, printing
# `venus-worker worker list` while they seal. Stops on Ctrl-C (or after DEMO_SECONDS).
demo: build
	bash scripts/demo.sh

clean:
	rm -rf dist mock-tmp

.PHONY: ffi
# Both binaries with real proofs (filecoin-ffi v1.34.0): needs the Rust toolchain and access to the
# crate registry, which only real sealing hosts have; see extern/README.md.
ffi:
	GO="$(GO)" BIN="$(BIN)" LDFLAGS="$(LDFLAGS)" bash scripts/ffi.sh

# Benchmark suite (issue 7): writes BENCHMARKS.md and bench/results.txt; about 5 minutes on 2 cores.
bench:
	GO="$(GO)" bash scripts/bench.sh

.PHONY: soak fuzz
# The fault-injection tests for longer, daemons built with the race detector (VC_CHAOS_* override;
# VC_CHAOS_SEED replays a schedule).
soak:
	VC_E2E_RACE=1 VC_CHAOS_KILLS=$${VC_CHAOS_KILLS:-300} VC_CHAOS_MANAGER_KILLS=$${VC_CHAOS_MANAGER_KILLS:-30} \
		$(GO) test -count=1 -timeout 2h -run '^TestChaos' -v ./e2e/

# Every fuzz target for FUZZ_SECONDS (default 10) each; fails on a finding.
fuzz:
	bash scripts/fuzz.sh $${FUZZ_SECONDS:-10}
