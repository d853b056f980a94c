"""A rolling upgrade across a schema change, against the real broker (docs/schemas.md,
"Upgrade order").

Version 2 of Verdict and CheckRequest (tests/schemas/v2: one optional field more each) is
rolled out the way docs/schemas.md says, while the pipeline heals terminated instances:

1. everything at version 1;
2. the readers of verdicts learn version 2 first (the actuator restarts with SCHEMA_DIR); a
   new checker that knows version 2 and writes Verdict v2 joins the old checker, which knows
   only version 1 and writes Verdict v1: both kinds of verdict reach the one actuator;
3. the old checker restarts knowing version 2 (still writing Verdict v1), then the producer
   writes CheckRequest v2, read by both checkers.

Proved: 0 DLQ records; both versions of both records are on the topics; every NOT_RUNNING
verdict was acted on (an Action names its offset) and every terminated instance was flipped;
reconciler-audit with SCHEMA_DIR reads every record of both versions (--format jsonl), while
one that has not learned version 2 reports exactly the v2 verdicts as undecodable — which is
why writers switch (SCHEMA_WRITE_VERSIONS) only after the readers learned; a writer refuses a
version it does not know; and --check-config shows which version each record is written with
and why (learning version 2 alone never makes a process write it).
"""

import json
import os
import pathlib
import subprocess
import time

import fastavro
import pytest

import harness

PIPELINE = ("producer", "checker", "actuator", "fleet-sim", "audit")
missing = [program for program in PIPELINE if not os.access(harness.binary(program), os.X_OK)]
pytestmark = pytest.mark.skipif(bool(missing), reason=f"programs not built: {', '.join(missing)}")

SOURCE_DIR = pathlib.Path(os.environ.get("RECONCILER_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
V2_DIR = SOURCE_DIR / "tests" / "schemas" / "v2"
KNOWS_V2 = {"SCHEMA_DIR": str(V2_DIR)}
WORKSPACES = 30
DEATHS_PER_PHASE = 2


def fingerprint(path):
    schema = fastavro.parse_schema(json.loads(pathlib.Path(path).read_text()))
    canonical = fastavro.schema.to_parsing_canonical_form(schema)
    return bytes.fromhex(fastavro.schema.fingerprint(canonical, "CRC-64-AVRO"))


FINGERPRINTS = {
    "verdict": {fingerprint(SOURCE_DIR / "schemas/history/Verdict/v1.avsc"): 1,
                fingerprint(V2_DIR / "Verdict/v2.avsc"): 2},
    "check_request": {fingerprint(SOURCE_DIR / "schemas/history/CheckRequest/v1.avsc"): 1,
                      fingerprint(V2_DIR / "CheckRequest/v2.avsc"): 2},
}


def versions_on(topic, record_type):
    """{version: count} of the records on `topic`, from their single-object headers."""
    counts = {}
    for message in harness.consume_available(topic, idle=2.0):
        value = message.value()
        assert value[:2] == b"\xc3\x01"
        version = FINGERPRINTS[record_type][value[2:10]]  # KeyError: a fingerprint of neither
        counts[version] = counts.get(version, 0) + 1
    return counts


def audit_lines(topics, env=None):
    result = subprocess.run([harness.binary("audit"), "--quiet", "--format", "jsonl"],
                            env={**os.environ, **topics["env"], "DATABASE_URL": "", **(env or {})},
                            capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def flips(topics):
    return sum(1 for line in audit_lines(topics, KNOWS_V2)
               if line["type"] == "action"
               and line["value"]["outcome"] == "FLIPPED_RESTART_REQUESTED")


def heal(sim, topics, pipeline, expected_flips):
    """Terminates DEATHS_PER_PHASE instances; waits until the flips reach expected_flips."""
    sim.terminate(DEATHS_PER_PHASE)

    def healed():
        for name, process in pipeline.current.items():
            assert process.alive(), f"{name} died:\n" + pipeline.logs_tail()
        return flips(topics) >= expected_flips

    harness.wait_until(healed, timeout=120, interval=1.0,
                       message=f"{expected_flips} flips during the upgrade")


def restart(pipeline, name, env):
    code, _ = pipeline.stop(name)
    assert code == 0, pipeline.current[name].log_text()[-2000:]
    pipeline.start(name, env=env)


def test_a_writer_refuses_a_version_it_does_not_know():
    result = subprocess.run([harness.binary("producer")], capture_output=True, timeout=60,
                            env={**os.environ, "SCHEMA_WRITE_VERSIONS": "CheckRequest=2",
                                 "METRICS_ADDR": f"127.0.0.1:{harness.free_port()}"})
    assert result.returncode != 0
    assert b"SCHEMA_WRITE_VERSIONS names a version this process cannot write" in result.stderr


def test_check_config_shows_the_write_versions_and_why():
    def check_config(env):
        return subprocess.run([harness.binary("checker"), "--check-config"], capture_output=True,
                              timeout=60, text=True,
                              env={**os.environ, "CP_URL": "https://cp.internal", **env})

    # Learning version 2 (SCHEMA_DIR) never makes a process write it: only the setting does.
    learned = check_config(KNOWS_V2)
    assert learned.returncode == 0, learned.stderr
    assert "schema-write:Verdict=1 (default-first-version)" in learned.stdout.splitlines()
    switched = check_config({**KNOWS_V2, "SCHEMA_WRITE_VERSIONS": "Verdict=2"})
    assert switched.returncode == 0, switched.stderr
    assert "schema-write:Verdict=2 (explicit)" in switched.stdout.splitlines()
    unknown = check_config({"SCHEMA_WRITE_VERSIONS": "Verdict=2"})
    assert unknown.returncode == 2
    assert "SCHEMA_WRITE_VERSIONS names a version this process cannot write" in unknown.stderr


def test_rolling_upgrade_to_version_2_loses_nothing():
    with harness.fresh_database() as url, harness.fresh_topics() as topics:
        sim = harness.start_fleet_sim(url, FLEETSIM_REPROVISION_DELAY="300ms")
        pipeline = harness.Pipeline(url, topics, sim, settings={
            "producer": {"PRODUCER_INTERVAL": "2s"}})
        try:
            sim.seed(WORKSPACES)
            # 1. Everything at version 1.
            pipeline.start("actuator")
            pipeline.start("checker-old")
            pipeline.start("producer")
            heal(sim, topics, pipeline, DEATHS_PER_PHASE)

            # 2. Readers first: the actuator learns version 2; a new checker writes Verdict v2
            #    beside the old one, which knows only version 1.
            restart(pipeline, "actuator", KNOWS_V2)
            pipeline.start("checker-new", env={**KNOWS_V2, "SCHEMA_WRITE_VERSIONS": "Verdict=2"})
            heal(sim, topics, pipeline, 2 * DEATHS_PER_PHASE)

            # 3. The old checker learns version 2 (and still writes v1); then the producer
            #    writes CheckRequest v2.
            restart(pipeline, "checker-old", KNOWS_V2)
            restart(pipeline, "producer", {**KNOWS_V2, "SCHEMA_WRITE_VERSIONS": "CheckRequest=2"})
            heal(sim, topics, pipeline, 3 * DEATHS_PER_PHASE)
            time.sleep(3)  # the last sweep's verdicts and actions
            for name in ("producer", "checker-new", "checker-old", "actuator"):
                code, _ = pipeline.stop(name)
                assert code == 0, pipeline.current[name].log_text()[-2000:]
        finally:
            pipeline.close()
            sim.process.close()

        assert harness.consume_available(topics["dlq"], idle=2.0) == []
        verdict_versions = versions_on(topics["verdicts"], "verdict")
        check_versions = versions_on(topics["checks"], "check_request")
        assert set(verdict_versions) == {1, 2}, verdict_versions
        assert set(check_versions) == {1, 2}, check_versions

        # The audit reads both versions of every record.
        lines = audit_lines(topics, KNOWS_V2)
        assert [line for line in lines if line["type"] == "undecodable"] == []
        verdicts = [line for line in lines if line["type"] == "verdict"]
        actions = [line for line in lines if line["type"] == "action"]
        assert len(verdicts) == sum(verdict_versions.values())
        # Every NOT_RUNNING verdict was acted on: an Action names its partition and offset.
        acted_on = {(line["value"]["verdict_partition"], line["value"]["verdict_offset"])
                    for line in actions}
        not_running = [(line["partition"], line["offset"]) for line in verdicts
                       if line["value"]["liveness"] == "NOT_RUNNING"]
        assert len(not_running) >= 3 * DEATHS_PER_PHASE
        assert [verdict for verdict in not_running if verdict not in acted_on] == []
        assert sum(1 for line in actions
                   if line["value"]["outcome"] == "FLIPPED_RESTART_REQUESTED") == 3 * DEATHS_PER_PHASE

        # An audit that has not learned version 2 cannot read the v2 verdicts: readers first.
        old_lines = audit_lines(topics)
        assert sum(1 for line in old_lines if line["type"] == "undecodable"
                   and line["error"] == "unknown_fingerprint") == verdict_versions[2]
