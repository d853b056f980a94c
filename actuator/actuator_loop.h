/* actuator_loop.h — reconciler-actuator's main loop: poll, decode, decide, effect, commit.
 *
 * For: the consumer of the verdicts topic, the verdict's path through
 * actuator_store_decide_verdict, holding a verdict (and pausing consumption) while the database or
 * the DLQ is unavailable, the action publisher and the restart worker's lifetime, housekeeping, and
 * the ordered shutdown. Not for: decisions (actuator_decide.c), SQL (actuator_store.c) or HTTP
 * (restart_worker.c). */
#ifndef RECONCILER_ACTUATOR_LOOP_H
#define RECONCILER_ACTUATOR_LOOP_H

#include "actuator_metrics.h"
#include "actuator_settings.h"
#include "metrics.h"

#include <signal.h>

typedef struct {
    const actuator_settings *settings;
    const config_kafka_properties *kafka_properties;
    actuator_metrics *metrics;
    metrics_server *server;
    volatile sig_atomic_t *stop_requested;
} actuator_loop_options;

/* Runs until *stop_requested, then shuts down in order (restart worker, outbox publishing,
 * consumer close with offset commit, producer flush). Returns the process exit code: 0 after
 * a clean stop, 1 when start-up or the Kafka clients failed fatally. */
int actuator_loop_run(const actuator_loop_options *options);

#endif
