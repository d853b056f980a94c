/* Unit tests of reconciler-audit's --summary (per-sweep aggregation, percentiles) and
 * --timeline (per-workspace ordering), over record sets built in memory. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit_records.h"
#include "audit_summary.h"
#include "audit_timeline.h"

#define TOPIC "reconciler.verdicts"
#define T0 1795749120000LL

static char *copy(const char *text)
{
    return text != NULL ? strdup(text) : NULL;
}

static void add_verdict(audit_record_set *set, int32_t partition, int64_t offset,
                        const char *workspace, const char *sweep, liveness state,
                        const char *reason, int64_t checked_at, int64_t latency_ms)
{
    audit_position position = {partition, offset, checked_at, copy(workspace)};
    verdict record;
    memset(&record, 0, sizeof record);
    record.workspace_id = copy(workspace);
    record.instance_id = copy("i-1");
    record.sweep_id = copy(sweep);
    record.sweep_size = 4;
    record.checker_id = copy("checker-1");
    record.liveness = state;
    record.reason = copy(reason);
    record.checked_at = checked_at;
    record.latency_ms = latency_ms;
    ck_assert(audit_records_add_verdict(set, &position, &record));
}

static void add_action(audit_record_set *set, int32_t partition, int64_t offset,
                       const char *workspace, const char *sweep, int32_t verdict_partition,
                       int64_t verdict_offset, action_outcome outcome, int64_t acted_at)
{
    audit_position position = {partition, offset, acted_at, copy(workspace)};
    action record;
    memset(&record, 0, sizeof record);
    record.workspace_id = copy(workspace);
    record.instance_id = copy("i-1");
    record.verdict_topic = copy(TOPIC);
    record.verdict_partition = verdict_partition;
    record.verdict_offset = verdict_offset;
    record.outcome = outcome;
    record.acted_at = acted_at;
    record.sweep_id = copy(sweep);
    record.actuator_id = copy("actuator-1");
    ck_assert(audit_records_add_action(set, &position, &record));
}

/* ---- percentiles ---- */

START_TEST(test_audit_percentile_is_nearest_rank)
{
    int64_t values[100];
    for (int index = 0; index < 100; index++) {
        values[index] = index + 1; /* 1..100 */
    }
    ck_assert_int_eq(audit_percentile(values, 100, 50), 50);
    ck_assert_int_eq(audit_percentile(values, 100, 90), 90);
    ck_assert_int_eq(audit_percentile(values, 100, 99), 99);
    ck_assert_int_eq(audit_percentile(values, 100, 100), 100);
    int64_t three[] = {10, 20, 30};
    ck_assert_int_eq(audit_percentile(three, 3, 50), 20); /* rank ceil(1.5) = 2 */
    ck_assert_int_eq(audit_percentile(three, 3, 99), 30);
    ck_assert_int_eq(audit_percentile(three, 3, 0), 10);
    int64_t one[] = {7};
    ck_assert_int_eq(audit_percentile(one, 1, 99), 7);
    ck_assert_int_eq(audit_percentile(NULL, 0, 50), 0);
}
END_TEST

/* ---- summary ---- */

/* Sweep A (first): 4 verdicts, one workspace checked twice; a flip, its restart accepted, and
 * a breaker skip. Sweep B (later): one UNKNOWN verdict. */
static void fill_two_sweeps(audit_record_set *set)
{
    add_verdict(set, 0, 0, "w1", "sweep-a", LIVENESS_RUNNING, NULL, T0, 100);
    add_verdict(set, 0, 1, "w2", "sweep-a", LIVENESS_NOT_RUNNING, NULL, T0 + 1, 300);
    add_verdict(set, 1, 0, "w3", "sweep-a", LIVENESS_UNKNOWN, "timeout", T0 + 2, 10000);
    add_verdict(set, 1, 1, "w3", "sweep-a", LIVENESS_NOT_RUNNING, NULL, T0 + 3, 200);
    add_verdict(set, 2, 0, "w4", "sweep-b", LIVENESS_UNKNOWN, "http_status", T0 + 60000, 50);
    add_action(set, 0, 0, "w2", "sweep-a", 0, 1, ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED, T0 + 10);
    add_action(set, 0, 1, "w2", "sweep-a", 0, 1, ACTION_OUTCOME_RESTART_ACCEPTED, T0 + 20);
    add_action(set, 1, 0, "w3", "sweep-a", 1, 1, ACTION_OUTCOME_SKIPPED_BREAKER_OPEN, T0 + 11);
}

START_TEST(test_audit_summary_counts_each_sweep_separately_in_time_order)
{
    audit_record_set set = {0};
    fill_two_sweeps(&set);
    audit_records_finish(&set);
    audit_summary summary;
    ck_assert(audit_summarize(&set, &summary));
    ck_assert_uint_eq(summary.sweep_count, 2);

    const audit_sweep_summary *a = &summary.sweeps[0];
    ck_assert_str_eq(a->sweep_id, "sweep-a");
    ck_assert_uint_eq(a->verdicts, 4);
    ck_assert_uint_eq(a->workspaces, 3);
    ck_assert_uint_eq(a->liveness_counts[LIVENESS_RUNNING], 1);
    ck_assert_uint_eq(a->liveness_counts[LIVENESS_NOT_RUNNING], 2);
    ck_assert_uint_eq(a->liveness_counts[LIVENESS_UNKNOWN], 1);
    ck_assert_uint_eq(a->unknown_reason_count, 1);
    ck_assert_str_eq(a->unknown_reasons[0].reason, "timeout");
    ck_assert_uint_eq(a->flips, 1);
    ck_assert_uint_eq(a->outcome_counts[ACTION_OUTCOME_RESTART_ACCEPTED], 1);
    ck_assert(a->breaker_tripped);
    ck_assert_int_eq(a->declared_size, 4);
    ck_assert_int_eq(a->first_at_ms, T0);
    ck_assert_int_eq(a->last_at_ms, T0 + 20);
    ck_assert(a->has_latency);
    ck_assert_int_eq(a->latency_p50_ms, 200);
    ck_assert_int_eq(a->latency_p90_ms, 10000);
    ck_assert_int_eq(a->latency_max_ms, 10000);

    const audit_sweep_summary *b = &summary.sweeps[1];
    ck_assert_str_eq(b->sweep_id, "sweep-b");
    ck_assert_uint_eq(b->verdicts, 1);
    ck_assert_uint_eq(b->flips, 0);
    ck_assert(!b->breaker_tripped);
    ck_assert_str_eq(b->unknown_reasons[0].reason, "http_status");

    ck_assert_uint_eq(summary.total.verdicts, 5);
    ck_assert_uint_eq(summary.total.workspaces, 4);
    ck_assert_uint_eq(summary.total.flips, 1);
    ck_assert_uint_eq(summary.total.unknown_reason_count, 2);
    audit_summary_free(&summary);
    audit_records_free(&set);
}
END_TEST

START_TEST(test_audit_summary_unknown_reasons_are_ordered_by_count)
{
    audit_record_set set = {0};
    add_verdict(&set, 0, 0, "w1", "s", LIVENESS_UNKNOWN, "tls", T0, 1);
    add_verdict(&set, 0, 1, "w2", "s", LIVENESS_UNKNOWN, "timeout", T0, 1);
    add_verdict(&set, 0, 2, "w3", "s", LIVENESS_UNKNOWN, "timeout", T0, 1);
    add_verdict(&set, 0, 3, "w4", "s", LIVENESS_UNKNOWN, NULL, T0, 1);
    audit_records_finish(&set);
    audit_summary summary;
    ck_assert(audit_summarize(&set, &summary));
    const audit_sweep_summary *sweep = &summary.sweeps[0];
    ck_assert_uint_eq(sweep->unknown_reason_count, 3);
    ck_assert_str_eq(sweep->unknown_reasons[0].reason, "timeout");
    ck_assert_uint_eq(sweep->unknown_reasons[0].count, 2);
    /* Ties by name: "(none)" before "tls". */
    ck_assert_str_eq(sweep->unknown_reasons[1].reason, "(none)");
    ck_assert_str_eq(sweep->unknown_reasons[2].reason, "tls");
    audit_summary_free(&summary);
    audit_records_free(&set);
}
END_TEST

START_TEST(test_audit_summary_action_without_sweep_counts_for_its_verdicts_sweep)
{
    audit_record_set set = {0};
    add_verdict(&set, 0, 5, "w1", "sweep-x", LIVENESS_NOT_RUNNING, NULL, T0, 1);
    add_action(&set, 0, 0, "w1", "", 0, 5, ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED, T0 + 1);
    audit_records_finish(&set);
    audit_summary summary;
    ck_assert(audit_summarize(&set, &summary));
    ck_assert_uint_eq(summary.sweep_count, 1);
    ck_assert_uint_eq(summary.sweeps[0].flips, 1);
    audit_summary_free(&summary);
    audit_records_free(&set);
}
END_TEST

START_TEST(test_audit_summary_counts_a_republished_action_once)
{
    audit_record_set set = {0};
    add_verdict(&set, 0, 5, "w1", "s", LIVENESS_NOT_RUNNING, NULL, T0, 1);
    add_action(&set, 0, 0, "w1", "s", 0, 5, ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED, T0 + 1);
    add_action(&set, 0, 1, "w1", "s", 0, 5, ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED, T0 + 1);
    audit_records_finish(&set);
    ck_assert(!set.actions[0].copy);
    ck_assert(set.actions[1].copy);
    ck_assert_uint_eq(set.actions[1].copy_of, 0);
    audit_summary summary;
    ck_assert(audit_summarize(&set, &summary));
    ck_assert_uint_eq(summary.sweeps[0].flips, 1);
    audit_summary_free(&summary);
    audit_records_free(&set);
}
END_TEST

START_TEST(test_audit_summary_counts_paused_verdicts_by_reason)
{
    audit_record_set set = {0};
    add_verdict(&set, 0, 5, "w1", "s", LIVENESS_NOT_RUNNING, NULL, T0, 1);
    add_verdict(&set, 0, 6, "w2", "s", LIVENESS_NOT_RUNNING, NULL, T0, 1);
    add_action(&set, 0, 0, "w1", "s", 0, 5, ACTION_OUTCOME_SKIPPED_STALE, T0 + 1);
    add_action(&set, 0, 1, "w2", "s", 0, 6, ACTION_OUTCOME_SKIPPED_STALE, T0 + 2);
    /* Only the reason tells a pause from an old verdict: both are SKIPPED_STALE. */
    set.actions[0].record.reason = copy("actuator_paused: the group's actuator is paused");
    set.actions[1].record.reason = copy("verdict_too_old: checked 412s ago, limit 300s");
    audit_records_finish(&set);
    audit_summary summary;
    ck_assert(audit_summarize(&set, &summary));
    ck_assert_uint_eq(summary.sweeps[0].paused, 1);
    ck_assert_uint_eq(summary.sweeps[0].outcome_counts[ACTION_OUTCOME_SKIPPED_STALE], 2);
    ck_assert_uint_eq(summary.total.paused, 1);
    audit_summary_free(&summary);
    audit_records_free(&set);
}
END_TEST

START_TEST(test_audit_summary_of_nothing_is_empty)
{
    audit_record_set set = {0};
    audit_records_finish(&set);
    audit_summary summary;
    ck_assert(audit_summarize(&set, &summary));
    ck_assert_uint_eq(summary.sweep_count, 0);
    ck_assert_uint_eq(summary.total.verdicts, 0);
    ck_assert(!summary.total.has_latency);
    audit_summary_free(&summary);
}
END_TEST

/* ---- timeline ---- */

START_TEST(test_audit_timeline_orders_each_workspace_by_time_verdict_before_action)
{
    audit_record_set set = {0};
    /* w-late's first event is later than w-early's, though it sorts first by name. */
    add_verdict(&set, 0, 0, "a-late", "s", LIVENESS_RUNNING, NULL, T0 + 5000, 1);
    add_verdict(&set, 1, 0, "z-early", "s", LIVENESS_NOT_RUNNING, NULL, T0 + 1000, 1);
    /* Flipped in the same millisecond as its verdict was checked. */
    add_action(&set, 0, 0, "z-early", "s", 1, 0, ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED,
               T0 + 1000);
    add_action(&set, 0, 1, "z-early", "s", 1, 0, ACTION_OUTCOME_RESTART_ACCEPTED, T0 + 3000);
    add_verdict(&set, 1, 1, "z-early", "s2", LIVENESS_NOT_RUNNING, NULL, T0 + 2000, 1);
    audit_records_finish(&set);
    audit_timeline timeline;
    ck_assert(audit_timeline_build(&set, &timeline));
    ck_assert_uint_eq(timeline.count, 5);
    ck_assert_str_eq(timeline.events[0].workspace_id, "z-early");
    ck_assert_ptr_nonnull(timeline.events[0].verdict); /* verdict at T0+1000 */
    ck_assert_ptr_nonnull(timeline.events[1].action);  /* flip at T0+1000 */
    ck_assert_int_eq(timeline.events[1].action->record.outcome,
                     ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED);
    ck_assert_ptr_nonnull(timeline.events[2].verdict); /* second verdict at T0+2000 */
    ck_assert_int_eq(timeline.events[2].at_ms, T0 + 2000);
    ck_assert_int_eq(timeline.events[3].action->record.outcome, ACTION_OUTCOME_RESTART_ACCEPTED);
    ck_assert_str_eq(timeline.events[4].workspace_id, "a-late");
    audit_timeline_free(&timeline);
    audit_records_free(&set);
}
END_TEST

START_TEST(test_audit_timeline_of_nothing_is_empty)
{
    audit_record_set set = {0};
    audit_timeline timeline;
    ck_assert(audit_timeline_build(&set, &timeline));
    ck_assert_uint_eq(timeline.count, 0);
    audit_timeline_free(&timeline);
}
END_TEST

/* ---- record set ---- */

START_TEST(test_audit_records_find_verdict_by_coordinates)
{
    audit_record_set set = {0};
    add_verdict(&set, 3, 7, "w1", "s", LIVENESS_RUNNING, NULL, T0, 1);
    add_verdict(&set, 0, 9, "w2", "s", LIVENESS_RUNNING, NULL, T0, 1);
    add_verdict(&set, 3, 2, "w3", "s", LIVENESS_RUNNING, NULL, T0, 1);
    audit_records_finish(&set);
    ck_assert_str_eq(audit_records_find_verdict(&set, 3, 7)->record.workspace_id, "w1");
    ck_assert_str_eq(audit_records_find_verdict(&set, 3, 2)->record.workspace_id, "w3");
    ck_assert_ptr_null(audit_records_find_verdict(&set, 3, 8));
    ck_assert_ptr_null(audit_records_find_verdict(&set, 1, 7));
    audit_records_free(&set);
}
END_TEST

START_TEST(test_audit_key_text_replaces_invalid_utf8)
{
    bool failed;
    char *text = audit_key_text("ab\xff"
                                "c\xc3\xa9",
                                6, &failed);
    ck_assert(!failed);
    ck_assert_str_eq(text, "ab\xEF\xBF\xBD"
                           "c\xc3\xa9");
    free(text);
    text = audit_key_text("a\0b", 3, &failed); /* NUL cannot live in C text */
    ck_assert_str_eq(text, "a\xEF\xBF\xBD"
                           "b");
    free(text);
    ck_assert_ptr_null(audit_key_text(NULL, 0, &failed));
    ck_assert(!failed);
}
END_TEST

START_TEST(test_audit_elapsed_time_reads_naturally)
{
    char text[32];
    audit_format_elapsed(850, text, sizeof text);
    ck_assert_str_eq(text, "850ms");
    audit_format_elapsed(1900, text, sizeof text);
    ck_assert_str_eq(text, "1.9s");
    audit_format_elapsed(7 * 60000 + 12000, text, sizeof text);
    ck_assert_str_eq(text, "7m12s");
    audit_format_elapsed(3 * 3600000 + 5 * 60000, text, sizeof text);
    ck_assert_str_eq(text, "3h05m");
    audit_format_elapsed(-1500, text, sizeof text);
    ck_assert_str_eq(text, "-1.5s");
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("audit_reports");
    TCase *summary = tcase_create("summary");
    tcase_add_test(summary, test_audit_percentile_is_nearest_rank);
    tcase_add_test(summary, test_audit_summary_counts_each_sweep_separately_in_time_order);
    tcase_add_test(summary, test_audit_summary_unknown_reasons_are_ordered_by_count);
    tcase_add_test(summary, test_audit_summary_action_without_sweep_counts_for_its_verdicts_sweep);
    tcase_add_test(summary, test_audit_summary_counts_a_republished_action_once);
    tcase_add_test(summary, test_audit_summary_of_nothing_is_empty);
    tcase_add_test(summary, test_audit_summary_counts_paused_verdicts_by_reason);
    suite_add_tcase(suite, summary);
    TCase *timeline = tcase_create("timeline");
    tcase_add_test(timeline,
                   test_audit_timeline_orders_each_workspace_by_time_verdict_before_action);
    tcase_add_test(timeline, test_audit_timeline_of_nothing_is_empty);
    suite_add_tcase(suite, timeline);
    TCase *records = tcase_create("records");
    tcase_add_test(records, test_audit_records_find_verdict_by_coordinates);
    tcase_add_test(records, test_audit_key_text_replaces_invalid_utf8);
    tcase_add_test(records, test_audit_elapsed_time_reads_naturally);
    suite_add_tcase(suite, records);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
