/* Unit tests of reconciler-audit's range: the forms --from/--to accept, and how two bounds plus
 * Kafka's watermarks become the offsets read from each partition. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "audit_range.h"

#define NOW_MS 1795749120000LL /* 2026-11-27T03:12:00Z */

static int64_t parse_time(const char *text)
{
    int64_t value = INT64_MIN;
    ck_assert_msg(audit_parse_rfc3339_ms(text, &value), "'%s' should parse", text);
    return value;
}

START_TEST(test_audit_rfc3339_reads_utc_offsets_and_fractions)
{
    ck_assert_int_eq(parse_time("1970-01-01T00:00:00Z"), 0);
    ck_assert_int_eq(parse_time("2026-11-27T03:12:00Z"), NOW_MS);
    ck_assert_int_eq(parse_time("2026-11-27t03:12:00z"), NOW_MS);
    ck_assert_int_eq(parse_time("2026-11-27 03:12:00Z"), NOW_MS);
    ck_assert_int_eq(parse_time("2026-11-27T04:12:00+01:00"), NOW_MS);
    ck_assert_int_eq(parse_time("2026-11-27T02:42:00-00:30"), NOW_MS);
    ck_assert_int_eq(parse_time("2024-02-29T23:59:59.999+01:00"), 1709247599999LL);
    ck_assert_int_eq(parse_time("2026-11-27T03:12:00.5Z"), NOW_MS + 500);
    ck_assert_int_eq(parse_time("2026-11-27T03:12:00.123456789Z"), NOW_MS + 123);
    ck_assert_int_eq(parse_time("1969-12-31T23:59:59.5Z"), -500);
}
END_TEST

START_TEST(test_audit_rfc3339_rejects_what_is_not_a_full_date_time)
{
    static const char *const bad[] = {
        "2026-11-27T03:12:00",   /* no zone: a local time would be a guess */
        "2026-11-27",            /* no time */
        "2026-13-01T00:00:00Z",  /* month 13 */
        "2023-02-29T00:00:00Z",  /* not a leap year */
        "2026-11-31T00:00:00Z",  /* November has 30 days */
        "2026-11-27T24:00:00Z",  /* hour 24 */
        "2026-11-27T03:60:00Z",  /* minute 60 */
        "2026-11-27T03:12:00.Z", /* empty fraction */
        "2026-11-27T03:12:00Z trailing",
        "2026-11-27T03:12:00+0100", /* offset without colon */
        "26-11-27T03:12:00Z",
        "",
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad[0]; index++) {
        int64_t ignored;
        ck_assert_msg(!audit_parse_rfc3339_ms(bad[index], &ignored), "'%s' must not parse",
                      bad[index]);
    }
}
END_TEST

START_TEST(test_audit_bound_keywords_are_beginning_and_end)
{
    audit_bound bound;
    ck_assert_int_eq(audit_bound_parse("beginning", NOW_MS, &bound), AUDIT_RANGE_OK);
    ck_assert_int_eq(bound.kind, AUDIT_BOUND_BEGINNING);
    audit_bound_free(&bound);
    ck_assert_int_eq(audit_bound_parse("end", NOW_MS, &bound), AUDIT_RANGE_OK);
    ck_assert_int_eq(bound.kind, AUDIT_BOUND_END);
    audit_bound_free(&bound);
}
END_TEST

START_TEST(test_audit_bound_relative_time_counts_back_from_now)
{
    audit_bound bound;
    ck_assert_int_eq(audit_bound_parse("-2h", NOW_MS, &bound), AUDIT_RANGE_OK);
    ck_assert_int_eq(bound.kind, AUDIT_BOUND_TIMESTAMP);
    ck_assert(bound.relative);
    ck_assert_int_eq(bound.timestamp_ms, NOW_MS - 2 * 3600 * 1000);
    audit_bound_free(&bound);
    ck_assert_int_eq(audit_bound_parse("-90", NOW_MS, &bound), AUDIT_RANGE_OK);
    ck_assert_int_eq(bound.timestamp_ms, NOW_MS - 90 * 1000); /* a bare number is seconds */
    audit_bound_free(&bound);
    ck_assert_int_eq(audit_bound_parse("-500ms", NOW_MS, &bound), AUDIT_RANGE_OK);
    ck_assert_int_eq(bound.timestamp_ms, NOW_MS - 500);
    audit_bound_free(&bound);
    ck_assert_int_eq(audit_bound_parse("-", NOW_MS, &bound), AUDIT_RANGE_ERROR_BAD_RELATIVE);
    ck_assert_int_eq(audit_bound_parse("-2d", NOW_MS, &bound), AUDIT_RANGE_ERROR_BAD_RELATIVE);
    ck_assert_int_eq(audit_bound_parse("--2h", NOW_MS, &bound), AUDIT_RANGE_ERROR_BAD_RELATIVE);
}
END_TEST

START_TEST(test_audit_bound_timestamp_form_and_its_errors)
{
    audit_bound bound;
    ck_assert_int_eq(audit_bound_parse("2026-11-27T03:12:00Z", NOW_MS, &bound), AUDIT_RANGE_OK);
    ck_assert_int_eq(bound.kind, AUDIT_BOUND_TIMESTAMP);
    ck_assert(!bound.relative);
    ck_assert_int_eq(bound.timestamp_ms, NOW_MS);
    audit_bound_free(&bound);
    /* Looks like a date, so a date error, not "bad offsets". */
    ck_assert_int_eq(audit_bound_parse("2026-11-27T03:12:00", NOW_MS, &bound),
                     AUDIT_RANGE_ERROR_BAD_TIMESTAMP);
}
END_TEST

START_TEST(test_audit_bound_partition_offsets_with_and_without_topic)
{
    audit_bound bound;
    ck_assert_int_eq(audit_bound_parse("0:120,1:300", NOW_MS, &bound), AUDIT_RANGE_OK);
    ck_assert_int_eq(bound.kind, AUDIT_BOUND_OFFSETS);
    ck_assert_uint_eq(bound.entry_count, 2);
    ck_assert_int_eq(bound.entries[0].topic, -1);
    ck_assert_int_eq(bound.entries[0].partition, 0);
    ck_assert_int_eq(bound.entries[0].offset, 120);
    ck_assert_int_eq(bound.entries[1].partition, 1);
    ck_assert_int_eq(bound.entries[1].offset, 300);
    audit_bound_free(&bound);

    ck_assert_int_eq(audit_bound_parse("verdicts:3:1200,actions:3:40", NOW_MS, &bound),
                     AUDIT_RANGE_OK);
    ck_assert_uint_eq(bound.entry_count, 2);
    ck_assert_int_eq(bound.entries[0].topic, AUDIT_TOPIC_VERDICTS);
    ck_assert_int_eq(bound.entries[1].topic, AUDIT_TOPIC_ACTIONS);
    ck_assert(audit_bound_names_topic(&bound, AUDIT_TOPIC_VERDICTS));
    ck_assert(audit_bound_names_topic(&bound, AUDIT_TOPIC_ACTIONS));
    audit_bound_free(&bound);

    ck_assert_int_eq(audit_bound_parse("verdicts:3:1200", NOW_MS, &bound), AUDIT_RANGE_OK);
    ck_assert(!audit_bound_names_topic(&bound, AUDIT_TOPIC_ACTIONS));
    audit_bound_free(&bound);
}
END_TEST

START_TEST(test_audit_bound_partition_offsets_errors_are_named)
{
    static const struct {
        const char *text;
        audit_range_error error;
    } cases[] = {
        {"0:", AUDIT_RANGE_ERROR_BAD_OFFSETS},
        {":5", AUDIT_RANGE_ERROR_BAD_OFFSETS},
        {"0:1,", AUDIT_RANGE_ERROR_BAD_OFFSETS},
        {"0:1,,1:2", AUDIT_RANGE_ERROR_BAD_OFFSETS},
        {"checks:0:1", AUDIT_RANGE_ERROR_BAD_OFFSETS},
        {"0:-1", AUDIT_RANGE_ERROR_BAD_OFFSETS},
        {"0:1x", AUDIT_RANGE_ERROR_BAD_OFFSETS},
        {"0:1, 1:2", AUDIT_RANGE_ERROR_BAD_OFFSETS},
        {"99999999999:1", AUDIT_RANGE_ERROR_BAD_OFFSETS},
        {"0:1,0:2", AUDIT_RANGE_ERROR_DUPLICATE_PARTITION},
        {"0:1,verdicts:0:2", AUDIT_RANGE_ERROR_DUPLICATE_PARTITION},
        {"yesterday", AUDIT_RANGE_ERROR_UNRECOGNISED},
        {"", AUDIT_RANGE_ERROR_EMPTY},
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        audit_bound bound;
        audit_range_error error = audit_bound_parse(cases[index].text, NOW_MS, &bound);
        ck_assert_msg(error == cases[index].error, "'%s': got %s, expected %s", cases[index].text,
                      audit_range_error_name(error), audit_range_error_name(cases[index].error));
        ck_assert_ptr_null(bound.entries);
    }
    /* The same partition for two different topics is no contradiction. */
    audit_bound bound;
    ck_assert_int_eq(audit_bound_parse("verdicts:0:1,actions:0:2", NOW_MS, &bound), AUDIT_RANGE_OK);
    audit_bound_free(&bound);
}
END_TEST

/* ---- planning ---- */

static audit_bound bound_of(const char *text)
{
    audit_bound bound;
    ck_assert_int_eq(audit_bound_parse(text, NOW_MS, &bound), AUDIT_RANGE_OK);
    return bound;
}

/* Three partitions with watermarks [10, 100), [0, 0), [5, 50). */
static void facts_of(audit_partition_facts facts[3])
{
    memset(facts, 0, 3 * sizeof *facts);
    facts[0] = (audit_partition_facts){10, 100, -1, -1};
    facts[1] = (audit_partition_facts){0, 0, -1, -1};
    facts[2] = (audit_partition_facts){5, 50, -1, -1};
}

START_TEST(test_audit_plan_beginning_to_end_reads_every_partition_between_watermarks)
{
    audit_bound from = bound_of("beginning"), to = bound_of("end");
    audit_partition_facts facts[3];
    facts_of(facts);
    audit_partition_plan plan[3];
    ck_assert_int_eq(audit_plan_topic(&from, &to, AUDIT_TOPIC_VERDICTS, 3, facts, -1, plan),
                     AUDIT_RANGE_OK);
    ck_assert(plan[0].read && plan[0].start == 10 && plan[0].end == 100);
    ck_assert(plan[1].read && plan[1].start == 0 && plan[1].end == 0);
    ck_assert(plan[2].read && plan[2].start == 5 && plan[2].end == 50);
    ck_assert_int_eq(audit_plan_span(plan, 3), 90 + 45);
}
END_TEST

START_TEST(test_audit_plan_timestamps_use_offsets_for_times_and_none_means_end)
{
    audit_bound from = bound_of("-2h"), to = bound_of("-1h");
    audit_partition_facts facts[3];
    facts_of(facts);
    facts[0].from_time_offset = 40; /* first record at or after --from */
    facts[0].to_time_offset = 60;   /* first record at or after --to: excluded */
    facts[2].from_time_offset = 7;
    facts[2].to_time_offset = -1; /* nothing at or after --to: read to the end */
    audit_partition_plan plan[3];
    ck_assert_int_eq(audit_plan_topic(&from, &to, AUDIT_TOPIC_ACTIONS, 3, facts, -1, plan),
                     AUDIT_RANGE_OK);
    ck_assert(plan[0].start == 40 && plan[0].end == 60);
    ck_assert(plan[1].start == 0 && plan[1].end == 0);
    ck_assert(plan[2].start == 7 && plan[2].end == 50);
    /* A --from with no record after it reads nothing. */
    facts[0].from_time_offset = -1;
    ck_assert_int_eq(audit_plan_topic(&from, &to, AUDIT_TOPIC_ACTIONS, 3, facts, -1, plan),
                     AUDIT_RANGE_OK);
    ck_assert(plan[0].start == 100 && plan[0].end == 100);
}
END_TEST

START_TEST(test_audit_plan_partition_offsets_read_only_the_partitions_named)
{
    audit_bound from = bound_of("0:20,2:30"), to = bound_of("end");
    audit_partition_facts facts[3];
    facts_of(facts);
    audit_partition_plan plan[3];
    ck_assert_int_eq(audit_plan_topic(&from, &to, AUDIT_TOPIC_VERDICTS, 3, facts, -1, plan),
                     AUDIT_RANGE_OK);
    ck_assert(plan[0].read && plan[0].start == 20 && plan[0].end == 100);
    ck_assert(!plan[1].read);
    ck_assert(plan[2].read && plan[2].start == 30 && plan[2].end == 50);
    audit_bound_free(&from);
}
END_TEST

START_TEST(test_audit_plan_partition_named_only_in_to_reads_from_its_start)
{
    audit_bound from = bound_of("beginning"), to = bound_of("2:30");
    audit_partition_facts facts[3];
    facts_of(facts);
    audit_partition_plan plan[3];
    ck_assert_int_eq(audit_plan_topic(&from, &to, AUDIT_TOPIC_VERDICTS, 3, facts, -1, plan),
                     AUDIT_RANGE_OK);
    ck_assert(!plan[0].read && !plan[1].read);
    ck_assert(plan[2].read && plan[2].start == 5 && plan[2].end == 30);
    audit_bound_free(&to);
}
END_TEST

START_TEST(test_audit_plan_offsets_for_the_other_topic_leave_this_one_whole)
{
    audit_bound from = bound_of("verdicts:0:20"), to = bound_of("verdicts:0:30");
    audit_partition_facts facts[3];
    facts_of(facts);
    audit_partition_plan plan[3];
    ck_assert_int_eq(audit_plan_topic(&from, &to, AUDIT_TOPIC_ACTIONS, 3, facts, -1, plan),
                     AUDIT_RANGE_OK);
    ck_assert(plan[0].read && plan[0].start == 10 && plan[0].end == 100);
    ck_assert(plan[2].read && plan[2].start == 5 && plan[2].end == 50);
    ck_assert_int_eq(audit_plan_topic(&from, &to, AUDIT_TOPIC_VERDICTS, 3, facts, -1, plan),
                     AUDIT_RANGE_OK);
    ck_assert(plan[0].read && plan[0].start == 20 && plan[0].end == 30);
    ck_assert(!plan[2].read);
    audit_bound_free(&from);
    audit_bound_free(&to);
}
END_TEST

START_TEST(test_audit_plan_clamps_offsets_outside_the_watermarks_and_flags_them)
{
    audit_bound from = bound_of("0:3"), to = bound_of("0:500");
    audit_partition_facts facts[3];
    facts_of(facts);
    audit_partition_plan plan[3];
    ck_assert_int_eq(audit_plan_topic(&from, &to, AUDIT_TOPIC_VERDICTS, 3, facts, -1, plan),
                     AUDIT_RANGE_OK);
    ck_assert(plan[0].start == 10 && plan[0].start_below_low_watermark);
    ck_assert(plan[0].end == 100 && plan[0].end_beyond_high_watermark);
    audit_bound_free(&from);
    audit_bound_free(&to);
}
END_TEST

START_TEST(test_audit_plan_end_before_start_reads_nothing)
{
    audit_bound from = bound_of("0:80"), to = bound_of("0:20");
    audit_partition_facts facts[3];
    facts_of(facts);
    audit_partition_plan plan[3];
    ck_assert_int_eq(audit_plan_topic(&from, &to, AUDIT_TOPIC_VERDICTS, 3, facts, -1, plan),
                     AUDIT_RANGE_OK);
    ck_assert(plan[0].read && plan[0].start == 80 && plan[0].end == 80);
    ck_assert_int_eq(audit_plan_span(plan, 3), 0);
    audit_bound_free(&from);
    audit_bound_free(&to);
}
END_TEST

START_TEST(test_audit_plan_workspace_partition_is_read_alone)
{
    audit_bound from = bound_of("beginning"), to = bound_of("end");
    audit_partition_facts facts[3];
    facts_of(facts);
    audit_partition_plan plan[3];
    ck_assert_int_eq(audit_plan_topic(&from, &to, AUDIT_TOPIC_VERDICTS, 3, facts, 2, plan),
                     AUDIT_RANGE_OK);
    ck_assert(!plan[0].read && !plan[1].read && plan[2].read);
}
END_TEST

START_TEST(test_audit_plan_refuses_a_partition_the_topic_lacks)
{
    audit_bound from = bound_of("5:0"), to = bound_of("end");
    audit_partition_facts facts[3];
    facts_of(facts);
    audit_partition_plan plan[3];
    ck_assert_int_eq(audit_plan_topic(&from, &to, AUDIT_TOPIC_VERDICTS, 3, facts, -1, plan),
                     AUDIT_RANGE_ERROR_NO_SUCH_PARTITION);
    audit_bound_free(&from);
    /* ...but a missing partition of the other topic is that topic's business. */
    from = bound_of("actions:5:0");
    ck_assert_int_eq(audit_plan_topic(&from, &to, AUDIT_TOPIC_VERDICTS, 3, facts, -1, plan),
                     AUDIT_RANGE_OK);
    audit_bound_free(&from);
}
END_TEST

START_TEST(test_audit_plan_covers_exactly_the_half_open_range)
{
    audit_partition_plan plan[2] = {{true, 10, 20, false, false}, {false, 0, 0, false, false}};
    ck_assert(!audit_plan_covers(plan, 2, 0, 9));
    ck_assert(audit_plan_covers(plan, 2, 0, 10));
    ck_assert(audit_plan_covers(plan, 2, 0, 19));
    ck_assert(!audit_plan_covers(plan, 2, 0, 20));
    ck_assert(!audit_plan_covers(plan, 2, 1, 0));
    ck_assert(!audit_plan_covers(plan, 2, 2, 10));
    ck_assert(!audit_plan_covers(plan, 2, -1, 10));
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("audit_range");
    TCase *parsing = tcase_create("parsing");
    tcase_add_test(parsing, test_audit_rfc3339_reads_utc_offsets_and_fractions);
    tcase_add_test(parsing, test_audit_rfc3339_rejects_what_is_not_a_full_date_time);
    tcase_add_test(parsing, test_audit_bound_keywords_are_beginning_and_end);
    tcase_add_test(parsing, test_audit_bound_relative_time_counts_back_from_now);
    tcase_add_test(parsing, test_audit_bound_timestamp_form_and_its_errors);
    tcase_add_test(parsing, test_audit_bound_partition_offsets_with_and_without_topic);
    tcase_add_test(parsing, test_audit_bound_partition_offsets_errors_are_named);
    suite_add_tcase(suite, parsing);
    TCase *planning = tcase_create("planning");
    tcase_add_test(planning,
                   test_audit_plan_beginning_to_end_reads_every_partition_between_watermarks);
    tcase_add_test(planning, test_audit_plan_timestamps_use_offsets_for_times_and_none_means_end);
    tcase_add_test(planning, test_audit_plan_partition_offsets_read_only_the_partitions_named);
    tcase_add_test(planning, test_audit_plan_partition_named_only_in_to_reads_from_its_start);
    tcase_add_test(planning, test_audit_plan_offsets_for_the_other_topic_leave_this_one_whole);
    tcase_add_test(planning, test_audit_plan_clamps_offsets_outside_the_watermarks_and_flags_them);
    tcase_add_test(planning, test_audit_plan_end_before_start_reads_nothing);
    tcase_add_test(planning, test_audit_plan_workspace_partition_is_read_alone);
    tcase_add_test(planning, test_audit_plan_refuses_a_partition_the_topic_lacks);
    tcase_add_test(planning, test_audit_plan_covers_exactly_the_half_open_range);
    suite_add_tcase(suite, planning);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
