"""Issue 13, item 1 (order): a NOT_RUNNING verdict acts only if no newer observation of the
instance contradicts it. The actuator asks the CP again right before the compare-and-swap
(ACTUATOR_CP_CONFIRM, docs/actuator.md "CP confirmation").

- reordered: for a workspace whose instance fleet-sim reports running, a RUNNING verdict
  checked at t2 and then a NOT_RUNNING verdict checked at t1 < t2 (both fresh) arrive in that
  order. The row stays online, no restart reaches fleet-sim, and an Action SKIPPED_STALE with
  the reason cp_confirmation_running is published. The RUNNING verdict costs no database
  write and no CP call.
- control: a truly terminated instance's NOT_RUNNING verdict still flips and is restarted
  (the confirmation says not running).

The verdicts are written straight to the verdicts topic with fastavro's schemaless_writer
behind the single-object header C3 01 + the CRC-64-AVRO fingerprint of the schema's Parsing
Canonical Form, computed here by a small implementation of the Avro specification's
algorithm and checked against fastavro's: nothing of our C codec is involved in writing.
"""

import io
import time
import uuid

import fastavro
import psycopg
import pytest

import harness


# --- an encoder independent of ours ------------------------------------------------------------

CRC64_AVRO_EMPTY = 0xC15D213AA4D7A795  # the Avro specification's EMPTY


def _crc64_avro_table():
    table = []
    for byte in range(256):
        fingerprint = byte
        for _ in range(8):
            fingerprint = (fingerprint >> 1) ^ (CRC64_AVRO_EMPTY & -(fingerprint & 1))
        table.append(fingerprint)
    return table


_TABLE = _crc64_avro_table()


def crc64_avro(data):
    """The Rabin fingerprint of the Avro specification ("Schema Fingerprints")."""
    fingerprint = CRC64_AVRO_EMPTY
    for byte in data:
        fingerprint = (fingerprint >> 8) ^ _TABLE[(fingerprint ^ byte) & 0xFF]
    return fingerprint


def single_object(record_type, record):
    schema = harness.schema(record_type)
    canonical = fastavro.schema.to_parsing_canonical_form(schema)
    header = crc64_avro(canonical.encode()).to_bytes(8, "little")
    assert header == bytes.fromhex(fastavro.schema.fingerprint(canonical, "CRC-64-AVRO"))
    buffer = io.BytesIO()
    buffer.write(b"\xc3\x01" + header)
    fastavro.schemaless_writer(buffer, schema, record)
    return buffer.getvalue()


def verdict(workspace_id, instance_id, liveness, checked_at, sweep_id):
    return {
        "workspace_id": workspace_id,
        "instance_id": instance_id,
        "sweep_id": sweep_id,
        "sweep_size": 10,
        "liveness": liveness,
        "cp_state": "terminated" if liveness == "NOT_RUNNING" else "running",
        "http_status": 200,
        "reason": "state_not_running" if liveness == "NOT_RUNNING" else "state_running",
        "checked_at": checked_at,
        "latency_ms": 4,
        "checker_id": "order-test",
        "enqueued_at": checked_at - 20,
    }


def write_verdicts(topic, verdicts):
    """In this order, to one partition (keyed by workspace, as the checkers write them)."""
    harness.produce_records(topic, [
        {"key": v["workspace_id"].encode(), "value": single_object("verdict", v), "partition": 0}
        for v in verdicts])


# --- fixtures and helpers ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def database():
    with harness.fresh_database() as url:
        yield url


@pytest.fixture(scope="module")
def sim(database):
    sim = harness.start_fleet_sim(database, FLEETSIM_REPROVISION_DELAY="300ms")
    yield sim
    sim.process.close()


def new_workspace(database, sim, state):
    instance = "i-" + uuid.uuid4().hex[:17]
    [workspace] = harness.insert_workspaces(database, [{"status": "online",
                                                        "instance_id": instance}])
    sim.admin("POST", "/instances", {"instances": [
        {"workspace_id": workspace, "instance_id": instance, "state": state}]})
    return workspace, instance


def start_actuator(database, sim, topics, name):
    port = harness.free_port()
    env = {**topics["env"], "DATABASE_URL": database, "METRICS_ADDR": f"127.0.0.1:{port}",
           "RESTART_URL": sim.url + "/workspaces/{id}/restart", "CP_URL": sim.url,
           "ACTUATOR_GROUP_ID": "order-" + uuid.uuid4().hex[:8], "ACTUATOR_ID": name,
           "ACTUATOR_MAX_RESTARTS_PER_MIN": "60000", "ACTUATOR_RESTART_BACKOFF_BASE": "100ms",
           "ACTUATOR_RESTART_BACKOFF_MAX": "400ms", "LOG_LEVEL": "debug",
           "RECONCILER_KAFKA_SESSION_TIMEOUT_MS": "6000",
           "RECONCILER_KAFKA_HEARTBEAT_INTERVAL_MS": "1000"}
    process = harness.Process("actuator", env, name=name)
    harness.wait_until(lambda: not process.alive()
                       or harness.http_get(f"http://127.0.0.1:{port}/healthz", 1.0)[0] == 200,
                       timeout=30, message="actuator /healthz")
    assert process.alive(), process.log_text()[-3000:]
    return process, port


def action_rows(database, workspace):
    with psycopg.connect(database) as connection:
        return connection.execute(
            "SELECT outcome, reason FROM reconciler_actuator_actions WHERE workspace_id = %s "
            "ORDER BY id", (workspace,)).fetchall()


def decisions(database, workspace):
    with psycopg.connect(database) as connection:
        return connection.execute("SELECT count(*) FROM reconciler_actuator_decisions "
                                  "WHERE workspace_id = %s", (workspace,)).fetchone()[0]


def row_status(database, workspace):
    with psycopg.connect(database) as connection:
        return connection.execute("SELECT status::text, instance_id FROM workspaces WHERE id = %s",
                                  (workspace,)).fetchone()


def published_actions(topic, count):
    return [harness.decode_record("action", m.value()) for m in harness.consume(topic, count)]


def metric(port, name, labels):
    status, text = harness.http_get(f"http://127.0.0.1:{port}/metrics", 5.0)
    assert status == 200
    return harness.metric_value(text, name, labels) or 0.0


# --- the tests --------------------------------------------------------------------------------

def test_not_running_overtaken_by_a_newer_running_observation_is_not_acted_on(
        database, sim, topics):
    workspace, instance = new_workspace(database, sim, "running")
    now = int(time.time() * 1000)
    sweep = str(uuid.uuid4())
    # t1 < t2, both well within the 5 minute freshness limit; the newer one arrives first.
    write_verdicts(topics["verdicts"], [
        verdict(workspace, instance, "RUNNING", checked_at=now - 1000, sweep_id=sweep),
        verdict(workspace, instance, "NOT_RUNNING", checked_at=now - 3000, sweep_id=sweep)])
    process, port = start_actuator(database, sim, topics, "order-reordered")
    try:
        found = harness.wait_until(lambda: action_rows(database, workspace), timeout=30,
                                   message="the NOT_RUNNING verdict decided")
        assert len(found) == 1, found
        outcome, reason = found[0]
        assert outcome == "SKIPPED_STALE", found
        assert reason.startswith("cp_confirmation_running"), reason
        # The row untouched, no restart asked of the workspace server.
        assert row_status(database, workspace) == ("online", instance)
        record = sim.instance(workspace)
        assert record["restarts_received"] == 0, record
        assert record["state"] == "running" and record["instance_id"] == instance
        # The Action is published with the reason.
        [action] = published_actions(topics["actions"], 1)
        assert action["workspace_id"] == workspace and action["outcome"] == "SKIPPED_STALE"
        assert action["reason"].startswith("cp_confirmation_running"), action
        # RUNNING cost nothing: one decision (the NOT_RUNNING's), one CP call (its confirmation).
        assert decisions(database, workspace) == 1
        assert record["status_requests"] == 1, record
        assert metric(port, "reconciler_actuator_cp_confirmations_total",
                      {"result": "running"}) == 1
        assert metric(port, "reconciler_actuator_cp_confirmations_total",
                      {"result": "not_running"}) == 0
    finally:
        assert process.stop() == 0, process.log_text()[-3000:]
        process.close()


def test_not_running_confirmed_by_the_cp_still_flips_and_restarts(database, sim, topics):
    workspace, instance = new_workspace(database, sim, "terminated")
    now = int(time.time() * 1000)
    write_verdicts(topics["verdicts"], [
        verdict(workspace, instance, "NOT_RUNNING", checked_at=now - 2000,
                sweep_id=str(uuid.uuid4()))])
    process, port = start_actuator(database, sim, topics, "order-control")
    try:
        found = harness.wait_until(lambda: action_rows(database, workspace), timeout=30,
                                   message="the NOT_RUNNING verdict decided")
        assert found[0][0] == "FLIPPED_RESTART_REQUESTED", found
        harness.wait_until(lambda: sim.instance(workspace)["restarts_received"] >= 1,
                           timeout=30, message="restart reached fleet-sim")
        # fleet-sim reprovisions: the row comes back online on a new instance.
        harness.wait_until(lambda: (r := row_status(database, workspace))[0] == "online"
                           and r[1] != instance, timeout=30, message="row healed")
        assert metric(port, "reconciler_actuator_cp_confirmations_total",
                      {"result": "not_running"}) == 1
    finally:
        assert process.stop() == 0, process.log_text()[-3000:]
        process.close()
