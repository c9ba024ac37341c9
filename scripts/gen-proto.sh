#!/usr/bin/env bash
# Generates Go and TypeScript from packages/shared/proto with buf.
#   scripts/gen-proto.sh          regenerate in place
#   scripts/gen-proto.sh --check  fail if the committed output is stale
# Tools: buf and protoc-gen-go are built into bin/tools from the Go module
# proxy (or its cache when offline); protoc-gen-es comes from npm.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
BUF_VERSION=v1.75.0
PROTOC_GEN_GO_VERSION=v1.36.12

mkdir -p bin/tools
if [[ ! -x bin/tools/buf ]] || ! bin/tools/buf --version 2>/dev/null | grep -q "${BUF_VERSION#v}"; then
  echo "building buf ${BUF_VERSION} (once)"
  GOBIN="$root/bin/tools" go install "github.com/bufbuild/buf/cmd/buf@${BUF_VERSION}"
fi
if [[ ! -x bin/tools/protoc-gen-go ]] || ! bin/tools/protoc-gen-go --version 2>/dev/null | grep -q "${PROTOC_GEN_GO_VERSION}"; then
  GOBIN="$root/bin/tools" go install "google.golang.org/protobuf/cmd/protoc-gen-go@${PROTOC_GEN_GO_VERSION}"
fi
if [[ ! -x node_modules/.bin/protoc-gen-es ]]; then
  bash scripts/npm-install.sh
fi

shared=packages/shared
"$root/bin/tools/buf" lint "$shared"

if [[ "${1:-}" == "--check" ]]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  cp -r "$shared/proto" "$shared/buf.yaml" "$shared/buf.gen.yaml" "$tmp/"
  mkdir -p "$tmp/packages/shared" && mv "$tmp/proto" "$tmp/buf.yaml" "$tmp/buf.gen.yaml" "$tmp/packages/shared/"
  # buf.gen.yaml names the plugins relative to packages/shared; mirror that.
  mkdir -p "$tmp/bin" && ln -s "$root/bin/tools" "$tmp/bin/tools" && ln -s "$root/node_modules" "$tmp/node_modules"
  (cd "$tmp/packages/shared" && "$root/bin/tools/buf" generate)
  if ! diff -r "$tmp/packages/shared/gen" "$shared/gen" >/dev/null; then
    diff -r "$tmp/packages/shared/gen" "$shared/gen" | head -40 || true
    echo "generated protocol code is stale: run scripts/gen-proto.sh and commit the result" >&2
    exit 1
  fi
  echo "generated protocol code is fresh"
else
  (cd "$shared" && "$root/bin/tools/buf" generate)
  echo "generated $shared/gen"
fi
