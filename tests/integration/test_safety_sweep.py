"""Issue 13 item 6: whole sweeps under growth.

An uncapped sweep (and a capped one whose cap is above the fleet) must reach the end of the
in-scope rows however the table changes during the walk. Before the fix the walk stopped
after `count(*)` rows, so rows entering scope ahead of it pushed the highest ids out of the
sweep, and a growing fleet starved the same workspaces sweep after sweep.

How the test makes the growth land exactly between the count and the walk, without sleeping:
1. the test holds ACCESS EXCLUSIVE on `workspaces`, so the producer's count blocks;
2. once pg_stat_activity shows the producer's sweep session waiting on that lock, the producer
   is stopped (SIGSTOP) and the lock released: the server runs the count (N rows) and the
   session turns idle, its answer waiting unread in the socket;
3. the test inserts M in-scope rows whose ids sort before every counted row, then SIGCONTs
   the producer, which reads N and walks a table of N + M rows.
Every row counted at sweep start, notably the highest ids, must get its CheckRequest in that
sweep (decoded from the checks topic), round after round.
"""

import signal

import psycopg
import pytest

import harness


SWEEP_SESSION = "reconciler-producer sweep"
FLEET = 12
GROWTH = 5
ROUNDS = 3


def ordered_id(prefix, number):
    """A canonical uuid whose order is (prefix, number): prefix 0x8... rows sort after 0x0..."""
    return f"{prefix:08x}-0000-4000-8000-{number:012x}"


def sweep_session(database_url):
    """(state, wait_event_type, query) of the producer's sweep session, or None."""
    name = database_url.rpartition("/")[2].split("?")[0]
    with psycopg.connect(harness.database_url(), autocommit=True) as connection:
        return connection.execute(
            "SELECT state, wait_event_type, query FROM pg_stat_activity "
            "WHERE datname = %s AND application_name = %s", (name, SWEEP_SESSION)).fetchone()


def sweeps_done(process):
    return [line for line in process.log_lines() if line.get("msg") == "sweep done"]


def gated_sweep(database_url, topics, env, entering_ids):
    """Runs one producer sweep with `entering_ids` inserted between its count and its walk.
    Returns the 'sweep done' event."""
    with psycopg.connect(database_url) as gate:
        gate.execute("LOCK TABLE workspaces IN ACCESS EXCLUSIVE MODE")
        with harness.running("producer", env) as producer:
            harness.wait_until(
                lambda: (session := sweep_session(database_url)) is not None
                and session[1] == "Lock" and "count(*)" in session[2],
                message="the producer's count waiting on the test's lock")
            producer.signal(signal.SIGSTOP)
            try:
                gate.commit()  # the count runs now, while the producer cannot read its answer
                harness.wait_until(
                    lambda: (session := sweep_session(database_url)) is not None
                    and session[0] == "idle" and "count(*)" in session[2],
                    message="the count answered")
                harness.insert_workspaces(
                    database_url,
                    [{"id": workspace_id, "status": "online", "instance_id": f"i-{workspace_id}"}
                     for workspace_id in entering_ids])
            finally:
                producer.signal(signal.SIGCONT)
            done = harness.wait_until(lambda: sweeps_done(producer) or None,
                                      message="the gated sweep done")[0]
            assert producer.stop() == 0
    return done


@pytest.mark.parametrize("max_per_sweep", ["0", "1000"], ids=["uncapped", "cap_above_fleet"])
def test_sweep_reaches_end_when_rows_enter_ahead_of_the_walk(max_per_sweep):
    with harness.fresh_database() as database_url, harness.fresh_topics() as topics:
        fleet = [ordered_id(0x80000000, n) for n in range(FLEET)]
        harness.insert_workspaces(
            database_url,
            [{"id": workspace_id, "status": "online", "instance_id": f"i-{workspace_id}"}
             for workspace_id in fleet])
        watcher = harness.TopicWatcher(
            topics["checks"], "check_request",
            project=lambda value: (value["sweep_id"], value["workspace_id"], value["sweep_size"]))
        try:
            in_scope = list(fleet)
            for round_number in range(ROUNDS):
                # Each round sorts before everything so far: all of it lands ahead of the walk.
                entering = [ordered_id(0x40000000 - round_number * 0x1000000, n)
                            for n in range(GROWTH)]
                env = {
                    **topics["env"],
                    "DATABASE_URL": database_url,
                    "METRICS_ADDR": f"127.0.0.1:{harness.free_port()}",
                    # One sweep per process: a lock key of its own means no earlier sweep to
                    # wait for, so the first sweep starts at once, and 1h means no second.
                    "PRODUCER_LOCK_KEY": str(7100 + round_number),
                    "PRODUCER_INTERVAL": "1h",
                    "PRODUCER_PAGE_SIZE": "4",
                    "PRODUCER_MAX_PER_SWEEP": max_per_sweep,
                }
                done = gated_sweep(database_url, topics, env, entering)
                counted = len(in_scope)
                assert done["in_scope"] == counted, done
                # sweep_size stays the count at sweep start (the breaker's denominator).
                assert done["sweep_size"] == counted, done
                expected = set(in_scope) | set(entering)
                # The producer counts a message enqueued once the broker confirmed it: wait
                # for that many, then compare (a short sweep fails here at once, not by timeout).
                def sweep_records(sweep_id=done["sweep_id"], wanted=done["enqueued"]):
                    found = [record for _p, _o, record in watcher.snapshot()
                             if record[0] == sweep_id]
                    return found if len(found) >= wanted else None

                records = harness.wait_until(
                    sweep_records, timeout=30,
                    message=f"round {round_number}: the {done['enqueued']} CheckRequests of the "
                            "sweep on the topic")
                taken = [workspace_id for _sweep, workspace_id, _size in records]
                missing = sorted(set(in_scope) - set(taken))
                assert not missing, (
                    f"round {round_number}: rows counted at sweep start left out of it "
                    f"(the highest ids are {sorted(in_scope)[-3:]}): {missing}")
                assert sorted(taken) == sorted(expected), "each in-scope row exactly once"
                assert all(size == counted for _sweep, _id, size in records)
                in_scope += entering
        finally:
            watcher.close()
