# Hearth. `make run` builds and starts everything on http://localhost:8080;
# `make test` runs every test. See README.md.

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/hearth-space/hearth/internal/version.Version=$(VERSION)
BIN     := bin/hearth

.PHONY: all build build-go run test test-go lint fmt clean

all: build

## build: the hearth binary (bin/hearth)
build: build-go

build-go:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/hearth

## run: build and serve everything on :8080 with embedded defaults
run: build
	./$(BIN) serve

## test: every test (Go, store suite on SQLite and PostgreSQL, fuzz seeds)
test:
	bash scripts/test.sh

test-go:
	bash scripts/test.sh go

fmt:
	gofmt -w $$(git ls-files '*.go')

lint:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)

clean:
	rm -rf bin
