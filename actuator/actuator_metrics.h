/* actuator_metrics.h — every metric series the actuator exports, registered once at start-up.
 *
 * For: naming the series (all label values come from closed enums: liveness, ActionOutcome,
 * http_client_error, codec_error, store components), so hot paths only add to a pointer.
 * Not for: serving them (common/metrics_server.c). */
#ifndef RECONCILER_ACTUATOR_METRICS_H
#define RECONCILER_ACTUATOR_METRICS_H

#include "codec.h"
#include "http_client.h"
#include "metrics.h"
#include "actuator_store.h"
#include "restart_policy.h"

#include <stdbool.h>

/* Where a database error happened: the label of reconciler_actuator_db_errors_total. */
typedef enum {
    ACTUATOR_COMPONENT_DECISION = 0, /* the verdict's transaction (main thread) */
    ACTUATOR_COMPONENT_PUBLISHER,    /* the action outbox (main thread) */
    ACTUATOR_COMPONENT_HOUSEKEEPING, /* gauges and pruning (main thread) */
    ACTUATOR_COMPONENT_RESTART,      /* the restart worker's thread */
    ACTUATOR_COMPONENT_COUNT
} actuator_component;

/* DLQ reasons beyond the codec's: a verdict that decodes but cannot be handled. */
typedef enum {
    ACTUATOR_DLQ_INVALID_SWEEP_ID = 0,
    ACTUATOR_DLQ_INVALID_INSTANCE_ID,
    ACTUATOR_DLQ_EXTRA_COUNT
} actuator_dlq_extra;

typedef struct {
    metrics_registry *registry;
    metrics_counter *verdicts[3]; /* by liveness */
    metrics_counter *actions[ACTION_OUTCOME_COUNT];
    metrics_counter *duplicates;
    metrics_gauge *breaker_open;
    metrics_counter *breaker_trips;
    metrics_counter *flips_rate_limited;    /* a flip waited for the group's flip rate */
    metrics_counter *restarts_rate_limited; /* a restart waited for the group's restart rate */
    metrics_counter *restarts_accepted;
    metrics_counter *restarts_retried;
    metrics_counter *restarts_failed;
    metrics_counter *restarts_skipped;
    metrics_counter *restart_failures; /* gave up: a RESTART_FAILED was recorded */
    metrics_counter *restart_attempt_errors[HTTP_CLIENT_ERROR_INTERNAL + 2]; /* +http_status */
    metrics_histogram *restart_seconds;
    metrics_gauge *restarts_pending;
    metrics_gauge *restarts_failed_rows;
    metrics_gauge *restart_overdue; /* seconds the most overdue unclaimed restart has waited */
    metrics_counter *restart_skips[RESTART_PRECHECK_COUNT]; /* by pre-check reason (not send) */
    metrics_counter *restart_releases[RESTART_RELEASE_COUNT];
    metrics_counter *restart_leases_lost; /* results dropped: a peer took the row over */
    metrics_counter *db_errors[ACTUATOR_COMPONENT_COUNT][2]; /* connection, query */
    metrics_gauge *database_up;
    metrics_gauge *unpublished_actions;
    metrics_counter *actions_published;
    metrics_counter *action_publish_errors;
    metrics_counter *dlq_codec[CODEC_ERROR_INTERNAL + 1];
    metrics_counter *dlq_extra[ACTUATOR_DLQ_EXTRA_COUNT];
    metrics_histogram *decision_seconds;
    /* The CP's answers to the confirmation before a flip, by actuator_cp_confirmation_name
     * (not_asked has no series: nothing was asked). */
    metrics_counter *cp_confirmations[ACTUATOR_CP_CONFIRMATION_COUNT];
    metrics_histogram *cp_confirmation_seconds;
    metrics_gauge *paused;
    metrics_gauge *consumer_lag;
    metrics_gauge *dry_run;
    /* The group's pause switch (reconciler-actuator --pause): refreshed with the other gauges
     * and at every decision that reads it; the verdicts it held back. */
    metrics_gauge *pause_switch;
    metrics_counter *paused_verdicts;
} actuator_metrics;

/* Registers every series in `registry` (the process's, which owns them: nothing to free
 * here). false on allocation failure. */
bool actuator_metrics_init(actuator_metrics *metrics, metrics_registry *registry);

/* The series for a DB error of `status` (STORE_ERROR_*) in `component`. */
void actuator_metrics_db_error(actuator_metrics *metrics, actuator_component component,
                               actuator_store_status status);

/* The series of a failed restart attempt: an http_client_error, or a non-2xx status. */
void actuator_metrics_restart_attempt_error(actuator_metrics *metrics, http_client_error error,
                                            bool bad_status);

#endif
