/* producer_metrics.c — registration of reconciler-producer's series (see producer_metrics.h
 * for the list and what each is for). */
#include "producer_metrics.h"

#include <string.h>

static const char *const sweep_labels[PRODUCER_SWEEP_LABEL_COUNT] = {"ok", "database_error",
                                                                     "kafka_error", "interrupted"};

/* Sweep durations from a small fleet on a fast database (tens of ms) to a large capped or
 * slow one (minutes); the 60 s default interval sits in the middle. */
static const double duration_buckets[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};

bool producer_metrics_register(producer_metrics *metrics, metrics_registry *registry)
{
    memset(metrics, 0, sizeof *metrics);
    const char *result_name[] = {"result"};
    bool ok = true;
    for (int i = 0; i < PRODUCER_SWEEP_LABEL_COUNT; i++) {
        metrics->sweeps[i] = metrics_counter_get(
            registry, "reconciler_producer_sweeps_total",
            "Sweeps by result: ok only when every CheckRequest's delivery was confirmed", 1,
            result_name, &sweep_labels[i]);
        ok = ok && metrics->sweeps[i] != NULL;
    }
    for (int i = 0; i < PRODUCER_LOCK_STATE_COUNT; i++) {
        const char *state = leader_lock_state_name((leader_lock_state)i);
        metrics->lock_attempts[i] = metrics_counter_get(
            registry, "reconciler_producer_lock_attempts_total",
            "Advisory lock attempts by result (unavailable = the database could not be "
            "reached)",
            1, result_name, &state);
        ok = ok && metrics->lock_attempts[i] != NULL;
    }
    metrics->rows_enqueued =
        metrics_counter_get(registry, "reconciler_producer_rows_enqueued_total",
                            "CheckRequests whose delivery Kafka confirmed", 0, NULL, NULL);
    metrics->rows_skipped = metrics_counter_get(
        registry, "reconciler_producer_rows_skipped_total",
        "In-scope rows skipped because their CheckRequest could not be encoded", 0, NULL, NULL);
    metrics->sweep_duration = metrics_histogram_get(
        registry, "reconciler_producer_sweep_duration_seconds",
        "Duration of each sweep, from start to the last delivery report, whatever its result",
        duration_buckets, sizeof duration_buckets / sizeof duration_buckets[0], 0, NULL, NULL);
    metrics->last_success = metrics_gauge_get(
        registry, "reconciler_producer_last_success_timestamp_seconds",
        "Unix time at which the last fully confirmed sweep ended (0 = none yet); alert when "
        "it falls behind by a few intervals",
        0, NULL, NULL);
    metrics->sweep_size =
        metrics_gauge_get(registry, "reconciler_producer_sweep_size",
                          "sweep_size of the last sweep (cap applied)", 0, NULL, NULL);
    metrics->in_scope =
        metrics_gauge_get(registry, "reconciler_producer_in_scope_rows",
                          "In-scope rows counted at the start of the last sweep", 0, NULL, NULL);
    metrics->active = metrics_gauge_get(
        registry, "reconciler_producer_active",
        "1 while this process holds the advisory lock and runs the sweeps, 0 on standby", 0, NULL,
        NULL);
    metrics->lock_losses = metrics_counter_get(
        registry, "reconciler_producer_lock_losses_total",
        "Times the active producer lost its lock session and dropped to standby", 0, NULL, NULL);
    metrics->overruns = metrics_counter_get(
        registry, "reconciler_producer_sweep_overruns_total",
        "Sweeps that took longer than PRODUCER_INTERVAL (the next one started at once)", 0, NULL,
        NULL);
    return ok && metrics->rows_enqueued != NULL && metrics->rows_skipped != NULL &&
           metrics->sweep_duration != NULL && metrics->last_success != NULL &&
           metrics->sweep_size != NULL && metrics->in_scope != NULL && metrics->active != NULL &&
           metrics->lock_losses != NULL && metrics->overruns != NULL;
}

metrics_counter *producer_metrics_sweep_counter(const producer_metrics *metrics,
                                                sweep_result result)
{
    const char *label = sweep_result_label(result);
    for (int i = 0; i < PRODUCER_SWEEP_LABEL_COUNT; i++) {
        if (strcmp(sweep_labels[i], label) == 0) {
            return metrics->sweeps[i];
        }
    }
    return metrics->sweeps[1]; /* unreachable: every result has one of the labels */
}
