/* test_codec_versions.c — schema versions and Avro schema resolution in the codec
 * (common/codec_resolve.c, docs/schemas.md).
 *
 * What is proved here: a record written with the test-only version 2 (tests/schemas/v2: one
 * optional field more in Verdict and CheckRequest) decodes, whether the new field is null or
 * set; a reader that has not learned version 2 refuses it by fingerprint (the reason readers
 * must learn a version before writers use it); a writer version that drops a field, renames
 * nothing, adds an enum symbol and writes an int where we read a long resolves with the reader
 * schema's defaults; versions that cannot resolve, conflict with the history, or are not known
 * are refused at codec_init with the process not started. */
#include "codec.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char test_v2_dir[4096];

static const verdict test_verdict = {
    .workspace_id = "ws-1",
    .instance_id = "i-1",
    .sweep_id = "sweep-1",
    .sweep_size = 10,
    .liveness = LIVENESS_NOT_RUNNING,
    .cp_state = "terminated",
    .has_http_status = true,
    .http_status = 200,
    .reason = NULL,
    .checked_at = 1700000000123,
    .latency_ms = 12,
    .checker_id = "checker-a",
    .enqueued_at = 1700000000000,
};

static void test_setup(void)
{
    const char *source = getenv("RECONCILER_SOURCE_DIR");
    ck_assert_ptr_nonnull(source);
    snprintf(test_v2_dir, sizeof test_v2_dir, "%s/tests/schemas/v2", source);
}

static void test_assert_verdicts_equal(const verdict *left, const verdict *right)
{
    ck_assert_str_eq(left->workspace_id, right->workspace_id);
    ck_assert_str_eq(left->instance_id, right->instance_id);
    ck_assert_int_eq(left->liveness, right->liveness);
    ck_assert_str_eq(left->cp_state, right->cp_state);
    ck_assert_int_eq(left->has_http_status, right->has_http_status);
    ck_assert_int_eq(left->http_status, right->http_status);
    ck_assert_ptr_null(right->reason);
    ck_assert_int_eq(left->checked_at, right->checked_at);
    ck_assert_str_eq(left->checker_id, right->checker_id);
    ck_assert_int_eq(left->enqueued_at, right->enqueued_at);
}

/* A directory holding one schema file, <dir>/Verdict/v<N>.avsc. */
static void test_write_schema_dir(char *dir, size_t size, int version, const char *json)
{
    snprintf(dir, size, "/tmp/test_codec_versions.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[4200];
    snprintf(path, sizeof path, "%s/Verdict", dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/Verdict/v%d.avsc", dir, version);
    FILE *file = fopen(path, "w");
    ck_assert_ptr_nonnull(file);
    fputs(json, file);
    fclose(file);
}

static void test_remove_schema_dir(const char *dir, int version)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/Verdict/v%d.avsc", dir, version);
    remove(path);
    snprintf(path, sizeof path, "%s/Verdict", dir);
    remove(path);
    remove(dir);
}

START_TEST(test_v2_round_trip_and_v1_reader_refuses)
{
    codec_options options = {test_v2_dir, "Verdict=2,CheckRequest=2"};
    ck_assert(codec_init_with(&options));
    ck_assert_int_eq(codec_write_version(CODEC_RECORD_VERDICT), 2);
    ck_assert_int_eq(codec_write_version(CODEC_RECORD_CHECK_REQUEST), 2);
    ck_assert_int_eq(codec_write_version(CODEC_RECORD_ACTION), 1);
    uint8_t *v2 = NULL;
    size_t v2_length = 0;
    ck_assert_int_eq(codec_encode_verdict(&test_verdict, &v2, &v2_length), CODEC_OK);
    ck_assert_int_eq(codec_peek_version(v2, v2_length), 2);
    verdict decoded;
    ck_assert_int_eq(codec_decode_verdict(v2, v2_length, &decoded), CODEC_OK);
    test_assert_verdicts_equal(&test_verdict, &decoded);
    verdict_free(&decoded);
    codec_shutdown();

    /* Version 1 writes the same datum without the trailing null union index of "region". */
    ck_assert(codec_init());
    uint8_t *v1 = NULL;
    size_t v1_length = 0;
    ck_assert_int_eq(codec_encode_verdict(&test_verdict, &v1, &v1_length), CODEC_OK);
    ck_assert_uint_eq(v2_length, v1_length + 1);
    ck_assert_int_eq(memcmp(v1 + 10, v2 + 10, v1_length - 10), 0);
    ck_assert_int_eq(v2[v2_length - 1], 0x00);
    ck_assert_int_eq(codec_decode_verdict(v2, v2_length, &decoded),
                     CODEC_ERROR_UNKNOWN_FINGERPRINT);
    codec_shutdown();

    /* A reader that learned version 2 but writes version 1 reads both; "region" set to a
     * string (branch 1, "eu") is stepped over. */
    codec_options learned = {test_v2_dir, NULL};
    ck_assert(codec_init_with(&learned));
    ck_assert_int_eq(codec_write_version(CODEC_RECORD_VERDICT), 1);
    ck_assert_int_eq(codec_decode_verdict(v1, v1_length, &decoded), CODEC_OK);
    verdict_free(&decoded);
    uint8_t *with_region = malloc(v2_length + 3);
    memcpy(with_region, v2, v2_length - 1);
    memcpy(with_region + v2_length - 1,
           "\x02\x04"
           "eu",
           4);
    ck_assert_int_eq(codec_decode_verdict(with_region, v2_length + 3, &decoded), CODEC_OK);
    test_assert_verdicts_equal(&test_verdict, &decoded);
    verdict_free(&decoded);
    /* The skipped string is bounds-checked like a kept one. */
    ck_assert_int_eq(codec_decode_verdict(with_region, v2_length + 2, &decoded),
                     CODEC_ERROR_TRUNCATED);
    with_region[v2_length - 1] = 0x04; /* union branch 2 of a 2-branch union */
    ck_assert_int_eq(codec_decode_verdict(with_region, v2_length + 3, &decoded),
                     CODEC_ERROR_BAD_UNION_INDEX);
    free(with_region);
    free(v1);
    free(v2);
    codec_shutdown();
}
END_TEST

/* An older writer: no enqueued_at (reader default 0), latency_ms an int (promoted to long),
 * a Liveness symbol the reader lacks (the reader enum's default, UNKNOWN), an extra record
 * field the reader never had (skipped). */
static const char *const test_old_verdict_schema =
    "{\"type\":\"record\",\"name\":\"Verdict\",\"namespace\":\"reconciler.v1\",\"fields\":["
    "{\"name\":\"workspace_id\",\"type\":\"string\"},"
    "{\"name\":\"extra\",\"type\":{\"type\":\"record\",\"name\":\"Extra\",\"fields\":["
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}},"
    "{\"name\":\"weights\",\"type\":{\"type\":\"map\",\"values\":\"double\"}}]}},"
    "{\"name\":\"instance_id\",\"type\":\"string\"},"
    "{\"name\":\"sweep_id\",\"type\":\"string\"},"
    "{\"name\":\"sweep_size\",\"type\":\"long\"},"
    "{\"name\":\"liveness\",\"type\":{\"type\":\"enum\",\"name\":\"Liveness\",\"symbols\":"
    "[\"UNKNOWN\",\"RUNNING\",\"NOT_RUNNING\",\"STARTING\"]}},"
    "{\"name\":\"cp_state\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"http_status\",\"type\":[\"null\",\"int\"],\"default\":null},"
    "{\"name\":\"reason\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"checked_at\",\"type\":\"long\"},"
    "{\"name\":\"latency_ms\",\"type\":\"int\"},"
    "{\"name\":\"checker_id\",\"type\":\"string\"}]}";

static size_t test_put_long(uint8_t *out, int64_t value)
{
    uint64_t zigzag = value >= 0 ? (uint64_t)value * 2 : ((uint64_t)(-(value + 1)) * 2) + 1;
    size_t count = 0;
    do {
        uint8_t byte = zigzag & 0x7F;
        zigzag >>= 7;
        out[count++] = zigzag ? (byte | 0x80) : byte;
    } while (zigzag);
    return count;
}

static size_t test_put_string(uint8_t *out, const char *text)
{
    size_t count = test_put_long(out, (int64_t)strlen(text));
    memcpy(out + count, text, strlen(text));
    return count + strlen(text);
}

START_TEST(test_older_writer_resolves_with_defaults)
{
    char dir[64];
    test_write_schema_dir(dir, sizeof dir, 7, test_old_verdict_schema);
    codec_options writing = {dir, "Verdict=7"};
    ck_assert(!codec_init_with(&writing)); /* "extra" has no default: readable, not writable */
    codec_options options = {dir, NULL};
    ck_assert(codec_init_with(&options));

    /* A version-7 record built by hand; its fingerprint is the CRC-64-AVRO of its PCF. */
    uint8_t body[256];
    size_t length = 0;
    length += test_put_string(body + length, "ws-1");
    length += test_put_long(body + length, 2); /* tags: one block of 2 */
    length += test_put_string(body + length, "a");
    length += test_put_string(body + length, "b");
    length += test_put_long(body + length, 0);
    length += test_put_long(body + length, -1); /* weights: a block of 1, with its size */
    length += test_put_long(body + length, 10);
    length += test_put_string(body + length, "k");
    memset(body + length, 0, 8); /* double 0.0 */
    length += 8;
    length += test_put_long(body + length, 0);
    length += test_put_string(body + length, "i-1");
    length += test_put_string(body + length, "sweep-1");
    length += test_put_long(body + length, 10);
    length += test_put_long(body + length, 3); /* STARTING */
    length += test_put_long(body + length, 0); /* cp_state null */
    length += test_put_long(body + length, 0); /* http_status null */
    length += test_put_long(body + length, 0); /* reason null */
    length += test_put_long(body + length, 1700000000123);
    length += test_put_long(body + length, 12); /* an int on the wire */
    length += test_put_string(body + length, "checker-a");

    char *canonical = codec_parsing_canonical_form(test_old_verdict_schema);
    ck_assert_ptr_nonnull(canonical);
    uint64_t fingerprint = codec_crc64_avro(canonical, strlen(canonical));
    free(canonical);
    uint8_t message[300] = {0xC3, 0x01};
    for (int index = 0; index < 8; index++) {
        message[2 + index] = (uint8_t)(fingerprint >> (8 * index));
    }
    memcpy(message + 10, body, length);
    ck_assert_int_eq(codec_peek_version(message, length + 10), 7);
    verdict decoded;
    ck_assert_int_eq(codec_decode_verdict(message, length + 10, &decoded), CODEC_OK);
    ck_assert_str_eq(decoded.workspace_id, "ws-1");
    ck_assert_str_eq(decoded.instance_id, "i-1");
    ck_assert_int_eq(decoded.liveness, LIVENESS_UNKNOWN); /* STARTING: the reader's default */
    ck_assert_ptr_null(decoded.cp_state);
    ck_assert(!decoded.has_http_status);
    ck_assert_int_eq(decoded.latency_ms, 12);
    ck_assert_int_eq(decoded.enqueued_at, 0); /* the reader schema's default */
    ck_assert_str_eq(decoded.checker_id, "checker-a");
    verdict_free(&decoded);
    /* A cut anywhere is an error, never a crash or a partial record. */
    for (size_t cut = 10; cut < length + 10; cut++) {
        ck_assert_int_ne(codec_decode_verdict(message, cut, &decoded), CODEC_OK);
        ck_assert_ptr_null(decoded.workspace_id);
    }
    codec_shutdown();
    test_remove_schema_dir(dir, 7);
}
END_TEST

START_TEST(test_unresolvable_versions_refused)
{
    char dir[64];
    /* No checked_at, which the reader schema gives no default. */
    test_write_schema_dir(dir, sizeof dir, 5,
                          "{\"type\":\"record\",\"name\":\"Verdict\",\"namespace\":"
                          "\"reconciler.v1\",\"fields\":[{\"name\":\"workspace_id\",\"type\":"
                          "\"string\"}]}");
    codec_options options = {dir, NULL};
    ck_assert(!codec_init_with(&options));
    test_remove_schema_dir(dir, 5);

    /* A different schema under a released version number. */
    test_write_schema_dir(dir, sizeof dir, 1, test_old_verdict_schema);
    options.schema_dir = dir;
    ck_assert(!codec_init_with(&options));
    test_remove_schema_dir(dir, 1);

    /* Versions nobody knows, and a malformed list. */
    codec_options unknown = {NULL, "Verdict=2"};
    ck_assert(!codec_init_with(&unknown));
    codec_options malformed = {NULL, "Verdict"};
    ck_assert(!codec_init_with(&malformed));
    codec_options no_such_record = {test_v2_dir, "Nothing=2"};
    ck_assert(!codec_init_with(&no_such_record));
    codec_options version_one = {NULL, "Verdict=1, Action=1"};
    ck_assert(codec_init_with(&version_one));
    codec_shutdown();
}
END_TEST

/* A registry stand-in: id 7 is version 2 of Verdict, id 8 is "the registry is down", id 9
 * does not exist, id 10 is not one of our records. Counts the lookups. */
static int test_fetches;

static char *test_fetch(void *context, uint32_t schema_id, bool *unavailable)
{
    (void)context;
    test_fetches++;
    *unavailable = schema_id == 8;
    if (schema_id == 7) {
        char path[4200];
        snprintf(path, sizeof path, "%s/Verdict/v2.avsc", test_v2_dir);
        FILE *file = fopen(path, "r");
        char *text = calloc(1, 8192);
        size_t length = file && text ? fread(text, 1, 8191, file) : 0;
        if (file) {
            fclose(file);
        }
        return length > 0 ? text : (free(text), NULL);
    }
    if (schema_id == 10) {
        return strdup("{\"type\":\"record\",\"name\":\"Other\",\"fields\":[]}");
    }
    return NULL;
}

START_TEST(test_confluent_framing_with_a_registry)
{
    ck_assert(codec_init());
    codec_set_registry(test_fetch, NULL, NULL);
    test_fetches = 0;
    uint8_t *single_object = NULL;
    size_t single_object_length = 0;
    ck_assert_int_eq(codec_encode_verdict(&test_verdict, &single_object, &single_object_length),
                     CODEC_OK);
    /* The same datum behind 00 + id 7 (version 2 adds a null "region": one more byte). */
    size_t length = single_object_length - 10 + 5 + 1;
    uint8_t *confluent = malloc(length);
    memcpy(confluent, "\x00\x00\x00\x00\x07", 5);
    memcpy(confluent + 5, single_object + 10, single_object_length - 10);
    confluent[length - 1] = 0x00;
    verdict decoded;
    for (int round = 0; round < 3; round++) {
        ck_assert_int_eq(codec_decode_verdict(confluent, length, &decoded), CODEC_OK);
        test_assert_verdicts_equal(&test_verdict, &decoded);
        verdict_free(&decoded);
    }
    ck_assert_int_eq(test_fetches, 1); /* fetched once, then cached */
    ck_assert_int_eq(codec_decode_verdict(single_object, single_object_length, &decoded),
                     CODEC_OK); /* both framings */
    verdict_free(&decoded);

    confluent[4] = 8; /* the registry is down: not cached, asked again next time */
    ck_assert_int_eq(codec_decode_verdict(confluent, length, &decoded),
                     CODEC_ERROR_SCHEMA_UNAVAILABLE);
    ck_assert_int_eq(codec_decode_verdict(confluent, length, &decoded),
                     CODEC_ERROR_SCHEMA_UNAVAILABLE);
    ck_assert_int_eq(test_fetches, 3);
    confluent[4] = 9; /* no such id: cached as unknown */
    ck_assert_int_eq(codec_decode_verdict(confluent, length, &decoded),
                     CODEC_ERROR_UNKNOWN_FINGERPRINT);
    ck_assert_int_eq(codec_decode_verdict(confluent, length, &decoded),
                     CODEC_ERROR_UNKNOWN_FINGERPRINT);
    ck_assert_int_eq(test_fetches, 4);
    confluent[4] = 10; /* a record that is not ours */
    ck_assert_int_eq(codec_decode_verdict(confluent, length, &decoded),
                     CODEC_ERROR_UNKNOWN_FINGERPRINT);
    ck_assert_int_eq(codec_decode_verdict(confluent, 4, &decoded), CODEC_ERROR_TOO_SHORT);

    /* Writing the Confluent framing: 00 + the id, then the same datum. */
    codec_set_confluent_id(CODEC_RECORD_VERDICT, 0x01020304);
    uint8_t *written = NULL;
    size_t written_length = 0;
    ck_assert_int_eq(codec_encode_verdict(&test_verdict, &written, &written_length), CODEC_OK);
    ck_assert_uint_eq(written_length, single_object_length - 5);
    ck_assert_int_eq(memcmp(written, "\x00\x01\x02\x03\x04", 5), 0);
    ck_assert_int_eq(memcmp(written + 5, single_object + 10, written_length - 5), 0);
    ck_assert_ptr_nonnull(strstr(codec_write_schema_json(CODEC_RECORD_VERDICT), "\"Verdict\""));
    free(written);
    free(confluent);
    free(single_object);
    codec_shutdown();
}
END_TEST

/* The default write version is the newest one the previous release reads (docs/schemas.md,
 * "Upgrade order"): the first version of a record is written as is; with 1..2 known and 2
 * built in, 1 unless SCHEMA_WRITE_VERSIONS says 2; a version not known is an error. */
START_TEST(test_write_version_selection)
{
    static const int first_only[] = {1};
    static const int one_and_two[] = {1, 2};
    static const int one_to_three[] = {3, 1, 2};
    static const struct {
        const int *known;
        size_t known_count;
        int built_in, explicit_version;
        codec_write_choice expected;
        int expected_version; /* 7: *chosen left alone */
    } cases[] = {
        {first_only, 1, 1, 0, CODEC_WRITE_DEFAULT_FIRST_VERSION, 1},
        {one_and_two, 2, 2, 0, CODEC_WRITE_DEFAULT_PREVIOUS, 1},
        {one_and_two, 2, 2, 2, CODEC_WRITE_EXPLICIT, 2},
        {one_and_two, 2, 2, 1, CODEC_WRITE_EXPLICIT, 1},
        /* An older release that learned a newer version (SCHEMA_DIR) still writes its own. */
        {one_and_two, 2, 1, 0, CODEC_WRITE_DEFAULT_FIRST_VERSION, 1},
        {one_to_three, 3, 3, 0, CODEC_WRITE_DEFAULT_PREVIOUS, 2},
        {one_and_two, 2, 2, 3, CODEC_WRITE_UNKNOWN_VERSION, 7},
        {first_only, 1, 1, 2, CODEC_WRITE_UNKNOWN_VERSION, 7},
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        int chosen = 7;
        ck_assert_int_eq(codec_select_write_version(cases[index].known, cases[index].known_count,
                                                    cases[index].built_in,
                                                    cases[index].explicit_version, &chosen),
                         cases[index].expected);
        ck_assert_int_eq(chosen, cases[index].expected_version);
    }
    ck_assert_str_eq(codec_write_choice_name(CODEC_WRITE_DEFAULT_PREVIOUS), "default-previous");
    ck_assert_str_eq(codec_write_choice_name(CODEC_WRITE_EXPLICIT), "explicit");
    ck_assert_str_eq(codec_write_choice_name(CODEC_WRITE_UNKNOWN_VERSION), "unknown-version");

    /* codec_init applies it: with today's history (version 1 of everything) the reason is
     * "first version"; an explicit version is named as such; an unknown one stops the start. */
    codec_options explicit_v2 = {test_v2_dir, "Verdict=2"};
    ck_assert(codec_init_with(&explicit_v2));
    ck_assert_int_eq(codec_write_reason(CODEC_RECORD_VERDICT), CODEC_WRITE_EXPLICIT);
    ck_assert_int_eq(codec_write_reason(CODEC_RECORD_ACTION), CODEC_WRITE_DEFAULT_FIRST_VERSION);
    ck_assert_str_eq(codec_record_name(CODEC_RECORD_CHECK_REQUEST), "CheckRequest");
    codec_shutdown();
    codec_options unknown = {NULL, "Verdict=2"};
    ck_assert(!codec_init_with(&unknown));
    ck_assert_int_eq(codec_write_version(CODEC_RECORD_VERDICT), 0);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("codec_versions");
    TCase *tcase = tcase_create("versions");
    tcase_add_checked_fixture(tcase, test_setup, NULL);
    tcase_add_test(tcase, test_v2_round_trip_and_v1_reader_refuses);
    tcase_add_test(tcase, test_older_writer_resolves_with_defaults);
    tcase_add_test(tcase, test_unresolvable_versions_refused);
    tcase_add_test(tcase, test_confluent_framing_with_a_registry);
    tcase_add_test(tcase, test_write_version_selection);
    suite_add_tcase(suite, tcase);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
