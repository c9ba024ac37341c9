#!/usr/bin/env bash
# Runs Hearth's tests. With no argument: everything. `scripts/test.sh go`
# runs only the Go suites, `scripts/test.sh web` only the web client's.
# Starts PostgreSQL and Redis when they are down.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"

section() { printf '\n==> %s\n' "$*"; }

section "npm packages"
bash scripts/npm-install.sh

web_tests() {
  section "web client: unit tests (vitest)"
  npm run test -w apps/web

  section "web client: build (assets, type check, bundle)"
  npm run build -w apps/web
  npm run test:assets -w apps/web

  section "chromium"
  if [[ ! -x /usr/bin/chromium ]]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  fi
  /usr/bin/chromium --version

  section "web client: browser tests (playwright-core, real hearth serve)"
  go build -o bin/hearth-e2e ./cmd/hearth
  HEARTH_BIN="$PWD/bin/hearth-e2e" npm run e2e -w apps/web
}

if [[ "$what" == "web" ]]; then
  web_tests
  echo
  echo "web tests passed"
  exit 0
fi

section "services"
bash scripts/services.sh

section "audio tools"
# The music tests encode their fixtures (MP3, Ogg Opus/Vorbis, FLAC, M4A,
# AAC) from a generated WAV with Debian's ffmpeg; sox is there for people
# inspecting files by hand.
if ! command -v ffmpeg >/dev/null || ! command -v sox >/dev/null; then
  echo "installing sox and ffmpeg"
  if [[ $(id -u) -eq 0 ]]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq && $sudo apt-get install -y -qq sox libsox-fmt-all ffmpeg >/dev/null
fi
ffmpeg -hide_banner -version | sed -n 1p

section "protocol code freshness"
bash scripts/gen-proto.sh --check

section "lint"
go vet ./...
unformatted="$(gofmt -l $(git ls-files '*.go' | grep -v '\.pb\.go$') 2>/dev/null || true)"
if [[ -n "$unformatted" ]]; then
  echo "gofmt needed:"; echo "$unformatted"; exit 1
fi

section "alert rules"
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  echo "installing promtool and prometheus (Debian's prometheus package)"
  apt-get update -qq >/dev/null || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
fi
promtool check rules deploy/prometheus/alerts.yml
promtool test rules deploy/prometheus/alerts_test.yml

section "go test"
go test -count=1 -timeout 20m ./...

if [[ "$what" != "go" ]]; then
  web_tests
fi

section "fuzz (short runs)"
fuzz() { # package target seconds
  go test -run='^$' -fuzz="^$2\$" -fuzztime="${3}s" "$1"
}
fuzz ./internal/httpx FuzzDecodeJSON 8
fuzz ./apps/realtime FuzzClientMessage 8
fuzz ./apps/server FuzzTelemetryBatch 8
fuzz ./internal/audio FuzzProbe 15
fuzz ./apps/voice/signal FuzzDecodeClient 8
fuzz ./internal/textclean FuzzLine 5

echo
echo "all tests passed"
