"""reconciler-topics against the real broker: it creates the five topics with the contract's
partition counts (12/12/12/1), a second run is idempotent, an existing topic with too few
partitions is a named failure, and an unreachable broker is a named failure within a bounded
time. Topic names are unique per test (RECONCILER_TOPIC_*), so nothing here touches the
topics of other tests."""

import json
import os
import subprocess
import time
import uuid

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

import harness

TOOL = os.path.join(harness.BINARY_DIR, "tools", "topics", "reconciler-topics")


def unique_topics():
    suffix = uuid.uuid4().hex[:10]
    return {
        "RECONCILER_TOPIC_CHECKS": f"test.topics.{suffix}.checks",
        "RECONCILER_TOPIC_VERDICTS": f"test.topics.{suffix}.verdicts",
        "RECONCILER_TOPIC_ACTIONS": f"test.topics.{suffix}.actions",
        "RECONCILER_TOPIC_URGENT_CHECKS": f"test.topics.{suffix}.urgent",
        "RECONCILER_TOPIC_DLQ": f"test.topics.{suffix}.dlq",
    }


def run_tool(env, *args, timeout=60):
    """Runs the tool with only the given variables (plus PATH), as a container would."""
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}
    started = time.monotonic()
    completed = subprocess.run(
        [TOOL, *args], env=full_env, capture_output=True, text=True, timeout=timeout
    )
    return completed, time.monotonic() - started


def log_errors(stderr):
    """The "error" names of the tool's own failure lines (JSON lines on stderr)."""
    names = []
    for line in stderr.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("msg") == "topics not ready":
            names.append(record.get("error"))
    return names


def partition_counts(names):
    admin = AdminClient({"bootstrap.servers": harness.bootstrap_servers()})
    metadata = admin.list_topics(timeout=30)
    return {name: len(metadata.topics[name].partitions) for name in names if name in metadata.topics}


@pytest.fixture
def topics():
    names = unique_topics()
    yield names
    admin = AdminClient({"bootstrap.servers": harness.bootstrap_servers()})
    admin.delete_topics(list(names.values()))


def test_topics_tool_creates_the_topics_then_is_idempotent(topics):
    env = {"KAFKA_BOOTSTRAP_SERVERS": harness.bootstrap_servers(), **topics}

    first, _ = run_tool(env)
    assert first.returncode == 0, first.stderr
    assert [line.split("\t")[-1] for line in first.stdout.splitlines()] == ["created"] * 5

    expected = {
        topics["RECONCILER_TOPIC_CHECKS"]: 12,
        topics["RECONCILER_TOPIC_VERDICTS"]: 12,
        topics["RECONCILER_TOPIC_ACTIONS"]: 12,
        topics["RECONCILER_TOPIC_URGENT_CHECKS"]: 12,
        topics["RECONCILER_TOPIC_DLQ"]: 1,
    }
    assert partition_counts(expected) == expected

    second, _ = run_tool(env)
    assert second.returncode == 0, second.stderr
    assert [line.split("\t")[-1] for line in second.stdout.splitlines()] == ["exists"] * 5
    assert partition_counts(expected) == expected


def test_topics_tool_existing_topic_with_too_few_partitions_is_a_named_failure(topics):
    admin = AdminClient({"bootstrap.servers": harness.bootstrap_servers()})
    checks = topics["RECONCILER_TOPIC_CHECKS"]
    admin.create_topics([NewTopic(checks, num_partitions=3, replication_factor=1)])[checks].result(30)
    env = {"KAFKA_BOOTSTRAP_SERVERS": harness.bootstrap_servers(), **topics}

    completed, _ = run_tool(env)

    assert completed.returncode == 1
    assert log_errors(completed.stderr) == ["too_few_partitions"], completed.stderr
    # Left alone: growing partitions moves keys, which is the operator's decision.
    assert partition_counts([checks]) == {checks: 3}


def test_topics_tool_unreachable_broker_fails_named_within_the_timeout(topics):
    env = {"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{harness.free_port()}", **topics}

    completed, elapsed = run_tool(env, "--topics-timeout", "3s", timeout=30)

    assert completed.returncode == 1
    assert log_errors(completed.stderr) == ["kafka_unavailable"], completed.stderr
    assert elapsed < 10, f"took {elapsed:.1f}s with a 3s timeout"


def test_topics_tool_check_config_rejects_two_roles_on_one_topic(topics):
    env = {**topics, "RECONCILER_TOPIC_DLQ": topics["RECONCILER_TOPIC_CHECKS"]}

    completed, _ = run_tool(env, "--check-config")

    assert completed.returncode == 2
    assert completed.stderr.strip() == (
        "reconciler-topics: RECONCILER_TOPIC_DLQ: same topic as RECONCILER_TOPIC_CHECKS "
        f"('{topics['RECONCILER_TOPIC_CHECKS']}')"
    )


def test_topics_tool_check_config_rejects_an_unknown_kafka_property():
    completed, _ = run_tool({"RECONCILER_KAFKA_NO_SUCH_PROPERTY": "1"}, "--check-config")

    assert completed.returncode == 2
    assert "kafka property 'no.such.property'" in completed.stderr
