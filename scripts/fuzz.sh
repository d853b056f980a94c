#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang (ASan + UBSan, coverage-instrumented
# libraries) in build/fuzz and runs each for a bounded time. Exit status 0 only if no target
# found a crash, a leak, undefined behaviour, a timeout or an out-of-memory input.
#
#   scripts/fuzz.sh [SECONDS]      each target for SECONDS (default 30), one after another
#
# Each run starts from the committed seeds (fuzz/corpus/<target>/, executed first, so every
# past finding kept there is a regression test) plus what earlier local runs found
# (build/fuzz/corpus/<target>/, never committed). A failing input is written to
# fuzz/crashes/<target>-crash-<sha1> (git-ignored); reproduce it with
#   build/fuzz/fuzz/fuzz_<target> fuzz/crashes/<file>
# Installs clang (Debian 12: clang-14, which ships libFuzzer) when it is missing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

seconds="${1:-30}"
case "$seconds" in
  '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2 ;;
esac
build="$root/build/fuzz"
targets=(codec cp_classify config fleet_sim_admin)
# Per-input limits: an input that takes seconds or gigabytes is a bug worth a report too.
rss_limit_mb=2048
input_timeout_s=10

step() { printf '\n==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# True when clang links a libFuzzer program (the runtime is in libclang-rt-*-dev on Debian).
fuzzer_links() {
  local probe
  probe=$(mktemp -d)
  cat >"$probe/probe.c" <<'C'
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { (void)data; (void)size; return 0; }
C
  clang -fsanitize=fuzzer,address,undefined "$probe/probe.c" -o "$probe/probe" >/dev/null 2>&1
  local status=$?
  rm -rf "$probe"
  return $status
}

if ! command -v clang >/dev/null 2>&1; then
  step "installing clang (libFuzzer)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq clang >/dev/null
fi
if ! fuzzer_links; then
  step "installing the libFuzzer runtime"
  version=$(clang --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -n 1)
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "libclang-rt-${version}-dev" \
    >/dev/null
  fuzzer_links || { echo "fuzz: clang cannot link -fsanitize=fuzzer" >&2; exit 1; }
fi

step "build: libFuzzer targets (clang, ASan + UBSan) in $build"
# -Werror as in CI, except clang's -Wformat-nonliteral (part of -Wformat=2 in clang, not in
# gcc), which a va_list logging callback in common/ trips; the gcc builds are the gate there.
CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRECONCILER_FUZZ=ON \
  -DRECONCILER_WERROR=ON -DCMAKE_C_FLAGS=-Wno-error=format-nonliteral >/dev/null
cmake --build "$build" -j "${RECONCILER_BUILD_JOBS:-2}" \
  --target "${targets[@]/#/fuzz_}"

mkdir -p "$root/fuzz/crashes" "$build/logs"
# Leaks are findings (libFuzzer checks after each input that allocated); UB halts at once.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:symbolize=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
failed=()
for target in "${targets[@]}"; do
  step "fuzz_$target for ${seconds}s"
  work="$build/corpus/$target"
  mkdir -p "$work"
  log="$build/logs/fuzz_$target.log"
  args=(-max_total_time="$seconds" -rss_limit_mb="$rss_limit_mb" -timeout="$input_timeout_s"
        -print_final_stats=1 -artifact_prefix="$root/fuzz/crashes/$target-")
  if [ -f "$root/fuzz/$target.dict" ]; then args+=(-dict="$root/fuzz/$target.dict"); fi
  # New inputs go to the first directory (the local work corpus); the seeds stay untouched.
  seeds="$root/fuzz/corpus/$target"
  if "$build/fuzz/fuzz_$target" "${args[@]}" "$work" "$seeds" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(sed -n 's/^#[0-9]*[[:space:]]*DONE.*cov: \([0-9]*\).*/\1/p' "$log")
    echo "fuzz_$target: ok, ${runs:-?} inputs in ${seconds}s, coverage ${cov:-?} edges"
  else
    failed+=("$target")
    echo "fuzz_$target: FAILED (log: $log)" >&2
    grep -E 'ERROR|SUMMARY|property failed|runtime error|Test unit written' "$log" | head -n 20 >&2 || true
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  step "fuzzing found problems in: ${failed[*]} (inputs in fuzz/crashes/)"
  exit 1
fi
step "fuzzing: no crash, leak or undefined behaviour in ${#targets[@]} targets"
