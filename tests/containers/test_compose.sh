#!/usr/bin/env bash
# The compose stack for real (scripts/test.sh runs it; docs/containers.md lists the same
# commands): prepares the engine (scripts/containers.sh: installs it on a fresh machine),
# builds the images, checks them (labels, stripped programs with their debug info in a
# separate image, no psql or perl in the programs' image, non-root, read-only root), writes
# an SBOM, starts compose.yaml, waits for every service to be healthy, asserts the demo's
# result through the published ports, scales the checkers to 3 and shows the partitions
# spread over them, then `down -v`. Exit 0 only if all of it passed; the last line is
# "N passed, N failed".
#
#   tests/containers/test_compose.sh [OUTPUT_DIR]    (default build/containers)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="$(mkdir -p "${1:-build/containers}" && cd "${1:-build/containers}" && pwd)"
python="$root/.cache/venv/bin/python"
started=$SECONDS
passed=0
failed=0

say() { printf '\n==> [%3d s] %s\n' "$((SECONDS - started))" "$*"; }
pass() { passed=$((passed + 1)); printf 'ok: %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAILED: %s\n' "$*"; }
expect() { # message-if-passed message-if-failed command...
  local passed_message=$1 failed_message=$2
  shift 2
  if "$@"; then pass "$passed_message"; else fail "$failed_message"; fi
}
finish() {
  printf '\ncompose test: %d s\n%d passed, %d failed\n' "$((SECONDS - started))" "$passed" "$failed"
  ((failed == 0 && passed > 0))
}

# The Python harness (psycopg) and the Kafka jars for the stand-in; scripts/test.sh has run
# this already, so it is only for running the test on its own.
[ -x "$python" ] || scripts/install-deps.sh

say "engine: scripts/containers.sh"
eval "$(scripts/containers.sh env)"
export DOCKER_HOST
# The engine's API service and health-check driver are stopped again at the end when this test
# started them (a developer's running engine is left alone).
engine_was_running=false
if curl -fsS --unix-socket "${DOCKER_HOST#unix://}" http://d/_ping >/dev/null 2>&1; then
  engine_was_running=true
fi
# shellcheck disable=SC2317 # runs from the EXIT trap
stop_engine() { $engine_was_running || scripts/containers.sh stop; }
trap stop_engine EXIT
trap 'exit 143' TERM INT
scripts/containers.sh

# A project and ports of its own, so that a developer's stack on the default ports is not
# disturbed; fresh secrets, the compose file's own defaults otherwise.
free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
project="reconciler-test-$$"
env_file="$out/test.env"
secret() { openssl rand -hex 16; }
cat >"$env_file" <<ENV
POSTGRES_PASSWORD=$(secret)
CP_SHARED_SECRET=$(secret)
CP_ADMIN_TOKEN=$(secret)
RESTART_TOKEN=$(secret)
FLEETSIM_ADMIN_TOKEN=$(secret)
FLEETSIM_HOST_PORT=$(free_port)
PRODUCER_METRICS_HOST_PORT=$(free_port)
ACTUATOR_METRICS_HOST_PORT=$(free_port)
POSTGRES_HOST_PORT=$(free_port)
PRODUCER_INTERVAL=10s
RECONCILER_VERSION=$(sed -n 's/^project(instance_reconciler VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
RECONCILER_REVISION=$(git rev-parse HEAD)
RECONCILER_SOURCE=$(git config --get remote.origin.url || echo "file://$root")
ENV
set -a
# shellcheck disable=SC1090 # written just above
source "$env_file"
set +a
compose=(docker-compose -p "$project" --env-file "$env_file")
compose_down() {
  "${compose[@]}" logs --no-color >"$out/compose.log" 2>&1 || true
  "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
}
# shellcheck disable=SC2317 # runs from the EXIT trap
cleanup() {
  compose_down
  stop_engine
}
trap cleanup EXIT

say "docker-compose build"
build_started=$SECONDS
if "${compose[@]}" build >"$out/build.log" 2>&1; then
  pass "images built ($((SECONDS - build_started)) s)"
else
  tail -n 40 "$out/build.log"
  fail "docker-compose build (log: $out/build.log)"
  finish
fi
# The same REVISION as compose's build: it is compiled into the programs, so another value
# would make other binaries (other build ids) than the runtime image's.
podman build -q --target debug --build-arg REVISION="$RECONCILER_REVISION" \
  -t instance-reconciler-debug:dev . >>"$out/build.log" 2>&1 ||
  fail "the debug image (podman build --target debug)"

say "image checks"
label() { podman image inspect --format "{{index .Labels \"org.opencontainers.image.$1\"}}" "$2"; }
for image in instance-reconciler:dev instance-reconciler-init:dev; do
  if [ "$(label version "$image")" = "$RECONCILER_VERSION" ] &&
    [ "$(label revision "$image")" = "$RECONCILER_REVISION" ] &&
    [ "$(label source "$image")" = "$RECONCILER_SOURCE" ]; then
    pass "$image: OCI labels version $RECONCILER_VERSION, revision ${RECONCILER_REVISION:0:12}, source"
  else
    fail "$image: OCI labels $(podman image inspect --format '{{json .Labels}}' "$image")"
  fi
done
# --version inside the image names the same revision as the label (no .git in the build
# context: the Dockerfile passes the REVISION build argument to CMake).
version_line=$(podman run --rm --read-only instance-reconciler:dev reconciler-checker --version 2>&1 || true)
expect "--version in the image reports revision ${RECONCILER_REVISION:0:12}" \
  "--version in the image says: $version_line" \
  grep -q "revision ${RECONCILER_REVISION:0:12}" <<<"$version_line"
expect "runs as uid 10001 (non-root)" "the image's user is not 10001:10001" \
  [ "$(podman image inspect --format '{{.Config.User}}' instance-reconciler:dev)" = 10001:10001 ]
# perl-base is part of every Debian (essential); psql would add the full perl (libperl).
if podman run --rm --read-only instance-reconciler:dev sh -c \
  '! command -v psql && ! command -v gcc && ! dpkg-query -W libperl5.36 postgresql-client-15' >/dev/null 2>&1; then
  pass "the programs' image has no psql, libperl or compiler"
else
  fail "psql, libperl or a compiler in instance-reconciler:dev"
fi
# The shipped programs are stripped and name their debug file; the debug image holds it, under
# the program's build id (where gdb and perf look for it).
files="$out/image-files"
rm -rf "$files" && mkdir -p "$files"
copy_out() { # image path destination
  local container
  container=$(podman create "$1" true)
  podman cp "$container:$2" "$3"
  podman rm "$container" >/dev/null
}
copy_out instance-reconciler:dev /usr/local/bin "$files/bin"
copy_out instance-reconciler-debug:dev /usr/lib/debug "$files/debug"
stripped=0
for program in "$files"/bin/*; do
  build_id=$(readelf -n "$program" 2>/dev/null | sed -n 's/^ *Build ID: *//p')
  debug="$files/debug/.build-id/${build_id:0:2}/${build_id:2}.debug"
  sections=$(readelf -S "$program" 2>/dev/null)
  if grep -q '\.debug_info' <<<"$sections" || ! grep -q '\.gnu_debuglink' <<<"$sections" ||
    ! [ -f "$debug" ] || ! readelf -S "$debug" 2>/dev/null | grep -q '\.debug_info'; then
    fail "$(basename "$program"): not stripped, or no debug file for build id $build_id"
  else
    stripped=$((stripped + 1))
  fi
done
expect "6 programs stripped, their debug info in instance-reconciler-debug:dev by build id" \
  "$stripped of 6 programs stripped with debug info" [ "$stripped" = 6 ]

say "SBOM (syft)"
if scripts/sbom.sh instance-reconciler:dev "$out/sbom.spdx.json" >"$out/sbom.log" 2>&1 &&
  "$python" -c 'import json,sys; d=json.load(open(sys.argv[1])); names={p["name"] for p in d["packages"]}; sys.exit(0 if {"librdkafka1","libpq5"} <= names else 1)' "$out/sbom.spdx.json"; then
  pass "SPDX SBOM $out/sbom.spdx.json ($(tail -n 1 "$out/sbom.log"))"
else
  tail -n 20 "$out/sbom.log"
  fail "SBOM (log: $out/sbom.log)"
fi

say "docker-compose up -d"
"${compose[@]}" up -d >"$out/up.log" 2>&1 || { tail -n 30 "$out/up.log"; fail "docker-compose up"; finish; }
# Health as the engine reports it: every service with a health check healthy, init exited 0.
wait_healthy() { # expected number of healthy containers, timeout seconds
  local deadline=$((SECONDS + $2)) states
  while ((SECONDS < deadline)); do
    states=$(podman ps -a --filter "label=com.docker.compose.project=$project" \
      --format '{{.Names}} {{.Status}}')
    if [ "$(grep -c '(healthy)' <<<"$states")" -ge "$1" ] && grep -q '_init_1 Exited (0)' <<<"$states"; then
      echo "$states"
      return 0
    fi
    sleep 2
  done
  echo "$states"
  return 1
}
# postgres, kafka, fleet-sim, producer, checker, actuator.
if wait_healthy 6 240; then
  pass "every service healthy, init exited 0 ($((SECONDS - started)) s into the test)"
else
  fail "services not healthy within 240 s"
  finish
fi
read_only=$(podman ps --filter "label=com.docker.compose.project=$project" \
  --format '{{.Names}}' | grep -Ev '_(postgres|kafka)_' | xargs podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' | sort -u)
expect "our containers run with a read-only root filesystem" "read-only root filesystem: $read_only" \
  [ "$read_only" = true ]

say "the demo's result through the published ports"
if TERMINATE_COUNT=20 HEAL_TIMEOUT=150 "$python" tests/containers/compose_e2e.py heal; then
  pass "terminated instances healed, no healthy workspace touched"
else
  fail "the demo's end-to-end result"
fi

# podman mounts a tmpfs on /tmp and /var/tmp of a read-only container, Docker does not: the
# programs must not need one, so both are still empty after the demo.
written=""
for name in $(podman ps --filter "label=com.docker.compose.project=$project" --format '{{.Names}}' |
  grep -Ev '_(postgres|kafka)_'); do
  found=$(podman exec "$name" find /tmp /var/tmp -mindepth 1 2>/dev/null | head -n 3 | tr '\n' ' ')
  [ -z "$found" ] || written+="$name: $found; "
done
expect "the programs wrote nothing to /tmp or /var/tmp (read-only root without tmpfs, as under Docker)" \
  "files written at run time: $written" [ -z "$written" ]

say "docker-compose up -d --scale checker=3"
"${compose[@]}" up -d --scale checker=3 >>"$out/up.log" 2>&1 || fail "scale to 3 checkers"
wait_healthy 8 120 >/dev/null || fail "3 checkers not healthy within 120 s"
spread=false
for _ in $(seq 1 60); do
  if "${compose[@]}" exec -T kafka /opt/kafka/bin/kafka-consumer-groups.sh --bootstrap-server localhost:9092 \
    --describe --group reconciler-checker 2>/dev/null >"$out/checker-group.txt" &&
    CONSUMERS=3 PARTITIONS=12 "$python" tests/containers/compose_e2e.py partitions <"$out/checker-group.txt" >"$out/partitions.txt"; then
    spread=true
    break
  fi
  sleep 2
done
cat "$out/partitions.txt"
expect "12 partitions spread over 3 checkers" "partitions not spread over 3 checkers" $spread

say "docker-compose down -v"
compose_down
left=$(podman ps -a -q --filter "label=com.docker.compose.project=$project" | wc -l)
volumes=$(podman volume ls -q | grep -c "^${project}_" || true)
expect "down -v removed every container and volume" "$left containers and $volumes volumes left" \
  [ "$left$volumes" = 00 ]
finish
