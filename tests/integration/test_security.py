"""Security tests of the whole pipeline (issue #9) against real Kafka and PostgreSQL, fleet-sim
and our programs from $RECONCILER_BINARY_DIR.

What each proves:
- secrets: with distinctive values for CP_SHARED_SECRET, CP_ADMIN_TOKEN, RESTART_TOKEN and
  the database password (a role created for the test, owning its own database), producer ->
  checker -> actuator -> fleet-sim heal terminated instances, undecodable input reaches the
  DLQ, and no secret, nor any 8-character piece of one, appears in any log line of any
  process, any /metrics, /healthz or /readyz answer, any --check-config output, the output of
  reconciler-audit (cross-checking with the database), or any byte (key, value, header) of
  any topic, DLQ included.
- TLS: against a local https server with a self-signed certificate (subjectAltName
  IP:127.0.0.1), the checker without CP_CA_FILE answers UNKNOWN tls_failed, never
  NOT_RUNNING, and no request gets through; with CP_CA_FILE it answers NOT_RUNNING, but still
  UNKNOWN tls_failed when the URL names another host (localhost) than the certificate. The
  actuator without RESTART_CA_FILE keeps the restart pending and retries it (tls_failed in the
  outbox, the Actions and the metrics), with RESTART_CA_FILE the same restart is accepted.
- hostile data: instance ids with quotes, %, {}, /, ?, #, &, =, +, spaces, CR LF, unicode,
  SQL and LIKE metacharacters and 10 KB strings reach the CP with exactly the bytes the
  database holds (a recording CP proves the URL encoding round-trips; fleet-sim only stores
  ids of [A-Za-z0-9._:-]), verdicts carry them exactly, only in-scope NOT_RUNNING rows are
  flipped, verdicts whose instance id is a near miss (a LIKE wildcard, an injection suffix)
  flip nothing, out-of-scope rows with the same ids are untouched to the last column, a
  20 KB id is skipped and counted, every log line stays one JSON line, nothing crashes.
- metrics on loopback: without METRICS_ADDR every program's effective configuration binds
  127.0.0.1, and a checker started that way listens on 127.0.0.1 only.

Everything waits on observable state with harness.wait_until, never on sleeps.
"""

import contextlib
import http.server
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
import uuid

import psycopg
import pytest
from psycopg import sql

import harness

# The dev stack's env file exports RECONCILER_KAFKA_LIB (a directory for the scripts), which
# our programs would read as the librdkafka property "lib": not for the processes started here.
os.environ.pop("RECONCILER_KAFKA_LIB", None)
# Each test chooses the metrics address of what it starts.
os.environ.pop("METRICS_ADDR", None)

# Consumers in a test should get their partitions at once and give them up quickly.
FAST_CONSUMER = {"RECONCILER_KAFKA_SESSION_TIMEOUT_MS": "6000",
                 "RECONCILER_KAFKA_HEARTBEAT_INTERVAL_MS": "1000"}
# The actuator's production pacing (60 restarts/min, 1 s..5 m backoff) is too slow for a test;
# the breaker is opened wide because these fleets are small and half dead on purpose.
FAST_ACTUATOR = {"ACTUATOR_MAX_RESTARTS_PER_MIN": "60000", "ACTUATOR_MAX_FLIPS_PER_MIN": "60000", "ACTUATOR_RESTART_BACKOFF_BASE": "200ms",
                 "ACTUATOR_RESTART_BACKOFF_MAX": "1s", "ACTUATOR_RESTART_TIMEOUT": "5s",
                 "ACTUATOR_RESTART_MAX_ATTEMPTS": "1000", "ACTUATOR_MAX_UNHEALTHY": "100%"}


def new_instance_id():
    return "i-" + uuid.uuid4().hex[:17]


def now_ms():
    return int(time.time() * 1000)


# --- processes --------------------------------------------------------------------------------

class Program:
    """One of our programs with its metrics port and the environment it was started with."""

    def __init__(self, program, env, name):
        self.program = program
        self.port = harness.free_port()
        self.env = {**env, "METRICS_ADDR": f"127.0.0.1:{self.port}"}
        self.process = harness.Process(program, self.env, name=name)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}/{path}"

    def wait_healthy(self, timeout=60):
        def healthy():
            assert self.process.alive(), self.process.log_text()[-3000:]
            return harness.http_get(self.url("healthz"), timeout=2.0)[0] == 200
        harness.wait_until(healthy, timeout=timeout, message=f"{self.process.name} /healthz")
        return self

    def metric(self, name, labels=None):
        status, text = harness.http_get(self.url("metrics"))
        return (harness.metric_value(text, name, labels) or 0.0) if status == 200 else 0.0

    def endpoints(self):
        """The text of /metrics, /healthz and /readyz, for the secret search."""
        return "\n".join(harness.http_get(self.url(path))[1]
                         for path in ("metrics", "healthz", "readyz"))


@pytest.fixture
def started():
    """Processes a test starts; killed at the end whatever happened."""
    processes = []
    yield processes
    for process in processes:
        process.close()


def start(started, program, env, name):
    entry = Program(program, env, name)
    started.append(entry.process)
    return entry.wait_healthy()


def check_config(program, env):
    """(exit code, stdout + stderr) of `program --check-config` with exactly `env` added."""
    result = subprocess.run([harness.binary(program), "--check-config"],
                            env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    return result.returncode, result.stdout + result.stderr


def send_checks(topics, requests):
    harness.produce_raw(topics["checks"], [
        (r["workspace_id"].encode(), harness.encode_record("check_request", r)) for r in requests])


def check_request(workspace_id, instance_id):
    now = now_ms()
    return {"workspace_id": workspace_id, "instance_id": instance_id,
            "sweep_id": str(uuid.uuid4()), "sweep_size": 1, "enqueued_at": now,
            "deadline": now + 300_000, "producer_id": "test"}


def verdict(workspace_id, instance_id, sweep_size=1):
    now = now_ms()
    return {"workspace_id": workspace_id, "instance_id": instance_id,
            "sweep_id": str(uuid.uuid4()), "sweep_size": sweep_size, "liveness": "NOT_RUNNING",
            "cp_state": "terminated", "http_status": 200, "reason": "state_not_running",
            "checked_at": now, "latency_ms": 3, "checker_id": "test", "enqueued_at": now - 5}


def send_verdicts(topics, verdicts):
    harness.produce_raw(topics["verdicts"], [
        (v["workspace_id"].encode(), harness.encode_record("verdict", v)) for v in verdicts])


def read_verdicts(topic):
    return [harness.decode_record("verdict", m.value())
            for m in harness.consume_available(topic, idle=1.0)]


def query(url, statement, parameters=()):
    with psycopg.connect(url) as connection:
        return connection.execute(statement, parameters).fetchall()


def full_rows(url):
    """Every column of every workspaces row, by id: what "untouched" is compared on."""
    with psycopg.connect(url) as connection:
        cursor = connection.execute("SELECT * FROM workspaces ORDER BY id")
        names = [column.name for column in cursor.description]
        return {str(row[0]): dict(zip(names, row)) for row in cursor.fetchall()}


def outcomes(url, workspace_id):
    return [row[0] for row in query(
        url, "SELECT outcome FROM reconciler_actuator_actions WHERE workspace_id = %s ORDER BY id",
        (workspace_id,))]


def restart_outbox(url, workspace_id):
    return query(url, "SELECT state, attempts, last_error_name FROM reconciler_actuator_restarts "
                 "WHERE workspace_id = %s ORDER BY id", (workspace_id,))


# --- (a) secrets ------------------------------------------------------------------------------

@contextlib.contextmanager
def database_with_password(password):
    """A role with `password` and a fresh database it owns (fixture table + migrations);
    yields the role's URL. Both are dropped afterwards."""
    role = "sec_" + uuid.uuid4().hex[:10]
    name = "secdb_" + uuid.uuid4().hex[:10]
    admin_url = harness.database_url()
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(role), sql.Literal(password)))
        connection.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(name), sql.Identifier(role)))
    host, port = harness.url_host_port(admin_url)
    url = f"postgresql://{role}:{password}@{host}:{port}/{name}"
    try:
        subprocess.run([os.path.join(harness.SOURCE_DIR, "scripts", "migrate.sh"), "--fixtures"],
                       env={**os.environ, "DATABASE_URL": url}, check=True,
                       stdout=subprocess.DEVNULL)
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
            connection.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def topic_bytes(topic):
    """Every key, value and header (name and value) of every record of `topic`, as one blob."""
    parts = []
    for message in harness.consume_available(topic, idle=2.0):
        parts += [message.key() or b"", message.value() or b""]
        for name, value in message.headers() or []:
            parts += [name.encode(), value or b""]
    return b"\n".join(parts)


def fragments(secret, length=8):
    """Every piece of `secret` of `length` characters: any longer piece contains one."""
    return {secret[i:i + length] for i in range(len(secret) - length + 1)}


def assert_no_secret(haystacks, secrets):
    """haystacks: {label: bytes}. Fails naming the secret and where a piece of it was found."""
    for label, data in haystacks.items():
        for secret_name, secret in secrets.items():
            for piece in fragments(secret):
                assert piece.encode() not in data, (
                    f"a piece of {secret_name} ({piece!r}) appears in {label}")


def test_secrets_appear_in_no_log_metric_config_output_or_topic(started):
    secrets = {
        "CP_SHARED_SECRET": "cpsecret-" + uuid.uuid4().hex,
        "CP_ADMIN_TOKEN": "admintok-" + uuid.uuid4().hex,
        "RESTART_TOKEN": "restarttok-" + uuid.uuid4().hex,
        "database password": "dbpass-" + uuid.uuid4().hex,
    }
    with database_with_password(secrets["database password"]) as url, \
            harness.fresh_topics() as topics:
        sim = harness.start_fleet_sim(
            url, FLEETSIM_CP_SHARED_SECRET=secrets["CP_SHARED_SECRET"],
            FLEETSIM_CP_ADMIN_TOKEN=secrets["CP_ADMIN_TOKEN"],
            FLEETSIM_RESTART_TOKEN=secrets["RESTART_TOKEN"], FLEETSIM_REPROVISION_DELAY="300ms",
            LOG_LEVEL="debug")
        started.append(sim.process)
        states = ["terminated", "stopped", "terminated", "running", "running", "running"]
        specs = [{"status": "online", "instance_id": new_instance_id()} for _ in states]
        ids = harness.insert_workspaces(url, specs)
        sim.admin("POST", "/instances", {"instances": [
            {"workspace_id": w, "instance_id": s["instance_id"], "state": state}
            for w, s, state in zip(ids, specs, states)]})
        dead = [w for w, state in zip(ids, states) if state != "running"]

        common = {**topics["env"], "LOG_LEVEL": "debug"}
        settings = {
            "checker": {**common, **FAST_CONSUMER, "CP_URL": sim.url,
                        "CP_SHARED_SECRET": secrets["CP_SHARED_SECRET"],
                        "CP_ADMIN_TOKEN": secrets["CP_ADMIN_TOKEN"],
                        "CHECKER_GROUP_ID": "sec-checker-" + uuid.uuid4().hex[:8],
                        "CHECKER_TIMEOUT": "2s"},
            "actuator": {**common, **FAST_CONSUMER, **FAST_ACTUATOR, "DATABASE_URL": url,
                         "RESTART_URL": sim.url + "/workspaces/{id}/restart",
                         "RESTART_TOKEN": secrets["RESTART_TOKEN"], "CP_URL": sim.url,
                         "CP_SHARED_SECRET": secrets["CP_SHARED_SECRET"],
                         "CP_ADMIN_TOKEN": secrets["CP_ADMIN_TOKEN"],
                         "ACTUATOR_GROUP_ID": "sec-actuator-" + uuid.uuid4().hex[:8]},
            "producer": {**common, "DATABASE_URL": url, "PRODUCER_INTERVAL": "2s",
                         "PRODUCER_LOCK_KEY": str(uuid.uuid4().int % 2**62)},
        }
        programs = {kind: start(started, kind, env, f"sec-{kind}")
                    for kind, env in settings.items()}
        # Poison on both consumed topics, so both consumers write to the DLQ.
        harness.produce_raw(topics["checks"], [(b"poison-check", b"\xc3\x01not a check")])
        harness.produce_raw(topics["verdicts"], [(b"poison-verdict", b"\x00not a verdict")])

        def healed(workspace, instance):
            status, current = query(url, "SELECT status::text, instance_id FROM workspaces "
                                    "WHERE id = %s", (workspace,))[0]
            return status == "online" and current != instance

        instance_of = {w: s["instance_id"] for w, s in zip(ids, specs)}
        harness.wait_until(lambda: all(healed(w, instance_of[w]) for w in dead), timeout=180,
                           interval=0.5, message="every dead workspace healed")
        harness.consume(topics["dlq"], 2, timeout=60)

        haystacks = {}
        for kind, program in programs.items():
            haystacks[f"{kind} /metrics, /healthz, /readyz"] = program.endpoints().encode()
        haystacks["fleet-sim /metrics"] = sim.metrics().encode()
        haystacks["fleet-sim /admin/state"] = json.dumps(sim.admin("GET", "/state")).encode()
        for kind, env in settings.items():
            code, output = check_config(kind, env)
            assert code == 0, output
            haystacks[f"{kind} --check-config"] = output.encode()
        # The masks prove the secrets were configured, so their absence means something.
        assert "CP_SHARED_SECRET=<masked>" in haystacks["checker --check-config"].decode()
        assert "CP_ADMIN_TOKEN=<masked>" in haystacks["checker --check-config"].decode()
        assert "RESTART_TOKEN=<masked>" in haystacks["actuator --check-config"].decode()
        assert "DATABASE_URL=<masked>" in haystacks["producer --check-config"].decode()
        sim_env = {"DATABASE_URL": url, "FLEETSIM_CP_SHARED_SECRET": secrets["CP_SHARED_SECRET"],
                   "FLEETSIM_CP_ADMIN_TOKEN": secrets["CP_ADMIN_TOKEN"],
                   "FLEETSIM_RESTART_TOKEN": secrets["RESTART_TOKEN"], "METRICS_ADDR": ""}
        code, output = check_config("fleet-sim", sim_env)
        assert code == 0, output
        haystacks["fleet-sim --check-config"] = output.encode()

        for kind in ("producer", "checker", "actuator"):
            assert programs[kind].process.stop() == 0, programs[kind].process.log_text()[-3000:]
        assert sim.process.stop() == 0
        # The audit reads both topics and, for the cross-check, the database with the password.
        audit = harness.Process("audit", {**topics["env"], "DATABASE_URL": url},
                                args=("--timeline", "--summary", "--verify"), name="sec-audit")
        started.append(audit)
        harness.wait_until(lambda: not audit.alive(), timeout=120, message="audit done")
        assert audit.popen.returncode == 0, audit.log_text()[-3000:]
        assert "verify: PASSED" in audit.log_text()
        for process in started:
            haystacks[f"log of {process.name}"] = process.log_text().encode()
        for kind in ("checks", "verdicts", "actions", "dlq"):
            haystacks[f"topic {kind}"] = topic_bytes(topics[kind])
        assert haystacks["topic dlq"] and haystacks["topic actions"]

        assert_no_secret(haystacks, secrets)


# --- (b) TLS ----------------------------------------------------------------------------------

class JsonRequestHandler(http.server.BaseHTTPRequestHandler):
    """The test servers' handler base: HTTP/1.1 (kept-alive connections, as the programs'
    libcurl clients use them) and answer(status, document) with a JSON body and its length."""
    protocol_version = "HTTP/1.1"

    def answer(self, status, document):
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class TlsServer:
    """A local https server with a self-signed certificate for 127.0.0.1: the CP status
    endpoint answers {"state":"terminated"}, the restart endpoint 202. It records each request
    that got through the handshake, and counts the handshakes that failed."""

    def __init__(self, directory):
        self.cert = os.path.join(directory, "cert.pem")
        key = os.path.join(directory, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", self.cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        self.requests = []
        self.failed_handshakes = 0
        self._lock = threading.Lock()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, key)
        owner = self

        class Handler(JsonRequestHandler):
            def setup(self):
                self.request.settimeout(10)
                self.request.do_handshake()  # here, not in the accept loop
                super().setup()

            def record(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with owner._lock:
                    owner.requests.append((self.command, self.path, dict(self.headers), body))

            def do_GET(self):  # noqa: N802 - http.server's naming
                self.record()
                self.answer(200, {"state": "terminated"})

            def do_POST(self):  # noqa: N802
                self.record()
                self.answer(202, {"status": "accepted"})

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                with owner._lock:
                    owner.failed_handshakes += 1

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True,
                                                 do_handshake_on_connect=False)
        self.port = self.server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def seen(self, method):
        with self._lock:
            return [r for r in self.requests if r[0] == method]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tls_server(tmp_path):
    server = TlsServer(str(tmp_path))
    yield server
    server.close()


def run_checker_against(started, server, name, **extra):
    """One check of a terminated instance through the https CP; returns its verdicts."""
    with harness.fresh_topics() as topics:
        workspace, instance = str(uuid.uuid4()), new_instance_id()
        send_checks(topics, [check_request(workspace, instance)])
        checker = start(started, "checker", {
            **topics["env"], **FAST_CONSUMER, "CP_URL": server.url, "CHECKER_TIMEOUT": "3s",
            "CHECKER_GROUP_ID": "tls-" + uuid.uuid4().hex[:8], **extra}, name)
        verdicts = [harness.decode_record("verdict", m.value())
                    for m in harness.consume(topics["verdicts"], 1, timeout=60)]
        assert checker.process.stop() == 0
        return checker, verdicts


def test_checker_https_self_signed_without_ca_file_is_unknown_tls_never_not_running(
        started, tls_server):
    checker, verdicts = run_checker_against(started, tls_server, "tls-checker-untrusted")
    assert [(v["liveness"], v["reason"]) for v in verdicts] == [("UNKNOWN", "tls_failed")]
    assert verdicts[0]["http_status"] is None and verdicts[0]["cp_state"] is None
    assert tls_server.seen("GET") == [], "a request got through an unverified TLS connection"
    assert tls_server.failed_handshakes >= 1


def test_checker_https_with_ca_file_trusts_the_certificate(started, tls_server):
    checker, verdicts = run_checker_against(started, tls_server, "tls-checker-trusted",
                                            CP_CA_FILE=tls_server.cert)
    assert [(v["liveness"], v["reason"], v["cp_state"]) for v in verdicts] == [
        ("NOT_RUNNING", "state_not_running", "terminated")]
    assert len(tls_server.seen("GET")) == 1


def test_checker_https_trusted_ca_but_other_host_name_is_unknown_tls(started, tls_server):
    """The CA file adds trust in the issuer, not in any name: the certificate is for
    127.0.0.1, so https://localhost fails host name verification."""
    if socket.gethostbyname("localhost") != "127.0.0.1":
        pytest.skip("localhost does not resolve to 127.0.0.1 here")
    server = tls_server
    server.url = f"https://localhost:{server.port}"
    checker, verdicts = run_checker_against(started, server, "tls-checker-wrong-name",
                                            CP_CA_FILE=server.cert)
    assert [(v["liveness"], v["reason"]) for v in verdicts] == [("UNKNOWN", "tls_failed")]
    assert server.seen("GET") == []


def test_actuator_https_restart_fails_closed_until_ca_file_is_configured(started, tls_server):
    with harness.fresh_database() as url, harness.fresh_topics() as topics:
        instance = new_instance_id()
        [workspace] = harness.insert_workspaces(url, [{"status": "online",
                                                       "instance_id": instance}])
        send_verdicts(topics, [verdict(workspace, instance)])
        env = {**topics["env"], **FAST_CONSUMER, **FAST_ACTUATOR, "DATABASE_URL": url,
               "RESTART_URL": tls_server.url + "/workspaces/{id}/restart",
               "RESTART_TOKEN": "tls-" + uuid.uuid4().hex,
               # No CP here: this test is about the restart's TLS, not the confirmation.
               "ACTUATOR_CP_CONFIRM": "false",
               "ACTUATOR_GROUP_ID": "tls-actuator-" + uuid.uuid4().hex[:8]}
        untrusted = start(started, "actuator", env, "tls-actuator-untrusted")

        def retried():
            # attempts is counted when an attempt is claimed (before its call), so wait for
            # the second attempt's result too: its error in the metric.
            rows = restart_outbox(url, workspace)
            return (rows and rows[0][0] == "pending" and rows[0][1] >= 2
                    and rows[0][2] == "tls_failed"
                    and untrusted.metric("reconciler_actuator_restart_attempt_errors_total",
                                         {"error": "tls_failed"}) >= 2)

        harness.wait_until(retried, timeout=60, message="restart retried after TLS failures")
        assert untrusted.metric("reconciler_actuator_restart_attempt_errors_total",
                                {"error": "tls_failed"}) >= 2
        assert tls_server.seen("POST") == [], "a restart went through an unverified connection"
        assert untrusted.process.stop() == 0
        found = outcomes(url, workspace)
        assert found[0] == "FLIPPED_RESTART_REQUESTED" and "RESTART_RETRIED" in found, found
        assert "RESTART_ACCEPTED" not in found

        # The same group with the CA file configured: the pending restart goes through.
        trusted = start(started, "actuator", {**env, "RESTART_CA_FILE": tls_server.cert},
                        "tls-actuator-trusted")
        harness.wait_until(lambda: restart_outbox(url, workspace)[0][0] == "accepted",
                           timeout=60, message="restart accepted once the CA is trusted")
        [(method, path, headers, _)] = tls_server.seen("POST")
        assert path == f"/workspaces/{workspace}/restart"
        assert headers.get("Authorization") == "Bearer " + env["RESTART_TOKEN"]
        assert trusted.process.stop() == 0
        assert outcomes(url, workspace)[-1] == "RESTART_ACCEPTED"


# --- (c) hostile data -------------------------------------------------------------------------

class RecordingCp:
    """A plain-http CP and workspace server that records every request: the raw target as it
    arrived and the decoded workspace and instance ids. Status answers come from `states`
    (instance id -> state), unknown instances are "running"; restarts answer 202."""

    UNRESERVED_TARGET = re.compile(
        r"/cp/workspaces/([A-Za-z0-9._~%-]+)/status\?instance_id=([A-Za-z0-9._~%-]*)")

    def __init__(self, states):
        self.states = states
        self.status_requests = []  # (raw target, workspace id, instance id)
        self.restarts = []         # workspace ids
        self.malformed = []        # raw targets that do not have the encoded shape
        self._lock = threading.Lock()
        owner = self

        class Handler(JsonRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                match = owner.UNRESERVED_TARGET.fullmatch(self.path)
                if match is None:
                    with owner._lock:
                        owner.malformed.append(self.path)
                    return self.answer(400, {"error": "malformed"})
                workspace = urllib.parse.unquote(match.group(1), errors="strict")
                instance = urllib.parse.unquote(match.group(2), errors="strict")
                with owner._lock:
                    owner.status_requests.append((self.path, workspace, instance))
                self.answer(200, {"state": owner.states.get(instance, "running")})

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                match = re.fullmatch(r"/workspaces/([0-9a-f-]{36})/restart", self.path)
                with owner._lock:
                    (owner.restarts if match else owner.malformed).append(
                        match.group(1) if match else self.path)
                self.answer(202 if match else 400, {"status": "accepted"})

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def asked(self):
        """{workspace id: set of instance ids asked about}."""
        with self._lock:
            found = {}
            for _, workspace, instance in self.status_requests:
                found.setdefault(workspace, set()).add(instance)
            return found

    def close(self):
        self.server.shutdown()
        self.server.server_close()


TEN_KB = ("é%/?#{}'\"&= +" * 1000)[:10 * 1024 - 200]

HOSTILE_INSTANCE_IDS = [
    'i-"double"-\'single\'',
    "i-100%-%25-%2F-%",
    "i-{}-{{id}}-{0}",
    "i-a/b/../../c",
    "i-what?x=1&y=2",
    "i-frag#ment",
    "i-plus+space tab\tend",
    "i-line\r\nX-Injected: 1",
    "i-ünïcødé-😀-中文-\u202e",
    "x' OR '1'='1",
    "'; DROP TABLE workspaces; --",
    "_%",
    "..",
    "\\backslash\\",
    "i-10kb-" + TEN_KB,
    "i-10kb-ascii-" + "A" * (10 * 1024),
]


# The longest instance_id any program carries (the codec's string limit, which the actuator
# shares): the producer skips a longer row and counts it, so every row it does send can be
# healed, the 10 KB ids included.
ACTUATOR_MAX_INSTANCE_ID_BYTES = 16 * 1024


def dlq_records(topic):
    """[(source topic, error, key)] of every DLQ record."""
    found = []
    for message in harness.consume_available(topic, idle=1.0):
        headers = {name: (value or b"").decode() for name, value in message.headers() or []}
        found.append((headers.get("reconciler.source.topic"), headers.get("reconciler.error"),
                      (message.key() or b"").decode()))
    return found


def test_hostile_instance_ids_round_trip_exactly_and_touch_nothing_out_of_scope(started):
    assert all(len(i.encode()) <= 16 * 1024 for i in HOSTILE_INSTANCE_IDS)
    terminated = set(HOSTILE_INSTANCE_IDS[::2])  # every other one is dead at the CP
    cp = RecordingCp({i: "terminated" for i in terminated})
    try:
        with harness.fresh_database() as url, harness.fresh_topics() as topics:
            in_scope = [{"status": "online", "instance_id": i,
                         "runtime": "docker" if n % 2 else None}
                        for n, i in enumerate(HOSTILE_INSTANCE_IDS)]
            # The same hostile ids outside the scope: other statuses, external runtime.
            out_of_scope = []
            for n, instance in enumerate(HOSTILE_INSTANCE_IDS):
                out_of_scope.append({"status": ("offline", "degraded", "online")[n % 3],
                                     "instance_id": instance,
                                     "runtime": "external" if n % 3 == 2 else "docker"})
            # Longer than a CheckRequest may carry (16 KiB): skipped by the producer, counted.
            oversized = {"status": "online", "instance_id": "i-20kb-" + "Z" * (20 * 1024)}
            in_ids = harness.insert_workspaces(url, in_scope)
            out_ids = harness.insert_workspaces(url, out_of_scope)
            [oversized_id] = harness.insert_workspaces(url, [oversized])
            instance_of = dict(zip(in_ids, HOSTILE_INSTANCE_IDS))
            too_long = {w for w, i in instance_of.items()
                        if len(i.encode()) > ACTUATOR_MAX_INSTANCE_ID_BYTES}
            dead = {w for w, i in instance_of.items() if i in terminated}
            flippable = dead - too_long
            alive = set(in_ids) - dead
            assert not too_long
            assert any(len(instance_of[w].encode()) > 8 * 1024 for w in flippable)
            before = full_rows(url)

            common = {**topics["env"], **FAST_CONSUMER, "LOG_LEVEL": "debug"}
            processes = [
                start(started, "checker", {**common, "CP_URL": cp.url, "CHECKER_TIMEOUT": "3s",
                                           "CHECKER_GROUP_ID": "hostile-" + uuid.uuid4().hex[:8]},
                      "hostile-checker"),
                start(started, "actuator", {**common, **FAST_ACTUATOR, "DATABASE_URL": url,
                                            "RESTART_URL": cp.url + "/workspaces/{id}/restart",
                                            "CP_URL": cp.url,
                                            "ACTUATOR_GROUP_ID": "hostile-" + uuid.uuid4().hex[:8]},
                      "hostile-actuator"),
            ]
            producer = start(started, "producer", {
                **common, "DATABASE_URL": url, "PRODUCER_INTERVAL": "2s",
                "PRODUCER_LOCK_KEY": str(uuid.uuid4().int % 2**62)}, "hostile-producer")
            processes.append(producer)

            # Near misses for a row the CP reports running: a LIKE wildcard matching any id,
            # an injection suffix, a trailing space, another case. A flip built from strings or
            # with LIKE would take them; the compare-and-swap must not.
            probe = sorted(alive - too_long)[0]
            near_misses = ["%", instance_of[probe] + "' OR '1'='1", instance_of[probe] + " ",
                           instance_of[probe].upper(), "_" * len(instance_of[probe])]
            near_misses = [m for m in near_misses if m != instance_of[probe]]
            send_verdicts(topics, [verdict(probe, miss, sweep_size=100) for miss in near_misses])

            def progress():
                """What is still missing (empty when the run has done everything)."""
                rows = full_rows(url)
                asked = cp.asked()
                missing = {
                    "unflipped": [w for w in flippable if rows[w]["status"] != "offline"],
                    "unasked": [w for w in in_ids if instance_of[w] not in asked.get(w, set())],
                    "unrestarted": sorted(flippable - set(cp.restarts)),
                    "near misses": len(near_misses)
                    - outcomes(url, probe).count("SKIPPED_INSTANCE_CHANGED"),
                    "oversized not skipped": producer.metric(
                        "reconciler_producer_rows_skipped_total") < 1,
                }
                return {name: value for name, value in missing.items() if value}

            try:
                harness.wait_until(lambda: not progress(), timeout=180, interval=0.5,
                                   message="every hostile row checked, the dead ones flipped")
            except AssertionError as error:
                raise AssertionError(f"{error}; still missing: {progress()}") from None
            verdicts = read_verdicts(topics["verdicts"])
            for process in processes:
                assert process.process.stop() == 0, process.process.log_text()[-3000:]

            # Requests: every one had the percent-encoded shape and decoded to exactly the
            # database's bytes; nothing outside the scope was asked about.
            assert cp.malformed == []
            asked = cp.asked()
            assert set(asked) == set(in_ids)
            for workspace in in_ids:
                assert asked[workspace] == {instance_of[workspace]}
            # Verdicts carry the exact ids.
            checked = {(v["workspace_id"], v["instance_id"], v["liveness"]) for v in verdicts
                       if v["checker_id"] != "test"}
            assert checked == {(w, i, "NOT_RUNNING" if w in dead else "RUNNING")
                               for w, i in instance_of.items()}
            # Effects: exactly the flippable rows flipped (status and updated_at only), each
            # restarted once; everything else identical to the last column.
            after = full_rows(url)
            assert sorted(cp.restarts) == sorted(flippable)
            for workspace, row in after.items():
                if workspace in flippable:
                    expected = {**before[workspace], "status": "offline",
                                "updated_at": row["updated_at"]}
                    assert row == expected and row["updated_at"] > before[workspace]["updated_at"]
                else:
                    assert row == before[workspace], workspace
            assert set(outcomes(url, probe)) == {"SKIPPED_INSTANCE_CHANGED"}
            for workspace in out_ids + [oversized_id] + sorted(too_long):
                assert outcomes(url, workspace) == []
            # Nothing was refused: every id the producer sent fits everywhere downstream.
            assert dlq_records(topics["dlq"]) == []
            # Every log line is one JSON object, whatever the ids held (CR LF included).
            for process in processes:
                unparsed = [line for line in process.process.log_lines() if "unparsed" in line]
                assert unparsed == [], (process.process.name, unparsed[:3])
    finally:
        cp.close()


# --- (d) metrics on loopback ------------------------------------------------------------------

REQUIRED = {"producer": {}, "checker": {"CP_URL": "http://127.0.0.1:9/"},
            "actuator": {"RESTART_URL": "http://127.0.0.1:9/workspaces/{id}/restart",
                         "CP_URL": "http://127.0.0.1:9/"},
            "fleet-sim": {}}


@pytest.mark.parametrize("program", sorted(REQUIRED))
def test_metrics_addr_defaults_to_loopback(program):
    code, output = check_config(program, REQUIRED[program])
    assert code == 0, output
    [address] = re.findall(r"^METRICS_ADDR=(.*)$", output, re.M)
    assert re.fullmatch(r"127\.0\.0\.1:\d+", address), address


def listeners(port):
    """Local addresses of the TCP sockets listening on `port` (from ss)."""
    output = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True,
                            check=True).stdout
    return [line.split()[3] for line in output.splitlines() if line.strip()]


def test_checker_with_default_metrics_addr_listens_on_loopback_only(started):
    if shutil.which("ss") is None:
        pytest.skip("ss (iproute2) is not installed")
    _, output = check_config("checker", REQUIRED["checker"])
    [address] = re.findall(r"^METRICS_ADDR=(.*)$", output, re.M)
    port = int(address.rsplit(":", 1)[1])
    with socket.socket() as probe:
        # SO_REUSEADDR as the metrics server has: a connection in TIME_WAIT is no clash.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            pytest.skip(f"the checker's default metrics port {port} is taken on this machine")
    with harness.fresh_topics() as topics:
        env = {**topics["env"], "CP_URL": "http://127.0.0.1:9/",
               "CHECKER_GROUP_ID": "loopback-" + uuid.uuid4().hex[:8]}
        process = harness.Process("checker", env, name="loopback-checker")
        started.append(process)

        def serving():
            assert process.alive(), process.log_text()[-3000:]
            return harness.http_get(f"http://127.0.0.1:{port}/healthz", timeout=2.0)[0] == 200

        harness.wait_until(serving, timeout=60, message="checker /healthz on its default address")
        assert listeners(port) == [f"127.0.0.1:{port}"]
        assert process.stop() == 0
