"""Issue 13 items 7 and 8: locked Kafka properties and range-checked numbers.

Item 7 (locked delivery semantics): the Kafka properties the at-least-once design rests on
are refused by every program that builds such a client, at start and with --check-config,
exit 2 and a one-line error naming the property and where it came from (--kafka-prop or the
RECONCILER_KAFKA_* variable). Before the fix only the checker refused two of them, and only
when its consumer was built; the producer and the actuator accepted all of them.

Item 8 (checked numbers): every numeric setting is range-checked when the configuration is
parsed, exit 2 naming the variable and its range. Before the fix
ACTUATOR_MAX_UNHEALTHY=9223372036854775807 went through a double -> int64 conversion
(undefined behaviour) and --check-config showed -9223372036854775808, exit 0.

No broker or database is needed: every case ends while the configuration is parsed. The
environment is built from scratch so that nothing from the caller's (such as the dev stack's
RECONCILER_KAFKA_LIB) leaks in.
"""

import os
import subprocess

import pytest

import harness


# Unreachable on purpose: a build that wrongly accepts a configuration and starts for real
# must not touch the test stack while the test waits for it to exit.
BASE_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
    "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1",
    "METRICS_ADDR": "127.0.0.1:0",
}
PROGRAM_ENV = {
    "producer": {},
    "checker": {"CP_URL": "http://127.0.0.1:1"},
    "actuator": {"RESTART_URL": "http://127.0.0.1:1/workspaces/{id}/restart",
                 "CP_URL": "http://127.0.0.1:1"},
    "audit": {},
    "fleet-sim": {},
}
PROGRAM_NAME = {
    "producer": "reconciler-producer",
    "checker": "reconciler-checker",
    "actuator": "reconciler-actuator",
    "audit": "reconciler-audit",
    "fleet-sim": "fleet-sim",
}

PRODUCER_LOCKS = [
    ("enable.idempotence", "false"),
    ("acks", "1"),
    ("acks", "0"),
    ("max.in.flight.requests.per.connection", "10"),
]
CONSUMER_LOCKS = [
    ("enable.auto.offset.store", "true"),
    ("enable.auto.commit", "false"),
    ("auto.offset.reset", "latest"),
]
LOCKED_BY_PROGRAM = {
    "producer": PRODUCER_LOCKS,
    "checker": PRODUCER_LOCKS + CONSUMER_LOCKS,
    "actuator": PRODUCER_LOCKS + CONSUMER_LOCKS,
}
LOCK_CASES = [(program, name, value, source)
              for program, locks in LOCKED_BY_PROGRAM.items()
              for name, value in locks
              for source in ("env", "flag")]


def run(program, env=None, args=(), timeout=20.0, stdout=None):
    """Runs a program to its exit; (returncode, stderr), and its stdout appended to the list
    `stdout` when given. A program still running at the timeout (it accepted the
    configuration and started) fails the test."""
    full_env = {**BASE_ENV, **PROGRAM_ENV[program], **(env or {})}
    try:
        completed = subprocess.run([*harness.TEST_WRAPPER, harness.binary(program), *args],
                                   env=full_env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   timeout=timeout * harness.TIMEOUT_SCALE)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{program} {' '.join(args)} with {env}: still running after "
                             f"{timeout}s, so it accepted the configuration")
    if stdout is not None:
        stdout.append(completed.stdout.decode(errors="replace"))
    return completed.returncode, completed.stderr.decode(errors="replace")


def environment_name(property_name):
    return "RECONCILER_KAFKA_" + property_name.upper().replace(".", "_")


def error_line(stderr):
    """The one error line (a sanitizer build may add nothing else on a clean exit)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got: {stderr!r}"
    return lines[0]


@pytest.mark.parametrize("program,name,value,source", LOCK_CASES,
                         ids=[f"{p}-{n}={v}-{s}" for p, n, v, s in LOCK_CASES])
def test_locked_kafka_property_is_refused_by_check_config(program, name, value, source):
    if source == "env":
        returncode, stderr = run(program, {environment_name(name): value}, ["--check-config"])
        where = environment_name(name)
    else:
        returncode, stderr = run(program, args=["--check-config", "--kafka-prop", f"{name}={value}"])
        where = "--kafka-prop"
    assert returncode == 2, f"exit {returncode}: {stderr}"
    line = error_line(stderr)
    assert line.startswith(f"{PROGRAM_NAME[program]}: kafka property '{name}' (from {where})"), line
    assert "locked to" in line, line


@pytest.mark.parametrize("program", sorted(LOCKED_BY_PROGRAM))
def test_locked_kafka_property_stops_a_real_start(program):
    """Without --check-config too: the program exits 2 at once instead of running with it."""
    name, value = LOCKED_BY_PROGRAM[program][-1]
    returncode, stderr = run(program, {environment_name(name): value})
    assert returncode == 2, f"exit {returncode}: {stderr}"
    assert f"kafka property '{name}' (from {environment_name(name)})" in error_line(stderr)
    returncode, stderr = run(program, args=["--kafka-prop", "enable.idempotence=false"])
    assert returncode == 2, f"exit {returncode}: {stderr}"
    assert "kafka property 'enable.idempotence' (from --kafka-prop)" in error_line(stderr)


@pytest.mark.parametrize("program", sorted(LOCKED_BY_PROGRAM))
def test_locked_values_themselves_and_other_properties_are_accepted(program):
    env = {environment_name("acks"): "all", environment_name("linger.ms"): "20"}
    args = ["--check-config", "--kafka-prop", "enable.idempotence=true",
            "--kafka-prop", "max.in.flight.requests.per.connection=5"]
    if program != "producer":
        args += ["--kafka-prop", "enable.auto.offset.store=false",
                 "--kafka-prop", "auto.offset.reset=earliest"]
    returncode, stderr = run(program, env, args)
    assert returncode == 0, stderr


# (program, variable, value, the range the error must name)
NUMBER_CASES = [
    ("actuator", "ACTUATOR_MAX_UNHEALTHY", "9223372036854775807", "[0, 1000000000]"),
    ("actuator", "ACTUATOR_MAX_UNHEALTHY", "1000000001", "[0, 1000000000]"),
    ("actuator", "ACTUATOR_MAX_UNHEALTHY", "101%", "[0%, 100%]"),
    ("actuator", "ACTUATOR_MAX_UNHEALTHY", "-1", "[0, 1000000000]"),
    ("actuator", "ACTUATOR_MAX_UNHEALTHY", "nan%", "[0%, 100%]"),
    ("actuator", "ACTUATOR_RESTART_TIMEOUT", "9223372036854775807h", "[100ms, 2m]"),
    ("actuator", "ACTUATOR_MAX_RESTARTS_PER_MIN", "9223372036854775808", "[1, 600000]"),
    ("producer", "PRODUCER_MAX_PER_SWEEP", "9223372036854775807", "[0, 1000000000]"),
    ("producer", "PRODUCER_INTERVAL", "9223372036854775807h", "[1s, 24h]"),
    ("producer", "PRODUCER_PAGE_SIZE", "-1", "[1, 100000]"),
    ("producer", "PRODUCER_LOCK_KEY", "9223372036854775808",
     "[-9223372036854775808, 9223372036854775807]"),
    ("checker", "CHECKER_CONCURRENCY", "9223372036854775807", "[1, 4096]"),
    ("checker", "CHECKER_TIMEOUT", "2562047788016h", "[100ms, 5m]"),
    ("checker", "CHECKER_MAX_RPS", "-1", "[0, 1000000]"),
    ("audit", "AUDIT_READ_TIMEOUT", "9223372036854775807h", "[1s, 1h]"),
    ("audit", "AUDIT_MAX_VERDICT_AGE", "-1s", "[1s, 24h]"),
    ("fleet-sim", "FLEETSIM_THREADS", "9223372036854775807", "[1, 64]"),
    ("fleet-sim", "FLEETSIM_HANG_CAP", "9223372036854775807h", "[1s, 24h]"),
]


@pytest.mark.parametrize("program,variable,value,allowed", NUMBER_CASES,
                         ids=[f"{p}-{v}={x}" for p, v, x, _a in NUMBER_CASES])
def test_extreme_number_is_refused_naming_variable_and_range(program, variable, value, allowed):
    returncode, stderr = run(program, {variable: value}, ["--check-config"])
    assert returncode == 2, f"{variable}={value}: exit {returncode}: {stderr}"
    line = error_line(stderr)
    assert line.startswith(f"{PROGRAM_NAME[program]}: {variable}: expected "), line
    assert allowed in line, line


def test_actuator_max_unhealthy_at_its_bounds_is_shown_as_given():
    for value in ("0", "1000000000", "100%", "0.5%"):
        output = []
        returncode, stderr = run("actuator", {"ACTUATOR_MAX_UNHEALTHY": value}, ["--check-config"],
                                 stdout=output)
        assert returncode == 0, stderr
        assert f"ACTUATOR_MAX_UNHEALTHY={value}\n" in output[0]
