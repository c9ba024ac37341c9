#!/usr/bin/env bash
# Runs Hearth's tests. With no argument: everything. `scripts/test.sh go`
# runs only the Go suites. Starts PostgreSQL and Redis when they are down.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"

section() { printf '\n==> %s\n' "$*"; }

section "services"
bash scripts/services.sh

section "npm packages"
bash scripts/npm-install.sh

section "protocol code freshness"
bash scripts/gen-proto.sh --check

section "lint"
go vet ./...
unformatted="$(gofmt -l $(git ls-files '*.go' | grep -v '\.pb\.go$') 2>/dev/null || true)"
if [[ -n "$unformatted" ]]; then
  echo "gofmt needed:"; echo "$unformatted"; exit 1
fi

section "go test"
go test -count=1 -timeout 20m ./...

section "fuzz (short runs)"
fuzz() { # package target seconds
  go test -run='^$' -fuzz="^$2\$" -fuzztime="${3}s" "$1"
}
fuzz ./internal/httpx FuzzDecodeJSON 8
fuzz ./apps/realtime FuzzClientMessage 8

echo
echo "all tests passed"
