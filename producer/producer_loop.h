/* producer_loop.h — reconciler-producer's main loop: role (active/standby), schedule, sweeps,
 * shutdown.
 *
 * For: running until a stop is requested, with exactly one producer of a group active at a
 * time, and shutting down in order. Not for: parsing settings or installing signal handlers
 * (main.c), or the steps of a sweep (sweep.c). */
#ifndef RECONCILER_PRODUCER_LOOP_H
#define RECONCILER_PRODUCER_LOOP_H

#include "config.h"
#include "metrics.h"
#include "producer_settings.h"

#include <signal.h>

typedef struct {
    const producer_settings *settings;
    const config_kafka_properties *kafka_properties;
    metrics_registry *registry;
    metrics_server *server; /* may be NULL (no heartbeat, no readiness) */
    const volatile sig_atomic_t *stop_requested;
} producer_loop_options;

/* Runs until *stop_requested. Returns the process exit code: 0 after a clean shutdown, 2 when
 * the Kafka settings are invalid (a configuration error found only when building the
 * client), 1 on a start-up failure such as out of memory. Database and broker outages never
 * end the loop. */
int producer_loop_run(const producer_loop_options *options);

#endif
