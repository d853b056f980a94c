"""Reliability, graceful shutdown and poison input (issue #9, docs/reliability.md).

Graceful shutdown: a 5,000-workspace pipeline under load (CP answers take 20-170 ms, so
checkers always have requests in flight; restarts take 1 s while the actuator is stopped, so
a restart call is in flight). Each program in turn gets SIGTERM at a busy moment: the active
producer, both checkers (with requests in flight; for the second, the CP answers nothing and
its requests would wait 30 s, beyond its 10 s shutdown budget, so it must hand them back), the
actuator (with restarts pending). Each must exit 0 within 15 s; a successor is started, and
for the producer the standby takes over.
At the end nothing was lost: every request answered, every flip restarted, every dead
instance healed exactly once, no healthy workspace touched (harness.check_reliability_invariants),
and `reconciler-audit --verify --strict` passes.

Poison input: random bytes, empty and too short values, wrong fingerprints (a random one, and
the other topic's record type), truncated records, trailing bytes, and oversized records
(900 KB, a string far beyond the codec's 16 KiB) on the checks and the verdicts topics, plus
verdicts the actuator cannot key (empty sweep id) and an enum index outside the schema. Each
lands in the DLQ byte for byte with the headers naming its source and the codec's error; the
checker and actuator stay up, count it, and go on answering and healing.

Sizes: RECONCILER_RELIABILITY_SHUTDOWN_FLEET (default 5000; 2500 in a sanitizer build).
"""

import io
import json
import os
import time
import uuid

import fastavro
import pytest

import harness


FLEET = harness.reliability_knob("SHUTDOWN_FLEET", 5000, sanitized=2500)
WAVE = max(1, FLEET // 200)
STOP_BUDGET_SECONDS = 15.0


@pytest.fixture
def stack():
    """Database, topics, fleet-sim, observer, pipeline (not started); logs shown on failure."""
    settings = {
        "producer": {"PRODUCER_INTERVAL": "3s"},
        "checker": {"CHECKER_CONCURRENCY": "256"},
        # Longer than its shutdown budget (CHECKER_SHUTDOWN_TIMEOUT, 10 s), so that requests
        # hanging at SIGTERM are still in flight when the budget runs out.
        "checker-2": {"CHECKER_TIMEOUT": "30s"},
    }
    with harness.fresh_database() as database_url, harness.fresh_topics() as topics, \
            harness.pipeline_run(database_url, topics, settings,
                                 FLEETSIM_REPROVISION_DELAY="300ms") as (sim, observer, pipeline):
        yield {"database_url": database_url, "topics": topics, "sim": sim,
               "observer": observer, "pipeline": pipeline}


def log_record(process, message):
    """The last log line of `process` with msg == message (or {})."""
    found = [line for line in process.log_lines() if line.get("msg") == message]
    return found[-1] if found else {}


# --- graceful shutdown ------------------------------------------------------------------------

def test_reliability_sigterm_under_load_each_program_exits_in_time_and_loses_nothing(stack):
    database_url, sim, observer, pipeline = (stack["database_url"], stack["sim"],
                                             stack["observer"], stack["pipeline"])
    started = time.monotonic()
    sim.seed(FLEET)
    rows_before = harness.workspace_rows(database_url)
    latency = sim.add_fault(mode="latency", fixed_ms=20, jitter_ms=150)
    for name in ("producer-a", "producer-b", "checker-1", "checker-2", "actuator"):
        pipeline.start(name)
    harness.wait_until(lambda: all(pipeline.endpoint(n, "readyz") == 200 for n in pipeline.current),
                       timeout=60, message="pipeline ready")
    deaths = sim.terminate(WAVE)
    stops = {}

    # The active producer: its lock is released at exit, the standby takes over at once.
    active = harness.wait_until(
        lambda: [n for n in ("producer-a", "producer-b")
                 if pipeline.metric(n, "reconciler_producer_active") == 1], timeout=30,
        message="an active producer")[0]
    standby = "producer-b" if active == "producer-a" else "producer-a"
    code, seconds = pipeline.stop(active, timeout=STOP_BUDGET_SECONDS)
    stopped_at = time.monotonic()
    harness.wait_until(lambda: pipeline.metric(standby, "reconciler_producer_active") == 1,
                       timeout=30, interval=0.1, message=f"{standby} taking over")
    stops[active] = {"exit_code": code, "seconds": round(seconds, 2),
                     "takeover_seconds": round(time.monotonic() - stopped_at, 2)}
    assert code == 0, pipeline.current[active].log_text()[-3000:]
    pipeline.start(active)  # the successor stands by

    # checker-1 with requests in flight (CP answers take 20-170 ms): they finish and their
    # verdicts are delivered before it exits.
    in_flight = harness.wait_until(
        lambda: pipeline.metric("checker-1", "reconciler_checker_in_flight"), timeout=30,
        interval=0.02, message="checker-1 with requests in flight")
    code, seconds = pipeline.stop("checker-1", timeout=STOP_BUDGET_SECONDS)
    line = log_record(pipeline.current["checker-1"], "shutting down: finishing requests in flight")
    stops["checker-1"] = {"exit_code": code, "seconds": round(seconds, 2),
                          "in_flight_seen": in_flight,
                          "in_flight_at_stop": line.get("in_flight"),
                          "unsent_handed_back": line.get("unsent_handed_back")}
    assert code == 0, pipeline.current["checker-1"].log_text()[-3000:]

    # checker-2, now alone (CHECKER_TIMEOUT 30 s), with requests hanging on a CP that answers
    # nothing: they outlast its 10 s shutdown budget and are handed back uncommitted; the
    # successors answer them.
    sim.delete_fault(latency)
    hangs_before = sim.metric("fleet_sim_faults_applied_total", {"mode": "hang"})
    hang = sim.add_fault(mode="hang")
    hang_added = time.monotonic()
    harness.wait_until(lambda: sim.metric("fleet_sim_faults_applied_total", {"mode": "hang"})
                       > hangs_before, timeout=60, interval=0.05,
                       message="a hanging request")
    # That hang may be the actuator's (it asks the CP before every flip). Requests checker-2
    # sent before the fault end within the latency fault's 170 ms, so whatever it still has
    # in flight half a second into the fault hangs.
    harness.wait_until(lambda: time.monotonic() - hang_added >= 0.5
                       and pipeline.metric("checker-2", "reconciler_checker_in_flight") > 0,
                       timeout=60, interval=0.05, message="checker-2 with hanging requests")
    in_flight = pipeline.metric("checker-2", "reconciler_checker_in_flight")
    code, seconds = pipeline.stop("checker-2", timeout=STOP_BUDGET_SECONDS)
    left = log_record(pipeline.current["checker-2"],
                      "shutdown timeout: handing back unfinished work uncommitted")
    stops["checker-2"] = {"exit_code": code, "seconds": round(seconds, 2),
                          "in_flight_at_stop": in_flight,
                          "in_flight_handed_back": left.get("in_flight")}
    assert code == 0, pipeline.current["checker-2"].log_text()[-3000:]
    assert left.get("in_flight", 0) > 0, left
    sim.delete_fault(hang)
    latency = sim.add_fault(mode="latency", fixed_ms=20, jitter_ms=150)
    pipeline.start("checker-1", wait="readyz")
    pipeline.start("checker-2", wait="readyz")

    # The actuator with restarts pending and one in flight (each answer takes 1 s).
    slow = sim.add_fault(mode="latency", endpoint="restart", fixed_ms=1000)
    wave = sim.terminate(WAVE)
    deaths += wave
    harness.wait_until(lambda: harness.pending_restarts(database_url, pipeline.actuator_group) >= 2, timeout=60,
                       interval=0.05, message="restarts pending")
    pending = harness.pending_restarts(database_url, pipeline.actuator_group)
    code, seconds = pipeline.stop("actuator", timeout=STOP_BUDGET_SECONDS)
    stops["actuator"] = {"exit_code": code, "seconds": round(seconds, 2),
                         "pending_restarts_at_stop": pending}
    assert code == 0, pipeline.current["actuator"].log_text()[-3000:]
    sim.delete_fault(slow)
    pipeline.start("actuator")
    phases = {"stops_done": round(time.monotonic() - started, 1)}

    # The successors carry on: everything dead is healed.
    harness.wait_deaths_healed(database_url, sim, pipeline, deaths)
    phases["healed"] = round(time.monotonic() - started, 1)
    harness.settle_pipeline(database_url, stack["topics"], observer, pipeline,
                            ("producer-a", "producer-b"), stop_timeout=STOP_BUDGET_SECONDS)
    phases["settled"] = round(time.monotonic() - started, 1)

    figures = harness.verify_reliability_run(database_url, stack["topics"], sim, observer,
                                             pipeline, deaths, rows_before)
    # Every stop of the run, the final ones included, was clean and in time.
    figures.update({"fleet": FLEET, "stops": stops, "phases": phases,
                    "slowest_stop_seconds": max(s["seconds"] for s in stops.values()),
                    "total_seconds": round(time.monotonic() - started, 1)})
    harness.report_figures("graceful_shutdown", figures)
    assert all(s["seconds"] < STOP_BUDGET_SECONDS for s in stops.values()), stops


# --- poison input -----------------------------------------------------------------------------

def check_request(workspace_id, **fields):
    now = int(time.time() * 1000)
    record = {"workspace_id": workspace_id, "instance_id": "i-" + uuid.uuid4().hex[:17],
              "sweep_id": str(uuid.uuid4()), "sweep_size": 1, "enqueued_at": now,
              "deadline": now + 600000, "producer_id": "poison-test"}
    record.update(fields)
    return harness.encode_record("check_request", record)


def verdict(workspace_id, **fields):
    now = int(time.time() * 1000)
    record = {"workspace_id": workspace_id, "instance_id": "i-" + uuid.uuid4().hex[:17],
              "sweep_id": str(uuid.uuid4()), "sweep_size": 1, "liveness": "NOT_RUNNING",
              "cp_state": "terminated", "http_status": 200, "reason": "state_not_running",
              "checked_at": now, "latency_ms": 1, "checker_id": "poison-test", "enqueued_at": now}
    record.update(fields)
    return harness.encode_record("verdict", record)


def verdict_with_liveness_index(workspace_id, index):
    """A Verdict whose liveness enum index is `index` (outside the schema's three symbols when
    >= 3), with the real schema's fingerprint: written with a widened copy of the schema."""
    with open(os.path.join(harness.SOURCE_DIR, "schemas", "verdict.avsc")) as handle:
        widened = json.load(handle)
    for field in widened["fields"]:
        if field["name"] == "liveness":
            field["type"]["symbols"] += [f"FUTURE_{n}" for n in range(index)]
            symbol = field["type"]["symbols"][index]
    now = int(time.time() * 1000)
    buffer = io.BytesIO()
    buffer.write(b"\xc3\x01" + harness.fingerprint_bytes("verdict"))
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(widened), {
        "workspace_id": workspace_id, "instance_id": "i-0", "sweep_id": str(uuid.uuid4()),
        "sweep_size": 1, "liveness": symbol, "cp_state": None, "http_status": None,
        "reason": None, "checked_at": now, "latency_ms": 1, "checker_id": "poison-test",
        "enqueued_at": now})
    return buffer.getvalue()


def random_bytes(size):
    data = bytearray(os.urandom(size))
    # Neither magic byte: 0xC3 starts single-object encoding, 0x00 the registry's framing
    # (docs/schemas.md), which would make this an unknown schema id instead.
    data[0] = 0x01
    return bytes(data)


OVERSIZED = 900 * 1024


def poison_cases():
    """{topic kind: [(case, value bytes, expected reconciler.error)]}."""
    w = lambda: str(uuid.uuid4())  # noqa: E731 - a fresh workspace id per record
    good_check, good_verdict = check_request(w()), verdict(w())
    return {
        "checks": [
            ("random_bytes", random_bytes(300), "bad_magic"),
            ("empty", b"", "too_short"),
            ("too_short", b"\xc3\x01\x00", "too_short"),
            ("random_fingerprint", b"\xc3\x01" + os.urandom(8) + good_check[10:],
             "unknown_fingerprint"),
            ("verdict_on_checks", good_verdict, "unknown_fingerprint"),
            ("truncated", good_check[:len(good_check) // 2], "truncated"),
            ("trailing_bytes", good_check + b"\x00\x00", "trailing_bytes"),
            ("oversized", check_request(w(), instance_id="i-" + "x" * OVERSIZED),
             "oversized_length"),
        ],
        "verdicts": [
            ("random_bytes", random_bytes(300), "bad_magic"),
            ("empty", b"", "too_short"),
            ("random_fingerprint", b"\xc3\x01" + os.urandom(8) + good_verdict[10:],
             "unknown_fingerprint"),
            ("check_on_verdicts", good_check, "unknown_fingerprint"),
            ("truncated", good_verdict[:len(good_verdict) // 2], "truncated"),
            ("trailing_bytes", good_verdict + b"\x00", "trailing_bytes"),
            ("oversized", verdict(w(), reason="r" * OVERSIZED), "oversized_length"),
            ("bad_enum_index", verdict_with_liveness_index(w(), 5), "bad_enum_index"),
            ("empty_sweep_id", verdict(w(), sweep_id=""), "invalid_sweep_id"),
        ],
    }


def header(message, name):
    for key, value in message.headers() or []:
        if key == name:
            return value.decode()
    return None


def test_reliability_poison_on_checks_and_verdicts_lands_in_dlq_with_reason_no_crash(stack):
    database_url, sim, topics, pipeline = (stack["database_url"], stack["sim"], stack["topics"],
                                           stack["pipeline"])
    sim.seed(50)
    rows_before = harness.workspace_rows(database_url)
    for name in ("producer-a", "checker-1", "actuator"):
        pipeline.start(name)
    harness.wait_until(lambda: all(pipeline.endpoint(n, "readyz") == 200 for n in pipeline.current),
                       timeout=60, message="pipeline ready")

    cases = poison_cases()
    sent = {}  # (topic, partition, offset) -> (kind, case, key, value, expected error)
    for kind, records in cases.items():
        coordinates = harness.produce_records(topics[kind], [
            {"key": f"poison-{kind}-{case}".encode(), "value": value}
            for case, value, _ in records])
        for (partition, offset), (case, value, expected) in zip(coordinates, records):
            sent[(topics[kind], partition, offset)] = (kind, case, f"poison-{kind}-{case}".encode(),
                                                     value, expected)

    dlq = {}

    def all_dead_lettered():
        for name in pipeline.current:
            assert pipeline.alive(name), \
                f"{name} died:\n" + pipeline.current[name].log_text()[-3000:]
        for message in harness.consume_available(topics["dlq"], idle=1.0, timeout=30):
            source = (header(message, "reconciler.source.topic"),
                      int(header(message, "reconciler.source.partition")),
                      int(header(message, "reconciler.source.offset")))
            dlq[source] = message
        return set(sent) <= set(dlq)

    harness.wait_until(all_dead_lettered, timeout=120, interval=1.0, message=harness.LazyMessage(
        lambda: "every poison record in the DLQ; missing "
                f"{[sent[c][:2] for c in set(sent) - set(dlq)]}"))

    results = {}
    for source, (kind, case, key, value, expected) in sent.items():
        message = dlq[source]
        results[f"{kind}/{case}"] = header(message, "reconciler.error")
        assert header(message, "reconciler.error") == expected, (kind, case, message.headers())
        assert message.key() == key and (message.value() or b"") == value, (kind, case)
        assert header(message, "reconciler.program"), (kind, case)
        assert header(message, "reconciler.error.detail") is not None, (kind, case)
    assert len(dlq) == len(sent)  # nothing else was dead-lettered

    # Counted by each program, and both still at work: a death after the poison is healed.
    checker_dlq = pipeline.metric("checker-1", "reconciler_checker_dlq_total")
    actuator_dlq = pipeline.metric("actuator", "reconciler_actuator_dlq_total")
    assert (checker_dlq, actuator_dlq) == (len(cases["checks"]), len(cases["verdicts"]))
    deaths = sim.terminate(1)
    (workspace, instance), = deaths
    harness.wait_until(
        lambda: (row := harness.workspace_rows(database_url)[workspace])[0] == "online"
        and row[1] != instance, timeout=60, message="healed after the poison")
    # The poison verdicts acted on nothing: only the one death was flipped.
    assert harness.flips_by_instance(database_url, pipeline.actuator_group) == {
        (workspace, instance): 1}
    changed = {w for w, row in harness.workspace_rows(database_url).items()
               if row != rows_before[w] and w != workspace}
    assert not changed
    for name in list(pipeline.current):
        code, _ = pipeline.stop(name, timeout=STOP_BUDGET_SECONDS)
        assert code == 0, name
    harness.report_figures("poison_input", {
        "records": len(sent), "dead_lettered": len(dlq), "by_case": results,
        "checker_dlq_total": checker_dlq, "actuator_dlq_total": actuator_dlq, "crashes": 0})
