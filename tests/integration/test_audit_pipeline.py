"""reconciler-audit against topics written by a real pipeline run: fleet-sim (the simulated
control plane and workspace server), reconciler-producer, reconciler-checker and
reconciler-actuator, on a fresh database and fresh topics.

Three of twenty workspaces lose their instances; the pipeline heals them; one of them is killed
again and healed a second time. The audit must then pass --verify (also cross-checked against
the actuator's tables), tell the healed-twice workspace's story with --timeline, count the
flips in --summary, and leave the real consumer groups' committed offsets untouched.

Skipped only when the four programs are not in the build being tested.
"""

import json
import os
import subprocess
import time
import uuid

import pytest

import harness


PIPELINE = ("producer", "checker", "actuator", "fleet-sim")
missing = [program for program in PIPELINE if not os.access(harness.binary(program), os.X_OK)]
pytestmark = pytest.mark.skipif(
    bool(missing), reason=f"pipeline programs not built: {', '.join(missing)}")

WORKSPACES = 20
TERMINATED = 3


def run_audit(topics, *args, database_url=""):
    env = {**os.environ, **topics["env"], "DATABASE_URL": database_url}
    result = subprocess.run([harness.binary("audit"), "--quiet", *args], env=env,
                            capture_output=True, timeout=120)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def summary_total(topics):
    code, out, err = run_audit(topics, "--summary", "--format", "jsonl")
    assert code == 0, err
    return next(json.loads(line) for line in out.splitlines()
                if json.loads(line)["report"] == "summary_total")


def admin(sim_url, method, path, body=None):
    import urllib.request

    request = urllib.request.Request(sim_url + "/admin" + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def start(program, env, name):
    port = harness.free_port()
    process = harness.Process(program, {**env, "METRICS_ADDR": f"127.0.0.1:{port}"}, name=name)

    def healthy():
        assert process.alive(), process.log_text()
        return harness.http_get(f"http://127.0.0.1:{port}/healthz", timeout=1.0)[0] == 200

    harness.wait_until(healthy, timeout=60, message=f"{name} /healthz")
    return process


def test_audit_of_a_real_pipeline_run_verifies_and_tells_the_story():
    processes = []
    with harness.fresh_database() as url, harness.fresh_topics() as topics:
        try:
            sim_port = harness.free_port()
            sim_url = f"http://127.0.0.1:{sim_port}"
            sim = harness.Process("fleet-sim", {
                "FLEETSIM_ADDR": f"127.0.0.1:{sim_port}", "METRICS_ADDR": "",
                "DATABASE_URL": url, "FLEETSIM_REPROVISION_DELAY": "500ms"}, name="fleet-sim")
            processes.append(sim)
            harness.wait_until(lambda: harness.http_get(f"{sim_url}/readyz", timeout=1.0)[0] == 200,
                               timeout=30, message="fleet-sim /readyz")
            seeded = admin(sim_url, "POST", "/seed", {"count": WORKSPACES, "return_ids": True})
            assert seeded.get("count", WORKSPACES) == WORKSPACES, seeded

            suffix = uuid.uuid4().hex[:8]
            actuator_group = f"audit-e2e-actuator-{suffix}"
            common = {**topics["env"], "DATABASE_URL": url, "LOG_LEVEL": "info"}
            processes.append(start("producer", {
                **common, "PRODUCER_INTERVAL": "2s",
                "PRODUCER_LOCK_KEY": str(int(uuid.uuid4().int % 2**31))}, "producer"))
            processes.append(start("checker", {
                **common, "CP_URL": sim_url, "CHECKER_GROUP_ID": f"audit-e2e-checker-{suffix}",
                "CHECKER_ID": "checker-e2e"}, "checker"))
            processes.append(start("actuator", {
                **common, "RESTART_URL": sim_url + "/workspaces/{id}/restart", "CP_URL": sim_url,
                "ACTUATOR_GROUP_ID": actuator_group, "ACTUATOR_MAX_RESTARTS_PER_MIN": "600",
                "ACTUATOR_MAX_FLIPS_PER_MIN": "600",
                "ACTUATOR_ID": "actuator-e2e"}, "actuator"))

            terminated = admin(sim_url, "POST", "/terminate", {"count": TERMINATED})
            victims = terminated["workspace_ids"]
            assert len(victims) == TERMINATED, terminated

            def healed(flips):
                total = summary_total(topics)
                return (total["flips"] >= flips and
                        total["restarts_accepted"] >= flips and total) or None

            harness.wait_until(lambda: healed(TERMINATED), timeout=120,
                               message=f"{TERMINATED} flips with accepted restarts")

            # Kill the first victim's new instance: it must be healed a second time.
            twice = victims[0]

            def reprovisioned():
                # Seen RUNNING (on its new instance) after its first flip.
                code, out, _ = run_audit(topics, "--workspace", twice, "--timeline",
                                         "--format", "jsonl")
                story = [json.loads(line) for line in out.splitlines()]
                flipped = [line["at"] for line in story
                           if line["value"].get("outcome") == "FLIPPED_RESTART_REQUESTED"]
                return bool(flipped) and any(
                    line["type"] == "verdict" and line["value"]["liveness"] == "RUNNING"
                    and line["at"] > flipped[0] for line in story)

            harness.wait_until(reprovisioned, timeout=60, message="the first victim running again")
            admin(sim_url, "PUT", f"/instances/{twice}", {"state": "terminated"})
            harness.wait_until(lambda: healed(TERMINATED + 1), timeout=120,
                               message="the second healing")
            # Let the last restart outcomes be published, then stop the pipeline.
            time.sleep(2)
            for process in reversed(processes[1:]):
                process.stop()
        finally:
            for process in processes:
                process.close()

        committed_before = harness.committed_offsets(actuator_group, topics["verdicts"], 12)
        assert any(offset > 0 for offset in committed_before.values())

        # --verify, with the actuator's tables.
        code, out, err = run_audit(topics, "--verify", database_url=url)
        assert code == 0, out + err
        assert out.startswith("verify: PASSED: 0 violations")
        assert f"{TERMINATED + 1} flips checked" in out

        # The story of the workspace healed twice.
        code, out, err = run_audit(topics, "--workspace", twice, "--timeline", "--format", "jsonl")
        assert code == 0, err
        story = [json.loads(line) for line in out.splitlines()]
        outcomes = [line["value"].get("outcome") or line["value"]["liveness"] for line in story]
        flips = [index for index, outcome in enumerate(outcomes)
                 if outcome == "FLIPPED_RESTART_REQUESTED"]
        assert len(flips) == 2, outcomes
        for flip in flips:
            # Each flip follows a NOT_RUNNING verdict and is followed by an accepted restart.
            assert "NOT_RUNNING" in outcomes[:flip]
            assert "RESTART_ACCEPTED" in outcomes[flip:]
        assert "RUNNING" in outcomes[flips[0]:flips[1]]  # healthy in between
        assert [line["at"] for line in story] == sorted(line["at"] for line in story)

        # --summary counts them.
        total = summary_total(topics)
        assert total["flips"] == TERMINATED + 1
        assert total["not_running"] >= TERMINATED + 1
        assert total["workspaces"] == WORKSPACES

        # Nothing the audit did moved the real groups' offsets.
        assert harness.committed_offsets(actuator_group, topics["verdicts"], 12) == committed_before
