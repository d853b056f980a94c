/* audit_summary.c — per-sweep aggregation for --summary (see audit_summary.h).
 *
 * Records are grouped by sorting references to them by sweep_id; each group is then counted
 * in one pass. Why not a hash map: one sort over the set is simple, and the groups come out
 * contiguous, which the distinct-workspace count and the percentiles need anyway. */
#include "audit_summary.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int64_t audit_percentile(const int64_t *sorted, size_t count, double percent)
{
    if (count == 0) {
        return 0;
    }
    if (!(percent > 0.0)) {
        return sorted[0];
    }
    if (percent > 100.0) {
        percent = 100.0;
    }
    /* The rank is computed in integers where possible: p99 of 100 values is the 99th, not the
     * 100th that floating-point rounding of 0.99 * 100 could give. */
    double exact = percent * (double)count / 100.0;
    size_t rank = (size_t)ceil(exact - 1e-9);
    if (rank < 1) {
        rank = 1;
    }
    if (rank > count) {
        rank = count;
    }
    return sorted[rank - 1];
}

/* A reference to one record, with the sweep it counts for. */
typedef struct {
    const char *sweep_id;
    const audit_verdict_entry *verdict; /* one of the two is set */
    const audit_action_entry *action;
} sweep_member;

static int compare_members(const void *left, const void *right)
{
    const sweep_member *a = left, *b = right;
    return strcmp(a->sweep_id, b->sweep_id);
}

static int compare_strings(const void *left, const void *right)
{
    return strcmp(*(const char *const *)left, *(const char *const *)right);
}

static int compare_longs(const void *left, const void *right)
{
    int64_t a = *(const int64_t *)left, b = *(const int64_t *)right;
    return a < b ? -1 : a > b;
}

static int compare_reason_counts(const void *left, const void *right)
{
    const audit_reason_count *a = left, *b = right;
    if (a->count != b->count) {
        return a->count > b->count ? -1 : 1;
    }
    return strcmp(a->reason, b->reason);
}

static void sweep_free(audit_sweep_summary *sweep)
{
    free(sweep->sweep_id);
    for (size_t index = 0; index < sweep->unknown_reason_count; index++) {
        free(sweep->unknown_reasons[index].reason);
    }
    free(sweep->unknown_reasons);
    memset(sweep, 0, sizeof *sweep);
}

void audit_summary_free(audit_summary *summary)
{
    if (summary == NULL) {
        return;
    }
    for (size_t index = 0; index < summary->sweep_count; index++) {
        sweep_free(&summary->sweeps[index]);
    }
    free(summary->sweeps);
    sweep_free(&summary->total);
    memset(summary, 0, sizeof *summary);
}

static const char *reason_text(const verdict *record)
{
    return record->reason != NULL && record->reason[0] != '\0' ? record->reason : "(none)";
}

static void note_time(audit_sweep_summary *sweep, int64_t at_ms, bool *first)
{
    if (*first || at_ms < sweep->first_at_ms) {
        sweep->first_at_ms = at_ms;
    }
    if (*first || at_ms > sweep->last_at_ms) {
        sweep->last_at_ms = at_ms;
    }
    *first = false;
}

/* The actuator's detail name for the pause guard (actuator_detail_name), followed by ':'. */
#define PAUSED_REASON_PREFIX "actuator_paused:"

/* Counts members[0..count) into sweep. Scratch arrays are sized `count`. */
static bool fill_sweep(audit_sweep_summary *sweep, const char *sweep_id,
                       const sweep_member *members, size_t count)
{
    memset(sweep, 0, sizeof *sweep);
    sweep->sweep_id = strdup(sweep_id);
    const char **workspaces = malloc((count + 1) * sizeof *workspaces);
    const char **reasons = malloc((count + 1) * sizeof *reasons);
    int64_t *latencies = malloc((count + 1) * sizeof *latencies);
    bool ok = sweep->sweep_id != NULL && workspaces != NULL && reasons != NULL && latencies != NULL;
    size_t workspace_count = 0, reason_count = 0, latency_count = 0;
    bool first = true;

    for (size_t index = 0; ok && index < count; index++) {
        const sweep_member *member = &members[index];
        if (member->verdict != NULL) {
            const verdict *record = &member->verdict->record;
            sweep->verdicts++;
            if ((unsigned)record->liveness <= LIVENESS_NOT_RUNNING) {
                sweep->liveness_counts[record->liveness]++;
            }
            if (record->liveness == LIVENESS_UNKNOWN) {
                reasons[reason_count++] = reason_text(record);
            }
            if (record->sweep_size > sweep->declared_size) {
                sweep->declared_size = record->sweep_size;
            }
            workspaces[workspace_count++] =
                record->workspace_id != NULL ? record->workspace_id : "";
            latencies[latency_count++] = record->latency_ms;
            note_time(sweep, record->checked_at, &first);
        } else {
            const action *record = &member->action->record;
            if ((unsigned)record->outcome < ACTION_OUTCOME_COUNT) {
                sweep->outcome_counts[record->outcome]++;
            }
            /* The pause is a reason on SKIPPED_STALE (no outcome symbol of its own, so the
             * Action schema stays as readers know it): recognised by the reason's stable
             * first word, the actuator's detail name. */
            if (record->outcome == ACTION_OUTCOME_SKIPPED_STALE && record->reason != NULL &&
                strncmp(record->reason, PAUSED_REASON_PREFIX, strlen(PAUSED_REASON_PREFIX)) == 0) {
                sweep->paused++;
            }
            note_time(sweep, record->acted_at, &first);
        }
    }
    if (ok) {
        qsort(workspaces, workspace_count, sizeof *workspaces, compare_strings);
        for (size_t index = 0; index < workspace_count; index++) {
            sweep->workspaces +=
                index == 0 || strcmp(workspaces[index], workspaces[index - 1]) != 0;
        }
        qsort(latencies, latency_count, sizeof *latencies, compare_longs);
        if (latency_count > 0) {
            sweep->has_latency = true;
            sweep->latency_p50_ms = audit_percentile(latencies, latency_count, 50);
            sweep->latency_p90_ms = audit_percentile(latencies, latency_count, 90);
            sweep->latency_p99_ms = audit_percentile(latencies, latency_count, 99);
            sweep->latency_max_ms = latencies[latency_count - 1];
        }
        qsort(reasons, reason_count, sizeof *reasons, compare_strings);
        size_t distinct = 0;
        for (size_t index = 0; index < reason_count; index++) {
            distinct += index == 0 || strcmp(reasons[index], reasons[index - 1]) != 0;
        }
        if (distinct > 0) {
            sweep->unknown_reasons = calloc(distinct, sizeof *sweep->unknown_reasons);
            ok = sweep->unknown_reasons != NULL;
        }
        for (size_t index = 0; ok && index < reason_count; index++) {
            if (index == 0 || strcmp(reasons[index], reasons[index - 1]) != 0) {
                audit_reason_count *slot = &sweep->unknown_reasons[sweep->unknown_reason_count];
                slot->reason = strdup(reasons[index]);
                if (slot->reason == NULL) {
                    ok = false;
                    break;
                }
                sweep->unknown_reason_count++;
            }
            sweep->unknown_reasons[sweep->unknown_reason_count - 1].count++;
        }
        if (ok && sweep->unknown_reason_count > 1) {
            qsort(sweep->unknown_reasons, sweep->unknown_reason_count,
                  sizeof *sweep->unknown_reasons, compare_reason_counts);
        }
        sweep->flips = sweep->outcome_counts[ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED];
        sweep->breaker_tripped = sweep->outcome_counts[ACTION_OUTCOME_SKIPPED_BREAKER_OPEN] > 0;
    }
    free(workspaces);
    free(reasons);
    free(latencies);
    return ok;
}

static int compare_sweeps_by_time(const void *left, const void *right)
{
    const audit_sweep_summary *a = left, *b = right;
    if (a->first_at_ms != b->first_at_ms) {
        return a->first_at_ms < b->first_at_ms ? -1 : 1;
    }
    return strcmp(a->sweep_id, b->sweep_id);
}

/* The sweep an Action counts for: its own sweep_id, else its verdict's. */
static const char *action_sweep(const audit_record_set *records, const action *record)
{
    if (record->sweep_id != NULL && record->sweep_id[0] != '\0') {
        return record->sweep_id;
    }
    const audit_verdict_entry *found =
        audit_records_find_verdict(records, record->verdict_partition, record->verdict_offset);
    if (found != NULL && found->record.sweep_id != NULL) {
        return found->record.sweep_id;
    }
    return "";
}

bool audit_summarize(const audit_record_set *records, audit_summary *summary)
{
    memset(summary, 0, sizeof *summary);
    size_t capacity = records->verdict_count + records->action_count;
    sweep_member *members = calloc(capacity + 1, sizeof *members);
    if (members == NULL) {
        return false;
    }
    size_t count = 0;
    for (size_t index = 0; index < records->verdict_count; index++) {
        const verdict *record = &records->verdicts[index].record;
        members[count++] = (sweep_member){record->sweep_id != NULL ? record->sweep_id : "",
                                          &records->verdicts[index], NULL};
    }
    for (size_t index = 0; index < records->action_count; index++) {
        const audit_action_entry *entry = &records->actions[index];
        if (entry->copy) {
            continue;
        }
        members[count++] = (sweep_member){action_sweep(records, &entry->record), NULL, entry};
    }

    bool ok = fill_sweep(&summary->total, "(all)", members, count);
    qsort(members, count, sizeof *members, compare_members);
    size_t groups = 0;
    for (size_t index = 0; index < count; index++) {
        groups += index == 0 || strcmp(members[index].sweep_id, members[index - 1].sweep_id) != 0;
    }
    if (ok && groups > 0) {
        summary->sweeps = calloc(groups, sizeof *summary->sweeps);
        ok = summary->sweeps != NULL;
    }
    size_t group_start = 0;
    for (size_t index = 1; ok && index <= count; index++) {
        if (index < count && strcmp(members[index].sweep_id, members[group_start].sweep_id) == 0) {
            continue;
        }
        ok = fill_sweep(&summary->sweeps[summary->sweep_count], members[group_start].sweep_id,
                        members + group_start, index - group_start);
        summary->sweep_count++;
        group_start = index;
    }
    free(members);
    if (!ok) {
        audit_summary_free(summary);
        return false;
    }
    if (summary->sweep_count > 1) {
        qsort(summary->sweeps, summary->sweep_count, sizeof *summary->sweeps,
              compare_sweeps_by_time);
    }
    return true;
}
