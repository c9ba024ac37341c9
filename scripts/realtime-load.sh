#!/usr/bin/env bash
# Runs `hearth loadtest ws` against a fresh `hearth serve` on this machine
# and prints both processes' figures. Arguments go to the load tool; server
# flags can be added with SERVER_FLAGS. Examples (docs/performance.md):
#   scripts/realtime-load.sh --rooms 1 --users-per-room 40 --rate 20 --duration 60s
#   SERVER_FLAGS="--realtime-flush eager" scripts/realtime-load.sh --rooms 1 --users-per-room 40
#   scripts/realtime-load.sh --rooms 20 --users-per-room 100 --idle --duration 150s
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o bin/hearth ./cmd/hearth
data="$(mktemp -d)"
port="${PORT:-18181}"
# Sign-in and connection limits are per IP, and the load comes from one IP.
bin/hearth serve --addr "127.0.0.1:$port" --data-dir "$data" --log-level warn \
  --guest-rate 10000 --guest-burst 10000 --realtime-connect-rate 0 --max-room-capacity 200 \
  ${SERVER_FLAGS:-} >"$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
bin/hearth loadtest ws --url "http://127.0.0.1:$port" "$@"
