/* Unit tests of reconciler-audit's Avro object container writer (--format avro), read back
 * with avro-c's own container reader: an independent implementation must accept the header,
 * the blocks and the AuditRecord schema, and find every value where it was written. */
#include <avro.h>
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_avro_file.h"
#include "codec.h"

static const uint8_t sync_marker[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static char *temporary_path(void)
{
    char *path = strdup("/tmp/test_audit_avro_file.XXXXXX");
    int descriptor = mkstemp(path);
    ck_assert_int_ge(descriptor, 0);
    close(descriptor);
    return path;
}

static verdict sample_verdict(void)
{
    verdict record;
    memset(&record, 0, sizeof record);
    record.workspace_id = "8d3f5a2e-1c4b-4e8f-9a7d-2b6c0e1f3a45";
    record.instance_id = "i-0123456789abcdef0";
    record.sweep_id = "sweep-1";
    record.sweep_size = 1200;
    record.liveness = LIVENESS_NOT_RUNNING;
    record.cp_state = "terminated";
    record.has_http_status = true;
    record.http_status = 200;
    record.checked_at = 1795749120000LL;
    record.latency_ms = 87;
    record.checker_id = "checker-2";
    record.enqueued_at = 1795749119000LL;
    return record;
}

static action sample_action(void)
{
    action record;
    memset(&record, 0, sizeof record);
    record.workspace_id = "8d3f5a2e-1c4b-4e8f-9a7d-2b6c0e1f3a45";
    record.instance_id = "i-0123456789abcdef0";
    record.verdict_topic = "reconciler.verdicts";
    record.verdict_partition = 4;
    record.verdict_offset = 120;
    record.outcome = ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED;
    record.reason = "flipped: row offline, restart queued";
    record.acted_at = 1795749121000LL;
    record.sweep_id = "sweep-1";
    record.actuator_id = "actuator-1";
    return record;
}

static const char *string_field(avro_value_t *record, const char *name)
{
    avro_value_t field;
    ck_assert_int_eq(avro_value_get_by_name(record, name, &field, NULL), 0);
    const char *text = NULL;
    size_t size = 0;
    ck_assert_int_eq(avro_value_get_string(&field, &text, &size), 0);
    return text;
}

static int64_t long_field(avro_value_t *record, const char *name)
{
    avro_value_t field;
    ck_assert_int_eq(avro_value_get_by_name(record, name, &field, NULL), 0);
    int64_t value = 0;
    ck_assert_int_eq(avro_value_get_long(&field, &value), 0);
    return value;
}

static int32_t int_field(avro_value_t *record, const char *name)
{
    avro_value_t field;
    ck_assert_int_eq(avro_value_get_by_name(record, name, &field, NULL), 0);
    int32_t value = 0;
    ck_assert_int_eq(avro_value_get_int(&field, &value), 0);
    return value;
}

/* The branch of a union field, and its index. */
static int union_field(avro_value_t *record, const char *name, avro_value_t *branch)
{
    avro_value_t field;
    ck_assert_int_eq(avro_value_get_by_name(record, name, &field, NULL), 0);
    int discriminant = -1;
    ck_assert_int_eq(avro_value_get_discriminant(&field, &discriminant), 0);
    ck_assert_int_eq(avro_value_get_current_branch(&field, branch), 0);
    return discriminant;
}

START_TEST(test_audit_avro_file_is_read_back_by_avro_c_with_every_value)
{
    ck_assert(codec_init());
    char *path = temporary_path();
    FILE *out = fopen(path, "wb");
    char error[256];
    audit_avro_file *file = audit_avro_file_open(out, sync_marker, error, sizeof error);
    ck_assert_msg(file != NULL, "%s", error);

    verdict record_verdict = sample_verdict();
    uint8_t *bytes = NULL;
    size_t length = 0;
    ck_assert_int_eq(codec_encode_verdict(&record_verdict, &bytes, &length), CODEC_OK);
    audit_position verdict_position = {4, 120, 1795749120500LL,
                                       "8d3f5a2e-1c4b-4e8f-9a7d-2b6c0e1f3a45"};
    ck_assert(audit_avro_file_append(file, "reconciler.verdicts", &verdict_position,
                                     CODEC_RECORD_VERDICT, bytes, length));
    free(bytes);

    action record_action = sample_action();
    ck_assert_int_eq(codec_encode_action(&record_action, &bytes, &length), CODEC_OK);
    audit_position action_position = {7, 45, 1795749121500LL, NULL};
    ck_assert(audit_avro_file_append(file, "reconciler.actions", &action_position,
                                     CODEC_RECORD_ACTION, bytes, length));
    free(bytes);

    audit_position bad_position = {2, 9, -1, "k"};
    ck_assert(audit_avro_file_append_undecodable(file, "reconciler.verdicts", &bad_position,
                                                 "bad_magic", "\x00\xff", 2));
    ck_assert(audit_avro_file_close(file));
    fclose(out);

    avro_file_reader_t reader;
    ck_assert_int_eq(avro_file_reader(path, &reader), 0);
    avro_schema_t schema = avro_file_reader_get_writer_schema(reader);
    ck_assert_str_eq(avro_schema_name(schema), "AuditRecord");
    avro_value_iface_t *interface = avro_generic_class_from_schema(schema);
    avro_value_t value, branch;
    ck_assert_int_eq(avro_generic_value_new(interface, &value), 0);

    ck_assert_int_eq(avro_file_reader_read_value(reader, &value), 0);
    ck_assert_str_eq(string_field(&value, "topic"), "reconciler.verdicts");
    ck_assert_int_eq(int_field(&value, "partition"), 4);
    ck_assert_int_eq(long_field(&value, "offset"), 120);
    ck_assert_int_eq(long_field(&value, "timestamp"), 1795749120500LL);
    ck_assert_int_eq(union_field(&value, "key", &branch), 1);
    ck_assert_int_eq(union_field(&value, "value", &branch), 0); /* Verdict */
    ck_assert_str_eq(string_field(&branch, "workspace_id"), "8d3f5a2e-1c4b-4e8f-9a7d-2b6c0e1f3a45");
    ck_assert_int_eq(long_field(&branch, "sweep_size"), 1200);
    ck_assert_int_eq(long_field(&branch, "checked_at"), 1795749120000LL);
    ck_assert_str_eq(string_field(&branch, "checker_id"), "checker-2");
    avro_value_t liveness_value;
    ck_assert_int_eq(avro_value_get_by_name(&branch, "liveness", &liveness_value, NULL), 0);
    int symbol = -1;
    ck_assert_int_eq(avro_value_get_enum(&liveness_value, &symbol), 0);
    ck_assert_int_eq(symbol, LIVENESS_NOT_RUNNING);
    avro_value_t http_status;
    ck_assert_int_eq(union_field(&branch, "http_status", &http_status), 1);
    int32_t status = 0;
    ck_assert_int_eq(avro_value_get_int(&http_status, &status), 0);
    ck_assert_int_eq(status, 200);

    ck_assert_int_eq(avro_file_reader_read_value(reader, &value), 0);
    ck_assert_str_eq(string_field(&value, "topic"), "reconciler.actions");
    ck_assert_int_eq(union_field(&value, "key", &branch), 0);   /* null */
    ck_assert_int_eq(union_field(&value, "value", &branch), 1); /* Action */
    ck_assert_int_eq(long_field(&branch, "verdict_offset"), 120);
    ck_assert_int_eq(int_field(&branch, "verdict_partition"), 4);
    ck_assert_str_eq(string_field(&branch, "actuator_id"), "actuator-1");

    ck_assert_int_eq(avro_file_reader_read_value(reader, &value), 0);
    ck_assert_int_eq(long_field(&value, "timestamp"), -1);
    ck_assert_int_eq(union_field(&value, "value", &branch), 2); /* Undecodable */
    ck_assert_str_eq(string_field(&branch, "error"), "bad_magic");
    avro_value_t raw;
    ck_assert_int_eq(avro_value_get_by_name(&branch, "raw", &raw, NULL), 0);
    const void *raw_bytes = NULL;
    size_t raw_length = 0;
    ck_assert_int_eq(avro_value_get_bytes(&raw, &raw_bytes, &raw_length), 0);
    ck_assert_uint_eq(raw_length, 2);
    ck_assert_int_eq(memcmp(raw_bytes, "\x00\xff", 2), 0);

    ck_assert_int_ne(avro_file_reader_read_value(reader, &value), 0); /* end of file */

    avro_value_decref(&value);
    avro_value_iface_decref(interface);
    avro_schema_decref(schema);
    avro_file_reader_close(reader);
    unlink(path);
    free(path);
}
END_TEST

START_TEST(test_audit_avro_file_spans_several_blocks)
{
    ck_assert(codec_init());
    char *path = temporary_path();
    FILE *out = fopen(path, "wb");
    char error[256];
    audit_avro_file *file = audit_avro_file_open(out, sync_marker, error, sizeof error);
    verdict record = sample_verdict();
    uint8_t *bytes = NULL;
    size_t length = 0;
    ck_assert_int_eq(codec_encode_verdict(&record, &bytes, &length), CODEC_OK);
    const int records = 5000; /* ~150 bytes each: several 64 KiB blocks */
    for (int index = 0; index < records; index++) {
        audit_position position = {index % 12, index, 1, NULL};
        ck_assert(
            audit_avro_file_append(file, "t", &position, CODEC_RECORD_VERDICT, bytes, length));
    }
    free(bytes);
    ck_assert(audit_avro_file_close(file));
    fclose(out);

    avro_file_reader_t reader;
    ck_assert_int_eq(avro_file_reader(path, &reader), 0);
    avro_schema_t schema = avro_file_reader_get_writer_schema(reader);
    avro_value_iface_t *interface = avro_generic_class_from_schema(schema);
    avro_value_t value;
    avro_generic_value_new(interface, &value);
    int read = 0;
    while (avro_file_reader_read_value(reader, &value) == 0) {
        ck_assert_int_eq(long_field(&value, "offset"), read);
        read++;
    }
    ck_assert_int_eq(read, records);
    avro_value_decref(&value);
    avro_value_iface_decref(interface);
    avro_schema_decref(schema);
    avro_file_reader_close(reader);
    unlink(path);
    free(path);
}
END_TEST

START_TEST(test_audit_avro_file_without_records_is_still_a_valid_container)
{
    ck_assert(codec_init());
    char *path = temporary_path();
    FILE *out = fopen(path, "wb");
    char error[256];
    audit_avro_file *file = audit_avro_file_open(out, sync_marker, error, sizeof error);
    ck_assert(audit_avro_file_close(file));
    fclose(out);
    avro_file_reader_t reader;
    ck_assert_int_eq(avro_file_reader(path, &reader), 0);
    avro_schema_t schema = avro_file_reader_get_writer_schema(reader);
    avro_value_iface_t *interface = avro_generic_class_from_schema(schema);
    avro_value_t value;
    avro_generic_value_new(interface, &value);
    ck_assert_int_ne(avro_file_reader_read_value(reader, &value), 0);
    avro_value_decref(&value);
    avro_value_iface_decref(interface);
    avro_schema_decref(schema);
    avro_file_reader_close(reader);
    unlink(path);
    free(path);
}
END_TEST

START_TEST(test_audit_avro_file_schema_embeds_the_topic_schemas_verbatim)
{
    ck_assert(codec_init());
    char *schema = audit_avro_file_schema();
    ck_assert_ptr_nonnull(schema);
    ck_assert_ptr_nonnull(strstr(schema, "\"name\":\"AuditRecord\""));
    ck_assert_ptr_nonnull(strstr(schema, "\"name\":\"Verdict\""));
    ck_assert_ptr_nonnull(strstr(schema, "\"name\":\"Action\""));
    ck_assert_ptr_nonnull(strstr(schema, "\"namespace\":\"reconciler.v1\""));
    ck_assert_ptr_nonnull(strstr(schema, "\"logicalType\":\"timestamp-millis\""));
    free(schema);
}
END_TEST

START_TEST(test_audit_avro_file_refuses_a_value_too_short_for_a_datum)
{
    ck_assert(codec_init());
    FILE *out = tmpfile();
    char error[256];
    audit_avro_file *file = audit_avro_file_open(out, sync_marker, error, sizeof error);
    audit_position position = {0, 0, 0, NULL};
    ck_assert(!audit_avro_file_append(file, "t", &position, CODEC_RECORD_VERDICT, "\xc3\x01", 2));
    ck_assert(!audit_avro_file_append(file, "t", &position, CODEC_RECORD_CHECK_REQUEST,
                                      "\xc3\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00", 11));
    ck_assert(audit_avro_file_close(file));
    fclose(out);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("audit_avro_file");
    TCase *tcase = tcase_create("core");
    tcase_add_test(tcase, test_audit_avro_file_is_read_back_by_avro_c_with_every_value);
    tcase_add_test(tcase, test_audit_avro_file_spans_several_blocks);
    tcase_add_test(tcase, test_audit_avro_file_without_records_is_still_a_valid_container);
    tcase_add_test(tcase, test_audit_avro_file_schema_embeds_the_topic_schemas_verbatim);
    tcase_add_test(tcase, test_audit_avro_file_refuses_a_value_too_short_for_a_datum);
    suite_add_tcase(suite, tcase);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    codec_shutdown();
    return failed == 0 ? 0 : 1;
}
