"""Issue 13, item 3 (environment proxies): no HTTP proxy is used unless CP_PROXY or
RESTART_PROXY names one; http_proxy, https_proxy, all_proxy and no_proxy are ignored
(docs/checker.md "Proxies", docs/actuator.md).

- hostile environment: a proxy on loopback that answers every request 200
  {"state":"terminated"} and records what it saw; producer, checker and actuator run with
  http_proxy / https_proxy / HTTP_PROXY / HTTPS_PROXY / all_proxy / ALL_PROXY pointing at it,
  on a fleet with one truly terminated instance. The proxy sees no request (so no token
  reached it), no healthy workspace is flipped, and the dead one is still healed (status
  calls, the confirmation and the restart all went direct).
- configured: CP_PROXY and RESTART_PROXY name a forwarding proxy (the hostile one still in
  the environment): the forwarding proxy sees the checker's status requests, the actuator's
  confirmation and the restart, with their tokens; the hostile one sees nothing.
- --check-config shows the proxy in use, its password masked, or `none`.
"""

import http.client
import http.server
import json
import os
import subprocess
import threading
import urllib.parse
import uuid

import psycopg
import pytest

import harness


CP_SHARED_SECRET = "proxy-test-cp-secret-" + uuid.uuid4().hex
CP_ADMIN_TOKEN = "proxy-test-admin-" + uuid.uuid4().hex


class RecordingProxy:
    """An HTTP forward proxy on 127.0.0.1 that records (method, target, headers) of every
    request. Hostile: answers 200 {"state":"terminated"} to everything. Forwarding: relays the
    request to the absolute-form target (direct, no proxy) and its answer back."""

    def __init__(self, forward):
        self.requests = []
        self._lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with owner._lock:
                    owner.requests.append((self.command, self.path, dict(self.headers.items())))
                if forward and self.command != "CONNECT":
                    status, content_type, answer = owner.relay(self.command, self.path,
                                                               self.headers, body)
                else:
                    status, content_type = 200, "application/json"
                    answer = json.dumps({"state": "terminated"}).encode()
                self.send_response(status)
                for name, value in (("Content-Type", content_type),
                                    ("Content-Length", str(len(answer)))):
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_CONNECT = handle_any  # noqa: N815 - http.server's naming

            def log_message(self, *args):
                pass

        self.server = harness.LoopbackHttpServer(Handler)
        self.url = self.server.url

    @staticmethod
    def relay(method, target, headers, body):
        parts = urllib.parse.urlsplit(target)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        try:
            path = parts.path + ("?" + parts.query if parts.query else "")
            forwarded = {name: value for name, value in headers.items()
                         if name.lower() not in ("proxy-connection", "connection", "host")}
            connection.request(method, path, body=body or None, headers=forwarded)
            response = connection.getresponse()
            return (response.status, response.getheader("Content-Type") or "text/plain",
                    response.read())
        finally:
            connection.close()

    def seen(self):
        with self._lock:
            return list(self.requests)

    def close(self):
        self.server.close()


def environment_proxies(url):
    return {name: url for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                                   "all_proxy", "ALL_PROXY")}


@pytest.fixture()
def hostile():
    proxy = RecordingProxy(forward=False)
    yield proxy
    proxy.close()


@pytest.fixture()
def forwarding():
    proxy = RecordingProxy(forward=True)
    yield proxy
    proxy.close()


def statuses(database_url):
    with psycopg.connect(database_url) as connection:
        return dict(connection.execute(
            "SELECT id::text, status::text FROM workspaces").fetchall())


def flipped(database_url, group):
    with psycopg.connect(database_url) as connection:
        return {row[0] for row in connection.execute(
            "SELECT workspace_id FROM reconciler_actuator_actions WHERE consumer_group = %s "
            "AND outcome = 'FLIPPED_RESTART_REQUESTED'", (group,)).fetchall()}


def run_fleet(database_url, topics, proxies_env, extra=None):
    """fleet-sim with 3 running instances and 1 terminated, and a pipeline whose every member
    has `proxies_env` in its environment (plus `extra` by kind). Returns (sim, pipeline, dead
    workspace, healthy workspaces)."""
    sim = harness.start_fleet_sim(database_url, FLEETSIM_REPROVISION_DELAY="300ms",
                                  FLEETSIM_CP_SHARED_SECRET=CP_SHARED_SECRET,
                                  FLEETSIM_CP_ADMIN_TOKEN=CP_ADMIN_TOKEN)
    sim.seed(4)
    [(dead, _instance)] = sim.terminate(1)
    healthy = set(statuses(database_url)) - {dead}
    cp = {"CP_SHARED_SECRET": CP_SHARED_SECRET, "CP_ADMIN_TOKEN": CP_ADMIN_TOKEN}
    extra = extra or {}
    settings = {"producer": {**proxies_env, "PRODUCER_INTERVAL": "2s"},
                "checker": {**proxies_env, **cp, **extra.get("checker", {})},
                "actuator": {**proxies_env, **cp, **extra.get("actuator", {})}}
    pipeline = harness.Pipeline(database_url, topics, sim, settings)
    return sim, pipeline, dead, healthy


def heal_and_settle(database_url, topics, sim, pipeline, dead, hostile):
    """Runs the pipeline until the dead workspace's restart reached fleet-sim and every verdict
    since was decided; fails at once, with what it saw, when the hostile proxy gets a request."""
    for name in ("actuator", "checker", "producer"):
        pipeline.start(name)
    harness.wait_until(lambda: hostile.seen() or sim.instance(dead)["restarts_received"] >= 1,
                       timeout=45, message="the dead workspace's restart reached fleet-sim")
    assert hostile.seen() == [], f"requests went to the environment's proxy: {hostile.seen()[:3]}"
    # Every workspace checked at least once more after that, and every verdict decided.
    harness.consume(topics["verdicts"], 8, timeout=45)
    harness.wait_until(lambda: harness.group_caught_up(pipeline.actuator_group,
                                                       topics["verdicts"]),
                       timeout=45, message="the actuator caught up")


def test_environment_proxies_are_ignored(hostile):
    with harness.fresh_database() as url, harness.fresh_topics() as topics:
        sim, pipeline, dead, healthy = run_fleet(url, topics, environment_proxies(hostile.url))
        try:
            heal_and_settle(url, topics, sim, pipeline, dead, hostile)
            assert hostile.seen() == [], hostile.seen()[:3]
            rows = statuses(url)
            assert all(rows[w] == "online" for w in healthy), rows
            assert flipped(url, pipeline.actuator_group) == {dead}
            assert pipeline.metric("actuator", "reconciler_actuator_cp_confirmations_total",
                                   {"result": "not_running"}) >= 1
        finally:
            pipeline.close()
            sim.process.close()


def test_configured_proxies_are_used(hostile, forwarding):
    with harness.fresh_database() as url, harness.fresh_topics() as topics:
        configured = {"checker": {"CP_PROXY": forwarding.url},
                      "actuator": {"CP_PROXY": forwarding.url, "RESTART_PROXY": forwarding.url}}
        sim, pipeline, dead, healthy = run_fleet(url, topics, environment_proxies(hostile.url),
                                                 configured)
        try:
            heal_and_settle(url, topics, sim, pipeline, dead, hostile)
            assert hostile.seen() == [], hostile.seen()[:3]
            seen = forwarding.seen()
            status_prefix = f"{sim.url}/cp/workspaces/"
            asked = [target[len(status_prefix):].split("/")[0]
                     for method, target, _ in seen
                     if method == "GET" and target.startswith(status_prefix)]
            assert set(asked) >= healthy | {dead}, seen[:5]
            # The dead one: the checker's requests and the actuator's confirmation.
            assert asked.count(dead) >= 2, asked
            assert all(headers.get("Authorization") == "Bearer " + CP_SHARED_SECRET
                       for method, target, headers in seen if method == "GET")
            restarts = [target for method, target, _ in seen if method == "POST"]
            assert f"{sim.url}/workspaces/{dead}/restart" in restarts, restarts
            assert flipped(url, pipeline.actuator_group) == {dead}
        finally:
            pipeline.close()
            sim.process.close()


def check_config(program, env):
    result = subprocess.run([harness.binary(program), "--check-config"], capture_output=True,
                            text=True, timeout=30, env={**os.environ, **env})
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_check_config_shows_the_proxy_in_use_or_none(hostile):
    env = {**environment_proxies(hostile.url), "CP_URL": "http://127.0.0.1:9",
           "RESTART_URL": "http://127.0.0.1:9/workspaces/{id}/restart"}
    assert "CP_PROXY=none" in check_config("checker", env)
    lines = check_config("actuator", env)
    assert "CP_PROXY=none" in lines and "RESTART_PROXY=none" in lines
    password = "proxy-password-" + uuid.uuid4().hex[:6]
    lines = check_config("actuator", {**env, "CP_PROXY": f"http://user:{password}@cp-proxy:3128",
                                      "RESTART_PROXY": "socks5h://restart-proxy:1080"})
    assert "CP_PROXY=http://<masked>@cp-proxy:3128" in lines, lines
    assert "RESTART_PROXY=socks5h://restart-proxy:1080" in lines, lines
    assert not any(password in line for line in lines)
    assert hostile.seen() == []
