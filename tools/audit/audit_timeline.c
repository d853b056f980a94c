/* audit_timeline.c — ordering records into per-workspace timelines (see audit_timeline.h). */
#include "audit_timeline.h"

#include <stdlib.h>
#include <string.h>

/* Sort key of one event while building: the workspace's first time is filled in after the
 * first sort, then a second sort orders the groups by it. */
typedef struct {
    audit_timeline_event event;
    int64_t workspace_first_ms;
    int32_t partition;
    int64_t offset;
} timeline_slot;

static int compare_within_workspace(const timeline_slot *a, const timeline_slot *b)
{
    if (a->event.at_ms != b->event.at_ms) {
        return a->event.at_ms < b->event.at_ms ? -1 : 1;
    }
    bool a_is_action = a->event.action != NULL, b_is_action = b->event.action != NULL;
    if (a_is_action != b_is_action) {
        return a_is_action ? 1 : -1; /* the verdict first: it is what was acted on */
    }
    if (a->partition != b->partition) {
        return a->partition < b->partition ? -1 : 1;
    }
    return a->offset < b->offset ? -1 : a->offset > b->offset;
}

static int compare_by_workspace(const void *left, const void *right)
{
    const timeline_slot *a = left, *b = right;
    int order = strcmp(a->event.workspace_id, b->event.workspace_id);
    return order != 0 ? order : compare_within_workspace(a, b);
}

static int compare_by_first_time(const void *left, const void *right)
{
    const timeline_slot *a = left, *b = right;
    if (a->workspace_first_ms != b->workspace_first_ms) {
        return a->workspace_first_ms < b->workspace_first_ms ? -1 : 1;
    }
    return compare_by_workspace(left, right);
}

bool audit_timeline_build(const audit_record_set *records, audit_timeline *timeline)
{
    memset(timeline, 0, sizeof *timeline);
    size_t count = records->verdict_count + records->action_count;
    if (count == 0) {
        return true;
    }
    timeline_slot *slots = malloc(count * sizeof *slots);
    timeline->events = malloc(count * sizeof *timeline->events);
    if (slots == NULL || timeline->events == NULL) {
        free(slots);
        free(timeline->events);
        timeline->events = NULL;
        return false;
    }
    size_t used = 0;
    for (size_t index = 0; index < records->verdict_count; index++) {
        const audit_verdict_entry *entry = &records->verdicts[index];
        slots[used++] =
            (timeline_slot){{entry->record.workspace_id != NULL ? entry->record.workspace_id : "",
                             entry->record.checked_at, entry, NULL},
                            0,
                            entry->position.partition,
                            entry->position.offset};
    }
    for (size_t index = 0; index < records->action_count; index++) {
        const audit_action_entry *entry = &records->actions[index];
        slots[used++] =
            (timeline_slot){{entry->record.workspace_id != NULL ? entry->record.workspace_id : "",
                             entry->record.acted_at, NULL, entry},
                            0,
                            entry->position.partition,
                            entry->position.offset};
    }
    qsort(slots, used, sizeof *slots, compare_by_workspace);
    size_t group_start = 0;
    for (size_t index = 1; index <= used; index++) {
        if (index < used &&
            strcmp(slots[index].event.workspace_id, slots[group_start].event.workspace_id) == 0) {
            continue;
        }
        for (size_t member = group_start; member < index; member++) {
            slots[member].workspace_first_ms = slots[group_start].event.at_ms;
        }
        group_start = index;
    }
    qsort(slots, used, sizeof *slots, compare_by_first_time);
    for (size_t index = 0; index < used; index++) {
        timeline->events[index] = slots[index].event;
    }
    timeline->count = used;
    free(slots);
    return true;
}

void audit_timeline_free(audit_timeline *timeline)
{
    if (timeline == NULL) {
        return;
    }
    free(timeline->events);
    memset(timeline, 0, sizeof *timeline);
}
