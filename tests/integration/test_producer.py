"""Integration tests of reconciler-producer against the real stack (PostgreSQL, Kafka).

What each proves (issue #4, producer part):
- scope: exactly the in-scope rows of docs/contracts.md §2 are enqueued, each once per sweep, with
  sweep_id, sweep_size, enqueued_at and deadline right, decoded with fastavro;
- coverage: 5,000 in-scope rows are all checked within 5 sweeps with a cap of 1,000, and in
  one sweep without a cap;
- failover: of two producers exactly one is active; kill -9 it and the other takes over
  within an interval, continuing the round-robin where the dead one stopped;
- schedule: a restarted producer keeps the group's interval instead of sweeping twice;
- outages: database (session killed, statement failing, connection cut, never reachable) or
  broker unavailable -> the named error in the log and the metric, the process stays up and
  recovers; SIGTERM exits 0 promptly and releases the lock; bad settings exit 2.

Every test has its own database and topics; nothing sleeps in place of synchronisation:
conditions are polled with harness.wait_until.
"""

import collections
import os
import signal
import subprocess
import time
import uuid

import psycopg
import pytest

import harness


STATUSES = ["provisioning", "online", "offline", "degraded", "failed", "removed", "paused",
            "hibernated", "awaiting_agent"]


@pytest.fixture
def database():
    with harness.fresh_database() as url:
        yield url


def producer_env(database_url, topics, **settings):
    """Environment for one producer: the test's database and topics, a free metrics port."""
    env = {
        **topics["env"],
        "DATABASE_URL": database_url,
        "METRICS_ADDR": f"127.0.0.1:{harness.free_port()}",
        "PRODUCER_INTERVAL": "2s",
        "LOG_LEVEL": "info",
    }
    env.update({key: str(value) for key, value in settings.items()})
    return env


def metrics_text(env):
    status, body = harness.http_get(f"http://{env['METRICS_ADDR']}/metrics")
    return body if status == 200 else ""


def metric(env, name, labels=None):
    return harness.metric_value(metrics_text(env), name, labels) or 0.0


def log_events(process, message):
    return [line for line in process.log_lines() if line.get("msg") == message]


def sweeps_done(process):
    return log_events(process, "sweep done")


def wait_for_sweeps(process, count, timeout=60.0):
    return harness.wait_until(
        lambda: (sweeps_done(process) if len(sweeps_done(process)) >= count else None),
        timeout=timeout, message=f"{count} successful sweeps of {process.name}")


def millis(value):
    """timestamp-millis as fastavro returns it (an aware datetime) -> ms since the epoch."""
    return round(value.timestamp() * 1000)


def read_checks(topic, expected, timeout=90.0):
    """Decodes at least `expected` CheckRequests; returns (key, record) pairs."""
    messages = harness.consume(topic, expected, timeout=timeout)
    # harness.decode_record, not harness.decode: the latter's fingerprint() reads fastavro's
    # little-endian fingerprint hex as a big-endian number and rejects spec-conformant records.
    return [(message.key().decode(), harness.decode_record("check_request", message.value()))
            for message in messages]


def by_sweep(records):
    sweeps = collections.defaultdict(list)
    for key, record in records:
        sweeps[record["sweep_id"]].append((key, record))
    return sweeps


def terminate_backends(database_url, application_name):
    """Ends the server sessions of our producer with that application_name (in the test's
    own database only): what a database restart or a network cut does to a session."""
    name = database_url.rpartition("/")[2].split("?")[0]
    with psycopg.connect(harness.database_url(), autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND application_name = %s", (name, application_name)).fetchall()
    return len(rows)


def advisory_lock_holders(database_url):
    with psycopg.connect(database_url, autocommit=True) as connection:
        return connection.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchone()[0]


def test_producer_enqueues_exactly_in_scope_rows_once_per_sweep(database, topics):
    rows = []
    # Every status with a live-looking instance: only 'online' is in scope.
    for status in STATUSES:
        rows.append({"status": status, "instance_id": f"i-{status}", "in_scope": status == "online"})
    # Online but out of scope: no instance (NULL, empty), a remote agent.
    rows += [
        {"status": "online", "instance_id": None, "in_scope": False},
        {"status": "online", "instance_id": "", "in_scope": False},
        {"status": "online", "instance_id": "i-ext", "runtime": "external", "in_scope": False},
        {"status": "offline", "instance_id": "i-ext-off", "runtime": "external", "in_scope": False},
        {"status": "paused", "instance_id": None, "runtime": "docker", "in_scope": False},
    ]
    # Online and in scope with every other runtime: NULL, '', another value, another case.
    rows += [
        {"status": "online", "instance_id": "i-null-runtime", "runtime": None, "in_scope": True},
        {"status": "online", "instance_id": "i-empty-runtime", "runtime": "", "in_scope": True},
        {"status": "online", "instance_id": "i-docker", "runtime": "docker", "in_scope": True},
        {"status": "online", "instance_id": "i-upper", "runtime": "EXTERNAL", "in_scope": True},
    ]
    rows += [{"status": "online", "instance_id": f"i-{n}", "in_scope": True} for n in range(20)]
    ids = harness.insert_workspaces(database, rows)
    expected = {workspace_id: row["instance_id"]
                for workspace_id, row in zip(ids, rows) if row["in_scope"]}
    assert len(expected) == 25

    env = producer_env(database, topics, PRODUCER_INTERVAL="2s", PRODUCER_PAGE_SIZE="7",
                       PRODUCER_ID="producer-scope")
    started_ms = int(time.time() * 1000)
    with harness.running("producer", env) as producer:
        done = wait_for_sweeps(producer, 2)
        assert producer.stop() == 0
    finished_ms = int(time.time() * 1000)

    records = read_checks(topics["checks"], 2 * len(expected))
    sweeps = by_sweep(records)
    for event in done[:2]:
        assert event["in_scope"] == len(expected) and event["sweep_size"] == len(expected)
        assert event["enqueued"] == len(expected)
        messages = sweeps[event["sweep_id"]]
        workspace_ids = [record["workspace_id"] for _key, record in messages]
        assert sorted(workspace_ids) == sorted(expected), "each in-scope row exactly once"
        for key, record in messages:
            assert key == record["workspace_id"]
            assert record["instance_id"] == expected[record["workspace_id"]]
            assert record["sweep_size"] == len(expected)
            assert record["producer_id"] == "producer-scope"
            assert started_ms <= millis(record["enqueued_at"]) <= finished_ms
            # The deadline defaults to enqueued_at + PRODUCER_INTERVAL.
            assert millis(record["deadline"]) - millis(record["enqueued_at"]) == 2000
    assert done[0]["sweep_id"] != done[1]["sweep_id"]
    # Interval measured from sweep start: the second sweep began ~2 s after the first.
    first, second = (min(millis(record["enqueued_at"]) for _k, record in sweeps[event["sweep_id"]])
                     for event in done[:2])
    assert 1500 <= second - first <= 4000


def test_producer_cap_covers_5000_rows_within_5_sweeps(database, topics):
    ids = harness.insert_workspaces(
        database, [{"status": "online", "instance_id": f"i-{n}"} for n in range(5000)])
    harness.insert_workspaces(
        database, [{"status": "offline", "instance_id": f"o-{n}"} for n in range(200)])
    env = producer_env(database, topics, PRODUCER_INTERVAL="1s", PRODUCER_MAX_PER_SWEEP="1000",
                       PRODUCER_PAGE_SIZE="300")
    with harness.running("producer", env) as producer:
        done = wait_for_sweeps(producer, 5, timeout=90)
        assert producer.stop() == 0

    records = read_checks(topics["checks"], 5000)
    sweeps = by_sweep(records)
    covered = set()
    for event in done[:5]:
        assert event["in_scope"] == 5000 and event["sweep_size"] == 1000
        messages = sweeps[event["sweep_id"]]
        workspace_ids = [record["workspace_id"] for _key, record in messages]
        assert len(workspace_ids) == 1000 and len(set(workspace_ids)) == 1000
        assert all(record["sweep_size"] == 1000 for _key, record in messages)
        covered.update(workspace_ids)
    assert covered == set(ids), f"{len(set(ids) - covered)} rows not checked within 5 sweeps"


def test_producer_without_cap_covers_5000_rows_in_one_sweep(database, topics):
    ids = harness.insert_workspaces(
        database, [{"status": "online", "instance_id": f"i-{n}"} for n in range(5000)])
    env = producer_env(database, topics, PRODUCER_INTERVAL="30s")
    with harness.running("producer", env) as producer:
        done = wait_for_sweeps(producer, 1)
        assert producer.stop() == 0
    assert done[0]["sweep_size"] == 5000 and done[0]["enqueued"] == 5000
    records = read_checks(topics["checks"], 5000)
    workspace_ids = [record["workspace_id"] for _key, record in by_sweep(records)[done[0]["sweep_id"]]]
    assert len(workspace_ids) == 5000 and set(workspace_ids) == set(ids)


def test_producer_failover_kill_9_standby_takes_over_and_continues_round_robin(database, topics):
    ids = harness.insert_workspaces(
        database, [{"status": "online", "instance_id": f"i-{n}"} for n in range(30)])
    ordered = sorted(ids)  # uuid text order is PostgreSQL's id order
    common = {"PRODUCER_INTERVAL": "2s", "PRODUCER_MAX_PER_SWEEP": "10"}
    env_a = producer_env(database, topics, PRODUCER_ID="producer-a", **common)
    env_b = producer_env(database, topics, PRODUCER_ID="producer-b", **common)
    with harness.running("producer", env_a, name="producer-a") as a, \
            harness.running("producer", env_b, name="producer-b") as b:
        # Exactly one becomes active; the other stands by.
        def roles():
            active = [p for p, env in ((a, env_a), (b, env_b))
                      if metric(env, "reconciler_producer_active") == 1]
            standby = [p for p in (a, b) if any(
                event.get("role") == "standby" for event in log_events(p, "role changed"))]
            return (active, standby) if len(active) == 1 and len(standby) == 1 else None

        (active,), (standby,) = harness.wait_until(roles, timeout=30, message="one active producer")
        assert active is not standby
        active_env, standby_env = (env_a, env_b) if active is a else (env_b, env_a)
        wait_for_sweeps(active, 2)
        assert sweeps_done(standby) == []
        assert metric(standby_env, "reconciler_producer_active") == 0

        active.kill()
        killed_at = time.monotonic()
        # The dead producer's cursor is the round-robin position the survivor must continue from.
        with psycopg.connect(database) as connection:
            cursor = connection.execute(
                "SELECT last_id::text FROM reconciler_producer_cursor").fetchone()[0]

        harness.wait_until(
            lambda: any(event.get("role") == "active" for event in log_events(standby, "role changed")),
            timeout=15, message="standby takes over")
        took_over_after = time.monotonic() - killed_at
        # Lock retry is min(interval, 5 s) = 2 s; allow scheduling slack.
        assert took_over_after < 2 + 3, f"takeover after {took_over_after:.1f}s"
        assert metric(standby_env, "reconciler_producer_active") == 1
        survivor_sweeps = wait_for_sweeps(standby, 1, timeout=15)
        assert standby.stop() == 0

    records = read_checks(topics["checks"], 10 * 3)
    first = [record for _key, record in by_sweep(records)[survivor_sweeps[0]["sweep_id"]]]
    assert {record["producer_id"] for record in first} == {standby.name}
    start = ordered.index(cursor) + 1
    expected = [ordered[(start + i) % len(ordered)] for i in range(10)]
    assert sorted(record["workspace_id"] for record in first) == sorted(expected)


def test_producer_restart_keeps_the_group_schedule(database, topics):
    """A fresh group sweeps at start-up; a producer that becomes active less than an interval
    after the group's last sweep (restart, failover) waits for the rest of that interval."""
    harness.insert_workspaces(database, [{"status": "online", "instance_id": "i-1"}])
    env = producer_env(database, topics, PRODUCER_INTERVAL="30s")
    with harness.running("producer", env, name="producer-first") as first:
        wait_for_sweeps(first, 1)
        assert log_events(first, "role changed")[0]["first_sweep_in_ms"] == 0
        assert first.stop() == 0
    with harness.running("producer", env, name="producer-restarted") as restarted:
        activated = harness.wait_until(
            lambda: [event for event in log_events(restarted, "role changed")
                     if event.get("role") == "active"],
            timeout=15, message="restarted producer active")
        assert 15000 < activated[0]["first_sweep_in_ms"] <= 30000
        assert sweeps_done(restarted) == []
        assert restarted.stop() == 0


def test_producer_lock_session_loss_drops_to_standby_then_reacquires(database, topics):
    harness.insert_workspaces(database, [{"status": "online", "instance_id": "i-1"}])
    env = producer_env(database, topics, PRODUCER_INTERVAL="1s")
    with harness.running("producer", env) as producer:
        wait_for_sweeps(producer, 1)
        assert terminate_backends(database, "reconciler-producer lock") == 1
        harness.wait_until(
            lambda: any(event.get("error") == "lock_lost" for event in log_events(producer, "role changed")),
            timeout=15, message="lock loss noticed")
        lost_at_sweeps = len(sweeps_done(producer))
        harness.wait_until(
            lambda: sum(event.get("role") == "active"
                        for event in log_events(producer, "role changed")) >= 2,
            timeout=15, message="lock re-acquired")
        assert metric(env, "reconciler_producer_lock_losses_total") == 1
        wait_for_sweeps(producer, lost_at_sweeps + 1)
        assert producer.alive()
        assert producer.stop() == 0


def test_producer_database_session_loss_fails_sweep_named_then_recovers(database, topics):
    harness.insert_workspaces(database, [{"status": "online", "instance_id": f"i-{n}"} for n in range(5)])
    env = producer_env(database, topics, PRODUCER_INTERVAL="1s")
    with harness.running("producer", env) as producer:
        wait_for_sweeps(producer, 1)
        failed = []

        def sweep_failed():
            terminate_backends(database, "reconciler-producer sweep")
            failed[:] = [event for event in log_events(producer, "sweep failed")
                         if event.get("error") == "database_unavailable"]
            return failed

        harness.wait_until(sweep_failed, timeout=30, interval=0.3, message="database_unavailable sweep")
        assert failed[0]["result"] == "database_error"
        assert metric(env, "reconciler_producer_sweeps_total", {"result": "database_error"}) >= 1
        ok_before = len(sweeps_done(producer))
        wait_for_sweeps(producer, ok_before + 1)  # reconnected by itself
        assert producer.alive()
        assert producer.stop() == 0


def test_producer_query_error_fails_sweep_named_then_recovers(database, topics):
    """A statement failing on a live session (here: the migration's table is missing) is a
    database_query_failed sweep, not a crash; once the table is back, sweeps succeed."""
    harness.insert_workspaces(database, [{"status": "online", "instance_id": "i-1"}])
    env = producer_env(database, topics, PRODUCER_INTERVAL="1s")
    with harness.running("producer", env) as producer:
        wait_for_sweeps(producer, 1)
        with psycopg.connect(database, autocommit=True) as connection:
            connection.execute("ALTER TABLE reconciler_producer_cursor RENAME TO moved_away")
        failed = harness.wait_until(
            lambda: [event for event in log_events(producer, "sweep failed")
                     if event.get("error") == "database_query_failed"],
            timeout=20, message="database_query_failed sweep")
        assert failed[0]["result"] == "database_error"
        assert "reconciler_producer_cursor" in failed[0]["detail"]
        assert metric(env, "reconciler_producer_sweeps_total", {"result": "database_error"}) >= 1
        with psycopg.connect(database, autocommit=True) as connection:
            connection.execute("ALTER TABLE moved_away RENAME TO reconciler_producer_cursor")
        ok_before = len(sweeps_done(producer))
        wait_for_sweeps(producer, ok_before + 1, timeout=20)
        assert producer.alive()
        assert producer.stop() == 0


def test_producer_database_outage_drops_to_standby_then_recovers(database, topics):
    """A database restart seen from the producer: both sessions vanish, reconnects are refused
    for a while, then the database is back."""
    harness.insert_workspaces(database, [{"status": "online", "instance_id": "i-1"}])
    with harness.TcpProxy(*harness.url_host_port(database)) as proxy:
        env = producer_env(harness.url_with_port(database, proxy.port), topics,
                           PRODUCER_INTERVAL="1s")
        with harness.running("producer", env) as producer:
            wait_for_sweeps(producer, 1)
            proxy.cut()
            harness.wait_until(
                lambda: metric(env, "reconciler_producer_lock_attempts_total",
                               {"result": "unavailable"}) >= 1,
                timeout=20, message="failed lock attempts during the outage")
            assert any(event.get("error") == "lock_lost"
                       for event in log_events(producer, "role changed"))
            assert metric(env, "reconciler_producer_active") == 0
            assert harness.http_get(f"http://{env['METRICS_ADDR']}/readyz")[0] == 503
            assert producer.alive()
            ok_before = len(sweeps_done(producer))

            proxy.restore()
            harness.wait_until(lambda: metric(env, "reconciler_producer_active") == 1,
                               timeout=20, message="active again after the outage")
            wait_for_sweeps(producer, ok_before + 1, timeout=20)
            assert harness.http_get(f"http://{env['METRICS_ADDR']}/readyz")[0] == 200
            assert producer.stop() == 0


def test_producer_database_unreachable_stays_up_and_says_why(topics):
    closed_port = harness.free_port()
    url = f"postgresql://reconciler:never-log-me@127.0.0.1:{closed_port}/reconciler"
    env = producer_env(url, topics, PRODUCER_INTERVAL="1s")
    with harness.running("producer", env) as producer:
        harness.wait_until(
            lambda: metric(env, "reconciler_producer_lock_attempts_total", {"result": "unavailable"}) >= 2,
            timeout=30, message="failed lock attempts counted")
        events = log_events(producer, "advisory lock attempt failed")
        assert events and all(event["error"] == "database_unavailable" for event in events)
        assert "PQconnectdbParams" in events[0]["detail"]
        assert producer.alive()
        assert metric(env, "reconciler_producer_active") == 0
        assert harness.http_get(f"http://{env['METRICS_ADDR']}/readyz")[0] == 503
        assert harness.http_get(f"http://{env['METRICS_ADDR']}/healthz")[0] == 200
        assert producer.stop(timeout=15) == 0
        assert "never-log-me" not in producer.log_text()


def test_producer_broker_unreachable_fails_sweep_named_and_stays_up(database, topics):
    harness.insert_workspaces(database, [{"status": "online", "instance_id": f"i-{n}"} for n in range(3)])
    env = producer_env(database, topics, PRODUCER_INTERVAL="1s",
                       KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{harness.free_port()}")
    with harness.running("producer", env) as producer:
        # message.timeout.ms is the deadline (1 s) raised to its 5 s floor.
        failed = harness.wait_until(
            lambda: [event for event in log_events(producer, "sweep failed")
                     if event.get("error") == "kafka_delivery_failed"],
            timeout=40, message="kafka_delivery_failed sweep")
        assert failed[0]["result"] == "kafka_error"
        assert metric(env, "reconciler_producer_sweeps_total", {"result": "kafka_error"}) >= 1
        assert metric(env, "reconciler_producer_sweeps_total", {"result": "ok"}) == 0
        assert metric(env, "reconciler_producer_last_success_timestamp_seconds") == 0
        assert producer.alive()
        started = time.monotonic()
        assert producer.stop(timeout=15) == 0
        assert time.monotonic() - started < 15


def test_producer_sigterm_exits_0_promptly_and_releases_lock(database, topics):
    harness.insert_workspaces(database, [{"status": "online", "instance_id": "i-1"}])
    env = producer_env(database, topics, PRODUCER_INTERVAL="60s")
    with harness.running("producer", env) as producer:
        wait_for_sweeps(producer, 1)
        assert advisory_lock_holders(database) == 1
        started = time.monotonic()
        producer.signal(signal.SIGTERM)
        assert producer.popen.wait(timeout=15) == 0
        assert time.monotonic() - started < 15
        assert [event["msg"] for event in producer.log_lines()][-1] == "stopped"
    assert advisory_lock_holders(database) == 0


def test_producer_bad_setting_exits_2_naming_the_variable():
    result = subprocess.run([harness.binary("producer")], env={**os.environ, "PRODUCER_PAGE_SIZE": "0"},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "PRODUCER_PAGE_SIZE" in result.stderr and result.stderr.count("\n") == 1


def test_producer_check_config_masks_database_url():
    secret = "s3cret-" + uuid.uuid4().hex[:6]
    result = subprocess.run(
        [harness.binary("producer"), "--check-config"],
        env={**os.environ, "DATABASE_URL": f"postgresql://reconciler:{secret}@db/app"},
        capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert "DATABASE_URL=<masked>" in result.stdout and secret not in result.stdout + result.stderr
