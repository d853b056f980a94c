#!/usr/bin/env bash
# Static checks of the deployment files against the programs of a build, so that compose.yaml
# and the ops kit cannot drift from the code unnoticed (scripts/test.sh runs it):
#
#   scripts/check-compose.sh BUILD_DIR [COMPOSE_FILE]
#
#   1. compose.yaml validates with `docker-compose config` (Debian's 1.29.2), using
#      .env.example for the secrets.
#   2. For every service built from our image (it has `build:`), from the resolved config:
#      a. forward: its command, run from BUILD_DIR with exactly the service's environment
#         (plus PATH) and --check-config appended, exits 0. A variable that is required but
#         missing (a renamed CP_URL), a bad value or an unknown flag in `command:` fails here.
#      b. reverse: every variable the service sets is a setting the program lists in --help.
#         Programs ignore unknown variables (the environment is open-ended), so without this a
#         renamed optional variable (CHECKER_CONCURENCY) would silently fall back to the
#         default. Allowed besides the program's own settings: RECONCILER_KAFKA_* when the
#         program takes librdkafka properties, and the topic-name variables
#         RECONCILER_TOPIC_* (docs/contracts.md §7, set once for all Kafka programs
#         through a YAML anchor) as long as some program of the build still lists them.
#      c. RECONCILER_KAFKA_* properties are given to librdkafka (through reconciler-topics
#         --check-config, which builds a client configuration): a misspelt property fails.
#      The init script is checked the same way: its --check-config runs reconciler-topics
#      --check-config, and its --help names the programs whose variables it also accepts.
#   3. The ops kit: `promtool check rules` and `promtool test rules` on the alerting rules
#      (their runbook_url anchors exist in docs/operations.md),
#      `promtool check config` on the example scrape configuration, the Grafana dashboard is
#      valid JSON with panels, and every reconciler_* / fleet_sim_* metric named in the
#      rules or the dashboard is one the sources register.
#
# Exit 0 when everything passed; otherwise 1, with one line per problem naming the service
# (or file) and the program's own one-line error.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
build_dir="${1:?usage: check-compose.sh BUILD_DIR [COMPOSE_FILE]}"
compose_file="${2:-$root/compose.yaml}"
build_dir="$(cd "$build_dir" && pwd)"
compose_file="$(cd "$(dirname "$compose_file")" && pwd)/$(basename "$compose_file")"
python="$root/.cache/venv/bin/python"

log() { printf 'check-compose: %s\n' "$*" >&2; }

# Only what is missing, like install-deps.sh (which lists both packages).
install_missing() { # command package
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $2 (for $1)"
  local prefix=()
  [ "$(id -u)" = 0 ] || prefix=(sudo)
  DEBIAN_FRONTEND=noninteractive "${prefix[@]}" apt-get install -y -q --no-install-recommends "$2" >/dev/null ||
    { "${prefix[@]}" apt-get update -q >/dev/null &&
      DEBIAN_FRONTEND=noninteractive "${prefix[@]}" apt-get install -y -q --no-install-recommends "$2" >/dev/null; }
}
install_missing docker-compose docker-compose
install_missing promtool prometheus
[ -x "$python" ] || { log "error: $python missing (run scripts/install-deps.sh)"; exit 1; }
if ! "$python" -c 'import yaml' 2>/dev/null; then
  "$root/.cache/venv/bin/pip" install -q --disable-pip-version-check -r "$root/tests/requirements.txt"
fi

work=$(mktemp -d /tmp/check-compose.XXXXXX)
trap 'rm -rf "$work"' EXIT

# 1. Validate and resolve. --project-directory keeps `build: .` pointing at the repository
# even for a compose file elsewhere (a modified copy).
log "docker-compose config ($compose_file)"
if ! docker-compose -f "$compose_file" --project-directory "$root" --env-file "$root/.env.example" \
  config >"$work/resolved.yaml" 2>"$work/config.err"; then
  log "error: compose file does not validate:"
  cat "$work/config.err" >&2
  exit 1
fi

# 2 and 3 in Python: YAML, subprocesses with exact environments, JSON.
"$python" - "$root" "$build_dir" "$work" <<'PY'
import json
import os
import re
import subprocess
import sys

import yaml

root, build_dir, work = sys.argv[1:4]
problems = []

# Program name (as in `command:`) -> binary in the build directory.
PROGRAMS = {
    "reconciler-producer": "producer/reconciler-producer",
    "reconciler-checker": "checker/reconciler-checker",
    "reconciler-actuator": "actuator/reconciler-actuator",
    "reconciler-audit": "tools/audit/reconciler-audit",
    "reconciler-topics": "tools/topics/reconciler-topics",
    "fleet-sim": "tools/fleet-sim/fleet-sim",
}
IMAGE_SCRIPTS = "/opt/reconciler/scripts/"  # where the Dockerfile puts scripts/
IMAGE_DEFAULT_COMMAND = ["reconciler-producer"]  # the Dockerfile's CMD
SHARED_TOPIC_VARIABLES = {
    "RECONCILER_TOPIC_CHECKS", "RECONCILER_TOPIC_VERDICTS",
    "RECONCILER_TOPIC_ACTIONS", "RECONCILER_TOPIC_DLQ", "RECONCILER_TOPIC_URGENT_CHECKS",
}

# The image's PATH, rebuilt from the build: a directory of links named like the installed
# programs, so the init script calls this build's reconciler-topics and fleet-sim.
shim = os.path.join(work, "bin")
os.makedirs(shim)
for name, relative in PROGRAMS.items():
    target = os.path.join(build_dir, relative)
    if os.path.exists(target):
        os.symlink(target, os.path.join(shim, name))
PATH = shim + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def resolve(executable):
    """Path on this machine of a command's first word inside the image, or None."""
    if executable.startswith(IMAGE_SCRIPTS):
        return os.path.join(root, "scripts", executable[len(IMAGE_SCRIPTS):])
    name = os.path.basename(executable)
    if name in PROGRAMS:
        return os.path.join(build_dir, PROGRAMS[name])
    return None


def run(argv, env):
    return subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=60)


def first_line(text):
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0] if lines else "(no output)"


help_cache = {}


def settings_of(executable):
    """(variables, accepts RECONCILER_KAFKA_*) from `executable --help`: the rows of the
    Settings section ("  NAME, --flag <type>" or "  NAME <type>"), plus those of the programs
    named on an "Also reads the variables of:" line."""
    if executable in help_cache:
        return help_cache[executable]
    completed = run([executable, "--help"], {"PATH": PATH})
    if completed.returncode != 0:
        raise RuntimeError(f"{executable} --help exited {completed.returncode}: "
                           f"{first_line(completed.stderr)}")
    variables, kafka, in_settings, rows = set(), False, False, 0
    for line in completed.stdout.splitlines():
        if line.startswith("Settings:"):
            in_settings = True
            continue
        # The section's own paragraph may wrap; it ends at the first unindented line after
        # its rows ("Kafka client properties", "Other flags:", ...).
        if in_settings and rows and line and not line.startswith(" "):
            in_settings = False
        match = re.match(r"^  ([A-Z][A-Z0-9_]*)(?:,| |$)", line)
        if in_settings and match:
            variables.add(match.group(1))
            rows += 1
        if "RECONCILER_KAFKA_<NAME>" in line:
            kafka = True
        also = re.match(r"^Also reads the variables of: (.+)$", line)
        if also:
            for program in also.group(1).replace(",", " ").split():
                other_variables, other_kafka = settings_of(resolve(program))
                variables |= other_variables
                kafka = kafka or other_kafka
    help_cache[executable] = (variables, kafka)
    return help_cache[executable]


with open(os.path.join(work, "resolved.yaml")) as handle:
    config = yaml.safe_load(handle)

checked = []
for service, spec in sorted(config.get("services", {}).items()):
    if "build" not in spec:
        continue  # postgres, kafka: other images, their variables are theirs
    if spec.get("entrypoint"):
        problems.append(f"service {service}: entrypoint is not checked by this script; "
                        "use command")
        continue
    command = spec.get("command") or IMAGE_DEFAULT_COMMAND
    if isinstance(command, str):
        command = command.split()
    executable = resolve(command[0])
    if executable is None or not os.path.exists(executable):
        problems.append(f"service {service}: command '{command[0]}' is not a program of this "
                        f"build (looked for {executable or 'a known program name'})")
        continue
    environment = {}
    for name, value in (spec.get("environment") or {}).items():
        if value is not None:  # `NAME:` without a value passes the host's through: not ours
            environment[name] = str(value)

    # a. forward: the service's own configuration must pass --check-config.
    completed = run([executable, *command[1:], "--check-config"], {**environment, "PATH": PATH})
    if completed.returncode != 0:
        problems.append(f"service {service}: {os.path.basename(command[0])} --check-config "
                        f"exited {completed.returncode}: {first_line(completed.stderr)}")

    # The programs' --check-config collects RECONCILER_KAFKA_* without building a librdkafka
    # configuration; reconciler-topics --check-config builds one, so a misspelt property or
    # a bad value is caught here rather than at start-up ("kafka set-up failed").
    kafka_variables = {name: value for name, value in environment.items()
                       if name.startswith("RECONCILER_KAFKA_")}
    topics_tool = os.path.join(build_dir, PROGRAMS["reconciler-topics"])
    if kafka_variables and os.path.exists(topics_tool):
        completed = run([topics_tool, "--check-config"], {**kafka_variables, "PATH": PATH})
        if completed.returncode != 0:
            problems.append(f"service {service}: librdkafka rejects its RECONCILER_KAFKA_* "
                            f"properties: {first_line(completed.stderr)}")

    # b. reverse: every variable set must be a setting the program knows.
    try:
        known, kafka = settings_of(executable)
    except RuntimeError as error:
        problems.append(f"service {service}: {error}")
        continue
    checked.append((service, environment, known, kafka))

all_known = set().union(*(known for _, _, known, _ in checked)) if checked else set()
for service, environment, known, kafka in checked:
    for name in sorted(environment):
        if name in known:
            continue
        if kafka and name.startswith("RECONCILER_KAFKA_"):
            continue
        if kafka and name in SHARED_TOPIC_VARIABLES and name in all_known:
            continue
        problems.append(f"service {service}: {name} is not a setting of its program "
                        "(not in --help): renamed or misspelt?")
for service, environment, _, _ in checked:
    if not any(problem.startswith(f"service {service}:") for problem in problems):
        print(f"check-compose: service {service}: --check-config ok, all {len(environment)} "
              "variables known", file=sys.stderr)

# 3. The ops kit: metric names must be ones the sources register.
registered = set()
for directory in ("producer", "checker", "actuator", "tools", "common"):
    for base, _, files in os.walk(os.path.join(root, directory)):
        for name in files:
            if name.endswith(".c"):
                with open(os.path.join(base, name), encoding="utf-8") as source:
                    registered |= set(re.findall(r'"((?:reconciler|fleet_sim)_[a-z0-9_]+)"',
                                                 source.read()))


def known_metric(name):
    for suffix in ("", "_bucket", "_sum", "_count"):
        if suffix and name.endswith(suffix) and name[: -len(suffix)] in registered:
            return True
    return name in registered


def check_expressions(where, expressions):
    for expression in expressions:
        for name in set(re.findall(r"\b((?:reconciler|fleet_sim)_[a-z0-9_]+)\b", expression)):
            if not known_metric(name):
                problems.append(f"{where}: metric {name} is registered by no program")


alerts_path = os.path.join(root, "ops", "prometheus", "alerts.yml")
with open(alerts_path) as handle:
    rules = yaml.safe_load(handle)
check_expressions("ops/prometheus/alerts.yml",
                  [rule["expr"] for group in rules["groups"] for rule in group["rules"]])

# Every alert's runbook_url points at a heading of docs/operations.md that exists (GitHub's
# anchors: the heading in lower case, punctuation dropped, spaces as hyphens).
RUNBOOK_PREFIX = "docs/operations.md#"
anchors, in_code = set(), False
with open(os.path.join(root, "docs", "operations.md"), encoding="utf-8") as handle:
    for line in handle:
        in_code = in_code != line.startswith("```")
        if line.startswith("#") and not in_code:
            heading = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", heading).replace(" ", "-"))
for group in rules["groups"]:
    for rule in group["rules"]:
        url = rule.get("annotations", {}).get("runbook_url", "")
        if not url.startswith(RUNBOOK_PREFIX) or url[len(RUNBOOK_PREFIX):] not in anchors:
            problems.append(f"ops/prometheus/alerts.yml: {rule.get('alert')}: runbook_url "
                            f"'{url}' is not {RUNBOOK_PREFIX}<a heading of docs/operations.md>")

dashboard_path = os.path.join(root, "ops", "grafana", "reconciler-dashboard.json")
try:
    with open(dashboard_path) as handle:
        dashboard = json.load(handle)
except ValueError as error:
    problems.append(f"ops/grafana/reconciler-dashboard.json: not valid JSON: {error}")
else:
    panels = [panel for panel in dashboard.get("panels", []) if panel.get("type") != "row"]
    if not panels:
        problems.append("ops/grafana/reconciler-dashboard.json: no panels")
    expressions = [target.get("expr", "") for panel in panels for target in panel.get("targets", [])]
    check_expressions("ops/grafana/reconciler-dashboard.json", expressions)
    # PromQL syntax: promtool has no offline "check expression", so the queries become
    # recording rules (Grafana's range variables replaced by a fixed window) for
    # `promtool check rules` below.
    records = [{"record": f"dashboard:query_{index}",
                "expr": re.sub(r"\$__(rate_interval|interval|range)", "5m", expression)}
               for index, expression in enumerate(expressions)]
    with open(os.path.join(work, "dashboard-queries.yml"), "w") as handle:
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]}, handle)
    print(f"check-compose: dashboard: {len(panels)} panels, {len(expressions)} queries",
          file=sys.stderr)

for problem in problems:
    print(f"check-compose: error: {problem}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY

log "promtool: alerting rules and their unit tests, scrape configuration"
promtool check rules "$root/ops/prometheus/alerts.yml" >&2
promtool test rules "$root/ops/prometheus/alerts.test.yml" >&2
promtool check config "$root/ops/prometheus/prometheus.yml" >&2
log "promtool: the dashboard's queries parse"
promtool check rules "$work/dashboard-queries.yml" >&2
log "ok"
