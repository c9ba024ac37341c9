#!/usr/bin/env bash
# Installs the npm workspace from package-lock.json, preferring the local
# cache so it works offline once the packages have been fetched.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -d node_modules && node_modules/.package-lock.json -nt package-lock.json ]]; then
  exit 0
fi
npm ci --prefer-offline --no-audit --no-fund --loglevel=error
