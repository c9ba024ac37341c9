# Hearth. `make run` builds and starts everything on http://localhost:8080;
# `make test` runs every test. See README.md.

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/hearth-space/hearth/internal/version.Version=$(VERSION)
BIN     := bin/hearth

.PHONY: all build build-go web run test test-go test-web bench-client lint fmt clean

all: build

## build: the web client, then the hearth binary with the client embedded (bin/hearth)
build: web
	$(GO) build -trimpath -tags webembed -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/hearth

## build-go: the binary alone, without the client (serve it with --web-dir)
build-go:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/hearth

## web: the web client (generated assets, type check, Vite build into apps/web/dist)
web:
	bash scripts/npm-install.sh
	VITE_HEARTH_VERSION=$(VERSION) npm run build -w apps/web

## run: build and serve everything on :8080 with embedded defaults
run: build
	./$(BIN) serve

## test: every test (Go, store suite on SQLite and PostgreSQL, fuzz seeds)
test:
	bash scripts/test.sh

test-go:
	bash scripts/test.sh go

test-web:
	bash scripts/test.sh web

## bench-client: FPS benchmark of the web client in headless Chromium; writes docs/performance.md
bench-client: web build-go
	HEARTH_BIN=$(BIN) node apps/web/bench/run.mjs --write docs/performance.md

fmt:
	gofmt -w $$(git ls-files '*.go')

lint:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)

clean:
	rm -rf bin apps/web/dist apps/web/public/assets/models apps/web/public/models-manifest.json
