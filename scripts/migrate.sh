#!/usr/bin/env bash
# Applies the reconciler's own migrations (migrations/*.sql, in name order, each once,
# recorded in reconciler_schema_migrations) to DATABASE_URL. With --fixtures it first
# creates the test/demo `workspaces` table (migrations/fixtures/), which in production is
# owned by the workspace server and never touched by this script.
#
# Installed by the package as /usr/share/instance-reconciler/scripts/migrate.sh, beside its
# migrations/, and in the image as /opt/reconciler/scripts/migrate.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
# DATABASE_URL_FILE: the URL from a file (a mounted Kubernetes Secret), as the programs read
# it (docs/configuration.md): one trailing newline dropped, never together with DATABASE_URL.
if [ -n "${DATABASE_URL_FILE:-}" ]; then
  if [ -n "${DATABASE_URL:-}" ]; then
    echo "migrate: DATABASE_URL: both it and DATABASE_URL_FILE are set; set one of them" >&2
    exit 2
  fi
  DATABASE_URL=$(cat -- "$DATABASE_URL_FILE") || {
    echo "migrate: DATABASE_URL_FILE: cannot read '$DATABASE_URL_FILE'" >&2
    exit 2
  }
fi
url="${DATABASE_URL:?DATABASE_URL must be set}"
psql_run() { psql "$url" -v ON_ERROR_STOP=1 -q -X "$@"; }

if [ "${1:-}" = "--fixtures" ]; then
  for file in "$root"/migrations/fixtures/*.sql; do
    psql_run -f "$file"
  done
fi
psql_run -c "CREATE TABLE IF NOT EXISTS reconciler_schema_migrations (
  version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
for file in "$root"/migrations/*.sql; do
  version=$(basename "$file" .sql)
  applied=$(psql_run -At -c "SELECT 1 FROM reconciler_schema_migrations WHERE version = '$version'")
  [ "$applied" = 1 ] && continue
  # One transaction per migration: a failed one leaves nothing half-applied.
  psql_run -1 -f "$file" -c "INSERT INTO reconciler_schema_migrations (version) VALUES ('$version')"
  echo "migrate: applied $version"
done
