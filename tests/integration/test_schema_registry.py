"""Registry mode against a real Confluent-API schema registry (Apicurio Registry 2.6.13.Final,
started by scripts/schema-registry.sh, FULL_TRANSITIVE) and the real broker
(docs/schemas.md, "Schema registry").

Proved:
- with SCHEMA_REGISTRY_URL, producer, checker and actuator register their schemas under
  <topic>-value and write the Confluent framing (00 + schema id) on every topic, and the
  pipeline heals terminated instances as in the default mode;
- a stranger reads our records: confluent-kafka's AvroDeserializer with its
  SchemaRegistryClient decodes every verdict and action;
- we read the stranger's records: verdicts its AvroSerializer wrote (with our schema, and with
  a newer version it registered itself) and a single-object verdict are acted on by the
  actuator, with 0 DLQ records, and reconciler-audit --format jsonl reads all of them;
- a registry outage is "cannot decode yet": a verdict under a schema id the actuator has not
  seen waits, uncommitted and not dead-lettered, while the registry is unreachable, and is
  processed once it answers again;
- --check-config names the mode and masks the registry's credentials.
"""

import json
import os
import pathlib
import subprocess
import time

import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

import harness

PIPELINE = ("producer", "checker", "actuator", "fleet-sim", "audit")
missing = [program for program in PIPELINE if not os.access(harness.binary(program), os.X_OK)]
pytestmark = pytest.mark.skipif(bool(missing), reason=f"programs not built: {', '.join(missing)}")

SOURCE_DIR = pathlib.Path(os.environ.get("RECONCILER_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
REGISTRY_SCRIPT = SOURCE_DIR / "scripts" / "schema-registry.sh"
VERDICT_V1 = (SOURCE_DIR / "schemas" / "verdict.avsc").read_text()
VERDICT_V2 = (SOURCE_DIR / "tests" / "schemas" / "v2" / "Verdict" / "v2.avsc").read_text()
WORKSPACES = 20
TERMINATED = 2


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """The registry's URL, and a TcpProxy in front of it (our programs use the proxy, so a
    test can cut them off while the stranger still reaches the registry)."""
    directory = tmp_path_factory.mktemp("registry")
    subprocess.run([str(REGISTRY_SCRIPT), "start", str(directory)], check=True, timeout=900)
    try:
        url = (directory / "env").read_text().strip().split("=", 1)[1]
        host_port = url.split("//", 1)[1].split("/", 1)[0]
        with harness.TcpProxy("127.0.0.1", int(host_port.split(":")[1])) as proxy:
            yield {"url": url, "proxy": proxy,
                   "proxied_url": url.replace(host_port, f"127.0.0.1:{proxy.port}")}
    finally:
        subprocess.run([str(REGISTRY_SCRIPT), "stop", str(directory)], timeout=120)


def audit_lines(topics, registry_url):
    result = subprocess.run([harness.binary("audit"), "--quiet", "--format", "jsonl"],
                            env={**os.environ, **topics["env"], "DATABASE_URL": "",
                                 "SCHEMA_REGISTRY_URL": registry_url},
                            capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def stranger_verdict(workspace_id, instance_id, checker_id):
    """A RUNNING verdict (which never acts) as a stranger's serializer would send it."""
    now = int(time.time() * 1000)
    return {"workspace_id": workspace_id, "instance_id": instance_id, "sweep_id": "stranger",
            "sweep_size": 1, "liveness": "RUNNING", "cp_state": "running", "http_status": 200,
            "reason": None, "checked_at": now, "latency_ms": 1, "checker_id": checker_id,
            "enqueued_at": now}


def produce_with(serializer, topic, records):
    producer = Producer({"bootstrap.servers": harness.bootstrap_servers()})
    for record in records:
        producer.produce(topic, key=record["workspace_id"].encode(),
                         value=serializer(record, SerializationContext(topic, MessageField.VALUE)))
    assert producer.flush(30) == 0


def test_check_config_names_the_mode_and_masks_secrets():
    env = {**os.environ, "CP_URL": "http://127.0.0.1:1",
           "SCHEMA_REGISTRY_URL": "https://reader:hunter2@registry.example/apis/ccompat/v7",
           "SCHEMA_REGISTRY_BEARER_TOKEN": "token-hunter2"}
    result = subprocess.run([harness.binary("checker"), "--check-config"], env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "SCHEMA_REGISTRY_URL=https://<masked>@registry.example/apis/ccompat/v7" in result.stdout
    assert "SCHEMA_REGISTRY_BEARER_TOKEN=<masked>" in result.stdout
    assert "hunter2" not in result.stdout + result.stderr
    env.pop("SCHEMA_REGISTRY_URL")
    result = subprocess.run([harness.binary("checker"), "--check-config"], env=env,
                            capture_output=True, text=True, timeout=30)
    assert "SCHEMA_REGISTRY_URL=none (mode: single-object encoding)" in result.stdout


def test_registry_mode_interoperates_and_waits_out_an_outage(registry):
    client = SchemaRegistryClient({"url": registry["url"]})
    with harness.fresh_database() as url, harness.fresh_topics() as topics:
        sim = harness.start_fleet_sim(url, FLEETSIM_REPROVISION_DELAY="300ms")
        mode = {"SCHEMA_REGISTRY_URL": registry["proxied_url"]}
        pipeline = harness.Pipeline(url, topics, sim, settings={
            "producer": {**mode, "PRODUCER_INTERVAL": "2s"}, "checker": mode, "actuator": mode})
        try:
            sim.seed(WORKSPACES)
            pipeline.start("actuator")
            pipeline.start("checker-1")
            pipeline.start("producer")
            sim.terminate(TERMINATED)

            def healed():
                return sum(1 for line in audit_lines(topics, registry["url"])
                           if line["type"] == "action"
                           and line["value"]["outcome"] == "FLIPPED_RESTART_REQUESTED") >= TERMINATED

            harness.wait_until(healed, timeout=120, interval=1.0, message="flips in registry mode")
            code, _ = pipeline.stop("producer")
            assert code == 0

            # Our writers registered <topic>-value and wrote 00 + schema id everywhere.
            for kind in ("checks", "verdicts", "actions"):
                assert f"{topics[kind]}-value" in client.get_subjects()
                values = [message.value() for message in harness.consume_available(topics[kind], idle=2.0)]
                assert values and all(value[:1] == b"\x00" for value in values), kind

            # A stranger reads our verdicts and actions.
            deserializer = AvroDeserializer(client)
            decoded = {}
            for kind in ("verdicts", "actions"):
                decoded[kind] = [deserializer(message.value(),
                                              SerializationContext(topics[kind], MessageField.VALUE))
                                 for message in harness.consume_available(topics[kind], idle=2.0)]
            assert sum(1 for record in decoded["verdicts"]
                       if record["liveness"] == "NOT_RUNNING") >= TERMINATED
            assert all(record["checker_id"] == "checker-1" for record in decoded["verdicts"])
            assert sum(1 for record in decoded["actions"]
                       if record["outcome"] == "FLIPPED_RESTART_REQUESTED") == TERMINATED

            # We read the stranger's verdicts: our schema, a newer version it registered, and
            # one in single-object encoding.
            rows = list(harness.workspace_rows(url).items())[:3]
            v1_serializer = AvroSerializer(client, VERDICT_V1)
            v2_serializer = AvroSerializer(client, VERDICT_V2)
            produce_with(v1_serializer, topics["verdicts"],
                         [stranger_verdict(rows[0][0], rows[0][1][1], "stranger-v1")])
            produce_with(v2_serializer, topics["verdicts"],
                         [{**stranger_verdict(rows[1][0], rows[1][1][1], "stranger-v2"),
                           "region": "eu-west-1"}])
            harness.produce_records(topics["verdicts"], [{
                "key": rows[2][0].encode(),
                "value": harness.encode_record("verdict", {
                    **stranger_verdict(rows[2][0], rows[2][1][1], "stranger-single-object"),
                    "liveness": "RUNNING"})}])
            harness.wait_until(lambda: harness.group_caught_up(pipeline.actuator_group,
                                                               topics["verdicts"]),
                               timeout=60, message="the actuator took the stranger's verdicts")

            # Outage: a schema id the actuator has not seen, while it cannot reach the registry.
            registry["proxy"].cut()
            verdict_v3 = json.loads(VERDICT_V2)
            verdict_v3["fields"].append({"name": "zone", "type": ["null", "string"], "default": None})
            produce_with(AvroSerializer(client, json.dumps(verdict_v3)), topics["verdicts"],
                         [{**stranger_verdict(rows[0][0], rows[0][1][1], "stranger-v3"),
                           "region": None, "zone": "b"}])
            harness.wait_until(lambda: pipeline.current["actuator"].log_text().count(
                "schema registry unavailable; decoding waits for it") >= 1,
                timeout=30, message="the actuator waiting for the registry")
            assert not harness.group_caught_up(pipeline.actuator_group, topics["verdicts"])
            assert pipeline.alive("actuator")
            assert harness.consume_available(topics["dlq"], idle=1.0) == []
            registry["proxy"].restore()
            harness.wait_until(lambda: harness.group_caught_up(pipeline.actuator_group,
                                                               topics["verdicts"]),
                               timeout=60, message="the actuator resumed after the outage")
            for name in ("checker-1", "actuator"):
                code, _ = pipeline.stop(name)
                assert code == 0, pipeline.current[name].log_text()[-2000:]
        finally:
            registry["proxy"].restore()
            pipeline.close()
            sim.process.close()

        assert harness.consume_available(topics["dlq"], idle=2.0) == []
        lines = audit_lines(topics, registry["url"])
        assert [line for line in lines if line["type"] == "undecodable"] == []
        strangers = sorted(line["value"]["checker_id"] for line in lines
                           if line["type"] == "verdict"
                           and line["value"]["checker_id"].startswith("stranger"))
        assert strangers == ["stranger-single-object", "stranger-v1", "stranger-v2", "stranger-v3"]
