"""The fast-path benchmark (issue #15): hinted termination -> flip, measured while a full sweep
of the fleet is being answered. Started by bench/run.sh --fast-path (which installs, builds
and starts PostgreSQL + Kafka first), or directly with the stack's env file sourced:

    python bench/fast_path_bench.py --build build/bench [--workspaces 100000] [--hints 50]

One run on fresh state (pipeline_bench.Scenario: its own database, topics, fleet-sim):

1. fleet-sim seeds N workspaces and announces every termination to the producer's hint
   endpoint (FLEETSIM_HINT_URL), forging one hint about a *running* instance per termination
   (FLEETSIM_HINT_FORGE_PERCENT=100); the CP answers after 20 ms + 0..10 ms jitter.
2. Actuator and C checkers start; then the producer (PRODUCER_HINT_ADDR on), which sweeps the
   whole fleet at once: N CheckRequests queued ahead of any hint.
3. While that sweep is being answered, H instances are terminated one at a time, evenly over
   the expected sweep time. Each termination's moment is fleet-sim's stopped_at_ms; its flip is
   the actuator's FLIPPED_RESTART_REQUESTED Action (acted_at), read from the database.
4. Printed and written to bench/results/fast_path.{json,md}: terminate -> flip p50/p95/p99/max;
   how many flips landed before the sweep was fully answered (the sweep's progress at each
   flip, from the checkers' verdict counters); flips of healthy (forged-about) workspaces,
   which must be 0; the load average before and after (the machine may be shared).

Nothing here asserts a time: it measures and writes numbers down.
"""

import argparse
import json
import os
import sys
import threading
import time
import uuid

import bench_common as bc
import pipeline_bench as pb

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "bench-fast-path-" + uuid.uuid4().hex


class ProgressWatch(threading.Thread):
    """Samples the verdicts the checkers delivered (sum of their counters) every 100 ms."""

    def __init__(self, scenario, checkers):
        super().__init__(daemon=True)
        self.scenario, self.checkers = scenario, checkers
        self.samples = []  # (wall s, verdicts)
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            total = sum(bc.metric_sum(self.scenario.scrape(f"checker-{i}"),
                                      "reconciler_checker_verdicts_total")
                        for i in range(1, self.checkers + 1))
            self.samples.append((time.time(), total))
            self.stopping.wait(0.1)

    def verdicts_at(self, wall_s):
        before = [count for moment, count in self.samples if moment <= wall_s]
        return before[-1] if before else 0


def flips(database_url):
    """{(workspace, instance): acted_at ms} of every flip."""
    with bc.psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT workspace_id, instance_id, (extract(epoch FROM acted_at) * 1000)::bigint "
            "FROM reconciler_actuator_actions WHERE outcome = 'FLIPPED_RESTART_REQUESTED'").fetchall()
    return {(row[0], row[1]): row[2] for row in rows}


def run(args):
    hint_port = bc.free_port()
    scenario = pb.Scenario(args, "fast_path")
    result = {"workspaces": args.workspaces, "checkers": args.checkers, "hints": args.hints,
              "latency_ms": args.latency_ms, "jitter_ms": args.jitter_ms,
              "loadavg_before": pb.loadavg(), "machine": pb.machine()}
    try:
        scenario.setup(args.workspaces, sim_env={
            "FLEETSIM_HINT_URL": f"http://127.0.0.1:{hint_port}/hints",
            "FLEETSIM_HINT_TOKEN": TOKEN, "FLEETSIM_HINT_FORGE_PERCENT": "100"})
        bc.http_json("POST", f"{scenario.sim_url}/admin/faults",
                     {"mode": "latency", "fixed_ms": args.latency_ms, "jitter_ms": args.jitter_ms})
        scenario.sampler.start()
        scenario.start_consumers(args.checkers)
        watch = ProgressWatch(scenario, args.checkers)
        watch.start()
        sweep_started = time.time()
        scenario.start_producer(3600, {"PRODUCER_HINT_ADDR": f"127.0.0.1:{hint_port}",
                                       "PRODUCER_HINT_TOKEN": TOKEN})
        time.sleep(args.first_hint_after)
        spacing = args.spread / max(1, args.hints)
        deaths = []
        for _ in range(args.hints):
            answer = bc.http_json("POST", f"{scenario.sim_url}/admin/terminate", {"count": 1})
            deaths.append((answer["workspace_ids"][0], answer["instance_ids"][0]))
            time.sleep(spacing)
        deadline = time.time() + 120
        while time.time() < deadline and not all(d in flips(scenario.database_url) for d in deaths):
            time.sleep(0.2)
        # Let the sweep finish, so that its end is known and late flips (of forged hints) show.
        while time.time() < deadline and watch.verdicts_at(time.time()) < args.workspaces:
            time.sleep(0.2)
        time.sleep(2)
        watch.stopping.set()
        watch.join()
        flipped = flips(scenario.database_url)
        sweep_done = next((moment for moment, count in watch.samples if count >= args.workspaces), None)
        latencies, progress, during_sweep = [], [], 0
        for workspace, instance in deaths:
            record = bc.http_json("GET", f"{scenario.sim_url}/admin/instances/{workspace}")
            stopped_ms = record.get("stopped_at_ms")
            acted_ms = flipped.get((workspace, instance))
            if stopped_ms is None or acted_ms is None:
                continue
            latencies.append(acted_ms - stopped_ms)
            answered = watch.verdicts_at(acted_ms / 1000.0)
            progress.append(round(100.0 * answered / args.workspaces, 1))
            during_sweep += answered < args.workspaces
        healthy = [key for key in flipped if key not in set(deaths)]
        producer = scenario.scrape("producer")
        result.update({
            "terminate_to_flip_ms": bc.percentiles(latencies),
            "flipped": len(latencies), "terminated": len(deaths),
            "flipped_before_the_sweep_was_answered": during_sweep,
            "sweep_progress_at_flip_percent": bc.percentiles(progress),
            "sweep_answered_s": round(sweep_done - sweep_started, 1) if sweep_done else None,
            "healthy_flips": len(healthy),
            "hints": {outcome: bc.metric_sum(producer, "reconciler_producer_hints_total",
                                             outcome=outcome)
                      for outcome in ("queued", "checked", "duplicate", "unknown_instance")},
            "loadavg_after": pb.loadavg(),
        })
    finally:
        scenario.teardown()
    return result


def report(result):
    latency = result["terminate_to_flip_ms"] or {}
    progress = result["sweep_progress_at_flip_percent"] or {}
    lines = [
        "# Fast path: hinted termination -> flip during a full sweep",
        "",
        f"{result['workspaces']:,} workspaces, {result['checkers']} checkers, CP latency "
        f"{result['latency_ms']} ms + 0..{result['jitter_ms']} ms; {result['terminated']} hinted "
        "terminations spread over the sweep, each with one forged hint about a running instance.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| terminate -> flip p50 / p95 / p99 / max (ms) | {latency.get('p50')} / "
        f"{latency.get('p95')} / {latency.get('p99')} / {latency.get('max')} |",
        f"| flipped / terminated | {result['flipped']} / {result['terminated']} |",
        f"| flipped before the sweep was fully answered | {result['flipped_before_the_sweep_was_answered']} |",
        f"| sweep progress at the flip, p50 / max (%) | {progress.get('p50')} / {progress.get('max')} |",
        f"| sweep answered after (s) | {result['sweep_answered_s']} |",
        f"| healthy workspaces flipped (forged hints) | {result['healthy_flips']} |",
        f"| hints by outcome | {result['hints']} |",
        f"| load average before / after | {result['loadavg_before']} / {result['loadavg_after']} |",
        f"| machine | {result['machine']} |",
        "",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", required=True, help="Release build directory")
    # (flag, type, default, help): the run's shape; the defaults are the targets.
    options = (
        ("--hints", int, 50, "hinted terminations"),
        ("--workspaces", int, 100000, "fleet size: one full sweep of it is queued first"),
        ("--checkers", int, 2, None),
        ("--first-hint-after", float, 2.0, "seconds after the producer started"),
        # A 100,000 sweep takes 5-6 s here: 2 s in, over 3 s, every hint lands mid-sweep.
        ("--spread", float, 3.0, "seconds over which the terminations are spread"),
        ("--latency-ms", int, 20, "CP latency"),
        ("--jitter-ms", int, 10, "CP latency jitter"),
        ("--concurrency", int, 256, "CHECKER_CONCURRENCY"),
        ("--max-restarts-per-min", int, 6000, "the actuator's flip and restart rates"),
        ("--schema-registry-url", str, "", "Confluent-API schema registry; empty: single-object encoding"),
        ("--results", str, os.path.join(HERE, "results"), None),
        ("--scratch", str, os.path.join(HERE, "results", "tmp"), "logs of the run"),
    )
    for flag, kind, default, text in options:
        parser.add_argument(flag, type=kind, default=default, help=text)
    args = parser.parse_args()
    result = run(args)
    text = report(result)
    print(text)
    os.makedirs(args.results, exist_ok=True)
    with open(os.path.join(args.results, "fast_path.json"), "w") as handle:
        json.dump(result, handle, indent=2)
    with open(os.path.join(args.results, "fast_path.md"), "w") as handle:
        handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
