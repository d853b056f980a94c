"""Reliability, infrastructure restarts (issue #9, docs/reliability.md).

The module starts its own stack (scripts/stack.sh start in a temporary directory: PostgreSQL
and a Kafka broker nobody else uses), because it restarts them; the shared stack of the other
tests is never touched. Each test runs a whole pipeline (fleet-sim, producer, two checkers,
actuator) on a fresh database and fresh topics of that stack, terminates instances in waves
and checks at the end that the invariants hold (harness.check_reliability_invariants) and
that `reconciler-audit --verify --strict` passes, and that every program recovered by
itself: the same processes (same pids) are alive and ready, nothing was restarted by hand.

- the Kafka broker is restarted (stack.sh restart-kafka: SIGTERM, then a new broker on the
  same port and data) while a wave of terminated instances waits to be found;
- PostgreSQL is restarted (stack.sh restart-postgres: pg_ctl stop -m fast, start) while a
  wave is being flipped and restarted, and another wave dies right after; then it is stopped
  for 15 s while a third wave dies, and started again;
- the workspace server's restart API is down for a minute (fleet-sim answers every restart
  503 for the first half, resets the connection for the second): the dead workspaces are
  flipped at once and their restarts retried until the API is back, none given up.

Sizes: RECONCILER_RELIABILITY_INFRA_FLEET (default 2000),
RECONCILER_RELIABILITY_RESTART_OUTAGE_SECONDS (default 60),
RECONCILER_RELIABILITY_POSTGRES_OUTAGE_SECONDS (default 15).
"""

import contextlib
import os
import socket
import subprocess
import tempfile
import threading
import time

import pytest

import harness


FLEET = harness.reliability_knob("INFRA_FLEET", 2000)
WAVE = max(1, FLEET // 100)
RESTART_OUTAGE_SECONDS = harness.reliability_knob("RESTART_OUTAGE_SECONDS", 60)
POSTGRES_OUTAGE_SECONDS = harness.reliability_knob("POSTGRES_OUTAGE_SECONDS", 15)
STACK_SCRIPT = os.path.join(harness.SOURCE_DIR, "scripts", "stack.sh")
MEMBERS = ("producer-a", "checker-1", "checker-2", "actuator")


def stack_command(command, directory):
    result = subprocess.run([STACK_SCRIPT, command, directory], capture_output=True, timeout=300)
    assert result.returncode == 0, (command, result.stdout.decode(), result.stderr.decode())


@pytest.fixture(scope="module")
def private_stack():
    """A stack of our own (PostgreSQL + Kafka), its env in os.environ for this module."""
    directory = tempfile.mkdtemp(prefix="reconciler-reliability-stack.")
    saved = {}
    try:
        stack_command("start", directory)
        with open(os.path.join(directory, "env")) as handle:
            values = dict(line.replace("export ", "", 1).strip().split("=", 1)
                          for line in handle if line.startswith("export "))
        for name, value in values.items():
            saved[name] = os.environ.get(name)
            os.environ[name] = value.strip("'")
        yield directory
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        subprocess.run([STACK_SCRIPT, "stop", directory], capture_output=True, timeout=120)


def stop_postgres(directory):
    """pg_ctl stop -m fast on the private stack's cluster, as stack.sh does (as the postgres
    user when we are root); `stack.sh restart-postgres` starts it again."""
    import glob

    pg_ctl = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                    key=lambda path: int(path.split("/")[-3]))[-1]
    command = [pg_ctl, "-D", os.path.join(directory, "postgres", "data"), "-m", "fast", "-w",
               "-t", "30", "stop"]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    result = subprocess.run(command, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def read_port(directory, name):
    with open(os.path.join(directory, f"{name}.port")) as handle:
        return int(handle.read().strip())


class Run:
    """One pipeline run on the private stack: fleet, observer, pipeline and the deaths."""

    def __init__(self, database_url, topics, sim, observer, pipeline, restart_latency_ms=0):
        self.database_url = database_url
        self.topics = topics
        self.sim, self.observer, self.pipeline = sim, observer, pipeline
        self.deaths = []
        self.started = time.monotonic()
        self.sim.seed(FLEET)
        self.rows_before = harness.workspace_rows(database_url)
        if restart_latency_ms:
            self.sim.add_fault(mode="latency", endpoint="restart", fixed_ms=restart_latency_ms)
        for name in MEMBERS:
            self.pipeline.start(name)
        harness.wait_until(lambda: all(self.pipeline.endpoint(n, "readyz") == 200 for n in MEMBERS),
                           timeout=60, message="pipeline ready")
        self.pids = {name: self.pipeline.current[name].pid for name in MEMBERS}

    def terminate_wave(self):
        wave = self.sim.terminate(WAVE)
        self.deaths += wave
        return wave

    def wait_healed(self, wave, timeout=180, what="wave healed"):
        harness.wait_deaths_healed(self.database_url, self.sim, self.pipeline, wave,
                                   timeout=timeout, what=what, members=MEMBERS,
                                   check=self.assert_same_processes)

    def assert_same_processes(self):
        for name in MEMBERS:
            process = self.pipeline.current[name]
            assert process.pid == self.pids[name] and process.alive(), \
                f"{name} exited:\n" + process.log_text()[-3000:]

    def assert_recovered(self):
        """Every program ready again, by itself."""
        self.assert_same_processes()
        harness.wait_until(lambda: all(self.pipeline.endpoint(n, "readyz") == 200 for n in MEMBERS),
                           timeout=120, interval=0.5, message=harness.LazyMessage(
                               lambda: "every program ready again: " + str(
                                   {n: self.pipeline.endpoint(n, "readyz") for n in MEMBERS})))

    def producer_sweeps(self):
        """The producer's sweeps so far, by result (one process: it is never restarted)."""
        return {result: int(self.pipeline.metric("producer-a", "reconciler_producer_sweeps_total",
                                                 {"result": result}))
                for result in ("ok", "database_error", "kafka_error", "interrupted")}

    def settle_and_check(self, scenario, extra_figures):
        """Stops the producer, waits until everything is answered, decided and published,
        stops the rest (exit 0) and checks the invariants and the audit."""
        extra_figures = {"producer_sweeps": self.producer_sweeps(), **extra_figures}
        harness.settle_pipeline(self.database_url, self.topics, self.observer, self.pipeline,
                                producers=("producer-a",))
        figures = harness.verify_reliability_run(
            self.database_url, self.topics, self.sim, self.observer, self.pipeline, self.deaths,
            self.rows_before, restarts_exactly_once=True)
        figures.update({"fleet": FLEET, "total_seconds": round(time.monotonic() - self.started, 1),
                        **extra_figures})
        harness.report_figures(scenario, figures)
        return figures


@pytest.fixture
def run_factory(private_stack):
    """make(restart_latency_ms=0, actuator={settings}) -> a started Run on a fresh database
    and fresh topics of the private stack; everything stopped at the end."""
    with harness.fresh_database() as database_url, harness.fresh_topics() as topics, \
            contextlib.ExitStack() as cleanup:
        def make(restart_latency_ms=0, actuator=None):
            settings = {
                # A sweep is answered well within the interval, also for long runs' fleets.
                "producer": {"PRODUCER_INTERVAL": f"{max(2, FLEET // 1000)}s"},
                "checker": {"CHECKER_CONCURRENCY": "128"},
                "actuator": actuator or {},
            }
            sim, observer, pipeline = cleanup.enter_context(harness.pipeline_run(
                database_url, topics, settings, FLEETSIM_REPROVISION_DELAY="300ms"))
            return Run(database_url, topics, sim, observer, pipeline, restart_latency_ms)

        yield make


def in_background(function, *args):
    """Runs function(*args) in a thread; join() re-raises its failure."""
    outcome = {}

    def target():
        try:
            function(*args)
        except BaseException as error:  # noqa: BLE001 - re-raised in join()
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()

    def join(timeout=300):
        thread.join(timeout)
        assert not thread.is_alive(), f"{function.__name__} still running"
        if "error" in outcome:
            raise outcome["error"]

    return join


def test_reliability_kafka_broker_restart_every_process_recovers_and_heals(private_stack,
                                                                            run_factory):
    run = run_factory()
    run.wait_healed(run.terminate_wave(), what="the first wave healed before the restart")

    kafka_port = read_port(private_stack, "kafka")
    restarted = time.monotonic()
    join = in_background(stack_command, "restart-kafka", private_stack)
    harness.wait_until(lambda: not port_open(kafka_port), timeout=60, interval=0.1,
                       message="the broker down")
    down_at = time.monotonic()
    during_outage = run.terminate_wave()  # dies while nothing can be enqueued or answered
    join()
    outage_seconds = time.monotonic() - down_at
    run.wait_healed(during_outage, what="the wave that died during the outage healed")
    recovered_seconds = time.monotonic() - restarted
    run.assert_recovered()
    run.wait_healed(run.terminate_wave(), what="a wave after the restart healed")
    run.settle_and_check("kafka_restart", {
        "broker_down_seconds": round(outage_seconds, 1),
        "healed_after_restart_seconds": round(recovered_seconds, 1)})


def test_reliability_postgresql_restart_every_process_recovers_and_heals(private_stack,
                                                                         run_factory):
    # Restarts take 300 ms to be answered: some are in flight when the database goes away.
    run = run_factory(restart_latency_ms=300)
    run.wait_healed(run.terminate_wave(), what="the first wave healed before the restart")

    wave = run.terminate_wave()
    # Restart the database while this wave is being flipped and restarted.
    harness.wait_until(lambda: harness.query_one(
        run.database_url, "SELECT count(*) FROM workspaces WHERE status::text = 'offline'") > 0,
        timeout=60, interval=0.05, message="the first flip of the wave")
    restarted = time.monotonic()
    stack_command("restart-postgres", private_stack)
    restart_seconds = time.monotonic() - restarted
    after = run.terminate_wave()
    run.wait_healed(wave, what="the wave being healed during the restart healed")
    run.wait_healed(after, what="the wave that died after the restart healed")
    recovered_seconds = time.monotonic() - restarted
    run.assert_recovered()

    # And a longer outage: down for OUTAGE seconds while a wave dies, then started again.
    postgres_port = read_port(private_stack, "postgres")
    stop_postgres(private_stack)
    down_at = time.monotonic()
    assert not port_open(postgres_port)
    outage_wave = run.terminate_wave()
    harness.wait_until(lambda: time.monotonic() - down_at >= POSTGRES_OUTAGE_SECONDS
                       and run.assert_same_processes() is None, timeout=POSTGRES_OUTAGE_SECONDS + 5,
                       interval=0.5, message="the outage lasting its time")
    stack_command("restart-postgres", private_stack)
    outage_seconds = time.monotonic() - down_at
    run.wait_healed(outage_wave, what="the wave that died during the outage healed")
    outage_recovered_seconds = time.monotonic() - down_at - outage_seconds
    run.assert_recovered()
    run.settle_and_check("postgresql_restart", {
        "restart_seconds": round(restart_seconds, 1),
        "healed_after_restart_seconds": round(recovered_seconds, 1),
        "outage_seconds": round(outage_seconds, 1),
        "healed_after_outage_seconds": round(outage_recovered_seconds, 1),
        "producer_lock_losses": run.pipeline.metric("producer-a",
                                                    "reconciler_producer_lock_losses_total"),
    })


def test_reliability_restart_api_down_a_minute_restarts_retried_until_it_is_back(private_stack,
                                                                                 run_factory):
    # Backoff 1 s doubling to 10 s (full jitter: 5 s on average), at least 40 attempts: a
    # minute costs about 15 attempts, and the first attempt after the outage comes within
    # 10 s. The production defaults (5 m cap, 15 attempts) ride out about 20 minutes.
    attempt_limit = max(40, RESTART_OUTAGE_SECONDS // 2)
    run = run_factory(actuator={"ACTUATOR_RESTART_BACKOFF_BASE": "1s",
                                "ACTUATOR_RESTART_BACKOFF_MAX": "10s",
                                "ACTUATOR_RESTART_MAX_ATTEMPTS": str(attempt_limit)})
    run.wait_healed(run.terminate_wave(), what="the first wave healed before the outage")
    sim, database_url = run.sim, run.database_url

    outage_started = time.monotonic()
    fault = sim.add_fault(mode="status", code=503, endpoint="restart")
    wave = run.terminate_wave()
    dead = [w for w, _ in wave]

    def flipped_and_retried():
        outcomes = harness.query_all(database_url,
                                     "SELECT outcome, count(DISTINCT workspace_id) FROM "
                                     "reconciler_actuator_actions WHERE workspace_id = ANY(%s) "
                                     "GROUP BY outcome", (dead,))
        found = dict(outcomes)
        return (found.get("FLIPPED_RESTART_REQUESTED") == len(dead)
                and found.get("RESTART_RETRIED") == len(dead))

    harness.wait_until(flipped_and_retried, timeout=min(60, RESTART_OUTAGE_SECONDS), interval=0.5,
                       message="the wave flipped, every restart failed at least once")
    flipped_seconds = time.monotonic() - outage_started

    def outage_holds(until):
        # While the API is down: nothing given up, nobody restarted, the programs up.
        run.assert_same_processes()
        assert harness.query_one(database_url, "SELECT count(*) FROM reconciler_actuator_actions "
                                 "WHERE outcome = 'RESTART_FAILED'") == 0
        rows = harness.workspace_rows(database_url)
        assert all(rows[w][0] == "offline" for w in dead)
        return time.monotonic() >= until

    # The outage itself lasts its time; polled, so a violation fails at once.
    harness.wait_until(lambda: outage_holds(outage_started + RESTART_OUTAGE_SECONDS / 2),
                       timeout=RESTART_OUTAGE_SECONDS, interval=1.0, message="first half")
    second = sim.add_fault(mode="reset", endpoint="restart")
    sim.delete_fault(fault)
    harness.wait_until(lambda: outage_holds(outage_started + RESTART_OUTAGE_SECONDS),
                       timeout=RESTART_OUTAGE_SECONDS, interval=1.0, message="second half")
    failed_answers = sim.metric("fleet_sim_faults_applied_total", {"endpoint": "restart"})
    sim.delete_fault(second)
    outage_seconds = time.monotonic() - outage_started

    run.wait_healed(wave, timeout=120, what="the wave healed once the API was back")
    assert harness.query_one(database_url, "SELECT count(*) FROM reconciler_actuator_actions "
                             "WHERE outcome = 'RESTART_FAILED'") == 0
    healed_seconds = time.monotonic() - outage_started - outage_seconds
    run.assert_recovered()
    attempts = harness.query_all(database_url, "SELECT max(attempts), sum(attempts) FROM "
                                 "reconciler_actuator_restarts WHERE workspace_id::text = "
                                 "ANY(%s)", (dead,))[0]
    run.settle_and_check("restart_api_outage", {
        "outage_seconds": round(outage_seconds, 1), "flipped_seconds": round(flipped_seconds, 1),
        "restart_answers_failed": int(failed_answers), "restart_attempts_max": attempts[0],
        "restart_attempts_total": attempts[1], "restart_attempts_limit": attempt_limit,
        "healed_after_outage_seconds": round(healed_seconds, 1),
    })
