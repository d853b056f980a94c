/* audit_summary.h — --summary: per sweep, what was checked, what came out, what was done.
 *
 * For: aggregating a finished record set by sweep_id: verdicts and distinct workspaces
 * checked, RUNNING / NOT_RUNNING / UNKNOWN (UNKNOWN broken down by reason), flips, restart
 * outcomes, skips by outcome, whether the mass-failure breaker tripped, how many verdicts the
 * actuator's pause switch held back, and the checker's
 * latency percentiles. An Action belongs to the sweep it names (sweep_id), or, when it names
 * none, to the sweep of the verdict it refers to. Pure. Not for: printing (audit_output.c). */
#ifndef RECONCILER_AUDIT_SUMMARY_H
#define RECONCILER_AUDIT_SUMMARY_H

#include "audit_records.h"
#include "codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *reason; /* owned; "(none)" when the verdict gave no reason */
    size_t count;
} audit_reason_count;

typedef struct {
    char *sweep_id;      /* owned; "" when records named none */
    int64_t first_at_ms; /* earliest checked_at / acted_at of the sweep's records */
    int64_t last_at_ms;
    int64_t declared_size; /* the largest sweep_size its verdicts declared */
    size_t verdicts;       /* verdict records (a redelivered check counts again) */
    size_t workspaces;     /* distinct workspaces among them */
    size_t liveness_counts[LIVENESS_NOT_RUNNING + 1];
    audit_reason_count *unknown_reasons; /* sorted by count, most frequent first */
    size_t unknown_reason_count;
    size_t outcome_counts[ACTION_OUTCOME_COUNT]; /* Actions (republished copies excluded) */
    size_t flips;                                /* = outcome_counts[FLIPPED_RESTART_REQUESTED] */
    bool breaker_tripped;                        /* any SKIPPED_BREAKER_OPEN */
    /* Actions the actuator's pause switch held back (SKIPPED_STALE, reason actuator_paused):
     * the deaths of this sweep that wait for a sweep after --resume. */
    size_t paused;
    bool has_latency;
    int64_t latency_p50_ms, latency_p90_ms, latency_p99_ms, latency_max_ms;
} audit_sweep_summary;

typedef struct {
    audit_sweep_summary *sweeps; /* ordered by first_at_ms */
    size_t sweep_count;
    audit_sweep_summary total; /* every sweep together (its sweep_id is "(all)") */
} audit_summary;

/* false only on allocation failure (then *summary is freed and zeroed). */
bool audit_summarize(const audit_record_set *records, audit_summary *summary);
void audit_summary_free(audit_summary *summary);

/* Nearest-rank percentile of an ascending array: the smallest value with at least `percent`%
 * of the values at or below it. 0 for an empty array; percent is clamped to [0, 100]. */
int64_t audit_percentile(const int64_t *sorted, size_t count, double percent);

#endif
