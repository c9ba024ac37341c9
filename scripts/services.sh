#!/usr/bin/env bash
# Starts the machine's PostgreSQL and Redis when they are not answering, so
# tests use the real services instead of skipping.
set -euo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! up 5432; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
if ! up 6379; then
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
fi
for i in $(seq 1 60); do
  if up 5432 && up 6379; then echo "PostgreSQL and Redis are up"; exit 0; fi
  sleep 0.5
done
echo "PostgreSQL or Redis did not come up" >&2
exit 1
