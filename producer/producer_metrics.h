/* producer_metrics.h — reconciler-producer's Prometheus series, registered once at start-up.
 *
 * For: naming every series the producer exports and keeping the pointers the loop updates.
 * Label values come from closed sets only (sweep results, lock states). Not for: deciding
 * anything. The series, for alerting and dashboards:
 *   reconciler_producer_sweeps_total{result="ok|database_error|kafka_error|interrupted"}
 *   reconciler_producer_rows_enqueued_total       CheckRequests confirmed by Kafka
 *   reconciler_producer_rows_skipped_total        rows whose CheckRequest could not be encoded
 *   reconciler_producer_sweep_duration_seconds    histogram, every sweep whatever its result
 *   reconciler_producer_last_success_timestamp_seconds  alert when now - this > 2-3 intervals
 *   reconciler_producer_sweep_size                sweep_size of the last sweep
 *   reconciler_producer_in_scope_rows             in-scope rows counted by the last sweep
 *   reconciler_producer_active                    1 while this process holds the lock
 *   reconciler_producer_lock_attempts_total{result="held|busy|unavailable"}
 *   reconciler_producer_lock_losses_total         active -> standby without a shutdown
 *   reconciler_producer_sweep_overruns_total      sweeps that took longer than the interval */
#ifndef RECONCILER_PRODUCER_METRICS_H
#define RECONCILER_PRODUCER_METRICS_H

#include "leader_lock.h"
#include "metrics.h"
#include "sweep_plan.h"

#include <stdbool.h>

#define PRODUCER_SWEEP_LABEL_COUNT 4 /* ok, database_error, kafka_error, interrupted */
#define PRODUCER_LOCK_STATE_COUNT 3  /* held, busy, unavailable */

typedef struct {
    metrics_counter *sweeps[PRODUCER_SWEEP_LABEL_COUNT];
    metrics_counter *rows_enqueued;
    metrics_counter *rows_skipped;
    metrics_histogram *sweep_duration;
    metrics_gauge *last_success;
    metrics_gauge *sweep_size;
    metrics_gauge *in_scope;
    metrics_gauge *active;
    metrics_counter *lock_attempts[PRODUCER_LOCK_STATE_COUNT];
    metrics_counter *lock_losses;
    metrics_counter *overruns;
} producer_metrics;

/* Registers every series (so all appear at 0 from the start). false on allocation failure. */
bool producer_metrics_register(producer_metrics *metrics, metrics_registry *registry);

/* The counter of a sweep's result label. */
metrics_counter *producer_metrics_sweep_counter(const producer_metrics *metrics,
                                                sweep_result result);

#endif
