#!/usr/bin/env bash
# Runs Hearth's tests. With no argument: everything. `scripts/test.sh go`
# runs only the Go suites. Starts PostgreSQL and Redis when they are down.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"

section() { printf '\n==> %s\n' "$*"; }

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

section "fuzz (short runs)"
fuzz() { # package target seconds
  go test -run='^$' -fuzz="^$2\$" -fuzztime="${3}s" "$1"
}
fuzz ./internal/httpx FuzzDecodeJSON 8
fuzz ./apps/realtime FuzzClientMessage 8
fuzz ./internal/audio FuzzProbe 15
fuzz ./apps/voice/signal FuzzDecodeClient 8

echo
echo "all tests passed"
