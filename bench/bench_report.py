"""Writes the pipeline benchmark's results: JSON (everything measured), a Markdown table
(what docs/performance.md shows) and two PNG plots. Also the hang scenario's JSON and
Markdown. Called by bench/pipeline_bench.py; `python3 bench/bench_report.py` re-renders the
Markdown and plots from the JSON files already in bench/results/.
"""

import json
import os
import sys

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt  # noqa: E402


def _fmt(value, digits=1):
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def _seconds(ms):
    if ms is None:
        return "–"
    return f"{ms / 1000:.2f}" if ms < 10000 else f"{ms / 1000:.1f}"


def headline_of(report):
    wanted = report["headline"]
    for scenario in report["scenarios"]:
        if scenario["workspaces"] == wanted["workspaces"] and scenario["checkers"] == wanted["checkers"]:
            return scenario
    return report["scenarios"][-1]


def _latency(scenario, stage):
    stats = (scenario.get("victims") or {}).get("latency_ms", {}).get(stage)
    return stats


def _pair(stats, a="p50", b="p99"):
    return "–" if not stats else f"{_seconds(stats[a])} / {_seconds(stats[b])}"


def _cpu(scenario, name):
    process = scenario.get("resources", {}).get("processes", {}).get(name)
    return None if process is None else process["cpu_s_per_1k_checks"]


def _rss(scenario, name):
    process = scenario.get("resources", {}).get("processes", {}).get(name)
    return None if process is None else process["peak_rss_mib"]


def ratio(scenario):
    baseline = scenario.get("baseline")
    if not baseline or not scenario.get("checks_per_s") or not baseline["checks_per_s_while_busy"]:
        return None
    return scenario["checks_per_s"]["median"] / baseline["checks_per_s_while_busy"]


def pipeline_markdown(report):
    head = headline_of(report)
    machine = report["machine"]
    settings = report["settings"]
    interval = settings["interval_s"]
    lines = [
        "# Pipeline benchmark",
        "",
        f"Run {report['date']} with `{report['command']}` on {machine['cpus']} CPUs ({machine['cpu_model']}), "
        f"{machine['memory_gib']} GiB, Release build. Load average at start "
        f"{', '.join(str(v) for v in report['loadavg_at_start'])}, at end "
        f"{', '.join(str(v) for v in report['loadavg_at_end'])}.",
        "",
        f"Everything on this machine: Kafka, PostgreSQL, fleet-sim (CP latency {settings['latency_ms']} ms + "
        f"uniform 0–{settings['jitter_ms']} ms), 1 producer (PRODUCER_INTERVAL {interval} s), the checkers "
        f"(CHECKER_CONCURRENCY {settings['checker_concurrency']} each), 1 actuator "
        f"(ACTUATOR_MAX_RESTARTS_PER_MIN and ACTUATOR_MAX_FLIPS_PER_MIN "
        f"{settings['actuator_max_restarts_per_min']}); "
        f"{settings['terminate_percent']} % of the instances terminated in {settings['termination_waves']} "
        f"waves at random moments of the first interval; {settings['sweeps']} sweeps per scenario.",
        "",
    ]
    baseline = head.get("baseline")
    cov = head.get("full_coverage_s") or {}
    rate = head.get("checks_per_s") or {}
    flip = _latency(head, "terminate_to_flip")
    checker_rss = head.get("resources", {}).get("checkers_total", {}).get("peak_rss_mib_max")
    lines += [
        f"## Headline: {head['workspaces']:,} workspaces, {head['checkers']} checkers",
        "",
        "| figure | measured | target |",
        "|---|---|---|",
        f"| full coverage: sweep start → the sweep's last verdict (median; min–max of {len(head.get('sweeps', []))}) "
        f"| **{_fmt(cov.get('median'))} s** ({_fmt(cov.get('min'))}–{_fmt(cov.get('max'))}) | ≤ 30 s, aim 10 s |",
        f"| checks/s end to end (median) | **{_fmt(rate.get('median'), 0)}** | ≥ 3,300 |",
    ]
    if baseline:
        r = ratio(head)
        lines += [
            f"| sequential baseline, checks/s while working | {_fmt(baseline['checks_per_s_while_busy'])} | |",
            f"| **throughput ratio, pipeline / baseline** | **{_fmt(r, 0)}×** | ≥ 50× |",
            f"| workspaces checked per interval, pipeline / baseline | {head['workspaces']:,} (100 %) / "
            f"{_fmt(baseline['checks_per_interval'], 0)} ({baseline['coverage_share_per_interval'] * 100:.2f} %) | |",
        ]
    peer = head.get("peer")
    if peer and "full_coverage_s" in peer and cov.get("median"):
        lines += [
            f"| peer (bench/peer, one Go process, {peer['concurrency']} goroutines), full coverage (median; "
            f"min–max of {len(peer['sweeps'])}) | {_fmt(peer['full_coverage_s']['median'])} s "
            f"({_fmt(peer['full_coverage_s']['min'])}–{_fmt(peer['full_coverage_s']['max'])}) | |",
            f"| **peer's full-coverage time over ours** | **{peer['full_coverage_s']['median'] / cov['median']:.2f}×** "
            f"| ≥ 1.0×, stretch 1.5× |",
        ]
    elif peer:
        lines.append(f"| peer (bench/peer) | failed: {peer.get('failed')} | |")
    if flip:
        lines.append(f"| terminate → flip p99 (max) | {_seconds(flip['p99'])} s ({_seconds(flip['max'])} s) "
                     f"| ≤ interval + 5 s = {interval + 5} s |")
    lines += [
        f"| peak RSS: producer / checker (largest) / actuator | {_fmt(_rss(head, 'producer'))} / "
        f"{_fmt(checker_rss)} / {_fmt(_rss(head, 'actuator'))} MiB | ≤ 32 / 64 / 32 MiB |",
        "",
        "## Latency of a terminated instance (headline), seconds",
        "",
        "Measured from fleet-sim's `stopped_at_ms` (the moment it terminated the instance) to the first "
        "NOT_RUNNING verdict about it (`checked_at`), the Action `FLIPPED_RESTART_REQUESTED` and the Action "
        "`RESTART_ACCEPTED` (`acted_at`).",
        "",
        "| stage | count | p50 | p95 | p99 | max |",
        "|---|---|---|---|---|---|",
    ]
    names = {"terminate_to_detect": "terminate → detected", "detect_to_flip": "detected → flipped",
             "terminate_to_flip": "terminate → flipped", "flip_to_restart_accepted": "flipped → restart accepted",
             "terminate_to_restart_accepted": "terminate → restart accepted"}
    for stage, title in names.items():
        stats = _latency(head, stage)
        if stats:
            lines.append(f"| {title} | {stats['count']:,} | {_seconds(stats['p50'])} | {_seconds(stats['p95'])} "
                         f"| {_seconds(stats['p99'])} | {_seconds(stats['max'])} |")
    victims = head.get("victims", {})
    counts = victims.get("counts", {})
    worker = head.get("restart_worker")
    lines += [
        "",
        f"Terminated {counts.get('terminated', 0):,}; detected {counts.get('detected', 0):,}; flipped "
        f"{counts.get('flipped', 0):,}; restarts accepted {counts.get('restart_accepted', 0):,}; healthy "
        f"workspaces flipped {victims.get('healthy_workspaces_flipped', 0)}.",
    ]
    if worker:
        lines += [
            "",
            f"The actuator's restart worker (one sequential thread) got {worker['per_s_during_sweeps']} restarts/s "
            f"accepted while a sweep saturated the machine, and up to {worker['busiest_second_between_sweeps']} in "
            f"a second between sweeps (the token bucket allows "
            f"{report['settings']['actuator_max_restarts_per_min'] // 60}/s).",
        ]
    lines += [
        "",
        "## Cost growth: workspaces × checkers",
        "",
        "Coverage and checks/s: median over the sweeps. CPU: seconds of CPU (utime + stime) per 1,000 checks "
        "over the whole run (idle time between sweeps included). Busy cores: the whole machine's CPU use "
        "during the sweeps' coverage windows (2.0 = both cores saturated).",
        "",
        "| workspaces | checkers | full coverage s | checks/s | terminate → flip p50 / p99 s "
        "| flip → accepted p50 / p99 s | CPU s / 1k checks: producer / checkers / actuator "
        "| peak RSS MiB: producer / checker / actuator | busy cores | load avg before |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for scenario in report["scenarios"]:
        resources = scenario.get("resources", {})
        checkers = resources.get("checkers_total", {})
        cov = scenario.get("full_coverage_s") or {}
        rate = scenario.get("checks_per_s") or {}
        lines.append(
            f"| {scenario['workspaces']:,} | {scenario['checkers']} | {_fmt(cov.get('median'))} "
            f"| {_fmt(rate.get('median'), 0)} | {_pair(_latency(scenario, 'terminate_to_flip'))} "
            f"| {_pair(_latency(scenario, 'flip_to_restart_accepted'))} "
            f"| {_fmt(_cpu(scenario, 'producer'), 3)} / {_fmt(checkers.get('cpu_s_per_1k_checks'), 3)} / "
            f"{_fmt(_cpu(scenario, 'actuator'), 3)} "
            f"| {_fmt(_rss(scenario, 'producer'))} / {_fmt(checkers.get('peak_rss_mib_max'))} / "
            f"{_fmt(_rss(scenario, 'actuator'))} "
            f"| {_fmt(resources.get('machine_cores_busy_during_sweeps'), 2)} "
            f"| {scenario['loadavg_before'][0]} |")
    lines += [
        "",
        "## Where the CPU goes during a sweep (headline)",
        "",
        "| process | cores busy during the sweeps | CPU s / 1k checks | peak RSS MiB |",
        "|---|---|---|---|",
    ]
    resources = head.get("resources", {})
    for name, process in resources.get("processes", {}).items():
        lines.append(f"| {name} | {_fmt(process['cores_during_sweeps'], 2)} "
                     f"| {_fmt(process['cpu_s_per_1k_checks'], 3)} | {_fmt(process['peak_rss_mib'])} |")
    if "other_processes_cores_during_sweeps" in resources:
        lines.append(f"| other processes on the machine | {_fmt(resources['other_processes_cores_during_sweeps'], 2)} "
                     f"| | |")
        lines.append(f"| **whole machine** | **{_fmt(resources['machine_cores_busy_during_sweeps'], 2)}** | | |")
    if baseline:
        v = baseline["victims"]
        lines += [
            "",
            "## Sequential baseline (bench/baseline/sequential_sweeper.c)",
            "",
            f"Every {baseline['interval_s']} s: `SELECT … ORDER BY updated_at DESC LIMIT {baseline['limit']}`, then "
            f"one blocking status request after another ({baseline['timeout_s']} s timeout), flip and restart "
            f"inline. Run {baseline['mode']}, against the same database and fleet-sim (same latency), "
            f"for {len(baseline['intervals'])} intervals.",
            "",
            "| figure | value |",
            "|---|---|",
            f"| checks per interval | {_fmt(baseline['checks_per_interval'], 0)} "
            f"({baseline['coverage_share_per_interval'] * 100:.2f} % of {head['workspaces']:,}) |",
            f"| time working per interval | {_fmt(baseline['busy_s'] / max(1, len(baseline['intervals'])))} s |",
            f"| checks/s while working | {_fmt(baseline['checks_per_s_while_busy'])} |",
            f"| CP latency p50 / p99 | {baseline['cp_latency_ms']['p50']} / {baseline['cp_latency_ms']['p99']} ms |",
            f"| distinct workspaces ever checked | {baseline['distinct_workspaces_ever_checked']:,} of "
            f"{head['workspaces']:,} |",
            f"| instances terminated at its start | {v['terminated']:,} |",
            f"| … detected | {v['detected']:,} |",
            f"| … **never detected** | **{v['never_detected_count']:,}** (ids in pipeline.json) |",
            f"| time to check the whole fleet, if it walked every row at this rate | "
            f"{_fmt(baseline['whole_fleet_if_it_walked_everything_s'], 0)} s "
            f"({_fmt((baseline['whole_fleet_if_it_walked_everything_s'] or 0) / 60, 1)} min); as written, never "
            f"(the same {baseline['limit']} most recently updated rows every interval) |",
            f"| CPU s / 1k checks, peak RSS | {_fmt(baseline['cpu_s_per_1k_checks'], 3)} s, "
            f"{_fmt(baseline['peak_rss_mib'])} MiB |",
        ]
    if peer and "full_coverage_s" in peer:
        lines += [
            "",
            "## Peer (bench/peer/main.go)",
            "",
            "One Go process: a keyset walk of the scope (docs/contracts.md §2) by pages of 5,000 feeding "
            f"{peer['concurrency']} goroutines that share one keep-alive `http.Client`, the same fail-safe "
            "classification, no Kafka, no flips. Run "
            f"{peer['mode']}, against the same database and fleet-sim (same latency).",
            "",
            "| sweep | full coverage s | checked | RUNNING | NOT_RUNNING | UNKNOWN |",
            "|---|---|---|---|---|---|",
        ]
        for sweep in peer["sweeps"]:
            lines.append(f"| {sweep['sweep']} | {_fmt(sweep['duration_s'], 2)} | {sweep['checked']:,} | "
                         f"{sweep['running']:,} | {sweep['not_running']:,} | {sweep['unknown']:,} |")
        lines += ["", f"Peer: {_fmt(peer['checks_per_s'], 0)} checks/s, {_fmt(peer['cpu_s_per_1k_checks'], 3)} CPU s "
                  f"/ 1k checks, peak RSS {_fmt(peer['peak_rss_mib'])} MiB; load average after "
                  f"{', '.join(str(x) for x in peer['loadavg_after'])}."]
    lines += ["", "Plots: `pipeline_coverage.png` (coverage over time, both systems), "
              "`pipeline_latency.png` (latency distribution).", ""]
    return "\n".join(lines)


def plot_coverage(report, path):
    head = headline_of(report)
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    for index, sweep in enumerate(s for s in head.get("sweeps", []) if s.get("curve")):
        xs, ys = zip(*sweep["curve"])
        left.plot(xs, ys, label=f"pipeline, sweep {index + 1} ({head['checkers']} checkers)", linewidth=1.8)
    peer = head.get("peer")
    if peer and peer.get("curve"):
        xs, ys = zip(*peer["curve"])
        left.plot(xs, ys, color="tab:red", linestyle="-.", label="peer (one Go process), first sweep")
    baseline = head.get("baseline")
    if baseline and baseline.get("curve"):
        xs, ys = zip(*baseline["curve"])
        end = baseline["interval_s"] * len(baseline["intervals"])
        left.step(list(xs) + [end], list(ys) + [ys[-1]], where="post", color="black",
                  label=f"sequential baseline (distinct workspaces, {len(baseline['intervals'])} intervals)")
        # Its throughput, had it walked every row instead of the same 200: a straight line.
        rate = baseline["checks_per_s_while_busy"]
        xs = [0.5 * i for i in range(1, 2 * int(end) + 1)]
        left.plot(xs, [rate * x for x in xs], color="black", linestyle="--", linewidth=0.8,
                  label=f"sequential baseline's rate ({rate:.0f} checks/s) if it walked every row")
    left.axhline(head["workspaces"], color="grey", linestyle=":", linewidth=1)
    left.set_yscale("log")
    left.set_ylim(1, head["workspaces"] * 2)
    left.set_xlabel("seconds since sweep start")
    left.set_ylabel("workspaces checked (log)")
    left.set_title(f"{head['workspaces']:,} workspaces: pipeline vs sequential sweeper")
    left.legend(fontsize=8, loc="lower right")
    left.grid(True, which="both", alpha=0.3)

    for scenario in report["scenarios"]:
        if scenario["workspaces"] != head["workspaces"]:
            continue
        sweeps = [s for s in scenario.get("sweeps", []) if s.get("curve")]
        if not sweeps:
            continue
        sweep = sorted(sweeps, key=lambda s: s["full_coverage_s"])[len(sweeps) // 2]  # the median one
        xs, ys = zip(*sweep["curve"])
        right.plot(xs, [y / scenario["workspaces"] * 100 for y in ys],
                   label=f"{scenario['checkers']} checker(s): {sweep['full_coverage_s']:.1f} s")
    for scenario in report["scenarios"]:
        if scenario["workspaces"] == head["workspaces"] or scenario["checkers"] != head["checkers"]:
            continue
        sweeps = [s for s in scenario.get("sweeps", []) if s.get("curve")]
        if sweeps:
            sweep = sorted(sweeps, key=lambda s: s["full_coverage_s"])[len(sweeps) // 2]
            xs, ys = zip(*sweep["curve"])
            right.plot(xs, [y / scenario["workspaces"] * 100 for y in ys], linestyle="--",
                       label=f"{scenario['workspaces']:,} workspaces, {scenario['checkers']} checkers: "
                             f"{sweep['full_coverage_s']:.1f} s")
    right.set_xlabel("seconds since sweep start")
    right.set_ylabel("% of the sweep's workspaces checked")
    right.set_title("one sweep (the median one) per scenario")
    right.legend(fontsize=8, loc="lower right")
    right.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_latency(report, path):
    """CDFs: from termination (left, with the p99 target) and stage by stage (right)."""
    head = headline_of(report)
    samples = (head.get("victims") or {}).get("samples_ms") or {}
    interval = report["settings"]["interval_s"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))

    def cdf(axis, stage, title):
        values = sorted(samples.get(stage) or [])
        if values:
            xs = [v / 1000 for v in values]
            ys = [(i + 1) / len(values) * 100 for i in range(len(values))]
            stats = head["victims"]["latency_ms"][stage]
            axis.plot(xs, ys, label=f"{title} (p50 {_seconds(stats['p50'])} s, p99 {_seconds(stats['p99'])} s)")

    cdf(left, "terminate_to_detect", "terminate → detected")
    cdf(left, "terminate_to_flip", "terminate → flipped")
    cdf(left, "terminate_to_restart_accepted", "terminate → restart accepted")
    left.axvline(interval + 5, color="red", linestyle=":",
                 label=f"target, p99 of terminate → flipped: interval + 5 s = {interval + 5} s")
    left.set_xlim(0, interval + 10)
    left.set_title(f"from termination ({head['workspaces']:,} workspaces, {head['checkers']} checkers, "
                   f"interval {interval} s)")
    cdf(right, "detect_to_flip", "detected → flipped")
    cdf(right, "flip_to_restart_accepted", "flipped → restart accepted")
    right.set_xlim(left=0)
    right.set_title("stage by stage")
    for axis in (left, right):
        axis.set_xlabel("seconds")
        axis.set_ylabel("% of terminated instances")
        axis.legend(fontsize=8, loc="lower right")
        axis.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _strip_for_json(report):
    """Per-instance samples are kept for the headline only (the latency plot); the JSON of
    the other scenarios keeps their percentiles."""
    head = headline_of(report)
    for scenario in report["scenarios"]:
        if scenario is not head and scenario.get("victims"):
            scenario["victims"].pop("samples_ms", None)
    return report


def dump_json(value, path):
    """JSON with one key per line but every list of numbers or pairs on one line: readable
    and diffable, without a line per number of the coverage curves."""
    def render(item, depth):
        pad = " " * depth
        if isinstance(item, dict):
            if not item:
                return "{}"
            inner = ",\n".join(f"{pad} {json.dumps(key)}: {render(val, depth + 1)}" for key, val in item.items())
            return "{\n" + inner + "\n" + pad + "}"
        if isinstance(item, list) and any(isinstance(element, dict) for element in item):
            inner = ",\n".join(pad + " " + render(element, depth + 1) for element in item)
            return "[\n" + inner + "\n" + pad + "]"
        return json.dumps(item, ensure_ascii=False)

    with open(path, "w") as handle:
        handle.write(render(value, 0) + "\n")


def write_pipeline(report, results_dir, name="pipeline"):
    """`name`: the files' stem, pipeline (the headline) or million (bench/run.sh --million)."""
    report = _strip_for_json(report)
    dump_json(report, os.path.join(results_dir, f"{name}.json"))
    render_pipeline(report, results_dir, name)


def render_pipeline(report, results_dir, name="pipeline"):
    text = pipeline_markdown(report).replace("pipeline_coverage.png", f"{name}_coverage.png") \
        .replace("pipeline_latency.png", f"{name}_latency.png")
    with open(os.path.join(results_dir, f"{name}.md"), "w") as handle:
        handle.write(text)
    plot_coverage(report, os.path.join(results_dir, f"{name}_coverage.png"))
    plot_latency(report, os.path.join(results_dir, f"{name}_latency.png"))
    print(text)


def hang_markdown(report):
    hang = report["hang"]
    machine = report["machine"]
    interval = hang["interval_s"]
    peak = hang["peak_rss_mib"]
    checkers = [n for n in peak if n.startswith("checker-")]
    lines = [
        "# Hanging CP scenario",
        "",
        f"Run {report['date']} with `{report['command']}` on {machine['cpus']} CPUs ({machine['cpu_model']}); "
        f"load average at start {', '.join(str(v) for v in report['loadavg_at_start'])}.",
        "",
        f"{hang['workspaces']:,} workspaces, {hang['checkers']} checkers (CHECKER_CONCURRENCY "
        f"{hang['checker_concurrency']}, CHECKER_TIMEOUT {hang['checker_timeout']}), PRODUCER_INTERVAL {interval} s "
        f"(so PRODUCER_DEADLINE {interval} s). fleet-sim's `hang` fault holds every status request until the "
        f"client gives up, for {hang['hang_intervals']}.5 intervals; then the fault is cleared and the run goes on "
        f"for {hang['recovery_intervals']} intervals.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| requests enqueued by the producer while the CP hung | {hang['requests_enqueued_during_hang']:,} |",
        f"| verdicts while the CP hung (all UNKNOWN) | {hang['verdicts_during_hang']:,} "
        f"({', '.join(f'{k}: {v:,}' for k, v in hang['verdict_reasons_during_hang'].items())}) |",
        f"| most CP requests in flight (checkers) / held at the CP | {hang['max_in_flight']:.0f} / "
        f"{hang['max_held_requests_at_cp']:.0f} |",
        "| checker RSS, largest per hanging interval (MiB) | "
        + "; ".join(f"{n}: {' → '.join(_fmt(v) for v in hang['checker_rss_mib_max_per_hang_interval'][n])}"
                    for n in checkers) + " |",
        f"| peak RSS (VmHWM): checkers / producer / actuator (MiB) | "
        f"{' / '.join(_fmt(peak[n]) for n in checkers)} / {_fmt(peak['producer'])} / {_fmt(peak['actuator'])} |",
        f"| producer sweep starts, seconds apart | {', '.join(f'{g:.2f}' for g in hang['sweep_start_gaps_s'])} "
        f"(largest deviation from {interval} s: {hang['sweep_start_gap_max_deviation_s']} s) |",
        f"| requests skipped as expired (reconciler_checker_expired_total) | {hang['expired_requests_skipped']:,.0f} |",
        f"| CP requests fleet-sim received after the fault was cleared | {hang['cp_requests_received_after_clear']:,.0f} |",
        f"| … by sweep | {', '.join(f'{k}: {v:,}' for k, v in hang['cp_requests_after_clear_by_sweep'].items())} |",
        f"| **CP requests made for a request past its deadline** | **{hang['cp_requests_for_expired_requests']:,}** "
        f"(at most {hang.get('cp_requests_for_expired_requests_max_overshoot_ms', '–')} ms past it; more than "
        f"100 ms past it: {hang.get('cp_requests_started_more_than_100ms_after_deadline', '–')}) |",
        f"| consumer lag at the end | {hang['consumer_lag_at_end']:,.0f} |",
        "",
    ]
    return "\n".join(lines)


def plot_hang(report, path):
    hang = report["hang"]
    start, cleared = hang["started_at"], hang["cleared_at"]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7.2), sharex=True)
    names = sorted({name for row in hang["timeline"] for name in row["rss_mib"]})
    for name in names:
        points = [(row["t"] - start, row["rss_mib"][name]) for row in hang["timeline"] if name in row["rss_mib"]]
        if points:
            xs, ys = zip(*points)
            top.plot(xs, ys, label=name)
    top.set_ylabel("RSS (MiB)")
    top.set_ylim(bottom=0)
    top.set_title(f"CP hangs until {hang['checker_timeout']} timeout, then recovers: "
                  f"{hang['workspaces']:,} workspaces, interval {hang['interval_s']} s")
    top.legend(fontsize=8, loc="lower right")
    rows = hang["observations"]
    xs = [row["t"] - start for row in rows]
    received = [row["cp_requests_received"] / 1000 for row in rows]
    bottom.plot(xs, received, label="CP requests received by fleet-sim, cumulative (thousands)")
    bottom.plot(xs, [row["expired"] / 1000 for row in rows],
                label="requests skipped as expired by the checkers, cumulative (thousands)")
    bottom.plot(xs, [row["lag"] / 1000 for row in rows], label="checkers' consumer lag (thousands)")
    bottom.set_ylabel("thousands of requests")
    bottom.set_xlabel("seconds since the producer started")
    bottom.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    for axis in (top, bottom):
        axis.axvline(cleared - start, color="green", linestyle=":")
        for sweep in hang["producer_sweeps"]:
            if sweep.get("start"):
                axis.axvline(sweep["start"] - start, color="grey", linewidth=0.6, alpha=0.6)
        axis.grid(True, alpha=0.3)
    bottom.text(cleared - start, 0, " fault cleared", color="green", fontsize=8, va="bottom")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_hang(report, results_dir):
    dump_json(report, os.path.join(results_dir, "hang_scenario.json"))
    text = hang_markdown(report)
    with open(os.path.join(results_dir, "hang_scenario.md"), "w") as handle:
        handle.write(text)
    plot_hang(report, os.path.join(results_dir, "hang_scenario.png"))
    print(text)


if __name__ == "__main__":
    directory = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "results")
    with open(os.path.join(directory, "pipeline.json")) as handle:
        render_pipeline(json.load(handle), directory)
    hang_path = os.path.join(directory, "hang_scenario.json")
    if os.path.exists(hang_path):
        with open(hang_path) as handle:
            hang_report = json.load(handle)
        text = hang_markdown(hang_report)
        with open(os.path.join(directory, "hang_scenario.md"), "w") as handle:
            handle.write(text)
        print(text)
        plot_hang(hang_report, os.path.join(directory, "hang_scenario.png"))
