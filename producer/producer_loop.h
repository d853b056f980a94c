/* producer_loop.h — reconciler-producer's main loop: role (active/standby), schedule, sweeps,
 * shutdown.
 *
 * For: running until a stop is requested, with exactly one producer of a group active at a
 * time, and shutting down in order. Not for: parsing settings or installing signal handlers
 * (common/process.c), or the steps of a sweep (sweep.c). */
#ifndef RECONCILER_PRODUCER_LOOP_H
#define RECONCILER_PRODUCER_LOOP_H

#include "process.h"
#include "producer_settings.h"

/* The producer as process_main runs it: `process->settings` is a producer_settings (its
 * derived defaults filled here), `process->server` may be NULL (no heartbeat, no readiness).
 * Runs until *stop_requested. Returns the process exit code: 0 after a clean shutdown, 2 when
 * the Kafka settings are invalid (a configuration error found only when building the
 * client), 1 on a start-up failure such as out of memory. Database and broker outages never
 * end the loop. */
int producer_loop_run(const process_context *process);

#endif
