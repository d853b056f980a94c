"""Watches a running reconciler heal the instances the demo terminated, and judges it.

Reads the verdict and action topics from the beginning (a throw-away consumer group that
never commits), the `workspaces` table and fleet-sim's per-workspace records, and prints:
- a progress line per sweep: checked, RUNNING / NOT_RUNNING / UNKNOWN, flipped, restarts
  accepted, back online;
- at the end, a summary table and a timeline of detection-to-heal latency per workspace.

Exit status 0 when every terminated instance was healed (its row back online on a new
instance) and no healthy workspace was touched (no flip, no row change); 1 otherwise.
Used by scripts/demo.sh; decoding uses fastavro and the .avsc files alone.
"""

import argparse
import io
import json
import os
import sys
import time
import urllib.request
import uuid

import fastavro
import psycopg
from confluent_kafka import Consumer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def load_schema(name):
    with open(os.path.join(ROOT, "schemas", name + ".avsc")) as handle:
        parsed = fastavro.parse_schema(json.load(handle))
    canonical = fastavro.schema.to_parsing_canonical_form(parsed)
    # fastavro prints the fingerprint as the hex of its little-endian bytes: exactly the
    # 8 header bytes of the single-object encoding.
    header = b"\xc3\x01" + bytes.fromhex(fastavro.schema.fingerprint(canonical, "CRC-64-AVRO"))
    return parsed, header


SCHEMAS = {"verdict": load_schema("verdict"), "action": load_schema("action")}


def decode(kind, data):
    parsed, header = SCHEMAS[kind]
    if data is not None and data[:1] == b"\x00" and len(data) >= 5:
        # The Confluent framing (demo.sh --schema-registry): the demo's writers register
        # exactly these schemas, so after 00 + schema id comes the same datum.
        body = data[5:]
    elif data is None or data[:10] != header:
        return None
    else:
        body = data[10:]
    try:
        return fastavro.schemaless_reader(io.BytesIO(body), parsed)
    except Exception:  # an undecodable record is the DLQ's business, not the demo's
        return None


def millis(value):
    """fastavro turns timestamp-millis into datetimes; the demo wants milliseconds."""
    if hasattr(value, "timestamp"):
        return int(value.timestamp() * 1000)
    return int(value)


def fleet_sim_record(base_url, workspace_id):
    with urllib.request.urlopen(f"{base_url}/admin/instances/{workspace_id}", timeout=5) as answer:
        return json.load(answer)


class Sweep:
    def __init__(self, sweep_id, size):
        self.sweep_id = sweep_id
        self.size = size
        self.by_liveness = {"RUNNING": 0, "NOT_RUNNING": 0, "UNKNOWN": 0}
        self.flipped = 0
        self.restarts_accepted = 0
        self.completed_at = None
        self.printed = False

    @property
    def checked(self):
        return sum(self.by_liveness.values())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terminated", required=True, help="JSON file: fleet-sim's terminate answer")
    parser.add_argument("--fleet-sim-url", required=True)
    parser.add_argument("--timeout", type=float, default=150.0)
    args = parser.parse_args()

    with open(args.terminated) as handle:
        terminated_answer = json.load(handle)
    victims = dict(zip(terminated_answer["workspace_ids"], terminated_answer["instance_ids"]))
    terminated_at = {}
    for workspace_id in victims:
        record = fleet_sim_record(args.fleet_sim_url, workspace_id)
        terminated_at[workspace_id] = record.get("stopped_at_ms") or int(time.time() * 1000)

    database_url = os.environ["DATABASE_URL"]
    with psycopg.connect(database_url) as connection:
        initial_rows = {str(row[0]): (row[1], row[2]) for row in connection.execute(
            "SELECT id, status::text, instance_id FROM workspaces")}

    consumer = Consumer({
        "bootstrap.servers": os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        "group.id": "demo-monitor-" + uuid.uuid4().hex[:8],
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    verdict_topic = os.environ.get("RECONCILER_TOPIC_VERDICTS", "reconciler.verdicts")
    action_topic = os.environ.get("RECONCILER_TOPIC_ACTIONS", "reconciler.actions")
    consumer.subscribe([verdict_topic, action_topic])

    sweeps = {}
    sweep_order = []
    detected, flipped, accepted, healed, seen_running = {}, {}, {}, {}, {}
    flips_of_healthy = []
    flip_counts = {}
    deadline = time.monotonic() + args.timeout
    next_database_check = 0.0
    last_status_line = time.monotonic()

    def print_sweep(sweep):
        # Flips and restarts are the ones decided on this sweep's verdicts; "back online" is
        # the running total, since a reprovision finishes whenever the workspace server is done.
        print(f"sweep {sweep.sweep_id[:8]}  checked {sweep.checked:>6}/{sweep.size:<6} "
              f"RUNNING {sweep.by_liveness['RUNNING']:>6}  NOT_RUNNING {sweep.by_liveness['NOT_RUNNING']:>4}  "
              f"UNKNOWN {sweep.by_liveness['UNKNOWN']:>4} | flipped {sweep.flipped:>4}  "
              f"restarts accepted {sweep.restarts_accepted:>4}  back online {len(healed):>4}/{len(victims)}",
              flush=True)
        sweep.printed = True

    def sweep_of(action):
        sweep = sweeps.get(action["sweep_id"])
        if sweep is None:
            sweep = sweeps[action["sweep_id"]] = Sweep(action["sweep_id"], 0)
            sweep_order.append(sweep)
        return sweep

    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and not message.error():
                if message.topic() == verdict_topic:
                    verdict = decode("verdict", message.value())
                    if verdict is not None:
                        sweep = sweeps.get(verdict["sweep_id"])
                        if sweep is None:
                            sweep = sweeps[verdict["sweep_id"]] = Sweep(verdict["sweep_id"], verdict["sweep_size"])
                            sweep_order.append(sweep)
                        sweep.by_liveness[verdict["liveness"]] = sweep.by_liveness.get(verdict["liveness"], 0) + 1
                        workspace_id = verdict["workspace_id"]
                        sweep.size = verdict["sweep_size"]
                        if workspace_id in victims:
                            if verdict["liveness"] == "NOT_RUNNING" and verdict["instance_id"] == victims[workspace_id]:
                                detected.setdefault(workspace_id, millis(verdict["checked_at"]))
                            if (verdict["liveness"] == "RUNNING" and workspace_id in healed
                                    and verdict["instance_id"] != victims[workspace_id]):
                                seen_running.setdefault(workspace_id, millis(verdict["checked_at"]))
                        if sweep.checked >= sweep.size and sweep.completed_at is None:
                            sweep.completed_at = time.monotonic()
                else:
                    action = decode("action", message.value())
                    if action is not None:
                        workspace_id = action["workspace_id"]
                        if action["outcome"] == "FLIPPED_RESTART_REQUESTED":
                            flip_counts[workspace_id] = flip_counts.get(workspace_id, 0) + 1
                            if workspace_id not in victims:
                                flips_of_healthy.append(workspace_id)
                            flipped.setdefault(workspace_id, millis(action["acted_at"]))
                            sweep_of(action).flipped += 1
                        elif action["outcome"] == "RESTART_ACCEPTED":
                            sweep_of(action).restarts_accepted += 1
                            accepted.setdefault(workspace_id, millis(action["acted_at"]))

            now = time.monotonic()
            # A sweep's line waits a moment after its last verdict, for the actions on it.
            for sweep in sweep_order:
                if sweep.completed_at is not None and not sweep.printed and now - sweep.completed_at > 3:
                    print_sweep(sweep)
            if now >= next_database_check:
                next_database_check = now + 1.0
                with psycopg.connect(database_url) as connection:
                    for row in connection.execute(
                            "SELECT id, status::text, instance_id FROM workspaces WHERE id = ANY(%s)",
                            (list(victims),)):
                        workspace_id = str(row[0])
                        if row[1] == "online" and row[2] != victims[workspace_id] and workspace_id not in healed:
                            record = fleet_sim_record(args.fleet_sim_url, workspace_id)
                            healed[workspace_id] = record.get("reprovisioned_at_ms") or int(time.time() * 1000)
                # Healed means back online on a new instance and seen RUNNING there by a sweep.
                if len(seen_running) == len(victims) and all(s.printed or s.checked == 0 for s in sweep_order
                                                             if s.completed_at is not None):
                    break
            if now - last_status_line > 10:
                last_status_line = now
                print(f"... {len(detected)}/{len(victims)} detected, {len(flipped)} flipped, "
                      f"{len(accepted)} restarts accepted, {len(healed)} back online, "
                      f"{len(seen_running)} seen RUNNING", flush=True)
    finally:
        consumer.close()

    for sweep in sweep_order:
        if not sweep.printed and sweep.checked:
            print_sweep(sweep)  # the last sweep may still be running: its line says how far

    # A healthy workspace is untouched when its row is exactly as it was at the start.
    with psycopg.connect(database_url) as connection:
        final_rows = {str(row[0]): (row[1], row[2]) for row in connection.execute(
            "SELECT id, status::text, instance_id FROM workspaces")}
    touched_healthy = [w for w, row in initial_rows.items() if w not in victims and final_rows.get(w) != row]
    flipped_twice = [w for w, count in flip_counts.items() if count > 1]

    print("\nTimeline (ms after fleet-sim terminated the instance)")
    print(f"{'workspace':<38} {'detected':>9} {'flipped':>9} {'accepted':>9} {'online':>9} {'RUNNING':>9}")
    latencies = []
    for workspace_id in sorted(victims, key=lambda w: healed.get(w, float("inf"))):
        start = terminated_at[workspace_id]

        def after(table):
            return f"{table[workspace_id] - start:>9}" if workspace_id in table else f"{'-':>9}"

        print(f"{workspace_id:<38} {after(detected)} {after(flipped)} {after(accepted)} {after(healed)} "
              f"{after(seen_running)}")
        if workspace_id in healed:
            latencies.append(healed[workspace_id] - start)

    latencies.sort()

    def percentile(share):
        return latencies[min(len(latencies) - 1, int(share * len(latencies)))] if latencies else None

    print("\nSummary")
    rows = [
        ("workspaces", len(initial_rows)),
        ("terminated by the demo", len(victims)),
        ("detected NOT_RUNNING", len(detected)),
        ("flipped offline", len(flipped)),
        ("restarts accepted", len(accepted)),
        ("back online on a new instance", len(healed)),
        ("seen RUNNING by a later sweep", len(seen_running)),
        ("healthy workspaces flipped", len(set(flips_of_healthy))),
        ("healthy rows changed", len(touched_healthy)),
        ("workspaces flipped more than once", len(flipped_twice)),
        ("sweeps seen", len(sweep_order)),
        ("terminate-to-online p50 (ms)", percentile(0.50)),
        ("terminate-to-online p95 (ms)", percentile(0.95)),
        ("terminate-to-online max (ms)", latencies[-1] if latencies else None),
    ]
    for name, value in rows:
        print(f"  {name:<36} {value if value is not None else '-':>10}")

    ok = len(seen_running) == len(victims) and not flips_of_healthy and not touched_healthy and not flipped_twice
    print("\nRESULT: " + ("every terminated instance healed, no healthy workspace touched" if ok
                          else "FAILED (see the summary above)"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
