/* Unit tests of reconciler-audit's output formats: the jsonl shape (the record's Avro fields
 * with the values a standard decoder gives), the table's defence against hostile values, and
 * the report lines. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_output.h"
#include "codec.h"

static const char *const topic_names[AUDIT_TOPIC_COUNT] = {"t.verdicts", "t.actions"};
static const uint8_t sync_marker[16] = {0};

/* Runs `write` against a memory stream and returns what it wrote (caller frees). */
typedef void (*writer_body)(audit_record_writer *writer);

static char *capture(audit_format format, writer_body body)
{
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    char error[128];
    audit_record_writer *writer =
        audit_record_writer_open(format, out, topic_names, sync_marker, error, sizeof error);
    ck_assert_ptr_nonnull(writer);
    body(writer);
    ck_assert(audit_record_writer_close(writer));
    fclose(out);
    return text;
}

static verdict sample_verdict(void)
{
    verdict record;
    memset(&record, 0, sizeof record);
    record.workspace_id = "ws-1";
    record.instance_id = "i-1";
    record.sweep_id = "sweep-1";
    record.sweep_size = 3;
    record.liveness = LIVENESS_UNKNOWN;
    record.reason = "timeout";
    record.checked_at = 1795749120000LL;
    record.latency_ms = 10000;
    record.checker_id = "checker-1";
    return record;
}

START_TEST(test_audit_json_verdict_value_has_every_field_with_decoder_values)
{
    verdict record = sample_verdict();
    json_t *value = audit_json_verdict_value(&record);
    ck_assert_ptr_nonnull(value);
    ck_assert_uint_eq(json_object_size(value), 12);
    ck_assert_str_eq(json_string_value(json_object_get(value, "liveness")), "UNKNOWN");
    ck_assert(json_is_null(json_object_get(value, "cp_state")));
    ck_assert(json_is_null(json_object_get(value, "http_status")));
    ck_assert_str_eq(json_string_value(json_object_get(value, "reason")), "timeout");
    ck_assert_int_eq(json_integer_value(json_object_get(value, "checked_at")), 1795749120000LL);
    ck_assert_int_eq(json_integer_value(json_object_get(value, "enqueued_at")), 0);
    json_decref(value);

    record.has_http_status = true;
    record.http_status = 503;
    record.cp_state = "pending";
    value = audit_json_verdict_value(&record);
    ck_assert_int_eq(json_integer_value(json_object_get(value, "http_status")), 503);
    ck_assert_str_eq(json_string_value(json_object_get(value, "cp_state")), "pending");
    json_decref(value);
}
END_TEST

START_TEST(test_audit_json_action_value_has_every_field_with_decoder_values)
{
    action record;
    memset(&record, 0, sizeof record);
    record.workspace_id = "ws-1";
    record.instance_id = "i-1";
    record.verdict_topic = "t.verdicts";
    record.verdict_partition = 3;
    record.verdict_offset = 99;
    record.outcome = ACTION_OUTCOME_SKIPPED_BREAKER_OPEN;
    record.acted_at = 5;
    record.dry_run = true;
    json_t *value = audit_json_action_value(&record);
    ck_assert_uint_eq(json_object_size(value), 13);
    ck_assert_str_eq(json_string_value(json_object_get(value, "outcome")), "SKIPPED_BREAKER_OPEN");
    ck_assert(json_is_true(json_object_get(value, "dry_run")));
    ck_assert(json_is_null(json_object_get(value, "reason")));
    ck_assert_str_eq(json_string_value(json_object_get(value, "sweep_id")), "");
    ck_assert_int_eq(json_integer_value(json_object_get(value, "verdict_offset")), 99);
    json_decref(value);
}
END_TEST

static void write_one_verdict(audit_record_writer *writer)
{
    verdict record = sample_verdict();
    audit_position position = {3, 17, 1795749120001LL, "ws-1"};
    ck_assert(audit_record_writer_verdict(writer, &position, &record, NULL, 0));
    audit_position bad = {0, 4, -1, NULL};
    ck_assert(audit_record_writer_undecodable(writer, AUDIT_TOPIC_ACTIONS, &bad,
                                              CODEC_ERROR_BAD_MAGIC, "x", 1));
}

START_TEST(test_audit_jsonl_writes_one_line_per_record_with_its_coordinates)
{
    char *text = capture(AUDIT_FORMAT_JSONL, write_one_verdict);
    char *newline = strchr(text, '\n');
    ck_assert_ptr_nonnull(newline);
    *newline = '\0';
    json_error_t error;
    json_t *line = json_loads(text, 0, &error);
    ck_assert_ptr_nonnull(line);
    ck_assert_str_eq(json_string_value(json_object_get(line, "type")), "verdict");
    ck_assert_str_eq(json_string_value(json_object_get(line, "topic")), "t.verdicts");
    ck_assert_int_eq(json_integer_value(json_object_get(line, "partition")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(line, "offset")), 17);
    ck_assert_str_eq(json_string_value(json_object_get(line, "key")), "ws-1");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(line, "value"), "workspace_id")), "ws-1");
    json_decref(line);

    line = json_loads(newline + 1, JSON_DISABLE_EOF_CHECK, &error);
    ck_assert_ptr_nonnull(line);
    ck_assert_str_eq(json_string_value(json_object_get(line, "type")), "undecodable");
    ck_assert_str_eq(json_string_value(json_object_get(line, "topic")), "t.actions");
    ck_assert_str_eq(json_string_value(json_object_get(line, "error")), "bad_magic");
    ck_assert(json_is_null(json_object_get(line, "key")));
    json_decref(line);
    free(text);
}
END_TEST

static void write_hostile_verdict(audit_record_writer *writer)
{
    verdict record = sample_verdict();
    record.reason = "line one\nFAKE ROW\x1b[2J";
    audit_position position = {0, 0, 0, "ws-1"};
    ck_assert(audit_record_writer_verdict(writer, &position, &record, NULL, 0));
}

START_TEST(test_audit_table_cleans_control_characters_from_topic_values)
{
    char *text = capture(AUDIT_FORMAT_TABLE, write_hostile_verdict);
    /* The header and exactly one row: the newline in the reason did not start another. */
    int lines = 0;
    for (const char *cursor = text; *cursor != '\0'; cursor++) {
        lines += *cursor == '\n';
    }
    ck_assert_int_eq(lines, 2);
    ck_assert_ptr_nonnull(strstr(text, "reason=line one?FAKE ROW?[2J"));
    ck_assert_ptr_null(strchr(text, '\x1b'));
    free(text);
}
END_TEST

static void write_nothing(audit_record_writer *writer)
{
    (void)writer;
}

START_TEST(test_audit_table_says_so_when_the_range_is_empty)
{
    char *text = capture(AUDIT_FORMAT_TABLE, write_nothing);
    ck_assert_ptr_nonnull(strstr(text, "(no records in the range)"));
    free(text);
    text = capture(AUDIT_FORMAT_JSONL, write_nothing);
    ck_assert_str_eq(text, "");
    free(text);
}
END_TEST

START_TEST(test_audit_findings_jsonl_ends_with_the_verdict_line)
{
    audit_findings findings;
    memset(&findings, 0, sizeof findings);
    ck_assert(audit_findings_add(&findings, AUDIT_CHECK_VERDICT_FLIPPED_TWICE,
                                 AUDIT_SEVERITY_VIOLATION, false, "ws-1", NULL, true, 1, 10, 5,
                                 "second flip"));
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    ck_assert(audit_print_findings(out, AUDIT_FORMAT_JSONL, &findings, "t.verdicts"));
    fclose(out);
    ck_assert_ptr_nonnull(strstr(text, "\"check\":\"verdict_flipped_twice\""));
    ck_assert_ptr_nonnull(strstr(text, "\"action\":null"));
    ck_assert_ptr_nonnull(
        strstr(text, "{\"report\":\"verify\",\"passed\":false,\"violations\":1,"));
    free(text);

    out = open_memstream(&text, &length);
    ck_assert(audit_print_findings(out, AUDIT_FORMAT_TABLE, &findings, "t.verdicts"));
    fclose(out);
    ck_assert_ptr_nonnull(strstr(text, "verify: FAILED: 1 violation,"));
    ck_assert_ptr_nonnull(strstr(text, "VIOLATION"));
    ck_assert_ptr_nonnull(strstr(text, "database -> verdicts 1:10"));
    free(text);
    audit_findings_free(&findings);
}
END_TEST

START_TEST(test_audit_format_names_round_trip)
{
    audit_format format;
    ck_assert(audit_format_parse("table", &format) && format == AUDIT_FORMAT_TABLE);
    ck_assert(audit_format_parse("jsonl", &format) && format == AUDIT_FORMAT_JSONL);
    ck_assert(audit_format_parse("avro", &format) && format == AUDIT_FORMAT_AVRO);
    ck_assert(!audit_format_parse("json", &format));
    ck_assert(!audit_format_parse(NULL, &format));
    ck_assert_str_eq(audit_format_name(AUDIT_FORMAT_JSONL), "jsonl");
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("audit_output");
    TCase *tcase = tcase_create("core");
    tcase_add_test(tcase, test_audit_json_verdict_value_has_every_field_with_decoder_values);
    tcase_add_test(tcase, test_audit_json_action_value_has_every_field_with_decoder_values);
    tcase_add_test(tcase, test_audit_jsonl_writes_one_line_per_record_with_its_coordinates);
    tcase_add_test(tcase, test_audit_table_cleans_control_characters_from_topic_values);
    tcase_add_test(tcase, test_audit_table_says_so_when_the_range_is_empty);
    tcase_add_test(tcase, test_audit_findings_jsonl_ends_with_the_verdict_line);
    tcase_add_test(tcase, test_audit_format_names_round_trip);
    suite_add_tcase(suite, tcase);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
