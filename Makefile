# The test command (README.md): vet, then every test with the race detector.
# Integration tests need PostgreSQL, MariaDB and versitygw (S3); they skip
# with a message when one is missing, and fail instead when
# SNAPEXPORT_REQUIRE_INTEGRATION=1 (.ci/run sets it).

GO        ?= go
GOBIN     ?= $(shell $(GO) env GOPATH)/bin
VERSITYGW := $(GOBIN)/versitygw
VERSITYGW_VERSION := v1.8.0
# NODE_TOOLS holds parquet-wasm, the second (non-Go) Parquet reader of the
# tests (internal/wasmcheck), outside the module; its versions are pinned,
# with integrity hashes, by internal/wasmcheck/node/package-lock.json.
NODE_TOOLS := $(shell $(GO) env GOPATH)/lib/snapexport-node
WASMCHECK_LOCK := internal/wasmcheck/node/package-lock.json

.PHONY: test vet unit tools quickstart bench

test: tools vet
	PATH="$(GOBIN):$$PATH" $(GO) test -race -timeout 15m ./...

vet:
	$(GO) vet ./...

# unit runs the tests without the race detector and without installing
# anything, for a quick loop.
unit:
	$(GO) test ./...

# tools installs the S3 test server and the Node Parquet reader. They are
# tools, not dependencies: `go install pkg@version` builds versitygw outside
# this module, so go.mod never sees it, and `npm ci` installs parquet-wasm
# into NODE_TOOLS, outside the module.
tools: $(VERSITYGW) $(NODE_TOOLS)/node_modules/.wasmcheck-installed

$(VERSITYGW):
	GOFLAGS=-mod=mod $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

# Without npm the parquet-wasm tests skip (.ci/run requires node and npm).
$(NODE_TOOLS)/node_modules/.wasmcheck-installed: internal/wasmcheck/node/package.json $(WASMCHECK_LOCK)
	@if ! command -v npm >/dev/null; then echo "tools: npm not found; the parquet-wasm tests will skip"; exit 0; fi; \
	mkdir -p $(NODE_TOOLS) && \
	cp internal/wasmcheck/node/package.json $(WASMCHECK_LOCK) $(NODE_TOOLS)/ && \
	npm ci --prefix $(NODE_TOOLS) --no-audit --no-fund && \
	touch $@

quickstart:
	$(GO) run ./examples/quickstart
