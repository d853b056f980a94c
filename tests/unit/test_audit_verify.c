/* Unit tests of reconciler-audit --verify: each invariant, what is only unverifiable or
 * pending, and the cross-check of the actuator's tables against the actions topic. The
 * record sets are built in memory, as the read would have left them. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit_cross_check.h"
#include "audit_database.h"
#include "audit_records.h"
#include "audit_verify.h"

#define VERDICT_TOPIC "reconciler.verdicts"
#define NOW_MS 1795749120000LL
#define MINUTE_MS (60 * 1000LL)
#define WORKSPACE "8d3f5a2e-1c4b-4e8f-9a7d-2b6c0e1f3a45"
#define OTHER_WORKSPACE "0b7c2a1e-5d4f-4a3b-9c8d-7e6f5a4b3c2d"

static char *copy(const char *text)
{
    return text != NULL ? strdup(text) : NULL;
}

static void add_verdict(audit_record_set *set, int32_t partition, int64_t offset,
                        const char *workspace, liveness state, int64_t checked_at)
{
    audit_position position = {partition, offset, checked_at, copy(workspace)};
    verdict record;
    memset(&record, 0, sizeof record);
    record.workspace_id = copy(workspace);
    record.instance_id = copy("i-0123");
    record.sweep_id = copy("sweep-1");
    record.checker_id = copy("checker-1");
    record.liveness = state;
    record.checked_at = checked_at;
    ck_assert(audit_records_add_verdict(set, &position, &record));
}

typedef struct {
    int32_t partition;
    int64_t offset; /* the action's own place on the actions topic */
    const char *workspace;
    const char *instance;
    const char *verdict_topic;
    int32_t verdict_partition;
    int64_t verdict_offset;
    action_outcome outcome;
    int64_t acted_at;
    int64_t verdict_checked_at;
    int32_t attempt;
    bool dry_run;
} action_spec;

static void add_action(audit_record_set *set, action_spec spec)
{
    audit_position position = {spec.partition, spec.offset, spec.acted_at, copy(spec.workspace)};
    action record;
    memset(&record, 0, sizeof record);
    record.workspace_id = copy(spec.workspace != NULL ? spec.workspace : WORKSPACE);
    record.instance_id = copy(spec.instance != NULL ? spec.instance : "i-0123");
    record.verdict_topic = copy(spec.verdict_topic != NULL ? spec.verdict_topic : VERDICT_TOPIC);
    record.verdict_partition = spec.verdict_partition;
    record.verdict_offset = spec.verdict_offset;
    record.outcome = spec.outcome;
    record.acted_at = spec.acted_at;
    record.verdict_checked_at = spec.verdict_checked_at;
    record.attempt = spec.attempt;
    record.dry_run = spec.dry_run;
    record.sweep_id = copy("sweep-1");
    record.actuator_id = copy("actuator-1");
    ck_assert(audit_records_add_action(set, &position, &record));
}

/* A NOT_RUNNING verdict at verdicts 1:10, flipped 30 s later at actions 1:0 and restarted. */
static void add_clean_flip(audit_record_set *set)
{
    int64_t checked = NOW_MS - 10 * MINUTE_MS;
    add_verdict(set, 1, 10, WORKSPACE, LIVENESS_NOT_RUNNING, checked);
    add_action(set, (action_spec){.partition = 1,
                                  .offset = 0,
                                  .verdict_partition = 1,
                                  .verdict_offset = 10,
                                  .outcome = ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED,
                                  .acted_at = checked + 30000,
                                  .verdict_checked_at = checked});
    add_action(set, (action_spec){.partition = 1,
                                  .offset = 1,
                                  .verdict_partition = 1,
                                  .verdict_offset = 10,
                                  .outcome = ACTION_OUTCOME_RESTART_ACCEPTED,
                                  .acted_at = checked + 31000,
                                  .verdict_checked_at = checked,
                                  .attempt = 1});
}

/* Verdicts partitions 0..3 were read over offsets [0, 100). */
static audit_partition_plan full_plan[4] = {
    {true, 0, 100, false, false},
    {true, 0, 100, false, false},
    {true, 0, 100, false, false},
    {true, 0, 100, false, false},
};

static audit_verify_options options_with(bool strict)
{
    return (audit_verify_options){
        .verdict_topic = VERDICT_TOPIC,
        .verdict_plan = full_plan,
        .verdict_partition_count = 4,
        .max_verdict_age_ms = 5 * MINUTE_MS,
        .restart_grace_ms = 60 * MINUTE_MS,
        .now_ms = NOW_MS,
        .strict = strict,
    };
}

static audit_findings verify(audit_record_set *set, bool strict)
{
    audit_records_finish(set);
    audit_findings findings;
    memset(&findings, 0, sizeof findings);
    audit_verify_options options = options_with(strict);
    ck_assert(audit_verify(set, &options, &findings));
    return findings;
}

static size_t count(const audit_findings *findings, audit_check check, audit_severity severity)
{
    size_t found = 0;
    for (size_t index = 0; index < findings->count; index++) {
        found +=
            findings->items[index].check == check && findings->items[index].severity == severity;
    }
    return found;
}

static size_t violations(const audit_findings *findings)
{
    return findings->by_severity[AUDIT_SEVERITY_VIOLATION];
}

START_TEST(test_audit_verify_clean_flip_with_accepted_restart_passes)
{
    audit_record_set set = {0};
    add_clean_flip(&set);
    add_verdict(&set, 2, 5, OTHER_WORKSPACE, LIVENESS_RUNNING, NOW_MS - MINUTE_MS);
    audit_findings findings = verify(&set, true);
    ck_assert_uint_eq(findings.count, 0);
    ck_assert_uint_eq(findings.actions_checked, 2);
    ck_assert_uint_eq(findings.flips_checked, 1);
    audit_findings_free(&findings);
    audit_records_free(&set);
}
END_TEST

START_TEST(test_audit_verify_flip_on_running_verdict_is_a_violation)
{
    audit_record_set set = {0};
    add_verdict(&set, 0, 3, WORKSPACE, LIVENESS_RUNNING, NOW_MS - 2 * MINUTE_MS);
    add_action(&set, (action_spec){.verdict_partition = 0,
                                   .verdict_offset = 3,
                                   .outcome = ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED,
                                   .acted_at = NOW_MS - MINUTE_MS});
    add_action(&set, (action_spec){.offset = 1,
                                   .verdict_partition = 0,
                                   .verdict_offset = 3,
                                   .outcome = ACTION_OUTCOME_RESTART_ACCEPTED,
                                   .acted_at = NOW_MS - MINUTE_MS + 1});
    audit_findings findings = verify(&set, false);
    /* Both Actions acted on a RUNNING verdict; nothing else is wrong. */
    ck_assert_uint_eq(
        count(&findings, AUDIT_CHECK_ACTION_ON_RUNNING_VERDICT, AUDIT_SEVERITY_VIOLATION), 2);
    ck_assert_uint_eq(violations(&findings), 2);
    ck_assert(findings.items[0].has_action && findings.items[0].has_verdict);
    ck_assert_int_eq(findings.items[0].verdict_offset, 3);
    ck_assert_str_eq(findings.items[0].workspace_id, WORKSPACE);
    audit_findings_free(&findings);
    audit_records_free(&set);
}
END_TEST

START_TEST(test_audit_verify_skip_on_unknown_verdict_is_a_violation)
{
    audit_record_set set = {0};
    add_verdict(&set, 0, 3, WORKSPACE, LIVENESS_UNKNOWN, NOW_MS - 2 * MINUTE_MS);
    add_action(&set, (action_spec){.verdict_partition = 0,
                                   .verdict_offset = 3,
                                   .outcome = ACTION_OUTCOME_SKIPPED_NOT_ONLINE,
                                   .acted_at = NOW_MS - MINUTE_MS});
    audit_findings findings = verify(&set, false);
    ck_assert_uint_eq(
        count(&findings, AUDIT_CHECK_ACTION_ON_UNKNOWN_VERDICT, AUDIT_SEVERITY_VIOLATION), 1);
    ck_assert_uint_eq(violations(&findings), 1);
    audit_findings_free(&findings);
    audit_records_free(&set);
}
END_TEST

/* One flip acted `age_ms` after (negative: before) its NOT_RUNNING verdict, restart accepted. */
static audit_findings verify_flip_of_age(int64_t age_ms)
{
    audit_record_set set = {0};
    int64_t checked = NOW_MS - 30 * MINUTE_MS;
    add_verdict(&set, 0, 1, WORKSPACE, LIVENESS_NOT_RUNNING, checked);
    add_action(&set, (action_spec){.verdict_partition = 0,
                                   .verdict_offset = 1,
                                   .outcome = ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED,
                                   .acted_at = checked + age_ms,
                                   .verdict_checked_at = checked});
    add_action(&set, (action_spec){.offset = 1,
                                   .verdict_partition = 0,
                                   .verdict_offset = 1,
                                   .outcome = ACTION_OUTCOME_RESTART_ACCEPTED,
                                   .acted_at = checked + age_ms + 1000});
    audit_findings findings = verify(&set, false);
    audit_records_free(&set);
    return findings;
}

START_TEST(test_audit_verify_flip_older_than_max_age_is_stale_and_max_age_itself_is_fresh)
{
    audit_findings findings = verify_flip_of_age(5 * MINUTE_MS + 1);
    ck_assert_uint_eq(count(&findings, AUDIT_CHECK_FLIP_ON_STALE_VERDICT, AUDIT_SEVERITY_VIOLATION),
                      1);
    ck_assert_uint_eq(violations(&findings), 1);
    audit_findings_free(&findings);

    findings = verify_flip_of_age(5 * MINUTE_MS);
    ck_assert_uint_eq(findings.count, 0);
    audit_findings_free(&findings);
}
END_TEST

START_TEST(test_audit_verify_flip_on_verdict_from_the_future_is_stale)
{
    audit_findings findings = verify_flip_of_age(-(5 * MINUTE_MS + 1));
    ck_assert_uint_eq(count(&findings, AUDIT_CHECK_FLIP_ON_STALE_VERDICT, AUDIT_SEVERITY_VIOLATION),
                      1);
    audit_findings_free(&findings);
    findings = verify_flip_of_age(-MINUTE_MS);
    ck_assert_uint_eq(findings.count, 0);
    audit_findings_free(&findings);
}
END_TEST

START_TEST(test_audit_verify_flip_about_another_workspace_or_instance_is_a_mismatch)
{
    audit_record_set set = {0};
    int64_t checked = NOW_MS - 10 * MINUTE_MS;
    add_verdict(&set, 0, 1, OTHER_WORKSPACE, LIVENESS_NOT_RUNNING, checked);
    add_verdict(&set, 0, 2, WORKSPACE, LIVENESS_NOT_RUNNING, checked);
    add_verdict(&set, 0, 3, WORKSPACE, LIVENESS_NOT_RUNNING, checked);
    /* About WORKSPACE, but 0:1 is OTHER_WORKSPACE's verdict. */
    add_action(&set, (action_spec){.offset = 0,
                                   .verdict_partition = 0,
                                   .verdict_offset = 1,
                                   .outcome = ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED,
                                   .acted_at = checked + 1000});
    /* Another instance than the verdict's. */
    add_action(&set, (action_spec){.offset = 1,
                                   .instance = "i-other",
                                   .verdict_partition = 0,
                                   .verdict_offset = 2,
                                   .outcome = ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED,
                                   .acted_at = checked + 1000});
    /* States another checked_at than the verdict has. */
    add_action(&set, (action_spec){.offset = 2,
                                   .verdict_partition = 0,
                                   .verdict_offset = 3,
                                   .outcome = ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED,
                                   .acted_at = checked + 1000,
                                   .verdict_checked_at = checked - 7});
    for (int64_t offset = 1; offset <= 3; offset++) {
        add_action(&set, (action_spec){.offset = 10 + offset,
                                       .verdict_partition = 0,
                                       .verdict_offset = offset,
                                       .outcome = ACTION_OUTCOME_RESTART_ACCEPTED,
                                       .acted_at = checked + 2000});
    }
    audit_findings findings = verify(&set, false);
    ck_assert_uint_eq(count(&findings, AUDIT_CHECK_FLIP_VERDICT_MISMATCH, AUDIT_SEVERITY_VIOLATION),
                      3);
    ck_assert_uint_eq(violations(&findings), 3);
    audit_findings_free(&findings);
    audit_records_free(&set);
}
END_TEST

START_TEST(test_audit_verify_flip_naming_an_offset_read_without_its_verdict_is_not_found)
{
    audit_record_set set = {0};
    add_action(&set, (action_spec){.verdict_partition = 2,
                                   .verdict_offset = 50,
                                   .outcome = ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED,
                                   .acted_at = NOW_MS - MINUTE_MS});
    add_action(&set, (action_spec){.offset = 1,
                                   .verdict_partition = 2,
                                   .verdict_offset = 50,
                                   .outcome = ACTION_OUTCOME_RESTART_ACCEPTED,
                                   .acted_at = NOW_MS - MINUTE_MS});
    audit_findings findings = verify(&set, false);
    ck_assert_uint_eq(
        count(&findings, AUDIT_CHECK_FLIP_VERDICT_NOT_FOUND, AUDIT_SEVERITY_VIOLATION), 1);
    audit_findings_free(&findings);
    audit_records_free(&set);
}
END_TEST

START_TEST(test_audit_verify_flip_on_undecodable_verdict_is_a_violation)
{
    audit_record_set set = {0};
    audit_position position = {2, 50, NOW_MS, NULL};
    ck_assert(audit_records_add_undecodable(&set, AUDIT_TOPIC_VERDICTS, &position,
                                            CODEC_ERROR_BAD_MAGIC));
    add_action(&set, (action_spec){.verdict_partition = 2,
                                   .verdict_offset = 50,
                                   .outcome = ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED,
                                   .acted_at = NOW_MS - MINUTE_MS});
    add_action(&set, (action_spec){.offset = 1,
                                   .verdict_partition = 2,
                                   .verdict_offset = 50,
                                   .outcome = ACTION_OUTCOME_RESTART_FAILED,
                                   .acted_at = NOW_MS - MINUTE_MS});
    audit_findings findings = verify(&set, false);
    ck_assert_uint_eq(
        count(&findings, AUDIT_CHECK_FLIP_ON_UNDECODABLE_VERDICT, AUDIT_SEVERITY_VIOLATION), 1);
    ck_assert_uint_eq(violations(&findings), 1);
    audit_findings_free(&findings);
    audit_records_free(&set);
}
END_TEST

/* A fresh flip (by its own word) of a verdict at 3:500, beyond the range read. */
static void add_flip_outside_range(audit_record_set *set, int64_t stated_age_ms)
{
    int64_t acted = NOW_MS - MINUTE_MS;
    add_action(set, (action_spec){.verdict_partition = 3,
                                  .verdict_offset = 500,
                                  .outcome = ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED,
                                  .acted_at = acted,
                                  .verdict_checked_at = acted - stated_age_ms});
    add_action(set, (action_spec){.offset = 1,
                                  .verdict_partition = 3,
                                  .verdict_offset = 500,
                                  .outcome = ACTION_OUTCOME_RESTART_ACCEPTED,
                                  .acted_at = acted});
}

START_TEST(test_audit_verify_verdict_outside_range_is_unverifiable_unless_strict)
{
    audit_record_set set = {0};
    add_flip_outside_range(&set, 1000);
    audit_findings findings = verify(&set, false);
    ck_assert_uint_eq(
        count(&findings, AUDIT_CHECK_VERDICT_OUTSIDE_RANGE, AUDIT_SEVERITY_UNVERIFIABLE), 1);
    ck_assert_uint_eq(violations(&findings), 0);
    audit_findings_free(&findings);
    audit_records_free(&set);

    memset(&set, 0, sizeof set);
    add_flip_outside_range(&set, 1000);
    findings = verify(&set, true);
    ck_assert_uint_eq(count(&findings, AUDIT_CHECK_VERDICT_OUTSIDE_RANGE, AUDIT_SEVERITY_VIOLATION),
                      1);
    audit_findings_free(&findings);
    audit_records_free(&set);
}
END_TEST

START_TEST(test_audit_verify_outside_range_flip_is_still_judged_by_its_own_checked_at)
{
    audit_record_set set = {0};
    add_flip_outside_range(&set, 20 * MINUTE_MS);
    audit_findings findings = verify(&set, false);
    ck_assert_uint_eq(count(&findings, AUDIT_CHECK_FLIP_ON_STALE_VERDICT, AUDIT_SEVERITY_VIOLATION),
                      1);
    audit_findings_free(&findings);
    audit_records_free(&set);
}
END_TEST

START_TEST(test_audit_verify_action_naming_another_verdict_topic_is_unverifiable)
{
    audit_record_set set = {0};
    add_verdict(&set, 1, 10, WORKSPACE, LIVENESS_RUNNING, NOW_MS - MINUTE_MS);
    add_action(&set, (action_spec){.verdict_topic = "other.verdicts",
                                   .verdict_partition = 1,
                                   .verdict_offset = 10,
                                   .outcome = ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED,
                                   .acted_at = NOW_MS - MINUTE_MS});
    add_action(&set, (action_spec){.offset = 1,
                                   .verdict_topic = "other.verdicts",
                                   .verdict_partition = 1,
                                   .verdict_offset = 10,
                                   .outcome = ACTION_OUTCOME_RESTART_ACCEPTED,
                                   .acted_at = NOW_MS - MINUTE_MS});
    audit_findings findings = verify(&set, false);
    /* The RUNNING verdict at 1:10 of *our* topic is not the one it names. */
    ck_assert_uint_eq(
        count(&findings, AUDIT_CHECK_VERDICT_OUTSIDE_RANGE, AUDIT_SEVERITY_UNVERIFIABLE), 1);
    ck_assert_uint_eq(violations(&findings), 0);
    audit_findings_free(&findings);
    audit_records_free(&set);
}
END_TEST

START_TEST(test_audit_verify_second_flip_of_a_verdict_is_a_violation)
{
    audit_record_set set = {0};
    add_clean_flip(&set);
    int64_t checked = NOW_MS - 10 * MINUTE_MS;
    /* Another actuator flipped the same verdict again, a second later. */
    add_action(&set, (action_spec){.partition = 1,
                                   .offset = 2,
                                   .verdict_partition = 1,
                                   .verdict_offset = 10,
                                   .outcome = ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED,
                                   .acted_at = checked + 31000,
                                   .verdict_checked_at = checked});
    audit_findings findings = verify(&set, false);
    ck_assert_uint_eq(count(&findings, AUDIT_CHECK_VERDICT_FLIPPED_TWICE, AUDIT_SEVERITY_VIOLATION),
                      1);
    ck_assert_uint_eq(violations(&findings), 1);
    /* The finding points at the second flip. */
    ck_assert_int_eq(findings.items[0].action_offset, 2);
    audit_findings_free(&findings);
    audit_records_free(&set);
}
END_TEST

START_TEST(test_audit_verify_republished_copy_is_a_note_not_a_second_flip)
{
    audit_record_set set = {0};
    add_clean_flip(&set);
    int64_t checked = NOW_MS - 10 * MINUTE_MS;
    /* The outbox sent the flip again after a crash: byte-for-byte the same Action. */
    add_action(&set, (action_spec){.partition = 1,
                                   .offset = 7,
                                   .verdict_partition = 1,
                                   .verdict_offset = 10,
                                   .outcome = ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED,
                                   .acted_at = checked + 30000,
                                   .verdict_checked_at = checked});
    audit_findings findings = verify(&set, false);
    ck_assert_uint_eq(violations(&findings), 0);
    ck_assert_uint_eq(count(&findings, AUDIT_CHECK_ACTION_REPUBLISHED, AUDIT_SEVERITY_NOTE), 1);
    ck_assert_int_eq(findings.items[0].action_offset, 7);
    ck_assert_uint_eq(findings.flips_checked, 1);
    audit_findings_free(&findings);
    audit_records_free(&set);
}
END_TEST

/* A flip `ago_ms` before now, followed by the given restart outcomes (UNSPECIFIED = none). */
static audit_findings verify_restart(int64_t ago_ms, action_outcome first, action_outcome second,
                                     bool strict)
{
    audit_record_set set = {0};
    int64_t acted = NOW_MS - ago_ms;
    add_verdict(&set, 0, 1, WORKSPACE, LIVENESS_NOT_RUNNING, acted - 1000);
    add_action(&set, (action_spec){.verdict_partition = 0,
                                   .verdict_offset = 1,
                                   .outcome = ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED,
                                   .acted_at = acted});
    action_outcome followers[2] = {first, second};
    for (int index = 0; index < 2; index++) {
        if (followers[index] != ACTION_OUTCOME_UNSPECIFIED) {
            add_action(&set, (action_spec){.offset = 1 + index,
                                           .verdict_partition = 0,
                                           .verdict_offset = 1,
                                           .outcome = followers[index],
                                           .acted_at = acted + 1000 * (index + 1),
                                           .attempt = index + 1});
        }
    }
    audit_findings findings = verify(&set, strict);
    audit_records_free(&set);
    return findings;
}

START_TEST(test_audit_verify_flip_without_restart_after_the_grace_is_a_violation)
{
    audit_findings findings = verify_restart(2 * 60 * MINUTE_MS, ACTION_OUTCOME_UNSPECIFIED,
                                             ACTION_OUTCOME_UNSPECIFIED, false);
    ck_assert_uint_eq(count(&findings, AUDIT_CHECK_FLIP_WITHOUT_RESTART, AUDIT_SEVERITY_VIOLATION),
                      1);
    audit_findings_free(&findings);
}
END_TEST

START_TEST(test_audit_verify_flip_without_restart_within_the_grace_is_pending)
{
    audit_findings findings = verify_restart(10 * MINUTE_MS, ACTION_OUTCOME_UNSPECIFIED,
                                             ACTION_OUTCOME_UNSPECIFIED, false);
    ck_assert_uint_eq(count(&findings, AUDIT_CHECK_RESTART_PENDING, AUDIT_SEVERITY_PENDING), 1);
    ck_assert_uint_eq(violations(&findings), 0);
    audit_findings_free(&findings);
    findings = verify_restart(10 * MINUTE_MS, ACTION_OUTCOME_UNSPECIFIED,
                              ACTION_OUTCOME_UNSPECIFIED, true);
    ck_assert_uint_eq(count(&findings, AUDIT_CHECK_RESTART_PENDING, AUDIT_SEVERITY_VIOLATION), 1);
    audit_findings_free(&findings);
}
END_TEST

START_TEST(test_audit_verify_restart_still_retrying_is_pending_even_after_the_grace)
{
    audit_findings findings = verify_restart(3 * 60 * MINUTE_MS, ACTION_OUTCOME_RESTART_RETRIED,
                                             ACTION_OUTCOME_RESTART_RETRIED, false);
    ck_assert_uint_eq(count(&findings, AUDIT_CHECK_RESTART_PENDING, AUDIT_SEVERITY_PENDING), 1);
    ck_assert_uint_eq(violations(&findings), 0);
    audit_findings_free(&findings);
}
END_TEST

START_TEST(test_audit_verify_restart_concludes_with_accepted_failed_or_a_worker_skip)
{
    static const action_outcome conclusions[] = {
        ACTION_OUTCOME_RESTART_ACCEPTED, ACTION_OUTCOME_RESTART_FAILED,
        ACTION_OUTCOME_SKIPPED_ROW_MISSING, ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED};
    for (size_t index = 0; index < sizeof conclusions / sizeof conclusions[0]; index++) {
        audit_findings findings = verify_restart(3 * 60 * MINUTE_MS, ACTION_OUTCOME_RESTART_RETRIED,
                                                 conclusions[index], true);
        ck_assert_msg(findings.count == 0, "%s should conclude the restart",
                      action_outcome_name(conclusions[index]));
        audit_findings_free(&findings);
    }
}
END_TEST

START_TEST(test_audit_verify_dry_run_flip_is_a_violation)
{
    audit_record_set set = {0};
    add_verdict(&set, 0, 1, WORKSPACE, LIVENESS_NOT_RUNNING, NOW_MS - MINUTE_MS);
    add_action(&set, (action_spec){.verdict_partition = 0,
                                   .verdict_offset = 1,
                                   .outcome = ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED,
                                   .acted_at = NOW_MS - MINUTE_MS + 500,
                                   .dry_run = true});
    audit_findings findings = verify(&set, false);
    ck_assert_uint_eq(count(&findings, AUDIT_CHECK_FLIP_MARKED_DRY_RUN, AUDIT_SEVERITY_VIOLATION),
                      1);
    /* A dry run restarts nothing, so no restart is expected of it. */
    ck_assert_uint_eq(violations(&findings), 1);
    audit_findings_free(&findings);
    audit_records_free(&set);
}
END_TEST

START_TEST(test_audit_verify_skips_on_not_running_verdicts_are_fine)
{
    audit_record_set set = {0};
    add_verdict(&set, 0, 1, WORKSPACE, LIVENESS_NOT_RUNNING, NOW_MS - 20 * MINUTE_MS);
    add_action(&set, (action_spec){.verdict_partition = 0,
                                   .verdict_offset = 1,
                                   .outcome = ACTION_OUTCOME_SKIPPED_STALE,
                                   .acted_at = NOW_MS});
    add_verdict(&set, 0, 2, WORKSPACE, LIVENESS_NOT_RUNNING, NOW_MS - MINUTE_MS);
    add_action(&set, (action_spec){.offset = 1,
                                   .verdict_partition = 0,
                                   .verdict_offset = 2,
                                   .outcome = ACTION_OUTCOME_SKIPPED_BREAKER_OPEN,
                                   .acted_at = NOW_MS});
    audit_findings findings = verify(&set, true);
    ck_assert_uint_eq(findings.count, 0);
    ck_assert_uint_eq(findings.flips_checked, 0);
    audit_findings_free(&findings);
    audit_records_free(&set);
}
END_TEST

START_TEST(test_audit_verify_lists_violations_before_other_findings)
{
    audit_record_set set = {0};
    add_flip_outside_range(&set, 1000);                                       /* unverifiable */
    add_verdict(&set, 0, 3, WORKSPACE, LIVENESS_RUNNING, NOW_MS - MINUTE_MS); /* violation */
    add_action(&set, (action_spec){.offset = 9,
                                   .verdict_partition = 0,
                                   .verdict_offset = 3,
                                   .outcome = ACTION_OUTCOME_SKIPPED_STALE,
                                   .acted_at = NOW_MS});
    audit_findings findings = verify(&set, false);
    ck_assert_uint_eq(findings.count, 2);
    ck_assert_int_eq(findings.items[0].severity, AUDIT_SEVERITY_VIOLATION);
    ck_assert_int_eq(findings.items[1].severity, AUDIT_SEVERITY_UNVERIFIABLE);
    audit_findings_free(&findings);
    audit_records_free(&set);
}
END_TEST

START_TEST(test_audit_check_and_severity_names_are_stable)
{
    ck_assert_str_eq(audit_check_name(AUDIT_CHECK_ACTION_ON_RUNNING_VERDICT),
                     "action_on_running_verdict");
    ck_assert_str_eq(audit_check_name(AUDIT_CHECK_VERDICT_FLIPPED_TWICE), "verdict_flipped_twice");
    ck_assert_str_eq(audit_check_name(AUDIT_CHECK_DATABASE_FLIP_NOT_ON_TOPIC),
                     "database_flip_not_on_topic");
    for (int check = 0; check < AUDIT_CHECK_COUNT; check++) {
        ck_assert_str_ne(audit_check_name((audit_check)check), "invalid");
    }
    ck_assert_str_eq(audit_severity_name(AUDIT_SEVERITY_UNVERIFIABLE), "unverifiable");
}
END_TEST

/* ---- the database cross-check ---- */

static audit_database_flip database_flip(int32_t partition, int64_t offset, int64_t acted_at,
                                         bool published)
{
    return (audit_database_flip){
        copy("reconciler-actuator"),   copy(WORKSPACE), partition, offset, acted_at, published,
        published ? acted_at + 100 : 0};
}

typedef struct {
    audit_record_set set;
    audit_database_snapshot snapshot;
    audit_cross_check_options options;
} cross_fixture;

/* The clean flip of verdict 1:10 on the topic; the database agrees (flip row, restart row). */
static void cross_fixture_init(cross_fixture *fixture)
{
    memset(fixture, 0, sizeof *fixture);
    add_clean_flip(&fixture->set);
    audit_records_finish(&fixture->set);
    int64_t acted = NOW_MS - 10 * MINUTE_MS + 30000;
    fixture->snapshot.published_flips = calloc(4, sizeof(audit_database_flip));
    fixture->snapshot.published_flips[0] = database_flip(1, 10, acted, true);
    fixture->snapshot.published_flip_count = 1;
    fixture->snapshot.flips = calloc(4, sizeof(audit_database_flip));
    fixture->snapshot.flips[0] = database_flip(1, 10, acted, true);
    fixture->snapshot.flip_count = 1;
    fixture->snapshot.restarts = calloc(4, sizeof(audit_database_restart));
    fixture->snapshot.restarts[0] = (audit_database_restart){1, 10, "accepted"};
    fixture->snapshot.restart_count = 1;
    fixture->snapshot.database_now_ms = NOW_MS;
    fixture->options = (audit_cross_check_options){
        .retention_ms = 168 * 60 * MINUTE_MS,
        .compare_database_to_topic = true,
        .window_start_ms = INT64_MIN,
        .window_end_ms = INT64_MAX,
    };
}

static audit_findings cross_check(cross_fixture *fixture)
{
    audit_findings findings;
    memset(&findings, 0, sizeof findings);
    ck_assert(audit_cross_check(&fixture->set, VERDICT_TOPIC, &fixture->snapshot, &fixture->options,
                                &findings));
    return findings;
}

static void cross_fixture_free(cross_fixture *fixture)
{
    audit_records_free(&fixture->set);
    audit_database_snapshot_free(&fixture->snapshot);
}

START_TEST(test_audit_cross_check_agreeing_database_and_topic_pass)
{
    cross_fixture fixture;
    cross_fixture_init(&fixture);
    audit_findings findings = cross_check(&fixture);
    ck_assert_uint_eq(findings.count, 0);
    audit_findings_free(&findings);
    cross_fixture_free(&fixture);
}
END_TEST

START_TEST(test_audit_cross_check_topic_flip_missing_from_the_database_is_a_violation)
{
    cross_fixture fixture;
    cross_fixture_init(&fixture);
    fixture.snapshot.flips[0].verdict_offset = 11; /* the database knows another flip */
    fixture.snapshot.restarts[0].verdict_offset = 11;
    fixture.options.compare_database_to_topic = false;
    audit_findings findings = cross_check(&fixture);
    ck_assert_uint_eq(
        count(&findings, AUDIT_CHECK_TOPIC_FLIP_NOT_IN_DATABASE, AUDIT_SEVERITY_VIOLATION), 1);
    ck_assert_uint_eq(
        count(&findings, AUDIT_CHECK_FLIP_WITHOUT_RESTART_ROW, AUDIT_SEVERITY_VIOLATION), 1);
    audit_findings_free(&findings);
    cross_fixture_free(&fixture);
}
END_TEST

START_TEST(test_audit_cross_check_flip_older_than_the_retention_is_not_expected_in_the_database)
{
    cross_fixture fixture;
    cross_fixture_init(&fixture);
    /* The database has neither the flip nor its restart any more... */
    fixture.snapshot.flips[0].verdict_offset = 999;
    fixture.snapshot.restarts[0].verdict_offset = 999;
    fixture.options.compare_database_to_topic = false;
    fixture.options.retention_ms = 5 * MINUTE_MS; /* ...because they were pruned long ago */
    audit_findings findings = cross_check(&fixture);
    ck_assert_uint_eq(findings.count, 0);
    audit_findings_free(&findings);
    cross_fixture_free(&fixture);
}
END_TEST

START_TEST(test_audit_cross_check_published_database_flip_missing_on_the_topic_is_a_violation)
{
    cross_fixture fixture;
    cross_fixture_init(&fixture);
    fixture.snapshot.published_flips[1] = database_flip(2, 77, NOW_MS - 5 * MINUTE_MS, true);
    fixture.snapshot.published_flip_count = 2;
    audit_findings findings = cross_check(&fixture);
    ck_assert_uint_eq(
        count(&findings, AUDIT_CHECK_DATABASE_FLIP_NOT_ON_TOPIC, AUDIT_SEVERITY_VIOLATION), 1);
    ck_assert(!findings.items[0].has_action);
    ck_assert_int_eq(findings.items[0].verdict_partition, 2);
    ck_assert_int_eq(findings.items[0].verdict_offset, 77);
    audit_findings_free(&findings);
    cross_fixture_free(&fixture);
}
END_TEST

START_TEST(test_audit_cross_check_database_rows_outside_the_window_are_not_compared)
{
    cross_fixture fixture;
    cross_fixture_init(&fixture);
    int64_t acted = NOW_MS - 5 * MINUTE_MS;
    fixture.snapshot.published_flips[1] = database_flip(2, 77, acted, true);
    fixture.snapshot.published_flip_count = 2;
    fixture.options.window_end_ms = acted; /* published at acted + 100: after the range */
    audit_findings findings = cross_check(&fixture);
    ck_assert_uint_eq(findings.count, 0);
    audit_findings_free(&findings);

    fixture.options.window_end_ms = INT64_MAX;
    fixture.options.window_start_ms = acted + 100; /* published at the start: excluded */
    findings = cross_check(&fixture);
    ck_assert_uint_eq(findings.count, 0);
    audit_findings_free(&findings);

    fixture.options.window_start_ms = INT64_MIN;
    fixture.options.compare_database_to_topic = false;
    findings = cross_check(&fixture);
    ck_assert_uint_eq(findings.count, 0);
    audit_findings_free(&findings);
    cross_fixture_free(&fixture);
}
END_TEST

START_TEST(test_audit_cross_check_unpublished_database_flip_is_pending)
{
    cross_fixture fixture;
    cross_fixture_init(&fixture);
    fixture.snapshot.published_flips[1] = database_flip(2, 77, NOW_MS - MINUTE_MS, false);
    fixture.snapshot.published_flip_count = 2;
    audit_findings findings = cross_check(&fixture);
    ck_assert_uint_eq(
        count(&findings, AUDIT_CHECK_DATABASE_FLIP_UNPUBLISHED, AUDIT_SEVERITY_PENDING), 1);
    ck_assert_uint_eq(violations(&findings), 0);
    audit_findings_free(&findings);
    cross_fixture_free(&fixture);
}
END_TEST

START_TEST(test_audit_cross_check_workspace_filter_ignores_other_workspaces_rows)
{
    cross_fixture fixture;
    cross_fixture_init(&fixture);
    fixture.snapshot.published_flips[1] = database_flip(2, 77, NOW_MS - 5 * MINUTE_MS, true);
    free(fixture.snapshot.published_flips[1].workspace_id);
    fixture.snapshot.published_flips[1].workspace_id = copy(OTHER_WORKSPACE);
    fixture.snapshot.published_flip_count = 2;
    fixture.options.workspace_id = WORKSPACE;
    audit_findings findings = cross_check(&fixture);
    ck_assert_uint_eq(findings.count, 0);
    audit_findings_free(&findings);
    cross_fixture_free(&fixture);
}
END_TEST

START_TEST(test_audit_database_session_is_read_only_and_keeps_the_urls_options)
{
    char options[256];
    ck_assert(audit_database_session_options(NULL, 60000, options, sizeof options));
    ck_assert_str_eq(options, "-c default_transaction_read_only=on -c statement_timeout=60000");
    ck_assert(audit_database_session_options("-c search_path=ops", 5000, options, sizeof options));
    /* Ours come last, so they win over anything the URL says. */
    ck_assert_str_eq(options, "-c search_path=ops -c default_transaction_read_only=on -c "
                              "statement_timeout=5000");
    ck_assert(!audit_database_session_options("-c x=1", 5000, options, 16));
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("audit_verify");
    TCase *invariants = tcase_create("invariants");
    tcase_add_test(invariants, test_audit_verify_clean_flip_with_accepted_restart_passes);
    tcase_add_test(invariants, test_audit_verify_flip_on_running_verdict_is_a_violation);
    tcase_add_test(invariants, test_audit_verify_skip_on_unknown_verdict_is_a_violation);
    tcase_add_test(invariants,
                   test_audit_verify_flip_older_than_max_age_is_stale_and_max_age_itself_is_fresh);
    tcase_add_test(invariants, test_audit_verify_flip_on_verdict_from_the_future_is_stale);
    tcase_add_test(invariants,
                   test_audit_verify_flip_about_another_workspace_or_instance_is_a_mismatch);
    tcase_add_test(invariants,
                   test_audit_verify_flip_naming_an_offset_read_without_its_verdict_is_not_found);
    tcase_add_test(invariants, test_audit_verify_flip_on_undecodable_verdict_is_a_violation);
    tcase_add_test(invariants,
                   test_audit_verify_verdict_outside_range_is_unverifiable_unless_strict);
    tcase_add_test(invariants,
                   test_audit_verify_outside_range_flip_is_still_judged_by_its_own_checked_at);
    tcase_add_test(invariants,
                   test_audit_verify_action_naming_another_verdict_topic_is_unverifiable);
    tcase_add_test(invariants, test_audit_verify_second_flip_of_a_verdict_is_a_violation);
    tcase_add_test(invariants, test_audit_verify_republished_copy_is_a_note_not_a_second_flip);
    tcase_add_test(invariants,
                   test_audit_verify_flip_without_restart_after_the_grace_is_a_violation);
    tcase_add_test(invariants, test_audit_verify_flip_without_restart_within_the_grace_is_pending);
    tcase_add_test(invariants,
                   test_audit_verify_restart_still_retrying_is_pending_even_after_the_grace);
    tcase_add_test(invariants,
                   test_audit_verify_restart_concludes_with_accepted_failed_or_a_worker_skip);
    tcase_add_test(invariants, test_audit_verify_dry_run_flip_is_a_violation);
    tcase_add_test(invariants, test_audit_verify_skips_on_not_running_verdicts_are_fine);
    tcase_add_test(invariants, test_audit_verify_lists_violations_before_other_findings);
    tcase_add_test(invariants, test_audit_check_and_severity_names_are_stable);
    suite_add_tcase(suite, invariants);
    TCase *cross = tcase_create("cross_check");
    tcase_add_test(cross, test_audit_cross_check_agreeing_database_and_topic_pass);
    tcase_add_test(cross,
                   test_audit_cross_check_topic_flip_missing_from_the_database_is_a_violation);
    tcase_add_test(
        cross,
        test_audit_cross_check_flip_older_than_the_retention_is_not_expected_in_the_database);
    tcase_add_test(
        cross, test_audit_cross_check_published_database_flip_missing_on_the_topic_is_a_violation);
    tcase_add_test(cross, test_audit_cross_check_database_rows_outside_the_window_are_not_compared);
    tcase_add_test(cross, test_audit_cross_check_unpublished_database_flip_is_pending);
    tcase_add_test(cross, test_audit_cross_check_workspace_filter_ignores_other_workspaces_rows);
    tcase_add_test(cross, test_audit_database_session_is_read_only_and_keeps_the_urls_options);
    suite_add_tcase(suite, cross);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
