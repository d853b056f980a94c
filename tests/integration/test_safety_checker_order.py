"""Verdict order per workspace on the checker side (issue 13 item 1; docs/checker.md "Order").

A workspace's instance is `stopped` when a checker asks the CP about it, the CP's answer is
held back (a fleet-sim latency fault, planned at arrival, so the held answer still says
`stopped`), and meanwhile the instance runs again (EC2 stop/start keeps the instance id). A
later question is answered RUNNING. The older NOT_RUNNING observation must never be written
to the verdicts topic after the newer RUNNING one, and every verdict's `checked_at` is when
the CP was asked, not when it answered.

- back-to-back: two CheckRequests for one workspace in one checker. The second waits until
  the first one's verdict is delivered, so the topic holds NOT_RUNNING (asked first), then
  RUNNING.
- partition moved: checker A holds a request in flight when checker B joins the group and
  takes the partition over. A aborts the request at the revoke (it cannot answer for a
  partition it no longer owns), B answers RUNNING, and no NOT_RUNNING for the workspace lands
  after that, even once the CP would have released A's answer.

Pure checker-side assertions on the topic, no actuator. Conditions are polled with
harness.wait_until; nothing sleeps in place of synchronisation.
"""

import time
import uuid

import pytest
from confluent_kafka.admin import AdminClient

import harness

# Long enough that checker B joins, takes the partition over and answers while A's CP answer
# is still held; short enough to keep the file well under a minute on the baseline build.
PARTITION_MOVE_HOLD_MS = 12000
BACK_TO_BACK_HOLD_MS = 4000


@pytest.fixture(scope="module")
def sim():
    port = harness.free_port()
    env = {"FLEETSIM_ADDR": f"127.0.0.1:{port}", "METRICS_ADDR": "", "LOG_LEVEL": "warn"}
    process = harness.Process("fleet-sim", env, name="fleet-sim-order")
    control = harness.FleetSimControl(process, port)
    try:
        harness.wait_until(lambda: harness.http_get(control.url + "/readyz", 1.0)[0] == 200,
                           timeout=30, message="fleet-sim ready")
        yield control
    finally:
        process.close()


@pytest.fixture
def fleet(sim):
    sim.admin("POST", "/reset", {})
    return sim


def add_stopped_workspace(sim, hold_ms):
    """A workspace whose instance is stopped; the next status request about it is answered
    (with the state at arrival) only after hold_ms."""
    workspace, instance = str(uuid.uuid4()), "i-" + uuid.uuid4().hex[:17]
    sim.admin("POST", "/instances", {"instances": [
        {"workspace_id": workspace, "instance_id": instance, "state": "stopped"}]})
    sim.add_fault(mode="latency", endpoint="status", fixed_ms=hold_ms, times=1,
                  target={"workspace_id": workspace})
    return workspace, instance


def set_running(sim, workspace):
    """The instance starts again under the same id (EC2 stop/start); returns the wall clock
    (ms) just before the change."""
    before = int(time.time() * 1000)
    sim.admin("PUT", f"/instances/{workspace}", {"state": "running"})
    return before


def held_requests(sim):
    return sim.metric("fleet_sim_held_requests")


class Checker:
    def __init__(self, topics, sim, group, name):
        self.port = harness.free_port()
        self.checker_id = f"{name}-{uuid.uuid4().hex[:6]}"
        env = {
            **topics["env"],
            "CP_URL": sim.url,
            "CHECKER_GROUP_ID": group,
            "CHECKER_ID": self.checker_id,
            # Longer than any hold: the held answer arrives, it is never a timeout.
            "CHECKER_TIMEOUT": "30s",
            "METRICS_ADDR": f"127.0.0.1:{self.port}",
            "LOG_LEVEL": "info",
        }
        args = ["--kafka-prop", "session.timeout.ms=6000",
                "--kafka-prop", "heartbeat.interval.ms=500"]
        self.process = harness.Process("checker", env, args=args, name=name)
        harness.wait_until(lambda: self.ready() or not self.process.alive(), timeout=60,
                           message=f"{name} ready")
        assert self.process.alive(), self.process.log_text()[-3000:]

    def ready(self):
        return harness.http_get(f"http://127.0.0.1:{self.port}/readyz", 1.0)[0] == 200

    def metric(self, name):
        status, text = harness.http_get(f"http://127.0.0.1:{self.port}/metrics", 5.0)
        assert status == 200, f"{self.checker_id} /metrics answered {status}"
        return harness.metric_value(text, name) or 0.0


def request(workspace, instance):
    now = int(time.time() * 1000)
    return {"workspace_id": workspace, "instance_id": instance, "sweep_id": str(uuid.uuid4()),
            "sweep_size": 1, "enqueued_at": now, "deadline": now + 120000,
            "producer_id": "order-it"}


def send(topics, check, partition=None):
    record = {"key": check["workspace_id"].encode(),
              "value": harness.encode_record("check_request", check)}
    if partition is not None:
        record["partition"] = partition
    harness.produce_records(topics["checks"], [record])


def watch_verdicts(topics):
    """Reads the verdicts topic from the beginning in the background (timestamps as ms)."""
    return harness.TopicWatcher(topics["verdicts"], "verdict")


def verdicts_in_topic_order(watcher, workspace):
    """Every verdict for `workspace` read so far, in offset order (one workspace is one key,
    so one partition)."""
    return [value for _partition, _offset, value in sorted(watcher.snapshot(),
                                                           key=lambda r: (r[0], r[1]))
            if value["workspace_id"] == workspace]


def read_to_the_end(watcher, topics):
    """Waits until the watcher has read every verdict written (the writers have stopped)."""
    total = sum(harness.end_offsets(topics["verdicts"]).values())
    harness.wait_until(lambda: watcher.count() >= total, timeout=30,
                       message="every verdict read")


def assert_no_older_observation_after_newer(verdicts, describe):
    """Topic order is observation order: checked_at never goes back, and no NOT_RUNNING comes
    after a RUNNING."""
    seen_running = False
    for index, verdict in enumerate(verdicts):
        assert not (seen_running and verdict["liveness"] == "NOT_RUNNING"), (
            f"NOT_RUNNING written after RUNNING (verdict {index}): {describe(verdicts)}")
        seen_running = seen_running or verdict["liveness"] == "RUNNING"
        if index > 0:
            assert verdict["checked_at"] >= verdicts[index - 1]["checked_at"], (
                f"checked_at goes back at verdict {index}: {describe(verdicts)}")


def describe(verdicts):
    return [(v["liveness"], v["checker_id"], v["checked_at"], v["latency_ms"], v["sweep_id"][:8])
            for v in verdicts]


def test_back_to_back_requests_for_one_workspace_keep_ask_order(fleet):
    with harness.fresh_topics() as topics:
        workspace, instance = add_stopped_workspace(fleet, BACK_TO_BACK_HOLD_MS)
        checker = Checker(topics, fleet, "order-it-" + uuid.uuid4().hex[:8], "order-single")
        watcher = watch_verdicts(topics)
        try:
            first = request(workspace, instance)
            send(topics, first)
            harness.wait_until(lambda: held_requests(fleet) == 1, timeout=30,
                               message="the first request held by the CP")
            changed_at = set_running(fleet, workspace)
            second = request(workspace, instance)
            send(topics, second)
            harness.wait_until(lambda: watcher.count() >= 2, timeout=45,
                               message="both verdicts on the topic")
            assert checker.process.stop() == 0
            read_to_the_end(watcher, topics)
            verdicts = verdicts_in_topic_order(watcher, workspace)
        finally:
            watcher.close()
            checker.process.close()
    assert [v["sweep_id"] for v in verdicts] == [first["sweep_id"], second["sweep_id"]], (
        f"verdict order is not ask order: {describe(verdicts)}")
    assert [v["liveness"] for v in verdicts] == ["NOT_RUNNING", "RUNNING"], describe(verdicts)
    older, newer = verdicts
    # checked_at is the moment the CP was asked: the first question went out while the
    # instance was stopped, before the change; its answer took the whole hold.
    assert older["checked_at"] <= changed_at, describe(verdicts)
    assert older["latency_ms"] >= BACK_TO_BACK_HOLD_MS - 500, describe(verdicts)
    assert newer["checked_at"] >= changed_at, describe(verdicts)
    assert_no_older_observation_after_newer(verdicts, describe)


def assigned_partitions(group, topic, checker_id):
    """Partitions of `topic` the group member with client id `checker_id` holds now (empty
    while the group rebalances)."""
    admin = AdminClient({"bootstrap.servers": harness.bootstrap_servers()})
    description = admin.describe_consumer_groups([group])[group].result(timeout=10)
    partitions = set()
    for member in description.members:
        if member.client_id == checker_id and member.assignment is not None:
            partitions |= {tp.partition for tp in member.assignment.topic_partitions
                           if tp.topic == topic}
    return partitions, str(description.state)


def test_partition_moved_while_a_request_is_in_flight(fleet):
    group = "order-it-" + uuid.uuid4().hex[:8]
    with harness.fresh_topics(partitions={"checks": 2}) as topics:
        # One workspace per partition: whichever partition moves to B, one of them moves.
        workspaces = [add_stopped_workspace(fleet, PARTITION_MOVE_HOLD_MS) for _ in range(2)]
        first_checks = [request(w, i) for w, i in workspaces]
        checker_a = Checker(topics, fleet, group, "order-a")
        checker_b = None
        watcher = watch_verdicts(topics)
        try:
            for partition, check in enumerate(first_checks):
                send(topics, check, partition=partition)
            harness.wait_until(lambda: held_requests(fleet) == 2, timeout=30,
                               message="A's requests held by the CP")
            changed_at = min(set_running(fleet, w) for w, _ in workspaces)

            checker_b = Checker(topics, fleet, group, "order-b")

            def b_partitions():
                partitions, state = assigned_partitions(group, topics["checks"],
                                                        checker_b.checker_id)
                return partitions if state.endswith("STABLE") else set()

            harness.wait_until(lambda: len(b_partitions()) == 1, timeout=30,
                               message="one partition moved to B")
            moved = b_partitions().pop()
            workspace, instance = workspaces[moved]
            newer = request(workspace, instance)
            send(topics, newer, partition=moved)

            def answered_by_b():
                return any(v["sweep_id"] == newer["sweep_id"]
                           for v in verdicts_in_topic_order(watcher, workspace))

            harness.wait_until(answered_by_b, timeout=30, message="B answered the new request")
            # Let A's held answers go: the CP releases them when due, or as soon as A has
            # given up on them. Then A has nothing in flight, and stopping it flushes
            # whatever it would still produce.
            harness.wait_until(lambda: held_requests(fleet) == 0,
                               timeout=PARTITION_MOVE_HOLD_MS / 1000 + 20,
                               message="the CP released every held answer")
            harness.wait_until(lambda: checker_a.metric("reconciler_checker_in_flight") == 0,
                               timeout=30, message="A has nothing in flight")
            assert checker_a.process.stop() == 0
            assert checker_b.process.stop() == 0
            read_to_the_end(watcher, topics)
            verdicts = {w: verdicts_in_topic_order(watcher, w) for w, _ in workspaces}
        finally:
            watcher.close()
            checker_a.process.close()
            if checker_b is not None:
                checker_b.process.close()

    moved_verdicts = verdicts[workspace]
    by_b = [v for v in moved_verdicts if v["sweep_id"] == newer["sweep_id"]]
    assert len(by_b) == 1 and by_b[0]["liveness"] == "RUNNING", describe(moved_verdicts)
    assert by_b[0]["checker_id"] == checker_b.checker_id, describe(moved_verdicts)
    assert by_b[0]["checked_at"] >= changed_at, describe(moved_verdicts)
    # The moved workspace first: its order is what the partition move puts at risk.
    for workspace_verdicts in sorted(verdicts.values(), key=lambda v: v is not moved_verdicts):
        assert_no_older_observation_after_newer(workspace_verdicts, describe)
        # A NOT_RUNNING, if any was written at all, was asked while the instance was stopped.
        for verdict in workspace_verdicts:
            if verdict["liveness"] == "NOT_RUNNING":
                assert verdict["checked_at"] <= changed_at, describe(workspace_verdicts)
