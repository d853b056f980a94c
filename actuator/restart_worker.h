/* restart_worker.h — the thread that empties the restart outbox.
 *
 * For: taking due restarts from reconciler_actuator_restarts (FOR UPDATE SKIP LOCKED, so any
 * number of actuators share them), pacing them with the token bucket, POSTing to RESTART_URL
 * and recording each result with its Action row. It has its own database connection, so a
 * slow restart call never holds up verdict decisions. A row is leased to one worker for the
 * request timeout plus a margin (no transaction is open during the call); pending restarts
 * left by a crash are due again when their lease expires, and any worker of the group takes
 * them.
 * Not for: deciding to restart (the decision transaction queues rows) or publishing the
 * Action rows it writes (action_publisher.c). Never started in dry run: a dry-run actuator
 * leaves its group's pending restarts to live actuators and says so
 * (restart_outbox_observed). */
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

/* Every actuator, dry run or not, calls this with each refresh of the outbox gauges (the
 * group's pending count and how long its most overdue unclaimed restart has been due): it
 * sets reconciler_actuator_restart_overdue_seconds, and a dry-run actuator logs a warning
 * when its group has pending restarts (and when the count changes), because it sends none
 * of them: they wait for a live actuator of the group, and the workspaces stay offline
 * meanwhile. *reported_pending keeps the count last logged (start it at 0). */
void restart_outbox_observed(actuator_metrics *metrics, bool dry_run, int64_t pending_restarts,
                             int64_t overdue_restart_ms, int64_t *reported_pending);

/* Stops and joins the thread: an in-flight call is aborted (its row stays pending, its
 * attempt not counted), so this returns within moments. Frees the worker. */
void restart_worker_stop(restart_worker *worker);

#endif
