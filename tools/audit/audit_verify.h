/* audit_verify.h — the invariants --verify checks, and the findings it reports.
 *
 * For: judging the Actions read against the Verdicts they name:
 *   1. every flip (FLIPPED_RESTART_REQUESTED) refers to a NOT_RUNNING verdict about the same
 *      workspace and instance that was fresh (|acted_at - checked_at| <= max age) when acted on;
 *   2. no action of any kind on a RUNNING or UNKNOWN verdict;
 *   3. no verdict flipped twice (a republished copy of one Action is not a second flip);
 *   4. every flip has a restart outcome: RESTART_ACCEPTED, RESTART_FAILED, or the restart
 *      worker's SKIPPED_ROW_MISSING / SKIPPED_INSTANCE_CHANGED (the restart was no longer
 *      wanted). Only RESTART_RETRIED so far is "pending"; nothing at all is pending within the
 *      restart grace after the flip and a violation after it.
 * A flip whose verdict lies outside the range read (or on another topic) is "unverifiable":
 * reported, not a violation, unless strict. Pure: `now` comes in with the options.
 * Not for: the database cross-check (audit_cross_check.h), which adds to the same findings. */
#ifndef RECONCILER_AUDIT_VERIFY_H
#define RECONCILER_AUDIT_VERIFY_H

#include "audit_range.h"
#include "audit_records.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    AUDIT_SEVERITY_VIOLATION = 0, /* --verify exits 1 */
    AUDIT_SEVERITY_UNVERIFIABLE,  /* could not be checked from what was read */
    AUDIT_SEVERITY_PENDING,       /* not finished yet, fine so far */
    AUDIT_SEVERITY_NOTE,          /* worth knowing, never a problem */
    AUDIT_SEVERITY_COUNT
} audit_severity;

/* "violation", "unverifiable", "pending", "note". */
const char *audit_severity_name(audit_severity severity);

/* Every check has a stable snake_case name (audit_check_name), used in both output formats. */
typedef enum {
    AUDIT_CHECK_ACTION_ON_RUNNING_VERDICT = 0,
    AUDIT_CHECK_ACTION_ON_UNKNOWN_VERDICT,
    AUDIT_CHECK_FLIP_ON_STALE_VERDICT,
    AUDIT_CHECK_FLIP_VERDICT_MISMATCH,  /* verdict about another workspace/instance/time */
    AUDIT_CHECK_FLIP_VERDICT_NOT_FOUND, /* offset read, but no verdict of this workspace */
    AUDIT_CHECK_FLIP_ON_UNDECODABLE_VERDICT,
    AUDIT_CHECK_FLIP_MARKED_DRY_RUN, /* a dry run never flips */
    AUDIT_CHECK_VERDICT_FLIPPED_TWICE,
    AUDIT_CHECK_FLIP_WITHOUT_RESTART,
    AUDIT_CHECK_VERDICT_OUTSIDE_RANGE, /* unverifiable (violation with --strict) */
    AUDIT_CHECK_RESTART_PENDING,       /* pending (violation with --strict) */
    AUDIT_CHECK_ACTION_REPUBLISHED,    /* note */
    AUDIT_CHECK_TOPIC_FLIP_NOT_IN_DATABASE,
    AUDIT_CHECK_DATABASE_FLIP_NOT_ON_TOPIC,
    AUDIT_CHECK_FLIP_WITHOUT_RESTART_ROW,
    AUDIT_CHECK_DATABASE_FLIP_UNPUBLISHED, /* pending: the outbox has not sent it yet */
    AUDIT_CHECK_COUNT
} audit_check;

const char *audit_check_name(audit_check check);

typedef struct {
    audit_check check;
    audit_severity severity;
    char *workspace_id; /* owned; may be NULL */
    bool has_action;    /* the Action record this is about, on the actions topic */
    int32_t action_partition;
    int64_t action_offset;
    bool has_verdict; /* the verdict coordinates the Action (or database row) names */
    int32_t verdict_partition;
    int64_t verdict_offset;
    int64_t at_ms;    /* acted_at, for ordering */
    char detail[320]; /* one human sentence */
} audit_finding;

typedef struct {
    audit_finding *items;
    size_t count, capacity;
    size_t by_severity[AUDIT_SEVERITY_COUNT];
    size_t actions_checked; /* Actions judged (copies excluded) */
    size_t flips_checked;
} audit_findings;

typedef struct {
    const char *verdict_topic;                /* the topic name Actions must name */
    const audit_partition_plan *verdict_plan; /* what was read of it */
    int32_t verdict_partition_count;
    int64_t max_verdict_age_ms; /* the actuator's ACTUATOR_MAX_VERDICT_AGE */
    int64_t restart_grace_ms;   /* how long a flip may go without any restart outcome */
    int64_t now_ms;             /* reference time for the grace (wall clock) */
    bool strict;                /* unverifiable and pending count as violations */
} audit_verify_options;

/* Checks every Action of a finished record set (audit_records_finish) and appends findings.
 * false only on allocation failure (findings so far are kept and must still be freed). */
bool audit_verify(const audit_record_set *records, const audit_verify_options *options,
                  audit_findings *findings);

/* Appends one finding (severity raised to a violation when strict and it is unverifiable or
 * pending). false on allocation failure. */
bool audit_findings_add(audit_findings *findings, audit_check check, audit_severity severity,
                        bool strict, const char *workspace_id,
                        const audit_action_entry *action_entry, bool has_verdict,
                        int32_t verdict_partition, int64_t verdict_offset, int64_t at_ms,
                        const char *detail_format, ...) __attribute__((format(printf, 11, 12)));

/* Orders findings by severity, then time, then action coordinates: violations first. */
void audit_findings_sort(audit_findings *findings);
void audit_findings_free(audit_findings *findings);

#endif
