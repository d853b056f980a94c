"""Integration tests of reconciler-checker against real Kafka and fleet-sim (issue #4).

What each proves:
- verdicts: every fleet-sim fault mode, applied to an instance that is really terminated,
  gives UNKNOWN with its reason and never NOT_RUNNING; terminated, stopped, stopping and
  shutting-down give NOT_RUNNING; running gives RUNNING; pending gives UNKNOWN. The CP
  headers (bearer secret, admin token) are sent, and no secret reaches a log or a verdict.
- group: two checkers in one group share the partitions and together emit exactly one
  verdict per request when nothing fails; kill -9 one mid-stream and every request still
  gets a verdict (duplicates allowed, loss not).
- concurrency: with 64 requests hanging in the CP, other requests still complete first; a
  hanging request costs at most CHECKER_TIMEOUT.
- deadlines: a request taken after its deadline is never sent to the CP and is counted.
- poison: undecodable messages land in the DLQ with their provenance headers and the checker
  goes on; every offset, poison and expired included, is committed in the end.
- shutdown: SIGTERM with work in flight exits 0 within 15 s, and a successor in the group
  answers whatever was handed back.

Each test has its own topics and consumer group; fleet-sim runs once per module and is reset
before every test. Conditions are polled with harness.wait_until; nothing sleeps in place of
synchronisation, and ordering assertions never depend on wall-clock guesses.
"""

import os
import time
import uuid

import pytest

import harness

encode = harness.encode_record
decode = harness.decode_record


SHARED_SECRET = "checker-it-shared-" + uuid.uuid4().hex
ADMIN_TOKEN = "checker-it-admin-" + uuid.uuid4().hex
NOT_RUNNING_STATES = ["terminated", "stopped", "stopping", "shutting-down"]


# --- fleet-sim ------------------------------------------------------------------------------

class FleetSim(harness.FleetSimControl):
    """fleet-sim; faults here target one instance's status endpoint."""

    def add_fault(self, instance_id, mode, **fields):
        return self.admin("POST", "/faults", {
            "mode": mode, "endpoint": "status", "target": {"instance_id": instance_id}, **fields})


@pytest.fixture(scope="module")
def fleet_sim_server():
    port = harness.free_port()
    env = {
        "FLEETSIM_ADDR": f"127.0.0.1:{port}",
        "FLEETSIM_CP_SHARED_SECRET": SHARED_SECRET,
        "FLEETSIM_CP_ADMIN_TOKEN": ADMIN_TOKEN,
        "METRICS_ADDR": "",
        "LOG_LEVEL": "warn",
    }
    with harness.running("fleet-sim", env) as process:
        sim = FleetSim(process, port)
        harness.wait_until(lambda: harness.http_get(sim.url + "/readyz")[0] == 200, timeout=30,
                           message="fleet-sim ready")
        yield sim
        assert process.alive(), process.log_text()[-3000:]


@pytest.fixture
def sim(fleet_sim_server):
    fleet_sim_server.reset()
    return fleet_sim_server


# --- checkers, requests, verdicts ---------------------------------------------------------

class Checker:
    def __init__(self, process, metrics_port, checker_id):
        self.process = process
        self.metrics_url = f"http://127.0.0.1:{metrics_port}"
        self.checker_id = checker_id

    def metrics(self):
        status, text = harness.http_get(self.metrics_url + "/metrics")
        assert status == 200, f"/metrics answered {status}"
        return text

    def metric(self, name, labels=None):
        return harness.metric_value(self.metrics(), name, labels) or 0.0

    def ready(self):
        return harness.http_get(self.metrics_url + "/readyz")[0] == 200

    def assigned_partitions(self):
        """Partitions of the last assignment the log reports (eager rebalancing: each
        rebalance revokes everything, then assigns the new set)."""
        count = None
        for line in self.process.log_lines():
            if line.get("msg") == "partitions assigned":
                count = line.get("count")
            elif line.get("msg") == "partitions revoked":
                count = 0
        return count


def start_checker(stack, sim, group, name="checker", kafka_props=(), **settings):
    port = harness.free_port()
    checker_id = f"{name}-{uuid.uuid4().hex[:6]}"
    env = {
        **stack["env"],
        "CP_URL": sim.url,
        "CP_SHARED_SECRET": SHARED_SECRET,
        "CP_ADMIN_TOKEN": ADMIN_TOKEN,
        "CHECKER_GROUP_ID": group,
        "CHECKER_ID": checker_id,
        "METRICS_ADDR": f"127.0.0.1:{port}",
        "LOG_LEVEL": "info",
        **{key.upper(): str(value) for key, value in settings.items()},
    }
    args = []
    for prop in ("session.timeout.ms=6000", "heartbeat.interval.ms=500", *kafka_props):
        args += ["--kafka-prop", prop]
    process = harness.Process("checker", env, args=args, name=name)
    checker = Checker(process, port, checker_id)
    harness.wait_until(lambda: checker.ready() or not process.alive(), timeout=60,
                       message=f"{name} ready")
    assert process.alive(), process.log_text()[-3000:]
    return checker


def new_group():
    return "checker-it-" + uuid.uuid4().hex[:10]


def request(workspace_id, instance_id, deadline_in_s=120.0, sweep_id=None):
    now = int(time.time() * 1000)
    return {
        "workspace_id": workspace_id,
        "instance_id": instance_id,
        "sweep_id": sweep_id or str(uuid.uuid4()),
        "sweep_size": 1,
        "enqueued_at": now,
        "deadline": now + int(deadline_in_s * 1000),
        "producer_id": "checker-it",
    }


def send_requests(stack, requests):
    harness.produce_raw(stack["checks"], [
        (r["workspace_id"].encode(), encode("check_request", r)) for r in requests])


def read_verdicts(stack, expected, timeout=90.0):
    messages = harness.consume(stack["verdicts"], expected, timeout=timeout)
    return [decode("verdict", m.value()) for m in messages]


def verdicts_by_workspace(verdicts):
    result = {}
    for verdict in verdicts:
        result.setdefault(verdict["workspace_id"], []).append(verdict)
    return result


def make_fleet(sim, states):
    """One workspace per state in `states` (a list); returns [(workspace, instance, state)]."""
    entries = [(str(uuid.uuid4()), "i-" + uuid.uuid4().hex[:17], s) for s in states]
    sim.add_instances(entries)
    return entries


class VerdictReader:
    """Reads the verdicts topic incrementally, so a test can watch the order of arrival."""

    def __init__(self, topic):
        from confluent_kafka import Consumer

        self.consumer = Consumer({
            "bootstrap.servers": harness.bootstrap_servers(),
            "group.id": "test-reader-" + uuid.uuid4().hex[:8],
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        })
        self.consumer.subscribe([topic])
        self.verdicts = []

    def poll(self, seconds=0.5):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            message = self.consumer.poll(0.2)
            if message is not None and not message.error():
                self.verdicts.append(decode("verdict", message.value()))
        return self.verdicts

    def close(self):
        self.consumer.close()


# --- verdicts: classification end to end ----------------------------------------------------

# fleet-sim fault mode -> (extra rule fields, the reasons it may produce). Every one is applied
# to an instance that is really terminated, so a checker that looked past the fault would
# answer NOT_RUNNING.
FAULT_CASES = {
    "latency": ({"fixed_ms": 5000}, {"transport_timeout"}),
    "hang": ({}, {"transport_timeout"}),
    "status_404": ({"code": 404}, {"http_client_error"}),
    "status_500": ({"code": 500}, {"http_server_error"}),
    "status_503": ({"code": 503}, {"http_server_error"}),
    "redirect": ({}, {"http_redirect"}),
    "garbage": ({}, {"body_not_json", "body_invalid_utf8", "body_contains_nul"}),
    "truncated": ({}, {"body_not_json"}),
    "truncated_transfer": ({"cut": "transfer"}, {"protocol_error"}),
    "oversized": ({}, {"body_too_large"}),
    "empty_object": ({}, {"state_missing"}),
    "missing_state": ({}, {"state_missing"}),
    "null_state": ({}, {"state_null"}),
    "wrong_type_state": ({}, {"state_not_string"}),
    "odd_state": ({}, {"state_unrecognized"}),
    "odd_state_capitalised": ({"state": "Terminated"}, {"state_unrecognized"}),
    "duplicate_state_keys": ({}, {"duplicate_keys"}),
    "array_body": ({}, {"body_not_object"}),
    "trailing_data": ({}, {"body_trailing_data"}),
    "content_type": ({}, {"content_type_not_json"}),
    "reset": ({}, {"connect_failed", "protocol_error"}),
}

STATE_CASES = {
    "running": ("RUNNING", "state_running"),
    "terminated": ("NOT_RUNNING", "state_not_running"),
    "stopped": ("NOT_RUNNING", "state_not_running"),
    "stopping": ("NOT_RUNNING", "state_not_running"),
    "shutting-down": ("NOT_RUNNING", "state_not_running"),
    "pending": ("UNKNOWN", "state_unrecognized"),
}


@pytest.fixture(scope="module")
def classification_run(fleet_sim_server):
    """One checker answers one request per fault case and per instance state, plus one for a
    workspace the CP does not know; returns {case: verdicts} and the checker's log text."""
    sim = fleet_sim_server
    sim.reset()
    with harness.fresh_topics() as stack:
        cases = {}
        entries = []
        for case, (fields, _reasons) in FAULT_CASES.items():
            workspace, instance = str(uuid.uuid4()), "i-" + uuid.uuid4().hex[:17]
            entries.append((workspace, instance, "terminated"))
            cases[case] = workspace
        for state in STATE_CASES:
            workspace, instance = str(uuid.uuid4()), "i-" + uuid.uuid4().hex[:17]
            entries.append((workspace, instance, state))
            cases["state_" + state] = workspace
        sim.add_instances(entries)
        instance_of = {w: i for w, i, _ in entries}
        for case, (fields, _reasons) in FAULT_CASES.items():
            mode = case.split("_")[0] if case.startswith(("status_", "truncated_")) else case
            mode = "odd_state" if case == "odd_state_capitalised" else mode
            sim.add_fault(instance_of[cases[case]], mode, **fields)
        unknown_workspace = str(uuid.uuid4())
        cases["unknown_workspace"] = unknown_workspace
        requests = [request(w, instance_of[w]) for w in instance_of]
        requests.append(request(unknown_workspace, "i-notinthefleet"))
        checker = start_checker(stack, sim, new_group(), checker_timeout="2s")
        try:
            send_requests(stack, requests)
            verdicts = verdicts_by_workspace(read_verdicts(stack, len(requests), timeout=120))
            metrics = checker.metrics()
            log_text = checker.process.log_text()
            raw_values = b"".join(m.value() for m in harness.consume_available(
                stack["verdicts"], idle=1.0))
            assert checker.process.stop() == 0
        finally:
            checker.process.close()
        yield {"cases": cases, "verdicts": verdicts, "metrics": metrics, "log": log_text,
               "raw": raw_values, "instance_of": instance_of}


@pytest.mark.parametrize("case", sorted(FAULT_CASES))
def test_checker_fault_mode_is_unknown_never_not_running(classification_run, case):
    workspace = classification_run["cases"][case]
    verdicts = classification_run["verdicts"][workspace]
    reasons = FAULT_CASES[case][1]
    for verdict in verdicts:
        assert verdict["liveness"] == "UNKNOWN", verdict
        assert verdict["reason"] in reasons, verdict
        assert verdict["instance_id"] == classification_run["instance_of"][workspace]


@pytest.mark.parametrize("state", sorted(STATE_CASES))
def test_checker_instance_state_gives_its_verdict(classification_run, state):
    workspace = classification_run["cases"]["state_" + state]
    liveness, reason = STATE_CASES[state]
    for verdict in classification_run["verdicts"][workspace]:
        assert verdict["liveness"] == liveness, verdict
        assert verdict["reason"] == reason
        assert verdict["cp_state"] == state
        assert verdict["http_status"] == 200
        assert verdict["checker_id"].startswith("checker-")
        assert verdict["latency_ms"] >= 0
        # fastavro reads timestamp-millis as aware datetimes.
        assert verdict["checked_at"] >= verdict["enqueued_at"]
        assert verdict["enqueued_at"].year >= 2024


def test_checker_unknown_workspace_is_unknown(classification_run):
    workspace = classification_run["cases"]["unknown_workspace"]
    for verdict in classification_run["verdicts"][workspace]:
        assert verdict["liveness"] == "UNKNOWN"
        assert verdict["reason"] == "http_client_error"
        assert verdict["http_status"] == 404
        assert verdict["cp_state"] is None


def test_checker_secrets_never_leave_the_process(classification_run):
    for secret in (SHARED_SECRET, ADMIN_TOKEN):
        assert secret not in classification_run["log"]
        assert secret not in classification_run["metrics"]
        assert secret.encode() not in classification_run["raw"]


def test_checker_metrics_count_verdicts_by_liveness_and_reason(classification_run):
    metrics = classification_run["metrics"]
    total = len(classification_run["verdicts"])
    counted = sum(harness.metric_value(metrics, "reconciler_checker_verdicts_total",
                                       {"liveness": value}) or 0
                  for value in ("UNKNOWN", "RUNNING", "NOT_RUNNING"))
    assert counted >= total
    assert harness.metric_value(metrics, "reconciler_checker_verdicts_total",
                                {"liveness": "NOT_RUNNING"}) >= 4
    assert harness.metric_value(metrics, "reconciler_checker_unknown_total",
                                {"reason": "transport_timeout"}) >= 2
    assert harness.metric_value(metrics, "reconciler_checker_cp_latency_seconds_count") >= total
    for family in ("reconciler_checker_in_flight", "reconciler_checker_expired_total",
                   "reconciler_checker_consumer_lag"):
        assert harness.metric_value(metrics, family) is not None, family
    assert "reconciler_checker_dlq_total" in metrics


# --- two checkers in one group --------------------------------------------------------------

def wait_for_shared_assignment(checkers, partitions=12):
    def settled():
        counts = [c.assigned_partitions() for c in checkers]
        return all(count for count in counts) and sum(counts) == partitions
    harness.wait_until(settled, timeout=60, message="partitions spread over the checkers")


def test_checker_two_checkers_share_work_and_emit_exactly_one_verdict(sim, topics):
    group = new_group()
    fleet = make_fleet(sim, ["running", "terminated"] * 100)
    first = start_checker(topics, sim, group, name="checker-a")
    second = start_checker(topics, sim, group, name="checker-b")
    try:
        wait_for_shared_assignment([first, second])
        send_requests(topics, [request(w, i) for w, i, _ in fleet])
        verdicts = read_verdicts(topics, len(fleet))
        # Wait for anything late, then count everything on the topic.
        verdicts = [decode("verdict", m.value())
                    for m in harness.consume_available(topics["verdicts"], idle=3.0)]
        by_workspace = verdicts_by_workspace(verdicts)
        assert sorted(by_workspace) == sorted(w for w, _, _ in fleet)
        assert all(len(v) == 1 for v in by_workspace.values()), "a request answered twice"
        expected = {w: ("RUNNING" if s == "running" else "NOT_RUNNING") for w, _, s in fleet}
        assert all(v[0]["liveness"] == expected[w] for w, v in by_workspace.items())
        checker_ids = {v["checker_id"] for v in verdicts}
        assert checker_ids == {first.checker_id, second.checker_id}
        assert first.process.stop() == 0
        assert second.process.stop() == 0
    finally:
        first.process.close()
        second.process.close()
    # Everything answered is committed: nothing would be asked again.
    committed = harness.committed_offsets(group, topics["checks"], 12)
    assert sum(offset for offset in committed.values() if offset > 0) == len(fleet)


def test_checker_kill_9_mid_stream_loses_no_request(sim, topics):
    group = new_group()
    fleet = make_fleet(sim, ["running"] * 300)
    # Slow answers keep work in flight when the kill lands.
    for _, instance, _ in fleet:
        sim.add_fault(instance, "latency", fixed_ms=200)
    first = start_checker(topics, sim, group, name="victim", checker_concurrency=8)
    second = start_checker(topics, sim, group, name="survivor", checker_concurrency=8)
    reader = VerdictReader(topics["verdicts"])
    try:
        wait_for_shared_assignment([first, second])
        send_requests(topics, [request(w, i) for w, i, _ in fleet])
        harness.wait_until(lambda: len(reader.poll()) >= 40, timeout=60,
                           message="some verdicts before the kill")
        in_flight_at_kill = first.metric("reconciler_checker_in_flight")
        first.process.kill()
        harness.wait_until(
            lambda: {v["workspace_id"] for v in reader.poll()} >= {w for w, _, _ in fleet},
            timeout=120, message="a verdict for every request")
        assert in_flight_at_kill > 0, "the kill should land with CP requests in flight"
        ids = {v["workspace_id"] for v in reader.verdicts}
        assert ids == {w for w, _, _ in fleet}
        assert second.process.alive()
        assert second.process.stop() == 0
    finally:
        reader.close()
        first.process.close()
        second.process.close()


# --- a hanging CP ---------------------------------------------------------------------------

def test_checker_hanging_requests_do_not_block_other_requests(sim, topics):
    hung = make_fleet(sim, ["terminated"] * 64)
    healthy = make_fleet(sim, ["running"] * 20)
    for _, instance, _ in hung:
        sim.add_fault(instance, "hang", hang_ms=60000)
    # The timeout only bounds the test: the assertions are about order, and 15 s leaves a
    # loaded machine ample time to answer the healthy requests while the others hang.
    checker = start_checker(topics, sim, new_group(), checker_concurrency=80,
                            checker_timeout="15s")
    reader = VerdictReader(topics["verdicts"])
    try:
        send_requests(topics, [request(w, i) for w, i, _ in hung])
        harness.wait_until(lambda: checker.metric("reconciler_checker_in_flight") >= 64,
                           timeout=60, message="64 hanging requests in flight")
        send_requests(topics, [request(w, i) for w, i, _ in healthy])
        healthy_ids = {w for w, _, _ in healthy}
        hung_ids = {w for w, _, _ in hung}
        harness.wait_until(lambda: healthy_ids <= {v["workspace_id"] for v in reader.poll()},
                           timeout=60, message="verdicts for the healthy requests")
        # Ordering, not timing: every healthy verdict arrived while all 64 still hang.
        assert not hung_ids & {v["workspace_id"] for v in reader.verdicts}
        assert checker.metric("reconciler_checker_in_flight") >= 64
        assert all(v["liveness"] == "RUNNING" for v in reader.verdicts)
        # The hung ones cost at most the timeout, then are UNKNOWN, never NOT_RUNNING.
        harness.wait_until(lambda: hung_ids <= {v["workspace_id"] for v in reader.poll()},
                           timeout=60, message="the hung requests time out")
        for verdict in reader.verdicts:
            if verdict["workspace_id"] in hung_ids:
                assert verdict["liveness"] == "UNKNOWN"
                assert verdict["reason"] == "transport_timeout"
                assert 14000 <= verdict["latency_ms"] < 30000
        assert checker.process.stop() == 0
    finally:
        reader.close()
        checker.process.close()


def test_checker_all_slots_hanging_costs_at_most_the_timeout(sim, topics):
    """With the default concurrency (64) all taken by hanging requests, the rest wait for a
    slot, which frees after CHECKER_TIMEOUT: everything is still answered."""
    hung = make_fleet(sim, ["terminated"] * 64)
    healthy = make_fleet(sim, ["running"] * 10)
    for _, instance, _ in hung:
        sim.add_fault(instance, "hang", hang_ms=60000)
    checker = start_checker(topics, sim, new_group(), checker_timeout="3s")
    try:
        send_requests(topics, [request(w, i) for w, i, _ in hung + healthy])
        verdicts = verdicts_by_workspace(read_verdicts(topics, len(hung) + len(healthy)))
        for workspace, _, state in hung + healthy:
            for verdict in verdicts[workspace]:
                if state == "running":
                    assert verdict["liveness"] == "RUNNING"
                else:
                    assert verdict["liveness"] == "UNKNOWN"
                    assert verdict["reason"] == "transport_timeout"
        assert checker.process.stop() == 0
    finally:
        checker.process.close()


# --- deadlines ------------------------------------------------------------------------------

def test_checker_expired_request_is_not_sent_and_is_counted(sim, topics):
    group = new_group()
    (expired_workspace, expired_instance, _), (fresh_workspace, fresh_instance, _) = \
        make_fleet(sim, ["terminated", "running"])
    checker = start_checker(topics, sim, group)
    try:
        send_requests(topics, [request(expired_workspace, expired_instance, deadline_in_s=-5),
                               request(fresh_workspace, fresh_instance)])
        verdicts = read_verdicts(topics, 1)
        harness.wait_until(lambda: checker.metric("reconciler_checker_expired_total") >= 1,
                           timeout=30, message="the expired request counted")
        assert sim.instance(expired_workspace)["status_requests"] == 0
        assert sim.instance(fresh_workspace)["status_requests"] >= 1
        everything = [decode("verdict", m.value())
                      for m in harness.consume_available(topics["verdicts"], idle=2.0)]
        assert {v["workspace_id"] for v in everything} == {fresh_workspace}
        assert verdicts[0]["liveness"] == "RUNNING"
        assert checker.process.stop() == 0
    finally:
        checker.process.close()
    # The expired request's offset is committed too: it is done, not pending.
    committed = harness.committed_offsets(group, topics["checks"], 12)
    assert sum(offset for offset in committed.values() if offset > 0) == 2


# --- poison messages ------------------------------------------------------------------------

def test_checker_poison_messages_go_to_the_dlq_and_the_checker_continues(sim, topics):
    group = new_group()
    (workspace, instance, _), = make_fleet(sim, ["stopped"])
    valid = encode("check_request", request(workspace, instance))
    verdict_bytes = encode("verdict", {
        "workspace_id": "w", "instance_id": "i", "sweep_id": "s", "sweep_size": 1,
        "liveness": "NOT_RUNNING", "cp_state": None, "http_status": None, "reason": None,
        "checked_at": 0, "latency_ms": 0, "checker_id": "c", "enqueued_at": 0})
    poison = {
        b"poison-random": (os.urandom(64), {"bad_magic", "unknown_fingerprint"}),
        b"poison-fingerprint": (verdict_bytes, {"unknown_fingerprint"}),
        b"poison-truncated": (valid[:-7], {"truncated"}),
        b"poison-short": (b"\xc3\x01\x00", {"too_short"}),
        b"poison-empty": (b"", {"too_short"}),
        b"poison-trailing": (valid + b"\x00\x01", {"trailing_bytes"}),
    }
    checker = start_checker(topics, sim, group)
    try:
        harness.produce_raw(topics["checks"], [(key, value) for key, (value, _) in poison.items()])
        harness.produce_raw(topics["checks"], [(workspace.encode(), valid)])
        verdicts = read_verdicts(topics, 1)
        assert verdicts[0]["workspace_id"] == workspace
        assert verdicts[0]["liveness"] == "NOT_RUNNING"
        records = harness.consume(topics["dlq"], len(poison))
        sources = {m.key(): m for m in harness.consume_available(topics["checks"], idle=1.0)}
        seen = set()
        for record in records:
            headers = {name: value.decode() for name, value in record.headers()}
            key = record.key()
            value, errors = poison[key]
            seen.add(key)
            assert (record.value() or b"") == value, "the DLQ keeps the original bytes"
            assert headers["reconciler.source.topic"] == topics["checks"]
            assert int(headers["reconciler.source.partition"]) == sources[key].partition()
            assert int(headers["reconciler.source.offset"]) == sources[key].offset()
            assert headers["reconciler.error"] in errors, (key, headers)
            assert headers["reconciler.program"] == "reconciler-checker"
        assert seen == set(poison)
        harness.wait_until(
            lambda: (harness.metric_value(checker.metrics(), "reconciler_checker_dlq_total")
                     or 0) >= len(poison), timeout=30, message="DLQ records counted")
        assert checker.process.alive()
        assert checker.process.stop() == 0
    finally:
        checker.process.close()
    committed = harness.committed_offsets(group, topics["checks"], 12)
    assert sum(offset for offset in committed.values() if offset > 0) == len(poison) + 1


# --- shutdown -------------------------------------------------------------------------------

def test_checker_sigterm_with_work_in_flight_exits_0_and_hands_back(sim, topics):
    group = new_group()
    fleet = make_fleet(sim, ["running"] * 60)
    for _, instance, _ in fleet:
        sim.add_fault(instance, "latency", fixed_ms=1500)
    checker = start_checker(topics, sim, group, checker_concurrency=10)
    reader = VerdictReader(topics["verdicts"])
    try:
        send_requests(topics, [request(w, i) for w, i, _ in fleet])
        harness.wait_until(lambda: checker.metric("reconciler_checker_in_flight") > 0,
                           timeout=60, message="requests in flight")
        started = time.monotonic()
        assert checker.process.stop(timeout=20) == 0
        assert time.monotonic() - started < 15
        lines = checker.process.log_lines()
        assert any(line.get("msg") == "checker stopped" for line in lines)
        answered_before = {v["workspace_id"] for v in reader.poll(2.0)}
        assert len(answered_before) < len(fleet), "the test needs unfinished work at SIGTERM"
        # A successor in the same group answers what was handed back.
        successor = start_checker(topics, sim, group, name="successor")
        try:
            harness.wait_until(
                lambda: {v["workspace_id"] for v in reader.poll()} >= {w for w, _, _ in fleet},
                timeout=120, message="every request answered after the handover")
            assert successor.process.stop() == 0
        finally:
            successor.process.close()
    finally:
        reader.close()
        checker.process.close()


# --- connection reuse and the rate limit ----------------------------------------------------

class CountingControlPlane:
    """A minimal HTTP/1.1 keep-alive CP that answers {"state":"running"} and counts the TCP
    connections it accepts: fleet-sim does not expose that number."""

    def __init__(self):
        import http.server
        import threading

        outer = self
        self.connections = 0
        self.requests = 0
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with outer.lock:
                    outer.connections += 1

            def do_GET(self):
                with outer.lock:
                    outer.requests += 1
                body = b'{"state":"running"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_checker_reuses_connections_to_the_cp(topics):
    control_plane = CountingControlPlane()
    concurrency = 4
    count = 200
    checker = start_checker(topics, control_plane, new_group(), checker_concurrency=concurrency)
    try:
        send_requests(topics, [request(str(uuid.uuid4()), "i-reuse") for _ in range(count)])
        verdicts = read_verdicts(topics, count)
        assert all(v["liveness"] == "RUNNING" for v in verdicts)
        assert control_plane.requests >= count
        # Keep-alive connections are reused: at most one per concurrent request (a little
        # slack for a connection the server closed between requests), not one per request.
        assert control_plane.connections <= 2 * concurrency, control_plane.connections
        assert checker.process.stop() == 0
    finally:
        checker.process.close()
        control_plane.close()


def test_checker_max_rps_caps_the_request_rate(sim, topics):
    fleet = make_fleet(sim, ["running"] * 60)
    checker = start_checker(topics, sim, new_group(), checker_max_rps=20)
    try:
        send_requests(topics, [request(w, i) for w, i, _ in fleet])
        verdicts = read_verdicts(topics, len(fleet))
        times = sorted(v["checked_at"] for v in verdicts)
        # 20/s with 100 ms of burst (2 tokens): 60 requests need at least (60 - 2) / 20 s.
        # A lower bound only, so a slow machine cannot make it flaky.
        assert (times[-1] - times[0]).total_seconds() >= 2.5
        assert checker.process.stop() == 0
    finally:
        checker.process.close()
