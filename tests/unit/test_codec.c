/* test_codec.c — unit tests of the Avro codec (common/codec.c, common/codec_canonical.c).
 *
 * What is proved here: the CRC-64-AVRO fingerprint and the Parsing Canonical Form agree with the
 * Avro specification and with fastavro (expected values below were produced by fastavro 1.13,
 * see the comments); every record round-trips; the datum bytes equal fastavro's; every decoder
 * rejection in codec.h is reached by crafted bytes and leaves the record zeroed; codec_init's
 * layout check refuses edited schemas; and a randomised mutation loop never crashes the decoder
 * (run under -DRECONCILER_SANITIZE=ON to make "never crashes" mean "no memory error, no UB").
 *
 * Crafted messages are built with the small, independent writer below (test_put_*), not with
 * the codec's own encoder, so a shared mistake cannot hide. The cross-check against fastavro
 * of the real schemas is tests/integration/test_codec_fastavro.py. */
#include "codec.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_COUNT_OF(array) (sizeof(array) / sizeof *(array))

/* ---- an independent Avro writer for crafted bytes --------------------------------------- */

typedef struct {
    uint8_t data[2 * CODEC_MAX_STRING + 512];
    size_t length;
} test_bytes;

static void test_put_raw(test_bytes *bytes, const void *data, size_t length)
{
    ck_assert_uint_le(bytes->length + length, sizeof bytes->data);
    memcpy(bytes->data + bytes->length, data, length);
    bytes->length += length;
}

static void test_put_byte(test_bytes *bytes, uint8_t value)
{
    test_put_raw(bytes, &value, 1);
}

/* Avro long: zig-zag, then 7 bits per byte, least significant first. */
static void test_put_long(test_bytes *bytes, int64_t value)
{
    uint64_t zigzag = value >= 0 ? (uint64_t)value * 2 : ((uint64_t)(-(value + 1)) * 2) + 1;
    do {
        uint8_t byte = zigzag & 0x7F;
        zigzag >>= 7;
        test_put_byte(bytes, zigzag ? (byte | 0x80) : byte);
    } while (zigzag);
}

static void test_put_string_bytes(test_bytes *bytes, const void *data, size_t length)
{
    test_put_long(bytes, (int64_t)length);
    test_put_raw(bytes, data, length);
}

static void test_put_string(test_bytes *bytes, const char *text)
{
    test_put_string_bytes(bytes, text, strlen(text));
}

static void test_put_header(test_bytes *bytes, codec_record_type type)
{
    uint64_t fingerprint = codec_fingerprint(type);
    ck_assert_uint_ne(fingerprint, 0);
    test_put_byte(bytes, 0xC3);
    test_put_byte(bytes, 0x01);
    for (int index = 0; index < 8; index++) {
        test_put_byte(bytes, (uint8_t)(fingerprint >> (8 * index)));
    }
}

/* CheckRequest after its first field, workspace_id: instance_id "i-1", sweep_id "s-1",
 * sweep_size 3, enqueued_at 1767225600000, deadline -2, producer_id "p". */
static void test_put_check_request_tail(test_bytes *bytes)
{
    test_put_string(bytes, "i-1");
    test_put_string(bytes, "s-1");
    test_put_long(bytes, 3);
    test_put_long(bytes, 1767225600000);
    test_put_long(bytes, -2);
    test_put_string(bytes, "p");
}

static void test_build_check_request(test_bytes *bytes, const void *workspace_id, size_t length)
{
    bytes->length = 0;
    test_put_header(bytes, CODEC_RECORD_CHECK_REQUEST);
    test_put_string_bytes(bytes, workspace_id, length);
    test_put_check_request_tail(bytes);
}

/* The Verdict wire values a test may want to break; all else is fixed and valid. A branch of
 * 1 is followed by a value, any other branch by nothing. */
typedef struct {
    int64_t liveness_index;
    int64_t cp_state_branch;
    int64_t http_status_branch;
    int64_t http_status;
    int64_t reason_branch;
} test_verdict_wire;

static const test_verdict_wire test_valid_verdict_wire = {2, 1, 1, 200, 0};

static void test_build_verdict(test_bytes *bytes, const test_verdict_wire *wire)
{
    bytes->length = 0;
    test_put_header(bytes, CODEC_RECORD_VERDICT);
    test_put_string(bytes, "ws-1");
    test_put_string(bytes, "i-1");
    test_put_string(bytes, "s-1");
    test_put_long(bytes, 3);
    test_put_long(bytes, wire->liveness_index);
    test_put_long(bytes, wire->cp_state_branch);
    if (wire->cp_state_branch == 1) {
        test_put_string(bytes, "stopped");
    }
    test_put_long(bytes, wire->http_status_branch);
    if (wire->http_status_branch == 1) {
        test_put_long(bytes, wire->http_status);
    }
    test_put_long(bytes, wire->reason_branch);
    if (wire->reason_branch == 1) {
        test_put_string(bytes, "why");
    }
    test_put_long(bytes, 1767225600000);
    test_put_long(bytes, 64);
    test_put_string(bytes, "c");
    test_put_long(bytes, -1);
}

/* The same for Action. */
typedef struct {
    int64_t verdict_partition;
    int64_t outcome_index;
    int64_t reason_branch;
    uint8_t dry_run_byte;
    int64_t attempt;
} test_action_wire;

static const test_action_wire test_valid_action_wire = {-3, 11, 1, 1, 2};

static void test_build_action(test_bytes *bytes, const test_action_wire *wire)
{
    bytes->length = 0;
    test_put_header(bytes, CODEC_RECORD_ACTION);
    test_put_string(bytes, "ws-1");
    test_put_string(bytes, "i-1");
    test_put_string(bytes, "v");
    test_put_long(bytes, wire->verdict_partition);
    test_put_long(bytes, 300);
    test_put_long(bytes, wire->outcome_index);
    test_put_long(bytes, wire->reason_branch);
    if (wire->reason_branch == 1) {
        test_put_string(bytes, "r");
    }
    test_put_long(bytes, 1767225600000);
    test_put_byte(bytes, wire->dry_run_byte);
    test_put_string(bytes, "s-1");
    test_put_long(bytes, 5);
    test_put_long(bytes, wire->attempt);
    test_put_string(bytes, "a");
}

/* ---- helpers for expectations ----------------------------------------------------------- */

static bool test_is_all_zero(const void *data, size_t length)
{
    const uint8_t *bytes = data;
    for (size_t index = 0; index < length; index++) {
        if (bytes[index] != 0) {
            return false;
        }
    }
    return true;
}

#define test_assert_codec_error(actual, expected)                                                  \
    do {                                                                                           \
        codec_error test_actual_ = (actual);                                                       \
        codec_error test_expected_ = (expected);                                                   \
        ck_assert_msg(test_actual_ == test_expected_, "got %s, expected %s",                       \
                      codec_error_name(test_actual_), codec_error_name(test_expected_));           \
    } while (0)

/* Decodes as the given type, expects `expected`; on a rejection also expects the record to be
 * zeroed although it was filled with garbage before the call. */
static void test_expect_decode(codec_record_type type, const void *data, size_t length,
                               codec_error expected)
{
    union {
        check_request check;
        verdict answer;
        action deed;
    } record;
    size_t size;
    memset(&record, 0xA5, sizeof record);
    codec_error error;
    switch (type) {
    case CODEC_RECORD_CHECK_REQUEST:
        size = sizeof record.check;
        error = codec_decode_check_request(data, length, &record.check);
        break;
    case CODEC_RECORD_VERDICT:
        size = sizeof record.answer;
        error = codec_decode_verdict(data, length, &record.answer);
        break;
    default:
        size = sizeof record.deed;
        error = codec_decode_action(data, length, &record.deed);
        break;
    }
    test_assert_codec_error(error, expected);
    if (error != CODEC_OK) {
        ck_assert_msg(test_is_all_zero(&record, size), "record not zeroed after %s",
                      codec_error_name(error));
        return;
    }
    switch (type) {
    case CODEC_RECORD_CHECK_REQUEST:
        check_request_free(&record.check);
        break;
    case CODEC_RECORD_VERDICT:
        verdict_free(&record.answer);
        break;
    default:
        action_free(&record.deed);
        break;
    }
    ck_assert(test_is_all_zero(&record, size)); /* the _free functions zero too */
}

static const char *test_or_empty(const char *text)
{
    return text ? text : "";
}

static void test_hex_to_bytes(const char *hex, uint8_t *out, size_t *out_length)
{
    size_t length = strlen(hex) / 2;
    for (size_t index = 0; index < length; index++) {
        unsigned value;
        ck_assert_int_eq(sscanf(hex + 2 * index, "%2x", &value), 1);
        out[index] = (uint8_t)value;
    }
    *out_length = length;
}

static void test_assert_check_request_equal(const check_request *actual,
                                            const check_request *expected)
{
    ck_assert_str_eq(actual->workspace_id, test_or_empty(expected->workspace_id));
    ck_assert_str_eq(actual->instance_id, test_or_empty(expected->instance_id));
    ck_assert_str_eq(actual->sweep_id, test_or_empty(expected->sweep_id));
    ck_assert_int_eq(actual->sweep_size, expected->sweep_size);
    ck_assert_int_eq(actual->enqueued_at, expected->enqueued_at);
    ck_assert_int_eq(actual->deadline, expected->deadline);
    ck_assert_str_eq(actual->producer_id, test_or_empty(expected->producer_id));
}

static void test_assert_optional_string_equal(const char *actual, const char *expected)
{
    if (!expected) {
        ck_assert_ptr_null(actual);
    } else {
        ck_assert_ptr_nonnull(actual);
        ck_assert_str_eq(actual, expected);
    }
}

static void test_assert_verdict_equal(const verdict *actual, const verdict *expected)
{
    ck_assert_str_eq(actual->workspace_id, test_or_empty(expected->workspace_id));
    ck_assert_str_eq(actual->instance_id, test_or_empty(expected->instance_id));
    ck_assert_str_eq(actual->sweep_id, test_or_empty(expected->sweep_id));
    ck_assert_int_eq(actual->sweep_size, expected->sweep_size);
    ck_assert_int_eq(actual->liveness, expected->liveness);
    test_assert_optional_string_equal(actual->cp_state, expected->cp_state);
    ck_assert_int_eq(actual->has_http_status, expected->has_http_status);
    if (expected->has_http_status) {
        ck_assert_int_eq(actual->http_status, expected->http_status);
    }
    test_assert_optional_string_equal(actual->reason, expected->reason);
    ck_assert_int_eq(actual->checked_at, expected->checked_at);
    ck_assert_int_eq(actual->latency_ms, expected->latency_ms);
    ck_assert_str_eq(actual->checker_id, test_or_empty(expected->checker_id));
    ck_assert_int_eq(actual->enqueued_at, expected->enqueued_at);
}

static void test_assert_action_equal(const action *actual, const action *expected)
{
    ck_assert_str_eq(actual->workspace_id, test_or_empty(expected->workspace_id));
    ck_assert_str_eq(actual->instance_id, test_or_empty(expected->instance_id));
    ck_assert_str_eq(actual->verdict_topic, test_or_empty(expected->verdict_topic));
    ck_assert_int_eq(actual->verdict_partition, expected->verdict_partition);
    ck_assert_int_eq(actual->verdict_offset, expected->verdict_offset);
    ck_assert_int_eq(actual->outcome, expected->outcome);
    test_assert_optional_string_equal(actual->reason, expected->reason);
    ck_assert_int_eq(actual->acted_at, expected->acted_at);
    ck_assert_int_eq(actual->dry_run, expected->dry_run);
    ck_assert_str_eq(actual->sweep_id, test_or_empty(expected->sweep_id));
    ck_assert_int_eq(actual->verdict_checked_at, expected->verdict_checked_at);
    ck_assert_int_eq(actual->attempt, expected->attempt);
    ck_assert_str_eq(actual->actuator_id, test_or_empty(expected->actuator_id));
}

/* A string of `length` bytes of valid UTF-8 ("é" repeated, then "a" if length is odd). */
static char *test_utf8_string_of_length(size_t length)
{
    char *text = malloc(length + 1);
    ck_assert_ptr_nonnull(text);
    size_t index = 0;
    for (; index + 1 < length; index += 2) {
        text[index] = (char)0xC3;
        text[index + 1] = (char)0xA9;
    }
    if (index < length) {
        text[index++] = 'a';
    }
    text[index] = '\0';
    return text;
}

/* Records shared by several tests. */
static const check_request test_check_request = {
    .workspace_id = "ws-1",
    .instance_id = "i-1",
    .sweep_id = "s-1",
    .sweep_size = 3,
    .enqueued_at = 1767225600000,
    .deadline = -2,
    .producer_id = "p",
};

static const verdict test_verdict = {
    .workspace_id = "ws-1",
    .instance_id = "i-1",
    .sweep_id = "s-1",
    .sweep_size = 3,
    .liveness = LIVENESS_NOT_RUNNING,
    .cp_state = "stopped",
    .has_http_status = true,
    .http_status = 200,
    .reason = NULL,
    .checked_at = 1767225600000,
    .latency_ms = 64,
    .checker_id = "c",
    .enqueued_at = -1,
};

static const action test_action = {
    .workspace_id = "ws-1",
    .instance_id = "i-1",
    .verdict_topic = "v",
    .verdict_partition = -3,
    .verdict_offset = 300,
    .outcome = ACTION_OUTCOME_SKIPPED_DRY_RUN,
    .reason = "r",
    .acted_at = 1767225600000,
    .dry_run = true,
    .sweep_id = "s-1",
    .verdict_checked_at = 5,
    .attempt = 2,
    .actuator_id = "a",
};

static void test_setup(void)
{
    ck_assert(codec_init());
}

static void test_teardown(void)
{
    codec_shutdown();
}

/* ---- names ------------------------------------------------------------------------------ */

START_TEST(test_codec_error_names_are_stable_snake_case)
{
    static const char *const expected[] = {
        "ok",
        "too_short",
        "bad_magic",
        "unknown_fingerprint",
        "truncated",
        "trailing_bytes",
        "bad_varint",
        "negative_length",
        "oversized_length",
        "bad_enum_index",
        "bad_union_index",
        "invalid_utf8",
        "bad_value",
        "schema_unavailable",
        "internal",
    };
    ck_assert_int_eq(TEST_COUNT_OF(expected), CODEC_ERROR_INTERNAL + 1);
    for (int error = CODEC_OK; error <= CODEC_ERROR_INTERNAL; error++) {
        ck_assert_str_eq(codec_error_name((codec_error)error), expected[error]);
    }
    ck_assert_str_eq(codec_error_name((codec_error)999), "unknown_codec_error");
}
END_TEST

START_TEST(test_codec_enum_names_match_avro_symbols)
{
    ck_assert_str_eq(liveness_name(LIVENESS_UNKNOWN), "UNKNOWN");
    ck_assert_str_eq(liveness_name(LIVENESS_RUNNING), "RUNNING");
    ck_assert_str_eq(liveness_name(LIVENESS_NOT_RUNNING), "NOT_RUNNING");
    ck_assert_str_eq(liveness_name((liveness)3), "INVALID");
    ck_assert_str_eq(action_outcome_name(ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED),
                     "FLIPPED_RESTART_REQUESTED");
    ck_assert_str_eq(action_outcome_name(ACTION_OUTCOME_SKIPPED_DRY_RUN), "SKIPPED_DRY_RUN");
    ck_assert_str_eq(action_outcome_name(ACTION_OUTCOME_COUNT), "INVALID");
    for (int value = 0; value < ACTION_OUTCOME_COUNT; value++) {
        action_outcome parsed = ACTION_OUTCOME_COUNT;
        ck_assert(action_outcome_parse(action_outcome_name((action_outcome)value), &parsed));
        ck_assert_int_eq(parsed, value);
    }
    action_outcome unused;
    ck_assert(!action_outcome_parse("flipped_restart_requested", &unused));
    ck_assert(!action_outcome_parse("", &unused));
    ck_assert(!action_outcome_parse(NULL, &unused));
}
END_TEST

/* ---- CRC-64-AVRO and Parsing Canonical Form --------------------------------------------- */

START_TEST(test_codec_crc64_of_empty_input_is_the_spec_empty_constant)
{
    ck_assert_uint_eq(codec_crc64_avro("", 0), UINT64_C(0xc15d213aa4d7a795));
}
END_TEST

START_TEST(test_codec_crc64_matches_avro_spec_vector_for_int)
{
    /* Avro share/test/data/schema-tests.txt: "int" has fingerprint 8247732601305521295;
     * fastavro agrees: fingerprint(parse_schema('int'), 'CRC-64-AVRO') = 8f5c393f1ad57572 (the
     * little-endian bytes of the same number). */
    char *canonical_form = codec_parsing_canonical_form("\"int\"");
    ck_assert_ptr_nonnull(canonical_form);
    ck_assert_str_eq(canonical_form, "\"int\"");
    ck_assert_uint_eq(codec_crc64_avro(canonical_form, strlen(canonical_form)),
                      UINT64_C(8247732601305521295));
    free(canonical_form);
}
END_TEST

START_TEST(test_codec_crc64_matches_fastavro_for_primitive_schemas)
{
    /* fastavro.schema.fingerprint(..., 'CRC-64-AVRO'), read as little-endian integers. */
    static const struct {
        const char *canonical_form;
        uint64_t fingerprint;
    } cases[] = {
        {"\"null\"", UINT64_C(0x63dd24e7cc258f8a)},  {"\"string\"", UINT64_C(0x8f014872634503c7)},
        {"\"long\"", UINT64_C(0xd054e14493f41db7)},  {"\"boolean\"", UINT64_C(0x9f42fc78a4d4f764)},
        {"\"bytes\"", UINT64_C(0x4fc016dac3201965)}, {"\"double\"", UINT64_C(0x8e7535c032ab957e)},
    };
    for (size_t index = 0; index < TEST_COUNT_OF(cases); index++) {
        const char *text = cases[index].canonical_form;
        ck_assert_msg(codec_crc64_avro(text, strlen(text)) == cases[index].fingerprint, "%s", text);
    }
}
END_TEST

START_TEST(test_codec_canonical_form_simplifies_primitive_objects)
{
    char *canonical_form =
        codec_parsing_canonical_form("{\"type\": \"long\", \"logicalType\": \"timestamp-millis\"}");
    ck_assert_ptr_nonnull(canonical_form);
    ck_assert_str_eq(canonical_form, "\"long\"");
    free(canonical_form);
}
END_TEST

START_TEST(test_codec_canonical_form_orders_attributes_and_strips_whitespace)
{
    /* fastavro: {"name":"R","type":"record","fields":[{"name":"s","type":"string"}]} */
    char *canonical_form = codec_parsing_canonical_form(
        "{ \"fields\" : [ {\"type\": \"string\", \"name\": \"s\"} ],\n \"name\": \"R\", "
        "\"type\": \"record\" }");
    ck_assert_ptr_nonnull(canonical_form);
    ck_assert_str_eq(canonical_form,
                     "{\"name\":\"R\",\"type\":\"record\",\"fields\":[{\"name\":\"s\",\"type\":"
                     "\"string\"}]}");
    free(canonical_form);
}
END_TEST

START_TEST(test_codec_canonical_form_qualifies_names_and_strips_non_parsing_attributes)
{
    /* Covers namespace inheritance, dotted names, references by short and full name, the null
     * namespace, fixed, array, map, unions, and doc/aliases/default/logicalType stripping. The
     * expected text is fastavro's to_parsing_canonical_form of the same schema. */
    const char *schema =
        "{\"type\":\"record\",\"name\":\"Outer\",\"namespace\":\"a.b\",\"doc\":\"d\","
        "\"aliases\":[\"x\"],\"fields\":["
        "{\"name\":\"when\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"},"
        "\"default\":0,\"doc\":\"x\"},"
        "{\"name\":\"state\",\"type\":{\"type\":\"enum\",\"name\":\"State\",\"symbols\":[\"A\","
        "\"B\"],\"default\":\"A\"}},"
        "{\"name\":\"again\",\"type\":\"State\"},"
        "{\"name\":\"other\",\"type\":{\"type\":\"fixed\",\"name\":\"c.Hash\",\"size\":16}},"
        "{\"name\":\"ref\",\"type\":\"c.Hash\"},"
        "{\"name\":\"list\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"map\",\"values\":["
        "\"null\",\"a.b.State\"]}}},"
        "{\"name\":\"inner\",\"type\":{\"type\":\"record\",\"namespace\":\"\",\"name\":\"Bare\","
        "\"fields\":[{\"name\":\"x\",\"type\":\"int\"}]}}]}";
    const char *expected =
        "{\"name\":\"a.b.Outer\",\"type\":\"record\",\"fields\":[{\"name\":\"when\",\"type\":"
        "\"long\"},{\"name\":\"state\",\"type\":{\"name\":\"a.b.State\",\"type\":\"enum\","
        "\"symbols\":[\"A\",\"B\"]}},{\"name\":\"again\",\"type\":\"a.b.State\"},{\"name\":"
        "\"other\",\"type\":{\"name\":\"c.Hash\",\"type\":\"fixed\",\"size\":16}},{\"name\":"
        "\"ref\",\"type\":\"c.Hash\"},{\"name\":\"list\",\"type\":{\"type\":\"array\",\"items\":"
        "{\"type\":\"map\",\"values\":[\"null\",\"a.b.State\"]}}},{\"name\":\"inner\",\"type\":"
        "{\"name\":\"Bare\",\"type\":\"record\",\"fields\":[{\"name\":\"x\",\"type\":\"int\"}]}}]}";
    char *canonical_form = codec_parsing_canonical_form(schema);
    ck_assert_ptr_nonnull(canonical_form);
    ck_assert_str_eq(canonical_form, expected);
    /* fastavro: fingerprint(...) = 63d1358b0867ffad (little-endian bytes). */
    ck_assert_uint_eq(codec_crc64_avro(canonical_form, strlen(canonical_form)),
                      UINT64_C(0xadff67088b35d163));
    free(canonical_form);
}
END_TEST

START_TEST(test_codec_canonical_form_rejects_invalid_schemas)
{
    static const char *const invalid[] = {
        "{",                                    /* not JSON */
        "\"nosuchtype\"",                       /* reference to nothing */
        "{\"type\":\"record\",\"fields\":[]}",  /* record without a name */
        "{\"type\":\"record\",\"name\":\"R\"}", /* record without fields */
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"f\",\"type\":\"Later\"}]}",
        "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[1]}",
        "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"not a name\"]}",
        "{\"type\":\"fixed\",\"name\":\"F\",\"size\":-1}",
        "{\"type\":\"fixed\",\"name\":\"F\",\"size\":\"16\"}",
        "{\"type\":\"record\",\"name\":\"1R\",\"fields\":[]}",
        "{\"type\":\"int\",\"type\":\"long\"}", /* duplicate key */
        /* E defined twice; parenthesized: one element split over two lines, not a lost comma */
        ("[\"null\",{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[]},"
         "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[]}]"),
        "{\"type\":\"array\"}",
        "42",
    };
    for (size_t index = 0; index < TEST_COUNT_OF(invalid); index++) {
        char *canonical_form = codec_parsing_canonical_form(invalid[index]);
        ck_assert_msg(canonical_form == NULL, "accepted %s as %s", invalid[index], canonical_form);
    }
    ck_assert_ptr_null(codec_parsing_canonical_form(NULL));
}
END_TEST

START_TEST(test_codec_fingerprint_is_crc64_of_canonical_form_not_raw_text)
{
    for (int type = 0; type < 3; type++) {
        const char *schema = codec_schema_json((codec_record_type)type);
        ck_assert_ptr_nonnull(schema);
        char *canonical_form = codec_parsing_canonical_form(schema);
        ck_assert_ptr_nonnull(canonical_form);
        uint64_t fingerprint = codec_fingerprint((codec_record_type)type);
        ck_assert_uint_eq(fingerprint, codec_crc64_avro(canonical_form, strlen(canonical_form)));
        ck_assert_uint_ne(fingerprint, codec_crc64_avro(schema, strlen(schema)));
        free(canonical_form);
    }
    ck_assert_uint_ne(codec_fingerprint(CODEC_RECORD_CHECK_REQUEST),
                      codec_fingerprint(CODEC_RECORD_VERDICT));
    ck_assert_uint_ne(codec_fingerprint(CODEC_RECORD_VERDICT),
                      codec_fingerprint(CODEC_RECORD_ACTION));
}
END_TEST

/* ---- init and the layout check ---------------------------------------------------------- */

START_TEST(test_codec_init_is_idempotent_and_shutdown_forgets_fingerprints)
{
    uint64_t fingerprint = codec_fingerprint(CODEC_RECORD_VERDICT);
    ck_assert(codec_init());
    ck_assert_uint_eq(codec_fingerprint(CODEC_RECORD_VERDICT), fingerprint);
    codec_shutdown();
    ck_assert_uint_eq(codec_fingerprint(CODEC_RECORD_VERDICT), 0);
    ck_assert(codec_init());
    ck_assert_uint_eq(codec_fingerprint(CODEC_RECORD_VERDICT), fingerprint);
}
END_TEST

START_TEST(test_codec_refuses_to_encode_or_decode_before_init)
{
    test_bytes bytes;
    test_build_check_request(&bytes, "ws-1", 4);
    codec_shutdown();
    test_expect_decode(CODEC_RECORD_CHECK_REQUEST, bytes.data, bytes.length, CODEC_ERROR_INTERNAL);
    uint8_t *out = (uint8_t *)&bytes;
    size_t out_length = 1;
    test_assert_codec_error(codec_encode_check_request(&test_check_request, &out, &out_length),
                            CODEC_ERROR_INTERNAL);
    ck_assert_ptr_null(out);
    ck_assert_uint_eq(out_length, 0);
    codec_record_type type;
    test_assert_codec_error(codec_peek_type(bytes.data, bytes.length, &type), CODEC_ERROR_INTERNAL);
}
END_TEST

START_TEST(test_codec_layout_check_accepts_the_embedded_schemas)
{
    for (int type = 0; type < 3; type++) {
        char error[256] = "";
        ck_assert_msg(codec_schema_matches_layout((codec_record_type)type,
                                                  codec_schema_json((codec_record_type)type), error,
                                                  sizeof error),
                      "%s", error);
    }
}
END_TEST

/* Loads an embedded schema, lets `edit` change it, and expects the layout check to refuse the
 * result with a reason that contains `reason_fragment`. */
static void test_expect_layout_rejects(codec_record_type type, void (*edit)(json_t *schema),
                                       const char *reason_fragment)
{
    json_t *schema = json_loads(codec_schema_json(type), 0, NULL);
    ck_assert_ptr_nonnull(schema);
    edit(schema);
    char *text = json_dumps(schema, JSON_COMPACT);
    json_decref(schema);
    ck_assert_ptr_nonnull(text);
    char error[256] = "";
    bool matches = codec_schema_matches_layout(type, text, error, sizeof error);
    ck_assert_msg(!matches, "accepted edited schema %s", text);
    ck_assert_msg(strstr(error, reason_fragment) != NULL, "reason \"%s\" lacks \"%s\"", error,
                  reason_fragment);
    free(text);
}

static json_t *test_field(json_t *schema, size_t index)
{
    return json_array_get(json_object_get(schema, "fields"), index);
}

static void test_edit_swap_checked_at_and_latency_ms(json_t *schema)
{
    json_t *fields = json_object_get(schema, "fields");
    json_t *checked_at = json_incref(json_array_get(fields, 8));
    json_t *latency_ms = json_incref(json_array_get(fields, 9));
    json_array_set_new(fields, 8, latency_ms);
    json_array_set_new(fields, 9, checked_at);
}

static void test_edit_attempt_to_long(json_t *schema)
{
    json_object_set_new(test_field(schema, 11), "type", json_string("long"));
}

static void test_edit_drop_last_field(json_t *schema)
{
    json_t *fields = json_object_get(schema, "fields");
    json_array_remove(fields, json_array_size(fields) - 1);
}

static void test_edit_add_field(json_t *schema)
{
    json_array_append_new(
        json_object_get(schema, "fields"),
        json_pack("{s:s, s:s, s:s}", "name", "region", "type", "string", "default", ""));
}

static void test_edit_swap_liveness_symbols(json_t *schema)
{
    json_t *symbols = json_object_get(json_object_get(test_field(schema, 4), "type"), "symbols");
    json_array_set_new(symbols, 0, json_string("RUNNING"));
    json_array_set_new(symbols, 1, json_string("UNKNOWN"));
}

static void test_edit_add_outcome_symbol(json_t *schema)
{
    json_t *symbols = json_object_get(json_object_get(test_field(schema, 5), "type"), "symbols");
    json_array_append_new(symbols, json_string("SKIPPED_HOLIDAY"));
}

static void test_edit_rename_record(json_t *schema)
{
    json_object_set_new(schema, "namespace", json_string("reconciler.v2"));
}

static void test_edit_enqueued_at_to_micros(json_t *schema)
{
    json_object_set_new(json_object_get(test_field(schema, 4), "type"), "logicalType",
                        json_string("timestamp-micros"));
}

static void test_edit_reverse_cp_state_union(json_t *schema)
{
    json_object_set_new(test_field(schema, 5), "type", json_pack("[s, s]", "string", "null"));
}

static void test_edit_break_type_name(json_t *schema)
{
    json_object_set_new(test_field(schema, 0), "type", json_string("strnig"));
}

START_TEST(test_codec_layout_check_rejects_reordered_fields)
{
    test_expect_layout_rejects(CODEC_RECORD_VERDICT, test_edit_swap_checked_at_and_latency_ms,
                               "checked_at");
}
END_TEST

START_TEST(test_codec_layout_check_rejects_changed_field_type)
{
    test_expect_layout_rejects(CODEC_RECORD_ACTION, test_edit_attempt_to_long, "attempt");
}
END_TEST

START_TEST(test_codec_layout_check_rejects_missing_or_extra_fields)
{
    test_expect_layout_rejects(CODEC_RECORD_CHECK_REQUEST, test_edit_drop_last_field, "fields");
    test_expect_layout_rejects(CODEC_RECORD_CHECK_REQUEST, test_edit_add_field, "fields");
}
END_TEST

START_TEST(test_codec_layout_check_rejects_changed_enum_symbols)
{
    test_expect_layout_rejects(CODEC_RECORD_VERDICT, test_edit_swap_liveness_symbols, "UNKNOWN");
    test_expect_layout_rejects(CODEC_RECORD_ACTION, test_edit_add_outcome_symbol, "ActionOutcome");
}
END_TEST

START_TEST(test_codec_layout_check_rejects_renamed_record)
{
    test_expect_layout_rejects(CODEC_RECORD_ACTION, test_edit_rename_record,
                               "reconciler.v2.Action");
}
END_TEST

START_TEST(test_codec_layout_check_rejects_changed_logical_type)
{
    test_expect_layout_rejects(CODEC_RECORD_CHECK_REQUEST, test_edit_enqueued_at_to_micros,
                               "timestamp-micros");
}
END_TEST

START_TEST(test_codec_layout_check_rejects_reordered_union)
{
    test_expect_layout_rejects(CODEC_RECORD_VERDICT, test_edit_reverse_cp_state_union, "cp_state");
}
END_TEST

START_TEST(test_codec_layout_check_rejects_invalid_schema_text)
{
    test_expect_layout_rejects(CODEC_RECORD_VERDICT, test_edit_break_type_name,
                               "not a valid Avro schema");
    char error[256] = "";
    ck_assert(
        !codec_schema_matches_layout(CODEC_RECORD_VERDICT, "{\"type\":", error, sizeof error));
    ck_assert_ptr_nonnull(strstr(error, "not valid JSON"));
}
END_TEST

/* ---- encoding and round trips ----------------------------------------------------------- */

START_TEST(test_codec_encodes_datum_bytes_like_fastavro)
{
    /* fastavro.schemaless_writer of the same three records (test_check_request, test_verdict,
     * test_action); regenerate with the snippet in tests/integration/test_codec_fastavro.py's
     * single_object_encode_with_fastavro if a schema changes on purpose. */
    static const struct {
        codec_record_type type;
        const char *datum_hex;
    } cases[] = {
        {CODEC_RECORD_CHECK_REQUEST, "0877732d3106692d3106732d310680a0d5edee66030270"},
        {CODEC_RECORD_VERDICT, "0877732d3106692d3106732d310604020e73746f707065640290030080a0d5e"
                               "dee668001026301"},
        {CODEC_RECORD_ACTION, "0877732d3106692d31027605d8041602027280a0d5edee660106732d310a04"
                              "0261"},
    };
    for (size_t index = 0; index < TEST_COUNT_OF(cases); index++) {
        uint8_t *out = NULL;
        size_t out_length = 0;
        codec_error error;
        switch (cases[index].type) {
        case CODEC_RECORD_CHECK_REQUEST:
            error = codec_encode_check_request(&test_check_request, &out, &out_length);
            break;
        case CODEC_RECORD_VERDICT:
            error = codec_encode_verdict(&test_verdict, &out, &out_length);
            break;
        default:
            error = codec_encode_action(&test_action, &out, &out_length);
            break;
        }
        test_assert_codec_error(error, CODEC_OK);
        uint8_t expected[256];
        size_t expected_length;
        test_hex_to_bytes(cases[index].datum_hex, expected, &expected_length);
        ck_assert_uint_eq(out_length, 10 + expected_length);
        ck_assert_msg(memcmp(out + 10, expected, expected_length) == 0,
                      "datum of record type %d differs from fastavro's", (int)cases[index].type);
        free(out);
    }
}
END_TEST

START_TEST(test_codec_writes_magic_and_little_endian_fingerprint_header)
{
    uint8_t *out;
    size_t out_length;
    test_assert_codec_error(codec_encode_verdict(&test_verdict, &out, &out_length), CODEC_OK);
    ck_assert_uint_ge(out_length, 10);
    ck_assert_uint_eq(out[0], 0xC3);
    ck_assert_uint_eq(out[1], 0x01);
    /* From fastavro: the Verdict fingerprint's little-endian bytes are 18b294bef4628cd8, read
     * from schemas/verdict.avsc; here they are derived from codec_fingerprint instead, so only
     * the byte order is pinned. */
    uint64_t fingerprint = codec_fingerprint(CODEC_RECORD_VERDICT);
    for (int index = 0; index < 8; index++) {
        ck_assert_uint_eq(out[2 + index], (fingerprint >> (8 * index)) & 0xFF);
    }
    codec_record_type type = CODEC_RECORD_ACTION;
    test_assert_codec_error(codec_peek_type(out, out_length, &type), CODEC_OK);
    ck_assert_int_eq(type, CODEC_RECORD_VERDICT);
    free(out);
}
END_TEST

START_TEST(test_codec_round_trips_check_request_with_unicode_and_max_length_strings)
{
    char *longest = test_utf8_string_of_length(CODEC_MAX_STRING);
    check_request input = {
        .workspace_id = "ws-\xC3\xBC-\xF0\x9F\x98\x80-\xE6\x97\xA5", /* ü, 😀, 日 */
        .instance_id = longest,
        .sweep_id = "",
        .sweep_size = INT64_MAX,
        .enqueued_at = INT64_MIN,
        .deadline = 0,
        .producer_id = NULL, /* written as "" */
    };
    uint8_t *out;
    size_t out_length;
    test_assert_codec_error(codec_encode_check_request(&input, &out, &out_length), CODEC_OK);
    check_request decoded;
    test_assert_codec_error(codec_decode_check_request(out, out_length, &decoded), CODEC_OK);
    test_assert_check_request_equal(&decoded, &input);
    ck_assert_uint_eq(strlen(decoded.instance_id), CODEC_MAX_STRING);
    check_request_free(&decoded);
    free(out);
    free(longest);
}
END_TEST

START_TEST(test_codec_round_trips_verdict_with_nulls_and_with_values)
{
    verdict with_nulls = test_verdict;
    with_nulls.liveness = LIVENESS_UNKNOWN;
    with_nulls.cp_state = NULL;
    with_nulls.has_http_status = false;
    with_nulls.http_status = 0;
    with_nulls.reason = "timeout";
    verdict with_values = test_verdict;
    with_values.liveness = LIVENESS_RUNNING;
    with_values.cp_state = "running";
    with_values.http_status = INT32_MIN;
    with_values.reason = "\xE2\x9C\x93";
    with_values.latency_ms = INT64_MIN;
    const verdict *inputs[] = {&test_verdict, &with_nulls, &with_values};
    for (size_t index = 0; index < TEST_COUNT_OF(inputs); index++) {
        uint8_t *out;
        size_t out_length;
        test_assert_codec_error(codec_encode_verdict(inputs[index], &out, &out_length), CODEC_OK);
        verdict decoded;
        test_assert_codec_error(codec_decode_verdict(out, out_length, &decoded), CODEC_OK);
        test_assert_verdict_equal(&decoded, inputs[index]);
        verdict_free(&decoded);
        free(out);
    }
}
END_TEST

START_TEST(test_codec_round_trips_every_action_outcome)
{
    for (int outcome = 0; outcome < ACTION_OUTCOME_COUNT; outcome++) {
        action input = test_action;
        input.outcome = (action_outcome)outcome;
        input.dry_run = outcome % 2 == 0;
        input.reason = outcome % 3 == 0 ? NULL : "because";
        input.verdict_partition = outcome % 2 ? INT32_MAX : INT32_MIN;
        input.attempt = outcome % 2 ? INT32_MIN : INT32_MAX;
        input.verdict_offset = outcome % 2 ? INT64_MIN : INT64_MAX;
        uint8_t *out;
        size_t out_length;
        test_assert_codec_error(codec_encode_action(&input, &out, &out_length), CODEC_OK);
        action decoded;
        test_assert_codec_error(codec_decode_action(out, out_length, &decoded), CODEC_OK);
        test_assert_action_equal(&decoded, &input);
        action_free(&decoded);
        free(out);
    }
}
END_TEST

START_TEST(test_codec_encoder_rejects_what_the_decoder_would_reject)
{
    uint8_t *out = (uint8_t *)"sentinel";
    size_t out_length = 7;
    check_request empty_id = test_check_request;
    empty_id.workspace_id = "";
    test_assert_codec_error(codec_encode_check_request(&empty_id, &out, &out_length),
                            CODEC_ERROR_BAD_VALUE);
    ck_assert_ptr_null(out);
    ck_assert_uint_eq(out_length, 0);
    empty_id.workspace_id = NULL;
    test_assert_codec_error(codec_encode_check_request(&empty_id, &out, &out_length),
                            CODEC_ERROR_BAD_VALUE);

    verdict bad_utf8 = test_verdict;
    bad_utf8.reason = "caf\xC3"; /* truncated two-byte sequence */
    test_assert_codec_error(codec_encode_verdict(&bad_utf8, &out, &out_length),
                            CODEC_ERROR_INVALID_UTF8);

    char *too_long = test_utf8_string_of_length(CODEC_MAX_STRING + 1);
    action oversized = test_action;
    oversized.verdict_topic = too_long;
    test_assert_codec_error(codec_encode_action(&oversized, &out, &out_length),
                            CODEC_ERROR_OVERSIZED_LENGTH);
    free(too_long);

    verdict bad_liveness = test_verdict;
    bad_liveness.liveness = (liveness)3;
    test_assert_codec_error(codec_encode_verdict(&bad_liveness, &out, &out_length),
                            CODEC_ERROR_BAD_VALUE);
    action bad_outcome = test_action;
    bad_outcome.outcome = ACTION_OUTCOME_COUNT;
    test_assert_codec_error(codec_encode_action(&bad_outcome, &out, &out_length),
                            CODEC_ERROR_BAD_VALUE);
    test_assert_codec_error(codec_encode_action(NULL, &out, &out_length), CODEC_ERROR_INTERNAL);
    ck_assert_ptr_null(out);
}
END_TEST

/* ---- decoder rejections, one per codec_error ------------------------------------------- */

START_TEST(test_codec_rejects_input_shorter_than_the_header)
{
    test_bytes bytes;
    test_build_check_request(&bytes, "ws-1", 4);
    for (size_t length = 0; length < 10; length++) {
        test_expect_decode(CODEC_RECORD_CHECK_REQUEST, bytes.data, length, CODEC_ERROR_TOO_SHORT);
    }
    test_expect_decode(CODEC_RECORD_CHECK_REQUEST, NULL, 0, CODEC_ERROR_TOO_SHORT);
}
END_TEST

START_TEST(test_codec_rejects_bad_magic)
{
    test_bytes bytes;
    test_build_check_request(&bytes, "ws-1", 4);
    bytes.data[0] = 0xC2;
    test_expect_decode(CODEC_RECORD_CHECK_REQUEST, bytes.data, bytes.length, CODEC_ERROR_BAD_MAGIC);
    bytes.data[0] = 0xC3;
    bytes.data[1] = 0x00;
    test_expect_decode(CODEC_RECORD_CHECK_REQUEST, bytes.data, bytes.length, CODEC_ERROR_BAD_MAGIC);
    codec_record_type type;
    test_assert_codec_error(codec_peek_type(bytes.data, bytes.length, &type),
                            CODEC_ERROR_BAD_MAGIC);
}
END_TEST

START_TEST(test_codec_rejects_unknown_fingerprint)
{
    test_bytes bytes;
    test_build_check_request(&bytes, "ws-1", 4);
    bytes.data[9] ^= 0x80; /* one bit of the fingerprint */
    test_expect_decode(CODEC_RECORD_CHECK_REQUEST, bytes.data, bytes.length,
                       CODEC_ERROR_UNKNOWN_FINGERPRINT);
    codec_record_type type;
    test_assert_codec_error(codec_peek_type(bytes.data, bytes.length, &type),
                            CODEC_ERROR_UNKNOWN_FINGERPRINT);
}
END_TEST

START_TEST(test_codec_rejects_another_record_types_fingerprint)
{
    test_bytes bytes;
    test_build_verdict(&bytes, &test_valid_verdict_wire);
    test_expect_decode(CODEC_RECORD_VERDICT, bytes.data, bytes.length, CODEC_OK);
    test_expect_decode(CODEC_RECORD_CHECK_REQUEST, bytes.data, bytes.length,
                       CODEC_ERROR_UNKNOWN_FINGERPRINT);
    test_expect_decode(CODEC_RECORD_ACTION, bytes.data, bytes.length,
                       CODEC_ERROR_UNKNOWN_FINGERPRINT);
}
END_TEST

START_TEST(test_codec_rejects_every_truncation_of_a_valid_message)
{
    test_bytes bytes;
    test_build_action(&bytes, &test_valid_action_wire);
    test_expect_decode(CODEC_RECORD_ACTION, bytes.data, bytes.length, CODEC_OK);
    for (size_t length = 10; length < bytes.length; length++) {
        test_expect_decode(CODEC_RECORD_ACTION, bytes.data, length, CODEC_ERROR_TRUNCATED);
    }
}
END_TEST

START_TEST(test_codec_rejects_trailing_bytes)
{
    test_bytes bytes;
    test_build_check_request(&bytes, "ws-1", 4);
    test_put_byte(&bytes, 0x00);
    test_expect_decode(CODEC_RECORD_CHECK_REQUEST, bytes.data, bytes.length,
                       CODEC_ERROR_TRAILING_BYTES);
}
END_TEST

START_TEST(test_codec_rejects_varint_longer_than_ten_bytes)
{
    test_bytes bytes;
    bytes.length = 0;
    test_put_header(&bytes, CODEC_RECORD_CHECK_REQUEST);
    for (int index = 0; index < 10; index++) {
        test_put_byte(&bytes, 0x80); /* ten bytes that all say "more follows" */
    }
    test_put_byte(&bytes, 0x00);
    test_expect_decode(CODEC_RECORD_CHECK_REQUEST, bytes.data, bytes.length,
                       CODEC_ERROR_BAD_VARINT);
}
END_TEST

START_TEST(test_codec_rejects_varint_overflowing_64_bits)
{
    /* sweep_size as ten bytes whose last carries bit 64 (0x02): a value beyond 2^64. */
    test_bytes bytes;
    bytes.length = 0;
    test_put_header(&bytes, CODEC_RECORD_CHECK_REQUEST);
    test_put_string(&bytes, "ws-1");
    test_put_string(&bytes, "i-1");
    test_put_string(&bytes, "s-1");
    size_t sweep_size_at = bytes.length;
    for (int index = 0; index < 9; index++) {
        test_put_byte(&bytes, 0xFF);
    }
    test_put_byte(&bytes, 0x02);
    test_put_long(&bytes, 0);
    test_put_long(&bytes, 0);
    test_put_string(&bytes, "p");
    test_expect_decode(CODEC_RECORD_CHECK_REQUEST, bytes.data, bytes.length,
                       CODEC_ERROR_BAD_VARINT);
    /* The same ten bytes ending in 0x01 are the largest valid varint: INT64_MIN. */
    bytes.data[sweep_size_at + 9] = 0x01;
    check_request decoded;
    test_assert_codec_error(codec_decode_check_request(bytes.data, bytes.length, &decoded),
                            CODEC_OK);
    ck_assert_int_eq(decoded.sweep_size, INT64_MIN);
    check_request_free(&decoded);
}
END_TEST

START_TEST(test_codec_rejects_negative_string_length)
{
    test_bytes bytes;
    bytes.length = 0;
    test_put_header(&bytes, CODEC_RECORD_CHECK_REQUEST);
    test_put_long(&bytes, -1);
    test_put_check_request_tail(&bytes);
    test_expect_decode(CODEC_RECORD_CHECK_REQUEST, bytes.data, bytes.length,
                       CODEC_ERROR_NEGATIVE_LENGTH);
    bytes.length = 0;
    test_put_header(&bytes, CODEC_RECORD_CHECK_REQUEST);
    test_put_long(&bytes, INT64_MIN);
    test_put_check_request_tail(&bytes);
    test_expect_decode(CODEC_RECORD_CHECK_REQUEST, bytes.data, bytes.length,
                       CODEC_ERROR_NEGATIVE_LENGTH);
}
END_TEST

START_TEST(test_codec_rejects_string_longer_than_max_even_when_bytes_are_present)
{
    char *too_long = test_utf8_string_of_length(CODEC_MAX_STRING + 1);
    test_bytes *bytes = malloc(sizeof *bytes);
    ck_assert_ptr_nonnull(bytes);
    test_build_check_request(bytes, too_long, CODEC_MAX_STRING + 1);
    test_expect_decode(CODEC_RECORD_CHECK_REQUEST, bytes->data, bytes->length,
                       CODEC_ERROR_OVERSIZED_LENGTH);
    /* One byte less (the same text without its final "a") is exactly CODEC_MAX_STRING: fine. */
    test_build_check_request(bytes, too_long, CODEC_MAX_STRING);
    test_expect_decode(CODEC_RECORD_CHECK_REQUEST, bytes->data, bytes->length, CODEC_OK);
    /* A huge length with no bytes behind it is oversized, not an allocation attempt. */
    bytes->length = 0;
    test_put_header(bytes, CODEC_RECORD_CHECK_REQUEST);
    test_put_long(bytes, INT64_MAX);
    test_expect_decode(CODEC_RECORD_CHECK_REQUEST, bytes->data, bytes->length,
                       CODEC_ERROR_OVERSIZED_LENGTH);
    free(bytes);
    free(too_long);
}
END_TEST

START_TEST(test_codec_rejects_string_length_beyond_the_input_as_truncated)
{
    test_bytes bytes;
    bytes.length = 0;
    test_put_header(&bytes, CODEC_RECORD_CHECK_REQUEST);
    test_put_long(&bytes, 100);
    test_put_raw(&bytes, "abc", 3);
    test_expect_decode(CODEC_RECORD_CHECK_REQUEST, bytes.data, bytes.length, CODEC_ERROR_TRUNCATED);
}
END_TEST

START_TEST(test_codec_rejects_invalid_utf8)
{
    static const struct {
        const char *why;
        const char *bytes;
        size_t length;
    } invalid[] = {
        {"lone continuation byte", "\x80", 1},
        {"overlong NUL (C0 80)", "\xC0\x80", 2},
        {"overlong two-byte (C1 BF)", "\xC1\xBF", 2},
        {"overlong three-byte (E0 9F BF)", "\xE0\x9F\xBF", 3},
        {"overlong four-byte (F0 8F BF BF)", "\xF0\x8F\xBF\xBF", 4},
        {"high surrogate U+D800", "\xED\xA0\x80", 3},
        {"low surrogate U+DFFF", "\xED\xBF\xBF", 3},
        {"above U+10FFFF (F4 90 80 80)", "\xF4\x90\x80\x80", 4},
        {"F5 lead byte", "\xF5\x80\x80\x80", 4},
        {"FF byte", "a\xFF", 2},
        {"truncated three-byte sequence", "\xE2\x82", 2},
        {"bad continuation", "\xE2\x28\xA1", 3},
        {"ASCII where a continuation belongs",
         "\xC3"
         "a",
         2},
    };
    test_bytes bytes;
    for (size_t index = 0; index < TEST_COUNT_OF(invalid); index++) {
        test_build_check_request(&bytes, invalid[index].bytes, invalid[index].length);
        check_request record;
        codec_error error = codec_decode_check_request(bytes.data, bytes.length, &record);
        ck_assert_msg(error == CODEC_ERROR_INVALID_UTF8, "%s: got %s", invalid[index].why,
                      codec_error_name(error));
        ck_assert(test_is_all_zero(&record, sizeof record));
    }
}
END_TEST

START_TEST(test_codec_accepts_utf8_at_every_boundary)
{
    static const struct {
        const char *why;
        const char *bytes;
        size_t length;
    } valid[] = {
        {"U+007F", "\x7F", 1},
        {"U+0080", "\xC2\x80", 2},
        {"U+07FF", "\xDF\xBF", 2},
        {"U+0800", "\xE0\xA0\x80", 3},
        {"U+D7FF", "\xED\x9F\xBF", 3},
        {"U+E000", "\xEE\x80\x80", 3},
        {"U+FFFF", "\xEF\xBF\xBF", 3},
        {"U+10000", "\xF0\x90\x80\x80", 4},
        {"U+10FFFF", "\xF4\x8F\xBF\xBF", 4},
    };
    test_bytes bytes;
    for (size_t index = 0; index < TEST_COUNT_OF(valid); index++) {
        test_build_check_request(&bytes, valid[index].bytes, valid[index].length);
        check_request record;
        codec_error error = codec_decode_check_request(bytes.data, bytes.length, &record);
        ck_assert_msg(error == CODEC_OK, "%s: got %s", valid[index].why, codec_error_name(error));
        ck_assert_uint_eq(strlen(record.workspace_id), valid[index].length);
        ck_assert(memcmp(record.workspace_id, valid[index].bytes, valid[index].length) == 0);
        check_request_free(&record);
    }
}
END_TEST

START_TEST(test_codec_rejects_enum_index_outside_symbols)
{
    test_bytes bytes;
    test_verdict_wire wire = test_valid_verdict_wire;
    const int64_t bad_liveness[] = {3, -1, INT64_MAX};
    for (size_t index = 0; index < TEST_COUNT_OF(bad_liveness); index++) {
        wire.liveness_index = bad_liveness[index];
        test_build_verdict(&bytes, &wire);
        test_expect_decode(CODEC_RECORD_VERDICT, bytes.data, bytes.length,
                           CODEC_ERROR_BAD_ENUM_INDEX);
    }
    test_action_wire action_wire = test_valid_action_wire;
    action_wire.outcome_index = ACTION_OUTCOME_COUNT;
    test_build_action(&bytes, &action_wire);
    test_expect_decode(CODEC_RECORD_ACTION, bytes.data, bytes.length, CODEC_ERROR_BAD_ENUM_INDEX);
    action_wire.outcome_index = ACTION_OUTCOME_COUNT - 1;
    test_build_action(&bytes, &action_wire);
    test_expect_decode(CODEC_RECORD_ACTION, bytes.data, bytes.length, CODEC_OK);
}
END_TEST

START_TEST(test_codec_rejects_union_index_other_than_null_or_value)
{
    test_bytes bytes;
    test_verdict_wire wire = test_valid_verdict_wire;
    wire.cp_state_branch = 2;
    test_build_verdict(&bytes, &wire);
    test_expect_decode(CODEC_RECORD_VERDICT, bytes.data, bytes.length, CODEC_ERROR_BAD_UNION_INDEX);
    wire = test_valid_verdict_wire;
    wire.http_status_branch = -1;
    test_build_verdict(&bytes, &wire);
    test_expect_decode(CODEC_RECORD_VERDICT, bytes.data, bytes.length, CODEC_ERROR_BAD_UNION_INDEX);
    wire = test_valid_verdict_wire;
    wire.reason_branch = 5;
    test_build_verdict(&bytes, &wire);
    test_expect_decode(CODEC_RECORD_VERDICT, bytes.data, bytes.length, CODEC_ERROR_BAD_UNION_INDEX);
    test_action_wire action_wire = test_valid_action_wire;
    action_wire.reason_branch = 2;
    test_build_action(&bytes, &action_wire);
    test_expect_decode(CODEC_RECORD_ACTION, bytes.data, bytes.length, CODEC_ERROR_BAD_UNION_INDEX);
}
END_TEST

START_TEST(test_codec_rejects_int_outside_int32)
{
    test_bytes bytes;
    test_verdict_wire wire = test_valid_verdict_wire;
    wire.http_status = (int64_t)INT32_MAX + 1;
    test_build_verdict(&bytes, &wire);
    test_expect_decode(CODEC_RECORD_VERDICT, bytes.data, bytes.length, CODEC_ERROR_BAD_VALUE);
    wire.http_status = INT32_MAX;
    test_build_verdict(&bytes, &wire);
    test_expect_decode(CODEC_RECORD_VERDICT, bytes.data, bytes.length, CODEC_OK);

    test_action_wire action_wire = test_valid_action_wire;
    action_wire.verdict_partition = (int64_t)INT32_MIN - 1;
    test_build_action(&bytes, &action_wire);
    test_expect_decode(CODEC_RECORD_ACTION, bytes.data, bytes.length, CODEC_ERROR_BAD_VALUE);
    action_wire = test_valid_action_wire;
    action_wire.attempt = INT64_MAX;
    test_build_action(&bytes, &action_wire);
    test_expect_decode(CODEC_RECORD_ACTION, bytes.data, bytes.length, CODEC_ERROR_BAD_VALUE);
}
END_TEST

START_TEST(test_codec_rejects_boolean_byte_other_than_zero_or_one)
{
    test_bytes bytes;
    test_action_wire wire = test_valid_action_wire;
    const uint8_t bad[] = {0x02, 0x80, 0xFF};
    for (size_t index = 0; index < TEST_COUNT_OF(bad); index++) {
        wire.dry_run_byte = bad[index];
        test_build_action(&bytes, &wire);
        test_expect_decode(CODEC_RECORD_ACTION, bytes.data, bytes.length, CODEC_ERROR_BAD_VALUE);
    }
    wire.dry_run_byte = 0;
    test_build_action(&bytes, &wire);
    action decoded;
    test_assert_codec_error(codec_decode_action(bytes.data, bytes.length, &decoded), CODEC_OK);
    ck_assert(!decoded.dry_run);
    action_free(&decoded);
}
END_TEST

START_TEST(test_codec_rejects_empty_workspace_id)
{
    test_bytes bytes;
    test_build_check_request(&bytes, "", 0);
    test_expect_decode(CODEC_RECORD_CHECK_REQUEST, bytes.data, bytes.length, CODEC_ERROR_BAD_VALUE);
    /* Other required strings may be empty (the schemas default some of them to ""). */
    bytes.length = 0;
    test_put_header(&bytes, CODEC_RECORD_CHECK_REQUEST);
    test_put_string(&bytes, "ws-1");
    test_put_string(&bytes, "");
    test_put_string(&bytes, "");
    test_put_long(&bytes, 0);
    test_put_long(&bytes, 0);
    test_put_long(&bytes, 0);
    test_put_string(&bytes, "");
    test_expect_decode(CODEC_RECORD_CHECK_REQUEST, bytes.data, bytes.length, CODEC_OK);
}
END_TEST

START_TEST(test_codec_rejects_nul_inside_a_string)
{
    /* "ws\0evil" would read as "ws" in C: refused rather than silently shortened. */
    test_bytes bytes;
    test_build_check_request(&bytes, "ws\0evil", 7);
    test_expect_decode(CODEC_RECORD_CHECK_REQUEST, bytes.data, bytes.length, CODEC_ERROR_BAD_VALUE);
}
END_TEST

START_TEST(test_codec_reports_internal_error_for_null_record)
{
    test_bytes bytes;
    test_build_check_request(&bytes, "ws-1", 4);
    test_assert_codec_error(codec_decode_check_request(bytes.data, bytes.length, NULL),
                            CODEC_ERROR_INTERNAL);
}
END_TEST

/* ---- randomised mutation ---------------------------------------------------------------- */

/* xorshift64*: deterministic, so a failure reproduces; the seed is printed on failure. */
static uint64_t test_random_next(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * UINT64_C(2685821657736338717);
}

static void test_mutate(test_bytes *bytes, uint64_t *state)
{
    int mutation_count = 1 + (int)(test_random_next(state) % 4);
    for (int count = 0; count < mutation_count && bytes->length > 0; count++) {
        size_t at = test_random_next(state) % bytes->length;
        switch (test_random_next(state) % 5) {
        case 0: /* flip one bit */
            bytes->data[at] ^= (uint8_t)(1u << (test_random_next(state) % 8));
            break;
        case 1: /* replace a byte */
            bytes->data[at] = (uint8_t)test_random_next(state);
            break;
        case 2: /* truncate */
            bytes->length = at;
            break;
        case 3: /* insert a byte */
            if (bytes->length < sizeof bytes->data) {
                memmove(bytes->data + at + 1, bytes->data + at, bytes->length - at);
                bytes->data[at] = (uint8_t)test_random_next(state);
                bytes->length++;
            }
            break;
        default: /* delete a byte */
            memmove(bytes->data + at, bytes->data + at + 1, bytes->length - at - 1);
            bytes->length--;
            break;
        }
    }
}

/* Decodes `bytes` as every type. A rejection must leave the record zeroed; an acceptance must
 * be something the encoder writes back and that decodes to the same record. */
static void test_decode_mutant(const test_bytes *bytes, uint64_t seed, int *accepted, int *rejected)
{
    check_request check;
    codec_error error = codec_decode_check_request(bytes->data, bytes->length, &check);
    ck_assert_msg(error < CODEC_ERROR_INTERNAL, "seed %llu: %s", (unsigned long long)seed,
                  codec_error_name(error));
    if (error == CODEC_OK) {
        uint8_t *out;
        size_t out_length;
        test_assert_codec_error(codec_encode_check_request(&check, &out, &out_length), CODEC_OK);
        check_request again;
        test_assert_codec_error(codec_decode_check_request(out, out_length, &again), CODEC_OK);
        test_assert_check_request_equal(&again, &check);
        check_request_free(&again);
        check_request_free(&check);
        free(out);
        (*accepted)++;
    } else {
        ck_assert(test_is_all_zero(&check, sizeof check));
        (*rejected)++;
    }

    verdict answer;
    error = codec_decode_verdict(bytes->data, bytes->length, &answer);
    ck_assert_msg(error < CODEC_ERROR_INTERNAL, "seed %llu: %s", (unsigned long long)seed,
                  codec_error_name(error));
    if (error == CODEC_OK) {
        uint8_t *out;
        size_t out_length;
        test_assert_codec_error(codec_encode_verdict(&answer, &out, &out_length), CODEC_OK);
        verdict again;
        test_assert_codec_error(codec_decode_verdict(out, out_length, &again), CODEC_OK);
        test_assert_verdict_equal(&again, &answer);
        verdict_free(&again);
        verdict_free(&answer);
        free(out);
        (*accepted)++;
    } else {
        ck_assert(test_is_all_zero(&answer, sizeof answer));
        (*rejected)++;
    }

    action deed;
    error = codec_decode_action(bytes->data, bytes->length, &deed);
    ck_assert_msg(error < CODEC_ERROR_INTERNAL, "seed %llu: %s", (unsigned long long)seed,
                  codec_error_name(error));
    if (error == CODEC_OK) {
        uint8_t *out;
        size_t out_length;
        test_assert_codec_error(codec_encode_action(&deed, &out, &out_length), CODEC_OK);
        action again;
        test_assert_codec_error(codec_decode_action(out, out_length, &again), CODEC_OK);
        test_assert_action_equal(&again, &deed);
        action_free(&again);
        action_free(&deed);
        free(out);
        (*accepted)++;
    } else {
        ck_assert(test_is_all_zero(&deed, sizeof deed));
        (*rejected)++;
    }
}

START_TEST(test_codec_survives_random_mutations_of_valid_messages)
{
    test_bytes originals[4];
    test_build_check_request(&originals[0], "ws-\xC3\xA9", 5);
    test_build_verdict(&originals[1], &test_valid_verdict_wire);
    test_verdict_wire nulls = {0, 0, 0, 0, 0};
    test_build_verdict(&originals[2], &nulls);
    test_build_action(&originals[3], &test_valid_action_wire);
    int accepted = 0;
    int rejected = 0;
    test_bytes *mutant = malloc(sizeof *mutant);
    ck_assert_ptr_nonnull(mutant);
    for (uint64_t seed = 1; seed <= 20000; seed++) {
        uint64_t state = seed * UINT64_C(0x9E3779B97F4A7C15);
        const test_bytes *original = &originals[seed % TEST_COUNT_OF(originals)];
        mutant->length = original->length;
        memcpy(mutant->data, original->data, original->length);
        test_mutate(mutant, &state);
        test_decode_mutant(mutant, seed, &accepted, &rejected);
    }
    free(mutant);
    /* Both outcomes must occur, or the loop tested nothing (e.g. a decoder rejecting all). */
    ck_assert_int_gt(accepted, 100);
    ck_assert_int_gt(rejected, 100);
}
END_TEST

static Suite *test_codec_suite(void)
{
    Suite *suite = suite_create("codec");

    TCase *names = tcase_create("names");
    tcase_add_test(names, test_codec_error_names_are_stable_snake_case);
    tcase_add_test(names, test_codec_enum_names_match_avro_symbols);
    suite_add_tcase(suite, names);

    TCase *schema = tcase_create("schema");
    tcase_add_checked_fixture(schema, test_setup, test_teardown);
    tcase_add_test(schema, test_codec_crc64_of_empty_input_is_the_spec_empty_constant);
    tcase_add_test(schema, test_codec_crc64_matches_avro_spec_vector_for_int);
    tcase_add_test(schema, test_codec_crc64_matches_fastavro_for_primitive_schemas);
    tcase_add_test(schema, test_codec_canonical_form_simplifies_primitive_objects);
    tcase_add_test(schema, test_codec_canonical_form_orders_attributes_and_strips_whitespace);
    tcase_add_test(schema,
                   test_codec_canonical_form_qualifies_names_and_strips_non_parsing_attributes);
    tcase_add_test(schema, test_codec_canonical_form_rejects_invalid_schemas);
    tcase_add_test(schema, test_codec_fingerprint_is_crc64_of_canonical_form_not_raw_text);
    tcase_add_test(schema, test_codec_init_is_idempotent_and_shutdown_forgets_fingerprints);
    tcase_add_test(schema, test_codec_refuses_to_encode_or_decode_before_init);
    tcase_add_test(schema, test_codec_layout_check_accepts_the_embedded_schemas);
    tcase_add_test(schema, test_codec_layout_check_rejects_reordered_fields);
    tcase_add_test(schema, test_codec_layout_check_rejects_changed_field_type);
    tcase_add_test(schema, test_codec_layout_check_rejects_missing_or_extra_fields);
    tcase_add_test(schema, test_codec_layout_check_rejects_changed_enum_symbols);
    tcase_add_test(schema, test_codec_layout_check_rejects_renamed_record);
    tcase_add_test(schema, test_codec_layout_check_rejects_changed_logical_type);
    tcase_add_test(schema, test_codec_layout_check_rejects_reordered_union);
    tcase_add_test(schema, test_codec_layout_check_rejects_invalid_schema_text);
    suite_add_tcase(suite, schema);

    TCase *encoding = tcase_create("encoding");
    tcase_add_checked_fixture(encoding, test_setup, test_teardown);
    tcase_add_test(encoding, test_codec_encodes_datum_bytes_like_fastavro);
    tcase_add_test(encoding, test_codec_writes_magic_and_little_endian_fingerprint_header);
    tcase_add_test(encoding,
                   test_codec_round_trips_check_request_with_unicode_and_max_length_strings);
    tcase_add_test(encoding, test_codec_round_trips_verdict_with_nulls_and_with_values);
    tcase_add_test(encoding, test_codec_round_trips_every_action_outcome);
    tcase_add_test(encoding, test_codec_encoder_rejects_what_the_decoder_would_reject);
    suite_add_tcase(suite, encoding);

    TCase *rejections = tcase_create("rejections");
    tcase_add_checked_fixture(rejections, test_setup, test_teardown);
    tcase_add_test(rejections, test_codec_rejects_input_shorter_than_the_header);
    tcase_add_test(rejections, test_codec_rejects_bad_magic);
    tcase_add_test(rejections, test_codec_rejects_unknown_fingerprint);
    tcase_add_test(rejections, test_codec_rejects_another_record_types_fingerprint);
    tcase_add_test(rejections, test_codec_rejects_every_truncation_of_a_valid_message);
    tcase_add_test(rejections, test_codec_rejects_trailing_bytes);
    tcase_add_test(rejections, test_codec_rejects_varint_longer_than_ten_bytes);
    tcase_add_test(rejections, test_codec_rejects_varint_overflowing_64_bits);
    tcase_add_test(rejections, test_codec_rejects_negative_string_length);
    tcase_add_test(rejections,
                   test_codec_rejects_string_longer_than_max_even_when_bytes_are_present);
    tcase_add_test(rejections, test_codec_rejects_string_length_beyond_the_input_as_truncated);
    tcase_add_test(rejections, test_codec_rejects_invalid_utf8);
    tcase_add_test(rejections, test_codec_accepts_utf8_at_every_boundary);
    tcase_add_test(rejections, test_codec_rejects_enum_index_outside_symbols);
    tcase_add_test(rejections, test_codec_rejects_union_index_other_than_null_or_value);
    tcase_add_test(rejections, test_codec_rejects_int_outside_int32);
    tcase_add_test(rejections, test_codec_rejects_boolean_byte_other_than_zero_or_one);
    tcase_add_test(rejections, test_codec_rejects_empty_workspace_id);
    tcase_add_test(rejections, test_codec_rejects_nul_inside_a_string);
    tcase_add_test(rejections, test_codec_reports_internal_error_for_null_record);
    suite_add_tcase(suite, rejections);

    TCase *mutation = tcase_create("mutation");
    tcase_add_checked_fixture(mutation, test_setup, test_teardown);
    tcase_add_test(mutation, test_codec_survives_random_mutations_of_valid_messages);
    suite_add_tcase(suite, mutation);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(test_codec_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
