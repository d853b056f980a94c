"""Integration test of the actuator's pause switch (`reconciler-actuator --pause "REASON"` /
`--resume`, reconciler_actuator_pause, docs/actuator.md "Pause") against real Kafka,
PostgreSQL and fleet-sim.

What it proves, on one running actuator that is never restarted:
- pause: the command exits 0 and says so; the gauge reconciler_actuator_paused shows it; a
  fresh NOT_RUNNING verdict for a dead workspace does not flip it: the Action is SKIPPED_STALE
  with the reason actuator_paused naming who paused and why, in the table, on the actions
  topic and in reconciler-audit --summary; nothing counts in the breaker window.
- no restart while paused: a restart queued before the pause (its first attempt failed) is
  not sent while the pause lasts, although the workspace server works again.
- resume: the command exits 0; the queued restart is sent and accepted, and the next sweep's
  verdict for the held-back workspace flips it and gets it restarted: healed.
- input: --pause without a reason, and --pause with --resume, are refused (exit 2), and
  --resume of a group that is not paused says so.

The actuator helpers and fixtures are test_actuator.py's, so both files drive the actuator
the same way.
"""

import json
import os
import subprocess
import time

import harness
from test_actuator import (  # noqa: F401  (fixtures are found by name)
    actions, database, fleet_sim_server, make_fleet, new_instance_id, outcomes, query,
    read_actions, restarts, row, send_verdicts, sim, start_actuator, verdict, wait_for_outcomes)

PAUSE_REASON = "CP incident 4711: status API lies"
# The restart worker retries every 100-400 ms in these tests (test_actuator.start_actuator):
# a restart that would be sent is sent within this, so its absence means the pause held it.
NO_RESTART_WINDOW_S = 3.0


def pause_command(database_url, group, *arguments):
    """reconciler-actuator --pause/--resume ...: (exit code, stdout, stderr)."""
    done = subprocess.run(
        [harness.binary("actuator"), *arguments],
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url, "ACTUATOR_GROUP_ID": group,
             "USER": "ops-it"},
        capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout, done.stderr


def breaker_window(database_url, group):
    return query(database_url, "SELECT count(*) FROM reconciler_actuator_breaker_window "
                 "WHERE consumer_group = %s", (group,))[0][0]


def audit_summary(topics_env):
    done = subprocess.run([harness.binary("audit"), "--summary", "--format", "jsonl", "--quiet"],
                          env={**os.environ, **topics_env, "DATABASE_URL": ""},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line]
    return next(line for line in lines if line["report"] == "summary_total")


def test_pause_holds_back_flips_and_restarts_and_resume_heals(database, sim, topics, processes):
    held_instance, queued_instance = new_instance_id(), new_instance_id()
    held, queued = make_fleet(database, sim, [
        {"status": "online", "instance_id": held_instance, "sim_state": "terminated"},
        {"status": "online", "instance_id": queued_instance, "sim_state": "terminated"},
    ])
    actuator = start_actuator(processes, database, sim, topics)
    group = actuator.group

    # Bad input changes nothing: exit 2, one line.
    for arguments in (["--pause"], ["--pause", ""], ["--pause", "--resume"],
                      ["--pause=why", "--resume"]):
        code, out, err = pause_command(database, group, *arguments)
        assert code == 2 and err.count("\n") == 1, (arguments, code, out, err)
    code, out, err = pause_command(database, group, "--resume")
    assert code == 0 and out.startswith(f"group {group} was not paused"), (out, err)

    # A restart queued before the pause: flipped while live, its first attempt fails.
    sim.add_fault(mode="status", code=503, endpoint="restart", target={"workspace_id": queued})
    send_verdicts(topics, [verdict(queued, queued_instance)])
    harness.wait_until(lambda: restarts(database, queued)
                       and restarts(database, queued)[0]["attempts"] >= 1, timeout=30,
                       message="the queued restart's first attempt failed")

    # Pause. The command returns once no decision that missed it is still open.
    code, out, err = pause_command(database, group, "--pause", PAUSE_REASON)
    assert code == 0, (out, err)
    assert out.startswith(f"paused group {group} at "), out
    assert "(by ops-it@" in out and PAUSE_REASON in out, out
    harness.wait_until(lambda: actuator.metric("reconciler_actuator_paused") == 1, timeout=15,
                       message="the pause gauge (refreshed every 5 s)")
    assert actuator.log_lines("actuator paused: NOT_RUNNING verdicts are recorded as skipped "
                              "(actuator_paused) and no restart is sent until "
                              "reconciler-actuator --resume")

    # The workspace server works again, yet the queued restart is not sent while paused.
    sim.clear_faults()
    received_before = sim.restarts_received(queued)
    # A fresh NOT_RUNNING verdict about a dead workspace: recorded, not acted on.
    send_verdicts(topics, [verdict(held, held_instance)])
    wait_for_outcomes(database, held, "SKIPPED_STALE")
    reason = actions(database, held)[-1]["reason"]
    assert reason.startswith("actuator_paused: the group's actuator is paused (by ops-it@"), reason
    assert PAUSE_REASON in reason, reason
    assert row(database, held)["status"] == "online"
    assert row(database, held)["instance_id"] == held_instance
    assert restarts(database, held) == []
    assert breaker_window(database, group) == 1  # only the flip before the pause counted
    assert actuator.metric("reconciler_actuator_paused_verdicts_total") == 1
    assert actuator.metric("reconciler_actuator_actions_total",
                           {"outcome": "SKIPPED_STALE"}) == 1
    deadline = time.monotonic() + NO_RESTART_WINDOW_S
    while time.monotonic() < deadline:
        assert sim.restarts_received(queued) == received_before, "a restart was sent while paused"
        assert restarts(database, queued)[0]["state"] == "pending"
        time.sleep(0.2)
    assert sim.restarts_performed(held) == 0 and sim.restarts_performed(queued) == 0

    # The Action reaches the actions topic, and the audit counts it as held back by the pause.
    written = query(database, "SELECT count(*) FROM reconciler_actuator_actions WHERE "
                    "consumer_group = %s", (group,))[0][0]
    published = [record for _, record in read_actions(topics, written)]
    paused_actions = [r for r in published if r["workspace_id"] == held]
    assert [r["outcome"] for r in paused_actions] == ["SKIPPED_STALE"]
    assert paused_actions[0]["reason"] == reason
    assert audit_summary(topics["env"])["paused"] == 1

    # Resume: the queued restart goes out, and the next sweep's verdict heals the workspace.
    code, out, err = pause_command(database, group, "--resume")
    assert code == 0, (out, err)
    assert out.startswith(f"resumed group {group} (paused since "), out
    assert PAUSE_REASON in out, out
    harness.wait_until(lambda: restarts(database, queued)[0]["state"] == "accepted", timeout=30,
                       message="the queued restart sent after --resume")
    send_verdicts(topics, [verdict(held, held_instance)])
    harness.wait_until(lambda: (r := row(database, held))["status"] == "online"
                       and r["instance_id"] != held_instance, timeout=30,
                       message="held-back workspace healed after --resume")
    assert outcomes(database, held) == ["SKIPPED_STALE", "FLIPPED_RESTART_REQUESTED",
                                        "RESTART_ACCEPTED"]
    assert sim.restarts_performed(held) == 1
    harness.wait_until(lambda: actuator.metric("reconciler_actuator_paused") == 0, timeout=15,
                       message="the pause gauge back at 0")
    assert actuator.log_lines("actuator resumed: verdicts act again from the next sweep")
    assert actuator.process.alive(), actuator.process.log_text()[-3000:]
