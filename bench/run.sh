#!/usr/bin/env bash
# The pipeline benchmark (issue #8): a 100,000-workspace fleet covered every interval by
# the whole pipeline on this machine, side by side with a sequential sweeper.
#
#   bench/run.sh                     headline: 100,000 workspaces, 2 checkers, 3 sweeps,
#                                    plus the sequential baseline (about 4 minutes)
#   bench/run.sh --matrix            N = 1,000 / 10,000 / 100,000 x 1 / 2 / 4 checkers
#                                    (+ the baseline with the headline; about 15 minutes)
#   bench/run.sh --hang-scenario     every CP request hangs: memory, schedule, deadlines
#   bench/run.sh --all               --matrix and --hang-scenario (about 18 minutes)
#   bench/run.sh --fast-path         hinted termination -> flip during a full 100,000 sweep
#                                    (bench/fast_path_bench.py; about 1 minute)
#   bench/run.sh --million           1,000,000 workspaces, 2 checkers, 2 sweeps 90 s apart
#                                    (+ the peer; about 9 minutes): bench/results/million.*
#   bench/run.sh --schema-registry   the headline in registry mode (Apicurio, Confluent
#                                    framing; about 3 minutes): bench/results/registry.*
#
# Other options (passed to bench/pipeline_bench.py): --workspaces N, --checkers C,
# --sweeps S, --interval SECONDS (PRODUCER_INTERVAL, default 30), --terminate-percent P (1),
# --latency-ms (20), --jitter-ms (10), --concurrency (CHECKER_CONCURRENCY, 256),
# --baseline-intervals (3), --no-baseline, --no-peer, --hang-workspaces, --hang-interval (20),
# --hang-timeout (CHECKER_TIMEOUT during the hang, 2s).
#
# Like scripts/demo.sh: installs what is missing (scripts/install-deps.sh, plus
# bench/requirements.txt into the project's virtualenv), builds a Release build into
# build/bench, starts its own PostgreSQL + Kafka (scripts/stack.sh) and tears them down at
# the end. The headline also runs bench/peer (a single-process Go sweeper; go build, Go from
# install-deps.sh) after the pipeline, for the peer's time over ours. Results:
# bench/results/pipeline.{json,md,_coverage.png,_latency.png} and
# bench/results/hang_scenario.{json,md,png}; logs of the last run in bench/results/tmp/.
# Nothing asserts a time: the figures are printed and written down. The machine should be
# as quiet as possible (the load average is recorded with the results).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

command="bench/run.sh $*" # as typed, for the results' record
bench_script=pipeline_bench.py
registry=false
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --fast-path) bench_script=fast_path_bench.py; shift ;;
    --all) args+=(--matrix --hang-scenario); shift ;;
    # 1,000,000 workspaces: the target is a sweep in at most 75 s, so the interval is 90 s (a
    # request outlives its deadline, the interval, only if a sweep does not fit: every row
    # checked every interval means none expired); results in bench/results/million.*.
    --schema-registry) registry=true
      args+=(--no-baseline --no-peer --results-name registry); shift ;;
    --million) args+=(--workspaces 1000000 --interval 90 --sweeps 2 --no-baseline
      --results-name million); shift ;;
    *) args+=("$1"); shift ;;
  esac
done

say() { printf '\033[1mbench:\033[0m %s\n' "$*" >&2; }

scripts/install-deps.sh
python="$root/.cache/venv/bin/python"
if ! "$python" -c 'import matplotlib' 2>/dev/null; then
  say "installing bench/requirements.txt into .cache/venv"
  "$root/.cache/venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
fi

# Release: the figures are about the optimized programs. Only the targets the benchmark runs
# are built (the test executables are not needed here).
build_dir="${RECONCILER_BENCH_BUILD_DIR:-$root/build/bench}"
say "building (Release) into $build_dir"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target reconciler-producer reconciler-checker \
  reconciler-actuator fleet-sim sequential-sweeper >/dev/null
# Modules from the Go module proxy are cached under .cache/, like the other downloads.
(cd "$here/peer" && GOMODCACHE="$root/.cache/go-mod" GOFLAGS=-modcacherw \
  go build -o "$build_dir/bench/peer-sweeper" .)

stack_dir=$(mktemp -d /tmp/reconciler-bench.XXXXXX)
teardown() {
  if $registry; then scripts/schema-registry.sh stop "$stack_dir/registry" >/dev/null 2>&1 || true; fi
  scripts/stack.sh stop "$stack_dir" >/dev/null 2>&1 || true
}
trap teardown EXIT
trap 'exit 130' INT TERM
say "starting PostgreSQL and Kafka"
scripts/stack.sh start "$stack_dir" 2>"$stack_dir.log" || { cat "$stack_dir.log" >&2; exit 1; }
rm -f "$stack_dir.log"
# $stack_dir/env is written by scripts/stack.sh at run time: there is no file for shellcheck to read.
# shellcheck disable=SC1091
source "$stack_dir/env"
export RECONCILER_STACK_DIR
if $registry; then
  say "starting the schema registry (scripts/schema-registry.sh)"
  scripts/schema-registry.sh start "$stack_dir/registry"
  # Written by scripts/schema-registry.sh at run time: no file for shellcheck to read.
  # shellcheck disable=SC1091
  source "$stack_dir/registry/env"
  args+=(--schema-registry-url "$SCHEMA_REGISTRY_URL")
fi

# Only the last run's logs are kept.
rm -rf "$here/results/tmp"
say "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# The pipeline benchmark runs the Go peer after the pipeline (bench/peer).
if [ "$bench_script" = pipeline_bench.py ]; then
  args=(--peer "$build_dir/bench/peer-sweeper" "${args[@]}")
fi
BENCH_COMMAND="${command% }" PYTHONPATH="$here" "$python" "$here/$bench_script" --build "$build_dir" "${args[@]}"
