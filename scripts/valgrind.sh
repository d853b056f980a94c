#!/usr/bin/env bash
# Runs a chosen set of integration tests with every program they start under valgrind
# memcheck, then reads valgrind's reports: exit status 0 only if the tests passed and no
# process definitely lost a byte or made an invalid read, write or free.
#
#   scripts/valgrind.sh BUILD_DIR      e.g. build/test (a normal build: not the sanitizer one)
#
# How: harness.Process prefixes each program with $RECONCILER_TEST_WRAPPER (valgrind, one
# log file per process) and stretches every wait by $RECONCILER_TEST_TIMEOUT_SCALE. The tests
# are the ones that take each program through real work and a clean SIGTERM shutdown
# (valgrind reports leaks when a process exits; a SIGKILLed one reports nothing):
# the whole pipeline with secrets, hostile data and TLS failures (test_security.py), and
# fleet-sim's shutdown with held requests. Uses the stack of the environment
# (KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL) when set, as scripts/test.sh does; otherwise starts
# one for the run. Reports go to BUILD_DIR/valgrind/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

[ $# -eq 1 ] || { echo "usage: scripts/valgrind.sh BUILD_DIR" >&2; exit 2; }
build="$(cd "$1" && pwd)"
if grep -qiE '^RECONCILER_SANITIZE:BOOL=(ON|TRUE|YES|1)$' "$build/CMakeCache.txt" 2>/dev/null; then
  echo "valgrind: $build is a sanitizer build; valgrind needs a normal one (e.g. build/test)" >&2
  exit 2
fi

step() { printf '\n==> %s\n' "$*"; }

if ! command -v valgrind >/dev/null 2>&1; then
  step "installing valgrind"
  if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq valgrind >/dev/null
fi
python="$root/.cache/venv/bin/python"
[ -x "$python" ] || python=python3

if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ] || [ -z "${DATABASE_URL:-}" ]; then
  stack_dir=$(mktemp -d /tmp/reconciler-valgrind-stack.XXXXXX)
  trap '"$root/scripts/stack.sh" stop "$stack_dir" || true' EXIT
  step "starting a local stack in $stack_dir"
  "$root/scripts/stack.sh" start "$stack_dir"
  # $stack_dir/env is written by scripts/stack.sh at run time: there is no file for shellcheck to read.
  # shellcheck disable=SC1091
  source "$stack_dir/env"
fi
# The dev stack's env file may export this directory variable, which our programs would read
# as the librdkafka property "lib".
unset RECONCILER_KAFKA_LIB

reports="$build/valgrind"
rm -rf "$reports"
mkdir -p "$reports/logs"

# --errors-for-leak-kinds=definite: "possibly lost" and "still reachable" are the libraries'
# process-lifetime caches (OpenSSL, libcurl, librdkafka), not our leaks. --fair-sched: the
# programs are multi-threaded and must keep their Kafka heartbeats going under valgrind.
# --soname-synonyms: the checker links jemalloc (CMakeLists.txt); memcheck replaces its
# malloc as it does the C library's, so leaks are still found.
export RECONCILER_TEST_WRAPPER="valgrind --tool=memcheck --leak-check=full \
--soname-synonyms=somalloc=*jemalloc* \
--show-leak-kinds=definite --errors-for-leak-kinds=definite --error-exitcode=99 \
--fair-sched=yes --num-callers=40 --log-file=$reports/memcheck-%p.log"
# Programs run 20-50 times slower in CPU; the tests mostly wait on I/O.
export RECONCILER_TEST_TIMEOUT_SCALE="${RECONCILER_TEST_TIMEOUT_SCALE:-8}"
export RECONCILER_BINARY_DIR="$build"
export RECONCILER_SOURCE_DIR="$root"
export RECONCILER_TEST_LOG_DIR="$reports/logs"

tests=(
  test_security.py::test_secrets_appear_in_no_log_metric_config_output_or_topic
  test_security.py::test_hostile_instance_ids_round_trip_exactly_and_touch_nothing_out_of_scope
  test_security.py::test_checker_https_self_signed_without_ca_file_is_unknown_tls_never_not_running
  test_security.py::test_actuator_https_restart_fails_closed_until_ca_file_is_configured
  test_fleet_sim.py::test_sigterm_stops_cleanly_while_requests_are_held
)
step "integration tests under valgrind memcheck (timeouts x$RECONCILER_TEST_TIMEOUT_SCALE)"
tests_status=0
(cd "$root/tests/integration" && "$python" -m pytest -q -p no:cacheprovider "${tests[@]}") ||
  tests_status=$?

step "memcheck reports ($reports)"
# One line per process: program, exit summary, definitely/indirectly lost bytes, errors.
memory_errors="Invalid (read|write|free)|Mismatched free|uninitialised|Source and destination overlap"
findings=0
summaries=0
unfinished=0
total_definite=0
for report in "$reports"/memcheck-*.log; do
  [ -e "$report" ] || continue
  program=$(sed -n 's/^==[0-9]*== Command: \([^ ]*\).*/\1/p' "$report" | head -n 1)
  program=${program##*/}
  if ! grep -q "HEAP SUMMARY" "$report"; then
    unfinished=$((unfinished + 1)) # killed (SIGKILL) or still running: no report
    continue
  fi
  summaries=$((summaries + 1))
  definite=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$report" | tr -d , | head -n 1)
  indirect=$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p' "$report" | tr -d , | head -n 1)
  errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$report" | tr -d , | tail -n 1)
  invalid=$(grep -cE "$memory_errors" "$report" || true)
  definite=${definite:-0} indirect=${indirect:-0} errors=${errors:-0}
  total_definite=$((total_definite + definite))
  verdict=ok
  if [ "$definite" != 0 ] || [ "$invalid" != 0 ]; then
    verdict=FAILED
    findings=$((findings + 1))
  fi
  printf '%-22s definitely lost %6s B, indirectly lost %6s B, errors %3s  %s  %s\n' \
    "$program" "$definite" "$indirect" "$errors" "$verdict" "${report##*/}"
  if [ "$verdict" = FAILED ]; then
    grep -E -A25 "$memory_errors|definitely lost in" "$report" |
      head -n 80 | sed 's/^/    /'
  fi
done

printf '\nprocesses with a memcheck summary: %d; without one (killed by the test): %d\n' \
  "$summaries" "$unfinished"
printf 'definitely lost in total: %d bytes\n' "$total_definite"
if [ "$summaries" -eq 0 ]; then
  echo "valgrind: no process reported; did the tests run?" >&2
  exit 1
fi
if [ "$findings" -gt 0 ]; then
  echo "valgrind: $findings process(es) with a definite leak or a memory error" >&2
  exit 1
fi
if [ "$tests_status" -ne 0 ]; then
  echo "valgrind: the tests failed under valgrind (exit $tests_status)" >&2
  exit "$tests_status"
fi
step "valgrind: 0 bytes definitely lost, no invalid access in $summaries processes"
