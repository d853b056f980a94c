"""Cross-checks the C Avro codec against fastavro, an independent Avro implementation.

docs/contracts.md §6 promises that any standard Avro library can decode our messages from the .avsc
alone. This file proves it both ways, using tests/tools/codec_vectors (built with the project):

- our Parsing Canonical Form and CRC-64-AVRO fingerprint of each schemas/*.avsc equal fastavro's;
- fastavro decodes our single-object-encoded samples to exactly the values the C samples hold
  (stated again here, by hand, so a field written in the wrong place cannot go unnoticed);
- our decoder reads what fastavro writes, including every enum symbol and both union branches,
  and rejects an empty workspace_id that fastavro would happily write.

Needs no running services. Environment: RECONCILER_SOURCE_DIR, RECONCILER_BINARY_DIR (CTest sets
both).
"""

import copy
import datetime
import io
import json
import os
import pathlib
import subprocess

import fastavro
import pytest
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

SOURCE_DIR = pathlib.Path(os.environ.get("RECONCILER_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
BINARY_DIR = pathlib.Path(os.environ.get("RECONCILER_BINARY_DIR", SOURCE_DIR / "build"))
CODEC_VECTORS = BINARY_DIR / "tests" / "tools" / "codec_vectors"

RECORD_TYPES = ["check_request", "verdict", "action"]
MAGIC = b"\xc3\x01"
LONGEST_STRING = "\u00e9" * 8192  # CODEC_MAX_STRING (16 KiB) bytes of UTF-8
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

# The samples codec_vectors.c encodes, by record type and sample name. Keep in step with it.
EXPECTED_SAMPLES = {
    "check_request": {
        "typical": {
            "workspace_id": "8d3f5a2e-1c4b-4e8f-9a7d-2b6c0e1f3a45",
            "instance_id": "i-0123456789abcdef0",
            "sweep_id": "3b1e9c2d-7f4a-4d5b-8e6f-0a1b2c3d4e5f",
            "sweep_size": 1200,
            "enqueued_at": 1767225600000,
            "deadline": 1767225660000,
            "producer_id": "producer-a",
        },
        "edges": {
            "workspace_id": "ws-\u00fcn\u00efc\u00f8d\u00e9-\U0001F600",
            "instance_id": "",
            "sweep_id": "",  # NULL in C: a required string is written as ""
            "sweep_size": INT64_MIN,
            "enqueued_at": INT64_MAX,
            "deadline": -1,
            "producer_id": LONGEST_STRING,
        },
    },
    "verdict": {
        "not_running": {
            "workspace_id": "8d3f5a2e-1c4b-4e8f-9a7d-2b6c0e1f3a45",
            "instance_id": "i-0123456789abcdef0",
            "sweep_id": "3b1e9c2d-7f4a-4d5b-8e6f-0a1b2c3d4e5f",
            "sweep_size": 1200,
            "liveness": "NOT_RUNNING",
            "cp_state": "terminated",
            "http_status": 200,
            "reason": None,
            "checked_at": 1767225601234,
            "latency_ms": 87,
            "checker_id": "checker-2",
            "enqueued_at": 1767225600000,
        },
        "unknown_nulls": {
            "workspace_id": "w",
            "instance_id": "i-\u20ac",
            "sweep_id": "s",
            "sweep_size": 0,
            "liveness": "UNKNOWN",
            "cp_state": None,
            "http_status": None,
            "reason": "timeout",
            "checked_at": 0,
            "latency_ms": -1,
            "checker_id": "",
            "enqueued_at": INT64_MIN,
        },
        "running_extremes": {
            "workspace_id": "ws-2",
            "instance_id": "i-2",
            "sweep_id": "sweep-2",
            "sweep_size": INT64_MAX,
            "liveness": "RUNNING",
            "cp_state": "",
            "http_status": INT32_MIN,
            "reason": "",
            "checked_at": INT64_MAX,
            "latency_ms": INT64_MIN,
            "checker_id": "checker-\U0001F680",
            "enqueued_at": 1,
        },
    },
    "action": {
        "flipped": {
            "workspace_id": "8d3f5a2e-1c4b-4e8f-9a7d-2b6c0e1f3a45",
            "instance_id": "i-0123456789abcdef0",
            "verdict_topic": "reconciler.verdicts",
            "verdict_partition": 7,
            "verdict_offset": 123456789,
            "outcome": "FLIPPED_RESTART_REQUESTED",
            "reason": None,
            "acted_at": 1767225602000,
            "dry_run": False,
            "sweep_id": "3b1e9c2d-7f4a-4d5b-8e6f-0a1b2c3d4e5f",
            "verdict_checked_at": 1767225601234,
            "attempt": 1,
            "actuator_id": "actuator-1",
        },
        "dry_run_extremes": {
            "workspace_id": "ws-\u65e5\u672c",
            "instance_id": "i-3",
            "verdict_topic": "t",
            "verdict_partition": INT32_MAX,
            "verdict_offset": INT64_MAX,
            "outcome": "SKIPPED_DRY_RUN",
            "reason": "dry run: would flip",
            "acted_at": INT64_MIN,
            "dry_run": True,
            "sweep_id": "",
            "verdict_checked_at": -1767225601234,
            "attempt": INT32_MIN,
            "actuator_id": "",
        },
    },
}


def load_schema_json(record_type):
    with open(SOURCE_DIR / "schemas" / f"{record_type}.avsc", encoding="utf-8") as schema_file:
        return json.load(schema_file)


def without_logical_types(schema):
    """The same schema with logicalType dropped, so fastavro reads and writes timestamps as the
    plain longs the C structs hold (INT64_MAX is no valid datetime). Same wire format, same PCF."""
    schema = copy.deepcopy(schema)
    for field in schema["fields"]:
        if isinstance(field["type"], dict):
            field["type"].pop("logicalType", None)
    return schema


def fastavro_fingerprint_bytes(parsed_schema):
    # fastavro returns the CRC-64-AVRO fingerprint as the hex of its 8 little-endian bytes.
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed_schema), "CRC-64-AVRO"))


def run_codec_vectors(*arguments, expect_status=0):
    assert CODEC_VECTORS.exists(), f"{CODEC_VECTORS} is missing: build the project first"
    completed = subprocess.run(
        [str(CODEC_VECTORS), *arguments], capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == expect_status, completed.stderr
    return json.loads(completed.stdout)


@pytest.fixture(scope="module")
def vectors():
    return run_codec_vectors()["records"]


def decode_with_c(record_type, message):
    status_for = {True: 0, False: 1}
    output = subprocess.run(
        [str(CODEC_VECTORS), "decode", record_type, message.hex()],
        capture_output=True, text=True, timeout=60, check=False,
    )
    result = json.loads(output.stdout)
    assert output.returncode == status_for[result["ok"]], output.stderr
    return result


def single_object_encode_with_fastavro(record_type, record):
    parsed = parse_schema(without_logical_types(load_schema_json(record_type)))
    body = io.BytesIO()
    fastavro.schemaless_writer(body, parsed, record)
    return MAGIC + fastavro_fingerprint_bytes(parsed) + body.getvalue()


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_codec_canonical_form_equals_fastavro(vectors, record_type):
    parsed = parse_schema(load_schema_json(record_type))
    assert vectors[record_type]["canonical_form"] == to_parsing_canonical_form(parsed)


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_codec_fingerprint_equals_fastavro_crc64_avro(vectors, record_type):
    expected = fastavro_fingerprint_bytes(parse_schema(load_schema_json(record_type)))
    assert bytes.fromhex(vectors[record_type]["fingerprint_hex_le"]) == expected
    assert int(vectors[record_type]["fingerprint_unsigned"]) == int.from_bytes(expected, "little")


def test_codec_fingerprint_of_int_matches_avro_spec_vector():
    # From the Avro spec's test vectors (share/test/data/schema-tests.txt): "int" fingerprints to
    # 8247732601305521295. Pins fastavro's byte order, which the other tests rely on.
    raw = fastavro_fingerprint_bytes(parse_schema("int"))
    assert int.from_bytes(raw, "little") == 8247732601305521295


@pytest.mark.parametrize(
    "record_type,sample_name",
    [(record_type, name) for record_type in RECORD_TYPES for name in EXPECTED_SAMPLES[record_type]],
)
def test_codec_samples_decode_with_fastavro_to_expected_values(vectors, record_type, sample_name):
    samples = {sample["name"]: sample for sample in vectors[record_type]["samples"]}
    assert set(samples) == set(EXPECTED_SAMPLES[record_type]), "samples out of step with codec_vectors.c"
    message = bytes.fromhex(samples[sample_name]["hex"])
    parsed = parse_schema(without_logical_types(load_schema_json(record_type)))
    assert message[:2] == MAGIC
    assert message[2:10] == fastavro_fingerprint_bytes(parsed)
    body = io.BytesIO(message[10:])
    decoded = fastavro.schemaless_reader(body, parsed)
    assert body.read() == b"", "fastavro left bytes unread: our datum is longer than the schema says"
    assert decoded == EXPECTED_SAMPLES[record_type][sample_name]
    # And the C decoder reads its own output back to the same values.
    assert decode_with_c(record_type, message) == {"ok": True, "record": decoded}


def test_codec_timestamps_are_milliseconds_for_fastavro(vectors):
    # Read with the real schema (logicalType timestamp-millis): the C long must mean milliseconds.
    message = bytes.fromhex(vectors["verdict"]["samples"][0]["hex"])
    decoded = fastavro.schemaless_reader(io.BytesIO(message[10:]), parse_schema(load_schema_json("verdict")))
    assert decoded["checked_at"] == datetime.datetime(2026, 1, 1, 0, 0, 1, 234000, tzinfo=datetime.timezone.utc)


FASTAVRO_WRITTEN = {
    "check_request": [
        EXPECTED_SAMPLES["check_request"]["typical"],
        EXPECTED_SAMPLES["check_request"]["edges"],
    ],
    "verdict": [
        dict(EXPECTED_SAMPLES["verdict"]["not_running"], liveness=symbol, http_status=status)
        for symbol, status in [("UNKNOWN", None), ("RUNNING", INT32_MAX), ("NOT_RUNNING", 0)]
    ]
    + list(EXPECTED_SAMPLES["verdict"].values()),
    "action": [
        dict(EXPECTED_SAMPLES["action"]["flipped"], outcome=symbol, dry_run=index % 2 == 0,
             reason=None if index % 3 == 0 else f"reason {index} \u2713")
        for index, symbol in enumerate(load_schema_json("action")["fields"][5]["type"]["symbols"])
    ]
    + list(EXPECTED_SAMPLES["action"].values()),
}


@pytest.mark.parametrize(
    "record_type,index",
    [(record_type, index) for record_type in RECORD_TYPES for index in range(len(FASTAVRO_WRITTEN[record_type]))],
)
def test_codec_decodes_what_fastavro_writes(record_type, index):
    record = FASTAVRO_WRITTEN[record_type][index]
    result = decode_with_c(record_type, single_object_encode_with_fastavro(record_type, record))
    assert result == {"ok": True, "record": record}


def test_codec_action_outcomes_cover_every_schema_symbol():
    symbols = load_schema_json("action")["fields"][5]["type"]["symbols"]
    assert [record["outcome"] for record in FASTAVRO_WRITTEN["action"][: len(symbols)]] == symbols
    assert len(symbols) == 13  # SKIPPED_STATUS_CHANGED: the restart pre-check (issue 13)


def test_codec_rejects_empty_workspace_id_that_fastavro_accepts():
    record = dict(EXPECTED_SAMPLES["check_request"]["typical"], workspace_id="")
    result = decode_with_c("check_request", single_object_encode_with_fastavro("check_request", record))
    assert result == {"ok": False, "error": "bad_value"}


def test_codec_rejects_fastavro_message_for_another_record_type():
    record = EXPECTED_SAMPLES["check_request"]["typical"]
    result = decode_with_c("verdict", single_object_encode_with_fastavro("check_request", record))
    assert result == {"ok": False, "error": "unknown_fingerprint"}


def test_codec_rejects_fastavro_message_with_trailing_bytes():
    record = EXPECTED_SAMPLES["check_request"]["typical"]
    message = single_object_encode_with_fastavro("check_request", record) + b"\x00"
    assert decode_with_c("check_request", message) == {"ok": False, "error": "trailing_bytes"}
