"""pytest configuration shared by the integration tests: makes harness.py importable and
fails fast with a clear message when the local stack is not running."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))


def pytest_sessionstart(session):
    missing = [name for name in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS") if not os.environ.get(name)]
    if missing:
        raise pytest.UsageError(
            f"{', '.join(missing)} not set: run the integration tests through scripts/test.sh, "
            "or `source` the env file of `scripts/stack.sh start DIR` first"
        )
