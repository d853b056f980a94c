#!/usr/bin/env bash
# fleet-sim benchmark: how many CP status requests per second one server thread answers at
# zero added latency, and how many delayed requests it holds at once.
#
#   DATABASE_URL=... RECONCILER_BINARY_DIR=build bench/fleet_sim_bench.sh
#
# Steps: a fresh database (dropped at the end) with the fixture workspaces table; fleet-sim
# with FLEETSIM_THREADS=1 (pinned to one CPU when there are two or more, wrk on another);
# `fleet-sim seed` of FLEETSIM_BENCH_SEED rows (timed); wrk with a Lua script spreading GETs
# over every seeded workspace; then bench/fleet_sim_held.py opens FLEETSIM_BENCH_HELD
# connections whose requests a latency fault delays, reads the simulator's own count of held
# requests, and times fast requests to another workspace meanwhile.
# Writes bench/results/fleet_sim.json and bench/results/fleet_sim.md.
#
# Knobs (environment): FLEETSIM_BENCH_SEED (100000), FLEETSIM_BENCH_DURATION (15s),
# FLEETSIM_BENCH_CONNECTIONS (64), FLEETSIM_BENCH_WRK_THREADS (1), FLEETSIM_BENCH_HELD (10000),
# FLEETSIM_BENCH_LATENCY_MS (5000), FLEETSIM_BENCH_PIN (1 = pin with taskset when possible).
# Build with optimization for meaningful figures: cmake -DCMAKE_BUILD_TYPE=Release.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
build="${RECONCILER_BINARY_DIR:-$root/build}"
binary="$build/tools/fleet-sim/fleet-sim"
: "${DATABASE_URL:?DATABASE_URL must point at a PostgreSQL server (source the stack env file)}"
seed_count="${FLEETSIM_BENCH_SEED:-100000}"
duration="${FLEETSIM_BENCH_DURATION:-15s}"
connections="${FLEETSIM_BENCH_CONNECTIONS:-64}"
wrk_threads="${FLEETSIM_BENCH_WRK_THREADS:-1}"
held="${FLEETSIM_BENCH_HELD:-10000}"
latency_ms="${FLEETSIM_BENCH_LATENCY_MS:-5000}"
pin="${FLEETSIM_BENCH_PIN:-1}"
results="$here/results"
scratch="$results/tmp/fleet_sim.$$"

log() { printf 'fleet_sim_bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ -x "$binary" ] || die "$binary not found (build first, or set RECONCILER_BINARY_DIR)"
if ! command -v wrk >/dev/null; then
  log "installing wrk (Debian package)"
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else sudo apt-get install -y wrk >/dev/null; fi
fi
command -v psql >/dev/null || die "psql not found"
mkdir -p "$scratch"

# The same libpq URI pointing at another database (keeps any ?query part).
database_name="bench_fleetsim_$(date +%s)_$$"
url_head="${DATABASE_URL%/*}"
url_tail="${DATABASE_URL##*/}"
url_query=""
case "$url_tail" in *\?*) url_query="?${url_tail#*\?}" ;; esac
bench_url="$url_head/$database_name$url_query"

pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  fi
  psql "$DATABASE_URL" -qX -c "DROP DATABASE IF EXISTS \"$database_name\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$scratch"
}
trap cleanup EXIT

psql "$DATABASE_URL" -qX -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$database_name\"" >/dev/null
psql "$bench_url" -qX -v ON_ERROR_STOP=1 -f "$root/migrations/fixtures/001_workspaces.sql" >/dev/null

cpus=$(nproc)
server_pin=()
client_pin=()
if [ "$pin" = 1 ] && [ "$cpus" -ge 2 ] && command -v taskset >/dev/null; then
  server_pin=(taskset -c 0)
  client_pin=(taskset -c 1-$((cpus - 1)))
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
base="http://127.0.0.1:$port"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FLEETSIM_ADDR="127.0.0.1:$port" METRICS_ADDR="" FLEETSIM_THREADS=1 DATABASE_URL="$bench_url" \
  FLEETSIM_CONNECTION_LIMIT=$((held + 1000)) LOG_LEVEL=warn \
  "${server_pin[@]}" "$binary" 2>"$scratch/fleet-sim.log" &
pid=$!
for _ in $(seq 1 100); do
  curl -fs "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$scratch/fleet-sim.log" >&2; die "fleet-sim exited"; }
  sleep 0.1
done

log "seeding $seed_count workspaces"
seed_answer=$("$binary" seed --count "$seed_count" --url "$base")
psql "$bench_url" -AtX -c "SELECT id, instance_id FROM workspaces" >"$scratch/ids.txt"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
log "status throughput: wrk -t$wrk_threads -c$connections -d$duration"
ticks_before=$(cpu_ticks)
seconds_before=$(date +%s.%N)
FLEETSIM_IDS="$scratch/ids.txt" "${client_pin[@]}" wrk -t"$wrk_threads" -c"$connections" -d"$duration" \
  --latency -s "$here/fleet_sim_status.lua" "$base" >"$scratch/wrk.txt"
seconds_after=$(date +%s.%N)
ticks_after=$(cpu_ticks)
cat "$scratch/wrk.txt" >&2

log "held requests: $held connections, latency ${latency_ms}ms"
slow=$(sed -n 1p "$scratch/ids.txt")
fast=$(sed -n 2p "$scratch/ids.txt")
"${client_pin[@]}" python3 "$here/fleet_sim_held.py" --url "$base" --slow "${slow%%|*}" "${slow##*|}" \
  --fast "${fast%%|*}" "${fast##*|}" --count "$held" --latency-ms "$latency_ms" >"$scratch/held.json"
peak_rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")

mkdir -p "$results"
SEED_ANSWER="$seed_answer" WRK_FILE="$scratch/wrk.txt" HELD_FILE="$scratch/held.json" \
  TICKS="$((ticks_after - ticks_before))" CLOCK_TICKS="$(getconf CLK_TCK)" \
  WALL_SECONDS="$(awk -v a="$seconds_after" -v b="$seconds_before" 'BEGIN {print a - b}')" PEAK_RSS_KB="$peak_rss_kb" \
  CONNECTIONS="$connections" WRK_THREADS="$wrk_threads" DURATION="$duration" CPUS="$cpus" \
  PINNED="${#server_pin[@]}" BUILD_DIR="$build" RESULTS="$results" python3 - <<'PY'
import json, os, re, datetime, platform

wrk = open(os.environ["WRK_FILE"]).read()
def number(pattern, default=None, cast=float):
    match = re.search(pattern, wrk)
    return cast(match.group(1)) if match else default

def ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

percentiles = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", wrk, re.M))
seed = json.loads(os.environ["SEED_ANSWER"])
held = json.load(open(os.environ["HELD_FILE"]))
wall = float(os.environ["WALL_SECONDS"])
cpu = int(os.environ["TICKS"]) / int(os.environ["CLOCK_TICKS"])
cache = os.path.join(os.environ["BUILD_DIR"], "CMakeCache.txt")
build_type = ""
if os.path.exists(cache):
    match = re.search(r"^CMAKE_BUILD_TYPE:\w+=(.*)$", open(cache).read(), re.M)
    build_type = match.group(1) if match else ""
model = ""
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        model = line.split(":", 1)[1].strip()
        break
result = {
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "host": {"cpus": int(os.environ["CPUS"]), "cpu_model": model, "kernel": platform.release(),
             "server_pinned_to_one_cpu": os.environ["PINNED"] != "0"},
    "build_type": build_type or "(default: no optimization flags)",
    "seed": {"rows": seed["created"], "elapsed_ms": seed["elapsed_ms"], "batch_size": seed["batch_size"],
             "rows_per_second": round(seed["created"] / max(seed["elapsed_ms"], 1) * 1000)},
    "status_throughput": {
        "server_threads": 1,
        "wrk_threads": int(os.environ["WRK_THREADS"]),
        "connections": int(os.environ["CONNECTIONS"]),
        "duration": os.environ["DURATION"],
        "workspaces": seed["created"],
        "requests": number(r"(\d+) requests in", cast=int),
        "requests_per_second": number(r"Requests/sec:\s+([\d.]+)"),
        "non_2xx": number(r"Non-2xx or 3xx responses: (\d+)", 0, int),
        "socket_errors": number(r"Socket errors: (.*)", "none", str),
        "latency_ms": {p: round(ms(v), 3) for p, v in percentiles.items()},
        "server_cpu_seconds_per_second": round(cpu / wall, 3),
    },
    "held_requests": held,
    "server_peak_rss_mb": round(int(os.environ["PEAK_RSS_KB"]) / 1024, 1),
}
os.makedirs(os.environ["RESULTS"], exist_ok=True)
with open(os.path.join(os.environ["RESULTS"], "fleet_sim.json"), "w") as handle:
    json.dump(result, handle, indent=2)
    handle.write("\n")
t = result["status_throughput"]
# Derived: what one fully busy server CPU would answer at this cost per request (when the
# load generator, not the server, is the limit, the measured rate understates the server).
t["requests_per_server_cpu_second"] = round(t["requests"] / max(cpu, 1e-9))
with open(os.path.join(os.environ["RESULTS"], "fleet_sim.json"), "w") as handle:
    json.dump(result, handle, indent=2)
    handle.write("\n")
h = held
lines = [
    "# fleet-sim benchmark",
    "",
    f"Run {result['date']} by `bench/fleet_sim_bench.sh` on {result['host']['cpus']} CPUs "
    f"({model or 'unknown model'}), build type {result['build_type']}; fleet-sim with "
    f"FLEETSIM_THREADS=1{', pinned to one CPU (taskset), wrk on the other(s)' if result['host']['server_pinned_to_one_cpu'] else ''}.",
    "",
    "| figure | value |",
    "|---|---|",
    f"| status requests/s at zero added latency (1 server thread) | **{t['requests_per_second']:,.0f}** |",
    f"| server CPU while serving them | {t['server_cpu_seconds_per_second']} CPU-seconds per second |",
    f"| derived: requests per server CPU-second | {t['requests_per_server_cpu_second']:,} |",
    f"| latency p50 / p99 | {t['latency_ms'].get('50')} ms / {t['latency_ms'].get('99')} ms |",
    f"| load | wrk, {t['wrk_threads']} thread(s), {t['connections']} keep-alive connections, {t['duration']}, over {t['workspaces']:,} workspaces |",
    f"| non-2xx answers, socket errors | {t['non_2xx']}, {t['socket_errors']} |",
    f"| concurrent delayed requests held (latency {h['latency_ms']} ms) | **{h['peak_held']:,}** of {h['requested']:,} (all answered 200: {h['answered_200']:,}) |",
    f"| fast requests to another workspace while they were held | {h['fast_requests_while_held']}, median {h['fast_request_ms_median']} ms, max {h['fast_request_ms_max']} ms |",
    f"| seed: rows into PostgreSQL + simulator | {result['seed']['rows']:,} in {result['seed']['elapsed_ms']} ms ({result['seed']['rows_per_second']:,} rows/s, COPY batches of {result['seed']['batch_size']:,}) |",
    f"| fleet-sim peak RSS | {result['server_peak_rss_mb']} MB |",
    "",
]
with open(os.path.join(os.environ["RESULTS"], "fleet_sim.md"), "w") as handle:
    handle.write("\n".join(lines))
print("\n".join(lines))
PY
