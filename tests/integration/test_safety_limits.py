"""The actuator's group-wide safety limits (issue 13, items 4 and 5; docs/actuator.md "Breaker"
and "Flip and restart rates"), against real Kafka, PostgreSQL and fleet-sim.

What each proves:
- overlapping sweeps: verdicts of two sweeps interleaved on one partition (a checker backlog,
  interleaved partitions) together report more dead workspaces than ACTUATOR_MAX_UNHEALTHY;
  the group flips no more than the limit within the breaker window, and a third sweep
  re-reporting the held-back workspaces acts on none of them. Per sweep, each sweep would get
  its own quota.
- flip rate: two actuators of one group, ACTUATOR_MAX_FLIPS_PER_MIN=120, both flipping: the
  group's flips stay within one bucket's budget (burst + rate x elapsed); a single
  actuator of another group is held to the same budget (the control: the budget belongs to
  the group, not to each process, so adding an actuator adds nothing).
- restart rate: two actuators of one group, ACTUATOR_MAX_RESTARTS_PER_MIN=60: the group's
  restart calls stay within one bucket's budget.

The verdicts are written straight to the verdicts topic with fastavro (harness.encode_record),
fresh, and every workspace they report dead really is terminated in fleet-sim, so any check
with the CP before the flip agrees with them. Each bound is a bound on a count over the time
the events took, never a wait for time to pass.
"""

import time
import uuid

import psycopg
import pytest

import harness

# Slack on a measured span: acted_at is stamped when a decision starts (a restart's when its
# call returned), the token is taken a few milliseconds from it; 250 ms is far above that
# and half the interval between two tokens at the fastest rate tested (120 a minute).
SPAN_SLACK_S = 0.25


@pytest.fixture(scope="module")
def database():
    with harness.fresh_database() as url:
        yield url


@pytest.fixture(scope="module")
def sim(database):
    sim = harness.start_fleet_sim(database, FLEETSIM_REPROVISION_DELAY="200ms")
    try:
        yield sim
    finally:
        sim.process.close()


@pytest.fixture
def pipelines():
    started = []
    yield started
    for pipeline in started:
        pipeline.close()


def dead_fleet(database, sim, count):
    """`count` online rows whose instances are terminated in fleet-sim: [(id, instance)]."""
    instances = ["i-" + uuid.uuid4().hex[:17] for _ in range(count)]
    ids = harness.insert_workspaces(database, [{"status": "online", "instance_id": i}
                                               for i in instances])
    sim.admin("POST", "/instances", {"instances": [
        {"workspace_id": w, "instance_id": i, "state": "terminated"}
        for w, i in zip(ids, instances)]})
    return list(zip(ids, instances))


def not_running(workspace_id, instance_id, sweep_id, sweep_size):
    checked = int(time.time() * 1000)
    return {
        "workspace_id": workspace_id, "instance_id": instance_id, "sweep_id": sweep_id,
        "sweep_size": sweep_size, "liveness": "NOT_RUNNING", "cp_state": "terminated",
        "http_status": 200, "reason": "state_not_running", "checked_at": checked,
        "latency_ms": 3, "checker_id": "test-safety-limits", "enqueued_at": checked - 5,
    }


def send(topics, verdicts, partition=None):
    harness.produce_records(topics["verdicts"], [
        {"key": v["workspace_id"].encode(), "value": harness.encode_record("verdict", v),
         "partition": partition} for v in verdicts])


def group_actions(database, group, outcome=None):
    """(workspace_id, outcome, reason, acted_at seconds, actuator_id) of the group, in id order."""
    with psycopg.connect(database) as connection:
        rows = connection.execute(
            "SELECT workspace_id, outcome, reason, extract(epoch FROM acted_at)::float8, "
            "actuator_id FROM reconciler_actuator_actions WHERE consumer_group = %s "
            "AND (%s::text IS NULL OR outcome = %s) ORDER BY id",
            (group, outcome, outcome)).fetchall()
    return rows


def decided_workspaces(database, group):
    return {row[0] for row in group_actions(database, group)}


def within_one_bucket(times, per_second):
    """Whether `times` (seconds) could have come out of one token bucket refilled at
    per_second with the actuator's burst, one second's worth (at least 1): every stretch of
    k events spans at least (k - burst) / per_second."""
    burst = max(1.0, per_second)
    times = sorted(times)
    for first in range(len(times)):
        for last in range(first + 1, len(times)):
            allowed = burst + per_second * (times[last] - times[first] + SPAN_SLACK_S)
            if last - first + 1 > allowed:
                return False
    return True


def start_sharing(pipeline, names):
    """Starts actuators of one group and waits until each owns some of the 12 partitions, so
    that the verdicts really are shared."""
    for name in names:
        pipeline.start(name)

    def assigned(name):
        count = 0
        for line in pipeline.current[name].log_lines():
            if line.get("msg") == "partitions assigned":
                count = line.get("count") or 0
            elif line.get("msg") == "partitions revoked":
                count = 0
        return count

    harness.wait_until(lambda: all(assigned(n) > 0 for n in names)
                       and sum(assigned(n) for n in names) == 12, timeout=40,
                       message="partitions shared between the actuators")


# --- breaker across sweeps -------------------------------------------------------------------

def test_overlapping_sweeps_share_one_breaker(database, sim, topics, pipelines):
    fleet = dead_fleet(database, sim, 10)
    pipeline = harness.Pipeline(database, topics, sim, settings={"actuator": {
        "ACTUATOR_MAX_UNHEALTHY": "30%", "ACTUATOR_MAX_FLIPS_PER_MIN": "60000"}})
    pipelines.append(pipeline)
    group = pipeline.actuator_group
    limit = 10 * 30 // 100
    # Two sweeps of the same 10-workspace fleet, each reporting 5 dead, their verdicts
    # interleaved on one partition as a checker backlog delivers them: 10 dead in total.
    sweep_a, sweep_b = str(uuid.uuid4()), str(uuid.uuid4())
    interleaved = []
    for (a_id, a_instance), (b_id, b_instance) in zip(fleet[:5], fleet[5:]):
        interleaved.append(not_running(a_id, a_instance, sweep_a, 10))
        interleaved.append(not_running(b_id, b_instance, sweep_b, 10))
    send(topics, interleaved, partition=0)
    pipeline.start("actuator")
    harness.wait_until(lambda: len(decided_workspaces(database, group)) == 10, timeout=30,
                       message="every verdict of both sweeps decided")

    first = {}
    for workspace, outcome, reason, _, _ in group_actions(database, group):
        first.setdefault(workspace, (outcome, reason))
    flipped = [w for w, (outcome, _) in first.items() if outcome == "FLIPPED_RESTART_REQUESTED"]
    held = [w for w, (outcome, _) in first.items() if outcome == "SKIPPED_BREAKER_OPEN"]
    assert len(flipped) == limit, first
    assert len(held) == 10 - limit, first
    assert all(first[w][1].startswith("breaker_open") for w in held), first

    # A third sweep re-reports the workspaces still online: the window still holds the first
    # two sweeps' count, so none of them acts either.
    sweep_c = str(uuid.uuid4())
    still_online = [(w, i) for w, i in fleet if w in held]
    send(topics, [not_running(w, i, sweep_c, 10) for w, i in still_online], partition=0)
    harness.wait_until(
        lambda: sum(1 for row in group_actions(database, group)
                    if row[1] == "SKIPPED_BREAKER_OPEN") == 2 * len(held),
        timeout=30, message="the third sweep decided")
    flips = group_actions(database, group, "FLIPPED_RESTART_REQUESTED")
    assert len(flips) == limit, flips
    with psycopg.connect(database) as connection:
        rows = dict(connection.execute(
            "SELECT id::text, status::text FROM workspaces WHERE id = ANY(%s::uuid[])",
            ([w for w in held],)).fetchall())
    assert set(rows.values()) == {"online"}, rows
    assert pipeline.metric("actuator", "reconciler_actuator_breaker_trips_total") == 1
    assert pipeline.metric("actuator", "reconciler_actuator_breaker_open") == 1
    code, _ = pipeline.stop("actuator")
    assert code == 0


# --- the group's flip rate -------------------------------------------------------------------

FLIPS_PER_MIN = 120


def run_flip_rate(database, sim, topics, pipelines, names, dead=12):
    """A group of `names` actuators with a flip rate of FLIPS_PER_MIN and `dead` workspaces
    reported dead at once, one verdict per partition (so every actuator of the group has some
    to decide): returns the flips' acted_at times, the actuator ids that flipped, and how
    often a verdict waited for a token, once every dead workspace is flipped."""
    fleet = dead_fleet(database, sim, dead)
    pipeline = harness.Pipeline(database, topics, sim, settings={"actuator": {
        "ACTUATOR_MAX_UNHEALTHY": "100%", "ACTUATOR_MAX_FLIPS_PER_MIN": str(FLIPS_PER_MIN)}})
    pipelines.append(pipeline)
    if len(names) > 1:
        start_sharing(pipeline, names)
    else:
        pipeline.start(names[0])
    sweep = str(uuid.uuid4())
    for index, (workspace, instance) in enumerate(fleet):
        send(topics, [not_running(workspace, instance, sweep, dead)], partition=index % 12)
    group = pipeline.actuator_group
    # Every one of them in the end: a verdict that waits for a token is held, not lost.
    harness.wait_until(
        lambda: len(group_actions(database, group, "FLIPPED_RESTART_REQUESTED")) == dead,
        timeout=30, message=f"all {dead} flipped")
    waits = sum(pipeline.metric(name, "reconciler_actuator_rate_limited_total",
                                {"kind": "flip"}) for name in names)
    for name in names:
        code, _ = pipeline.stop(name)
        assert code == 0
    flips = group_actions(database, group, "FLIPPED_RESTART_REQUESTED")
    assert len({row[0] for row in flips}) == dead
    return [row[3] for row in flips], {row[4] for row in flips}, waits


def test_flip_rate_is_shared_by_the_group(database, sim, topics, pipelines):
    times, actuators, waits = run_flip_rate(database, sim, topics, pipelines,
                                            ["actuator-a", "actuator-b"])
    # Both actuators flipped: the budget was really contended, not used by one alone.
    assert actuators == {"actuator-a", "actuator-b"}, actuators
    assert within_one_bucket(times, per_second=FLIPS_PER_MIN / 60), \
        sorted(t - min(times) for t in times)
    assert waits > 0


def test_flip_rate_single_actuator_control(database, sim, topics, pipelines):
    """One actuator alone gets the same budget as the two above together: the rate is the
    group's, so a second actuator adds no flips per minute."""
    times, actuators, waits = run_flip_rate(database, sim, topics, pipelines, ["actuator"])
    assert actuators == {"actuator"}
    assert within_one_bucket(times, per_second=FLIPS_PER_MIN / 60), \
        sorted(t - min(times) for t in times)
    assert waits > 0


# --- the group's restart rate ----------------------------------------------------------------

def test_restart_rate_is_shared_by_the_group(database, sim, topics, pipelines):
    dead = 8
    fleet = dead_fleet(database, sim, dead)
    pipeline = harness.Pipeline(database, topics, sim, settings={"actuator": {
        "ACTUATOR_MAX_UNHEALTHY": "100%", "ACTUATOR_MAX_FLIPS_PER_MIN": "60000",
        "ACTUATOR_MAX_RESTARTS_PER_MIN": "60"}})
    pipelines.append(pipeline)
    start_sharing(pipeline, ["actuator-a", "actuator-b"])
    send(topics, [not_running(w, i, str(uuid.uuid4()), dead) for w, i in fleet])
    group = pipeline.actuator_group
    harness.wait_until(
        lambda: len(group_actions(database, group, "FLIPPED_RESTART_REQUESTED")) == dead,
        timeout=30, message="every dead workspace flipped")
    harness.wait_until(lambda: len(group_actions(database, group, "RESTART_ACCEPTED")) >= 4,
                       timeout=30, message="4 restarts accepted")
    for name in ("actuator-a", "actuator-b"):
        code, _ = pipeline.stop(name)
        assert code == 0
    restarts = group_actions(database, group, "RESTART_ACCEPTED")
    times = [row[3] for row in restarts]
    assert within_one_bucket(times, per_second=1.0), sorted(t - min(times) for t in times)
