/* restart_worker.h — the thread that empties the restart outbox.
 *
 * For: taking due restarts from reconciler_actuator_restarts (FOR UPDATE SKIP LOCKED, so any
 * number of actuators share them), pacing them with the token bucket, POSTing to RESTART_URL
 * and recording each result with its Action row. It has its own database connection, so a
 * slow restart call never holds up verdict decisions. Pending restarts left by a crash are
 * simply due rows: the worker finds them at start-up.
 * Not for: deciding to restart (the decision transaction queues rows) or publishing the
 * Action rows it writes (action_publisher.c). Never started in dry run. */
#ifndef RECONCILER_ACTUATOR_RESTART_WORKER_H
#define RECONCILER_ACTUATOR_RESTART_WORKER_H

#include "actuator_metrics.h"
#include "actuator_settings.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct restart_worker restart_worker;

/* Starts the thread. `actions_written` is incremented after each committed Action row so the
 * main thread can publish it promptly. The settings must outlive the worker. NULL with the
 * reason in error_buffer when the thread cannot start. */
restart_worker *restart_worker_start(const actuator_settings *settings, actuator_metrics *metrics,
                                     atomic_uint *actions_written, char *error_buffer,
                                     size_t error_size);

/* Wakes the worker (a restart was just queued) instead of waiting for its next poll. */
void restart_worker_nudge(restart_worker *worker);

/* Stops and joins the thread: an in-flight call is aborted (its row stays pending, its
 * attempt not counted), so this returns within moments. Frees the worker. */
void restart_worker_stop(restart_worker *worker);

#endif
