#!/usr/bin/env bash
# The README's test command. On a fresh Debian 12 machine it installs what is missing,
# builds twice (warnings as errors; then AddressSanitizer + UndefinedBehaviorSanitizer),
# starts the local stack (PostgreSQL + the real Kafka broker, scripts/stack.sh), runs every
# test with CTest in both builds, checks formatting, the shell scripts (shellcheck) and
# compose.yaml, runs the compose stack for real in containers (tests/containers/, in the
# background while the programs build), and tears the stack down again, also after a failure.
# Exit status: 0 only if everything passed.
#
#   scripts/test.sh              everything
#   scripts/test.sh --quick      the normal build only (no sanitizer build, no containers),
#                                for iterating
#   CTEST_ARGS="-R codec" scripts/test.sh --quick   pass a test filter to ctest
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
quick=false
[ "${1:-}" = "--quick" ] && quick=true

step() { printf '\n==> %s\n' "$*"; }

step "installing dependencies (only what is missing)"
scripts/install-deps.sh
python="$root/.cache/venv/bin/python"
jobs=$(nproc)

configure_and_build() { # dir, extra cmake args...
  local dir=$1
  shift
  cmake -S "$root" -B "$dir" -DRECONCILER_WERROR=ON -DRECONCILER_PYTHON="$python" "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

# The compose stack (docs/containers.md) runs beside the builds and static checks: it mostly
# waits (image layers, containers turning healthy, the reconciler healing), and it is done
# before the integration tests, whose timings it must not disturb. Its own process group, so
# that an early exit ends all of it.
containers_pid=""
containers_dir="$root/build/containers"
containers_log="$containers_dir/test.log"
stop_containers_test() {
  [ -n "$containers_pid" ] || return 0
  kill -TERM -- "-$containers_pid" 2>/dev/null || true
  wait "$containers_pid" 2>/dev/null || true
}
trap stop_containers_test EXIT
trap 'exit 130' INT TERM
if ! $quick; then
  step "compose stack: tests/containers/test_compose.sh, in the background (log: $containers_log)"
  mkdir -p "$containers_dir"
  setsid tests/containers/test_compose.sh "$containers_dir" >"$containers_log" 2>&1 </dev/null &
  containers_pid=$!
fi

step "formatting (clang-format, committed .clang-format)"
scripts/check-format.sh

step "shell scripts (shellcheck)"
scripts/check-shell.sh

step "build: normal (-Wall -Wextra -Werror)"
configure_and_build build/test -DCMAKE_BUILD_TYPE=RelWithDebInfo
if ! $quick; then
  step "build: AddressSanitizer + UndefinedBehaviorSanitizer"
  configure_and_build build/test-sanitize -DCMAKE_BUILD_TYPE=Debug -DRECONCILER_SANITIZE=ON
fi

step "static checks: compose.yaml, alert rules, docs/configuration.md, self-contained, schemas"
scripts/check-compose.sh build/test
"$python" scripts/config-reference.py build/test --check
scripts/check-self-contained.sh
scripts/check-schemas.sh

step "package: Release .deb without tests, installed into a scratch root (scripts/check-package.sh)"
scripts/check-package.sh build/package
step "Kubernetes: the Helm chart rendered, linted, validated (scripts/check-helm.sh)"
scripts/check-helm.sh

if [ -n "$containers_pid" ]; then
  step "compose stack (tests/containers/test_compose.sh)"
  containers_status=0
  wait "$containers_pid" || containers_status=$?
  containers_pid=""
  cat "$containers_log"
  ((containers_status == 0)) || { echo "compose stack test failed (exit $containers_status)" >&2; exit 1; }
fi

logs_dir="$root/build/test-logs"
mkdir -p "$logs_dir"
export RECONCILER_TEST_LOG_DIR="$logs_dir"
# Leaks fail the run; the sanitizer's report names the allocation.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# CTEST_ARGS is split on blanks into separate arguments ("-R codec" is two).
read -r -a ctest_args <<<"${CTEST_ARGS:-}"
stack_dirs=()
cleanup() {
  local dir
  stop_containers_test
  for dir in "${stack_dirs[@]}"; do scripts/stack.sh stop "$dir" || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One suite: the unit and integration tests of one build, against a stack of its own
# (PostgreSQL + the real Kafka broker on free ports; some tests restart them, so two suites
# never share one).
run_suite() { # build dir, stack dir
  local dir=$1 stack=$2
  (
    # $stack/env is written by scripts/stack.sh at run time: there is no file for shellcheck to read.
    # shellcheck disable=SC1091
    source "$stack/env"
    step "unit tests ($dir)"
    ctest --test-dir "$dir" -L unit -j "$jobs" --output-on-failure --no-tests=error "${ctest_args[@]}"
    step "integration tests ($dir, real Kafka and PostgreSQL)"
    ctest --test-dir "$dir" -L integration --output-on-failure --no-tests=error "${ctest_args[@]}"
  )
}

new_stack() { # prints the directory of a started stack
  local dir
  dir=$(mktemp -d /tmp/reconciler-test-stack.XXXXXX)
  step "starting a local stack in $dir" >&2
  scripts/stack.sh start "$dir" >&2
  printf '%s\n' "$dir"
}

if $quick; then
  normal_stack=$(new_stack)
  stack_dirs+=("$normal_stack")
  run_suite build/test "$normal_stack"
else
  # The two builds' suites run side by side, each on its own stack: most of an integration
  # test's time is waiting for processes, so two suites on two cores take far less than one
  # after the other. Waits are only upper bounds, stretched x2 for the shared cores; a
  # passing test is not slowed by that. Each suite's output goes to its own log, printed
  # whole at the end (failures included).
  export RECONCILER_TEST_TIMEOUT_SCALE="${RECONCILER_TEST_TIMEOUT_SCALE:-2}"
  normal_stack=$(new_stack)
  stack_dirs+=("$normal_stack")
  sanitize_stack=$(new_stack)
  stack_dirs+=("$sanitize_stack")
  step "running the normal and the sanitizer suites side by side (logs: $logs_dir/suite-*.log)"
  run_suite build/test "$normal_stack" >"$logs_dir/suite-normal.log" 2>&1 &
  normal_pid=$!
  run_suite build/test-sanitize "$sanitize_stack" >"$logs_dir/suite-sanitize.log" 2>&1 &
  sanitize_pid=$!
  normal_status=0 sanitize_status=0
  wait "$normal_pid" || normal_status=$?
  wait "$sanitize_pid" || sanitize_status=$?
  cat "$logs_dir/suite-normal.log" "$logs_dir/suite-sanitize.log"
  printf '\nsuites: normal exit %s, sanitizer exit %s\n' "$normal_status" "$sanitize_status"
  if [ "$normal_status" -ne 0 ] || [ "$sanitize_status" -ne 0 ]; then
    exit 1
  fi
  unset RECONCILER_TEST_TIMEOUT_SCALE
  step "fuzzing: each libFuzzer target for 30 s (clang, ASan + UBSan)"
  scripts/fuzz.sh 30
  # valgrind.sh needs a stack in the environment; the normal suite's is free again.
  # shellcheck disable=SC1091
  source "$normal_stack/env"
  step "integration tests under valgrind memcheck (zero bytes definitely lost)"
  scripts/valgrind.sh build/test
fi
step "all tests passed"
