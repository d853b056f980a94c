/* audit_timeline.h — --timeline: per workspace, its verdicts and actions in time order.
 *
 * For: ordering a finished record set into the story of each workspace ("why was it
 * restarted at 03:12?"): a verdict at its checked_at, an action at its acted_at; at the same
 * instant a verdict comes before an action (it was acted on), then Kafka order. Workspaces
 * come in the order of their first event, so an incident reads from where it began. Pure.
 * Not for: printing (audit_output.c). */
#ifndef RECONCILER_AUDIT_TIMELINE_H
#define RECONCILER_AUDIT_TIMELINE_H

#include "audit_records.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *workspace_id; /* borrowed from the record */
    int64_t at_ms;
    const audit_verdict_entry *verdict; /* exactly one of the two is set */
    const audit_action_entry *action;
} audit_timeline_event;

typedef struct {
    audit_timeline_event *events; /* grouped by workspace, each group in time order */
    size_t count;
} audit_timeline;

/* false only on allocation failure. The timeline borrows from `records`: keep them alive. */
bool audit_timeline_build(const audit_record_set *records, audit_timeline *timeline);
void audit_timeline_free(audit_timeline *timeline);

#endif
