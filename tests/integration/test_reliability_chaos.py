"""Reliability, crash chaos (issue #9, docs/reliability.md).

A 5,000-workspace fleet (CI's normal build) with two producers (one active, one standing by
on the advisory lock), two checkers and an actuator. For about a minute a driver SIGKILLs
one of them every 2-4 s and starts it again at once, in rounds that kill each kind once in
random order, so that each kind is killed several times:

- producers: the active one, mid-sweep or between sweeps; the driver waits for the standby
  to take over before starting the killed one again;
- checkers: while requests are in flight (every CP answer is delayed 20-120 ms);
- the actuator: while flipped workspaces wait for their restart (every restart answer is
  delayed 100-300 ms, and the driver waits for a pending restart before killing it; when
  the round's wave is already restarted, it terminates 3 more instances first).

Meanwhile 5 % of the fleet's instances are terminated, a wave at the start of each round. When the
chaos ends and the pipeline has settled, the invariants must hold
(harness.check_reliability_invariants: each terminated instance healed exactly once, no
healthy workspace flipped or changed, every request answered, every NOT_RUNNING verdict
decided, every Action published) and `reconciler-audit --verify --strict` passes.

Sizes: RECONCILER_RELIABILITY_CHAOS_FLEET (default 5000; 2500 in a sanitizer build),
RECONCILER_RELIABILITY_CHAOS_ROUNDS (default 6; 4 in a sanitizer build: each round kills
each kind once, 2-4 s apart, so 6 rounds are 18 kills over about a minute),
RECONCILER_RELIABILITY_CHAOS_SEED (the driver's random seed; default: random, printed).
"""

import collections
import random
import time

import harness


FLEET = harness.reliability_knob("CHAOS_FLEET", 5000, sanitized=2500)
ROUNDS = harness.reliability_knob("CHAOS_ROUNDS", 6, sanitized=4)
SEED = harness.reliability_knob("CHAOS_SEED", random.randrange(1 << 30))
TERMINATED = FLEET * 5 // 100
# Deaths added before an actuator kill that would otherwise find no restart pending.
EXTRA_WAVE = 3
MEMBERS = {"producer": ("producer-a", "producer-b"), "checker": ("checker-1", "checker-2"),
           "actuator": ("actuator",)}


def choose_victim(kind, pipeline, rng):
    """The member of `kind` to kill: the active producer (killing the standby proves little),
    a random checker, the actuator."""
    if kind == "producer":
        active = [n for n in MEMBERS["producer"]
                  if pipeline.metric(n, "reconciler_producer_active") == 1]
        return active[0] if active else rng.choice(MEMBERS["producer"])
    return rng.choice(MEMBERS[kind])


def poll_briefly(read, seconds=3.0):
    """`read()` until it is truthy or `seconds` passed; returns the last value (the driver
    prefers a kill at a busy moment but does not insist)."""
    deadline = time.monotonic() + seconds
    value = read()
    while not value and time.monotonic() < deadline:
        time.sleep(0.05)
        value = read()
    return value


def kill_and_restart(kind, database_url, sim, pipeline, rng, at):
    """SIGKILLs a member of `kind` at a busy moment and starts it again; returns what was
    going on at the kill, and the deaths it added to make that moment (`extra_deaths`)."""
    victim = choose_victim(kind, pipeline, rng)
    context = {"at": at, "victim": victim}
    if kind == "checker":
        # Mid-request: the CP answers take 20-120 ms, so requests are in flight during sweeps.
        context["in_flight"] = poll_briefly(
            lambda: pipeline.metric(victim, "reconciler_checker_in_flight"))
    elif kind == "producer":
        context["active"] = pipeline.metric(victim, "reconciler_producer_active") == 1
    else:
        # Between flip and restart: restarts pending in the outbox. When the round's wave is
        # already restarted (its kill came late in the round), a few more deaths make some:
        # flipped within a sweep or two, each restart then pending for its 100-300 ms answer.
        def pending():
            return harness.pending_restarts(database_url, pipeline.actuator_group)

        context["pending_restarts"] = poll_briefly(pending, seconds=1.0)
        if not context["pending_restarts"]:
            context["extra_deaths"] = sim.terminate(EXTRA_WAVE)
            context["pending_restarts"] = poll_briefly(pending, seconds=60.0)
    pipeline.kill(victim)
    if kind == "producer" and context["active"]:
        # Failover: the standby takes the lock (it retries every min(interval, 5 s)) before
        # the killed one comes back (which would otherwise win the lock at its start).
        standby = next(n for n in MEMBERS["producer"] if n != victim)
        killed_at = time.monotonic()
        harness.wait_until(lambda: pipeline.metric(standby, "reconciler_producer_active") == 1,
                           timeout=30, interval=0.1, message=f"{standby} taking over")
        context["failover_seconds"] = round(time.monotonic() - killed_at, 1)
    pipeline.start(victim)
    return context


def test_reliability_sigkill_chaos_keeps_every_invariant():
    rng = random.Random(SEED)
    print(f"chaos seed {SEED} (RECONCILER_RELIABILITY_CHAOS_SEED to repeat)", flush=True)
    settings = {
        "producer": {"PRODUCER_INTERVAL": f"{max(3, FLEET // 2500)}s"},
        "checker": {"CHECKER_CONCURRENCY": "256", "CHECKER_TIMEOUT": "2s"},
    }
    with harness.fresh_database() as database_url, harness.fresh_topics() as topics, \
            harness.pipeline_run(database_url, topics, settings,
                                 FLEETSIM_REPROVISION_DELAY="500ms") as (sim, observer, pipeline):
        run(database_url, topics, sim, observer, pipeline, rng)


def run(database_url, topics, sim, observer, pipeline, rng):
    started = time.monotonic()
    sim.seed(FLEET)
    rows_before = harness.workspace_rows(database_url)
    sim.add_fault(mode="latency", fixed_ms=20, jitter_ms=100)                      # CP answers
    sim.add_fault(mode="latency", endpoint="restart", fixed_ms=100, jitter_ms=200)  # restarts
    for kind in ("producer", "checker", "actuator"):
        for name in MEMBERS[kind]:
            pipeline.start(name)

    deaths = []
    waves = [TERMINATED // ROUNDS + (1 if i < TERMINATED % ROUNDS else 0) for i in range(ROUNDS)]
    kills = collections.Counter()
    kill_log = []
    chaos_started = time.monotonic()
    for round_number in range(ROUNDS):
        # A wave of deaths per round; within the round each kind is killed once, in random order.
        deaths += sim.terminate(waves[round_number])
        for kind in rng.sample(list(MEMBERS), len(MEMBERS)):
            # Pacing of the chaos itself (not a wait for a condition): 2-4 s between kills.
            time.sleep(rng.uniform(2.0, 4.0))
            context = kill_and_restart(kind, database_url, sim, pipeline, rng,
                                       round(time.monotonic() - chaos_started, 1))
            extra = context.pop("extra_deaths", [])
            deaths += extra
            if extra:
                context["extra_deaths"] = len(extra)
            kill_log.append(context)
            kills[kind] += 1
    chaos_seconds = time.monotonic() - chaos_started
    assert any(k.get("pending_restarts") for k in kill_log), kill_log
    assert any(k.get("in_flight") for k in kill_log), kill_log

    # Settle: the pipeline heals every death by itself, then stops enqueueing.
    harness.wait_deaths_healed(database_url, sim, pipeline, deaths, interval=1.0)
    healed_seconds = time.monotonic() - chaos_started - chaos_seconds
    drain = harness.settle_pipeline(database_url, topics, observer, pipeline, MEMBERS["producer"])
    drain_seconds = drain["on_topic"]

    figures = harness.verify_reliability_run(database_url, topics, sim, observer, pipeline,
                                             deaths, rows_before)
    figures.update({
        "fleet": FLEET, "seed": SEED, "rounds": ROUNDS, "chaos_seconds": round(chaos_seconds, 1),
        "kills": dict(kills), "kills_total": sum(kills.values()),
        "actuator_kills_with_pending_restarts": sum(
            1 for k in kill_log if k.get("pending_restarts")),
        "checker_kills_with_requests_in_flight": sum(1 for k in kill_log if k.get("in_flight")),
        "active_producer_kills": sum(1 for k in kill_log if k.get("active")),
        "failover_seconds_max": max((k["failover_seconds"] for k in kill_log
                                     if "failover_seconds" in k), default=None),
        "heal_after_chaos_seconds": round(healed_seconds, 1),
        "drain_seconds": round(drain_seconds, 1), "drain_phases": drain,
        "total_seconds": round(time.monotonic() - started, 1),
        "processes_started": len(pipeline.history),
        "extra_deaths": sum(k.get("extra_deaths", 0) for k in kill_log),
    })
    harness.report_figures("crash_chaos", figures)
    print("kills:", kill_log, flush=True)
