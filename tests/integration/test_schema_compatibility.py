"""The schema compatibility check that CI runs (scripts/check-schemas.sh, Apache Avro's Java
SchemaCompatibility in FULL_TRANSITIVE mode, docs/schemas.md) passes on the repository's
schemas and fails on deliberately incompatible edits, naming the file and the reason.

Needs Java and Maven (the Avro jars are fetched into .cache/avro/lib once), no running services.
Environment: RECONCILER_SOURCE_DIR (CTest sets it).
"""

import json
import os
import pathlib
import shutil
import subprocess

import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("RECONCILER_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
CHECK = SOURCE_DIR / "scripts" / "check-schemas.sh"


def run_check(*directories):
    return subprocess.run([str(CHECK), *map(str, directories)], capture_output=True, text=True, timeout=300)


def history_with_verdict_v2(tmp_path, edit):
    """A copy of schemas/history with a Verdict v2 made from v1 by `edit`."""
    history = tmp_path / "history"
    shutil.copytree(SOURCE_DIR / "schemas" / "history", history)
    schema = json.loads((history / "Verdict" / "v1.avsc").read_text())
    edit(schema)
    (history / "Verdict" / "v2.avsc").write_text(json.dumps(schema))
    return history


def test_repository_schemas_are_full_transitive():
    result = run_check()
    assert result.returncode == 0, result.stderr
    assert "compatible both ways (FULL_TRANSITIVE)" in result.stdout
    assert "Verdict: versions [1, 2]" in result.stdout  # the test-only v2 is checked too


def add_field_without_default(schema):
    schema["fields"].append({"name": "region", "type": "string"})


def change_field_type(schema):
    field = next(field for field in schema["fields"] if field["name"] == "latency_ms")
    field["type"] = "string"


def drop_required_field(schema):
    schema["fields"] = [field for field in schema["fields"] if field["name"] != "checked_at"]


@pytest.mark.parametrize(
    "edit, direction, reason",
    [
        (add_field_without_default, "backward", "READER_FIELD_MISSING_DEFAULT_VALUE"),
        (change_field_type, "backward", "TYPE_MISMATCH"),
        (drop_required_field, "forward", "READER_FIELD_MISSING_DEFAULT_VALUE"),
    ],
)
def test_incompatible_edit_fails(tmp_path, edit, direction, reason):
    result = run_check(history_with_verdict_v2(tmp_path, edit))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{direction} incompatible" in result.stderr
    assert "Verdict/v2.avsc" in result.stderr and reason in result.stderr
    assert "FAILED" in result.stderr
