"""The restart outbox when the fleet changes under a decided restart (issue 13, items 2 and 9),
against real Kafka, PostgreSQL and fleet-sim.

What each proves (docs/actuator.md, "Restart outbox and worker"):
- pre-check (item 2): a flipped workspace whose first restart attempts fail (503) and that is
  then paused, put back online, removed, hibernated, or loses its instance_id, is never
  restarted: no further POST reaches fleet-sim, the outbox row ends `skipped` with the named
  reason (and the status it found), and the Action says so on the actions topic. A workspace
  left exactly as the flip left it is restarted as usual.
- terminal state and retry (item 9a): a restart that uses up ACTUATOR_RESTART_MAX_ATTEMPTS
  ends `failed` with RESTART_FAILED, counted and shown by the gauge the alert reads; the one
  command `reconciler-actuator --retry-failed-restarts[=WORKSPACE_ID]` sets it back to pending
  (exit 0, prints how many; exit 2 for a bad id) with a RESTART_RETRIED Action, and the
  running actuator sends it and gets it accepted.
- dry run (item 9b): a dry-run actuator in a group with pending restarts sends none of them,
  says so in its log, and the overdue gauge shows they wait; a live actuator of the group
  then sends them.
- lease (item 9c): with idle_in_transaction_session_timeout at 1 s and a restart call that
  takes 3 s, two actuators of one group send the restart exactly once.

Each test has its own topics and group; the module shares one database and one fleet-sim
(reset before each test). Everything waits on observable state, never on sleeps.
"""

import subprocess
import time
import urllib.parse
import uuid

import psycopg
import pytest
from confluent_kafka.admin import AdminClient

import harness


# --- fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def database():
    with harness.fresh_database() as url:
        yield url


@pytest.fixture(scope="module")
def fleet_sim(database):
    sim = harness.start_fleet_sim(database, name="fleet-sim-restart",
                                  FLEETSIM_REPROVISION_DELAY="300ms")
    try:
        yield sim
        assert sim.process.alive(), sim.process.log_text()[-3000:]
    finally:
        sim.process.close()


@pytest.fixture
def sim(fleet_sim):
    fleet_sim.admin("POST", "/reset", {})
    fleet_sim.admin("POST", "/config", {"reprovision_delay_ms": 300})
    return fleet_sim


@pytest.fixture
def actions_topic(topics):
    """Every Action published on the run's actions topic, as (workspace, outcome, reason,
    attempt, actuator_id)."""
    def project(value):
        return (value["workspace_id"], value["outcome"], value["reason"], value["attempt"],
                value["actuator_id"])

    # A topic just created may not be in the broker's metadata yet, or without leaders.
    admin = AdminClient({"bootstrap.servers": harness.bootstrap_servers()})

    def ready():
        found = admin.list_topics(topics["actions"], timeout=10).topics.get(topics["actions"])
        return (found is not None and found.error is None and found.partitions
                and all(p.leader >= 0 for p in found.partitions.values()))

    harness.wait_until(ready, timeout=30, message="actions topic metadata")
    watcher = harness.TopicWatcher(topics["actions"], "action", project=project)
    yield watcher
    watcher.close()


# --- the actuator -----------------------------------------------------------------------------

class Actuator:
    def __init__(self, process, metrics_port, group):
        self.process = process
        self.metrics_url = f"http://127.0.0.1:{metrics_port}"
        self.group = group

    def metric(self, name, labels=None):
        status, text = harness.http_get(self.metrics_url + "/metrics")
        assert status == 200, f"/metrics answered {status}"
        return harness.metric_value(text, name, labels) or 0.0

    def log_lines(self, message=None):
        return [line for line in self.process.log_lines()
                if message is None or line.get("msg", "").startswith(message)]


def start_actuator(processes, database_url, sim, topics, group, **settings):
    metrics_port = harness.free_port()
    name = "actuator-" + uuid.uuid4().hex[:6]
    env = {
        "DATABASE_URL": database_url,
        **topics["env"],
        "RESTART_URL": sim.url + "/workspaces/{id}/restart",
        "CP_URL": sim.url,  # fleet-sim's CP answers the actuator's confirmation before a flip
        "METRICS_ADDR": f"127.0.0.1:{metrics_port}",
        "ACTUATOR_GROUP_ID": group,
        "ACTUATOR_ID": name,
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
    actuator = Actuator(process, metrics_port, group)
    harness.wait_until(
        lambda: not process.alive() or harness.http_get(actuator.metrics_url + "/healthz")[0]
        == 200, timeout=30, message="actuator serving /healthz")
    assert process.alive(), process.log_text()[-3000:]
    return actuator


def retry_command(database_url, group, *arguments):
    """reconciler-actuator --retry-failed-restarts...: (exit code, stdout, stderr)."""
    done = subprocess.run(
        [harness.binary("actuator"), *arguments],
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url, "ACTUATOR_GROUP_ID": group},
        capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout, done.stderr


# --- fleets, verdicts, observations ----------------------------------------------------------

def new_instance_id():
    return "i-" + uuid.uuid4().hex[:17]


def dead_fleet(database_url, sim, count):
    """`count` online workspaces whose instances fleet-sim reports terminated:
    [(workspace_id, instance_id)]."""
    instances = [new_instance_id() for _ in range(count)]
    ids = harness.insert_workspaces(database_url, [{"status": "online", "instance_id": i}
                                                   for i in instances])
    sim.admin("POST", "/instances", {"instances": [
        {"workspace_id": w, "instance_id": i, "state": "terminated"}
        for w, i in zip(ids, instances)]})
    return list(zip(ids, instances))


def send_not_running(topics, fleet):
    """A fresh NOT_RUNNING verdict per workspace, written with fastavro straight to the topic."""
    now = int(time.time() * 1000)
    sweep = str(uuid.uuid4())
    harness.produce_records(topics["verdicts"], [{
        "key": workspace.encode(),
        "value": harness.encode_record("verdict", {
            "workspace_id": workspace, "instance_id": instance, "sweep_id": sweep,
            "sweep_size": 100, "liveness": "NOT_RUNNING", "cp_state": "terminated",
            "http_status": 200, "reason": "state_not_running", "checked_at": now,
            "latency_ms": 3, "checker_id": "test", "enqueued_at": now - 5}),
    } for workspace, instance in fleet])


def query(database_url, sql, parameters=()):
    with psycopg.connect(database_url) as connection:
        return connection.execute(sql, parameters).fetchall()


def execute(database_url, sql, parameters=()):
    with psycopg.connect(database_url) as connection:
        connection.execute(sql, parameters)


def outbox(database_url, workspace):
    """The workspace's restart outbox row as a dict (one per flip)."""
    rows = query(database_url,
                 "SELECT state, attempts, last_error_name, skip_status, claimed_by, "
                 "claimed_until IS NOT NULL FROM reconciler_actuator_restarts "
                 "WHERE workspace_id = %s ORDER BY id", (workspace,))
    assert len(rows) <= 1, rows
    if not rows:
        return None
    state, attempts, error, status, claimed_by, leased = rows[0]
    return {"state": state, "attempts": attempts, "last_error_name": error,
            "skip_status": status, "claimed_by": claimed_by, "leased": leased}


def outcomes(database_url, workspace):
    return [row[0] for row in query(
        database_url, "SELECT outcome FROM reconciler_actuator_actions WHERE workspace_id = %s "
        "ORDER BY id", (workspace,))]


def published(watcher, workspace, outcome):
    return [record for _p, _o, record in watcher.snapshot()
            if record[0] == workspace and record[1] == outcome]


def received(sim, workspace):
    return sim.instance(workspace)["restarts_received"]


def performed(sim, workspace):
    return sim.instance(workspace)["restarts_performed"]


def wait_state(database_url, workspace, state, timeout=30):
    harness.wait_until(lambda: (row := outbox(database_url, workspace)) is not None
                       and row["state"] == state, timeout=timeout,
                       message=f"{workspace}: restart {state}")


# --- item 2: restart only what the flip left ---------------------------------------------------

# How each workspace is changed after its flip, and what the pre-check must then name.
CHANGES = {
    "paused": ("UPDATE workspaces SET status = 'paused' WHERE id = %s",
               "SKIPPED_STATUS_CHANGED", "status_changed", "paused"),
    "back_online": ("UPDATE workspaces SET status = 'online' WHERE id = %s",
                    "SKIPPED_STATUS_CHANGED", "status_changed", "online"),
    "removed": ("UPDATE workspaces SET status = 'removed' WHERE id = %s",
                "SKIPPED_STATUS_CHANGED", "status_changed", "removed"),
    "hibernated": ("UPDATE workspaces SET status = 'hibernated' WHERE id = %s",
                   "SKIPPED_STATUS_CHANGED", "status_changed", "hibernated"),
    "instance_cleared": ("UPDATE workspaces SET instance_id = NULL WHERE id = %s",
                         "SKIPPED_INSTANCE_CHANGED", "instance_cleared", "offline"),
}


def test_restart_never_sent_once_the_row_is_no_longer_as_the_flip_left_it(
        database, sim, topics, processes, actions_topic):
    fleet = dead_fleet(database, sim, len(CHANGES) + 1)
    changed = dict(zip(CHANGES, fleet))
    untouched = fleet[-1]
    group = "restart-precheck-" + uuid.uuid4().hex[:8]

    # Flip them all; every restart attempt answers 503, so each stays pending.
    sim.add_fault(mode="status", code=503, endpoint="restart")
    send_not_running(topics, fleet)
    first = start_actuator(processes, database, sim, topics, group,
                           ACTUATOR_RESTART_MAX_ATTEMPTS="1000")
    harness.wait_until(lambda: all((row := outbox(database, w)) and row["attempts"] >= 1
                                   and received(sim, w) >= 1 for w, _ in fleet),
                       message="every flipped workspace had a failed restart attempt")
    assert first.process.stop() == 0
    attempts_seen = {w: received(sim, w) for w, _ in fleet}
    assert all(performed(sim, w) == 0 for w, _ in fleet)

    # The users (or the workspace server) act on the flipped workspaces; then the restart API
    # recovers and an actuator of the group picks the pending restarts up again.
    for name, (sql, _outcome, _reason, _status) in CHANGES.items():
        execute(database, sql, (changed[name][0],))
    sim.clear_faults()
    second = start_actuator(processes, database, sim, topics, group,
                            ACTUATOR_RESTART_MAX_ATTEMPTS="1000")  # the group's setting

    wait_state(database, untouched[0], "accepted")
    for name in CHANGES:
        wait_state(database, changed[name][0], "skipped")
    for name, (_sql, outcome, reason, status) in CHANGES.items():
        workspace = changed[name][0]
        assert received(sim, workspace) == attempts_seen[workspace], name  # no POST since
        assert performed(sim, workspace) == 0, name
        row = outbox(database, workspace)
        assert (row["last_error_name"], row["skip_status"]) == (reason, status), (name, row)
        assert not row["leased"], (name, row)
        assert outcomes(database, workspace)[-1] == outcome, name
        harness.wait_until(lambda: published(actions_topic, workspace, outcome),
                           message=f"{name}: {outcome} published")
        assert published(actions_topic, workspace, outcome)[-1][2].startswith(reason + ":"), name
    # The rows keep what their users made of them.
    statuses = dict(query(database, "SELECT id::text, status::text FROM workspaces WHERE id = "
                          "ANY(%s::uuid[])", ([w for w, _ in fleet],)))
    assert statuses[changed["paused"][0]] == "paused"
    assert statuses[changed["hibernated"][0]] == "hibernated"
    # The workspace left as the flip left it is restarted as usual.
    assert outcomes(database, untouched[0])[-1] == "RESTART_ACCEPTED"
    assert performed(sim, untouched[0]) == 1
    assert second.metric("reconciler_actuator_restart_skips_total",
                         {"reason": "status_changed"}) == 4
    assert second.metric("reconciler_actuator_restart_skips_total",
                         {"reason": "instance_cleared"}) == 1
    assert second.process.stop() == 0


# --- item 9a: a visible terminal state and one command to retry it ----------------------------

def test_failed_restart_is_visible_and_one_command_retries_it(
        database, sim, topics, processes, actions_topic):
    fleet = dead_fleet(database, sim, 2)
    (one, _), (other, _) = fleet
    group = "restart-retry-" + uuid.uuid4().hex[:8]
    sim.add_fault(mode="status", code=503, endpoint="restart")
    send_not_running(topics, fleet)
    actuator = start_actuator(processes, database, sim, topics, group,
                              ACTUATOR_RESTART_MAX_ATTEMPTS="2")

    wait_state(database, one, "failed")
    wait_state(database, other, "failed")
    assert actuator.metric("reconciler_actuator_restart_failures_total") == 2
    harness.wait_until(lambda: actuator.metric("reconciler_actuator_restarts_failed") == 2,
                       message="failed restarts gauge (what ReconcilerRestartsFailedWaiting reads)")
    # Bad input is refused with exit 2 and one line, and changes nothing.
    code, out, err = retry_command(database, group, "--retry-failed-restarts=not-a-uuid")
    assert code == 2 and err.count("\n") == 1 and "uuid" in err, (code, out, err)
    assert outbox(database, one)["state"] == "failed"

    # The workspace server works again; the operator retries one workspace.
    sim.clear_faults()
    code, out, err = retry_command(database, group, f"--retry-failed-restarts={one}")
    assert code == 0, (out, err)
    assert out.startswith(f"retried 1 failed restart(s) of group {group}"), out
    wait_state(database, one, "accepted")
    assert outcomes(database, one)[-2:] == ["RESTART_RETRIED", "RESTART_ACCEPTED"]
    # Every step is on the actions topic: the give-up (naming the command), the operator's
    # retry, the acceptance.
    for workspace in (one, other):
        harness.wait_until(lambda: published(actions_topic, workspace, "RESTART_FAILED"),
                           message="RESTART_FAILED published")
        assert "--retry-failed-restarts" in published(actions_topic, workspace,
                                                      "RESTART_FAILED")[-1][2]
    harness.wait_until(lambda: published(actions_topic, one, "RESTART_RETRIED")
                       and published(actions_topic, one, "RESTART_ACCEPTED"),
                       message="the retry and the acceptance published")
    retried = published(actions_topic, one, "RESTART_RETRIED")[-1]
    assert retried[2].startswith("operator_retry:") and retried[3] == 0, retried
    assert retried[4].startswith("retry-failed-restarts@"), retried
    assert performed(sim, one) == 1
    # The other one is untouched, still waiting for its operator.
    assert outbox(database, other)["state"] == "failed" and performed(sim, other) == 0
    harness.wait_until(lambda: actuator.metric("reconciler_actuator_restarts_failed") == 1,
                       message="failed restarts gauge down to the one left")

    # Without an id: every failed restart of the group.
    code, out, _err = retry_command(database, group, "--retry-failed-restarts")
    assert code == 0 and out.startswith("retried 1 failed restart(s)"), out
    wait_state(database, other, "accepted")
    assert performed(sim, other) == 1
    harness.wait_until(lambda: actuator.metric("reconciler_actuator_restarts_failed") == 0,
                       message="no failed restart left")
    code, out, _err = retry_command(database, group, "--retry-failed-restarts")
    assert code == 0 and out.startswith("retried 0 failed restart(s)"), out
    assert actuator.process.stop() == 0


# --- item 9b: dry run strands nothing silently ------------------------------------------------

def test_dry_run_leaves_pending_restarts_to_live_actuators_and_says_so(
        database, sim, topics, processes):
    [(workspace, instance)] = dead_fleet(database, sim, 1)
    group = "restart-dry-run-" + uuid.uuid4().hex[:8]
    sim.add_fault(mode="status", code=503, endpoint="restart")
    send_not_running(topics, [(workspace, instance)])
    live = start_actuator(processes, database, sim, topics, group,
                          ACTUATOR_RESTART_MAX_ATTEMPTS="1000")
    harness.wait_until(lambda: received(sim, workspace) >= 1, message="a failed attempt")
    assert live.process.stop() == 0
    sent_before = received(sim, workspace)

    # The group is switched to dry run while the restart is pending.
    shadow = start_actuator(processes, database, sim, topics, group, ACTUATOR_DRY_RUN="true")
    sim.clear_faults()  # a restart it sent now would be accepted and seen
    warning = harness.wait_until(
        lambda: shadow.log_lines("dry run: restarts pending in this actuator's group are left"),
        timeout=15, message="the dry-run actuator says it leaves the pending restart")
    assert warning[0]["level"] == "warn" and warning[0]["pending_restarts"] == 1, warning
    harness.wait_until(
        lambda: shadow.metric("reconciler_actuator_restart_overdue_seconds") >= 2,
        timeout=20, message="the restart shown overdue for 2 s: due, and nobody claimed it")
    assert shadow.metric("reconciler_actuator_restarts_pending") == 1
    assert received(sim, workspace) == sent_before  # dry run sends nothing
    assert outbox(database, workspace)["state"] == "pending"

    # A live actuator of the group sends it; the dry-run one sees the outbox drain.
    second = start_actuator(processes, database, sim, topics, group,
                            ACTUATOR_RESTART_MAX_ATTEMPTS="1000")
    wait_state(database, workspace, "accepted")
    assert performed(sim, workspace) == 1
    harness.wait_until(lambda: shadow.metric("reconciler_actuator_restart_overdue_seconds") == 0
                       and shadow.log_lines("dry run: no restart pending"),
                       message="the dry-run actuator sees nothing pending any more")
    assert second.process.stop() == 0
    assert shadow.process.stop() == 0


# --- item 9c: no transaction across the call --------------------------------------------------

def with_session_option(url, option):
    """The libpq URI with `-c option` added to every session it opens."""
    parts = urllib.parse.urlsplit(url)
    query_items = urllib.parse.parse_qsl(parts.query)
    query_items.append(("options", f"-c {option}"))
    return urllib.parse.urlunsplit(parts._replace(
        query=urllib.parse.urlencode(query_items, quote_via=urllib.parse.quote)))


def test_restart_call_outliving_idle_in_transaction_timeout_is_sent_once(
        database, sim, topics, processes, actions_topic):
    [(workspace, instance)] = dead_fleet(database, sim, 1)
    group = "restart-lease-" + uuid.uuid4().hex[:8]
    # The restart call takes 3 s; the reprovision comes much later, so the row stays exactly
    # as the flip left it throughout and nothing but the claim keeps a second actuator off it.
    sim.admin("POST", "/config", {"reprovision_delay_ms": 20000})
    sim.add_fault(mode="latency", fixed_ms=3000, endpoint="restart",
                  target={"workspace_id": workspace})
    # The server ends any session idle in a transaction for 1 s: a claim held open across
    # the call would be cut mid-call and the row handed to the other actuator.
    url = with_session_option(database, "idle_in_transaction_session_timeout=1000")
    actuators = [start_actuator(processes, url, sim, topics, group) for _ in range(2)]
    send_not_running(topics, [(workspace, instance)])

    harness.wait_until(lambda: outbox(database, workspace)
                       and outbox(database, workspace)["state"] == "accepted",
                       timeout=30, message="restart accepted")
    # The accepted row is final: nothing can send it again after this point.
    assert received(sim, workspace) == 1
    assert outcomes(database, workspace) == ["FLIPPED_RESTART_REQUESTED", "RESTART_ACCEPTED"]
    harness.wait_until(lambda: published(actions_topic, workspace, "RESTART_ACCEPTED"),
                       message="RESTART_ACCEPTED published")
    row = outbox(database, workspace)
    assert row["attempts"] == 1 and row["claimed_by"] in {a.process.name for a in actuators}
    for actuator in actuators:
        assert actuator.metric("reconciler_actuator_restart_leases_lost_total") == 0
        assert actuator.process.stop() == 0
