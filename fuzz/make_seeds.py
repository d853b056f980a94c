#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ (committed; rerun after a schema change).

    fuzz/make_seeds.py BUILD_DIR     BUILD_DIR holds tests/tools/codec_vectors

A handful of small inputs per target, valid and invalid, laid out as each target's file
comment describes; the fuzzer mutates from there. The codec seeds are what our own encoder
writes (codec_vectors), each also truncated, with a trailing byte, and in the target's
"framed" form (a type byte followed by the datum alone).
"""

import json
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    directory = os.path.join(HERE, "corpus", target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as handle:
        handle.write(data)


def codec_seeds(build_dir):
    output = subprocess.run([os.path.join(build_dir, "tests", "tools", "codec_vectors")],
                            check=True, capture_output=True).stdout
    records = json.loads(output)["records"]
    type_byte = {"check_request": 0, "verdict": 1, "action": 2}
    for record_type, entry in records.items():
        for sample in entry["samples"]:
            data = bytes.fromhex(sample["hex"])
            if len(data) > 4096:
                continue  # the longest-string samples: small seeds mutate faster
            name = f"{record_type}_{sample['name']}"
            write("codec", name, data)
            write("codec", name + "_framed", bytes([type_byte[record_type]]) + data[10:])
            write("codec", name + "_truncated", data[: len(data) // 2])
            write("codec", name + "_trailing", data + b"\x00")
    write("codec", "too_short", b"\xc3\x01\x00")
    write("codec", "bad_magic", b"\xc3\x02" + b"\x00" * 16)
    write("codec", "unknown_fingerprint", b"\xc3\x01" + b"\xff" * 8 + b"\x02a")
    # Framed datums with a hostile first field: an 11-byte varint, a negative length, a length
    # past the end, a string that is not UTF-8.
    write("codec", "framed_bad_varint", b"\x00" + b"\xff" * 11)
    write("codec", "framed_negative_length", b"\x01\x01abc")
    write("codec", "framed_length_past_end", b"\x02\xfe\xff\x03ab")
    write("codec", "framed_invalid_utf8", b"\x00\x04\xc3\x28ab")


def classify_seed(status, transport, content_type, body):
    head = struct.pack("<H", status) + bytes([transport])
    if content_type is None:
        return head + body
    return head + content_type.encode() + b"\n" + body


def cp_classify_seeds():
    json_type = "application/json"
    cases = {
        "running": (200, 0, json_type, b'{"state":"running","instance_id":"i-1"}'),
        "terminated": (200, 0, json_type, b'{"state":"terminated"}'),
        "stopped_utf8": (200, 0, "application/json; charset=utf-8", b' {"state":"stopped"} \n'),
        "quoted_charset": (200, 0, 'application/json;charset="UTF-8"', b'{"state":"stopping"}'),
        "vendor_json": (203, 0, "application/vnd.cp.status+json", b'{"state":"shutting-down"}'),
        "latin1": (200, 0, "application/json; charset=latin1", b'{"state":"terminated"}'),
        "html": (200, 0, "text/html", b"<html>terminated</html>"),
        "no_content_type": (200, 0, None, b'{"state":"terminated"}'),
        "duplicate_keys": (200, 0, json_type, b'{"state":"terminated","state":"running"}'),
        "trailing_data": (200, 0, json_type, b'{"state":"terminated"}{"state":"running"}'),
        "array": (200, 0, json_type, b'[{"state":"terminated"}]'),
        "null_state": (200, 0, json_type, b'{"state":null}'),
        "odd_state": (200, 0, json_type, b'{"state":"Running","nested":{"a":[1,2.5e3,true]}}'),
        "escaped_nul": (200, 0, json_type, b'{"state":"termi\\u0000nated"}'),
        "invalid_utf8": (200, 0, json_type, b'{"state":"\xc3\x28"}'),
        "redirect": (302, 0, json_type, b'{"state":"terminated"}'),
        "server_error": (503, 0, json_type, b'{"error":"x"}'),
        "tls_failed": (0, 203, None, b""),
        "states_list": (200, 0, "terminated, stopped ,hibernated", b'{"state":"hibernated"}'),
    }
    for name, (status, transport, content_type, body) in cases.items():
        write("cp_classify", name, classify_seed(status, transport, content_type, body))


def config_seed(options, *tokens):
    return bytes([options]) + b"\x00".join(t.encode() if isinstance(t, str) else t for t in tokens)


def config_seeds():
    env = "\x01"
    cases = {
        "minimal": config_seed(0, "--fuzz-base-url", "http://cp:8080"),
        "check_config": config_seed(2, "--check-config", env + "FUZZ_BASE_URL=http://x",
                                    env + "FUZZ_SECRET=hunter2hunter2", env + "FUZZ_PIN=1234",
                                    env + "DATABASE_URL=postgresql://u:pw@h/db"),
        "help": config_seed(2, "--help"),
        "version": config_seed(2, "--version"),
        "every_type": config_seed(2, "--check-config", "--fuzz-base-url=x", "--fuzz-timeout=500ms",
                                  "--fuzz-interval", "1h", "--fuzz-dry-run", "--fuzz-concurrency",
                                  "4096", "--fuzz-offset=-12", "--fuzz-max-unhealthy=12.5%",
                                  "--log-level", "debug", "--from", "latest"),
        "out_of_bounds": config_seed(0, "--fuzz-base-url=x", "--fuzz-concurrency=9999"),
        "secret_invalid": config_seed(0, "--fuzz-base-url=x", "--fuzz-pin=12ab"),
        "env_invalid": config_seed(0, env + "FUZZ_BASE_URL=x", env + "FUZZ_TIMEOUT=10 s",
                                   env + "LOG_LEVEL="),
        "kafka": config_seed(2, "--check-config", "--fuzz-base-url=x", "--kafka-prop",
                             "sasl.password=s3cret", "--kafka-prop=client.id=a=b",
                             env + "RECONCILER_KAFKA_SASL_MECHANISM=PLAIN",
                             env + "RECONCILER_KAFKA_=x"),
        # A line break in a property name once split the "one-line" error in two.
        "kafka_name_newline": config_seed(0, "--fuzz-base-url=x", "--kafka-prop",
                                          'client.id\n{"msg":"forged"}=x'),
        "positional": config_seed(1, "--fuzz-base-url=x", "seed", "--count", "5"),
        "double_dash": config_seed(1, "--fuzz-base-url=x", "--", "--help"),
        "unknown_flag": config_seed(0, "--fuzz-secret=abc=def", "--nope=1", "-x"),
        "missing_value": config_seed(0, "--fuzz-base-url"),
    }
    for name, data in cases.items():
        write("config", name, data)


def admin_seeds():
    parsers = {"fault": 0, "terminate": 1, "set_state": 2, "instances": 3, "seed": 4,
               "config": 5, "empty": 6, "list_query": 7, "fault_id": 8}
    cases = [
        ("fault", "status", b'{"mode":"status","code":503,"target":{"percent":10,"salt":"s"}}'),
        ("fault", "latency", b'{"mode":"latency","fixed_ms":2000,"jitter_ms":500,'
                             b'"probability":0.5}'),
        ("fault", "reset_restart", b'{"mode":"reset","endpoint":"restart","times":3,'
                                   b'"perform_restart":true}'),
        ("fault", "redirect", b'{"mode":"redirect","code":301,'
                              b'"location":"/cp/redirected/stopped"}'),
        ("fault", "odd_state", b'{"mode":"odd_state","state":"Running",'
                               b'"target":{"instance_id":"i-1"}}'),
        ("fault", "duplicate", b'{"mode":"duplicate_state_keys","first_state":"terminated",'
                               b'"second_state":"running","target":{"workspace_id":"w-1"}}'),
        ("fault", "truncated", b'{"mode":"truncated","cut":"transfer","target":{"all":true}}'),
        ("fault", "oversized", b'{"mode":"oversized","bytes":70000}'),
        ("fault", "content_type", b'{"mode":"content_type","content_type":"text/html"}'),
        ("fault", "hang", b'{"mode":"hang","hang_ms":100,"target":{"share":0.25}}'),
        ("fault", "line_break", b'{"mode":"redirect","location":"/x\\r\\nSet-Cookie: a"}'),
        ("fault", "unknown_mode", b'{"mode":"nope"}'),
        ("terminate", "count", b'{"count":3,"state":"stopped","seed":7}'),
        ("terminate", "percent", b'{"percent":10}'),
        ("terminate", "both", b'{"count":1,"percent":10}'),
        ("set_state", "move", b'{"state":"terminated","instance_id":"i-2"}'),
        ("set_state", "bad_id", b'{"state":"running","instance_id":"i-\\"2"}'),
        ("instances", "object", b'{"instances":[{"workspace_id":"w1","instance_id":"i-1",'
                                b'"state":"terminated"},'
                                b'{"workspace_id":"w2","instance_id":"i-2"}]}'),
        ("instances", "array", b'[{"workspace_id":"w1","instance_id":"i-1"}]'),
        ("instances", "bad_element", b'[{"workspace_id":"w1","instance_id":"\xc3\xa9"}, 3]'),
        # An unknown field name whose quote in the message is cut at 200 bytes inside a UTF-8
        # sequence (the answer's JSON could not be built: fleet-sim dropped the connection).
        ("instances", "cut_utf8", b'[{"' + b"a" * 171 + "\u00e9".encode() * 5 + b'":1}]'),
        ("seed", "full", b'{"count":10,"runtime":null,"status":"online","state":"running",'
                         b'"batch_size":5,"return_ids":true}'),
        ("seed", "bad_status", b'{"count":1,"status":"\xe2\x82\xac\xe2\x82\xac"}'),
        ("config", "delay", b'{"reprovision_delay_ms":300}'),
        ("empty", "nothing", b""),
        ("empty", "object", b"{}"),
        ("empty", "duplicate", b'{"a":1,"a":2}'),
        ("empty", "broken", b'{"a":'),
        ("list_query", "all", b"running\x0010\x000"),
        ("list_query", "absent", b"\x01\x00\x01\x00\x01"),
        ("list_query", "bad_state", b"\xff\xfe"),
        ("fault_id", "valid", b"12"),
        ("fault_id", "overflow", b"18446744073709551616"),
    ]
    for parser, name, body in cases:
        write("fleet_sim_admin", f"{parser}_{name}", bytes([parsers[parser]]) + body)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: fuzz/make_seeds.py BUILD_DIR")
    codec_seeds(sys.argv[1])
    cp_classify_seeds()
    config_seeds()
    admin_seeds()


if __name__ == "__main__":
    main()
