"""Shared helpers for the integration tests (pytest).

The tests run against the real local stack started by scripts/stack.sh (PostgreSQL and a
Kafka broker); scripts/test.sh sources its env file, so DATABASE_URL and
KAFKA_BOOTSTRAP_SERVERS are set. Each test module isolates itself: a fresh database
(fixture `workspaces` table + the reconciler's migrations) and fresh, uniquely named topics,
so modules never see each other's data even on one broker.

Everything here observes the C programs from outside: processes are started as an operator
would, records are decoded with fastavro from the .avsc files alone.
"""

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import time
import uuid

import fastavro
import psycopg
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

SOURCE_DIR = os.environ.get(
    "RECONCILER_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
)
BINARY_DIR = os.environ.get("RECONCILER_BINARY_DIR", os.path.join(SOURCE_DIR, "build"))

PROGRAMS = {
    "producer": "producer/reconciler-producer",
    "checker": "checker/reconciler-checker",
    "actuator": "actuator/reconciler-actuator",
    "fleet-sim": "tools/fleet-sim/fleet-sim",
    "audit": "tools/audit/reconciler-audit",
}


def binary(program):
    """Path of one of our programs in the build being tested."""
    return os.path.join(BINARY_DIR, PROGRAMS[program])


def bootstrap_servers():
    return os.environ["KAFKA_BOOTSTRAP_SERVERS"]


def database_url():
    return os.environ["DATABASE_URL"]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, timeout=30.0, interval=0.1, message="condition"):
    """Polls `condition` until it returns a truthy value (returned) or fails the test."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


# --- PostgreSQL -------------------------------------------------------------------------

def _with_database(url, name):
    """The same libpq URI pointing at another database."""
    head, _, tail = url.rpartition("/")
    query = ""
    if "?" in tail:
        query = "?" + tail.split("?", 1)[1]
    return f"{head}/{name}{query}"


@contextlib.contextmanager
def fresh_database():
    """Creates an empty database with the fixture `workspaces` table and our migrations,
    yields its URL, drops it afterwards."""
    name = "test_" + uuid.uuid4().hex[:12]
    admin_url = database_url()
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(admin_url, name)
    try:
        subprocess.run(
            [os.path.join(SOURCE_DIR, "scripts", "migrate.sh"), "--fixtures"],
            env={**os.environ, "DATABASE_URL": url},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def insert_workspaces(url, rows):
    """rows: iterable of dicts with status, instance_id, runtime (id optional).
    Returns the ids in order."""
    ids = []
    with psycopg.connect(url) as connection:
        with connection.cursor() as cursor:
            for row in rows:
                workspace_id = row.get("id") or str(uuid.uuid4())
                cursor.execute(
                    "INSERT INTO workspaces (id, status, instance_id, runtime) "
                    "VALUES (%s, %s, %s, %s)",
                    (workspace_id, row.get("status", "online"), row.get("instance_id"), row.get("runtime")),
                )
                ids.append(workspace_id)
    return ids


# --- Kafka ------------------------------------------------------------------------------

TOPIC_PARTITIONS = {"checks": 12, "verdicts": 12, "actions": 12, "dlq": 1}


@contextlib.contextmanager
def fresh_topics(partitions=None):
    """Creates uniquely named checks/verdicts/actions/dlq topics; yields a dict with the
    names and `env`, the RECONCILER_TOPIC_* variables for our programs."""
    partitions = {**TOPIC_PARTITIONS, **(partitions or {})}
    suffix = uuid.uuid4().hex[:10]
    names = {kind: f"test.{suffix}.{kind}" for kind in partitions}
    admin = AdminClient({"bootstrap.servers": bootstrap_servers()})
    futures = admin.create_topics(
        [NewTopic(names[kind], num_partitions=count, replication_factor=1) for kind, count in partitions.items()]
    )
    for future in futures.values():
        future.result(timeout=30)
    env = {
        "RECONCILER_TOPIC_CHECKS": names["checks"],
        "RECONCILER_TOPIC_VERDICTS": names["verdicts"],
        "RECONCILER_TOPIC_ACTIONS": names["actions"],
        "RECONCILER_TOPIC_DLQ": names["dlq"],
    }
    try:
        yield {**names, "env": env}
    finally:
        admin.delete_topics(list(names.values()))


def produce_raw(topic, records, partition=None):
    """records: iterable of (key bytes|None, value bytes|None[, headers]). Waits for delivery."""
    producer = Producer({"bootstrap.servers": bootstrap_servers(), "enable.idempotence": True})
    errors = []
    for record in records:
        key, value = record[0], record[1]
        headers = record[2] if len(record) > 2 else None
        kwargs = {"key": key, "value": value, "headers": headers,
                  "on_delivery": lambda err, _msg: err and errors.append(err)}
        if partition is not None:
            kwargs["partition"] = partition
        producer.produce(topic, **kwargs)
        producer.poll(0)
    remaining = producer.flush(30)
    assert remaining == 0 and not errors, f"produce failed: {errors}, {remaining} undelivered"


def consume(topic, expected, timeout=60.0, group=None):
    """Reads `topic` from the beginning with a throw-away group until `expected` records
    arrived (or fails). Returns the confluent_kafka messages."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap_servers(),
        "group.id": group or "test-reader-" + uuid.uuid4().hex[:8],
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe([topic])
    messages = []
    deadline = time.monotonic() + timeout
    try:
        while len(messages) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            messages.append(message)
    finally:
        consumer.close()
    assert len(messages) >= expected, f"{topic}: got {len(messages)} records, expected {expected}"
    return messages


def consume_available(topic, idle=3.0, timeout=60.0):
    """Reads everything currently in `topic`: stops after `idle` seconds without a record."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap_servers(),
        "group.id": "test-reader-" + uuid.uuid4().hex[:8],
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe([topic])
    messages = []
    last = time.monotonic()
    deadline = last + timeout
    try:
        while time.monotonic() < deadline and time.monotonic() - last < idle:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            messages.append(message)
            last = time.monotonic()
    finally:
        consumer.close()
    return messages


def committed_offsets(group, topic, partitions):
    consumer = Consumer({"bootstrap.servers": bootstrap_servers(), "group.id": group})
    try:
        result = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=30)
        return {tp.partition: tp.offset for tp in result}
    finally:
        consumer.close()


# --- Avro, decoded independently with fastavro ------------------------------------------

_SCHEMA_FILES = {"check_request": "check_request.avsc", "verdict": "verdict.avsc", "action": "action.avsc"}
_schemas = {}


def schema(record_type):
    if record_type not in _schemas:
        with open(os.path.join(SOURCE_DIR, "schemas", _SCHEMA_FILES[record_type])) as handle:
            _schemas[record_type] = fastavro.parse_schema(json.load(handle))
    return _schemas[record_type]


# --- Processes --------------------------------------------------------------------------

class Process:
    """One of our programs, started with an environment, its stderr (JSON lines) kept in a
    file for assertions and for the test report when something fails."""

    def __init__(self, program, env, args=(), name=None, log_dir=None):
        self.name = name or program
        log_dir = log_dir or os.environ.get("RECONCILER_TEST_LOG_DIR", "/tmp")
        self.log_path = os.path.join(log_dir, f"{self.name}-{uuid.uuid4().hex[:8]}.log")
        self._log = open(self.log_path, "wb")
        full_env = {**os.environ, **env}
        self.popen = subprocess.Popen(
            [binary(program), *args], env=full_env, stdout=self._log, stderr=self._log,
            stdin=subprocess.DEVNULL,
        )

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def signal(self, number):
        if self.alive():
            self.popen.send_signal(number)

    def kill(self):
        self.signal(signal.SIGKILL)
        self.popen.wait(timeout=30)

    def stop(self, timeout=20.0):
        """SIGTERM, then wait; returns the exit code (SIGKILL after `timeout`)."""
        self.signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name} did not exit within {timeout}s of SIGTERM")

    def log_lines(self):
        self._log.flush()
        lines = []
        with open(self.log_path, "rb") as handle:
            for raw in handle:
                try:
                    lines.append(json.loads(raw))
                except ValueError:
                    lines.append({"unparsed": raw.decode("utf-8", "replace")})
        return lines

    def log_text(self):
        self._log.flush()
        with open(self.log_path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")

    def close(self):
        if self.alive():
            self.kill()
        self._log.close()


@contextlib.contextmanager
def running(program, env, args=(), name=None):
    process = Process(program, env, args=args, name=name)
    try:
        yield process
    finally:
        process.close()


def http_get(url, timeout=10.0):
    """(status, body text) of a GET; status 0 when nothing answered."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")
    except OSError:
        return 0, ""


def metric_value(metrics_text, name, labels=None):
    """Sums the samples of `name` whose labels include `labels` in Prometheus text."""
    total = 0.0
    found = False
    for line in metrics_text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        metric, _, label_text = series.partition("{")
        if metric != name:
            continue
        if labels:
            present = dict(
                part.split("=", 1) for part in label_text.rstrip("}").split(",") if "=" in part
            )
            if any(present.get(k) != f'"{v}"' for k, v in labels.items()):
                continue
        total += float(value)
        found = True
    return total if found else None


# --- Network faults -----------------------------------------------------------------------

class TcpProxy:
    """A TCP forwarder on a free loopback port to `upstream_host:upstream_port`, for outage
    tests that must not disturb shared services: `cut()` closes every forwarded connection and
    refuses new ones (clients see the server vanish), `restore()` forwards again.

        with harness.TcpProxy("127.0.0.1", 5432) as proxy:
            url = harness.url_with_port(database_url, proxy.port)
    """

    def __init__(self, upstream_host, upstream_port):
        import threading

        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._sockets = set()
        self._cut = False
        self._closed = False
        self.connections_accepted = 0
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _accept_loop(self):
        import threading

        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refuse = self._cut or self._closed
            if refuse:
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._sockets.update((client, server))
                self.connections_accepted += 1
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source, target):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                self._shut(sock)

    def _shut(self, sock):
        with self._lock:
            self._sockets.discard(sock)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def cut(self):
        """Drops every forwarded connection and refuses new ones until restore()."""
        with self._lock:
            self._cut = True
            sockets = list(self._sockets)
        for sock in sockets:
            self._shut(sock)

    def restore(self):
        with self._lock:
            self._cut = False

    def close(self):
        self._closed = True
        self.cut()
        try:
            self._listener.close()
        except OSError:
            pass


def url_with_port(url, port, host="127.0.0.1"):
    """The same libpq URI pointing at host:port (credentials, database and query kept)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def url_host_port(url):
    """(host, port) of a libpq URI."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.hostname, parts.port or 5432


# --- Avro single-object encoding, header bytes as the spec writes them --------------------

def fingerprint_bytes(record_type):
    """The 8 header bytes of a single-object encoding: the CRC-64-AVRO fingerprint of the
    schema's Parsing Canonical Form, little-endian. fastavro's fingerprint() returns the hex
    of exactly those bytes."""
    canonical = fastavro.schema.to_parsing_canonical_form(schema(record_type))
    return bytes.fromhex(fastavro.schema.fingerprint(canonical, "CRC-64-AVRO"))


def encode_record(record_type, record):
    """Spec-conformant single-object encoding with fastavro, to feed our programs."""
    buffer = io.BytesIO()
    buffer.write(b"\xc3\x01" + fingerprint_bytes(record_type))
    fastavro.schemaless_writer(buffer, schema(record_type), record)
    return buffer.getvalue()


def decode_record(record_type, data):
    """Decodes one spec-conformant single-object-encoded record with fastavro, checking the
    magic and the fingerprint bytes."""
    assert data[:2] == b"\xc3\x01", "bad magic"
    assert data[2:10] == fingerprint_bytes(record_type), f"fingerprint is not {record_type}'s"
    return fastavro.schemaless_reader(io.BytesIO(data[10:]), schema(record_type))


# --- Records with chosen timestamps and partitions, group listings --------------------------

def produce_records(topic, records, config=None):
    """records: a list of dicts with `key` and `value` (bytes or None) and optionally
    `partition`, `timestamp` (ms since the epoch: the record's CreateTime) and `headers`.
    Waits for every delivery report and returns each record's (partition, offset), in order.
    `config` adds producer properties, e.g. {"partitioner": "murmur2_random"}."""
    producer = Producer({"bootstrap.servers": bootstrap_servers(), "enable.idempotence": True,
                         **(config or {})})
    coordinates = [None] * len(records)
    errors = []

    def on_delivery(index):
        def report(error, message):
            if error:
                errors.append(error)
            else:
                coordinates[index] = (message.partition(), message.offset())
        return report

    for index, record in enumerate(records):
        kwargs = {"key": record.get("key"), "value": record.get("value"),
                  "on_delivery": on_delivery(index)}
        for name in ("partition", "timestamp", "headers"):
            if record.get(name) is not None:
                kwargs[name] = record[name]
        producer.produce(topic, **kwargs)
        producer.poll(0)
    remaining = producer.flush(30)
    assert remaining == 0 and not errors, f"produce failed: {errors}, {remaining} undelivered"
    return coordinates


def millis(value):
    """An aware datetime (fastavro's timestamp-millis) as ms since the epoch, exactly."""
    import datetime

    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (value - epoch) // datetime.timedelta(milliseconds=1)


def with_millis(record):
    """A fastavro-decoded record with every datetime replaced by its ms since the epoch."""
    import datetime

    return {name: millis(value) if isinstance(value, datetime.datetime) else value
            for name, value in record.items()}


def consumer_group_ids():
    """Ids of every consumer group the broker knows (any state)."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers()})
    result = admin.list_consumer_groups(request_timeout=30).result()
    return {listing.group_id for listing in result.valid}
