"""Integration tests of reconciler-audit against the real Kafka broker (and PostgreSQL for the
cross-check), from outside: records are hand-made with fastavro from the .avsc files, written to
fresh topics with the timestamps and keys a real pipeline would give them, and the audit is run
as an operator would run it.

Covers issue #7's list: each output format (table, jsonl, avro), each range form (beginning,
end, RFC 3339, relative, partition offsets), --workspace reading one partition, the timeline of
a workspace healed twice, --summary, --verify passing on a clean run and failing (exit 1, each
violation listed) on a forged flip of a RUNNING verdict and on a duplicate flip, the database
cross-check, undecodable records reported and skipped, and proof that a run leaves every
consumer group's committed offsets unchanged and creates no group. The jsonl of a verdict is
compared with what fastavro decodes from the very bytes on the topic.
"""

import datetime
import json
import os
import subprocess
import time
import uuid

import fastavro
import psycopg
import pytest
from confluent_kafka import Consumer, TopicPartition

import harness


MINUTE = 60 * 1000


def now_ms():
    return int(time.time() * 1000)


def rfc3339(ms):
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def run_audit(topics, *args, env=None, timeout=120):
    """Runs reconciler-audit on the test's topics; DATABASE_URL is cleared (no cross-check)
    unless `env` sets it. Returns the CompletedProcess (stdout bytes, stderr text)."""
    full_env = {**os.environ, **topics["env"], "DATABASE_URL": "", **(env or {})}
    result = subprocess.run([harness.binary("audit"), *args], env=full_env,
                            capture_output=True, timeout=timeout)
    result.stderr = result.stderr.decode("utf-8", "replace")
    return result


def log_lines(stderr):
    lines = []
    for raw in stderr.splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            lines.append({"unparsed": raw})
    return lines


def jsonl(result):
    assert result.returncode in (0, 1), result.stderr
    return [json.loads(line) for line in result.stdout.decode().splitlines() if line]


def text(result):
    return result.stdout.decode()


# --- hand-made records ---------------------------------------------------------------------

def verdict(workspace, liveness, checked_at, instance="i-1", sweep="sweep-1", sweep_size=4,
            reason=None, cp_state=None, http_status=200, latency_ms=50):
    return {
        "workspace_id": workspace, "instance_id": instance, "sweep_id": sweep,
        "sweep_size": sweep_size, "liveness": liveness,
        "cp_state": cp_state if cp_state is not None else
        {"RUNNING": "running", "NOT_RUNNING": "terminated"}.get(liveness),
        "http_status": http_status if liveness != "UNKNOWN" else None, "reason": reason,
        "checked_at": checked_at, "latency_ms": latency_ms, "checker_id": "checker-1",
        "enqueued_at": checked_at - 100,
    }


def action(verdict_topic, coordinates, record, outcome, acted_at, attempt=0, reason=None,
           dry_run=False):
    partition, offset = coordinates
    return {
        "workspace_id": record["workspace_id"], "instance_id": record["instance_id"],
        "verdict_topic": verdict_topic, "verdict_partition": partition, "verdict_offset": offset,
        "outcome": outcome, "reason": reason or f"{outcome.lower()}: by the test",
        "acted_at": acted_at, "dry_run": dry_run, "sweep_id": record["sweep_id"],
        "verdict_checked_at": record["checked_at"], "attempt": attempt,
        "actuator_id": "actuator-1",
    }


def produce_verdicts(topics, records):
    """Writes verdicts keyed by workspace (librdkafka's default partitioner picks the
    partition, as for the checkers), each with its checked_at as Kafka timestamp."""
    return harness.produce_records(topics["verdicts"], [
        {"key": r["workspace_id"].encode(), "value": harness.encode_record("verdict", r),
         "timestamp": r["checked_at"]} for r in records])


def produce_actions(topics, records):
    return harness.produce_records(topics["actions"], [
        {"key": r["workspace_id"].encode(), "value": harness.encode_record("action", r),
         "timestamp": r["acted_at"]} for r in records])


class Scenario:
    """Three sweeps over four workspaces, as a healthy pipeline would have written them:
    - W dies twice: sweep 1 flips it (restart accepted), sweep 2 sees it RUNNING on its new
      instance, sweep 3 flips it again (one retry, then accepted): healed twice;
    - X is always RUNNING; Y is UNKNOWN (timeout, then HTTP 503);
    - Z is NOT_RUNNING in sweep 1 but the mass-failure breaker holds it back."""

    def __init__(self, topics):
        self.topics = topics
        base = now_ms() - 50 * MINUTE
        self.t1, self.t2, self.t3 = base, base + 20 * MINUTE, base + 40 * MINUTE
        self.w, self.x, self.y, self.z = (str(uuid.uuid4()) for _ in range(4))
        t1, t2, t3 = self.t1, self.t2, self.t3
        self.verdicts = [
            verdict(self.w, "NOT_RUNNING", t1, sweep="sweep-1", latency_ms=10),
            verdict(self.x, "RUNNING", t1 + 1, sweep="sweep-1", latency_ms=20),
            verdict(self.y, "UNKNOWN", t1 + 2, sweep="sweep-1", reason="timeout", latency_ms=30),
            verdict(self.z, "NOT_RUNNING", t1 + 3, sweep="sweep-1", cp_state="stopped",
                    latency_ms=40),
            verdict(self.w, "RUNNING", t2, instance="i-2", sweep="sweep-2"),
            verdict(self.x, "RUNNING", t2 + 1, sweep="sweep-2"),
            verdict(self.y, "UNKNOWN", t2 + 2, sweep="sweep-2", reason="http_status"),
            verdict(self.w, "NOT_RUNNING", t3, instance="i-2", sweep="sweep-3"),
            verdict(self.x, "RUNNING", t3 + 1, sweep="sweep-3"),
        ]
        self.verdict_coordinates = produce_verdicts(topics, self.verdicts)
        v = self.verdicts
        c = self.verdict_coordinates
        vt = topics["verdicts"]
        self.actions = [
            action(vt, c[0], v[0], "FLIPPED_RESTART_REQUESTED", t1 + 1000,
                   reason="flipped: workspace set offline, restart queued"),
            action(vt, c[3], v[3], "SKIPPED_BREAKER_OPEN", t1 + 1500,
                   reason="breaker_open: sweep beyond its limit of 1"),
            action(vt, c[0], v[0], "RESTART_ACCEPTED", t1 + 2000, attempt=1),
            action(vt, c[7], v[7], "FLIPPED_RESTART_REQUESTED", t3 + 1000),
            action(vt, c[7], v[7], "RESTART_RETRIED", t3 + 2000, attempt=1,
                   reason="restart_failed: HTTP 503, retrying"),
            action(vt, c[7], v[7], "RESTART_ACCEPTED", t3 + 5000, attempt=2),
        ]
        self.action_coordinates = produce_actions(topics, self.actions)

    def env(self):
        return self.topics["env"]


@pytest.fixture
def scenario(topics):
    return Scenario(topics)


# --- formats -------------------------------------------------------------------------------

def test_audit_table_lists_every_record_with_its_result(scenario):
    result = run_audit(scenario.topics, "--quiet")
    assert result.returncode == 0, result.stderr
    lines = text(result).splitlines()
    assert lines[0].split()[:6] == ["TIME", "RECORD", "WORKSPACE", "INSTANCE", "RESULT", "DETAIL"]
    rows = lines[1:]
    assert len(rows) == len(scenario.verdicts) + len(scenario.actions)
    assert sum("FLIPPED_RESTART_REQUESTED" in row for row in rows) == 2
    assert sum(" NOT_RUNNING " in row for row in rows) == 3
    assert any("reason=timeout" in row and scenario.y in row for row in rows)
    assert any("SKIPPED_BREAKER_OPEN" in row and "breaker_open: sweep beyond" in row for row in rows)


def test_audit_jsonl_verdicts_and_actions_equal_fastavro_decoding_of_the_same_bytes(scenario):
    result = run_audit(scenario.topics, "--format", "jsonl", "--quiet")
    assert result.returncode == 0, result.stderr
    lines = jsonl(result)
    assert len(lines) == len(scenario.verdicts) + len(scenario.actions)
    raw = {}
    for kind in ("verdicts", "actions"):
        expected = len(scenario.verdicts if kind == "verdicts" else scenario.actions)
        for message in harness.consume(scenario.topics[kind], expected):
            raw[(message.topic(), message.partition(), message.offset())] = message
    for line in lines:
        message = raw[(line["topic"], line["partition"], line["offset"])]
        record_type = {"verdict": "verdict", "action": "action"}[line["type"]]
        decoded = harness.decode_record(record_type, message.value())
        assert line["value"] == harness.with_millis(decoded)
        assert line["key"] == message.key().decode()
        assert line["timestamp"] == message.timestamp()[1]
    # ...and with the values the test wrote, field by field.
    by_offset = {(line["partition"], line["offset"]): line for line in lines
                 if line["type"] == "verdict"}
    for record, coordinates in zip(scenario.verdicts, scenario.verdict_coordinates):
        assert by_offset[coordinates]["value"] == record


def test_audit_avro_container_is_read_by_fastavro_with_the_topic_values(scenario, tmp_path):
    path = tmp_path / "audit.avro"
    result = run_audit(scenario.topics, "--format", "avro", "--output", str(path), "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b""
    with open(path, "rb") as handle:
        reader = fastavro.reader(handle, return_record_name=True)
        assert reader.writer_schema["name"] == "reconciler.audit.v1.AuditRecord"
        records = list(reader)
    assert len(records) == len(scenario.verdicts) + len(scenario.actions)
    by_coordinates = {}
    for record in records:
        name, value = record["value"]
        by_coordinates[(record["topic"], record["partition"], record["offset"])] = (name, value)
    for kind, originals, coordinates, name in (
            ("verdicts", scenario.verdicts, scenario.verdict_coordinates, "reconciler.v1.Verdict"),
            ("actions", scenario.actions, scenario.action_coordinates, "reconciler.v1.Action")):
        for original, (partition, offset) in zip(originals, coordinates):
            found_name, value = by_coordinates[(scenario.topics[kind], partition, offset)]
            assert found_name == name
            assert harness.with_millis(value) == original


def test_audit_avro_to_a_pipe_streams_the_container(scenario):
    result = run_audit(scenario.topics, "--format", "avro", "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stdout[:4] == b"Obj\x01"
    import io

    records = list(fastavro.reader(io.BytesIO(result.stdout)))
    assert len(records) == len(scenario.verdicts) + len(scenario.actions)


# --- range forms ---------------------------------------------------------------------------

@pytest.fixture
def two_batches(topics):
    """Batch A (timestamps 3 h ago) and batch B (30 min ago), one verdict and one action each,
    all in partition 0."""
    now = now_ms()
    batches = {}
    for name, at in (("A", now - 180 * MINUTE), ("B", now - 30 * MINUTE)):
        records = [verdict(str(uuid.uuid4()), "RUNNING", at + i, sweep=f"sweep-{name}")
                   for i in range(3)]
        coordinates = harness.produce_records(topics["verdicts"], [
            {"key": r["workspace_id"].encode(), "value": harness.encode_record("verdict", r),
             "timestamp": r["checked_at"], "partition": 0} for r in records])
        batches[name] = {"at": at, "workspaces": {r["workspace_id"] for r in records},
                         "coordinates": coordinates}
    return topics, batches


def workspaces_of(result):
    return {line["value"]["workspace_id"] for line in jsonl(result) if line["type"] == "verdict"}


def test_audit_range_beginning_and_end_read_everything_and_end_to_end_nothing(two_batches):
    topics, batches = two_batches
    everything = batches["A"]["workspaces"] | batches["B"]["workspaces"]
    assert workspaces_of(run_audit(topics, "--format", "jsonl", "--quiet")) == everything
    assert workspaces_of(run_audit(topics, "--format", "jsonl", "--quiet", "--from", "beginning",
                                   "--to", "end")) == everything
    assert workspaces_of(run_audit(topics, "--format", "jsonl", "--quiet", "--from", "end")) == set()


def test_audit_range_rfc3339_times_split_at_the_kafka_timestamp(two_batches):
    topics, batches = two_batches
    middle = rfc3339(batches["A"]["at"] + 60 * MINUTE)
    assert workspaces_of(run_audit(topics, "--format", "jsonl", "--quiet", "--from", middle)) == \
        batches["B"]["workspaces"]
    assert workspaces_of(run_audit(topics, "--format", "jsonl", "--quiet", "--to", middle)) == \
        batches["A"]["workspaces"]
    # A zone offset names the same instant.
    moment = datetime.datetime.fromtimestamp((batches["A"]["at"] + 60 * MINUTE) / 1000,
                                             tz=datetime.timezone(datetime.timedelta(hours=2)))
    assert workspaces_of(run_audit(topics, "--format", "jsonl", "--quiet", "--from",
                                   moment.isoformat(timespec="milliseconds"))) == \
        batches["B"]["workspaces"]


def test_audit_range_relative_times_count_back_from_now(two_batches):
    topics, batches = two_batches
    assert workspaces_of(run_audit(topics, "--format", "jsonl", "--quiet", "--from", "-1h")) == \
        batches["B"]["workspaces"]
    assert workspaces_of(run_audit(topics, "--format", "jsonl", "--quiet", "--from", "-4h",
                                   "--to", "-1h")) == batches["A"]["workspaces"]


def test_audit_range_partition_offsets_read_exactly_those_offsets(two_batches):
    topics, batches = two_batches
    # Partition 0 holds A at offsets 0..2 and B at 3..5; read [2, 4): A's last, B's first.
    result = run_audit(topics, "--format", "jsonl", "--quiet", "--from", "verdicts:0:2",
                       "--to", "verdicts:0:4")
    offsets = [(line["partition"], line["offset"]) for line in jsonl(result)]
    assert offsets == [(0, 2), (0, 3)]
    # Unqualified entries apply to both topics (actions partition 0 is empty here).
    result = run_audit(topics, "--format", "jsonl", "--quiet", "--from", "0:5")
    assert [(line["partition"], line["offset"]) for line in jsonl(result)] == [(0, 5)]
    # A partition the topic does not have is a usage error.
    result = run_audit(topics, "--quiet", "--from", "verdicts:12:0")
    assert result.returncode == 2
    assert "no_such_partition" in result.stderr


def test_audit_range_rejects_a_malformed_bound_with_a_one_line_error(topics):
    result = run_audit(topics, "--from", "2026-11-27T03:12:00")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "AUDIT_FROM" in result.stderr and "needs a zone" in result.stderr


# --- --workspace ---------------------------------------------------------------------------

def test_audit_workspace_reads_only_the_partition_its_key_hashes_to(scenario):
    topics = scenario.topics
    w_partition = scenario.verdict_coordinates[0][0]
    elsewhere = (w_partition + 1) % 12
    # A record keyed by W in a partition the default partitioner would never pick for W: a
    # single-partition read cannot see it, a full scan does.
    (stray,) = harness.produce_records(topics["verdicts"], [
        {"key": scenario.w.encode(), "value": b"not avro at all", "partition": elsewhere}])

    result = run_audit(topics, "--workspace", scenario.w, "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    lines = jsonl(result)
    assert {line["value"]["workspace_id"] for line in lines} == {scenario.w}
    assert len(lines) == 3 + 5  # W's verdicts and actions, nothing undecodable
    reading = next(line for line in log_lines(result.stderr) if line.get("msg") == "reading")
    assert reading["partitions"] == 2  # one per topic

    result = run_audit(topics, "--workspace", scenario.w, "--full-scan", "--format", "jsonl",
                       "--quiet")
    lines = jsonl(result)
    undecodable = [line for line in lines if line["type"] == "undecodable"]
    assert [(line["topic"], line["partition"], line["offset"], line["key"], line["error"])
            for line in undecodable] == [(topics["verdicts"], *stray, scenario.w, "bad_magic")]
    assert len(lines) == 3 + 5 + 1


def test_audit_workspace_with_the_java_partitioner(topics):
    workspace = str(uuid.uuid4())
    record = verdict(workspace, "RUNNING", now_ms() - MINUTE)
    harness.produce_records(topics["verdicts"], [
        {"key": workspace.encode(), "value": harness.encode_record("verdict", record)}],
        config={"partitioner": "murmur2_random"})
    result = run_audit(topics, "--workspace", workspace, "--partitioner", "murmur2",
                       "--format", "jsonl", "--quiet")
    assert [line["value"] for line in jsonl(result)] == [record]


# --- reports -------------------------------------------------------------------------------

def test_audit_timeline_of_a_workspace_healed_twice(scenario):
    result = run_audit(scenario.topics, "--workspace", scenario.w, "--timeline", "--quiet")
    assert result.returncode == 0, result.stderr
    lines = text(result).splitlines()
    assert lines[0].startswith(f"workspace {scenario.w}  (3 verdicts, 5 actions)")
    events = [line.split() for line in lines[1:]]
    assert [(event[1], event[4]) for event in events] == [
        ("verdicts", "NOT_RUNNING"),
        ("actions", "FLIPPED_RESTART_REQUESTED"),
        ("actions", "RESTART_ACCEPTED"),
        ("verdicts", "RUNNING"),
        ("verdicts", "NOT_RUNNING"),
        ("actions", "FLIPPED_RESTART_REQUESTED"),
        ("actions", "RESTART_RETRIED"),
        ("actions", "RESTART_ACCEPTED"),
    ]
    assert [event[0] for event in events] == sorted(event[0] for event in events)
    assert "reason=flipped: workspace set offline, restart queued" in lines[2]
    assert "reason=restart_failed: HTTP 503, retrying" in lines[7]
    assert "cp_state=terminated" in lines[1]

    # jsonl: the same story, one record per line, each with the time it happened.
    result = run_audit(scenario.topics, "--workspace", scenario.w, "--timeline", "--format",
                       "jsonl", "--quiet")
    story = jsonl(result)
    assert [line["report"] for line in story] == ["timeline"] * 8
    assert [line["at"] for line in story] == sorted(line["at"] for line in story)
    assert story[5]["value"]["outcome"] == "FLIPPED_RESTART_REQUESTED"
    assert story[5]["value"]["verdict_offset"] == scenario.verdict_coordinates[7][1]


def test_audit_timeline_orders_workspaces_by_their_first_event(scenario):
    result = run_audit(scenario.topics, "--timeline", "--quiet")
    headers = [line.split()[1] for line in text(result).splitlines()
               if line.startswith("workspace ")]
    assert headers == [scenario.w, scenario.x, scenario.y, scenario.z]


def test_audit_summary_reports_each_sweep(scenario):
    result = run_audit(scenario.topics, "--summary", "--format", "jsonl", "--quiet")
    assert result.returncode == 0, result.stderr
    lines = jsonl(result)
    sweeps = {line["sweep_id"]: line for line in lines if line["report"] == "summary"}
    assert list(sweeps) == ["sweep-1", "sweep-2", "sweep-3"]
    first = sweeps["sweep-1"]
    assert (first["verdicts"], first["running"], first["not_running"], first["unknown"]) == (4, 1, 2, 1)
    assert first["unknown_by_reason"] == {"timeout": 1}
    assert first["flips"] == 1 and first["restarts_accepted"] == 1
    assert first["breaker_tripped"] is True
    assert first["outcomes"]["SKIPPED_BREAKER_OPEN"] == 1
    assert first["latency_ms"] == {"p50": 20, "p90": 40, "p99": 40, "max": 40}
    assert sweeps["sweep-2"]["unknown_by_reason"] == {"http_status": 1}
    assert sweeps["sweep-2"]["flips"] == 0 and sweeps["sweep-2"]["breaker_tripped"] is False
    third = sweeps["sweep-3"]
    assert (third["flips"], third["restarts_retried"], third["restarts_accepted"]) == (1, 1, 1)
    total = next(line for line in lines if line["report"] == "summary_total")
    assert (total["verdicts"], total["workspaces"], total["flips"]) == (9, 4, 2)

    table = text(run_audit(scenario.topics, "--summary", "--quiet"))
    assert "sweep sweep-1" in table
    assert "UNKNOWN       1  (timeout 1)" in table
    assert "breaker       TRIPPED" in table
    assert "latency       p50 20ms, p90 40ms, p99 40ms, max 40ms" in table


# --- --verify ------------------------------------------------------------------------------

def test_audit_verify_passes_on_a_clean_run(scenario):
    result = run_audit(scenario.topics, "--verify", "--quiet")
    assert result.returncode == 0, text(result) + result.stderr
    assert text(result).startswith("verify: PASSED: 0 violations, 0 unverifiable, 0 pending")
    assert "(6 actions, 2 flips checked)" in text(result)


def forge_flip_on_running_verdict(scenario):
    """A flip of X's sweep-3 verdict, which says RUNNING."""
    index = 8
    record = scenario.verdicts[index]
    forged = action(scenario.topics["verdicts"], scenario.verdict_coordinates[index], record,
                    "FLIPPED_RESTART_REQUESTED", record["checked_at"] + 1000)
    return produce_actions(scenario.topics, [forged])[0], scenario.verdict_coordinates[index]


def duplicate_flip(scenario):
    """A second, distinct flip of W's sweep-3 verdict (another acted_at: a second decision)."""
    index = 7
    record = scenario.verdicts[index]
    again = action(scenario.topics["verdicts"], scenario.verdict_coordinates[index], record,
                   "FLIPPED_RESTART_REQUESTED", scenario.t3 + 1500)
    return produce_actions(scenario.topics, [again])[0], scenario.verdict_coordinates[index]


def test_audit_verify_fails_on_a_forged_flip_of_a_running_verdict(scenario):
    (partition, offset), (verdict_partition, verdict_offset) = forge_flip_on_running_verdict(scenario)
    result = run_audit(scenario.topics, "--verify", "--quiet")
    assert result.returncode == 1, result.stderr
    violations = [line for line in text(result).splitlines() if line.startswith("VIOLATION")]
    assert len(violations) == 1
    assert "action_on_running_verdict" in violations[0]
    assert f"actions {partition}:{offset} -> verdicts {verdict_partition}:{verdict_offset}" in violations[0]
    assert f"workspace={scenario.x}" in violations[0]
    assert "FLIPPED_RESTART_REQUESTED on a RUNNING verdict" in violations[0]


def test_audit_verify_fails_on_a_duplicate_flip(scenario):
    (partition, offset), (verdict_partition, verdict_offset) = duplicate_flip(scenario)
    result = run_audit(scenario.topics, "--verify", "--format", "jsonl", "--quiet")
    assert result.returncode == 1, result.stderr
    lines = jsonl(result)
    violations = [line for line in lines
                  if line["report"] == "finding" and line["severity"] == "violation"]
    assert [(v["check"], v["action"], v["verdict"]["partition"], v["verdict"]["offset"])
            for v in violations] == [("verdict_flipped_twice",
                                      {"partition": partition, "offset": offset},
                                      verdict_partition, verdict_offset)]
    assert lines[-1]["report"] == "verify" and lines[-1]["passed"] is False
    assert lines[-1]["violations"] == 1


def test_audit_verify_lists_each_violation_when_there_are_several(scenario):
    forge_flip_on_running_verdict(scenario)
    duplicate_flip(scenario)
    result = run_audit(scenario.topics, "--verify", "--quiet")
    assert result.returncode == 1
    checks = sorted(line.split()[1] for line in text(result).splitlines()
                    if line.startswith("VIOLATION"))
    assert checks == ["action_on_running_verdict", "verdict_flipped_twice"]
    assert "verify: FAILED: 2 violations" in text(result)


def test_audit_verify_counts_a_republished_action_once(scenario):
    # The actuator's outbox may send an Action again after a crash, unchanged: one act.
    produce_actions(scenario.topics, [scenario.actions[3]])
    result = run_audit(scenario.topics, "--verify", "--quiet")
    assert result.returncode == 0, text(result)
    assert "1 note" in text(result)
    assert any(line.startswith("NOTE") and "action_republished" in line
               for line in text(result).splitlines())


def test_audit_verify_reports_a_flip_whose_verdict_is_outside_the_range(scenario):
    # Every action, but W's verdicts only after its first one: sweep 1's flip is unverifiable
    # (reported, not a violation), unless --strict.
    w_partition, w_offset = scenario.verdict_coordinates[0]
    result = run_audit(scenario.topics, "--verify", "--quiet",
                       "--from", f"verdicts:{w_partition}:{w_offset + 1}")
    assert result.returncode == 0, text(result)
    assert "0 violations, 1 unverifiable" in text(result)
    assert any(line.startswith("UNVERIFIABLE") and "verdict_outside_range" in line
               for line in text(result).splitlines())
    result = run_audit(scenario.topics, "--verify", "--strict", "--quiet",
                       "--from", f"verdicts:{w_partition}:{w_offset + 1}")
    assert result.returncode == 1


def test_audit_verify_flip_without_restart_is_pending_then_a_violation(topics):
    workspace = str(uuid.uuid4())
    checked = now_ms() - 2 * 60 * MINUTE
    record = verdict(workspace, "NOT_RUNNING", checked)
    coordinates = produce_verdicts(topics, [record])[0]
    produce_actions(topics, [action(topics["verdicts"], coordinates, record,
                                    "FLIPPED_RESTART_REQUESTED", checked + 1000)])
    result = run_audit(topics, "--verify", "--quiet")
    assert result.returncode == 1
    assert "flip_without_restart" in text(result)
    result = run_audit(topics, "--verify", "--quiet", "--restart-grace", "3h")
    assert result.returncode == 0
    assert "1 pending" in text(result)


# --- the database cross-check --------------------------------------------------------------

def insert_actuator_rows(url, scenario, flips):
    """The actuator's rows for the given flips (indexes into scenario.actions)."""
    with psycopg.connect(url) as connection:
        for index in flips:
            a = scenario.actions[index]
            acted = datetime.datetime.fromtimestamp(a["acted_at"] / 1000, tz=datetime.timezone.utc)
            checked = datetime.datetime.fromtimestamp(a["verdict_checked_at"] / 1000,
                                                      tz=datetime.timezone.utc)
            connection.execute(
                "INSERT INTO reconciler_actuator_actions (consumer_group, workspace_id, "
                "instance_id, verdict_topic, verdict_partition, verdict_offset, outcome, reason, "
                "acted_at, dry_run, sweep_id, verdict_checked_at, attempt, actuator_id, "
                "published_at) VALUES ('reconciler-actuator', %s, %s, %s, %s, %s, %s, %s, %s, "
                "false, %s, %s, 0, 'actuator-1', %s)",
                (a["workspace_id"], a["instance_id"], a["verdict_topic"], a["verdict_partition"],
                 a["verdict_offset"], a["outcome"], a["reason"], acted, a["sweep_id"], checked,
                 acted + datetime.timedelta(milliseconds=50)))
            connection.execute(
                "INSERT INTO reconciler_actuator_restarts (consumer_group, workspace_id, "
                "instance_id, verdict_topic, verdict_partition, verdict_offset, sweep_id, "
                "verdict_checked_at, state, attempts) VALUES ('reconciler-actuator', %s, %s, %s, "
                "%s, %s, %s, %s, 'accepted', 1)",
                (a["workspace_id"], a["instance_id"], a["verdict_topic"], a["verdict_partition"],
                 a["verdict_offset"], a["sweep_id"], checked))


def test_audit_verify_cross_checks_the_actuator_tables(scenario):
    flips = [index for index, a in enumerate(scenario.actions)
             if a["outcome"] == "FLIPPED_RESTART_REQUESTED"]
    with harness.fresh_database() as url:
        insert_actuator_rows(url, scenario, flips)
        result = run_audit(scenario.topics, "--verify", "--quiet", "--database-url", url)
        assert result.returncode == 0, text(result) + result.stderr
        assert "verify: PASSED" in text(result)

        # A flip the database records as published that is not on the topic.
        ghost = dict(scenario.actions[3], workspace_id=str(uuid.uuid4()),
                     verdict_offset=scenario.actions[3]["verdict_offset"] + 1000)
        scenario.actions.append(ghost)
        insert_actuator_rows(url, scenario, [len(scenario.actions) - 1])
        # The variable counts as much as the flag.
        result = run_audit(scenario.topics, "--verify", "--quiet", "--format", "jsonl",
                           env={"DATABASE_URL": url})
        assert result.returncode == 1, result.stderr
        violations = [line for line in jsonl(result)
                      if line["report"] == "finding" and line["severity"] == "violation"]
        assert [(v["check"], v["workspace_id"], v["verdict"]["partition"], v["verdict"]["offset"],
                 v["action"]) for v in violations] == [
            ("database_flip_not_on_topic", ghost["workspace_id"], ghost["verdict_partition"],
             ghost["verdict_offset"], None)]

        # The database forgets sweep 1's flip: the topic's flip is unknown to it.
        with psycopg.connect(url) as connection:
            connection.execute("DELETE FROM reconciler_actuator_actions WHERE workspace_id = %s",
                               (ghost["workspace_id"],))
            connection.execute("DELETE FROM reconciler_actuator_actions WHERE verdict_partition = "
                               "%s AND verdict_offset = %s",
                               (scenario.actions[0]["verdict_partition"],
                                scenario.actions[0]["verdict_offset"]))
        result = run_audit(scenario.topics, "--verify", "--quiet", env={"DATABASE_URL": url})
        assert result.returncode == 1
        violations = [line for line in text(result).splitlines() if line.startswith("VIOLATION")]
        assert len(violations) == 1 and "topic_flip_not_in_database" in violations[0]
        assert f"workspace={scenario.w}" in violations[0]


def test_audit_cross_check_failure_is_named_when_the_database_is_unreachable(scenario):
    url = harness.url_with_port(harness.database_url(), harness.free_port())
    result = run_audit(scenario.topics, "--verify", "--quiet", "--database-url", url)
    assert result.returncode == 3
    error = [line for line in log_lines(result.stderr) if line.get("level") == "error"][-1]
    assert error["error"] == "database_connect"
    from urllib.parse import urlsplit

    password = urlsplit(url).password
    if password:
        assert password not in result.stderr


# --- read-only ------------------------------------------------------------------------------

def test_audit_leaves_every_committed_offset_unchanged_and_creates_no_group(scenario):
    topics = scenario.topics
    group = "audit-test-group-" + uuid.uuid4().hex[:8]
    committer = Consumer({"bootstrap.servers": harness.bootstrap_servers(), "group.id": group,
                          "enable.auto.commit": False})
    committer.commit(offsets=[TopicPartition(topics[kind], partition, 1)
                              for kind in ("verdicts", "actions") for partition in range(12)],
                     asynchronous=False)
    committer.close()

    def committed():
        return {kind: harness.committed_offsets(group, topics[kind], 12)
                for kind in ("verdicts", "actions")}

    before = committed()
    assert set(before["verdicts"].values()) == {1}
    groups_before = harness.consumer_group_ids()
    assert group in groups_before

    throwaway_groups = []
    for args in ([], ["--format", "jsonl"], ["--verify"], ["--timeline", "--summary"],
                 ["--workspace", scenario.w], ["--from", "-1h", "--to", "end"]):
        result = run_audit(topics, *args)
        assert result.returncode == 0, result.stderr
        reading = next(line for line in log_lines(result.stderr) if line.get("msg") == "reading")
        throwaway_groups.append(reading["throwaway_group_id"])

    assert committed() == before
    groups_after = harness.consumer_group_ids()
    new_groups = groups_after - groups_before
    assert not [g for g in new_groups if g.startswith("reconciler-audit")], new_groups
    for throwaway in throwaway_groups:
        assert throwaway not in groups_after
        offsets = harness.committed_offsets(throwaway, topics["verdicts"], 12)
        assert all(offset < 0 for offset in offsets.values()), offsets


def test_audit_never_creates_a_missing_topic_and_names_the_failure(topics):
    missing = "test.audit-missing." + uuid.uuid4().hex[:8]
    result = run_audit(topics, "--reconciler-topic-verdicts", missing)
    assert result.returncode == 3
    error = [line for line in log_lines(result.stderr) if line.get("level") == "error"][-1]
    assert error["error"] == "topic_missing"
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": harness.bootstrap_servers()})
    assert missing not in admin.list_topics(timeout=30).topics


# --- undecodable records, progress, interface ------------------------------------------------

def test_audit_undecodable_records_are_reported_and_skipped(scenario):
    topics = scenario.topics
    # Our magic, but a fingerprint of no schema of ours.
    bad = harness.produce_records(topics["verdicts"], [
        {"key": b"junk", "value": b"\xc3\x01" + bytes(8) + b"garbage"}])
    bad += harness.produce_records(topics["actions"], [
        {"key": b"check", "value": harness.encode_record("check_request", {
            "workspace_id": "w", "instance_id": "i", "sweep_id": "s", "sweep_size": 1,
            "enqueued_at": 1, "deadline": 2, "producer_id": "p"})},
        {"key": b"tombstone", "value": None}])
    result = run_audit(topics, "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    lines = jsonl(result)
    undecodable = [line for line in lines if line["type"] == "undecodable"]
    assert sorted((line["topic"] == topics["verdicts"], line["partition"], line["offset"],
                   line["error"]) for line in undecodable) == sorted([
        (True, bad[0][0], bad[0][1], "unknown_fingerprint"),
        (False, bad[1][0], bad[1][1], "unknown_fingerprint"),
        (False, bad[2][0], bad[2][1], "too_short")])
    assert len(lines) - len(undecodable) == len(scenario.verdicts) + len(scenario.actions)
    warnings = [line for line in log_lines(result.stderr)
                if line.get("msg") == "undecodable record skipped"]
    assert sorted((w["partition"], w["offset"], w["error"]) for w in warnings) == sorted(
        (line["partition"], line["offset"], line["error"]) for line in undecodable)

    # The reports skip them too, and list them at the end.
    result = run_audit(topics, "--verify", "--quiet")
    assert result.returncode == 0, text(result)
    assert "undecodable: 3 records skipped" in text(result)


def test_audit_progress_goes_to_stderr_and_quiet_silences_it(scenario):
    result = run_audit(scenario.topics, "--format", "jsonl")
    logs = log_lines(result.stderr)
    progress = [line for line in logs if line.get("msg") == "progress"]
    assert progress, result.stderr
    assert {"records_read", "offsets_remaining", "position", "records_per_second"} <= set(progress[-1])
    assert progress[-1]["records_read"] == len(scenario.verdicts) + len(scenario.actions)
    assert all(line.get("program") == "reconciler-audit" for line in logs)
    assert not any(line.startswith(b"{\"ts\"") for line in result.stdout.splitlines())

    quiet = run_audit(scenario.topics, "--format", "jsonl", "--quiet")
    assert quiet.stderr == ""
    # The same records (partitions are read side by side, so their lines may interleave
    # differently from run to run).
    assert sorted(quiet.stdout.splitlines()) == sorted(result.stdout.splitlines())


def test_audit_interface_help_version_check_config(topics):
    result = run_audit(topics, "--help")
    assert result.returncode == 0
    assert b"--verify" in result.stdout and b"Examples:" in result.stdout
    result = run_audit(topics, "--version")
    assert result.returncode == 0 and result.stdout.startswith(b"reconciler-audit ")
    result = run_audit(topics, "--check-config", env={"DATABASE_URL": "postgresql://u:pw@h/d"})
    assert result.returncode == 0
    assert b"DATABASE_URL=<masked>" in result.stdout and b"pw@" not in result.stdout
    result = run_audit(topics, "--check-config", "--format", "avro", "--verify")
    assert result.returncode == 2
    result = run_audit(topics, "--kafka-prop", "enable.auto.commit=true")
    assert result.returncode == 2 and "never joins or commits" in result.stderr
