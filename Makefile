# The test command (README.md): vet, then every test with the race detector.
# Integration tests need PostgreSQL, MariaDB and versitygw (S3); they skip
# with a message when one is missing, and fail instead when
# SNAPEXPORT_REQUIRE_INTEGRATION=1 (.ci/run sets it).

GO        ?= go
GOBIN     ?= $(shell $(GO) env GOPATH)/bin
VERSITYGW := $(GOBIN)/versitygw
VERSITYGW_VERSION := v1.8.0

.PHONY: test vet unit tools quickstart bench

test: tools vet
	PATH="$(GOBIN):$$PATH" $(GO) test -race -timeout 15m ./...

vet:
	$(GO) vet ./...

# unit runs the tests without the race detector and without installing
# anything, for a quick loop.
unit:
	$(GO) test ./...

# tools installs the S3 test server. It is a tool, not a dependency: `go
# install pkg@version` builds it outside this module, so go.mod never sees it.
tools: $(VERSITYGW)

$(VERSITYGW):
	GOFLAGS=-mod=mod $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

quickstart:
	$(GO) run ./examples/quickstart
