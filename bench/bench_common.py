"""Helpers of the pipeline benchmark (bench/pipeline_bench.py): processes, /proc sampling,
Kafka, PostgreSQL, fleet-sim's admin API, Avro decoding.

Everything observes the programs from outside, as an operator would: processes are started
with environment variables, records are decoded with fastavro from the .avsc files alone,
CPU and memory come from /proc. Nothing here asserts anything; it measures.
"""

import io
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid

import fastavro
import psycopg
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def now_ms():
    return int(time.time() * 1000)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentiles(values):
    """p50/p95/p99/max (nearest rank) of a list of numbers, or None when empty."""
    if not values:
        return None
    ordered = sorted(values)

    def rank(share):
        return ordered[min(len(ordered) - 1, max(0, int(round(share * len(ordered) + 0.5)) - 1))]

    return {"count": len(ordered), "p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99),
            "max": ordered[-1], "mean": round(sum(ordered) / len(ordered), 1)}


# --- HTTP --------------------------------------------------------------------------------

def http_json(method, url, body=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"{method} {url}: HTTP {error.code}: {error.read()[:300]!r}") from None


def scrape(url, timeout=5):
    """Prometheus text format -> {(name, frozenset(labels)): value}; {} when unreachable."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            text = answer.read().decode()
    except (OSError, urllib.error.URLError):
        return {}
    series = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)", line)
        if not match:
            continue
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', match.group(3) or ""))
        try:
            series[(match.group(1), labels)] = float(match.group(4))
        except ValueError:
            pass
    return series


def metric_sum(series, name, **labels):
    """Sum of every series called `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(value for (metric, have), value in series.items() if metric == name and wanted <= have)


# --- processes ---------------------------------------------------------------------------

class Process:
    """One of the programs, started with an environment, logging to a file."""

    def __init__(self, name, argv, env, log_dir, metrics_port=None):
        self.name = name
        self.metrics_port = metrics_port
        self.log_path = os.path.join(log_dir, name + ".log")
        self.log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(argv, env={**os.environ, **env}, stdout=self.log,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.pid = self.popen.pid

    @property
    def metrics_url(self):
        return f"http://127.0.0.1:{self.metrics_port}/metrics" if self.metrics_port else None

    def wait_healthy(self, url, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} not healthy after {timeout}s; see {self.log_path}")

    def stop(self, timeout=20):
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.log.close()
        return self.popen.returncode

    def log_lines(self):
        """The JSON log lines written so far (others skipped)."""
        lines = []
        with open(self.log_path, "rb") as handle:
            for raw in handle:
                try:
                    lines.append(json.loads(raw))
                except ValueError:
                    pass
        return lines


def read_stat(pid):
    """(utime+stime, cutime+cstime, ppid) in seconds, or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            text = handle.read()
    except OSError:
        return None
    rest = text[text.rindex(")") + 2:].split()
    # rest[0] is field 3 (state); field k is rest[k - 3].
    return ((int(rest[11]) + int(rest[12])) / CLOCK_TICKS, (int(rest[13]) + int(rest[14])) / CLOCK_TICKS,
            int(rest[1]))


def read_memory_kb(pid):
    """(VmRSS, VmHWM) in kB, or (None, None)."""
    rss = hwm = None
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


def system_jiffies():
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    with open("/proc/stat") as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    # guest time is already counted in user; fields 8, 9 (guest, guest_nice) are excluded.
    total = sum(fields[:8])
    return total - idle, total


def children_of(parent_pid):
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = read_stat(int(entry))
            if stat is not None and stat[2] == parent_pid:
                pids.append(int(entry))
    return pids


class Sampler(threading.Thread):
    """Samples CPU seconds and RSS of named processes every `period` seconds, plus the
    whole machine's CPU, into a time series (one dict per sample).

    `groups` maps a name to a pid, or to ("tree", pid) for PostgreSQL: the postmaster's own
    CPU + its reaped children's (cutime/cstime) + its live children's, so short-lived
    backends are counted too."""

    def __init__(self, period=0.5):
        super().__init__(daemon=True)
        self.period = period
        self.groups = {}
        self.samples = []
        self.lock = threading.Lock()
        self.halt = threading.Event()
        self.last_memory = {}  # name -> (rss, hwm), kept after the process exits

    def track(self, name, pid):
        with self.lock:
            self.groups[name] = pid

    def untrack(self, name):
        with self.lock:
            self.groups.pop(name, None)

    def sample(self):
        row = {"t": time.time(), "cpu": {}, "rss_kb": {}, "hwm_kb": {}}
        busy, total = system_jiffies()
        row["system_busy"] = busy / CLOCK_TICKS
        row["system_total"] = total / CLOCK_TICKS
        with self.lock:
            groups = dict(self.groups)
        for name, target in groups.items():
            if isinstance(target, tuple):  # ("tree", postmaster pid)
                stat = read_stat(target[1])
                if stat is None:
                    continue
                cpu = stat[0] + stat[1]
                rss = 0
                for child in children_of(target[1]):
                    child_stat = read_stat(child)
                    if child_stat is not None:
                        cpu += child_stat[0]
                        rss += read_memory_kb(child)[0] or 0
                row["cpu"][name] = cpu
                row["rss_kb"][name] = rss + (read_memory_kb(target[1])[0] or 0)
                continue
            stat = read_stat(target)
            if stat is None:
                continue
            row["cpu"][name] = stat[0]
            rss, hwm = read_memory_kb(target)
            if rss is not None:
                row["rss_kb"][name] = rss
                row["hwm_kb"][name] = hwm
                self.last_memory[name] = (rss, hwm)
        self_stat = read_stat(os.getpid())
        row["cpu"]["bench-harness"] = self_stat[0] if self_stat else 0.0
        rss, hwm = read_memory_kb(os.getpid())
        row["rss_kb"]["bench-harness"], row["hwm_kb"]["bench-harness"] = rss, hwm
        self.last_memory["bench-harness"] = (rss, hwm)
        with self.lock:
            self.samples.append(row)
        return row

    def run(self):
        while not self.halt.is_set():
            self.sample()
            self.halt.wait(self.period)

    def stop(self):
        self.halt.set()
        self.join()
        self.sample()

    def series(self):
        with self.lock:
            return list(self.samples)


def cpu_between(samples, name, start, end):
    """CPU seconds `name` used between wall times start and end (linear interpolation
    between samples); None when there is no sample of it."""
    points = [(row["t"], row["cpu"][name]) for row in samples if name in row["cpu"]]
    if not points:
        return None

    def at(moment):
        if moment <= points[0][0]:
            return points[0][1]
        for (t0, v0), (t1, v1) in zip(points, points[1:]):
            if t0 <= moment <= t1:
                return v0 + (v1 - v0) * ((moment - t0) / (t1 - t0) if t1 > t0 else 0)
        return points[-1][1]

    return max(0.0, at(end) - at(start))


def system_between(samples, start, end):
    """(busy CPU seconds, elapsed wall seconds x CPUs) of the whole machine in a window."""
    points = [(row["t"], row["system_busy"], row["system_total"]) for row in samples]

    def at(moment, index):
        if moment <= points[0][0]:
            return points[0][index]
        for p0, p1 in zip(points, points[1:]):
            if p0[0] <= moment <= p1[0]:
                share = (moment - p0[0]) / (p1[0] - p0[0]) if p1[0] > p0[0] else 0
                return p0[index] + (p1[index] - p0[index]) * share
        return points[-1][index]

    return at(end, 1) - at(start, 1), at(end, 2) - at(start, 2)


# --- PostgreSQL --------------------------------------------------------------------------

def with_database(url, name):
    """The same libpq URI pointing at another database."""
    head, _, tail = url.rpartition("/")
    query = "?" + tail.split("?", 1)[1] if "?" in tail else ""
    return f"{head}/{name}{query}"


def create_database(admin_url, name):
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = with_database(admin_url, name)
    subprocess.run([os.path.join(ROOT, "scripts", "migrate.sh"), "--fixtures"],
                   env={**os.environ, "DATABASE_URL": url}, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return url


def drop_database(admin_url, name):
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def query_one(url, sql, parameters=()):
    with psycopg.connect(url) as connection:
        return connection.execute(sql, parameters).fetchone()


def postmaster_pid(stack_dir):
    with open(os.path.join(stack_dir, "postgres", "data", "postmaster.pid")) as handle:
        return int(handle.readline())


def kafka_pid(stack_dir):
    """The broker's JVM: kafka.pid when it names a java process, else found by its config."""
    try:
        with open(os.path.join(stack_dir, "kafka.pid")) as handle:
            pid = int(handle.read())
        with open(f"/proc/{pid}/comm") as handle:
            if handle.read().strip() == "java":
                return pid
    except (OSError, ValueError):
        pass
    marker = os.path.join(stack_dir, "kafka", "server.properties")
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if marker.encode() in handle.read():
                        return int(entry)
            except OSError:
                pass
    return None


# --- Kafka -------------------------------------------------------------------------------

TOPIC_PARTITIONS = {"checks": 12, "verdicts": 12, "actions": 12, "urgent": 12, "dlq": 1}


def create_topics(bootstrap, prefix):
    """The project's layout (docs/contracts.md §5): 12 partitions, DLQ 1, under unique names."""
    names = {kind: f"{prefix}.{kind}" for kind in TOPIC_PARTITIONS}
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(names[kind], num_partitions=count, replication_factor=1)
                                   for kind, count in TOPIC_PARTITIONS.items()])
    for future in futures.values():
        future.result(timeout=60)
    return names


def delete_topics(bootstrap, names):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.delete_topics(list(names.values())).values():
        try:
            future.result(timeout=60)
        except Exception:  # best effort: a leftover topic costs disk, not correctness
            pass


def topic_size(bootstrap, topic, consumer=None):
    """Sum of the high watermarks (= records written) of every partition."""
    own = consumer is None
    if own:
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-size-" + uuid.uuid4().hex[:8]})
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        total = 0
        for partition in metadata.topics[topic].partitions:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            total += high
        return total
    finally:
        if own:
            consumer.close()


def group_members(bootstrap, group):
    """Members of a consumer group that hold at least one partition, or -1 when unknown."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        description = admin.describe_consumer_groups([group])[group].result(timeout=10)
    except Exception:
        return -1
    if str(description.state).split(".")[-1].upper() != "STABLE":
        return -1
    return sum(1 for member in description.members
               if member.assignment is not None and member.assignment.topic_partitions)


def read_topic(bootstrap, topic, decode, idle_seconds=3.0, timeout=300):
    """Every record of `topic` from the beginning, decoded; stops at the end of every
    partition (high watermark at the start of the read)."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "bench-reader-" + uuid.uuid4().hex[:8],
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
    })
    metadata = consumer.list_topics(topic, timeout=10)
    partitions = list(metadata.topics[topic].partitions)
    ends = {}
    for partition in partitions:
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        ends[partition] = high
    consumer.assign([TopicPartition(topic, partition, 0) for partition in partitions])
    remaining = {partition for partition, high in ends.items() if high > 0}
    records = []
    deadline = time.monotonic() + timeout
    while remaining and time.monotonic() < deadline:
        batch = consumer.consume(10000, 1.0)
        for message in batch:
            if message.error():
                continue
            if message.offset() >= ends[message.partition()] - 1:
                remaining.discard(message.partition())
            if message.offset() < ends[message.partition()]:
                value = decode(message.value())
                if value is not None:
                    records.append(value)
    consumer.close()
    return records


# --- Avro (single-object encoding, decoded from the .avsc alone) -----------------------------

def _load_schema(name):
    with open(os.path.join(ROOT, "schemas", name + ".avsc")) as handle:
        parsed = fastavro.parse_schema(json.load(handle))
    canonical = fastavro.schema.to_parsing_canonical_form(parsed)
    # fastavro prints the CRC-64-AVRO fingerprint as the hex of its little-endian bytes:
    # exactly the 8 header bytes after C3 01.
    header = b"\xc3\x01" + bytes.fromhex(fastavro.schema.fingerprint(canonical, "CRC-64-AVRO"))
    return parsed, header


_SCHEMAS = {name: _load_schema(name) for name in ("verdict", "action", "check_request")}


def _millis(value):
    return int(value.timestamp() * 1000) if hasattr(value, "timestamp") else int(value)


def decoder(kind, fields):
    """A function bytes -> dict of `fields` (timestamps as epoch ms), None if undecodable."""
    parsed, header = _SCHEMAS[kind]

    def decode(data):
        if data is None:
            return None
        if data[:10] == header:
            body = data[10:]
        elif data[:1] == b"\x00" and len(data) >= 5:
            # Registry mode's framing (00 + 4-byte schema id): the programs register the
            # schema of this build, the same .avsc, so the body decodes with it.
            body = data[5:]
        else:
            return None
        try:
            record = fastavro.schemaless_reader(io.BytesIO(body), parsed)
        except Exception:
            return None
        out = {}
        for field in fields:
            value = record.get(field)
            if field in ("checked_at", "enqueued_at", "acted_at", "deadline", "verdict_checked_at"):
                value = _millis(value)
            out[field] = value
        return out

    return decode
