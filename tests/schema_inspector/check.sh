#!/usr/bin/env bash
# The schema contract in CI: graphql-inspector compares schema.graphql with its previous version
# and fails on breaking changes, unless the change is marked deliberate (the commit message says
# [schema-breaking-ok], or a file named schema-breaking-ok exists at the repository root).
#
# The previous version is SCHEMA_BASE (a git revision) when set; otherwise HEAD when schema.graphql
# has uncommitted changes, else HEAD~1. No previous version (a first commit, a new file) passes.
# That schema.graphql matches the code is checked by tests/api/test_schema_contract.py.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
if [ ! -x "$here/node_modules/.bin/graphql-inspector" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --silent --loglevel=error)
fi
base="${SCHEMA_BASE:-}"
if [ -z "$base" ]; then
  if git diff --quiet HEAD -- schema.graphql 2>/dev/null; then base="HEAD~1"; else base="HEAD"; fi
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if ! git show "$base:schema.graphql" > "$tmp/previous.graphql" 2>/dev/null; then
  echo "schema contract: no previous schema.graphql at $base, nothing to compare"
  exit 0
fi
if "$here/node_modules/.bin/graphql-inspector" diff "$tmp/previous.graphql" schema.graphql; then
  exit 0
fi
if [ -e schema-breaking-ok ] || git log -1 --format=%B | grep -qF "[schema-breaking-ok]"; then
  echo "schema contract: breaking changes marked deliberate (schema-breaking-ok)"
  exit 0
fi
echo "schema contract: breaking changes against $base. If deliberate, say [schema-breaking-ok]" \
  "in the commit message (or add a schema-breaking-ok file) and tell partners." >&2
exit 1
