"""pytest configuration shared by the integration tests: makes harness.py importable, fails
fast with a clear message when the local stack is not running, and holds the fixtures every
module uses the same way (`topics`, `processes`)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import harness  # noqa: E402  (importable only once the path above is set)


def pytest_sessionstart(session):
    missing = [name for name in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS") if not os.environ.get(name)]
    if missing:
        raise pytest.UsageError(
            f"{', '.join(missing)} not set: run the integration tests through scripts/test.sh, "
            "or `source` the env file of `scripts/stack.sh start DIR` first"
        )


@pytest.fixture
def topics():
    """Fresh checks/verdicts/actions/dlq topics for one test (harness.fresh_topics)."""
    with harness.fresh_topics() as names:
        yield names


@pytest.fixture
def processes():
    """Processes a test starts; killed at the end whatever happened."""
    started = []
    yield started
    for process in started:
        process.close()
