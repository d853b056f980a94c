#!/usr/bin/env bash
# The README's first command: the whole reconciler on this machine, no Docker.
# Installs what is missing, builds, starts the local stack (PostgreSQL + Kafka, see
# scripts/stack.sh) and tears it down again on exit or Ctrl-C.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
keep_running=false
for argument in "$@"; do
  case "$argument" in
    --keep-running) keep_running=true ;;
    -h | --help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "demo: unknown argument '$argument'" >&2; exit 2 ;;
  esac
done

scripts/install-deps.sh
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/demo -j "$(nproc)"

stack_dir=$(mktemp -d /tmp/reconciler-demo.XXXXXX)
trap 'scripts/stack.sh stop "$stack_dir"' EXIT
trap 'exit 130' INT TERM
scripts/stack.sh start "$stack_dir"
# shellcheck disable=SC1091
source "$stack_dir/env"
echo "demo: stack up — Kafka $KAFKA_BOOTSTRAP_SERVERS, PostgreSQL on 127.0.0.1 (env in $stack_dir/env)"
if $keep_running; then
  echo "demo: --keep-running: Ctrl-C tears everything down"
  while true; do sleep 3600; done
fi
