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
import http.server
import io
import json
import os
import shlex
import signal
import socket
import subprocess
import threading
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


# A memory checker (scripts/valgrind.sh) runs every program started through Process under a
# wrapper command (RECONCILER_TEST_WRAPPER, split like a shell would: "valgrind --log-file=...")
# and makes everything many times slower, so every wait of the tests is stretched by
# RECONCILER_TEST_TIMEOUT_SCALE. Unset, neither changes anything.
TEST_WRAPPER = shlex.split(os.environ.get("RECONCILER_TEST_WRAPPER", ""))
TIMEOUT_SCALE = float(os.environ.get("RECONCILER_TEST_TIMEOUT_SCALE") or 1.0)


def wait_until(condition, timeout=30.0, interval=0.1, message="condition"):
    """Polls `condition` until it returns a truthy value (returned) or fails the test.
    `timeout` is stretched by RECONCILER_TEST_TIMEOUT_SCALE."""
    timeout *= TIMEOUT_SCALE
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

TOPIC_PARTITIONS = {"checks": 12, "verdicts": 12, "actions": 12, "urgent": 12, "dlq": 1}


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
        "RECONCILER_TOPIC_URGENT_CHECKS": names["urgent"],
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
            [*TEST_WRAPPER, binary(program), *args], env=full_env, stdout=self._log,
            stderr=self._log, stdin=subprocess.DEVNULL,
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
        self.popen.wait(timeout=30 * TIMEOUT_SCALE)

    def stop(self, timeout=20.0):
        """SIGTERM, then wait; returns the exit code (SIGKILL after `timeout`, which is
        stretched by RECONCILER_TEST_TIMEOUT_SCALE)."""
        timeout *= TIMEOUT_SCALE
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


TOXIPROXY_VERSION = "v2.5.0"  # scripts/install-deps.sh builds this one into .cache/


class Toxiproxy:
    """A Toxiproxy server (Shopify's fault-injecting TCP proxy, built by
    scripts/install-deps.sh) on a free loopback port, driven through its HTTP API. Each
    `proxy(name, upstream)` listens on a free loopback port (or `listen_port`) and forwards to
    `upstream` ("host:port"); faults are toxics on it:

        with harness.Toxiproxy() as toxiproxy:
            port = toxiproxy.proxy("pg-producer", "127.0.0.1:5432")
            toxiproxy.black_hole("pg-producer")      # bytes vanish, connections stay open
            toxiproxy.heal("pg-producer")

    Only loopback: every proxy listens on 127.0.0.1 and forwards to our own stack."""

    def __init__(self, log_dir=None):
        path = os.environ.get("RECONCILER_TOXIPROXY") or os.path.join(
            SOURCE_DIR, ".cache", f"toxiproxy-{TOXIPROXY_VERSION}", "bin", "server")
        assert os.access(path, os.X_OK), \
            f"Toxiproxy not found at {path}: run scripts/install-deps.sh (it builds it)"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        log_dir = log_dir or os.environ.get("RECONCILER_TEST_LOG_DIR", "/tmp")
        self.log_path = os.path.join(log_dir, f"toxiproxy-{uuid.uuid4().hex[:8]}.log")
        self._log = open(self.log_path, "wb")
        self.popen = subprocess.Popen([path, "-host", "127.0.0.1", "-port", str(self.port)],
                                      stdout=self._log, stderr=self._log,
                                      stdin=subprocess.DEVNULL)
        wait_until(lambda: self.popen.poll() is None and http_get(self.url + "/version",
                                                                  timeout=1.0)[0] == 200,
                   timeout=30, message="toxiproxy /version")

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _call(self, method, path, body=None, expect=(200, 201, 204)):
        import urllib.error
        import urllib.request

        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        assert status in expect, f"toxiproxy {method} {path}: {status} {text}"
        return json.loads(text) if text.strip() else None

    def proxy(self, name, upstream, listen_port=None):
        """Creates a proxy `name` to `upstream`; returns the port it listens on."""
        port = listen_port or free_port()
        self._call("POST", "/proxies", {"name": name, "listen": f"127.0.0.1:{port}",
                                        "upstream": upstream, "enabled": True})
        return port

    def add_toxic(self, proxy, toxic_type, stream="downstream", name=None, **attributes):
        """Adds a toxic (latency, bandwidth, timeout, reset_peer, limit_data, slow_close,
        slicer) to one direction of `proxy`; returns its name."""
        name = name or f"{toxic_type}-{stream}"
        self._call("POST", f"/proxies/{proxy}/toxics",
                   {"name": name, "type": toxic_type, "stream": stream, "toxicity": 1.0,
                    "attributes": attributes})
        return name

    def remove_toxic(self, proxy, name):
        self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")

    def black_hole(self, proxy):
        """Bytes in both directions are dropped and no connection is closed (the `timeout`
        toxic with timeout 0), new connections are accepted and hear nothing: what a client
        sees when a route or a NAT entry dies. Only the client's own close still gets
        through (the proxy closes the server side of a connection its client closed)."""
        for stream in ("upstream", "downstream"):
            self.add_toxic(proxy, "timeout", stream=stream, name=f"black-hole-{stream}",
                           timeout=0)

    def heal(self, proxy):
        """Removes every toxic of `proxy` and enables it again."""
        for toxic in self._call("GET", f"/proxies/{proxy}/toxics") or []:
            self.remove_toxic(proxy, toxic["name"])
        self.set_enabled(proxy, True)

    def set_enabled(self, proxy, enabled):
        """A disabled proxy closes every connection and refuses new ones (a hard cut)."""
        self._call("POST", f"/proxies/{proxy}", {"enabled": bool(enabled)})

    def close(self):
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        self._log.close()


class LoopbackHttpServer:
    """A test HTTP server on 127.0.0.1 (a free port) serving `handler_class`, one daemon thread
    per connection; `url` is its base URL. close() stops it."""

    def __init__(self, handler_class):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


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


# --- Reliability runs (tests/integration/test_reliability_*.py, docs/reliability.md) -------
# A whole pipeline (fleet-sim, producers, checkers, actuator) that a test can kill and
# restart piece by piece, background readers of its topics, and one function that checks the
# reconciler's invariants at the end of a run.

def build_is_sanitized():
    """True when RECONCILER_BINARY_DIR was configured with -DRECONCILER_SANITIZE=ON (ASan +
    UBSan): the programs are several times slower there, so runs scale down."""
    import re

    try:
        with open(os.path.join(BINARY_DIR, "CMakeCache.txt")) as handle:
            text = handle.read()
    except OSError:
        return False
    return re.search(r"^RECONCILER_SANITIZE:BOOL=(ON|TRUE|YES|1)$", text, re.M | re.I) is not None


def reliability_knob(name, normal, sanitized=None):
    """The integer RECONCILER_RELIABILITY_<NAME> from the environment, else the CI default of
    this build: `normal`, or `sanitized` in a sanitizer build (when given)."""
    value = os.environ.get("RECONCILER_RELIABILITY_" + name)
    if value not in (None, ""):
        return int(value)
    return sanitized if sanitized is not None and build_is_sanitized() else normal


class FleetSimControl:
    """A running fleet-sim (`process`) and its admin API."""

    def __init__(self, process, port):
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def admin(self, method, path, body=None, expect=(200, 201), timeout=60):
        import urllib.error
        import urllib.request

        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + "/admin" + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        assert status in expect, f"fleet-sim {method} /admin{path}: {status} {text}"
        return json.loads(text) if text else None

    def reset(self, reprovision_delay_ms=None):
        """Forgets every instance and fault; optionally sets the reprovision delay."""
        self.admin("POST", "/reset", {})
        if reprovision_delay_ms is not None:
            self.admin("POST", "/config", {"reprovision_delay_ms": reprovision_delay_ms})

    def add_instances(self, entries):
        """entries: (workspace_id, instance_id, state) tuples."""
        self.admin("POST", "/instances", {"instances": [
            {"workspace_id": w, "instance_id": i, "state": s} for w, i, s in entries]})

    def restarts_performed(self, workspace_id):
        return self.instance(workspace_id)["restarts_performed"]

    def restarts_received(self, workspace_id):
        return self.instance(workspace_id)["restarts_received"]

    def seed(self, count):
        answer = self.admin("POST", "/seed", {"count": count}, timeout=300)
        assert answer["created"] == count, answer
        return answer

    def terminate(self, count, seed=None):
        """Terminates `count` random running instances; returns [(workspace_id, instance_id)]."""
        body = {"count": count}
        if seed is not None:
            body["seed"] = seed
        answer = self.admin("POST", "/terminate", body)
        return list(zip(answer["workspace_ids"], answer["instance_ids"]))

    def add_fault(self, **rule):
        return self.admin("POST", "/faults", rule)["fault"]["id"]

    def delete_fault(self, fault_id):
        self.admin("DELETE", f"/faults/{fault_id}")

    def clear_faults(self):
        self.admin("DELETE", "/faults")

    def instance(self, workspace_id):
        return self.admin("GET", f"/instances/{workspace_id}")

    def metrics(self):
        status, text = http_get(self.url + "/metrics")
        assert status == 200, f"fleet-sim /metrics answered {status}"
        return text

    def metric(self, name, labels=None):
        return metric_value(self.metrics(), name, labels) or 0.0


def start_fleet_sim(database_url, name="fleet-sim", **settings):
    """Starts fleet-sim on a free port with the simulator's write-back to `database_url`;
    `settings` are extra environment variables (FLEETSIM_REPROVISION_DELAY="500ms", ...)."""
    port = free_port()
    env = {"FLEETSIM_ADDR": f"127.0.0.1:{port}", "METRICS_ADDR": "", "DATABASE_URL": database_url,
           "LOG_LEVEL": "warn", **{key: str(value) for key, value in settings.items()}}
    process = Process("fleet-sim", env, name=name)
    sim = FleetSimControl(process, port)

    def ready():
        assert process.alive(), process.log_text()[-3000:]
        return http_get(sim.url + "/readyz", timeout=1.0)[0] == 200

    try:
        wait_until(ready, timeout=30, message="fleet-sim /readyz")
    except AssertionError:
        process.close()
        raise
    return sim


_raw_schemas = {}


def _raw_schema(record_type):
    """The record's schema without logical types: timestamps decode as ms integers, faster."""
    def strip(node):
        if isinstance(node, dict):
            return {key: strip(value) for key, value in node.items() if key != "logicalType"}
        if isinstance(node, list):
            return [strip(item) for item in node]
        return node

    if record_type not in _raw_schemas:
        with open(os.path.join(SOURCE_DIR, "schemas", _SCHEMA_FILES[record_type])) as handle:
            _raw_schemas[record_type] = fastavro.parse_schema(strip(json.load(handle)))
    return _raw_schemas[record_type]


class TopicWatcher:
    """Reads every partition of `topic` from the beginning in a background thread (assigned
    partitions, no consumer group offsets), for as long as a run lasts. Each record that
    decodes as `record_type` is kept as (partition, offset, project(value)); `project` picks
    the fields a test needs (timestamps are integer ms). Records that do not decode are kept
    in `undecodable` as (partition, offset, key, value, headers). `on_record`, if given, is
    called in the reader thread with (partition, offset, value)."""

    def __init__(self, topic, record_type, project=lambda value: value, on_record=None):
        import threading

        self.topic = topic
        self._schema = _raw_schema(record_type)
        self._header = b"\xc3\x01" + fingerprint_bytes(record_type)
        self._project = project
        self._on_record = on_record
        self.records = []
        self.undecodable = []
        self.error = None
        self._lock = threading.Lock()
        self._stop = False
        self._consumer = Consumer({
            "bootstrap.servers": bootstrap_servers(),
            "group.id": "test-watcher-" + uuid.uuid4().hex[:8],
            "log_level": 2,  # quiet while a test restarts the broker; the reader just retries
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
        })
        metadata = self._consumer.list_topics(topic, timeout=30)
        partitions = sorted(metadata.topics[topic].partitions)
        assert partitions, f"{topic}: no partitions"
        from confluent_kafka import OFFSET_BEGINNING

        self._consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"watch-{topic}")
        self._thread.start()

    def _run(self):
        try:
            while not self._stop:
                batch = self._consumer.consume(1000, 0.2)
                kept, odd = [], []
                for message in batch:
                    if message.error():
                        continue
                    data = message.value() or b""
                    value = None
                    if data[:10] == self._header:
                        try:
                            value = fastavro.schemaless_reader(io.BytesIO(data[10:]), self._schema)
                        except Exception:  # noqa: BLE001 - any decoding failure is "undecodable"
                            value = None
                    if value is None:
                        odd.append((message.partition(), message.offset(), message.key(), data,
                                    message.headers()))
                        continue
                    if self._on_record is not None:
                        self._on_record(message.partition(), message.offset(), value)
                    kept.append((message.partition(), message.offset(), self._project(value)))
                if kept or odd:
                    with self._lock:
                        self.records.extend(kept)
                        self.undecodable.extend(odd)
        except Exception as error:  # noqa: BLE001 - reported by snapshot()
            self.error = error
        finally:
            self._consumer.close()

    def snapshot(self):
        """A copy of the records read so far."""
        assert self.error is None, f"watcher of {self.topic} failed: {self.error!r}"
        with self._lock:
            return list(self.records)

    def count(self):
        with self._lock:
            return len(self.records)

    def close(self):
        self._stop = True
        self._thread.join(timeout=30)


def end_offsets(topic):
    """{partition: high watermark} of every partition of `topic`."""
    consumer = Consumer({"bootstrap.servers": bootstrap_servers(),
                         "group.id": "test-watermarks-" + uuid.uuid4().hex[:8]})
    try:
        partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
                for p in partitions}
    finally:
        consumer.close()


def group_caught_up(group, topic):
    """True when `group` has committed the end of every non-empty partition of `topic`."""
    ends = end_offsets(topic)
    committed = committed_offsets(group, topic, len(ends))
    return all(end == 0 or committed.get(p) == end for p, end in ends.items())


class Pipeline:
    """reconciler-producer(s), -checker(s) and -actuator for one run, on one database, one
    set of topics and one fleet-sim. Each member has a name (`producer-a`, `checker-1`,
    `actuator`); its kind is the part before the first '-'. Members can be started, killed,
    stopped and started again under the same name (a new process, the same configuration),
    and every process ever started is kept for its log.

    `settings` maps a kind (or a name) to extra environment variables; the defaults are the
    tests' fast pacing, listed in docs/reliability.md."""

    PROGRAMS = {"producer": "producer", "checker": "checker", "actuator": "actuator"}

    def __init__(self, database_url, topics, sim, settings=None):
        self.database_url = database_url
        self.topics = topics
        self.sim = sim
        suffix = uuid.uuid4().hex[:8]
        self.checker_group = f"rel-checker-{suffix}"
        self.actuator_group = f"rel-actuator-{suffix}"
        self.lock_key = str(uuid.uuid4().int % 2**62)
        self.settings = settings or {}
        self.current = {}   # name -> Process
        self.ports = {}     # name -> metrics port of the current process
        self.history = []   # every Process ever started
        self.generation = {}

    def _env(self, name, overrides=None):
        kind = name.split("-")[0]
        common = {**self.topics["env"], "DATABASE_URL": self.database_url, "LOG_LEVEL": "info"}
        # Consumers: a SIGKILLed member's partitions are reassigned after session.timeout.ms;
        # librdkafka's 45 s default would stall a chaos run, 6 s is the broker's minimum.
        consumer = {"RECONCILER_KAFKA_SESSION_TIMEOUT_MS": "6000",
                    "RECONCILER_KAFKA_HEARTBEAT_INTERVAL_MS": "1000"}
        defaults = {
            "producer": {"PRODUCER_INTERVAL": "3s", "PRODUCER_DEADLINE": "10m",
                         "PRODUCER_LOCK_KEY": self.lock_key, "PRODUCER_ID": name},
            "checker": {**consumer, "CP_URL": self.sim.url, "CHECKER_GROUP_ID": self.checker_group,
                        "CHECKER_ID": name, "CHECKER_TIMEOUT": "2s"},
            "actuator": {**consumer, "RESTART_URL": self.sim.url + "/workspaces/{id}/restart",
                         "CP_URL": self.sim.url, "ACTUATOR_CP_CONFIRM_TIMEOUT": "2s",
                         "ACTUATOR_GROUP_ID": self.actuator_group, "ACTUATOR_ID": name,
                         "ACTUATOR_MAX_RESTARTS_PER_MIN": "60000",
                         "ACTUATOR_MAX_FLIPS_PER_MIN": "60000",
                         "ACTUATOR_RESTART_BACKOFF_BASE": "200ms",
                         "ACTUATOR_RESTART_BACKOFF_MAX": "2s",
                         "ACTUATOR_RESTART_MAX_ATTEMPTS": "100",
                         "ACTUATOR_RESTART_TIMEOUT": "5s"},
        }[kind]
        extra = {**self.settings.get(kind, {}), **self.settings.get(name, {}), **(overrides or {})}
        return kind, {**common, **defaults, **{k: str(v) for k, v in extra.items()}}

    def start(self, name, wait="healthz", timeout=60, env=None):
        """Starts `name` (a new process); waits for /healthz (or /readyz, or nothing). `env`
        overrides settings for this process only."""
        assert name not in self.current or not self.current[name].alive(), f"{name} is running"
        kind, env = self._env(name, env)
        port = free_port()
        env["METRICS_ADDR"] = f"127.0.0.1:{port}"
        self.generation[name] = self.generation.get(name, 0) + 1
        process = Process(self.PROGRAMS[kind], env, name=f"{name}-g{self.generation[name]}")
        self.current[name], self.ports[name] = process, port
        self.history.append(process)
        if wait:
            def up():
                assert process.alive(), f"{name} exited:\n" + process.log_text()[-3000:]
                return http_get(f"http://127.0.0.1:{port}/{wait}", timeout=1.0)[0] == 200

            wait_until(up, timeout=timeout, message=f"{name} /{wait}")
        return process

    def kill(self, name):
        """SIGKILL, no chance to clean up."""
        self.current[name].kill()

    def stop(self, name, timeout=15.0):
        """SIGTERM; returns (exit code, seconds to exit); fails after `timeout` s."""
        started = time.monotonic()
        code = self.current[name].stop(timeout=timeout)
        return code, time.monotonic() - started

    def alive(self, name):
        return name in self.current and self.current[name].alive()

    def metrics(self, name):
        status, text = http_get(f"http://127.0.0.1:{self.ports[name]}/metrics", timeout=5.0)
        return text if status == 200 else ""

    def metric(self, name, metric, labels=None):
        return metric_value(self.metrics(name), metric, labels) or 0.0

    def endpoint(self, name, path):
        return http_get(f"http://127.0.0.1:{self.ports[name]}/{path}", timeout=2.0)[0]

    def logs_tail(self, characters=4000):
        """The end of every log, for a failure message."""
        return "\n".join(f"--- {p.name} ({p.log_path})\n{p.log_text()[-characters:]}"
                         for p in self.history)

    def close(self):
        for process in self.history:
            process.close()


def workspace_rows(database_url):
    """{workspace_id: (status, instance_id, updated_at)} of every row."""
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT id::text, status::text, instance_id, updated_at FROM workspaces").fetchall()
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def actuator_actions(database_url, group):
    """The actuator's Action rows of `group`, in id order, as dicts."""
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT workspace_id, instance_id, verdict_topic, verdict_partition, verdict_offset, "
            "outcome, attempt, published_at IS NOT NULL, sweep_id FROM reconciler_actuator_actions "
            "WHERE consumer_group = %s ORDER BY id", (group,)).fetchall()
    keys = ("workspace_id", "instance_id", "verdict_topic", "verdict_partition", "verdict_offset",
            "outcome", "attempt", "published", "sweep_id")
    return [dict(zip(keys, row)) for row in rows]


def actuator_restarts(database_url, group):
    """{(verdict_partition, verdict_offset): (state, attempts)} of the restart outbox."""
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT verdict_partition, verdict_offset, state, attempts FROM "
            "reconciler_actuator_restarts WHERE consumer_group = %s", (group,)).fetchall()
    return {(row[0], row[1]): (row[2], row[3]) for row in rows}


def flips_by_instance(database_url, group):
    """{(workspace_id, instance_id): number of FLIPPED_RESTART_REQUESTED Actions}."""
    import collections

    return collections.Counter(
        (a["workspace_id"], a["instance_id"]) for a in actuator_actions(database_url, group)
        if a["outcome"] == "FLIPPED_RESTART_REQUESTED")


def check_reliability_invariants(database_url, sim, pipeline, deaths, rows_before, checks,
                                 verdicts, actions_on_topic, restarts_exactly_once=False):
    """The reconciler's promises after a run, checked from the outside. Call it once the run
    has settled (producers stopped, every request answered, the actuator caught up).

    deaths: [(workspace_id, instance_id)] the test terminated; rows_before: workspace_rows()
    before the first death; checks: [(sweep_id, workspace_id)] of every CheckRequest on the
    topic; verdicts: [(partition, offset, (workspace_id, instance_id, sweep_id, liveness))];
    actions_on_topic: [(partition, offset, (verdict_partition, verdict_offset, outcome,
    attempt))]; restarts_exactly_once: no actuator was killed or stopped mid-call, so every
    death must have been restarted (reprovisioned) exactly once.

    - healed exactly once per death: one FLIPPED_RESTART_REQUESTED Action per dead
      (workspace, instance), its restart concluded (accepted, or skipped because an earlier
      attempt already reprovisioned it), and the workspace back online on a new instance
      that the CP reports running;
    - no healthy workspace flipped: no flip of any other (workspace, instance), and every
      row of a workspace that never died is exactly as it was (status, instance, updated_at);
    - no verdict lost: every CheckRequest has a verdict (same sweep, same workspace), every
      NOT_RUNNING verdict has an Action, and every Action row is published on the topic.

    Returns the figures; fails with every violation found."""
    import collections

    group = pipeline.actuator_group
    violations = []
    actions = actuator_actions(database_url, group)
    restarts = actuator_restarts(database_url, group)
    rows_after = workspace_rows(database_url)
    flips = collections.Counter()
    flip_coordinates = collections.defaultdict(list)
    for action in actions:
        if action["outcome"] == "FLIPPED_RESTART_REQUESTED":
            key = (action["workspace_id"], action["instance_id"])
            flips[key] += 1
            flip_coordinates[key].append((action["verdict_partition"], action["verdict_offset"]))
    death_set = set(deaths)
    dead_workspaces = {workspace for workspace, _ in deaths}

    for key in deaths:
        if flips[key] != 1:
            violations.append(f"death {key}: flipped {flips[key]} times, expected exactly once")
        for coordinates in flip_coordinates[key]:
            state = restarts.get(coordinates, ("missing", 0))[0]
            if state not in ("accepted", "skipped"):
                violations.append(f"death {key}: restart of the flip at {coordinates} is {state}")
    for key, count in flips.items():
        if key not in death_set:
            violations.append(f"healthy {key} flipped {count} times")
    for workspace in sorted(dead_workspaces):
        status, instance, _ = rows_after.get(workspace, (None, None, None))
        dead_instances = {i for w, i in deaths if w == workspace}
        record = sim.instance(workspace)
        if status != "online" or instance in dead_instances or not instance:
            violations.append(f"dead workspace {workspace} not back: row {status} on {instance}")
        elif record["instance_id"] != instance or record["state"] != "running":
            violations.append(f"dead workspace {workspace}: row on {instance}, CP says "
                              f"{record['instance_id']} {record['state']}")
    changed = [w for w, row in rows_before.items()
               if w not in dead_workspaces and rows_after.get(w) != row]
    if changed:
        violations.append(f"{len(changed)} healthy rows changed, e.g. {changed[:3]}: "
                          f"{[(rows_before[w], rows_after.get(w)) for w in changed[:3]]}")

    answered = {(value[2], value[0]) for _, _, value in verdicts}
    unanswered = [check for check in set(checks) if check not in answered]
    if unanswered:
        violations.append(f"{len(unanswered)} CheckRequests without a verdict, "
                          f"e.g. {unanswered[:3]}")
    acted_on = {(a["verdict_partition"], a["verdict_offset"]) for a in actions}
    undecided = [(p, o) for p, o, value in verdicts
                 if value[3] == "NOT_RUNNING" and (p, o) not in acted_on]
    if undecided:
        violations.append(f"{len(undecided)} NOT_RUNNING verdicts without an Action, "
                          f"e.g. {undecided[:3]}")
    unpublished = [a for a in actions if not a["published"]]
    if unpublished:
        violations.append(f"{len(unpublished)} Action rows never published, e.g. {unpublished[:2]}")
    on_topic = {tuple(value[:4]) for _, _, value in actions_on_topic}
    in_database = {(a["verdict_partition"], a["verdict_offset"], a["outcome"], a["attempt"])
                   for a in actions}
    if in_database - on_topic:
        missing = sorted(in_database - on_topic)
        violations.append(f"{len(missing)} Actions not on the topic, e.g. {missing[:3]}")

    liveness = collections.Counter(value[3] for _, _, value in verdicts)
    figures = {
        "deaths": len(deaths),
        "flips_expected": len(deaths),
        "flips_made": sum(flips.values()),
        "healthy_flips": sum(count for key, count in flips.items() if key not in death_set),
        "check_requests": len(checks),
        "verdicts": len(verdicts),
        "verdicts_unique": len(answered),
        "verdicts_by_liveness": dict(liveness),
        "actions_by_outcome": dict(collections.Counter(a["outcome"] for a in actions)),
        "actions_on_topic": len(actions_on_topic),
        "restarts_performed": int(sim.metric("fleet_sim_reprovisions_total", {"result": "done"})),
    }
    # An actuator killed between a restart's 2xx and the commit recording it sends it again
    # (restarts are at-least-once, docs/actuator.md); a live one records the 2xx it kept.
    figures["restarts_repeated"] = figures["restarts_performed"] - len(deaths)
    if restarts_exactly_once and figures["restarts_repeated"] != 0:
        violations.append(f"{figures['restarts_performed']} restarts performed for "
                          f"{len(deaths)} deaths with no actuator killed")
    assert not violations, "invariants violated:\n  " + "\n  ".join(violations[:40]) + \
        f"\nfigures: {figures}"
    return figures


def audit_verify(topics, database_url, *extra):
    """reconciler-audit --verify --strict over the run's topics, cross-checked with the
    actuator's tables: (exit code, output)."""
    env = {**os.environ, **topics["env"], "DATABASE_URL": database_url}
    result = subprocess.run([binary("audit"), "--quiet", "--verify", "--strict", *extra], env=env,
                            capture_output=True, timeout=300)
    return result.returncode, result.stdout.decode() + result.stderr.decode()


def report_figures(name, figures):
    """Prints a run's figures (kept by pytest with -s, and in the CTest log on failure) and
    appends them as one JSON line to RECONCILER_RELIABILITY_REPORT when that is set."""
    line = json.dumps({"scenario": name, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "sanitized": build_is_sanitized(), **figures}, default=str, sort_keys=True)
    print("RELIABILITY " + line)
    target = os.environ.get("RECONCILER_RELIABILITY_REPORT")
    if target:
        with open(target, "a") as handle:
            handle.write(line + "\n")


def _check_fields(value):
    return (value["sweep_id"], value["workspace_id"], value["enqueued_at"], value["sweep_size"])


def _verdict_fields(value):
    return (value["workspace_id"], value["instance_id"], value["sweep_id"], value["liveness"],
            value["reason"], value["checked_at"])


def _action_fields(value):
    return (value["verdict_partition"], value["verdict_offset"], value["outcome"],
            value["attempt"], value["workspace_id"], value["instance_id"])


class RunObserver:
    """Watches a run's checks, verdicts and actions topics (TopicWatcher each) and keeps a
    tally per sweep: how many requests it enqueued and when the first was, which workspaces
    have a verdict, and the verdicts by liveness and by reason."""

    def __init__(self, topics):
        import threading

        self._lock = threading.Lock()
        self._sweeps = {}
        self.checks = TopicWatcher(topics["checks"], "check_request", _check_fields,
                                   on_record=self._on_check)
        self.verdicts = TopicWatcher(topics["verdicts"], "verdict", _verdict_fields,
                                     on_record=self._on_verdict)
        self.actions = TopicWatcher(topics["actions"], "action", _action_fields)

    def _tally(self, sweep_id):
        import collections

        tally = self._sweeps.get(sweep_id)
        if tally is None:
            tally = {"requested": set(), "first_enqueued": None, "size": None, "answered": set(),
                     "verdicts": 0, "liveness": collections.Counter(),
                     "reasons": collections.Counter(), "last_checked": None,
                     "max_latency_ms": 0}
            self._sweeps[sweep_id] = tally
        return tally

    def _on_check(self, _partition, _offset, value):
        with self._lock:
            tally = self._tally(value["sweep_id"])
            tally["requested"].add(value["workspace_id"])
            tally["size"] = value["sweep_size"]
            enqueued = value["enqueued_at"]
            if tally["first_enqueued"] is None or enqueued < tally["first_enqueued"]:
                tally["first_enqueued"] = enqueued

    def _on_verdict(self, _partition, _offset, value):
        with self._lock:
            tally = self._tally(value["sweep_id"])
            tally["answered"].add(value["workspace_id"])
            tally["verdicts"] += 1
            tally["liveness"][value["liveness"]] += 1
            tally["reasons"][value["reason"]] += 1
            tally["max_latency_ms"] = max(tally["max_latency_ms"], value["latency_ms"])
            checked = value["checked_at"]
            if tally["last_checked"] is None or checked > tally["last_checked"]:
                tally["last_checked"] = checked

    def sweeps_started_after(self, wall_ms):
        """Ids of the sweeps whose every request was enqueued at or after `wall_ms`, oldest
        first (judged by the requests read so far)."""
        with self._lock:
            found = [(t["first_enqueued"], s) for s, t in self._sweeps.items()
                     if t["first_enqueued"] is not None and t["first_enqueued"] >= wall_ms]
        return [sweep for _, sweep in sorted(found)]

    def sweep(self, sweep_id):
        """A copy of the tally of one sweep, with `complete`: every request of the sweep
        (sweep_size of them) is on the topic and has a verdict."""
        import copy

        with self._lock:
            tally = copy.deepcopy(self._sweeps.get(sweep_id))
        if tally is None:
            return None
        tally["complete"] = (len(tally["requested"]) == tally["size"]
                             and tally["requested"] <= tally["answered"])
        return tally

    def sweep_ids(self):
        """Every sweep id seen so far, on the checks or the verdicts topic."""
        with self._lock:
            return list(self._sweeps)

    def unanswered(self):
        """(sweep_id, workspace_id) of the requests read so far that have no verdict yet."""
        with self._lock:
            return [(s, w) for s, t in self._sweeps.items() for w in t["requested"] - t["answered"]]

    def close(self):
        for watcher in (self.checks, self.verdicts, self.actions):
            watcher.close()


def query_one(database_url, sql, parameters=()):
    """The first column of the first row of a query."""
    with psycopg.connect(database_url) as connection:
        return connection.execute(sql, parameters).fetchone()[0]


class LazyMessage:
    """A wait_until message computed when it is printed: `LazyMessage(lambda: f"... {state}")`
    shows the state at the time of the timeout."""

    def __init__(self, render):
        self._render = render

    def __str__(self):
        return self._render()


def query_all(database_url, sql, parameters=()):
    """Every row of a query, as tuples."""
    with psycopg.connect(database_url) as connection:
        return connection.execute(sql, parameters).fetchall()


def describe_unhealed(database_url, sim, deaths, limit=5):
    """For a failure message: the dead workspaces not back online on a new instance, with
    their row, the CP's record and the actuator's Actions about them."""
    rows = workspace_rows(database_url)
    dead_instances = {instance for _, instance in deaths}
    stuck = sorted({w for w, _ in deaths
                    if rows[w][0] != "online" or rows[w][1] in dead_instances})
    details = []
    for workspace in stuck[:limit]:
        record = sim.instance(workspace)
        actions = query_all(database_url, "SELECT outcome, instance_id, reason, acted_at FROM "
                            "reconciler_actuator_actions WHERE workspace_id = %s ORDER BY id",
                            (workspace,))
        details.append({"workspace_id": workspace, "row": rows[workspace][:2],
                        "cp": {k: record.get(k) for k in ("instance_id", "state", "last_answer",
                                                          "restarts_received", "reprovisions",
                                                          "history")},
                        "actions": actions[-6:]})
    return f"{len(stuck)} not healed: {details}"


@contextlib.contextmanager
def pipeline_run(database_url, topics, settings=None, **sim_settings):
    """fleet-sim (`sim_settings` are its extra environment variables), a RunObserver of the
    topics and a Pipeline (nothing of it started yet) on one database and set of topics.
    Yields (sim, observer, pipeline); at the end every process is stopped and the tail of
    every log printed (pytest shows it only when the test failed)."""
    with contextlib.ExitStack() as cleanup:
        sim = start_fleet_sim(database_url, **sim_settings)
        cleanup.callback(sim.process.close)
        observer = RunObserver(topics)
        cleanup.callback(observer.close)
        pipeline = Pipeline(database_url, topics, sim, settings)
        cleanup.callback(pipeline.close)
        cleanup.callback(lambda: print(pipeline.logs_tail(1500)))
        yield sim, observer, pipeline


def pending_restarts(database_url, group):
    """Restarts of the actuator group `group` not concluded yet (flipped, not restarted)."""
    return query_one(database_url, "SELECT count(*) FROM reconciler_actuator_restarts "
                     "WHERE consumer_group = %s AND state = 'pending'", (group,))


def wait_deaths_healed(database_url, sim, pipeline, deaths, timeout=180, interval=0.5,
                       what="every death healed", members=None, check=None):
    """Waits until every workspace of `deaths` [(workspace, instance)] is online on an
    instance that is none of the dead ones. Fails at once when one of `members` (default:
    those running at the call) exits, or when `check()` (called on every look) raises."""
    dead = {workspace for workspace, _ in deaths}
    dead_instances = {instance for _, instance in deaths}
    if members is None:
        members = [name for name in pipeline.current if pipeline.alive(name)]

    def healed():
        if check is not None:
            check()
        for name in members:
            assert pipeline.alive(name), \
                f"{name} exited:\n" + pipeline.current[name].log_text()[-3000:]
        rows = workspace_rows(database_url)
        return all(rows[w][0] == "online" and rows[w][1] not in dead_instances for w in dead)

    wait_until(healed, timeout=timeout, interval=interval, message=LazyMessage(
        lambda: f"{what}: " + describe_unhealed(database_url, sim, deaths)))


def settle_pipeline(database_url, topics, observer, pipeline, producers, stop_timeout=15.0,
                    answer_timeout=180):
    """The end of a reliability run: stops `producers` (exit 0), waits until every
    CheckRequest is answered, the actuator's group has committed every verdict, no restart is
    pending, every Action is published and on the topic, then stops every other member still
    running (exit 0). Returns the seconds each phase was done at, from the call."""
    started = time.monotonic()
    phases = {}
    for name in producers:
        code, _ = pipeline.stop(name, timeout=stop_timeout)
        assert code == 0, name
    wait_until(lambda: not observer.unanswered(), timeout=answer_timeout, interval=1.0,
               message=LazyMessage(lambda: f"every request answered: {observer.unanswered()[:5]}"))
    phases["answered"] = round(time.monotonic() - started, 1)
    wait_until(lambda: group_caught_up(pipeline.actuator_group, topics["verdicts"]),
               timeout=120, interval=1.0, message="the actuator caught up")
    phases["caught_up"] = round(time.monotonic() - started, 1)
    wait_until(lambda: pending_restarts(database_url, pipeline.actuator_group) == 0
               and query_one(database_url, "SELECT count(*) FROM reconciler_actuator_actions "
                             "WHERE published_at IS NULL") == 0,
               timeout=120, interval=0.5, message="restarts concluded and actions published")
    phases["published"] = round(time.monotonic() - started, 1)
    actions = query_one(database_url, "SELECT count(*) FROM reconciler_actuator_actions")
    wait_until(lambda: observer.actions.count() >= actions, timeout=60,
               message="the actions on the topic")
    phases["on_topic"] = round(time.monotonic() - started, 1)
    for name in [n for n in pipeline.current if n not in producers and pipeline.alive(n)]:
        code, _ = pipeline.stop(name, timeout=stop_timeout)
        assert code == 0, name
    return phases


def verify_reliability_run(database_url, topics, sim, observer, pipeline, deaths, rows_before,
                           restarts_exactly_once=False):
    """check_reliability_invariants over everything the observer saw, then
    `reconciler-audit --verify --strict` as a second opinion. Returns the figures."""
    figures = check_reliability_invariants(
        database_url, sim, pipeline, deaths, rows_before,
        [(sweep, workspace) for _, _, (sweep, workspace, _, _) in observer.checks.snapshot()],
        observer.verdicts.snapshot(), observer.actions.snapshot(),
        restarts_exactly_once=restarts_exactly_once)
    code, output = audit_verify(topics, database_url)
    assert code == 0 and "PASSED" in output, output
    return figures
