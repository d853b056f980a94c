#!/usr/bin/env bash
# The compose `init` service (compose.yaml): prepares a fresh stack once, then exits 0.
#   1. reconciler-topics         the four topics (idempotent; docs/contracts.md §5)
#   2. migrate.sh --fixtures     the demo `workspaces` table and the reconciler_* tables
#   3. fleet-sim seed            INIT_SEED_COUNT workspaces, only into an empty table; a table
#                                that already has rows is re-registered with the simulator
#                                (POST /admin/load-from-db) instead, so that `docker compose up`
#                                after a restart neither doubles the fleet nor leaves fleet-sim
#                                ignorant of it
# Every step is idempotent: compose starts init again on each `up`.
#
#   container-init.sh                 run the steps above
#   container-init.sh --check-config  validate the variables (and reconciler-topics'), print
#                                     them with secrets masked; exit 0, or 2 with one line
#   container-init.sh --help          the variables (the same layout as the programs' --help)
#
# Inside the image it lives in /opt/reconciler/scripts next to migrate.sh; the programs are on
# PATH. scripts/check-compose.sh runs --check-config against a build directory the same way.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
program="container-init"

usage() {
  cat <<'HELP'
container-init

Prepares a fresh reconciler stack (the compose init service): creates the topics with
reconciler-topics, applies the migrations with migrate.sh --fixtures, then seeds the demo
fleet into fleet-sim (only when the workspaces table is empty; otherwise re-registers the
existing rows with POST /admin/load-from-db). Idempotent; exits 0 when every step succeeded.

Usage: container-init.sh [--check-config | --help]

Settings: environment variables only.

  DATABASE_URL <text>
      default: (unset); required; secret
      PostgreSQL for migrate.sh and the row count (libpq URI or conninfo)
  INIT_SEED_COUNT <integer 0..1000000>
      default: 1000
      workspaces fleet-sim seeds into an empty table; 0 = no seeding, no fleet-sim call
  INIT_FLEETSIM_URL <text>
      default: http://fleet-sim:8090
      base URL of the fleet-sim service (its FLEETSIM_ADDR as seen from this container)
  FLEETSIM_ADMIN_TOKEN <text>
      default: (unset); secret
      fleet-sim's admin token, sent by fleet-sim seed and load-from-db when set

Also reads the variables of: reconciler-topics

Exit codes: 0 success, 1 a step failed, 2 invalid configuration.
HELP
}

die_config() { echo "$program: $*" >&2; exit 2; }
# JSON lines on stderr like the programs' logs (messages here never hold a quote or a secret).
log_line() { printf '{"ts":"%s","level":"%s","program":"%s",%s}\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$1" "$program" "$2" >&2; }
step() { log_line info "\"msg\":\"$*\""; }
fail() { log_line error "\"msg\":\"init failed\",\"step\":\"$1\""; exit 1; }

seed_count="${INIT_SEED_COUNT:-1000}"
fleetsim_url="${INIT_FLEETSIM_URL:-http://fleet-sim:8090}"

# Validates the script's own settings the way config.c validates a program's: the first bad
# value is one line naming the variable, exit 2.
validate() {
  [ -n "${DATABASE_URL:-}" ] || die_config "DATABASE_URL: required but not set"
  if ! [[ "$seed_count" =~ ^[0-9]{1,7}$ ]] || ((10#$seed_count > 1000000)); then
    die_config "INIT_SEED_COUNT: expected an integer in [0, 1000000], got '${seed_count:0:80}'"
  fi
  if ((10#$seed_count > 0)); then
    [[ "$fleetsim_url" =~ ^https?://[^/]+ ]] ||
      die_config "INIT_FLEETSIM_URL: expected an http:// or https:// URL, got '${fleetsim_url:0:80}'"
  fi
  local tool
  for tool in reconciler-topics fleet-sim psql curl; do
    command -v "$tool" >/dev/null || die_config "$tool: not found on PATH"
  done
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  --check-config)
    validate
    # reconciler-topics validates its own variables (and any RECONCILER_KAFKA_* property) and
    # prints them; its exit status is ours.
    reconciler-topics --check-config
    echo "DATABASE_URL=<masked>"
    echo "INIT_SEED_COUNT=$((10#$seed_count))"
    echo "INIT_FLEETSIM_URL=$fleetsim_url"
    echo "FLEETSIM_ADMIN_TOKEN=${FLEETSIM_ADMIN_TOKEN:+<masked>}"
    exit 0
    ;;
  "") ;;
  *) die_config "unexpected argument '${1:0:80}' (see --help)" ;;
esac
validate

step "creating topics"
reconciler-topics || fail topics

step "applying migrations"
"$here/migrate.sh" --fixtures || fail migrations

if ((10#$seed_count == 0)); then
  step "seeding skipped (INIT_SEED_COUNT=0)"
  exit 0
fi
rows=$(psql "$DATABASE_URL" -X -q -At -v ON_ERROR_STOP=1 -c "SELECT count(*) FROM workspaces") ||
  fail count-rows
if [ "$rows" = 0 ]; then
  step "seeding $((10#$seed_count)) workspaces into fleet-sim"
  fleet-sim seed --count "$((10#$seed_count))" --url "$fleetsim_url" >/dev/null || fail seed
else
  # A restarted fleet-sim has forgotten its instances; re-register the rows (idempotent: an
  # instance it already knows keeps its simulated state).
  step "workspaces has $rows rows: re-registering them with fleet-sim instead of seeding"
  auth=()
  if [ -n "${FLEETSIM_ADMIN_TOKEN:-}" ]; then
    # Through a header file on stdin rather than argv, so the token is not in `ps` output.
    auth=(-H @-)
  fi
  printf 'Authorization: Bearer %s\n' "${FLEETSIM_ADMIN_TOKEN:-}" |
    curl -fsS -o /dev/null --max-time 300 -X POST "${auth[@]}" "${fleetsim_url%/}/admin/load-from-db" ||
    fail load-from-db
fi
step "init done"
