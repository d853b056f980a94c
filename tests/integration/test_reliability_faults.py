"""Reliability, CP fault matrix (issue #9, docs/reliability.md).

One fleet (10,000 workspaces in CI's normal build), one pipeline: fleet-sim, two checkers
and an actuator, and a producer per sweep. 1 % of the instances are terminated before the
pipeline starts. Then every control-plane fault mode fleet-sim has is switched on for *all*
status requests, one after the other, and each is held for one whole sweep of the fleet: a
producer is started (with its own lock key, so it sweeps at once), enqueues one sweep and is
stopped; the fault stays until every request of that sweep has its verdict. (A producer
sweeping on its own interval would pile sweeps up behind the slow modes: 10,000 hanging
requests take 10 s with 1,024 in flight and a 1 s timeout.)

- every verdict of that sweep is UNKNOWN with the reason that fault must produce;
- no Action is recorded and no row of the workspaces table changes, although the CP would
  say `terminated` for 1 % of the fleet if it answered properly.

Then the faults are cleared, one more sweep runs, and exactly the terminated ones are healed,
each flipped once, restarted and back online on a new instance, and the run's invariants hold
(harness.check_reliability_invariants) and `reconciler-audit --verify --strict` passes.

Sizes: RECONCILER_RELIABILITY_FAULT_FLEET (default 10000; 5000 in a sanitizer build).
"""

import time
import uuid

import pytest

import harness


FLEET = harness.reliability_knob("FAULT_FLEET", 10000, sanitized=5000)
TERMINATED = max(1, FLEET // 100)
CHECKER_TIMEOUT = "1s"

# (name, fault rule, the reasons its verdicts must carry). Each rule applies to every status
# request. "hang" closes the request unanswered after hang_ms; without hang_ms it is held
# until the checker gives up; latency far beyond CHECKER_TIMEOUT is the same to the checker.
FAULT_MATRIX = [
    ("hang_closed_unanswered", {"mode": "hang", "hang_ms": 200}, {"no_response", "protocol_error"}),
    ("hang_past_timeout", {"mode": "hang"}, {"transport_timeout"}),
    ("extreme_latency", {"mode": "latency", "fixed_ms": 60000}, {"transport_timeout"}),
    ("status_500", {"mode": "status", "code": 500}, {"http_server_error"}),
    ("status_503", {"mode": "status", "code": 503}, {"http_server_error"}),
    ("status_404", {"mode": "status", "code": 404}, {"http_client_error"}),
    ("status_429", {"mode": "status", "code": 429}, {"http_client_error"}),
    ("redirect_302", {"mode": "redirect"}, {"http_redirect"}),
    ("redirect_307", {"mode": "redirect", "code": 307}, {"http_redirect"}),
    ("garbage", {"mode": "garbage"}, {"body_not_json", "body_invalid_utf8", "body_contains_nul"}),
    ("truncated_body", {"mode": "truncated"}, {"body_not_json"}),
    ("truncated_transfer", {"mode": "truncated", "cut": "transfer"}, {"protocol_error"}),
    ("oversized", {"mode": "oversized"}, {"body_too_large"}),
    ("empty_object", {"mode": "empty_object"}, {"state_missing"}),
    ("missing_state", {"mode": "missing_state"}, {"state_missing"}),
    ("null_state", {"mode": "null_state"}, {"state_null"}),
    ("wrong_type_state", {"mode": "wrong_type_state"}, {"state_not_string"}),
    ("odd_state_pending", {"mode": "odd_state"}, {"state_unrecognized"}),
    ("odd_state_capitalised", {"mode": "odd_state", "state": "Terminated"}, {"state_unrecognized"}),
    ("odd_state_empty", {"mode": "odd_state", "state": ""}, {"state_empty"}),
    ("duplicate_state_keys", {"mode": "duplicate_state_keys"}, {"duplicate_keys"}),
    ("array_body", {"mode": "array_body"}, {"body_not_object"}),
    ("trailing_data", {"mode": "trailing_data"}, {"body_trailing_data"}),
    ("content_type_html", {"mode": "content_type"}, {"content_type_not_json"}),
    ("reset", {"mode": "reset"}, {"connect_failed", "protocol_error"}),
]


@pytest.fixture(scope="module")
def run():
    """The stack of one run: database, topics, fleet-sim, the observer of the topics and the
    pipeline (not started); torn down at the end, logs kept."""
    settings = {
        "producer": {"PRODUCER_INTERVAL": "1h"},
        "checker": {"CHECKER_TIMEOUT": CHECKER_TIMEOUT, "CHECKER_CONCURRENCY": "512"},
    }
    with harness.fresh_database() as database_url, harness.fresh_topics() as topics, \
            harness.pipeline_run(database_url, topics, settings,
                                 FLEETSIM_REPROVISION_DELAY="300ms") as (sim, observer, pipeline):
        yield {"database_url": database_url, "topics": topics, "sim": sim,
               "observer": observer, "pipeline": pipeline}


def sweep_once(pipeline, name):
    """Starts a producer of a new producer group (lock key), which sweeps at once, and stops
    it (SIGTERM, exit 0) when that sweep is enqueued."""
    pipeline.start(name, env={"PRODUCER_LOCK_KEY": str(uuid.uuid4().int % 2**62)})
    harness.wait_until(lambda: pipeline.metric(name, "reconciler_producer_sweeps_total",
                                               {"result": "ok"}) >= 1,
                       timeout=60, interval=0.1, message=f"{name}: one sweep enqueued")
    code, _ = pipeline.stop(name)
    assert code == 0, pipeline.current[name].log_text()[-2000:]


def wait_for_sweep_under_fault(observer, pipeline, since_ms, name, timeout):
    """The first sweep whose every request was enqueued after `since_ms`, once all of its
    requests have verdicts."""
    progress = {}

    def answered():
        for member in ("checker-1", "checker-2", "actuator"):
            assert pipeline.alive(member), f"{member} died:\n" + pipeline.logs_tail()
        sweeps = observer.sweeps_started_after(since_ms)
        if not sweeps:
            return None
        tally = observer.sweep(sweeps[0])
        progress.update(sweep=sweeps[0], requested=len(tally["requested"]), size=tally["size"],
                        answered=len(tally["answered"]), reasons=dict(tally["reasons"]))
        return tally if tally["complete"] else None

    return harness.wait_until(answered, timeout=timeout, interval=0.25,
                              message=harness.LazyMessage(
                                  lambda: f"a whole sweep answered under {name}: {progress}"))


def test_reliability_cp_fault_matrix_flips_nothing_then_heals_exactly_the_terminated(run):
    database_url, sim, observer, pipeline = (run["database_url"], run["sim"], run["observer"],
                                             run["pipeline"])
    started = time.monotonic()
    sim.seed(FLEET)
    deaths = sim.terminate(TERMINATED, seed=9)
    rows_before = harness.workspace_rows(database_url)
    assert len(rows_before) == FLEET

    for name in ("checker-1", "checker-2", "actuator"):
        pipeline.start(name)
    harness.wait_until(lambda: all(pipeline.endpoint(n, "readyz") == 200
                                   for n in ("checker-1", "checker-2", "actuator")),
                       timeout=60, message="checkers and actuator ready")
    fault_id = None

    results = {}
    for index, (name, rule, reasons) in enumerate(FAULT_MATRIX):
        # The new rule is in force before the old one goes: no request sees neither.
        new_id = sim.add_fault(**rule)
        if fault_id is not None:
            sim.delete_fault(fault_id)
        fault_id = new_id
        since_ms = int(time.time() * 1000)
        mode_started = time.monotonic()
        faults_before = sim.metric("fleet_sim_faults_applied_total", {"mode": rule["mode"]})
        sweep_once(pipeline, "producer-sweep")
        tally = wait_for_sweep_under_fault(observer, pipeline, since_ms, name, timeout=180)
        faults = (sim.metric("fleet_sim_faults_applied_total", {"mode": rule["mode"]})
                  - faults_before)
        results[name] = {
            "verdicts": tally["verdicts"], "workspaces": len(tally["answered"]),
            "liveness": dict(tally["liveness"]), "reasons": dict(tally["reasons"]),
            "faults_injected": int(faults), "seconds": round(time.monotonic() - mode_started, 1),
            "max_latency_ms": tally["max_latency_ms"],
        }
        print(f"fault {name}: {results[name]}", flush=True)
        # The invariant: every answer UNKNOWN. The reasons show the fault was the one in
        # force; any request may also time out on a loaded machine (CHECKER_TIMEOUT is 1 s).
        assert set(tally["liveness"]) == {"UNKNOWN"}, (name, results[name])
        assert set(tally["reasons"]) <= reasons | {"transport_timeout"}, (name, results[name])
        assert set(tally["reasons"]) & reasons, (name, results[name])
        assert len(tally["answered"]) == FLEET and faults >= FLEET, (name, results[name])
        # Nothing acted: no Action at all (UNKNOWN never acts), no row left online.
        assert harness.query_one(
            database_url, "SELECT count(*) FROM reconciler_actuator_actions "
            "WHERE consumer_group = %s", (pipeline.actuator_group,)) == 0, name
        assert harness.query_one(database_url, "SELECT count(*) FROM workspaces "
                                 "WHERE status::text <> 'online'") == 0, name

    faults_seconds = time.monotonic() - started
    assert harness.workspace_rows(database_url) == rows_before  # nothing changed at all
    sim.clear_faults()

    # Healing: exactly the terminated ones, once each. One sweep without faults finds every
    # dead one (a producer on a short interval would pile sweeps of a large fleet up faster
    # than they are answered).
    sweep_once(pipeline, "producer-sweep")
    harness.wait_deaths_healed(database_url, sim, pipeline, deaths, timeout=120 + FLEET / 1000,
                               what="every terminated one healed",
                               members=("checker-1", "checker-2", "actuator"))
    heal_seconds = time.monotonic() - started - faults_seconds

    # Settle: every request answered, every verdict decided and published.
    harness.settle_pipeline(database_url, run["topics"], observer, pipeline, producers=(),
                            answer_timeout=120 + FLEET / 1000)
    figures = harness.verify_reliability_run(database_url, run["topics"], sim, observer, pipeline,
                                             deaths, rows_before, restarts_exactly_once=True)

    figures.update({
        "fleet": FLEET, "terminated": TERMINATED, "modes": len(FAULT_MATRIX),
        "faults_injected": sum(r["faults_injected"] for r in results.values()),
        "faults_seconds": round(faults_seconds, 1), "heal_seconds": round(heal_seconds, 1),
        "total_seconds": round(time.monotonic() - started, 1), "per_mode": results,
    })
    harness.report_figures("cp_fault_matrix", figures)
    assert figures["flips_made"] == TERMINATED and figures["healthy_flips"] == 0
