/* checker_engine.h — the checker's event loop: consume CheckRequests, ask the CP, produce
 * Verdicts, commit.
 *
 * For: the I/O of reconciler-checker — one Kafka consumer in the checker group, one
 * idempotent producer, one libcurl multi handle — driven from a single thread, so the
 * offset bookkeeping needs no locks. The decisions it applies are pure and live elsewhere:
 * cp_classify (what an answer means), checker_verdict (deadline, verdict record),
 * offset_tracker (which offsets may be committed). Not for: parsing settings (main.c,
 * checker_settings.c). */
#ifndef RECONCILER_CHECKER_ENGINE_H
#define RECONCILER_CHECKER_ENGINE_H

#include "checker_settings.h"
#include "config.h"
#include "cp_classify.h"
#include "metrics.h"

#include <signal.h>

typedef struct {
    const checker_settings *settings; /* checker_id resolved */
    const config_kafka_properties *kafka_properties;
    const cp_not_running_states *not_running_states;
    metrics_registry *metrics;
    metrics_server *server;                /* NULL = no /readyz to report to */
    volatile sig_atomic_t *stop_requested; /* set by the SIGTERM/SIGINT handler */
} checker_engine_options;

/* Runs until *stop_requested is set, then shuts down in order: take no new request, let the
 * CP requests in flight finish and their verdicts be delivered (within
 * CHECKER_SHUTDOWN_TIMEOUT), store and commit offsets, leave the group, flush, destroy.
 * Returns the process exit code: 0 after a clean shutdown, 1 when start-up failed or Kafka
 * reported a fatal error (the work not committed is redone by the next owner), 2 when the
 * Kafka properties are invalid. */
int checker_engine_run(const checker_engine_options *options);

#endif
