#!/usr/bin/env bash
# Runs `hearth loadtest voice` against a fresh `hearth serve` on loopback
# and stops the server afterwards. Every argument goes to the load tool.
#   scripts/voice-load.sh --participants 10 --speakers 2 --duration 10m --churn 30s
# Environment: PORT (HTTP, default 18093), VOICE_UDP_PORT (default 17882),
# SERVER_FLAGS (extra `hearth serve` flags), KEEP_LOG=1 keeps the server log,
# SERVER_CPUS / TOOL_CPUS (taskset CPU lists, e.g. 0 and 1) pin the server
# and the load tool to separate cores.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${PORT:-18093}"
udp="${VOICE_UDP_PORT:-17882}"
work="$(mktemp -d)"
go build -o "$work/hearth" ./cmd/hearth
# shellcheck disable=SC2086
${SERVER_CPUS:+taskset -c "$SERVER_CPUS"} "$work/hearth" serve --addr "127.0.0.1:$port" --data-dir "$work/data" --voice-udp-port "$udp" \
  --voice-tcp-port 0 --voice-ips 127.0.0.1 --log-level warn ${SERVER_FLAGS:-} >"$work/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  if [[ -n "${KEEP_LOG:-}" ]]; then echo "server log: $work/server.log"; else rm -rf "$work"; fi
}
trap cleanup EXIT
for _ in $(seq 50); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.2
done
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"
${TOOL_CPUS:+taskset -c "$TOOL_CPUS"} "$work/hearth" loadtest voice --url "http://127.0.0.1:$port" "$@"
echo "machine: load average $(cut -d' ' -f1-3 /proc/loadavg) after the run"
