#!/usr/bin/env bash
# Start the service with uvicorn (SQLite in a temp dir, no worker) and run the graphql-http
# audit against it. Installs the audit's npm packages on first use. Exits non-zero on any error
# or warning. Used by .ci/run and tests/api/test_graphql_http_audit.py.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [ ! -d "$here/node_modules/graphql-http" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --silent)
fi
tmp="$(mktemp -d)"
port="${AUDIT_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
cleanup() {
  if [ -n "${server:-}" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
cd "$root"
env -u REDIS_URL DATABASE_URL="sqlite://$tmp/audit.db" WORKER_ENABLED=0 LOG_LEVEL=WARNING \
  PUBLIC_BASE_URL="http://127.0.0.1:$port" \
  .venv/bin/python -m uvicorn main:app --host 127.0.0.1 --port "$port" --log-level warning &
server=$!
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then echo "uvicorn exited" >&2; exit 1; fi
  sleep 0.2
done
node "$here/audit.mjs" "http://127.0.0.1:$port/graphql"
