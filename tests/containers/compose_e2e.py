"""The demo's end-to-end result, judged from outside the compose stack through its published
ports only: PostgreSQL (the rows), fleet-sim's admin API (terminate, the instances) and the
programs' /metrics. Run by tests/containers/test_compose.sh.

  compose_e2e.py heal        terminate N instances, wait until every one is healed, then
                             check that no other row changed; exit 0 only then
  compose_e2e.py partitions  read `kafka-consumer-groups.sh --describe` output on stdin and
                             check that CONSUMERS distinct checkers own every partition

Settings from the environment: POSTGRES_HOST_PORT, POSTGRES_PASSWORD, FLEETSIM_HOST_PORT,
FLEETSIM_ADMIN_TOKEN, PRODUCER_METRICS_HOST_PORT, ACTUATOR_METRICS_HOST_PORT, TERMINATE_COUNT,
HEAL_TIMEOUT (seconds), CONSUMERS, PARTITIONS.
"""

import json
import os
import re
import sys
import time
import urllib.request

FLIPPED = "FLIPPED_RESTART_REQUESTED"


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"compose_e2e: {name} is not set")
    return value


def http_json(method, url, body=None, token=None):
    request = urllib.request.Request(url, method=method,
                                     data=None if body is None else json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def metrics(port):
    """{(name, labels text): value} of a program's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    values = {}
    for line in text.splitlines():
        match = re.match(r"^([a-z_:]+)(\{[^}]*\})?\s+(\S+)$", line)
        if match:
            values[(match.group(1), match.group(2) or "")] = float(match.group(3))
    return values


def metric(values, name, label=""):
    return sum(value for (metric_name, labels), value in values.items()
               if metric_name == name and label in labels)


def rows(connection):
    with connection.cursor() as cursor:
        cursor.execute("SELECT id::text, status::text, instance_id, runtime, updated_at FROM workspaces")
        return {row[0]: row[1:] for row in cursor.fetchall()}


def heal():
    import psycopg

    fleet_sim = f"http://127.0.0.1:{env('FLEETSIM_HOST_PORT')}"
    token = env("FLEETSIM_ADMIN_TOKEN")
    producer_port = env("PRODUCER_METRICS_HOST_PORT")
    actuator_port = env("ACTUATOR_METRICS_HOST_PORT")
    count = int(env("TERMINATE_COUNT"))
    timeout = float(env("HEAL_TIMEOUT"))
    connection = psycopg.connect(host="127.0.0.1", port=int(env("POSTGRES_HOST_PORT")),
                                 user="reconciler", dbname="reconciler",
                                 password=env("POSTGRES_PASSWORD"), autocommit=True)

    # The producer's first sweep has gone through before anything is terminated, so that
    # every later flip is the reconciler's answer to the termination.
    deadline = time.monotonic() + 120
    while metric(metrics(producer_port), "reconciler_producer_sweeps_total") < 1:
        if time.monotonic() > deadline:
            sys.exit("compose_e2e: FAIL no producer sweep completed within 120 s")
        time.sleep(1)
    before = rows(connection)
    flips_before = metric(metrics(actuator_port), "reconciler_actuator_actions_total", FLIPPED)
    print(f"compose_e2e: {len(before)} workspaces in PostgreSQL; terminating {count} instances "
          "through fleet-sim's admin API")
    answer = http_json("POST", f"{fleet_sim}/admin/terminate", {"count": count}, token)
    victims = dict(zip(answer["workspace_ids"], answer["instance_ids"]))
    started = time.monotonic()

    healed = {}
    while len(healed) < len(victims) and time.monotonic() - started < timeout:
        now = rows(connection)
        for workspace, old_instance in victims.items():
            status, instance, _, _ = now[workspace]
            if workspace in healed or status != "online" or instance in (None, "", old_instance):
                continue
            record = http_json("GET", f"{fleet_sim}/admin/instances/{workspace}", token=token)
            if record.get("state") == "running" and record.get("instance_id") == instance:
                healed[workspace] = round(time.monotonic() - started, 1)
        time.sleep(1)

    after = rows(connection)
    touched = [w for w, row in before.items() if w not in victims and after.get(w) != row]
    actuator = metrics(actuator_port)
    flips = metric(actuator, "reconciler_actuator_actions_total", FLIPPED) - flips_before
    print(f"compose_e2e: terminated {len(victims)}, healed {len(healed)} "
          f"(back online on a new instance that fleet-sim runs) in "
          f"{max(healed.values(), default=0)} s; actuator flips {flips:.0f}; "
          f"healthy rows changed {len(touched)}; rows {len(before)} -> {len(after)}")
    problems = []
    if len(healed) != len(victims):
        problems.append(f"not healed within {timeout:.0f} s: {sorted(set(victims) - set(healed))}")
    if touched:
        problems.append(f"healthy workspaces changed: {touched[:10]}")
    if flips != len(victims):
        problems.append(f"actuator reports {flips:.0f} flips for {len(victims)} terminated instances")
    if len(after) != len(before):
        problems.append("the number of workspaces changed")
    if problems:
        for problem in problems:
            print(f"compose_e2e: FAIL {problem}")
        return 1
    print("compose_e2e: RESULT every terminated instance healed, no healthy workspace touched")
    return 0


def partitions():
    """Checks `kafka-consumer-groups.sh --describe` (columns GROUP TOPIC PARTITION ...
    CONSUMER-ID HOST CLIENT-ID) for the checks topic."""
    wanted_consumers = int(env("CONSUMERS"))
    wanted_partitions = int(env("PARTITIONS"))
    topic = os.environ.get("CHECKS_TOPIC", "reconciler.checks")
    owners = {}
    header = None
    for line in sys.stdin:
        fields = line.split()
        if "PARTITION" in fields and "CONSUMER-ID" in fields:
            header = fields
            continue
        if header is None or len(fields) != len(header):
            continue
        row = dict(zip(header, fields))
        if row["TOPIC"] == topic and row["CONSUMER-ID"] != "-":
            owners[int(row["PARTITION"])] = row["CONSUMER-ID"]
    by_consumer = {}
    for partition, consumer in sorted(owners.items()):
        by_consumer.setdefault(consumer, []).append(partition)
    for consumer, owned in sorted(by_consumer.items()):
        print(f"compose_e2e: {consumer} owns partitions {owned}")
    if len(owners) == wanted_partitions and len(by_consumer) == wanted_consumers:
        print(f"compose_e2e: {wanted_partitions} partitions of {topic} spread over "
              f"{wanted_consumers} checkers")
        return 0
    print(f"compose_e2e: not yet: {len(owners)}/{wanted_partitions} partitions assigned, "
          f"{len(by_consumer)}/{wanted_consumers} checkers own some")
    return 1


if __name__ == "__main__":
    commands = {"heal": heal, "partitions": partitions}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit("usage: compose_e2e.py heal | partitions")
    sys.exit(commands[sys.argv[1]]())
