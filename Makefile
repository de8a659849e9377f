# squall — build, test, run.
#
# `make run` runs the demo pipeline; `make test` installs the servers the tests
# need (Debian packages, when missing), checks formatting and vet, and runs the
# test suite. Long soak and load runs live in `make bench` and `make soak`.

GO              ?= go
STATICCHECK_VER := v0.8.2
PROTOBUF_VER    := $(shell $(GO) list -m -f '{{.Version}}' google.golang.org/protobuf)
GOBIN           := $(shell $(GO) env GOPATH)/bin

# Packages whose tests start protoactor's remote (which has data races of its
# own at start and shutdown) run without -race; every other package runs with
# -race.
NORACE_PKGS := $(shell $(GO) list ./... | grep -E '/(cluster/nodetest|cmd)(/|$$)')
RACE_PKGS   := $(filter-out $(NORACE_PKGS),$(shell $(GO) list ./...))

# Fuzz targets over a node's receive path: the transport's gate in front of
# protoactor remote, and the tasks' decoding and dispatch of what peers send.
# `make test` runs each for FUZZ_TEST_TIME, `make fuzz` for FUZZ_TIME.
FUZZ_TARGETS   := FuzzPeerGate:./cluster FuzzRemoteMessages:./actors
FUZZ_TEST_TIME ?= 30s
FUZZ_TIME      ?= 10m

.PHONY: all build test test-short deps lint fmt-check vet staticcheck bench soak run proto clean fuzz fuzz-run

all: build

build:
	$(GO) build ./...

## deps: install the real servers the tests use, when missing.
deps:
	@bash scripts/install-deps.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

$(GOBIN)/staticcheck:
	$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VER)

staticcheck: $(GOBIN)/staticcheck
	$(GOBIN)/staticcheck ./...

lint: fmt-check vet staticcheck

test: deps lint
	$(GO) test -race -timeout 10m $(RACE_PKGS)
	$(if $(NORACE_PKGS),$(GO) test -timeout 10m $(NORACE_PKGS))
	@$(MAKE) --no-print-directory fuzz-run FUZZ_RUN_TIME=$(FUZZ_TEST_TIME)

## fuzz: each fuzz target for FUZZ_TIME (default 10m).
fuzz:
	@$(MAKE) --no-print-directory fuzz-run FUZZ_RUN_TIME=$(FUZZ_TIME)

fuzz-run:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzzing $${t%%:*} for $(FUZZ_RUN_TIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t%%:*}$$" -fuzztime $(FUZZ_RUN_TIME) "$${t#*:}"; \
	done

## test-short: unit tests only; no servers.
test-short:
	$(GO) test -short ./...

bench:
	$(GO) run ./internal/benchmarks

soak:
	SQUALL_SOAK=1 $(GO) test -run Soak -timeout 60m ./...

# run builds first: `go run` reports a program ended by Ctrl-C as failed,
# which the demo's clean shutdown is not.
run:
	$(GO) build -o bin/squall ./cmd/squall
	./bin/squall demo

## proto: regenerate proto/*.pb.go (needs Debian's protoc; installs protoc-gen-go at go.mod's version).
proto:
	@{ command -v protoc && [ -f /usr/include/google/protobuf/timestamp.proto ]; } >/dev/null || bash scripts/install-deps.sh
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOBUF_VER)
	PATH="$(GOBIN):$$PATH" protoc -I proto --go_out=. --go_opt=module=github.com/squall-stream/squall proto/*.proto

clean:
	$(GO) clean -testcache
