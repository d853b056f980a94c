#!/usr/bin/env bash
# The README's test command. On a fresh Debian 12 machine it installs what is missing,
# builds twice (warnings as errors; then AddressSanitizer + UndefinedBehaviorSanitizer),
# starts the local stack (PostgreSQL + the real Kafka broker, scripts/stack.sh), runs every
# test with CTest in both builds, checks formatting, the shell scripts (shellcheck) and
# compose.yaml, and tears the stack down again, also after a failure. Exit status: 0 only if
# everything passed.
#
#   scripts/test.sh              everything
#   scripts/test.sh --quick      the normal build only (no sanitizer build), for iterating
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

stack_dir=$(mktemp -d /tmp/reconciler-test-stack.XXXXXX)
logs_dir="$root/build/test-logs"
mkdir -p "$logs_dir"
cleanup() { scripts/stack.sh stop "$stack_dir" || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM
step "starting the local stack in $stack_dir"
scripts/stack.sh start "$stack_dir"
# $stack_dir/env is written by scripts/stack.sh at run time: there is no file for shellcheck to read.
# shellcheck disable=SC1091
source "$stack_dir/env"
export RECONCILER_TEST_LOG_DIR="$logs_dir"
# Leaks fail the run; the sanitizer's report names the allocation.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# CTEST_ARGS is split on blanks into separate arguments ("-R codec" is two).
read -r -a ctest_args <<<"${CTEST_ARGS:-}"
run_tests() { # build dir
  local dir=$1
  step "unit tests ($dir)"
  ctest --test-dir "$dir" -L unit -j "$jobs" --output-on-failure --no-tests=error "${ctest_args[@]}"
  step "integration tests ($dir, real Kafka and PostgreSQL)"
  ctest --test-dir "$dir" -L integration --output-on-failure --no-tests=error "${ctest_args[@]}"
}
run_tests build/test
if ! $quick; then
  run_tests build/test-sanitize
  step "fuzzing: each libFuzzer target for 30 s (clang, ASan + UBSan)"
  scripts/fuzz.sh 30
  step "integration tests under valgrind memcheck (zero bytes definitely lost)"
  scripts/valgrind.sh build/test
fi
step "all tests passed"
