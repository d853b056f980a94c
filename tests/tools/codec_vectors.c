/* codec_vectors.c — prints what our Avro codec produces, so an independent implementation
 * (fastavro, in tests/integration/test_codec_fastavro.py) can check it.
 *
 *   codec_vectors                      JSON: per record type, the Parsing Canonical Form, the
 *                                      CRC-64-AVRO fingerprint and single-object-encoded samples
 *   codec_vectors decode TYPE HEX      decodes HEX as TYPE (check_request, verdict, action) and
 *                                      prints {"ok":true,"record":{...}} or
 *                                      {"ok":false,"error":"<codec_error_name>"}
 *
 * Exit status: 0 success, 1 the codec rejected the input (decode) or failed, 2 usage error.
 * A test tool, not shipped: the samples below are mirrored by hand in the pytest file, which
 * is the point (two independent statements of the same values). */
#include "codec.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const codec_vectors_type_names[] = {
    [CODEC_RECORD_CHECK_REQUEST] = "check_request",
    [CODEC_RECORD_VERDICT] = "verdict",
    [CODEC_RECORD_ACTION] = "action",
};

#define CODEC_VECTORS_TYPE_COUNT 3

/* A string of exactly CODEC_MAX_STRING bytes: "é" (2 bytes in UTF-8) repeated. */
static char codec_vectors_longest_string[CODEC_MAX_STRING + 1];

static void codec_vectors_fill_longest_string(void)
{
    for (size_t index = 0; index + 1 < sizeof codec_vectors_longest_string; index += 2) {
        codec_vectors_longest_string[index] = (char)0xC3;
        codec_vectors_longest_string[index + 1] = (char)0xA9;
    }
    codec_vectors_longest_string[CODEC_MAX_STRING] = '\0';
}

static char *codec_vectors_hex(const uint8_t *bytes, size_t length)
{
    static const char digits[] = "0123456789abcdef";
    char *text = malloc(length * 2 + 1);
    if (!text) {
        return NULL;
    }
    for (size_t index = 0; index < length; index++) {
        text[2 * index] = digits[bytes[index] >> 4];
        text[2 * index + 1] = digits[bytes[index] & 0x0F];
    }
    text[length * 2] = '\0';
    return text;
}

static int codec_vectors_hex_digit(char character)
{
    if (character >= '0' && character <= '9') {
        return character - '0';
    }
    if (character >= 'a' && character <= 'f') {
        return character - 'a' + 10;
    }
    if (character >= 'A' && character <= 'F') {
        return character - 'A' + 10;
    }
    return -1;
}

/* Parses hex text into a malloc'd buffer; false on odd length or a non-hex character. */
static bool codec_vectors_unhex(const char *text, uint8_t **out, size_t *out_length)
{
    size_t text_length = strlen(text);
    if (text_length % 2 != 0) {
        return false;
    }
    uint8_t *bytes = malloc(text_length / 2 + 1); /* +1: never malloc(0) */
    if (!bytes) {
        return false;
    }
    for (size_t index = 0; index < text_length / 2; index++) {
        int high = codec_vectors_hex_digit(text[2 * index]);
        int low = codec_vectors_hex_digit(text[2 * index + 1]);
        if (high < 0 || low < 0) {
            free(bytes);
            return false;
        }
        bytes[index] = (uint8_t)(high << 4 | low);
    }
    *out = bytes;
    *out_length = text_length / 2;
    return true;
}

/* ---- records as JSON (Avro field names; enums as symbols; null unions as null) ---------- */

static json_t *codec_vectors_check_request_json(const check_request *record)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "workspace_id", record->workspace_id,
                     "instance_id", record->instance_id, "sweep_id", record->sweep_id, "sweep_size",
                     (json_int_t)record->sweep_size, "enqueued_at", (json_int_t)record->enqueued_at,
                     "deadline", (json_int_t)record->deadline, "producer_id", record->producer_id);
}

static json_t *codec_vectors_verdict_json(const verdict *record)
{
    json_t *http_status = record->has_http_status ? json_integer(record->http_status) : json_null();
    return json_pack(
        "{s:s, s:s, s:s, s:I, s:s, s:s?, s:o, s:s?, s:I, s:I, s:s, s:I}", "workspace_id",
        record->workspace_id, "instance_id", record->instance_id, "sweep_id", record->sweep_id,
        "sweep_size", (json_int_t)record->sweep_size, "liveness", liveness_name(record->liveness),
        "cp_state", record->cp_state, "http_status", http_status, "reason", record->reason,
        "checked_at", (json_int_t)record->checked_at, "latency_ms", (json_int_t)record->latency_ms,
        "checker_id", record->checker_id, "enqueued_at", (json_int_t)record->enqueued_at);
}

static json_t *codec_vectors_action_json(const action *record)
{
    return json_pack("{s:s, s:s, s:s, s:i, s:I, s:s, s:s?, s:I, s:b, s:s, s:I, s:i, s:s}",
                     "workspace_id", record->workspace_id, "instance_id", record->instance_id,
                     "verdict_topic", record->verdict_topic, "verdict_partition",
                     (int)record->verdict_partition, "verdict_offset",
                     (json_int_t)record->verdict_offset, "outcome",
                     action_outcome_name(record->outcome), "reason", record->reason, "acted_at",
                     (json_int_t)record->acted_at, "dry_run", (int)record->dry_run, "sweep_id",
                     record->sweep_id, "verdict_checked_at", (json_int_t)record->verdict_checked_at,
                     "attempt", (int)record->attempt, "actuator_id", record->actuator_id);
}

/* ---- the samples (mirrored in test_codec_fastavro.py: keep both in step) ----------------- */

typedef struct {
    const char *name;
    codec_record_type type;
    const void *record;
} codec_vectors_sample;

static const check_request codec_vectors_check_request_typical = {
    .workspace_id = "8d3f5a2e-1c4b-4e8f-9a7d-2b6c0e1f3a45",
    .instance_id = "i-0123456789abcdef0",
    .sweep_id = "3b1e9c2d-7f4a-4d5b-8e6f-0a1b2c3d4e5f",
    .sweep_size = 1200,
    .enqueued_at = 1767225600000,
    .deadline = 1767225660000,
    .producer_id = "producer-a",
};

/* Unicode, an empty and a NULL (written as "") required string, extreme longs, and a string of
 * the maximum length; producer_id is filled in at start-up. */
static check_request codec_vectors_check_request_edges = {
    .workspace_id = "ws-\xC3\xBCn\xC3\xAF\x63\xC3\xB8\x64\xC3\xA9-\xF0\x9F\x98\x80",
    .instance_id = "",
    .sweep_id = NULL,
    .sweep_size = INT64_MIN,
    .enqueued_at = INT64_MAX,
    .deadline = -1,
};

static const verdict codec_vectors_verdict_not_running = {
    .workspace_id = "8d3f5a2e-1c4b-4e8f-9a7d-2b6c0e1f3a45",
    .instance_id = "i-0123456789abcdef0",
    .sweep_id = "3b1e9c2d-7f4a-4d5b-8e6f-0a1b2c3d4e5f",
    .sweep_size = 1200,
    .liveness = LIVENESS_NOT_RUNNING,
    .cp_state = "terminated",
    .has_http_status = true,
    .http_status = 200,
    .reason = NULL,
    .checked_at = 1767225601234,
    .latency_ms = 87,
    .checker_id = "checker-2",
    .enqueued_at = 1767225600000,
};

static const verdict codec_vectors_verdict_unknown_nulls = {
    .workspace_id = "w",
    .instance_id = "i-\xE2\x82\xAC",
    .sweep_id = "s",
    .sweep_size = 0,
    .liveness = LIVENESS_UNKNOWN,
    .cp_state = NULL,
    .has_http_status = false,
    .reason = "timeout",
    .checked_at = 0,
    .latency_ms = -1,
    .checker_id = "",
    .enqueued_at = INT64_MIN,
};

static const verdict codec_vectors_verdict_running_extremes = {
    .workspace_id = "ws-2",
    .instance_id = "i-2",
    .sweep_id = "sweep-2",
    .sweep_size = INT64_MAX,
    .liveness = LIVENESS_RUNNING,
    .cp_state = "",
    .has_http_status = true,
    .http_status = INT32_MIN,
    .reason = "",
    .checked_at = INT64_MAX,
    .latency_ms = INT64_MIN,
    .checker_id = "checker-\xF0\x9F\x9A\x80",
    .enqueued_at = 1,
};

static const action codec_vectors_action_flipped = {
    .workspace_id = "8d3f5a2e-1c4b-4e8f-9a7d-2b6c0e1f3a45",
    .instance_id = "i-0123456789abcdef0",
    .verdict_topic = "reconciler.verdicts",
    .verdict_partition = 7,
    .verdict_offset = 123456789,
    .outcome = ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED,
    .reason = NULL,
    .acted_at = 1767225602000,
    .dry_run = false,
    .sweep_id = "3b1e9c2d-7f4a-4d5b-8e6f-0a1b2c3d4e5f",
    .verdict_checked_at = 1767225601234,
    .attempt = 1,
    .actuator_id = "actuator-1",
};

static const action codec_vectors_action_dry_run_extremes = {
    .workspace_id = "ws-\xE6\x97\xA5\xE6\x9C\xAC",
    .instance_id = "i-3",
    .verdict_topic = "t",
    .verdict_partition = INT32_MAX,
    .verdict_offset = INT64_MAX,
    .outcome = ACTION_OUTCOME_SKIPPED_DRY_RUN,
    .reason = "dry run: would flip",
    .acted_at = INT64_MIN,
    .dry_run = true,
    .sweep_id = NULL,
    .verdict_checked_at = -1767225601234,
    .attempt = INT32_MIN,
    .actuator_id = "",
};

static const codec_vectors_sample codec_vectors_samples[] = {
    {"typical", CODEC_RECORD_CHECK_REQUEST, &codec_vectors_check_request_typical},
    {"edges", CODEC_RECORD_CHECK_REQUEST, &codec_vectors_check_request_edges},
    {"not_running", CODEC_RECORD_VERDICT, &codec_vectors_verdict_not_running},
    {"unknown_nulls", CODEC_RECORD_VERDICT, &codec_vectors_verdict_unknown_nulls},
    {"running_extremes", CODEC_RECORD_VERDICT, &codec_vectors_verdict_running_extremes},
    {"flipped", CODEC_RECORD_ACTION, &codec_vectors_action_flipped},
    {"dry_run_extremes", CODEC_RECORD_ACTION, &codec_vectors_action_dry_run_extremes},
};

static codec_error codec_vectors_encode(codec_record_type type, const void *record, uint8_t **out,
                                        size_t *out_length)
{
    switch (type) {
    case CODEC_RECORD_CHECK_REQUEST:
        return codec_encode_check_request(record, out, out_length);
    case CODEC_RECORD_VERDICT:
        return codec_encode_verdict(record, out, out_length);
    case CODEC_RECORD_ACTION:
        return codec_encode_action(record, out, out_length);
    }
    return CODEC_ERROR_INTERNAL;
}

/* Returns a new JSON object describing one record type, or NULL (message on stderr). */
static json_t *codec_vectors_describe_type(codec_record_type type)
{
    char *canonical_form = codec_parsing_canonical_form(codec_schema_json(type));
    if (!canonical_form) {
        fprintf(stderr, "codec_vectors: no canonical form for %s\n",
                codec_vectors_type_names[type]);
        return NULL;
    }
    uint64_t fingerprint = codec_fingerprint(type);
    uint8_t fingerprint_bytes[8];
    for (int index = 0; index < 8; index++) {
        fingerprint_bytes[index] = (uint8_t)(fingerprint >> (8 * index));
    }
    char *fingerprint_hex = codec_vectors_hex(fingerprint_bytes, sizeof fingerprint_bytes);
    /* Why a decimal string: JSON numbers above 2^63 do not fit jansson's json_int_t, and many
     * JSON readers lose precision above 2^53. */
    char fingerprint_decimal[24];
    snprintf(fingerprint_decimal, sizeof fingerprint_decimal, "%llu",
             (unsigned long long)fingerprint);
    json_t *samples = json_array();
    json_t *description = json_pack("{s:s, s:s?, s:s, s:o}", "canonical_form", canonical_form,
                                    "fingerprint_hex_le", fingerprint_hex, "fingerprint_unsigned",
                                    fingerprint_decimal, "samples", json_incref(samples));
    free(canonical_form);
    free(fingerprint_hex);
    for (size_t index = 0;
         description && index < sizeof codec_vectors_samples / sizeof *codec_vectors_samples;
         index++) {
        const codec_vectors_sample *sample = &codec_vectors_samples[index];
        if (sample->type != type) {
            continue;
        }
        uint8_t *encoded;
        size_t encoded_length;
        codec_error error = codec_vectors_encode(type, sample->record, &encoded, &encoded_length);
        if (error != CODEC_OK) {
            fprintf(stderr, "codec_vectors: encoding sample %s failed: %s\n", sample->name,
                    codec_error_name(error));
            json_decref(description);
            description = NULL;
            break;
        }
        char *hex = codec_vectors_hex(encoded, encoded_length);
        free(encoded);
        if (json_array_append_new(
                samples, json_pack("{s:s, s:s?}", "name", sample->name, "hex", hex)) != 0) {
            json_decref(description);
            description = NULL;
        }
        free(hex);
    }
    json_decref(samples);
    return description;
}

static int codec_vectors_print(json_t *value)
{
    char *text = value ? json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(value);
    if (!text) {
        fprintf(stderr, "codec_vectors: could not build the JSON output\n");
        return 1;
    }
    puts(text);
    free(text);
    return 0;
}

static int codec_vectors_dump(void)
{
    json_t *records = json_object();
    for (int type = 0; records && type < CODEC_VECTORS_TYPE_COUNT; type++) {
        json_t *description = codec_vectors_describe_type((codec_record_type)type);
        if (json_object_set_new(records, codec_vectors_type_names[type], description) != 0) {
            json_decref(records);
            return 1;
        }
    }
    return codec_vectors_print(json_pack("{s:o}", "records", records));
}

static int codec_vectors_decode(const char *type_name, const char *hex)
{
    uint8_t *bytes;
    size_t length;
    if (!codec_vectors_unhex(hex, &bytes, &length)) {
        fprintf(stderr, "codec_vectors: not hex: %s\n", hex);
        return 2;
    }
    codec_error error = CODEC_ERROR_INTERNAL;
    json_t *record_json = NULL;
    if (strcmp(type_name, "check_request") == 0) {
        check_request record;
        error = codec_decode_check_request(bytes, length, &record);
        record_json = error == CODEC_OK ? codec_vectors_check_request_json(&record) : NULL;
        check_request_free(&record);
    } else if (strcmp(type_name, "verdict") == 0) {
        verdict record;
        error = codec_decode_verdict(bytes, length, &record);
        record_json = error == CODEC_OK ? codec_vectors_verdict_json(&record) : NULL;
        verdict_free(&record);
    } else if (strcmp(type_name, "action") == 0) {
        action record;
        error = codec_decode_action(bytes, length, &record);
        record_json = error == CODEC_OK ? codec_vectors_action_json(&record) : NULL;
        action_free(&record);
    } else {
        free(bytes);
        fprintf(stderr, "codec_vectors: unknown record type %s\n", type_name);
        return 2;
    }
    free(bytes);
    if (error != CODEC_OK) {
        codec_vectors_print(json_pack("{s:b, s:s}", "ok", 0, "error", codec_error_name(error)));
        return 1;
    }
    return codec_vectors_print(json_pack("{s:b, s:o}", "ok", 1, "record", record_json));
}

int main(int argc, char **argv)
{
    if (!codec_init()) {
        fprintf(stderr, "codec_vectors: codec_init failed\n");
        return 1;
    }
    codec_vectors_fill_longest_string();
    codec_vectors_check_request_edges.producer_id = codec_vectors_longest_string;
    int status;
    if (argc == 1) {
        status = codec_vectors_dump();
    } else if (argc == 4 && strcmp(argv[1], "decode") == 0) {
        status = codec_vectors_decode(argv[2], argv[3]);
    } else {
        fprintf(stderr, "usage: codec_vectors\n       codec_vectors decode "
                        "check_request|verdict|action HEX\n");
        status = 2;
    }
    codec_shutdown();
    return status;
}
