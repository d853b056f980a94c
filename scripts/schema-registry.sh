#!/usr/bin/env bash
# A real Confluent-API schema registry for tests and the demo: Apicurio Registry 2.6.13.Final
# (Maven Central, io.apicurio:apicurio-registry-app:2.6.13.Final:zip:all, cached under
# .cache/apicurio), in-memory storage, on a free loopback port, with global compatibility set
# to FULL_TRANSITIVE (Apicurio's default is NONE). Not part of scripts/stack.sh: only the tests
# and demo runs that ask for it pay its start-up (docs/schemas.md, "Schema registry").
#
#   scripts/schema-registry.sh start DIR   starts it; writes DIR/env (SCHEMA_REGISTRY_URL=...)
#   scripts/schema-registry.sh stop DIR    stops the one started in DIR
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version=2.6.13.Final
cache="${RECONCILER_CACHE_DIR:-$root/.cache}/apicurio"
jar="$cache/apicurio-registry-app-$version-runner.jar"

log() { printf 'schema-registry: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

fetch() {
  [ -f "$cache/.complete" ] && return
  rm -rf "$cache"
  mkdir -p "$cache"
  log "fetching Apicurio Registry $version from Maven Central into $cache"
  mvn -q -B dependency:copy "-Dartifact=io.apicurio:apicurio-registry-app:$version:zip:all" \
    -DoutputDirectory="$cache" >&2
  python3 -m zipfile -e "$cache/apicurio-registry-app-$version-all.zip" "$cache"
  rm -f "$cache/apicurio-registry-app-$version-all.zip"
  [ -f "$jar" ] || die "no $jar in the downloaded archive"
  touch "$cache/.complete"
}

cmd_start() {
  local dir=$1 port url
  mkdir -p "$dir"
  fetch
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  HTTP_PORT=$port QUARKUS_HTTP_HOST=127.0.0.1 nohup java -Xmx512m -jar "$jar" \
    >"$dir/registry.log" 2>&1 &
  echo $! >"$dir/registry.pid"
  url="http://127.0.0.1:$port/apis/ccompat/v7"
  for _ in $(seq 1 120); do
    if curl -sf "$url/subjects" >/dev/null 2>&1; then
      curl -sf -X PUT -H 'Content-Type: application/json' \
        -d '{"compatibility":"FULL_TRANSITIVE"}' "$url/config" >/dev/null ||
        die "could not set FULL_TRANSITIVE on $url"
      echo "export SCHEMA_REGISTRY_URL=$url" >"$dir/env"
      log "ready at $url (FULL_TRANSITIVE): source $dir/env"
      return
    fi
    kill -0 "$(cat "$dir/registry.pid")" 2>/dev/null || die "exited; see $dir/registry.log"
    sleep 0.5
  done
  die "not ready after 60 s; see $dir/registry.log"
}

cmd_stop() {
  local dir=$1 pid
  [ -f "$dir/registry.pid" ] || return 0
  pid=$(cat "$dir/registry.pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/registry.pid"
}

case "${1:-}" in
  start) cmd_start "${2:?usage: schema-registry.sh start DIR}" ;;
  stop) cmd_stop "${2:?usage: schema-registry.sh stop DIR}" ;;
  *) echo "usage: schema-registry.sh start|stop DIR" >&2; exit 2 ;;
esac
