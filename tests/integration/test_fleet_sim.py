"""Integration tests of fleet-sim, the simulated CP status API and workspace-server restart API.

One simulator per module, started as an operator would (environment variables, JSON logs on
stderr), on a free port, against a fresh PostgreSQL database with the fixture `workspaces`
table. Every credential is configured, so the 401 paths are live and every other request
carries the right tokens. Assertions never rest on wall-clock bounds: waits poll for a
state, and "a fast request is not blocked by slow ones" is proven by ordering.
"""

import http.client
import json
import os
import resource
import select
import socket
import subprocess
import uuid

import psycopg
import pytest

import harness

CP_SECRET = "cp-secret-" + uuid.uuid4().hex[:8]
CP_ADMIN = "cp-admin-" + uuid.uuid4().hex[:8]
RESTART_TOKEN = "restart-" + uuid.uuid4().hex[:8]
ADMIN_TOKEN = "admin-" + uuid.uuid4().hex[:8]

STATUS_HEADERS = {"Authorization": f"Bearer {CP_SECRET}", "X-Molecule-Admin-Token": CP_ADMIN}
RESTART_HEADERS = {"Authorization": f"Bearer {RESTART_TOKEN}"}
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class Sim:
    """A running fleet-sim and small clients for its three APIs."""

    def __init__(self, process, port, database_url):
        self.process = process
        self.port = port
        self.database_url = database_url

    def request(self, method, path, body=None, headers=None, timeout=30.0):
        """(status, headers dict lower-cased, body bytes) over a fresh connection."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = None if body is None else (body if isinstance(body, (bytes, str)) else json.dumps(body))
            connection.request(method, path, body=data, headers=headers or {})
            response = connection.getresponse()
            payload = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, payload
        finally:
            connection.close()

    def admin(self, method, path, body=None, expect=None):
        status, _, payload = self.request(method, "/admin" + path, body, ADMIN_HEADERS)
        document = json.loads(payload)
        if expect is not None:
            assert status == expect, f"{method} /admin{path}: {status} {document}"
        return status, document

    def status_path(self, workspace_id, instance_id=None):
        path = f"/cp/workspaces/{workspace_id}/status"
        return path if instance_id is None else f"{path}?instance_id={instance_id}"

    def status(self, workspace_id, instance_id, headers=STATUS_HEADERS, timeout=30.0):
        return self.request("GET", self.status_path(workspace_id, instance_id), None, headers, timeout)

    def restart(self, workspace_id, headers=RESTART_HEADERS):
        return self.request("POST", f"/workspaces/{workspace_id}/restart", "{}", headers)

    def register(self, count=1, state="running", prefix="w"):
        """Registers `count` new instances; returns [(workspace_id, instance_id)]."""
        pairs = [(f"{prefix}-{uuid.uuid4().hex[:12]}", f"i-{uuid.uuid4().hex[:17]}") for _ in range(count)]
        self.admin("POST", "/instances",
                   {"instances": [{"workspace_id": w, "instance_id": i, "state": state} for w, i in pairs]},
                   expect=200)
        return pairs

    def add_fault(self, rule):
        status, document = self.admin("POST", "/faults", rule)
        assert status == 201, document
        return document["fault"]["id"]

    def held(self):
        return self.admin("GET", "/state", expect=200)[1]["held_requests"]

    def metrics(self):
        status, _, payload = self.request("GET", "/metrics")
        assert status == 200
        return payload.decode()


@pytest.fixture(scope="module")
def database():
    with harness.fresh_database() as url:
        yield url


def start_sim(database_url, extra_env=None):
    port = harness.free_port()
    env = {
        "FLEETSIM_ADDR": f"127.0.0.1:{port}",
        "METRICS_ADDR": "127.0.0.1:0",
        "DATABASE_URL": database_url,
        "FLEETSIM_CP_SHARED_SECRET": CP_SECRET,
        "FLEETSIM_CP_ADMIN_TOKEN": CP_ADMIN,
        "FLEETSIM_RESTART_TOKEN": RESTART_TOKEN,
        "FLEETSIM_ADMIN_TOKEN": ADMIN_TOKEN,
        "FLEETSIM_REPROVISION_DELAY": "500ms",
        "LOG_LEVEL": "info",
        **(extra_env or {}),
    }
    process = harness.Process("fleet-sim", env, name="fleet-sim")
    sim = Sim(process, port, database_url)

    def ready():
        assert process.alive(), process.log_text()
        return harness.http_get(f"http://127.0.0.1:{port}/readyz", timeout=1.0)[0] == 200

    harness.wait_until(ready, timeout=30, message="fleet-sim /readyz")
    return sim


@pytest.fixture(scope="module")
def sim(database):
    simulator = start_sim(database)
    yield simulator
    code = simulator.process.stop()
    simulator.process.close()
    assert code == 0, simulator.process.log_text()


@pytest.fixture(autouse=True)
def no_faults_left(sim):
    yield
    sim.admin("DELETE", "/faults", expect=200)


def database_row(url, workspace_id):
    with psycopg.connect(url) as connection:
        return connection.execute(
            "SELECT status::text, instance_id, runtime FROM workspaces WHERE id = %s", (workspace_id,)
        ).fetchone()


# --- the CP status API -----------------------------------------------------------------------

def test_status_answers_the_instance_state(sim):
    (workspace, instance), = sim.register()
    status, headers, body = sim.status(workspace, instance)
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"state": "running", "instance_id": instance}
    for state in ("pending", "stopping", "stopped", "shutting-down", "terminated", "running"):
        sim.admin("PUT", f"/instances/{workspace}", {"state": state}, expect=200)
        assert json.loads(sim.status(workspace, instance)[2])["state"] == state


def test_status_of_unknown_workspace_or_instance(sim):
    (workspace, _), = sim.register()
    status, _, body = sim.status("no-such-workspace", "i-1")
    assert (status, json.loads(body)["error"]) == (404, "workspace_not_found")
    status, _, body = sim.status(workspace, "i-never-seen")
    assert (status, json.loads(body)["error"]) == (404, "instance_not_found")
    status, _, body = sim.status(workspace, None)
    assert (status, json.loads(body)["error"]) == (400, "missing_instance_id")


def test_status_path_and_query_are_url_decoded(sim):
    workspace, instance = "w:dec.oded", "i-dec_oded"
    sim.admin("POST", "/instances", [{"workspace_id": workspace, "instance_id": instance}], expect=200)
    status, _, body = sim.request("GET", "/cp/workspaces/w%3Adec.oded/status?instance_id=i%2Ddec_oded",
                                  headers=STATUS_HEADERS)
    assert status == 200 and json.loads(body)["instance_id"] == instance


# --- credentials ------------------------------------------------------------------------------

def test_wrong_or_missing_tokens_give_401(sim):
    (workspace, instance), = sim.register()
    wrong_bearer = {**STATUS_HEADERS, "Authorization": "Bearer nope"}
    no_admin_header = {"Authorization": f"Bearer {CP_SECRET}"}
    for headers in ({}, wrong_bearer, no_admin_header, {"X-Molecule-Admin-Token": CP_ADMIN}):
        status, _, body = sim.status(workspace, instance, headers=headers)
        assert status == 401 and json.loads(body)["error"] == "unauthorized"
        assert CP_SECRET.encode() not in body
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": RESTART_TOKEN}):
        assert sim.restart(workspace, headers=headers)[0] == 401
    for headers in ({}, {"Authorization": "Bearer nope"}):
        status, _, body = sim.request("GET", "/admin/state", headers=headers)
        assert status == 401 and json.loads(body)["error"] == "unauthorized"
    # The right ones pass; a refused restart performed nothing.
    assert sim.status(workspace, instance)[0] == 200
    record = sim.admin("GET", f"/instances/{workspace}", expect=200)[1]
    assert record["restarts_received"] == 0 and record["last_answer"]["answer"] == "state"


# --- fault modes ------------------------------------------------------------------------------

def expect_json(status_code, check):
    def verify(status, headers, body):
        assert status == status_code, (status, body)
        assert check(json.loads(body)) is not False, body
    return verify


def expect_body(status_code, raw):
    def verify(status, headers, body):
        assert (status, body) == (status_code, raw)
    return verify


def not_json(status, headers, body):
    assert status == 200
    with pytest.raises(ValueError):
        json.loads(body)


def state_is(expected):
    def check(document):
        assert isinstance(document, dict) and document.get("state", "absent") == expected, document
    return check


def is_array(document):
    assert isinstance(document, list), document


# case -> (fault fields, verification of (status, headers, body)); the mode is the case name
# unless the fields name it.
FAULT_CASES = {
    "status": ({"code": 503}, expect_json(503, lambda d: d["error"] == "injected_fault")),
    "status_4xx": ({"mode": "status", "code": 429}, expect_json(429, lambda d: d["status"] == 429)),
    "garbage": ({}, not_json),
    "truncated": ({}, expect_body(200, b'{"state":"runn')),
    "empty_object": ({}, expect_body(200, b"{}")),
    "missing_state": ({}, expect_json(200, state_is("absent"))),
    "null_state": ({}, expect_json(200, state_is(None))),
    "wrong_type_state": ({}, expect_json(200, state_is(1))),
    "odd_state": ({"state": "Running"}, expect_json(200, state_is("Running"))),
    "odd_state_empty": ({"mode": "odd_state", "state": ""}, expect_json(200, state_is(""))),
    "array_body": ({}, expect_json(200, is_array)),
}


@pytest.mark.parametrize("case", sorted(FAULT_CASES))
def test_fault_mode_answers_as_documented(sim, case):
    (workspace, instance), = sim.register()
    fields, verify = FAULT_CASES[case]
    rule = {"mode": case, "target": {"workspace_id": workspace}, **fields}
    sim.add_fault(rule)
    verify(*sim.status(workspace, instance))
    record = sim.admin("GET", f"/instances/{workspace}", expect=200)[1]
    assert record["last_answer"]["answer"] == "fault"
    assert record["last_answer"]["fault_mode"] == rule["mode"]


def test_fault_duplicate_state_keys_and_trailing_data_carry_terminated(sim):
    (workspace, instance), = sim.register()
    sim.add_fault({"mode": "duplicate_state_keys", "target": {"workspace_id": workspace}})
    body = sim.status(workspace, instance)[2]
    assert body == b'{"state":"terminated","state":"running","instance_id":"%s"}' % instance.encode()
    sim.admin("DELETE", "/faults", expect=200)
    sim.add_fault({"mode": "trailing_data", "target": {"workspace_id": workspace}})
    status, _, body = sim.status(workspace, instance)
    assert status == 200 and body.startswith(b'{"state":"terminated"') and body.endswith(b'{"state":"running"}')
    with pytest.raises(ValueError):
        json.loads(body)


def test_fault_oversized_is_valid_json_over_64_kib(sim):
    (workspace, instance), = sim.register()
    sim.add_fault({"mode": "oversized", "target": {"workspace_id": workspace}})
    status, headers, body = sim.status(workspace, instance)
    assert status == 200 and len(body) > 64 * 1024 and int(headers["content-length"]) == len(body)
    assert json.loads(body)["state"] == "running"


def test_fault_redirect_points_at_a_terminated_trap(sim):
    (workspace, instance), = sim.register()
    sim.add_fault({"mode": "redirect", "target": {"workspace_id": workspace}})
    status, headers, _ = sim.status(workspace, instance)
    assert status == 302 and headers["location"] == "/cp/redirected/terminated"
    status, _, body = sim.request("GET", headers["location"])
    assert status == 200 and json.loads(body) == {"state": "terminated"}


def test_fault_content_type(sim):
    (workspace, instance), = sim.register()
    sim.add_fault({"mode": "content_type", "content_type": "text/plain", "target": {"workspace_id": workspace}})
    status, headers, body = sim.status(workspace, instance)
    assert status == 200 and headers["content-type"] == "text/plain"
    assert json.loads(body) == {"state": "running", "instance_id": instance}


def test_fault_truncated_transfer_closes_mid_body(sim):
    (workspace, instance), = sim.register()
    sim.add_fault({"mode": "truncated", "cut": "transfer", "target": {"workspace_id": workspace}})
    with pytest.raises(http.client.IncompleteRead):
        sim.status(workspace, instance)


def test_fault_reset_resets_the_connection(sim):
    (workspace, instance), = sim.register()
    sim.add_fault({"mode": "reset", "target": {"workspace_id": workspace}})
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
        sim.status(workspace, instance)


def test_fault_hang_holds_until_the_client_gives_up(sim):
    (workspace, instance), = sim.register()
    sim.add_fault({"mode": "hang", "target": {"workspace_id": workspace}})
    with pytest.raises(socket.timeout):
        sim.status(workspace, instance, timeout=1.0)
    # The simulator notices the client left and lets the held request go.
    harness.wait_until(lambda: sim.held() == 0, timeout=20, message="hang released after client left")


def test_fault_hang_with_hang_ms_closes_without_answer(sim):
    (workspace, instance), = sim.register()
    sim.add_fault({"mode": "hang", "hang_ms": 300, "target": {"workspace_id": workspace}})
    with pytest.raises(http.client.RemoteDisconnected):
        sim.status(workspace, instance, timeout=30.0)


def test_fault_latency_answers_normally_after_the_delay(sim):
    (workspace, instance), = sim.register()
    sim.add_fault({"mode": "latency", "fixed_ms": 200, "jitter_ms": 100, "target": {"workspace_id": workspace}})
    status, _, body = sim.status(workspace, instance)
    assert status == 200 and json.loads(body) == {"state": "running", "instance_id": instance}


def test_fault_switched_on_and_off_at_run_time(sim):
    (workspace, instance), (other, other_instance) = sim.register(2)
    rule = sim.add_fault({"mode": "status", "code": 500, "target": {"instance_id": instance}})
    state = sim.admin("GET", "/state", expect=200)[1]
    assert [f["id"] for f in state["faults_in_force"]] == [rule]
    assert sim.status(workspace, instance)[0] == 500
    assert sim.status(other, other_instance)[0] == 200  # targets only that instance
    status, document = sim.admin("DELETE", f"/faults/{rule}", expect=200)
    assert document["faults_in_force"] == []
    assert sim.status(workspace, instance)[0] == 200
    assert sim.admin("DELETE", f"/faults/{rule}")[0] == 404


def test_fault_for_every_request_and_expiry_after_times(sim):
    pairs = sim.register(3)
    sim.add_fault({"mode": "status", "code": 502, "target": {"all": True}, "times": 4})
    answers = [sim.status(w, i)[0] for w, i in pairs + pairs]
    assert answers == [502, 502, 502, 502, 200, 200]
    assert sim.admin("GET", "/faults", expect=200)[1]["faults_in_force"] == []


def test_fault_share_hits_the_same_instances_every_sweep(sim):
    pairs = sim.register(200, prefix="share")
    sim.add_fault({"mode": "status", "code": 503, "target": {"percent": 30}})
    sweeps = [{w for w, i in pairs if sim.status(w, i)[0] == 503} for _ in range(2)]
    assert sweeps[0] == sweeps[1]
    assert 20 <= len(sweeps[0]) <= 100  # about 30 % of 200; the exact set is fixed by the ids


# --- terminate --------------------------------------------------------------------------------

def test_terminate_by_count_and_percent_flips_exactly_that_many(sim):
    sim.admin("POST", "/reset", expect=200)
    pairs = sim.register(300)
    status, answer = sim.admin("POST", "/terminate", {"count": 37}, expect=200)
    assert answer["count"] == 37 and len(set(answer["workspace_ids"])) == 37
    by_workspace = dict(pairs)
    for workspace in answer["workspace_ids"]:
        assert json.loads(sim.status(workspace, by_workspace[workspace])[2])["state"] == "terminated"
    counts = sim.admin("GET", "/state", expect=200)[1]["instances"]["by_state"]
    assert counts["running"] == 263 and counts["terminated"] == 37

    status, answer = sim.admin("POST", "/terminate", {"percent": 10, "state": "stopped"}, expect=200)
    assert answer["count"] == 26 and answer["running_before"] == 263  # 10 % of 263, rounded down
    counts = sim.admin("GET", "/state", expect=200)[1]["instances"]["by_state"]
    assert (counts["running"], counts["stopped"], counts["terminated"]) == (237, 26, 37)
    stopped = sim.admin("GET", "/instances?state=stopped&limit=1000", expect=200)[1]
    assert sorted(i["workspace_id"] for i in stopped["instances"]) == sorted(answer["workspace_ids"])
    record = sim.admin("GET", f"/instances/{answer['workspace_ids'][0]}", expect=200)[1]
    assert record["state"] == "stopped" and record["stopped_at_ms"] is not None

    status, error = sim.admin("POST", "/terminate", {"count": 1000})
    assert status == 400 and error["error"] == "not_enough_running_instances"
    assert sim.admin("GET", "/state", expect=200)[1]["instances"]["by_state"]["running"] == 237


# --- restart and reprovision --------------------------------------------------------------------

def seed(sim, count, **fields):
    status, answer = sim.admin("POST", "/seed", {"count": count, "return_ids": True, **fields})
    assert status == 200, answer
    return answer["workspace_ids"]


def test_restart_reprovisions_a_new_instance_and_sets_the_row_online(sim, database):
    workspace = seed(sim, 3)[0]
    _, old_instance, _ = database_row(database, workspace)
    # What the actuator does before asking for the restart: the instance died, the row flipped.
    sim.admin("PUT", f"/instances/{workspace}", {"state": "terminated"}, expect=200)
    with psycopg.connect(database) as connection:
        connection.execute("UPDATE workspaces SET status = 'offline' WHERE id = %s", (workspace,))
    status, _, body = sim.restart(workspace)
    assert status == 202 and json.loads(body)["status"] == "accepted"

    row = harness.wait_until(lambda: (r := database_row(database, workspace))[0] == "online" and r,
                             timeout=30, message="row back online")
    new_instance = row[1]
    assert new_instance != old_instance and new_instance.startswith("i-")
    assert json.loads(sim.status(workspace, new_instance)[2])["state"] == "running"
    assert json.loads(sim.status(workspace, old_instance)[2])["state"] == "terminated"
    record = sim.admin("GET", f"/instances/{workspace}", expect=200)[1]
    assert record["instance_id"] == new_instance and record["retired_instance_ids"] == [old_instance]
    assert (record["restarts_received"], record["reprovisions"]) == (1, 1)
    assert record["database_updated_at_ms"] is not None
    assert harness.metric_value(sim.metrics(), "fleet_sim_reprovisions_total", {"result": "done"}) >= 1


def test_restart_of_unknown_workspace_is_404(sim):
    status, _, body = sim.restart(str(uuid.uuid4()))
    assert status == 404 and json.loads(body)["error"] == "workspace_not_found"


def test_restart_faults_fail_restarts_for_a_while(sim, database):
    workspace = seed(sim, 1)[0]
    _, old_instance, _ = database_row(database, workspace)
    sim.add_fault({"mode": "status", "code": 500, "endpoint": "restart",
                   "target": {"workspace_id": workspace}, "times": 2})
    assert sim.restart(workspace)[0] == 500
    assert sim.restart(workspace)[0] == 500
    record = sim.admin("GET", f"/instances/{workspace}", expect=200)[1]
    assert (record["restarts_received"], record["restarts_performed"]) == (2, 0)
    assert sim.restart(workspace)[0] == 202  # the rule expired
    harness.wait_until(lambda: database_row(database, workspace)[1] != old_instance, timeout=30,
                       message="reprovision after the faults expired")


def test_restart_reset_that_was_performed(sim, database):
    """An answer lost after the restart happened: the actuator must cope with a retry."""
    workspace = seed(sim, 1)[0]
    _, old_instance, _ = database_row(database, workspace)
    sim.add_fault({"mode": "reset", "endpoint": "restart", "perform_restart": True,
                   "target": {"workspace_id": workspace}})
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
        sim.restart(workspace)
    harness.wait_until(lambda: database_row(database, workspace)[1] != old_instance, timeout=30,
                       message="reprovision despite the reset")


def test_reprovision_delay_changes_at_run_time(sim):
    status, answer = sim.admin("POST", "/config", {"reprovision_delay_ms": 100}, expect=200)
    assert answer["reprovision_delay_ms"] == 100
    sim.admin("POST", "/config", {"reprovision_delay_ms": 500}, expect=200)


# --- seed and load ------------------------------------------------------------------------------

def test_seed_creates_rows_and_matching_instances(sim, database):
    ids = seed(sim, 2000, runtime="docker")
    assert len(set(ids)) == 2000
    with psycopg.connect(database) as connection:
        rows = connection.execute(
            "SELECT id::text, instance_id FROM workspaces WHERE id = ANY(%s::uuid[]) "
            "AND status = 'online' AND runtime = 'docker'", (ids,)).fetchall()
    assert len(rows) == 2000
    for workspace, instance in rows[:50]:
        assert json.loads(sim.status(workspace, instance)[2]) == {"state": "running", "instance_id": instance}


def test_seed_sub_command(sim, database):
    result = subprocess.run(
        [harness.binary("fleet-sim"), "seed", "--count", "25", "--url", f"http://127.0.0.1:{sim.port}"],
        env={**os.environ, "FLEETSIM_ADMIN_TOKEN": ADMIN_TOKEN}, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["created"] == 25
    result = subprocess.run([harness.binary("fleet-sim"), "seed", "--count", "x"], capture_output=True)
    assert result.returncode == 2 and b"--count" in result.stderr


def test_load_from_db_registers_online_rows(sim, database):
    instance = "i-" + uuid.uuid4().hex[:17]
    workspace, = harness.insert_workspaces(database, [{"status": "online", "instance_id": instance,
                                                       "runtime": "docker"}])
    offline, = harness.insert_workspaces(database, [{"status": "offline", "instance_id": "i-off"}])
    assert sim.status(workspace, instance)[0] == 404
    status, answer = sim.admin("POST", "/load-from-db", expect=200)
    assert answer["created"] >= 1
    assert json.loads(sim.status(workspace, instance)[2])["state"] == "running"
    assert sim.status(offline, "i-off")[0] == 404


def test_a_restarted_simulator_resyncs_from_the_database(sim, database):
    """FLEETSIM_LOAD_ON_START: a second simulator on the same rows knows them before serving."""
    workspace = seed(sim, 1)[0]
    _, instance, _ = database_row(database, workspace)
    second = start_sim(database, {"FLEETSIM_LOAD_ON_START": "true"})
    try:
        status, _, body = second.status(workspace, instance)
        assert status == 200 and json.loads(body) == {"state": "running", "instance_id": instance}
        assert second.process.stop() == 0
    finally:
        second.process.close()


# --- admin errors -------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path,body,code", [
    ("POST", "/faults", "{", "invalid_json"),
    ("POST", "/faults", "[]", "not_an_object"),
    ("POST", "/faults", {"mode": "sideways"}, "unknown_mode"),
    ("POST", "/faults", {"mode": "status"}, "missing_field"),
    ("POST", "/faults", {"mode": "status", "code": 200}, "out_of_range"),
    ("POST", "/faults", {"mode": "latency", "fixed_ms": "5"}, "wrong_type"),
    ("POST", "/faults", {"mode": "latency", "colour": 1}, "unknown_field"),
    ("POST", "/faults", {"mode": "latency", "code": 500}, "field_not_applicable"),
    ("POST", "/faults", {"mode": "hang", "target": {"all": True, "percent": 5}}, "invalid_target"),
    ("POST", "/faults", {"mode": "hang", "endpoint": "elsewhere"}, "unknown_endpoint"),
    ("POST", "/terminate", {}, "missing_field"),
    ("POST", "/terminate", {"count": 1, "percent": 1}, "conflicting_fields"),
    ("POST", "/terminate", {"count": 1, "state": "gone"}, "unknown_state"),
    ("POST", "/instances", [{"workspace_id": "a b", "instance_id": "i"}], "invalid_id"),
    ("POST", "/seed", {"count": 0}, "out_of_range"),
    ("GET", "/instances?state=zombie", None, "invalid_parameter"),
    ("DELETE", "/faults/abc", None, "invalid_parameter"),
])
def test_bad_admin_requests_get_400_naming_the_problem(sim, method, path, body, code):
    status, document = sim.admin(method, path, body)
    assert status == 400, document
    assert document["error"] == code and document["message"]
    assert "faults_in_force" in document


def test_admin_body_over_the_limit_is_413(sim):
    status, document = sim.admin("POST", "/instances", b"[" + b" " * (17 * 1024 * 1024) + b"]")
    assert (status, document["error"]) == (413, "body_too_large")


def test_admin_unknown_paths_methods_and_workspaces(sim):
    assert sim.admin("GET", "/nowhere")[0] == 404
    assert sim.admin("GET", "/terminate")[0] == 405
    status, document = sim.admin("GET", "/instances/nobody")
    assert (status, document["error"]) == (404, "workspace_not_found")


# --- concurrency --------------------------------------------------------------------------------

def test_concurrent_delayed_requests_do_not_block_fast_ones(sim):
    slow_count = 2000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < slow_count + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, slow_count + 1000), hard))
    (slow, slow_instance), (fast, fast_instance) = sim.register(2)
    sim.add_fault({"mode": "latency", "fixed_ms": 5000, "target": {"workspace_id": slow}})
    request = (f"GET {sim.status_path(slow, slow_instance)} HTTP/1.1\r\nHost: sim\r\n"
               f"Authorization: Bearer {CP_SECRET}\r\nX-Molecule-Admin-Token: {CP_ADMIN}\r\n"
               "Connection: close\r\n\r\n").encode()
    sockets = []
    try:
        for _ in range(slow_count):
            connection = socket.create_connection(("127.0.0.1", sim.port), timeout=30)
            connection.sendall(request)
            sockets.append(connection)
        harness.wait_until(lambda: sim.held() == slow_count, timeout=60, message="all slow requests held")

        status, _, body = sim.status(fast, fast_instance)
        assert status == 200 and json.loads(body)["instance_id"] == fast_instance
        # Ordering, not timing: the fast answer came while every slow one was still pending.
        poller = select.poll()  # select() cannot watch descriptors above 1023
        for connection in sockets:
            poller.register(connection, select.POLLIN)
        assert poller.poll(0) == []
        assert sim.held() == slow_count

        for connection in sockets:
            connection.settimeout(60)
            data = b""
            while chunk := connection.recv(65536):
                data += chunk
            assert data.startswith(b"HTTP/1.1 200") and slow_instance.encode() in data
    finally:
        for connection in sockets:
            connection.close()
    harness.wait_until(lambda: sim.held() == 0, timeout=30, message="held requests drained")


# --- metrics, probes, life cycle -----------------------------------------------------------------

def test_metrics_count_what_was_served(sim):
    (workspace, instance), = sim.register()
    before = sim.metrics()
    sim.admin("PUT", f"/instances/{workspace}", {"state": "stopped"}, expect=200)
    for _ in range(3):
        sim.status(workspace, instance)
    sim.add_fault({"mode": "garbage", "target": {"workspace_id": workspace}})
    sim.status(workspace, instance)
    after = sim.metrics()

    def delta(name, labels):
        return (harness.metric_value(after, name, labels) or 0) - (harness.metric_value(before, name, labels) or 0)

    assert delta("fleet_sim_status_requests_total", {"answer": "stopped"}) == 3
    assert delta("fleet_sim_faults_applied_total", {"mode": "garbage", "endpoint": "status"}) == 1
    assert harness.metric_value(after, "fleet_sim_instances", {"state": "stopped"}) >= 1
    assert CP_SECRET not in after and ADMIN_TOKEN not in after
    record = sim.admin("GET", f"/instances/{workspace}", expect=200)[1]
    assert record["status_requests"] == 4


def test_probes(sim):
    assert harness.http_get(f"http://127.0.0.1:{sim.port}/healthz")[0] == 200
    assert harness.http_get(f"http://127.0.0.1:{sim.port}/readyz")[0] == 200


def test_sigterm_stops_cleanly_while_requests_are_held(database):
    simulator = start_sim(database)
    try:
        (workspace, instance), (slow, slow_instance) = simulator.register(2)
        simulator.add_fault({"mode": "hang", "target": {"workspace_id": workspace}})
        simulator.add_fault({"mode": "latency", "fixed_ms": 600000, "target": {"workspace_id": slow}})

        def held_requests(target, target_instance, count):
            request = (f"GET {simulator.status_path(target, target_instance)} HTTP/1.1\r\nHost: sim\r\n"
                       f"Authorization: Bearer {CP_SECRET}\r\nX-Molecule-Admin-Token: {CP_ADMIN}\r\n\r\n")
            opened = [socket.create_connection(("127.0.0.1", simulator.port), timeout=30) for _ in range(count)]
            for connection in opened:
                connection.sendall(request.encode())
            return opened

        # Clients that give up while held: released early, and nothing is left behind.
        leaving = held_requests(slow, slow_instance, 20)
        harness.wait_until(lambda: simulator.held() == 20, timeout=30, message="slow requests held")
        for connection in leaving:
            connection.close()
        harness.wait_until(lambda: simulator.held() == 0, timeout=30, message="departed clients released")

        sockets = held_requests(workspace, instance, 50)
        harness.wait_until(lambda: simulator.held() == 50, timeout=30, message="hangs held")
        assert simulator.process.stop(timeout=20) == 0
        for connection in sockets:
            assert connection.recv(1) == b""  # closed, never answered
            connection.close()
        logs = simulator.process.log_lines()
        assert any(line.get("msg") == "stopped" for line in logs)
        assert not any(line.get("msg") == "held requests still suspended at stop" for line in logs)
        for secret in (CP_SECRET, CP_ADMIN, RESTART_TOKEN, ADMIN_TOKEN):
            assert secret not in simulator.process.log_text()
    finally:
        simulator.process.close()


def test_help_and_check_config():
    result = subprocess.run([harness.binary("fleet-sim"), "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for mode in ("latency", "hang", "status", "redirect", "garbage", "truncated", "oversized",
                 "empty_object", "missing_state", "null_state", "wrong_type_state", "odd_state",
                 "duplicate_state_keys", "array_body", "trailing_data", "content_type", "reset",
                 "/admin/terminate", "/admin/seed", "/admin/faults", "/admin/load-from-db"):
        assert mode in result.stdout, mode
    env = {**os.environ, "FLEETSIM_ADMIN_TOKEN": ADMIN_TOKEN, "DATABASE_URL": "postgresql://u:pw@h/db"}
    result = subprocess.run([harness.binary("fleet-sim"), "--check-config"], env=env, capture_output=True, text=True)
    assert result.returncode == 0 and ADMIN_TOKEN not in result.stdout and "pw@" not in result.stdout
    env["FLEETSIM_REPROVISION_DELAY"] = "soon"
    result = subprocess.run([harness.binary("fleet-sim")], env=env, capture_output=True, text=True)
    assert result.returncode == 2 and "FLEETSIM_REPROVISION_DELAY" in result.stderr
