/* audit_verify.c — the invariants of --verify over an in-memory record set.
 *
 * For: walking the Actions grouped by the verdict they name and judging each group against
 * the verdict found at those coordinates (see audit_verify.h for the rules). Not for: reading
 * anything or printing; findings are data, audit_output.c prints them. */
#include "audit_verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *audit_severity_name(audit_severity severity)
{
    switch (severity) {
    case AUDIT_SEVERITY_VIOLATION:
        return "violation";
    case AUDIT_SEVERITY_UNVERIFIABLE:
        return "unverifiable";
    case AUDIT_SEVERITY_PENDING:
        return "pending";
    case AUDIT_SEVERITY_NOTE:
        return "note";
    case AUDIT_SEVERITY_COUNT:
        break;
    }
    return "invalid";
}

const char *audit_check_name(audit_check check)
{
    switch (check) {
    case AUDIT_CHECK_ACTION_ON_RUNNING_VERDICT:
        return "action_on_running_verdict";
    case AUDIT_CHECK_ACTION_ON_UNKNOWN_VERDICT:
        return "action_on_unknown_verdict";
    case AUDIT_CHECK_FLIP_ON_STALE_VERDICT:
        return "flip_on_stale_verdict";
    case AUDIT_CHECK_FLIP_VERDICT_MISMATCH:
        return "flip_verdict_mismatch";
    case AUDIT_CHECK_FLIP_VERDICT_NOT_FOUND:
        return "flip_verdict_not_found";
    case AUDIT_CHECK_FLIP_ON_UNDECODABLE_VERDICT:
        return "flip_on_undecodable_verdict";
    case AUDIT_CHECK_FLIP_MARKED_DRY_RUN:
        return "flip_marked_dry_run";
    case AUDIT_CHECK_VERDICT_FLIPPED_TWICE:
        return "verdict_flipped_twice";
    case AUDIT_CHECK_FLIP_WITHOUT_RESTART:
        return "flip_without_restart";
    case AUDIT_CHECK_VERDICT_OUTSIDE_RANGE:
        return "verdict_outside_range";
    case AUDIT_CHECK_RESTART_PENDING:
        return "restart_pending";
    case AUDIT_CHECK_ACTION_REPUBLISHED:
        return "action_republished";
    case AUDIT_CHECK_TOPIC_FLIP_NOT_IN_DATABASE:
        return "topic_flip_not_in_database";
    case AUDIT_CHECK_DATABASE_FLIP_NOT_ON_TOPIC:
        return "database_flip_not_on_topic";
    case AUDIT_CHECK_FLIP_WITHOUT_RESTART_ROW:
        return "flip_without_restart_row";
    case AUDIT_CHECK_DATABASE_FLIP_UNPUBLISHED:
        return "database_flip_unpublished";
    case AUDIT_CHECK_COUNT:
        break;
    }
    return "invalid";
}

bool audit_findings_add(audit_findings *findings, audit_check check, audit_severity severity,
                        bool strict, const char *workspace_id,
                        const audit_action_entry *action_entry, bool has_verdict,
                        int32_t verdict_partition, int64_t verdict_offset, int64_t at_ms,
                        const char *detail_format, ...)
{
    if (findings->count == findings->capacity) {
        size_t wanted = findings->capacity == 0 ? 16 : findings->capacity * 2;
        audit_finding *grown = realloc(findings->items, wanted * sizeof *grown);
        if (grown == NULL) {
            return false;
        }
        findings->items = grown;
        findings->capacity = wanted;
    }
    audit_finding *finding = &findings->items[findings->count];
    memset(finding, 0, sizeof *finding);
    if (workspace_id != NULL) {
        finding->workspace_id = strdup(workspace_id);
        if (finding->workspace_id == NULL) {
            return false;
        }
    }
    if (strict && (severity == AUDIT_SEVERITY_UNVERIFIABLE || severity == AUDIT_SEVERITY_PENDING)) {
        severity = AUDIT_SEVERITY_VIOLATION;
    }
    finding->check = check;
    finding->severity = severity;
    if (action_entry != NULL) {
        finding->has_action = true;
        finding->action_partition = action_entry->position.partition;
        finding->action_offset = action_entry->position.offset;
    }
    finding->has_verdict = has_verdict;
    finding->verdict_partition = verdict_partition;
    finding->verdict_offset = verdict_offset;
    finding->at_ms = at_ms;
    va_list arguments;
    va_start(arguments, detail_format);
    vsnprintf(finding->detail, sizeof finding->detail, detail_format, arguments);
    va_end(arguments);
    findings->by_severity[severity]++;
    findings->count++;
    return true;
}

static int compare_findings(const void *left, const void *right)
{
    const audit_finding *a = left, *b = right;
    if (a->severity != b->severity) {
        return a->severity < b->severity ? -1 : 1;
    }
    if (a->at_ms != b->at_ms) {
        return a->at_ms < b->at_ms ? -1 : 1;
    }
    if (a->action_partition != b->action_partition) {
        return a->action_partition < b->action_partition ? -1 : 1;
    }
    if (a->action_offset != b->action_offset) {
        return a->action_offset < b->action_offset ? -1 : 1;
    }
    return a->check < b->check ? -1 : a->check > b->check;
}

void audit_findings_sort(audit_findings *findings)
{
    if (findings->count > 1) {
        qsort(findings->items, findings->count, sizeof *findings->items, compare_findings);
    }
}

void audit_findings_free(audit_findings *findings)
{
    if (findings == NULL) {
        return;
    }
    for (size_t index = 0; index < findings->count; index++) {
        free(findings->items[index].workspace_id);
    }
    free(findings->items);
    memset(findings, 0, sizeof *findings);
}

/* ---- the walk ---------------------------------------------------------------------------- */

/* What the coordinates an Action names hold, as far as this read can tell. */
typedef enum {
    VERDICT_FOUND,       /* a decoded verdict (of the workspace filter, if any) */
    VERDICT_UNDECODABLE, /* the record there did not decode */
    VERDICT_NOT_FOUND,   /* inside the range read, yet no verdict there */
    VERDICT_OUTSIDE,     /* outside the range read, or on another topic */
} verdict_lookup;

typedef struct {
    const audit_record_set *records;
    const audit_verify_options *options;
    audit_findings *findings;
    bool ok; /* false after an allocation failure */
} verify_context;

#define ADD_FINDING(context, check, severity, action, at_ms, ...)                                  \
    do {                                                                                           \
        if (!audit_findings_add((context)->findings, (check), (severity),                          \
                                (context)->options->strict, (action)->record.workspace_id,         \
                                (action), true, (action)->record.verdict_partition,                \
                                (action)->record.verdict_offset, (at_ms), __VA_ARGS__)) {          \
            (context)->ok = false;                                                                 \
        }                                                                                          \
    } while (0)

static verdict_lookup look_up_verdict(const verify_context *context, const action *record,
                                      const audit_verdict_entry **found,
                                      const audit_undecodable_entry **undecodable)
{
    *found = NULL;
    *undecodable = NULL;
    const audit_verify_options *options = context->options;
    if (record->verdict_topic == NULL || options->verdict_topic == NULL ||
        strcmp(record->verdict_topic, options->verdict_topic) != 0 ||
        !audit_plan_covers(options->verdict_plan, options->verdict_partition_count,
                           record->verdict_partition, record->verdict_offset)) {
        return VERDICT_OUTSIDE;
    }
    *found = audit_records_find_verdict(context->records, record->verdict_partition,
                                        record->verdict_offset);
    if (*found != NULL) {
        return VERDICT_FOUND;
    }
    *undecodable = audit_records_find_undecodable(
        context->records, AUDIT_TOPIC_VERDICTS, record->verdict_partition, record->verdict_offset);
    return *undecodable != NULL ? VERDICT_UNDECODABLE : VERDICT_NOT_FOUND;
}

static bool same_text(const char *left, const char *right)
{
    return strcmp(left != NULL ? left : "", right != NULL ? right : "") == 0;
}

/* Staleness as the actuator judges it: older than max age, or further than max age in the
 * future (a skewed checker clock), both inclusive of the boundary being fresh. */
static void check_freshness(verify_context *context, const audit_action_entry *flip,
                            int64_t checked_at_ms, const char *source)
{
    int64_t age = flip->record.acted_at - checked_at_ms;
    int64_t limit = context->options->max_verdict_age_ms;
    if (age <= limit && -age <= limit) {
        return;
    }
    char age_text[32], limit_text[32];
    audit_format_elapsed(age < 0 ? -age : age, age_text, sizeof age_text);
    audit_format_elapsed(limit, limit_text, sizeof limit_text);
    ADD_FINDING(context, AUDIT_CHECK_FLIP_ON_STALE_VERDICT, AUDIT_SEVERITY_VIOLATION, flip,
                flip->record.acted_at, "flipped %s %s the verdict was checked (%s; max age %s)",
                age_text, age >= 0 ? "after" : "before", source, limit_text);
}

/* Rule 1 for one flip, given what its coordinates hold. */
static void check_flip_against_verdict(verify_context *context, const audit_action_entry *flip,
                                       verdict_lookup lookup, const audit_verdict_entry *found,
                                       const audit_undecodable_entry *undecodable)
{
    const action *record = &flip->record;
    switch (lookup) {
    case VERDICT_FOUND: {
        const verdict *judged = &found->record;
        if (judged->liveness != LIVENESS_NOT_RUNNING) {
            return; /* already a violation of rule 2, reported once per action */
        }
        if (!same_text(judged->workspace_id, record->workspace_id) ||
            !same_text(judged->instance_id, record->instance_id)) {
            ADD_FINDING(context, AUDIT_CHECK_FLIP_VERDICT_MISMATCH, AUDIT_SEVERITY_VIOLATION, flip,
                        record->acted_at,
                        "the flip is about workspace %s instance %s, the verdict about "
                        "workspace %s instance %s",
                        record->workspace_id, record->instance_id, judged->workspace_id,
                        judged->instance_id);
            return;
        }
        if (record->verdict_checked_at != 0 && record->verdict_checked_at != judged->checked_at) {
            ADD_FINDING(context, AUDIT_CHECK_FLIP_VERDICT_MISMATCH, AUDIT_SEVERITY_VIOLATION, flip,
                        record->acted_at,
                        "the flip says the verdict was checked at %lld ms, the verdict says "
                        "%lld ms",
                        (long long)record->verdict_checked_at, (long long)judged->checked_at);
        }
        check_freshness(context, flip, judged->checked_at, "by the verdict's checked_at");
        return;
    }
    case VERDICT_UNDECODABLE:
        ADD_FINDING(context, AUDIT_CHECK_FLIP_ON_UNDECODABLE_VERDICT, AUDIT_SEVERITY_VIOLATION,
                    flip, record->acted_at,
                    "the record at the verdict's coordinates does not decode (%s): the actuator "
                    "cannot have read a NOT_RUNNING verdict there",
                    codec_error_name(undecodable->error));
        return;
    case VERDICT_NOT_FOUND:
        ADD_FINDING(context, AUDIT_CHECK_FLIP_VERDICT_NOT_FOUND, AUDIT_SEVERITY_VIOLATION, flip,
                    record->acted_at,
                    "the range read covers the verdict's offset, but it holds no verdict of "
                    "workspace %s",
                    record->workspace_id);
        return;
    case VERDICT_OUTSIDE:
        ADD_FINDING(context, AUDIT_CHECK_VERDICT_OUTSIDE_RANGE, AUDIT_SEVERITY_UNVERIFIABLE, flip,
                    record->acted_at,
                    "the verdict (%s %d:%lld) is outside the range read; widen --from/--to to "
                    "check it",
                    record->verdict_topic, (int)record->verdict_partition,
                    (long long)record->verdict_offset);
        /* The Action still states when its verdict was checked: judge it by its own word. */
        if (record->verdict_checked_at != 0) {
            check_freshness(context, flip, record->verdict_checked_at,
                            "by the flip's own verdict_checked_at");
        }
        return;
    }
}

/* Is this outcome, recorded for a flipped verdict, the end of its restart? */
static bool is_restart_conclusion(action_outcome outcome)
{
    return outcome == ACTION_OUTCOME_RESTART_ACCEPTED || outcome == ACTION_OUTCOME_RESTART_FAILED ||
           /* The restart worker's pre-check: the workspace is gone, already reprovisioned,
            * or no longer offline (paused, removed, back online, ...). */
           outcome == ACTION_OUTCOME_SKIPPED_ROW_MISSING ||
           outcome == ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED ||
           outcome == ACTION_OUTCOME_SKIPPED_STATUS_CHANGED;
}

/* Rule 4 for a group whose first live flip is `flip`. */
static void check_restart(verify_context *context, const audit_action_entry *const *group,
                          size_t count, const audit_action_entry *flip)
{
    size_t retries = 0;
    for (size_t index = 0; index < count; index++) {
        action_outcome outcome = group[index]->record.outcome;
        if (is_restart_conclusion(outcome)) {
            return;
        }
        retries += outcome == ACTION_OUTCOME_RESTART_RETRIED;
    }
    int64_t since = context->options->now_ms - flip->record.acted_at;
    char since_text[32], grace_text[32];
    audit_format_elapsed(since, since_text, sizeof since_text);
    audit_format_elapsed(context->options->restart_grace_ms, grace_text, sizeof grace_text);
    if (retries > 0) {
        ADD_FINDING(context, AUDIT_CHECK_RESTART_PENDING, AUDIT_SEVERITY_PENDING, flip,
                    flip->record.acted_at,
                    "restart still retrying: %zu failed attempt(s) recorded, no acceptance or "
                    "final failure yet (flipped %s ago)",
                    retries, since_text);
    } else if (since <= context->options->restart_grace_ms) {
        ADD_FINDING(context, AUDIT_CHECK_RESTART_PENDING, AUDIT_SEVERITY_PENDING, flip,
                    flip->record.acted_at,
                    "no restart outcome yet, flipped %s ago (within the restart grace of %s)",
                    since_text, grace_text);
    } else {
        ADD_FINDING(context, AUDIT_CHECK_FLIP_WITHOUT_RESTART, AUDIT_SEVERITY_VIOLATION, flip,
                    flip->record.acted_at,
                    "no RESTART_ACCEPTED, RESTART_FAILED or RESTART_RETRIED recorded for the "
                    "flipped verdict, %s after the flip (restart grace %s)",
                    since_text, grace_text);
    }
}

/* All rules for the Actions naming one verdict (copies already left out). */
static void check_group(verify_context *context, const audit_action_entry *const *group,
                        size_t count)
{
    const audit_verdict_entry *found;
    const audit_undecodable_entry *undecodable;
    verdict_lookup lookup = look_up_verdict(context, &group[0]->record, &found, &undecodable);

    const audit_action_entry *first_live_flip = NULL;
    for (size_t index = 0; index < count; index++) {
        const audit_action_entry *entry = group[index];
        const action *record = &entry->record;
        context->findings->actions_checked++;

        if (lookup == VERDICT_FOUND && found->record.liveness != LIVENESS_NOT_RUNNING) {
            bool running = found->record.liveness == LIVENESS_RUNNING;
            ADD_FINDING(context,
                        running ? AUDIT_CHECK_ACTION_ON_RUNNING_VERDICT
                                : AUDIT_CHECK_ACTION_ON_UNKNOWN_VERDICT,
                        AUDIT_SEVERITY_VIOLATION, entry, record->acted_at,
                        "%s on a %s verdict: only NOT_RUNNING may lead to an action",
                        action_outcome_name(record->outcome),
                        liveness_name(found->record.liveness));
        }
        if (record->outcome != ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED) {
            continue;
        }
        context->findings->flips_checked++;
        if (record->dry_run) {
            ADD_FINDING(context, AUDIT_CHECK_FLIP_MARKED_DRY_RUN, AUDIT_SEVERITY_VIOLATION, entry,
                        record->acted_at,
                        "a FLIPPED_RESTART_REQUESTED marked dry_run: a dry run changes nothing "
                        "and records SKIPPED_DRY_RUN");
        }
        check_flip_against_verdict(context, entry, lookup, found, undecodable);
        if (record->dry_run) {
            continue;
        }
        if (first_live_flip == NULL) {
            first_live_flip = entry;
        } else {
            ADD_FINDING(context, AUDIT_CHECK_VERDICT_FLIPPED_TWICE, AUDIT_SEVERITY_VIOLATION, entry,
                        record->acted_at,
                        "the verdict was already flipped by actions %d:%lld; a verdict "
                        "acts at most once",
                        (int)first_live_flip->position.partition,
                        (long long)first_live_flip->position.offset);
        }
    }
    if (first_live_flip != NULL) {
        check_restart(context, group, count, first_live_flip);
    }
}

static int compare_by_verdict(const void *left, const void *right)
{
    return audit_action_compare_by_verdict(*(const audit_action_entry *const *)left,
                                           *(const audit_action_entry *const *)right);
}

static bool same_verdict(const action *left, const action *right)
{
    return left->verdict_partition == right->verdict_partition &&
           left->verdict_offset == right->verdict_offset &&
           same_text(left->verdict_topic, right->verdict_topic);
}

bool audit_verify(const audit_record_set *records, const audit_verify_options *options,
                  audit_findings *findings)
{
    verify_context context = {records, options, findings, true};
    if (records->action_count == 0) {
        return true;
    }
    const audit_action_entry **order = malloc(records->action_count * sizeof *order);
    if (order == NULL) {
        return false;
    }
    size_t count = 0;
    for (size_t index = 0; index < records->action_count; index++) {
        const audit_action_entry *entry = &records->actions[index];
        if (entry->copy) {
            const audit_action_entry *original = &records->actions[entry->copy_of];
            ADD_FINDING(&context, AUDIT_CHECK_ACTION_REPUBLISHED, AUDIT_SEVERITY_NOTE, entry,
                        entry->record.acted_at,
                        "an unchanged copy of actions %d:%lld (the actuator's outbox "
                        "republishes after a crash); counted once",
                        (int)original->position.partition, (long long)original->position.offset);
            continue;
        }
        order[count++] = entry;
    }
    qsort(order, count, sizeof *order, compare_by_verdict);
    size_t group_start = 0;
    for (size_t index = 1; index <= count; index++) {
        if (index < count && same_verdict(&order[index]->record, &order[group_start]->record)) {
            continue;
        }
        check_group(&context, order + group_start, index - group_start);
        group_start = index;
    }
    free(order);
    audit_findings_sort(findings);
    return context.ok;
}
