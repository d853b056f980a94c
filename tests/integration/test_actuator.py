"""Integration tests of reconciler-actuator (issue #5) against real Kafka, PostgreSQL and
fleet-sim (the simulated CP and workspace-server restart API).

What each proves:
- heal: a NOT_RUNNING verdict flips the row offline, a restart is requested (with the bearer
  token) and accepted, fleet-sim reprovisions, the row comes back online on a new instance;
  Action records reach the actions topic with the verdict's coordinates; no secret leaks.
- never act: RUNNING and UNKNOWN (every reason a fleet-sim fault produces) change nothing and
  cost no database round trip.
- guards: instance moved between check and action, row no longer online, out of scope, row
  missing, workspace id not a uuid, stale verdict (a replay of old verdicts) -> each skipped
  with its outcome, nothing changed, no restart.
- idempotency: the same verdict twice, and a replay of the whole verdict topic (same group
  from offset 0, and a new group) -> each dead workspace flipped and restarted exactly once.
- durable restart: the restart endpoint failing, then recovering -> accepted in the end;
  failing for good -> RESTART_FAILED after the limit, counted; kill -9 while the restart call
  hangs -> the restart still happens after the actuator comes back (once the call's lease
  expires; test_safety_restart.py covers the lease, the pre-check and the retry command).
- breaker: the whole fleet reported dead -> exactly the threshold is flipped, the rest are
  SKIPPED_BREAKER_OPEN, the breaker shows in metrics and a loud log line; also with two
  actuators sharing the partitions; it stays open across sweeps until the window rolls past.
- dry run: every decision recorded (dry_run=true), no row changed, no restart sent.
- database outage: consumption pauses (nothing after the held verdict is consumed), readyz
  fails, and everything is decided once the database is back.
- poison: undecodable input and a verdict with an unusable sweep id go to the DLQ with their
  provenance; the actuator goes on.
- end to end (needs the producer and checker binaries; skipped only when absent): producer ->
  checker -> actuator -> fleet-sim heals a terminated instance and the next sweep sees it
  RUNNING; instances behind every CP fault mode are terminated yet never flipped.

Each test has its own topics and consumer group; the module shares one database and one
fleet-sim (reset before every test). Everything waits on observable state with
harness.wait_until, never on sleeps.
"""

import os
import time
import uuid

import psycopg
import pytest
from confluent_kafka import Consumer, TopicPartition

import harness


RESTART_TOKEN = "actuator-it-restart-" + uuid.uuid4().hex
REPROVISION_DELAY_MS = 300


# --- fleet-sim ------------------------------------------------------------------------------

class FleetSim(harness.FleetSimControl):
    """fleet-sim with this module's reprovision delay after each reset."""

    def reset(self, reprovision_delay_ms=REPROVISION_DELAY_MS):
        super().reset(reprovision_delay_ms)

    def add_fault(self, **rule):
        return self.admin("POST", "/faults", rule)


def start_fleet_sim(database_url):
    port = harness.free_port()
    env = {
        "FLEETSIM_ADDR": f"127.0.0.1:{port}",
        "DATABASE_URL": database_url,
        "FLEETSIM_RESTART_TOKEN": RESTART_TOKEN,
        "FLEETSIM_REPROVISION_DELAY": f"{REPROVISION_DELAY_MS}ms",
        "METRICS_ADDR": "",
        "LOG_LEVEL": "warn",
    }
    process = harness.Process("fleet-sim", env)
    sim = FleetSim(process, port)
    try:
        harness.wait_until(lambda: harness.http_get(sim.url + "/readyz")[0] == 200, timeout=30,
                           message="fleet-sim ready")
    except AssertionError:
        process.close()
        raise
    return sim


@pytest.fixture(scope="module")
def database():
    with harness.fresh_database() as url:
        yield url


@pytest.fixture(scope="module")
def fleet_sim_server(database):
    sim = start_fleet_sim(database)
    try:
        yield sim
        assert sim.process.alive(), sim.process.log_text()[-3000:]
    finally:
        sim.process.close()


@pytest.fixture
def sim(fleet_sim_server):
    fleet_sim_server.reset()
    return fleet_sim_server


# --- the actuator -------------------------------------------------------------------------

class Actuator:
    def __init__(self, process, metrics_port, group, actuator_id):
        self.process = process
        self.metrics_url = f"http://127.0.0.1:{metrics_port}"
        self.group = group
        self.actuator_id = actuator_id

    def metrics(self):
        status, text = harness.http_get(self.metrics_url + "/metrics")
        assert status == 200, f"/metrics answered {status}"
        return text

    def metric(self, name, labels=None):
        return harness.metric_value(self.metrics(), name, labels) or 0.0

    def readyz(self):
        return harness.http_get(self.metrics_url + "/readyz")[0]

    def assigned_partitions(self):
        count = None
        for line in self.process.log_lines():
            if line.get("msg") == "partitions assigned":
                count = line.get("count")
            elif line.get("msg") == "partitions revoked":
                count = 0
        return count

    def log_lines(self, message=None):
        lines = self.process.log_lines()
        return [line for line in lines if message is None or line.get("msg") == message]


def start_actuator(processes, database_url, sim, topics, group=None, name=None, **settings):
    """Starts reconciler-actuator with test-friendly pacing; `settings` are extra environment
    variables (ACTUATOR_DRY_RUN="true", ...)."""
    metrics_port = harness.free_port()
    group = group or "actuator-it-" + uuid.uuid4().hex[:8]
    name = name or "actuator-" + uuid.uuid4().hex[:6]
    env = {
        "DATABASE_URL": database_url,
        **topics["env"],
        "RESTART_URL": sim.url + "/workspaces/{id}/restart",
        "RESTART_TOKEN": RESTART_TOKEN,
        # These tests drive the decision's other guards with hand-written verdicts about
        # instances the fleet-sim need not know; the CP confirmation has its own tests
        # (test_safety_order.py), so here it is off, as an operator would write it down.
        "CP_URL": sim.url,
        "ACTUATOR_CP_CONFIRM": "false",
        "METRICS_ADDR": f"127.0.0.1:{metrics_port}",
        "ACTUATOR_GROUP_ID": group,
        "ACTUATOR_ID": name,
        # Fast pacing for tests: the defaults (60/min, 1s..5m backoff) are for production.
        "ACTUATOR_MAX_RESTARTS_PER_MIN": "60000",
        "ACTUATOR_MAX_FLIPS_PER_MIN": "60000",
        "ACTUATOR_RESTART_BACKOFF_BASE": "100ms",
        "ACTUATOR_RESTART_BACKOFF_MAX": "400ms",
        "ACTUATOR_RESTART_TIMEOUT": "5s",
        "LOG_LEVEL": "debug",
        **settings,
    }
    process = harness.Process("actuator", env, name=name)
    processes.append(process)
    actuator = Actuator(process, metrics_port, group, name)
    harness.wait_until(lambda: not process.alive() or actuator.readyz() in (200, 503),
                       timeout=30, message="actuator serving /readyz")
    assert process.alive(), process.log_text()[-3000:]
    return actuator


# --- fleets, verdicts, observations --------------------------------------------------------

def new_instance_id():
    return "i-" + uuid.uuid4().hex[:17]


def make_fleet(database_url, sim, specs):
    """specs: dicts with status, instance_id, runtime, id (optional) and sim_state (the
    simulated instance's state; None = not in the simulated fleet). Returns the ids."""
    ids = harness.insert_workspaces(database_url, specs)
    entries = [(workspace_id, spec["instance_id"], spec["sim_state"])
               for workspace_id, spec in zip(ids, specs) if spec.get("sim_state")]
    if entries:
        sim.add_instances(entries)
    return ids


def now_ms():
    return int(time.time() * 1000)


def millis(value):
    """fastavro reads timestamp-millis as an aware datetime; back to ms since the epoch."""
    return value if isinstance(value, int) else round(value.timestamp() * 1000)


def verdict(workspace_id, instance_id, liveness="NOT_RUNNING", sweep_id=None, sweep_size=100,
            checked_at=None, cp_state=None, reason=None, http_status=200):
    checked = now_ms() if checked_at is None else checked_at
    if cp_state is None and liveness != "UNKNOWN":
        cp_state = "terminated" if liveness == "NOT_RUNNING" else "running"
    return {
        "workspace_id": workspace_id,
        "instance_id": instance_id,
        "sweep_id": sweep_id or str(uuid.uuid4()),
        "sweep_size": sweep_size,
        "liveness": liveness,
        "cp_state": cp_state,
        "http_status": http_status,
        "reason": reason or ("state_not_running" if liveness == "NOT_RUNNING" else None),
        "checked_at": checked,
        "latency_ms": 3,
        "checker_id": "test",
        "enqueued_at": checked - 5,
    }


def send_verdicts(topics, verdicts, partition=None):
    harness.produce_raw(topics["verdicts"], [
        (v["workspace_id"].encode(), harness.encode_record("verdict", v)) for v in verdicts],
        partition=partition)


def row(database_url, workspace_id):
    with psycopg.connect(database_url) as connection:
        found = connection.execute(
            "SELECT status::text, instance_id, runtime, updated_at FROM workspaces WHERE id = %s",
            (workspace_id,)).fetchone()
    if found is None:
        return None
    return {"status": found[0], "instance_id": found[1], "runtime": found[2],
            "updated_at": found[3]}


def query(database_url, sql, parameters=()):
    with psycopg.connect(database_url) as connection:
        return connection.execute(sql, parameters).fetchall()


def actions(database_url, workspace_id):
    """The Action rows of a workspace in id order, as dicts."""
    rows = query(database_url,
                 "SELECT outcome, reason, attempt, dry_run, verdict_topic, verdict_partition, "
                 "verdict_offset, published_at IS NOT NULL, actuator_id FROM "
                 "reconciler_actuator_actions WHERE workspace_id = %s ORDER BY id",
                 (workspace_id,))
    return [{"outcome": r[0], "reason": r[1], "attempt": r[2], "dry_run": r[3], "topic": r[4],
             "partition": r[5], "offset": r[6], "published": r[7], "actuator_id": r[8]}
            for r in rows]


def outcomes(database_url, workspace_id):
    return [a["outcome"] for a in actions(database_url, workspace_id)]


def restarts(database_url, workspace_id):
    rows = query(database_url,
                 "SELECT state, attempts, last_error_name FROM reconciler_actuator_restarts "
                 "WHERE workspace_id = %s ORDER BY id", (workspace_id,))
    return [{"state": r[0], "attempts": r[1], "last_error_name": r[2]} for r in rows]


def decided(database_url, workspace_id):
    return query(database_url, "SELECT count(*) FROM reconciler_actuator_decisions "
                 "WHERE workspace_id = %s", (workspace_id,))[0][0]


def wait_for_outcomes(database_url, workspace_id, expected_last, timeout=30.0):
    return harness.wait_until(
        lambda: (found := outcomes(database_url, workspace_id)) and found[-1] == expected_last
        and found, timeout=timeout, message=f"{workspace_id}: last outcome {expected_last}")


def read_actions(topics, expected, timeout=60.0):
    messages = harness.consume(topics["actions"], expected, timeout=timeout)
    return [(m, harness.decode_record("action", m.value())) for m in messages]


def end_offsets(topic, partitions=12):
    consumer = Consumer({"bootstrap.servers": harness.bootstrap_servers(),
                         "group.id": "watermarks-" + uuid.uuid4().hex[:8]})
    try:
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
                for p in range(partitions)}
    finally:
        consumer.close()


def verdict_coordinates(topics, count):
    """{workspace_id: [(partition, offset), ...]} of the verdicts in the topic."""
    found = {}
    for message in harness.consume(topics["verdicts"], count):
        found.setdefault(message.key().decode(), []).append((message.partition(),
                                                              message.offset()))
    return found


def assert_committed_everything(actuator, topics):
    ends = end_offsets(topics["verdicts"])
    committed = harness.committed_offsets(actuator.group, topics["verdicts"], 12)
    for partition, end in ends.items():
        if end > 0:
            assert committed[partition] == end, (partition, committed[partition], end)


def database_password(url):
    from urllib.parse import urlsplit
    return urlsplit(url).password


# --- heal ------------------------------------------------------------------------------------

def test_actuator_not_running_flips_row_restarts_and_workspace_comes_back(
        database, sim, topics, processes):
    sim.reset(reprovision_delay_ms=1500)  # long enough to watch the offline window
    dead_instance, live_instance = new_instance_id(), new_instance_id()
    dead, live = make_fleet(database, sim, [
        {"status": "online", "instance_id": dead_instance, "sim_state": "terminated"},
        {"status": "online", "instance_id": live_instance, "sim_state": "running"},
    ])
    live_before = row(database, live)
    sweep = str(uuid.uuid4())
    dead_verdict = verdict(dead, dead_instance, sweep_id=sweep)
    send_verdicts(topics, [dead_verdict, verdict(live, live_instance, "RUNNING", sweep_id=sweep)])
    actuator = start_actuator(processes, database, sim, topics)

    harness.wait_until(lambda: row(database, dead)["status"] == "offline", timeout=30,
                       message="dead workspace flipped offline")
    assert row(database, dead)["instance_id"] == dead_instance
    harness.wait_until(lambda: (r := row(database, dead))["status"] == "online"
                       and r["instance_id"] != dead_instance, timeout=30,
                       message="workspace reprovisioned and back online on a new instance")
    new_instance = row(database, dead)["instance_id"]
    assert new_instance and new_instance != dead_instance

    assert outcomes(database, dead) == ["FLIPPED_RESTART_REQUESTED", "RESTART_ACCEPTED"]
    assert restarts(database, dead) == [{"state": "accepted", "attempts": 1,
                                         "last_error_name": None}]
    # fleet-sim accepts restarts only with the bearer token: this one was sent.
    assert sim.restarts_performed(dead) == 1
    assert sim.instance(dead)["reprovisions"] == 1
    assert row(database, live) == live_before
    assert decided(database, live) == 0  # RUNNING costs no database round trip

    # Both Actions reach the topic, with the verdict's coordinates.
    coordinates = verdict_coordinates(topics, 2)[dead][0]
    published = read_actions(topics, 2)
    records = sorted((record for _, record in published), key=lambda r: r["attempt"])
    assert [r["outcome"] for r in records] == ["FLIPPED_RESTART_REQUESTED", "RESTART_ACCEPTED"]
    for message, record in published:
        assert message.key().decode() == dead
        assert record["workspace_id"] == dead and record["instance_id"] == dead_instance
        assert record["verdict_topic"] == topics["verdicts"]
        assert (record["verdict_partition"], record["verdict_offset"]) == coordinates
        assert record["dry_run"] is False
        assert record["sweep_id"] == sweep
        assert millis(record["verdict_checked_at"]) == dead_verdict["checked_at"]
        assert abs(millis(record["acted_at"]) - now_ms()) < 60000
        assert record["actuator_id"] == actuator.actuator_id
        assert record["reason"]
    assert records[0]["attempt"] == 0 and records[1]["attempt"] == 1
    harness.wait_until(lambda: all(a["published"] for a in actions(database, dead)),
                       message="actions marked published")

    metrics = actuator.metrics()
    assert harness.metric_value(metrics, "reconciler_actuator_verdicts_total",
                                {"liveness": "NOT_RUNNING"}) == 1
    assert harness.metric_value(metrics, "reconciler_actuator_verdicts_total",
                                {"liveness": "RUNNING"}) == 1
    assert harness.metric_value(metrics, "reconciler_actuator_actions_total",
                                {"outcome": "FLIPPED_RESTART_REQUESTED"}) == 1
    assert harness.metric_value(metrics, "reconciler_actuator_restarts_total",
                                {"result": "accepted"}) == 1

    assert actuator.process.stop() == 0
    assert_committed_everything(actuator, topics)
    # Secrets never leave the process.
    everything = actuator.process.log_text() + metrics + b"".join(
        message.value() for message, _ in published).decode("utf-8", "replace")
    assert RESTART_TOKEN not in everything
    assert database_password(database) not in everything


# --- never act --------------------------------------------------------------------------------

UNKNOWN_REASONS = [
    "transport_timeout", "http_client_error", "http_server_error", "http_redirect",
    "body_not_json", "body_invalid_utf8", "protocol_error", "body_too_large", "state_missing",
    "state_null", "state_not_string", "state_unrecognized", "duplicate_keys", "body_not_object",
    "body_trailing_data", "content_type_not_json", "connect_failed",
]


def test_actuator_running_and_unknown_verdicts_change_nothing(database, sim, topics, processes):
    # Every instance is really terminated: only the verdict keeps the actuator from acting.
    specs = [{"status": "online", "instance_id": new_instance_id(), "sim_state": "terminated"}
             for _ in range(len(UNKNOWN_REASONS) + 1)]
    ids = make_fleet(database, sim, specs)
    before = {w: row(database, w) for w in ids}
    sweep = str(uuid.uuid4())
    verdicts = [verdict(ids[0], specs[0]["instance_id"], "RUNNING", sweep_id=sweep)]
    for workspace, spec, reason in zip(ids[1:], specs[1:], UNKNOWN_REASONS):
        # An UNKNOWN may even carry the CP's "terminated": it still never acts.
        verdicts.append(verdict(workspace, spec["instance_id"], "UNKNOWN", sweep_id=sweep,
                                reason=reason, cp_state="terminated"))
    send_verdicts(topics, verdicts)
    actuator = start_actuator(processes, database, sim, topics)

    harness.wait_until(
        lambda: actuator.metric("reconciler_actuator_verdicts_total", {"liveness": "UNKNOWN"})
        == len(UNKNOWN_REASONS), message="every UNKNOWN verdict consumed")
    harness.wait_until(
        lambda: actuator.metric("reconciler_actuator_verdicts_total", {"liveness": "RUNNING"})
        == 1, message="the RUNNING verdict consumed")
    assert actuator.process.stop() == 0
    assert_committed_everything(actuator, topics)
    for workspace in ids:
        assert row(database, workspace) == before[workspace]
        assert actions(database, workspace) == []
        assert decided(database, workspace) == 0
        assert sim.restarts_received(workspace) == 0
    assert harness.consume_available(topics["actions"], idle=1.0) == []


# --- guards ---------------------------------------------------------------------------------

def test_actuator_guards_skip_with_their_outcome_and_change_nothing(
        database, sim, topics, processes):
    ten_minutes_ago, in_an_hour = now_ms() - 10 * 60 * 1000, now_ms() + 3600 * 1000
    # name -> (row, the instance the verdict names (None: the row's), verdict fields, outcome)
    cases = {
        # The row moved to a new instance between the check and the action.
        "moved": ({"status": "online", "instance_id": new_instance_id(), "sim_state": "running"},
                  new_instance_id(), {}, "SKIPPED_INSTANCE_CHANGED"),
        "offline": ({"status": "offline", "instance_id": new_instance_id(),
                     "sim_state": "terminated"}, None, {}, "SKIPPED_NOT_ONLINE"),
        "external": ({"status": "online", "instance_id": new_instance_id(),
                      "runtime": "external", "sim_state": "terminated"}, None, {},
                     "SKIPPED_OUT_OF_SCOPE"),
        "no_instance": ({"status": "online", "instance_id": "", "sim_state": None}, None, {},
                        "SKIPPED_OUT_OF_SCOPE"),
        # A verdict checked 10 minutes ago (a replayed old topic) flips nothing.
        "stale": ({"status": "online", "instance_id": new_instance_id(),
                   "sim_state": "terminated"}, None, {"checked_at": ten_minutes_ago},
                  "SKIPPED_STALE"),
        "from_future": ({"status": "online", "instance_id": new_instance_id(),
                         "sim_state": "terminated"}, None, {"checked_at": in_an_hour},
                        "SKIPPED_STALE"),
    }
    ids = dict(zip(cases, make_fleet(database, sim, [spec for spec, _, _, _ in cases.values()])))
    before = {name: row(database, workspace) for name, workspace in ids.items()}
    sweep = str(uuid.uuid4())
    verdicts = [verdict(ids[name], instance if instance is not None else spec["instance_id"],
                        sweep_id=sweep, **fields)
                for name, (spec, instance, fields, _) in cases.items()]
    missing = str(uuid.uuid4())
    hostile = "not-a-uuid' OR '1'='1"
    verdicts.append(verdict(missing, new_instance_id(), sweep_id=sweep))
    verdicts.append(verdict(hostile, new_instance_id(), sweep_id=sweep))
    send_verdicts(topics, verdicts)
    actuator = start_actuator(processes, database, sim, topics)

    for name, (_, _, _, expected) in cases.items():
        wait_for_outcomes(database, ids[name], expected)
    wait_for_outcomes(database, missing, "SKIPPED_ROW_MISSING")
    wait_for_outcomes(database, hostile, "SKIPPED_ROW_MISSING")
    assert actuator.process.stop() == 0
    for name, workspace in ids.items():
        assert row(database, workspace) == before[name], name
        assert len(actions(database, workspace)) == 1, name
        assert restarts(database, workspace) == [], name
        if cases[name][0]["sim_state"]:
            assert sim.restarts_received(workspace) == 0, name
    assert actions(database, ids["stale"])[0]["reason"].startswith("verdict_too_old")
    assert actions(database, ids["from_future"])[0]["reason"].startswith("verdict_from_future")
    assert actions(database, ids["moved"])[0]["reason"].startswith("instance_changed")
    assert actions(database, hostile)[0]["reason"].startswith("workspace_id_not_uuid")
    assert query(database, "SELECT count(*) FROM workspaces")[0][0] > 0  # table intact
    assert_committed_everything(actuator, topics)


# --- idempotency ------------------------------------------------------------------------------

def test_actuator_same_verdict_twice_and_topic_replay_act_once(database, sim, topics, processes):
    specs = [{"status": "online", "instance_id": new_instance_id(), "sim_state": "terminated"}
             for _ in range(3)]
    specs.append({"status": "online", "instance_id": new_instance_id(), "sim_state": "running"})
    ids = make_fleet(database, sim, specs)
    sweep = str(uuid.uuid4())
    dead_verdicts = [verdict(w, s["instance_id"], sweep_id=sweep)
                     for w, s in zip(ids[:3], specs[:3])]
    # The first dead workspace's verdict is delivered twice (a checker retried its send).
    send_verdicts(topics, dead_verdicts + [dead_verdicts[0]] +
                  [verdict(ids[3], specs[3]["instance_id"], "RUNNING", sweep_id=sweep)])
    group = "actuator-it-" + uuid.uuid4().hex[:8]
    actuator = start_actuator(processes, database, sim, topics, group=group)
    for workspace in ids[:3]:
        harness.wait_until(lambda w=workspace: "RESTART_ACCEPTED" in outcomes(database, w),
                           message="restart accepted")
    harness.wait_until(lambda: len(outcomes(database, ids[0])) == 3,
                       message="the duplicate verdict recorded")
    # The second copy found the row already offline (or already reprovisioned): no action.
    first = outcomes(database, ids[0])
    assert first.count("FLIPPED_RESTART_REQUESTED") == 1 and first.count("RESTART_ACCEPTED") == 1
    assert len(set(first) & {"SKIPPED_NOT_ONLINE", "SKIPPED_INSTANCE_CHANGED"}) == 1, first
    assert actuator.process.stop() == 0
    assert_committed_everything(actuator, topics)
    actions_before = {w: actions(database, w) for w in ids}

    # Replay 1: the same group from offset 0 — every verdict redelivered at its coordinates.
    rewind = Consumer({"bootstrap.servers": harness.bootstrap_servers(), "group.id": group,
                       "enable.auto.commit": False})
    rewind.commit(offsets=[TopicPartition(topics["verdicts"], p, 0) for p in range(12)],
                  asynchronous=False)
    rewind.close()
    replay = start_actuator(processes, database, sim, topics, group=group)
    harness.wait_until(lambda: replay.metric("reconciler_actuator_duplicate_verdicts_total") == 4,
                       message="every NOT_RUNNING verdict recognised as decided")
    assert replay.process.stop() == 0
    assert {w: actions(database, w) for w in ids} == actions_before

    # Replay 2: a new group reads the whole topic: its decisions are new, but every dead row
    # has since moved to a new instance, so the compare-and-swap changes nothing.
    for workspace, spec in zip(ids[:3], specs[:3]):
        harness.wait_until(lambda w=workspace, s=spec: row(database, w)["instance_id"]
                           != s["instance_id"], message="reprovisioned")
    fresh = start_actuator(processes, database, sim, topics)
    harness.wait_until(
        lambda: fresh.metric("reconciler_actuator_verdicts_total", {"liveness": "NOT_RUNNING"})
        == 4, message="replayed verdicts consumed")
    harness.wait_until(
        lambda: fresh.metric("reconciler_actuator_actions_total",
                             {"outcome": "SKIPPED_INSTANCE_CHANGED"}) == 4,
        message="replayed verdicts skipped")
    assert fresh.process.stop() == 0
    for workspace in ids[:3]:
        assert outcomes(database, workspace).count("FLIPPED_RESTART_REQUESTED") == 1
        assert sim.restarts_performed(workspace) == 1
        assert len(restarts(database, workspace)) == 1
    assert sim.restarts_received(ids[3]) == 0


# --- durable restart --------------------------------------------------------------------------

def test_actuator_restart_retried_until_endpoint_recovers(database, sim, topics, processes):
    instance = new_instance_id()
    [workspace] = make_fleet(database, sim, [
        {"status": "online", "instance_id": instance, "sim_state": "terminated"}])
    # The restart endpoint fails three times (503, reset, 500), then works again.
    sim.add_fault(mode="status", code=503, endpoint="restart",
                  target={"workspace_id": workspace}, times=1)
    sim.add_fault(mode="reset", endpoint="restart", target={"workspace_id": workspace}, times=1)
    sim.add_fault(mode="status", code=500, endpoint="restart",
                  target={"workspace_id": workspace}, times=1)
    send_verdicts(topics, [verdict(workspace, instance)])
    actuator = start_actuator(processes, database, sim, topics)

    wait_for_outcomes(database, workspace, "RESTART_ACCEPTED")
    found = actions(database, workspace)
    assert [a["outcome"] for a in found] == [
        "FLIPPED_RESTART_REQUESTED", "RESTART_RETRIED", "RESTART_RETRIED", "RESTART_RETRIED",
        "RESTART_ACCEPTED"]
    assert [a["attempt"] for a in found] == [0, 1, 2, 3, 4]
    assert restarts(database, workspace)[0]["state"] == "accepted"
    assert restarts(database, workspace)[0]["attempts"] == 4
    harness.wait_until(lambda: row(database, workspace)["instance_id"] != instance,
                       message="reprovisioned after the accepted restart")
    assert sim.restarts_performed(workspace) == 1
    assert actuator.metric("reconciler_actuator_restarts_total", {"result": "retried"}) == 3
    assert actuator.metric("reconciler_actuator_restart_attempt_errors_total",
                           {"error": "http_status"}) == 2
    assert actuator.process.stop() == 0


def test_actuator_restart_gives_up_after_max_attempts(database, sim, topics, processes):
    instance = new_instance_id()
    [workspace] = make_fleet(database, sim, [
        {"status": "online", "instance_id": instance, "sim_state": "terminated"}])
    sim.add_fault(mode="status", code=503, endpoint="restart", target={"workspace_id": workspace})
    send_verdicts(topics, [verdict(workspace, instance)])
    actuator = start_actuator(processes, database, sim, topics,
                              ACTUATOR_RESTART_MAX_ATTEMPTS="3")

    wait_for_outcomes(database, workspace, "RESTART_FAILED")
    assert outcomes(database, workspace) == [
        "FLIPPED_RESTART_REQUESTED", "RESTART_RETRIED", "RESTART_RETRIED", "RESTART_FAILED"]
    assert restarts(database, workspace) == [{"state": "failed", "attempts": 3,
                                              "last_error_name": "http_status"}]
    assert actuator.metric("reconciler_actuator_restart_failures_total") == 1
    harness.wait_until(lambda: actuator.metric("reconciler_actuator_restarts_failed") == 1,
                       message="failed restarts gauge")
    assert row(database, workspace)["status"] == "offline"  # left for an operator
    assert any(line.get("level") == "error" and line.get("msg") == "restart failed, giving up"
               for line in actuator.log_lines())
    assert actuator.process.stop() == 0


def test_actuator_kill_9_between_flip_and_restart_still_restarts(
        database, sim, topics, processes):
    instance = new_instance_id()
    [workspace] = make_fleet(database, sim, [
        {"status": "online", "instance_id": instance, "sim_state": "terminated"}])
    # The workspace server hangs on the restart: the flip is committed, the call in flight.
    # The call's row is leased for the request timeout plus a margin (migration 006), so the
    # next actuator takes it over once that lease expires: a short timeout keeps this quick.
    sim.add_fault(mode="hang", endpoint="restart", target={"workspace_id": workspace})
    send_verdicts(topics, [verdict(workspace, instance)])
    group = "actuator-it-" + uuid.uuid4().hex[:8]
    first = start_actuator(processes, database, sim, topics, group=group,
                           ACTUATOR_RESTART_TIMEOUT="3s")
    harness.wait_until(lambda: row(database, workspace)["status"] == "offline",
                       message="flipped offline")
    harness.wait_until(lambda: sim.restarts_received(workspace) >= 1,
                       message="restart call in flight")
    first.process.kill()
    # The claim counted the attempt before the call, so a crash mid-call counts it too.
    assert restarts(database, workspace) == [{"state": "pending", "attempts": 1,
                                              "last_error_name": None}]
    assert sim.restarts_performed(workspace) == 0

    sim.clear_faults()
    second = start_actuator(processes, database, sim, topics, group=group)
    wait_for_outcomes(database, workspace, "RESTART_ACCEPTED")
    harness.wait_until(lambda: (r := row(database, workspace))["status"] == "online"
                       and r["instance_id"] != instance, message="back online")
    assert outcomes(database, workspace) == ["FLIPPED_RESTART_REQUESTED", "RESTART_ACCEPTED"]
    assert sim.restarts_performed(workspace) == 1
    assert second.process.stop() == 0


def test_actuator_database_lost_during_restart_call_records_result_without_resending(
        database, sim, topics, processes):
    instance = new_instance_id()
    [workspace] = make_fleet(database, sim, [
        {"status": "online", "instance_id": instance, "sim_state": "terminated"}])
    # The restart takes 3 s; the database drops every actuator connection meanwhile, so the
    # accepted call cannot be recorded in the transaction that claimed it.
    sim.add_fault(mode="latency", endpoint="restart", fixed_ms=3000,
                  target={"workspace_id": workspace})
    send_verdicts(topics, [verdict(workspace, instance)])
    actuator = start_actuator(processes, database, sim, topics)
    harness.wait_until(lambda: sim.restarts_received(workspace) >= 1,
                       message="restart call in flight")
    terminated = query(database, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE application_name = 'reconciler-actuator' AND datname = "
                       "current_database()")
    assert terminated[0][0] >= 1

    wait_for_outcomes(database, workspace, "RESTART_ACCEPTED")
    harness.wait_until(lambda: (r := row(database, workspace))["status"] == "online"
                       and r["instance_id"] != instance, message="back online")
    # A resend would precede the recording of RESTART_ACCEPTED (the row stays pending until
    # then), so the counts below are final once that outcome is there.
    assert outcomes(database, workspace) == ["FLIPPED_RESTART_REQUESTED", "RESTART_ACCEPTED"]
    assert restarts(database, workspace) == [{"state": "accepted", "attempts": 1,
                                              "last_error_name": None}]
    assert sim.restarts_received(workspace) == 1
    assert sim.restarts_performed(workspace) == 1
    messages = [line.get("msg", "") for line in actuator.log_lines()]
    assert any(m.startswith("restart: recording the result failed") for m in messages), messages
    assert "restart: result recorded after the database came back" in messages, messages
    assert actuator.process.stop() == 0


# --- breaker ---------------------------------------------------------------------------------

def run_whole_fleet_dead(database, sim, topics, processes, actuator_count):
    fleet_size = 20
    specs = [{"status": "online", "instance_id": new_instance_id(), "sim_state": "terminated"}
             for _ in range(fleet_size)]
    ids = make_fleet(database, sim, specs)
    group = "actuator-it-" + uuid.uuid4().hex[:8]
    actuators = [start_actuator(processes, database, sim, topics, group=group,
                                ACTUATOR_MAX_UNHEALTHY="20%")
                 for _ in range(actuator_count)]
    if actuator_count > 1:
        # Both own partitions before the sweep arrives, so they really share it.
        harness.wait_until(lambda: all((a.assigned_partitions() or 0) > 0 for a in actuators)
                           and sum(a.assigned_partitions() for a in actuators) == 12,
                           message="partitions shared between the actuators")
    sweep = str(uuid.uuid4())
    send_verdicts(topics, [verdict(w, s["instance_id"], sweep_id=sweep, sweep_size=fleet_size)
                           for w, s in zip(ids, specs)])
    harness.wait_until(lambda: sum(len(actions(database, w)) > 0 for w in ids) == fleet_size,
                       message="every verdict decided")
    first_outcomes = {w: actions(database, w)[0]["outcome"] for w in ids}
    flipped = [w for w in ids if first_outcomes[w] == "FLIPPED_RESTART_REQUESTED"]
    held = [w for w in ids if first_outcomes[w] == "SKIPPED_BREAKER_OPEN"]
    limit = fleet_size * 20 // 100
    assert len(flipped) == limit, first_outcomes
    assert len(held) == fleet_size - limit, first_outcomes
    for workspace in flipped:
        harness.wait_until(lambda w=workspace: "RESTART_ACCEPTED" in outcomes(database, w),
                           message="restart accepted")
    for workspace in held:
        assert row(database, workspace)["status"] == "online"
        assert restarts(database, workspace) == []
        assert sim.restarts_received(workspace) == 0
    assert sum(sim.restarts_performed(w) for w in ids) == limit
    # Every workspace counts in the group's window (flipped or held back), and the group's
    # breaker is recorded open.
    assert query(database, "SELECT count(*) FROM reconciler_actuator_breaker_window WHERE "
                 "consumer_group = %s", (group,)) == [(fleet_size,)]
    assert query(database, "SELECT opened_at IS NOT NULL FROM reconciler_actuator_breaker "
                 "WHERE consumer_group = %s", (group,)) == [(True,)]
    trips = sum(a.metric("reconciler_actuator_breaker_trips_total") for a in actuators)
    assert trips == 1
    loud = [line for a in actuators for line in a.log_lines()
            if line.get("level") == "error" and "breaker open" in line.get("msg", "")]
    assert len(loud) == 1, loud
    assert loud[0]["sweep_id"] == sweep and loud[0]["limit"] == limit
    assert any(a.metric("reconciler_actuator_breaker_open") == 1 for a in actuators)
    for actuator in actuators:
        assert actuator.process.stop() == 0


def test_actuator_whole_fleet_reported_dead_opens_breaker_at_threshold(
        database, sim, topics, processes):
    run_whole_fleet_dead(database, sim, topics, processes, actuator_count=1)


def test_actuator_breaker_holds_across_two_actuators_sharing_partitions(
        database, sim, topics, processes):
    run_whole_fleet_dead(database, sim, topics, processes, actuator_count=2)


def test_actuator_breaker_stays_open_across_sweeps_until_the_window_rolls_past(
        database, sim, topics, processes):
    """A CP bug lasting several sweeps: the first sweep acts up to the limit; a later sweep,
    within the limit on its own, still acts on nothing while the group's window holds the
    first sweep's count; once the window has rolled past it, the breaker closes by itself and
    a new dead workspace is healed."""
    def dead_fleet(count):
        specs = [{"status": "online", "instance_id": new_instance_id(),
                  "sim_state": "terminated"} for _ in range(count)]
        return list(zip(make_fleet(database, sim, specs), (s["instance_id"] for s in specs)))

    group = "actuator-it-" + uuid.uuid4().hex[:8]
    window_s = 4
    actuator = start_actuator(processes, database, sim, topics, group=group,
                              ACTUATOR_MAX_UNHEALTHY="20%",
                              ACTUATOR_BREAKER_WINDOW=f"{window_s}s")

    def run_sweep(fleet, sweep_size):
        sweep = str(uuid.uuid4())
        send_verdicts(topics, [verdict(w, i, sweep_id=sweep, sweep_size=sweep_size)
                               for w, i in fleet])
        harness.wait_until(lambda: all(actions(database, w) for w, _ in fleet),
                           message="sweep decided")
        return [actions(database, w)[0] for w, _ in fleet]

    # Sweep 1: 10 of 10 reported dead, limit 2.
    first = run_sweep(dead_fleet(10), sweep_size=10)
    assert sum(a["outcome"] == "FLIPPED_RESTART_REQUESTED" for a in first) == 2
    # Sweep 2, at once: 1 more reported dead in a sweep of 10 (limit 2): the window holds
    # sweep 1's 10, so it is held back.
    second = run_sweep(dead_fleet(1), sweep_size=10)
    assert [a["outcome"] for a in second] == ["SKIPPED_BREAKER_OPEN"]
    assert second[0]["reason"].startswith("breaker_open: at least 2 other workspaces")
    # The window rolls past both sweeps (measured on the database's clock, which stamps it).
    harness.wait_until(
        lambda: query(database, "SELECT count(*) FROM reconciler_actuator_breaker_window WHERE "
                      "consumer_group = %s AND counted_at >= now() - %s * interval '1 second'",
                      (group, window_s))[0][0] == 0,
        timeout=window_s + 10, message="the breaker window rolled past")
    # Sweep 3: 1 reported dead: the breaker closed by itself, it is healed.
    third = run_sweep(dead_fleet(1), sweep_size=10)
    assert [a["outcome"] for a in third] == ["FLIPPED_RESTART_REQUESTED"]

    loud = [line for line in actuator.log_lines()
            if line.get("level") == "error" and "breaker open" in line.get("msg", "")]
    assert len(loud) == 1, loud
    assert any("breaker closed" in line.get("msg", "") for line in actuator.log_lines())
    assert actuator.metric("reconciler_actuator_breaker_trips_total") == 1
    assert actuator.metric("reconciler_actuator_breaker_open") == 0
    assert actuator.process.stop() == 0


# --- dry run --------------------------------------------------------------------------------

def test_actuator_dry_run_records_actions_and_changes_nothing(database, sim, topics, processes):
    specs = [{"status": "online", "instance_id": new_instance_id(), "sim_state": "terminated"}
             for _ in range(3)]
    ids = make_fleet(database, sim, specs)
    before = {w: row(database, w) for w in ids}
    sweep = str(uuid.uuid4())
    send_verdicts(topics, [
        verdict(ids[0], specs[0]["instance_id"], sweep_id=sweep),
        verdict(ids[1], specs[1]["instance_id"], sweep_id=sweep),
        verdict(ids[2], specs[2]["instance_id"], sweep_id=sweep,
                checked_at=now_ms() - 3600 * 1000),
    ])
    actuator = start_actuator(processes, database, sim, topics, ACTUATOR_DRY_RUN="true")
    wait_for_outcomes(database, ids[0], "SKIPPED_DRY_RUN")
    wait_for_outcomes(database, ids[1], "SKIPPED_DRY_RUN")
    wait_for_outcomes(database, ids[2], "SKIPPED_STALE")
    published = read_actions(topics, 3)
    assert sorted(r["outcome"] for _, r in published) == [
        "SKIPPED_DRY_RUN", "SKIPPED_DRY_RUN", "SKIPPED_STALE"]
    assert all(r["dry_run"] is True for _, r in published)
    assert actuator.metric("reconciler_actuator_dry_run") == 1
    assert actuator.process.stop() == 0
    for workspace in ids:
        assert row(database, workspace) == before[workspace]
        assert restarts(database, workspace) == []
        assert sim.restarts_received(workspace) == 0


# --- database outage --------------------------------------------------------------------------

def test_actuator_database_outage_pauses_consumption_and_resumes(
        database, sim, topics, processes):
    specs = [{"status": "online", "instance_id": new_instance_id(), "sim_state": "terminated"}
             for _ in range(3)]
    specs.append({"status": "online", "instance_id": new_instance_id(), "sim_state": "running"})
    ids = make_fleet(database, sim, specs)
    host, port = harness.url_host_port(database)
    with harness.TcpProxy(host, port) as proxy:
        actuator = start_actuator(processes, harness.url_with_port(database, proxy.port), sim,
                                  topics)
        harness.wait_until(lambda: actuator.readyz() == 200, message="ready")
        harness.wait_until(lambda: actuator.assigned_partitions() == 12,
                           message="partitions assigned")
        proxy.cut()
        sweep = str(uuid.uuid4())
        # One partition, so the order is fixed: NOT_RUNNING x3, then a RUNNING.
        send_verdicts(topics, [verdict(w, s["instance_id"], sweep_id=sweep)
                               for w, s in zip(ids[:3], specs[:3])] +
                      [verdict(ids[3], specs[3]["instance_id"], "RUNNING", sweep_id=sweep)],
                      partition=0)
        harness.wait_until(lambda: actuator.readyz() == 503, message="not ready during outage")
        harness.wait_until(lambda: actuator.metric("reconciler_actuator_consumption_paused") == 1,
                           message="consumption paused")
        assert actuator.metric("reconciler_actuator_database_up") == 0
        assert actuator.metric("reconciler_actuator_db_errors_total") >= 1
        # The held verdict stops the partition: the RUNNING one behind it is not consumed.
        assert actuator.metric("reconciler_actuator_verdicts_total", {"liveness": "RUNNING"}) == 0
        assert actuator.metric("reconciler_actuator_verdicts_total",
                               {"liveness": "NOT_RUNNING"}) == 1
        for workspace in ids[:3]:
            assert row(database, workspace)["status"] == "online"

        proxy.restore()
        for workspace in ids[:3]:
            wait_for_outcomes(database, workspace, "RESTART_ACCEPTED", timeout=60)
        harness.wait_until(lambda: actuator.readyz() == 200, message="ready again")
        harness.wait_until(
            lambda: actuator.metric("reconciler_actuator_verdicts_total", {"liveness": "RUNNING"})
            == 1, message="consumption resumed")
        assert actuator.metric("reconciler_actuator_consumption_paused") == 0
        assert actuator.metric("reconciler_actuator_database_up") == 1
        assert actuator.process.stop() == 0
    for workspace in ids[:3]:
        assert outcomes(database, workspace) == ["FLIPPED_RESTART_REQUESTED", "RESTART_ACCEPTED"]
    assert_committed_everything(actuator, topics)


def test_actuator_consumer_lag_counts_verdicts_waiting_and_drains_to_zero(
        database, sim, topics, processes):
    instance = new_instance_id()
    [workspace] = make_fleet(database, sim, [
        {"status": "online", "instance_id": instance, "sim_state": "terminated"}])
    waiting = 20
    # On one partition: a NOT_RUNNING verdict the actuator cannot decide while the database
    # is cut, and RUNNING verdicts behind it, all there before the actuator's first fetch.
    send_verdicts(topics, [verdict(workspace, instance)] +
                  [verdict(str(uuid.uuid4()), new_instance_id(), "RUNNING")
                   for _ in range(waiting)], partition=0)
    host, port = harness.url_host_port(database)
    with harness.TcpProxy(host, port) as proxy:
        proxy.cut()
        actuator = start_actuator(processes, harness.url_with_port(database, proxy.port), sim,
                                  topics)
        harness.wait_until(lambda: actuator.metric("reconciler_actuator_consumption_paused") == 1,
                           message="consumption paused on the held verdict")
        # The held verdict and everything behind it are not taken: the position is the held
        # one's offset or the one after it, whichever librdkafka reports.
        harness.wait_until(
            lambda: waiting <= actuator.metric("reconciler_actuator_consumer_lag") <= waiting + 1,
            message=harness.LazyMessage(lambda: "lag of the waiting verdicts: " + str(
                actuator.metric("reconciler_actuator_consumer_lag"))))
        proxy.restore()
        wait_for_outcomes(database, workspace, "RESTART_ACCEPTED", timeout=60)
        harness.wait_until(lambda: actuator.metric("reconciler_actuator_verdicts_total",
                                                   {"liveness": "RUNNING"}) == waiting,
                           message="the waiting verdicts taken")
        harness.wait_until(lambda: actuator.metric("reconciler_actuator_consumer_lag") == 0,
                           message="lag drained")
        assert actuator.process.stop() == 0


def test_actuator_takes_over_action_claims_of_a_gone_connection_at_once(
        database, sim, topics, processes):
    group = "actuator-it-" + uuid.uuid4().hex[:8]
    workspace = str(uuid.uuid4())

    def claimed_action(offset, backend):
        """An unpublished Action row claimed for an hour by the connection `backend`."""
        return query(database, "INSERT INTO reconciler_actuator_actions (consumer_group, "
                     "workspace_id, instance_id, verdict_topic, verdict_partition, verdict_offset, "
                     "outcome, reason, acted_at, dry_run, sweep_id, verdict_checked_at, "
                     "publish_claimed_by, publish_claimed_until, publish_claimed_backend) VALUES "
                     "(%s, %s, 'i-claimed', %s, 0, %s, 'SKIPPED_NOT_ONLINE', 'test', now(), "
                     "false, 'sweep-claimed', now(), 'a-killed-actuator', now() + interval "
                     "'1 hour', %s) RETURNING id",
                     (group, workspace, topics["verdicts"], offset, backend))[0][0]

    def published(action_id):
        return query(database, "SELECT published_at IS NOT NULL FROM reconciler_actuator_actions "
                     "WHERE id = %s", (action_id,))[0][0]

    with psycopg.connect(database) as gone:
        gone_backend = gone.execute("SELECT pg_backend_pid()").fetchone()[0]
    live = psycopg.connect(database, autocommit=True)
    try:
        live_backend = live.execute("SELECT pg_backend_pid()").fetchone()[0]
        # The live claim has the lower id: a publisher ignoring it would claim both rows in
        # one batch, so it is still unpublished when the other one is published.
        live_claim = claimed_action(1, live_backend)
        gone_claim = claimed_action(2, gone_backend)
        actuator = start_actuator(processes, database, sim, topics, group=group)
        harness.wait_until(lambda: published(gone_claim), timeout=20,
                           message="the gone connection's claim taken over before it expires")
        assert not published(live_claim)
    finally:
        live.close()
    harness.wait_until(lambda: published(live_claim), timeout=20,
                       message="the claim taken over once its connection closed")
    on_topic = {(record["verdict_offset"], record["outcome"])
                for _, record in read_actions(topics, 2)}
    assert on_topic == {(1, "SKIPPED_NOT_ONLINE"), (2, "SKIPPED_NOT_ONLINE")}
    assert actuator.process.stop() == 0


# --- poison -----------------------------------------------------------------------------------

def test_actuator_undecodable_input_goes_to_dlq_and_consumption_goes_on(
        database, sim, topics, processes):
    instance = new_instance_id()
    [workspace] = make_fleet(database, sim, [
        {"status": "online", "instance_id": instance, "sim_state": "terminated"}])
    bad_sweep = verdict(str(uuid.uuid4()), new_instance_id(), sweep_id="s" * 200)
    harness.produce_raw(topics["verdicts"], [
        (b"garbage-key", b"not avro at all"),
        (b"check", harness.encode_record("check_request", {
            "workspace_id": workspace, "instance_id": instance, "sweep_id": "x", "sweep_size": 1,
            "enqueued_at": now_ms(), "deadline": now_ms(), "producer_id": "p"})),
        (bad_sweep["workspace_id"].encode(), harness.encode_record("verdict", bad_sweep)),
        (workspace.encode(), harness.encode_record("verdict", verdict(workspace, instance))),
    ], partition=3)
    actuator = start_actuator(processes, database, sim, topics)
    wait_for_outcomes(database, workspace, "RESTART_ACCEPTED")
    dead_letters = harness.consume(topics["dlq"], 3)
    errors = {}
    for message in dead_letters:
        headers = {k: v.decode() for k, v in (message.headers() or [])}
        assert headers["reconciler.source.topic"] == topics["verdicts"]
        assert headers["reconciler.source.partition"] == "3"
        assert headers["reconciler.program"] == "reconciler-actuator"
        errors[message.key()] = headers["reconciler.error"]
    assert errors[b"garbage-key"] == "bad_magic"
    assert errors[b"check"] == "unknown_fingerprint"
    assert errors[bad_sweep["workspace_id"].encode()] == "invalid_sweep_id"
    assert [m.value() for m in dead_letters if m.key() == b"garbage-key"] == [b"not avro at all"]
    assert actuator.metric("reconciler_actuator_dlq_total", {"error": "bad_magic"}) == 1
    assert actuator.process.stop() == 0
    assert_committed_everything(actuator, topics)


# --- interface -------------------------------------------------------------------------------

def test_actuator_bad_configuration_exits_2_with_one_line(database):
    import subprocess

    result = subprocess.run([harness.binary("actuator")], capture_output=True, text=True,
                            env={**os.environ, "DATABASE_URL": database,
                                 "RESTART_URL": "http://ws/workspaces/restart"}, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "RESTART_URL" in result.stderr
    # CP_URL is required while the CP confirmation is on (the default), and the error says how
    # to run without it.
    no_cp = subprocess.run([harness.binary("actuator"), "--check-config"], capture_output=True,
                           text=True, timeout=30,
                           env={**os.environ, "DATABASE_URL": database,
                                "RESTART_URL": "http://ws/{id}/restart"})
    assert no_cp.returncode == 2
    assert no_cp.stderr.startswith("reconciler-actuator: CP_URL: ")
    assert "ACTUATOR_CP_CONFIRM=false" in no_cp.stderr
    checked = subprocess.run([harness.binary("actuator"), "--check-config"], capture_output=True,
                             text=True, timeout=30,
                             env={**os.environ, "DATABASE_URL": database,
                                  "RESTART_URL": "http://ws/{id}/restart",
                                  "RESTART_TOKEN": RESTART_TOKEN, "CP_URL": "http://cp"})
    assert checked.returncode == 0
    assert "RESTART_TOKEN=<masked>" in checked.stdout
    assert RESTART_TOKEN not in checked.stdout
    assert database_password(database) not in checked.stdout


def test_actuator_sigterm_exits_0_promptly_with_a_restart_in_flight(
        database, sim, topics, processes):
    instance = new_instance_id()
    [workspace] = make_fleet(database, sim, [
        {"status": "online", "instance_id": instance, "sim_state": "terminated"}])
    sim.add_fault(mode="hang", endpoint="restart", target={"workspace_id": workspace})
    send_verdicts(topics, [verdict(workspace, instance)])
    actuator = start_actuator(processes, database, sim, topics, ACTUATOR_RESTART_TIMEOUT="60s")
    harness.wait_until(lambda: sim.restarts_received(workspace) >= 1,
                       message="restart call in flight")
    started = time.monotonic()
    assert actuator.process.stop(timeout=15) == 0
    assert time.monotonic() - started < 15
    # The in-flight call was abandoned, not counted: the restart stays pending for the next
    # actuator, and every Action written so far was published.
    assert restarts(database, workspace) == [{"state": "pending", "attempts": 0,
                                              "last_error_name": None}]
    assert all(a["published"] for a in actions(database, workspace))
    assert_committed_everything(actuator, topics)


# --- end to end: producer -> checker -> actuator -> fleet-sim ------------------------------

E2E_FAULTS = {
    "latency": {"fixed_ms": 5000},
    "hang": {},
    "status_404": {"code": 404},
    "status_500": {"code": 500},
    "redirect": {},
    "garbage": {},
    "truncated": {},
    "oversized": {},
    "empty_object": {},
    "missing_state": {},
    "null_state": {},
    "wrong_type_state": {},
    "odd_state": {},
    "duplicate_state_keys": {},
    "array_body": {},
    "trailing_data": {},
    "content_type": {},
    "reset": {},
}


def require_binaries(*programs):
    missing = [p for p in programs if not os.path.exists(harness.binary(p))]
    if missing:
        pytest.skip(f"binaries not built yet: {', '.join(harness.binary(p) for p in missing)}")


def test_actuator_end_to_end_heals_terminated_instance_and_ignores_cp_faults(processes):
    require_binaries("producer", "checker")
    with harness.fresh_database() as database, harness.fresh_topics() as topics:
        sim = start_fleet_sim(database)
        processes.append(sim.process)
        sim.reset()
        dead_instance = new_instance_id()
        specs = [{"status": "online", "instance_id": dead_instance, "sim_state": "terminated"}]
        specs += [{"status": "online", "instance_id": new_instance_id(), "sim_state": "running"}
                  for _ in range(4)]
        fault_specs = [{"status": "online", "instance_id": new_instance_id(),
                        "sim_state": "terminated"} for _ in E2E_FAULTS]
        ids = make_fleet(database, sim, specs + fault_specs)
        dead, running, faulted = ids[0], ids[1:5], ids[5:]
        for (mode, fields), spec in zip(E2E_FAULTS.items(), fault_specs):
            base = mode.split("_")[0] if mode.startswith("status_") else mode
            sim.add_fault(mode=base, endpoint="status",
                          target={"instance_id": spec["instance_id"]}, **fields)
        before = {w: row(database, w) for w in running + faulted}

        checker_port = harness.free_port()
        checker = harness.Process("checker", {
            **topics["env"], "CP_URL": sim.url, "CHECKER_GROUP_ID": "e2e-checker",
            "CHECKER_TIMEOUT": "2s", "METRICS_ADDR": f"127.0.0.1:{checker_port}",
            "DATABASE_URL": database}, name="e2e-checker")
        processes.append(checker)
        actuator = start_actuator(processes, database, sim, topics)
        producer = harness.Process("producer", {
            **topics["env"], "DATABASE_URL": database, "PRODUCER_INTERVAL": "3s",
            "PRODUCER_LOCK_KEY": str(uuid.uuid4().int % (2 ** 62)),
            "METRICS_ADDR": f"127.0.0.1:{harness.free_port()}"}, name="e2e-producer")
        processes.append(producer)

        harness.wait_until(lambda: (r := row(database, dead))["status"] == "online"
                           and r["instance_id"] != dead_instance, timeout=120,
                           message="terminated instance healed by producer->checker->actuator")
        new_instance = row(database, dead)["instance_id"]
        healed = outcomes(database, dead)
        assert healed.count("FLIPPED_RESTART_REQUESTED") == 1, healed
        assert healed.count("RESTART_ACCEPTED") == 1, healed

        def running_verdict_seen():
            for message in harness.consume_available(topics["verdicts"], idle=1.0):
                record = harness.decode_record("verdict", message.value())
                if (record["workspace_id"] == dead and record["instance_id"] == new_instance
                        and record["liveness"] == "RUNNING"):
                    return True
            return False

        harness.wait_until(running_verdict_seen, timeout=120, interval=1.0,
                           message="a later sweep sees the healed workspace RUNNING")
        for workspace in running + faulted:
            assert row(database, workspace) == before[workspace]
            assert actions(database, workspace) == []
            assert sim.restarts_received(workspace) == 0
        # Every faulted (really terminated) instance was checked and reported UNKNOWN.
        seen = {}
        for message in harness.consume_available(topics["verdicts"], idle=1.0):
            record = harness.decode_record("verdict", message.value())
            seen.setdefault(record["workspace_id"], set()).add(record["liveness"])
        for workspace in faulted:
            assert seen.get(workspace) == {"UNKNOWN"}, (workspace, seen.get(workspace))
        assert sim.restarts_performed(dead) == 1

        for process in (producer, checker):
            assert process.stop() == 0
        assert actuator.process.stop() == 0
        sim.process.stop()


def test_actuator_end_to_end_whole_fleet_terminated_restarts_only_the_threshold(processes):
    """The CP reports the whole fleet terminated, sweep after sweep: the breaker opens at the
    threshold in the first sweep and stays open; only `limit` workspaces are ever restarted."""
    require_binaries("producer", "checker")
    with harness.fresh_database() as database, harness.fresh_topics() as topics:
        sim = start_fleet_sim(database)
        processes.append(sim.process)
        sim.reset()
        fleet_size = 10
        specs = [{"status": "online", "instance_id": new_instance_id(), "sim_state": "terminated"}
                 for _ in range(fleet_size)]
        ids = make_fleet(database, sim, specs)
        group = "actuator-it-" + uuid.uuid4().hex[:8]
        checker = harness.Process("checker", {
            **topics["env"], "CP_URL": sim.url, "CHECKER_GROUP_ID": "e2e-checker",
            "METRICS_ADDR": f"127.0.0.1:{harness.free_port()}"}, name="e2e-checker")
        processes.append(checker)
        actuator = start_actuator(processes, database, sim, topics, group=group,
                                  ACTUATOR_MAX_UNHEALTHY="20%")
        producer = harness.Process("producer", {
            **topics["env"], "DATABASE_URL": database, "PRODUCER_INTERVAL": "2s",
            "PRODUCER_LOCK_KEY": str(uuid.uuid4().int % (2 ** 62)),
            "METRICS_ADDR": f"127.0.0.1:{harness.free_port()}"}, name="e2e-producer")
        processes.append(producer)

        def sweeps_decided():
            return query(database, "SELECT count(DISTINCT sweep_id) FROM "
                         "reconciler_actuator_actions WHERE consumer_group = %s", (group,))[0][0]

        harness.wait_until(lambda: sweeps_decided() >= 3, timeout=120, interval=0.5,
                           message="three sweeps decided")
        limit = fleet_size * 20 // 100
        flipped = query(database, "SELECT count(*) FROM reconciler_actuator_actions WHERE "
                        "consumer_group = %s AND outcome = 'FLIPPED_RESTART_REQUESTED'",
                        (group,))[0][0]
        assert flipped == limit
        # The held-back workspaces are reported again every sweep and keep the group's window
        # beyond the limit: the breaker stays open.
        assert query(database, "SELECT opened_at IS NOT NULL FROM reconciler_actuator_breaker "
                     "WHERE consumer_group = %s", (group,)) == [(True,)]
        for process in (producer, checker):
            assert process.stop() == 0
        assert actuator.process.stop() == 0
        assert sum(sim.restarts_performed(w) for w in ids) == limit
        sim.process.stop()
