#!/usr/bin/env bash
# The README's first command: the whole reconciler on this machine, no Docker.
#
#   scripts/demo.sh [--workspaces N] [--terminate-percent P] [--interval 10s] [--keep-running]
#                   [--schema-registry]
#
# Installs what is missing, builds, starts PostgreSQL and the Kafka broker (scripts/stack.sh),
# fleet-sim, one producer, two checkers and one actuator on loopback; seeds N workspaces
# (default 1000); terminates P% of their instances in fleet-sim (default 5); then shows the
# reconciler finding and healing them, sweep by sweep, with a summary and a per-workspace
# timeline at the end. Exit 0 when every terminated instance was healed and no healthy
# workspace was touched. --keep-running leaves everything up (Ctrl-C tears it all down).
# --schema-registry runs it in registry mode: a real schema registry (Apicurio, scripts/
# schema-registry.sh) and every program with SCHEMA_REGISTRY_URL (docs/schemas.md).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

workspaces=1000
terminate_percent=5
interval=10s
keep_running=false
schema_registry=false
timeout=150
build_dir="${RECONCILER_DEMO_BUILD_DIR:-$root/build/demo}"
while [ $# -gt 0 ]; do
  case "$1" in
    --workspaces) workspaces=${2:?--workspaces needs a number}; shift 2 ;;
    --terminate-percent) terminate_percent=${2:?--terminate-percent needs a number}; shift 2 ;;
    --interval) interval=${2:?--interval needs a duration}; shift 2 ;;
    --timeout) timeout=${2:?--timeout needs seconds}; shift 2 ;;
    --keep-running) keep_running=true; shift ;;
    --schema-registry) schema_registry=true; shift ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1mdemo:\033[0m %s\n' "$*"; }

if [ -z "${RECONCILER_DEMO_BUILD_DIR:-}" ]; then
  scripts/install-deps.sh
  say "building into $build_dir"
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build_dir" -j "$(nproc)" >/dev/null
fi
python="$root/.cache/venv/bin/python"

stack_dir=$(mktemp -d /tmp/reconciler-demo.XXXXXX)
logs="$stack_dir/logs"
mkdir -p "$logs"
pids=()
# Runs from the EXIT trap; shellcheck 0.9 takes it for unreachable because the script ends in
# `exit` (koalaman/shellcheck#2542).
# shellcheck disable=SC2317
teardown() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  scripts/schema-registry.sh stop "$stack_dir/registry" >/dev/null 2>&1 || true
  scripts/stack.sh stop "$stack_dir" >/dev/null 2>&1 || true
}
trap teardown EXIT
trap 'exit 130' INT TERM

say "starting PostgreSQL and Kafka"
scripts/stack.sh start "$stack_dir" 2>"$logs/stack.log" || { cat "$logs/stack.log" >&2; exit 1; }
# $stack_dir/env is written by scripts/stack.sh at run time: there is no file for shellcheck to read.
# shellcheck disable=SC1091
source "$stack_dir/env"
export LOG_LEVEL=info
if $schema_registry; then
  say "starting the schema registry (registry mode: 00 + schema id on every topic)"
  scripts/schema-registry.sh start "$stack_dir/registry" 2>"$logs/registry.log" ||
    { cat "$logs/registry.log" >&2; exit 1; }
  # Written by scripts/schema-registry.sh at run time: exports SCHEMA_REGISTRY_URL.
  # shellcheck disable=SC1091
  source "$stack_dir/registry/env"
fi

free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start() { # name, command...
  local name=$1
  shift
  "$@" >>"$logs/$name.log" 2>&1 &
  pids+=($!)
  echo "$!" >"$stack_dir/$name.pid"
}
wait_healthy() { # name, url
  for _ in $(seq 1 100); do
    curl -fsS "$2" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "demo: $1 did not become healthy; its log:" >&2
  tail -n 20 "$logs/$1.log" >&2
  exit 1
}

sim_port=$(free_port)
sim_url="http://127.0.0.1:$sim_port"
start fleet-sim env FLEETSIM_ADDR="127.0.0.1:$sim_port" METRICS_ADDR= FLEETSIM_REPROVISION_DELAY=2s \
  "$build_dir/tools/fleet-sim/fleet-sim"
wait_healthy fleet-sim "$sim_url/healthz"
say "fleet-sim (simulated control plane and workspace server) on $sim_url"

say "seeding $workspaces workspaces"
"$build_dir/tools/fleet-sim/fleet-sim" seed --count "$workspaces" --url "$sim_url" >"$logs/seed.log" 2>&1 ||
  { cat "$logs/seed.log" >&2; exit 1; }

declare -A metrics_urls
start_program() { # name, binary, extra env...
  local name=$1 binary=$2 port
  shift 2
  port=$(free_port)
  start "$name" env METRICS_ADDR="127.0.0.1:$port" "$@" "$binary"
  metrics_urls[$name]="http://127.0.0.1:$port"
}
start_program producer "$build_dir/producer/reconciler-producer" PRODUCER_INTERVAL="$interval"
start_program checker-1 "$build_dir/checker/reconciler-checker" CP_URL="$sim_url" CHECKER_ID=checker-1
start_program checker-2 "$build_dir/checker/reconciler-checker" CP_URL="$sim_url" CHECKER_ID=checker-2
# 600 flips and restarts a minute: the demo's 5% of 1,000 heal within one interval; production's
# default is lower (docs/actuator.md, "Flip and restart rates").
# CP_URL: the actuator asks the CP again right before each flip (ACTUATOR_CP_CONFIRM).
start_program actuator "$build_dir/actuator/reconciler-actuator" \
  RESTART_URL="$sim_url/workspaces/{id}/restart" ACTUATOR_MAX_RESTARTS_PER_MIN=600 \
  ACTUATOR_MAX_FLIPS_PER_MIN=600 CP_URL="$sim_url"
for name in producer checker-1 checker-2 actuator; do
  wait_healthy "$name" "${metrics_urls[$name]}/healthz"
done
say "producer, checker-1, checker-2 and actuator running (sweep every $interval)"

say "terminating $terminate_percent% of the instances in fleet-sim"
curl -fsS -X POST "$sim_url/admin/terminate" -H 'Content-Type: application/json' \
  -d "{\"percent\": $terminate_percent}" >"$stack_dir/terminated.json"
say "$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["count"])' "$stack_dir/terminated.json") instances terminated; watching the reconciler heal them"
echo

status=0
"$python" scripts/demo_monitor.py --terminated "$stack_dir/terminated.json" \
  --fleet-sim-url "$sim_url" --timeout "$timeout" || status=$?

if $keep_running; then
  cat <<TEXT

The stack keeps running (Ctrl-C tears everything down). Logs: $logs
  metrics:   producer ${metrics_urls[producer]}/metrics
             checker-1 ${metrics_urls[checker-1]}/metrics   checker-2 ${metrics_urls[checker-2]}/metrics
             actuator ${metrics_urls[actuator]}/metrics     fleet-sim $sim_url/metrics
  env:       source $stack_dir/env
  faults:    curl -X POST $sim_url/admin/faults -d '{"mode":"status","code":503,"target":{"all":true}}'
             curl -X DELETE $sim_url/admin/faults
  terminate: curl -X POST $sim_url/admin/terminate -d '{"count":10}'
  a checker: (source $stack_dir/env; CP_URL=$sim_url METRICS_ADDR=127.0.0.1:0 $build_dir/checker/reconciler-checker)
  audit:     (source $stack_dir/env; $build_dir/tools/audit/reconciler-audit --from beginning --to end --summary)
TEXT
  while true; do sleep 3600; done
fi
exit "$status"
