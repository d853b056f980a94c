"""The README's first command, run as a user would (issue #6), with a smaller fleet: it
starts its own PostgreSQL and Kafka, fleet-sim, a producer, two checkers and an actuator,
terminates 5% of the instances and must exit 0 only after every one of them was healed
and no healthy workspace was touched."""

import os
import subprocess

import harness


def test_demo_heals_every_terminated_instance_and_touches_no_healthy_one():
    env = {**os.environ, "RECONCILER_DEMO_BUILD_DIR": harness.BINARY_DIR}
    # The demo brings its own stack: nothing of the test stack may leak into it.
    for name in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "RECONCILER_STACK_DIR"):
        env.pop(name, None)
    result = subprocess.run(
        [os.path.join(harness.SOURCE_DIR, "scripts", "demo.sh"), "--workspaces", "300",
         "--interval", "5s", "--timeout", "120"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=400,
    )
    output = result.stdout.decode("utf-8", "replace")
    assert result.returncode == 0, output[-4000:]
    assert "RESULT: every terminated instance healed, no healthy workspace touched" in output
    # 5% of 300: the summary names exactly the 15 the demo terminated, all back on a new
    # instance and seen RUNNING there.
    summary = output[output.index("Summary"):]
    assert "terminated by the demo                       15" in summary
    assert "seen RUNNING by a later sweep                15" in summary
    assert "healthy workspaces flipped                    0" in summary
