"""The fast path (issue #15, docs/producer.md "Hints", docs/checker.md "The urgent lane").

One fleet (3,000 workspaces), one pipeline: fleet-sim announcing its terminations to the
producer's hint endpoint, one producer, one checker held to CHECKER_MAX_RPS so that a sweep
is a backlog of ~10 s, and an actuator. In order, on the same run:

- a hinted termination (of the rows the sweep reaches last) is flipped while the sweep's
  backlog is still being answered, by the verdict of the hint's urgent request;
- forged hints (fleet-sim's, and POSTs naming running instances) are checked and flip nothing;
  a bad token is 401, a malformed body 400 with its error name, an oversized one 413, an
  unknown instance is counted;
- duplicated hints lead to one flip per death;
- a dropped hint is caught by the next sweep;
- a stale agent heartbeat is a hint too.

Sizes: about 30 s in the normal build. No timing assertion: "ahead of the backlog" is judged
by what was answered when, not by a clock. The latency figures are bench/fast_path_bench.py's.
"""

import json
import time
import urllib.error
import urllib.request
import uuid

import pytest

import harness


FLEET = 3000
CHECKER_MAX_RPS = 300  # a sweep of FLEET takes ~10 s: the backlog the hints must overtake
TOKEN = "fast-path-test-token-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def run():
    hint_port = harness.free_port()
    settings = {
        "producer": {"PRODUCER_INTERVAL": "1h", "PRODUCER_HINT_ADDR": f"127.0.0.1:{hint_port}",
                     "PRODUCER_HINT_TOKEN": TOKEN, "PRODUCER_HEARTBEAT_STALE_AFTER": "60s"},
        "checker": {"CHECKER_MAX_RPS": str(CHECKER_MAX_RPS), "CHECKER_CONCURRENCY": "64"},
    }
    hint_url = f"http://127.0.0.1:{hint_port}/hints"
    with harness.fresh_database() as database_url, harness.fresh_topics() as topics, \
            harness.pipeline_run(database_url, topics, settings,
                                 FLEETSIM_REPROVISION_DELAY="300ms", FLEETSIM_HINT_URL=hint_url,
                                 FLEETSIM_HINT_TOKEN=TOKEN) as (sim, observer, pipeline):
        sim.seed(FLEET)
        for name in ("checker-1", "actuator"):
            pipeline.start(name, wait="readyz")
        yield {"database_url": database_url, "sim": sim, "observer": observer,
               "pipeline": pipeline, "hint_url": hint_url}


def post_hint(url, body, token=TOKEN):
    """POSTs `body` (bytes, or an object sent as JSON); returns (status, answer object)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def terminate(sim, count, **hint_knobs):
    answer = sim.admin("POST", "/terminate", {"count": count, **hint_knobs})
    return list(zip(answer["workspace_ids"], answer["instance_ids"])), answer.get("hints")


def hints(pipeline, outcome):
    return pipeline.metric("producer-a", "reconciler_producer_hints_total", {"outcome": outcome})


def flips(run):
    return harness.flips_by_instance(run["database_url"], run["pipeline"].actuator_group)


def flip_sweeps(run, deaths):
    """{death: sweep_id of the verdict its flip acted on}."""
    actions = harness.actuator_actions(run["database_url"], run["pipeline"].actuator_group)
    return {(a["workspace_id"], a["instance_id"]): a["sweep_id"] for a in actions
            if a["outcome"] == "FLIPPED_RESTART_REQUESTED"
            and (a["workspace_id"], a["instance_id"]) in set(deaths)}


def is_sweep(observer, sweep_id):
    """True for a sweep's id (its requests are on the checks topic), false for a hint's."""
    tally = observer.sweep(sweep_id)
    return tally is not None and tally["size"] is not None


def wait_flipped(run, deaths, message):
    return harness.wait_until(lambda: all(flips(run)[d] >= 1 for d in deaths), timeout=60,
                              interval=0.1, message=message)


def test_hinted_termination_flips_ahead_of_the_sweep_backlog(run):
    pipeline, observer, sim = run["pipeline"], run["observer"], run["sim"]
    started_ms = int(time.time() * 1000)
    pipeline.start("producer-a", wait="readyz")
    harness.wait_until(lambda: pipeline.metric("producer-a", "reconciler_producer_sweeps_total",
                                               {"result": "ok"}) >= 1,
                       timeout=60, interval=0.1, message="the first sweep enqueued")
    sweep_id = harness.wait_until(lambda: (observer.sweeps_started_after(started_ms) or [None])[0],
                                  timeout=30, message="the sweep seen on the checks topic")
    # Rows the sweep reaches late (the end of the keyset walk), terminated the way the cloud
    # would, and announced the way EventBridge's API destination would.
    deaths = [tuple(row) for row in harness.query_all(
        run["database_url"], "SELECT id::text, instance_id FROM workspaces ORDER BY id DESC LIMIT 3")]
    for workspace, instance in deaths:
        sim.admin("PUT", f"/instances/{workspace}", {"state": "terminated"})
        event = {"version": "0", "detail-type": "EC2 Instance State-change Notification",
                 "source": "aws.ec2", "detail": {"instance-id": instance, "state": "terminated"}}
        assert post_hint(run["hint_url"], event) == (202, {"queued": True})
    wait_flipped(run, deaths, "the hinted deaths flipped")
    tally = observer.sweep(sweep_id)
    # The backlog was still there when the hinted flips landed.
    assert len(tally["answered"]) < FLEET // 2, tally["answered"]
    # Each hint's urgent request was answered NOT_RUNNING. (librdkafka hands the sweep's
    # prefetched partitions out in blocks, so one of these rows may still, by chance, have been
    # answered by the sweep first; either way it was flipped ahead of the backlog.)
    def hinted():
        return {workspace for sweep in observer.sweep_ids() if not is_sweep(observer, sweep)
                for workspace in observer.sweep(sweep)["answered"]}

    harness.wait_until(lambda: {workspace for workspace, _ in deaths} <= hinted(), timeout=30,
                       message="the verdicts of the hints' urgent requests")
    assert hints(pipeline, "checked") >= 3
    assert pipeline.metric("checker-1", "reconciler_checker_urgent_requests_total") >= 3
    run["deaths"] = list(deaths)


def test_forged_and_malformed_hints_never_act(run):
    pipeline, sim, url = run["pipeline"], run["sim"], run["hint_url"]
    checked_before = hints(pipeline, "checked")
    # fleet-sim's forgeries: every termination also announces a running instance; and the
    # terminations themselves are not announced, so only forged hints arrive.
    deaths, announced = terminate(sim, 2, hint_drop_percent=100, hint_forge_percent=100)
    assert announced["forged"] == 2 and announced["sent"] == 0
    running = sim.admin("GET", "/instances?state=running&limit=3&offset=100")["instances"]
    for record in running:
        assert post_hint(url, {"instance_id": record["instance_id"]}) == (202, {"queued": True})
    assert post_hint(url, {"instance_id": "i-00000000000000000"})[0] == 202  # unknown
    spot = {"detail-type": "EC2 Spot Instance Interruption Warning",
            "detail": {"instance-id": running[0]["instance_id"], "instance-action": "terminate"}}
    assert post_hint(url, spot)[0] == 202  # a duplicate of the one just sent
    assert post_hint(url, {"instance_id": "x"}, token="wrong-token-wrong-token") == \
        (401, {"error": "unauthorized"})
    assert post_hint(url, b"{not json") == (400, {"error": "body_not_json"})
    assert post_hint(url, {"instance_id": 7}) == (400, {"error": "instance_id_invalid"})
    assert post_hint(url, {"detail-type": "EC2 Instance State-change Notification",
                           "detail": {"instance-id": "i-1", "state": "running"}}) == \
        (200, {"error": "not_a_termination"})
    assert post_hint(url, b'{"instance_id":"' + b"a" * 70000 + b'"}')[0] == 413

    harness.wait_until(lambda: hints(pipeline, "checked") >= checked_before + 5
                       and hints(pipeline, "unknown_instance") >= 1
                       and hints(pipeline, "duplicate") >= 1,
                       timeout=30, interval=0.2, message="every forged hint checked")
    for outcome in ("unauthorized", "body_not_json", "instance_id_invalid", "not_a_termination",
                    "too_large"):
        assert hints(pipeline, outcome) >= 1, outcome
    # Their urgent requests were answered RUNNING; give the actuator time to (not) act.
    harness.wait_until(lambda: pipeline.metric("checker-1", "reconciler_checker_urgent_requests_total")
                       >= 3 + 5, timeout=30, interval=0.2, message="urgent requests taken")
    time.sleep(2)
    # (The sweep may meanwhile flip this test's two unannounced deaths: those are real.)
    dead = set(run["deaths"]) | set(deaths)
    healthy = {key: count for key, count in flips(run).items() if key not in dead}
    assert not healthy, f"a forged hint flipped a workspace: {healthy}"
    run["undetected"] = list(deaths)  # never announced: the dropped-hint test heals them


def test_duplicate_hints_produce_one_flip(run):
    pipeline, sim = run["pipeline"], run["sim"]
    duplicates_before = hints(pipeline, "duplicate")
    deaths, announced = terminate(sim, 2, hint_duplicate_percent=100)
    assert announced["duplicated"] == 2
    wait_flipped(run, deaths, "the duplicated deaths flipped")
    harness.wait_until(lambda: hints(pipeline, "duplicate") >= duplicates_before + 2, timeout=30,
                       message="the second copies counted as duplicates")
    # A late copy, after the flip: the row is no longer in scope.
    assert post_hint(run["hint_url"], {"instance_id": deaths[0][1]}, )[0] == 202
    time.sleep(1)
    assert all(flips(run)[death] == 1 for death in deaths), flips(run)
    run["deaths"] += deaths


def test_dropped_hint_is_caught_by_the_sweep(run):
    pipeline, observer, sim = run["pipeline"], run["observer"], run["sim"]
    deaths, announced = terminate(sim, 2, hint_drop_percent=100)
    assert announced["sent"] == 0 and announced["dropped"] == 2
    undetected = run["undetected"] + deaths
    # The first sweep may still be answering; a second producer group sweeps at once.
    since_ms = int(time.time() * 1000)
    pipeline.start("producer-sweep", wait="readyz",
                   env={"PRODUCER_LOCK_KEY": str(uuid.uuid4().int % 2**62),
                        "PRODUCER_HINT_ADDR": "", "PRODUCER_HEARTBEAT_STALE_AFTER": "0"})
    wait_flipped(run, undetected, "the unannounced deaths flipped by a sweep")
    for death, flip_sweep in flip_sweeps(run, undetected).items():
        assert is_sweep(observer, flip_sweep), f"{death} flipped by something else than a sweep"
    # Every sweep answered: from here on only a hint can flip anything.
    harness.wait_until(lambda: pipeline.metric("producer-sweep", "reconciler_producer_sweeps_total",
                                               {"result": "ok"}) >= 1,
                       timeout=60, interval=0.1, message="the second sweep enqueued")
    second = harness.wait_until(lambda: (observer.sweeps_started_after(since_ms) or [None])[0],
                                timeout=30, message="the second sweep on the checks topic")
    harness.wait_until(lambda: observer.sweep(second)["complete"] and not observer.unanswered(),
                       timeout=60, interval=0.2, message="every sweep request answered")
    code, _ = pipeline.stop("producer-sweep")
    assert code == 0
    run["deaths"] += undetected


def test_stale_heartbeat_is_a_hint(run):
    pipeline, sim, database_url = run["pipeline"], run["sim"], run["database_url"]
    heartbeats_before = pipeline.metric("producer-a", "reconciler_producer_urgent_checks_total",
                                        {"source": "heartbeat"})
    deaths, _ = terminate(sim, 1, hint_drop_percent=100)
    (workspace, _), = deaths
    harness.query_one(database_url, "UPDATE workspaces SET last_heartbeat_at = now() - "
                      "interval '5 minutes' WHERE id = %s RETURNING 1", (workspace,))
    wait_flipped(run, deaths, "the workspace with a stale heartbeat flipped")
    assert not is_sweep(run["observer"], flip_sweeps(run, deaths)[deaths[0]])
    assert pipeline.metric("producer-a", "reconciler_producer_urgent_checks_total",
                           {"source": "heartbeat"}) >= heartbeats_before + 1
    run["deaths"] += deaths
    # Every death of the run flipped exactly once, and nothing else did.
    assert {d: c for d, c in flips(run).items()} == {d: 1 for d in run["deaths"]}
