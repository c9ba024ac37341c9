#!/usr/bin/env bash
# Generates Go and TypeScript from packages/shared/proto with buf.
#   scripts/gen-proto.sh          regenerate in place
#   scripts/gen-proto.sh --check  fail if the committed output is stale
# Tools: buf and protoc-gen-go are built into bin/tools from tools/go.mod;
# protoc-gen-es comes from npm.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

# buf and protoc-gen-go are pinned in tools/go.mod and built from the module
# cache (no network once fetched), whenever the pins change.
build_tool() { # binary package
  if [[ ! -x "bin/tools/$1" || tools/go.sum -nt "bin/tools/$1" || tools/go.mod -nt "bin/tools/$1" ]]; then
    echo "building $1 from tools/go.mod"
    (cd tools && go build -o "../bin/tools/$1" "$2")
  fi
}
mkdir -p bin/tools
build_tool buf github.com/bufbuild/buf/cmd/buf
build_tool protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go
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
