/* audit_cross_check.c — the actuator's database rows against the actions topic.
 *
 * For: the comparison described in audit_cross_check.h, over sorted arrays of verdict
 * coordinates (the key both sides share). Not for: SQL (audit_database.c). */
#include "audit_cross_check.h"

#include <stdlib.h>
#include <string.h>

void audit_database_snapshot_free(audit_database_snapshot *snapshot)
{
    if (snapshot == NULL) {
        return;
    }
    audit_database_flip *lists[] = {snapshot->published_flips, snapshot->flips};
    size_t counts[] = {snapshot->published_flip_count, snapshot->flip_count};
    for (size_t list = 0; list < 2; list++) {
        for (size_t index = 0; index < counts[list]; index++) {
            free(lists[list][index].consumer_group);
            free(lists[list][index].workspace_id);
        }
        free(lists[list]);
    }
    free(snapshot->restarts);
    memset(snapshot, 0, sizeof *snapshot);
}

static int compare_coordinates(int32_t left_partition, int64_t left_offset, int32_t right_partition,
                               int64_t right_offset)
{
    if (left_partition != right_partition) {
        return left_partition < right_partition ? -1 : 1;
    }
    if (left_offset != right_offset) {
        return left_offset < right_offset ? -1 : 1;
    }
    return 0;
}

static int compare_database_flips(const void *left, const void *right)
{
    const audit_database_flip *a = left, *b = right;
    return compare_coordinates(a->verdict_partition, a->verdict_offset, b->verdict_partition,
                               b->verdict_offset);
}

static int compare_restarts(const void *left, const void *right)
{
    const audit_database_restart *a = left, *b = right;
    return compare_coordinates(a->verdict_partition, a->verdict_offset, b->verdict_partition,
                               b->verdict_offset);
}

/* Live flips on the topic naming the audited verdict topic, copies left out. */
static bool is_topic_flip(const audit_action_entry *entry, const char *verdict_topic)
{
    return !entry->copy && !entry->record.dry_run &&
           entry->record.outcome == ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED &&
           entry->record.verdict_topic != NULL &&
           strcmp(entry->record.verdict_topic, verdict_topic) == 0;
}

typedef struct {
    int32_t partition;
    int64_t offset;
} coordinates;

static int compare_coordinate_pairs(const void *left, const void *right)
{
    const coordinates *a = left, *b = right;
    return compare_coordinates(a->partition, a->offset, b->partition, b->offset);
}

/* The verdict coordinates of every live flip read, sorted; *count may be 0 (then NULL is
 * fine). false on allocation failure. */
static bool collect_topic_flips(const audit_record_set *records, const char *verdict_topic,
                                coordinates **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (records->action_count == 0) {
        return true;
    }
    coordinates *list = malloc(records->action_count * sizeof *list);
    if (list == NULL) {
        return false;
    }
    for (size_t index = 0; index < records->action_count; index++) {
        const audit_action_entry *entry = &records->actions[index];
        if (is_topic_flip(entry, verdict_topic)) {
            list[*count].partition = entry->record.verdict_partition;
            list[*count].offset = entry->record.verdict_offset;
            (*count)++;
        }
    }
    qsort(list, *count, sizeof *list, compare_coordinate_pairs);
    *out = list;
    return true;
}

/* Sorted copies of the snapshot's arrays, so lookups are bsearch. */
typedef struct {
    audit_database_flip *flips;
    audit_database_restart *restarts;
} sorted_rows;

static bool sort_rows(const audit_database_snapshot *snapshot, sorted_rows *rows)
{
    rows->flips = NULL;
    rows->restarts = NULL;
    if (snapshot->flip_count > 0) {
        rows->flips = malloc(snapshot->flip_count * sizeof *rows->flips);
        if (rows->flips == NULL) {
            return false;
        }
        memcpy(rows->flips, snapshot->flips, snapshot->flip_count * sizeof *rows->flips);
        qsort(rows->flips, snapshot->flip_count, sizeof *rows->flips, compare_database_flips);
    }
    if (snapshot->restart_count > 0) {
        rows->restarts = malloc(snapshot->restart_count * sizeof *rows->restarts);
        if (rows->restarts == NULL) {
            free(rows->flips);
            return false;
        }
        memcpy(rows->restarts, snapshot->restarts,
               snapshot->restart_count * sizeof *rows->restarts);
        qsort(rows->restarts, snapshot->restart_count, sizeof *rows->restarts, compare_restarts);
    }
    return true;
}

bool audit_cross_check(const audit_record_set *records, const char *verdict_topic,
                       const audit_database_snapshot *snapshot,
                       const audit_cross_check_options *options, audit_findings *findings)
{
    sorted_rows rows;
    coordinates *topic_flips;
    size_t topic_flip_count;
    if (!collect_topic_flips(records, verdict_topic, &topic_flips, &topic_flip_count)) {
        return false;
    }
    if (!sort_rows(snapshot, &rows)) {
        free(topic_flips);
        return false;
    }
    bool ok = true;
    /* Rows older than this may have been pruned by the actuator; their absence says nothing. */
    int64_t horizon =
        snapshot->database_now_ms - options->retention_ms + AUDIT_CLOCK_SKEW_MARGIN_MS;

    for (size_t index = 0; ok && index < records->action_count; index++) {
        const audit_action_entry *entry = &records->actions[index];
        if (!is_topic_flip(entry, verdict_topic) || entry->record.acted_at <= horizon) {
            continue;
        }
        audit_database_flip flip_key = {.verdict_partition = entry->record.verdict_partition,
                                        .verdict_offset = entry->record.verdict_offset};
        audit_database_restart restart_key = {.verdict_partition = entry->record.verdict_partition,
                                              .verdict_offset = entry->record.verdict_offset};
        bool has_row =
            snapshot->flip_count > 0 && bsearch(&flip_key, rows.flips, snapshot->flip_count,
                                                sizeof *rows.flips, compare_database_flips) != NULL;
        bool has_restart = snapshot->restart_count > 0 &&
                           bsearch(&restart_key, rows.restarts, snapshot->restart_count,
                                   sizeof *rows.restarts, compare_restarts) != NULL;
        if (!has_row) {
            ok = audit_findings_add(
                findings, AUDIT_CHECK_TOPIC_FLIP_NOT_IN_DATABASE, AUDIT_SEVERITY_VIOLATION,
                options->strict, entry->record.workspace_id, entry, true,
                entry->record.verdict_partition, entry->record.verdict_offset,
                entry->record.acted_at,
                "the flip is on the topic but reconciler_actuator_actions has no flip for its "
                "verdict");
        }
        if (ok && !has_restart) {
            ok = audit_findings_add(
                findings, AUDIT_CHECK_FLIP_WITHOUT_RESTART_ROW, AUDIT_SEVERITY_VIOLATION,
                options->strict, entry->record.workspace_id, entry, true,
                entry->record.verdict_partition, entry->record.verdict_offset,
                entry->record.acted_at,
                "reconciler_actuator_restarts has no restart for the flipped verdict (the flip "
                "and its restart are written in one transaction)");
        }
    }

    for (size_t index = 0;
         ok && options->compare_database_to_topic && index < snapshot->published_flip_count;
         index++) {
        const audit_database_flip *row = &snapshot->published_flips[index];
        if (options->workspace_id != NULL &&
            (row->workspace_id == NULL || strcmp(row->workspace_id, options->workspace_id) != 0)) {
            continue;
        }
        if (!row->published) {
            ok = audit_findings_add(
                findings, AUDIT_CHECK_DATABASE_FLIP_UNPUBLISHED, AUDIT_SEVERITY_PENDING,
                options->strict, row->workspace_id, NULL, true, row->verdict_partition,
                row->verdict_offset, row->acted_at_ms,
                "the flip is in reconciler_actuator_actions (group %s) but not published to the "
                "actions topic yet",
                row->consumer_group != NULL ? row->consumer_group : "");
            continue;
        }
        if (row->published_at_ms <= options->window_start_ms ||
            row->published_at_ms > options->window_end_ms) {
            continue;
        }
        coordinates key = {row->verdict_partition, row->verdict_offset};
        bool on_topic =
            topic_flip_count > 0 && bsearch(&key, topic_flips, topic_flip_count,
                                            sizeof *topic_flips, compare_coordinate_pairs) != NULL;
        if (!on_topic) {
            ok = audit_findings_add(
                findings, AUDIT_CHECK_DATABASE_FLIP_NOT_ON_TOPIC, AUDIT_SEVERITY_VIOLATION,
                options->strict, row->workspace_id, NULL, true, row->verdict_partition,
                row->verdict_offset, row->acted_at_ms,
                "reconciler_actuator_actions (group %s) records this flip as published, but it "
                "is not on the actions topic in the range read",
                row->consumer_group != NULL ? row->consumer_group : "");
        }
    }
    free(topic_flips);
    free(rows.flips);
    free(rows.restarts);
    audit_findings_sort(findings);
    return ok;
}
