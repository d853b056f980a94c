/* actuator_metrics.c — registration of the actuator's series (see actuator_metrics.h and the
 * metrics table in docs/actuator.md). */
#include "actuator_metrics.h"

#include <string.h>

#define PAUSE_SWITCH_HELP                                                                          \
    "1 while the group's pause switch is set (reconciler-actuator --pause): no flip, no "          \
    "restart; refreshed every 5s and at every decision"
#define PAUSED_VERDICTS_HELP                                                                       \
    "NOT_RUNNING verdicts the pause switch held back (SKIPPED_STALE, actuator_paused)"

static const double decision_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                          0.1,   0.25,   0.5,   1,    2.5};
static const double restart_buckets[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

static metrics_counter *counter(metrics_registry *registry, const char *name, const char *help,
                                const char *label, const char *value)
{
    const char *names[] = {label};
    const char *values[] = {value};
    return metrics_counter_get(registry, name, help, label != NULL ? 1 : 0,
                               label != NULL ? names : NULL, label != NULL ? values : NULL);
}

static metrics_gauge *gauge(metrics_registry *registry, const char *name, const char *help)
{
    return metrics_gauge_get(registry, name, help, 0, NULL, NULL);
}

bool actuator_metrics_init(actuator_metrics *metrics, metrics_registry *registry)
{
    memset(metrics, 0, sizeof *metrics);
    metrics->registry = registry;
    bool complete = true;

    for (int value = 0; value < 3; value++) {
        metrics->verdicts[value] =
            counter(registry, "reconciler_actuator_verdicts_total",
                    "Verdicts consumed, by liveness (RUNNING and UNKNOWN are only counted)",
                    "liveness", liveness_name((liveness)value));
        complete = complete && metrics->verdicts[value] != NULL;
    }
    for (int outcome = 1; outcome < ACTION_OUTCOME_COUNT; outcome++) {
        metrics->actions[outcome] =
            counter(registry, "reconciler_actuator_actions_total",
                    "Action records written (committed with their effect), by outcome", "outcome",
                    action_outcome_name((action_outcome)outcome));
        complete = complete && metrics->actions[outcome] != NULL;
    }
    metrics->duplicates = counter(
        registry, "reconciler_actuator_duplicate_verdicts_total",
        "NOT_RUNNING verdicts already decided (redelivery or replay): nothing done", NULL, NULL);
    metrics->breaker_open = gauge(registry, "reconciler_actuator_breaker_open",
                                  "1 while the group's mass-failure breaker held back this "
                                  "actuator's latest verdict that would have acted (the "
                                  "breaker window is at ACTUATOR_MAX_UNHEALTHY), else 0");
    metrics->breaker_trips =
        counter(registry, "reconciler_actuator_breaker_trips_total",
                "Times this actuator found the group's closed mass-failure breaker at its "
                "limit and opened it",
                NULL, NULL);
    metrics->flips_rate_limited =
        counter(registry, "reconciler_actuator_rate_limited_total",
                "Times a flip or restart waited for the group's rate (ACTUATOR_MAX_FLIPS_PER_MIN, "
                "ACTUATOR_MAX_RESTARTS_PER_MIN), by kind",
                "kind", "flip");
    metrics->restarts_rate_limited =
        counter(registry, "reconciler_actuator_rate_limited_total",
                "Times a flip or restart waited for the group's rate (ACTUATOR_MAX_FLIPS_PER_MIN, "
                "ACTUATOR_MAX_RESTARTS_PER_MIN), by kind",
                "kind", "restart");

    const char *result_names[] = {"result"};
    const char *accepted[] = {"accepted"}, *retried[] = {"retried"}, *failed[] = {"failed"},
               *skipped[] = {"skipped"};
    const char *restarts_help = "Restart attempts and their ends, by result (accepted = 2xx, "
                                "retried = failed attempt with retries left, failed = gave up, "
                                "skipped = workspace no longer as the flip left it)";
    metrics->restarts_accepted = metrics_counter_get(registry, "reconciler_actuator_restarts_total",
                                                     restarts_help, 1, result_names, accepted);
    metrics->restarts_retried = metrics_counter_get(registry, "reconciler_actuator_restarts_total",
                                                    restarts_help, 1, result_names, retried);
    metrics->restarts_failed = metrics_counter_get(registry, "reconciler_actuator_restarts_total",
                                                   restarts_help, 1, result_names, failed);
    metrics->restarts_skipped = metrics_counter_get(registry, "reconciler_actuator_restarts_total",
                                                    restarts_help, 1, result_names, skipped);
    metrics->restart_failures =
        counter(registry, "reconciler_actuator_restart_failures_total",
                "Restarts given up after ACTUATOR_RESTART_MAX_ATTEMPTS (RESTART_FAILED): the "
                "workspace stays offline until an operator runs reconciler-actuator "
                "--retry-failed-restarts",
                NULL, NULL);
    for (int error = HTTP_CLIENT_ERROR_TIMEOUT; error <= HTTP_CLIENT_ERROR_INTERNAL + 1; error++) {
        const char *name = error <= HTTP_CLIENT_ERROR_INTERNAL
                               ? http_client_error_name((http_client_error)error)
                               : "http_status";
        metrics->restart_attempt_errors[error] = counter(
            registry, "reconciler_actuator_restart_attempt_errors_total",
            "Failed restart attempts, by error (http_status = a non-2xx answer)", "error", name);
        complete = complete && metrics->restart_attempt_errors[error] != NULL;
    }
    metrics->restart_seconds = metrics_histogram_get(
        registry, "reconciler_actuator_restart_request_seconds",
        "Duration of restart requests to the workspace server", restart_buckets,
        sizeof restart_buckets / sizeof restart_buckets[0], 0, NULL, NULL);
    metrics->restarts_pending =
        gauge(registry, "reconciler_actuator_restarts_pending",
              "Restarts decided but not yet accepted (the restart outbox), refreshed every 5s");
    metrics->restarts_failed_rows =
        gauge(registry, "reconciler_actuator_restarts_failed",
              "Restarts given up (state failed) whose workspaces wait offline for an operator: "
              "kept until reconciler-actuator --retry-failed-restarts, refreshed every 5s");
    metrics->restart_overdue =
        gauge(registry, "reconciler_actuator_restart_overdue_seconds",
              "How long the group's most overdue pending restart has been due without any actuator "
              "claiming it (0 = none); grows when no live actuator sends restarts, e.g. the whole "
              "group in dry run. Refreshed every 5s");
    for (int reason = RESTART_PRECHECK_SEND + 1; reason < RESTART_PRECHECK_COUNT; reason++) {
        metrics->restart_skips[reason] = counter(
            registry, "reconciler_actuator_restart_skips_total",
            "Queued restarts not sent because the workspace is no longer exactly as the flip "
            "left it (offline on the same instance), by pre-check reason",
            "reason", restart_precheck_reason_name((restart_precheck_reason)reason));
        complete = complete && metrics->restart_skips[reason] != NULL;
    }
    for (int reason = 0; reason < RESTART_RELEASE_COUNT; reason++) {
        metrics->restart_releases[reason] = counter(
            registry, "reconciler_actuator_restart_claims_released_total",
            "Claimed restarts handed back without a call (not counted as attempts), by reason",
            "reason", restart_release_reason_name((restart_release_reason)reason));
        complete = complete && metrics->restart_releases[reason] != NULL;
    }
    metrics->restart_leases_lost =
        counter(registry, "reconciler_actuator_restart_leases_lost_total",
                "Restart results dropped because another actuator took the row over after this "
                "one's lease expired (the restart may have been sent twice)",
                NULL, NULL);

    static const char *const component_names[ACTUATOR_COMPONENT_COUNT] = {
        "decision", "publisher", "housekeeping", "restart"};
    for (int component = 0; component < ACTUATOR_COMPONENT_COUNT; component++) {
        for (int kind = 0; kind < 2; kind++) {
            const char *labels[] = {"component", "kind"};
            const char *values[] = {component_names[component], kind == 0 ? "connection" : "query"};
            metrics->db_errors[component][kind] = metrics_counter_get(
                registry, "reconciler_actuator_db_errors_total",
                "Failed database operations, by component and kind (connection lost or "
                "statement rejected); each is retried",
                2, labels, values);
            complete = complete && metrics->db_errors[component][kind] != NULL;
        }
    }
    metrics->database_up =
        gauge(registry, "reconciler_actuator_database_up",
              "1 while the main connection to PostgreSQL works, 0 during an outage");
    metrics->unpublished_actions =
        gauge(registry, "reconciler_actuator_actions_unpublished",
              "Action rows not yet confirmed on the actions topic, refreshed every 5s");
    metrics->actions_published =
        counter(registry, "reconciler_actuator_actions_published_total",
                "Action records confirmed by Kafka's delivery report", NULL, NULL);
    metrics->action_publish_errors =
        counter(registry, "reconciler_actuator_action_publish_errors_total",
                "Action records whose delivery failed (sent again)", NULL, NULL);
    for (int error = CODEC_ERROR_TOO_SHORT; error <= CODEC_ERROR_INTERNAL; error++) {
        metrics->dlq_codec[error] =
            counter(registry, "reconciler_actuator_dlq_total",
                    "Verdict messages sent to the dead-letter topic, by reason", "error",
                    codec_error_name((codec_error)error));
        complete = complete && metrics->dlq_codec[error] != NULL;
    }
    metrics->dlq_extra[ACTUATOR_DLQ_INVALID_SWEEP_ID] = counter(
        registry, "reconciler_actuator_dlq_total",
        "Verdict messages sent to the dead-letter topic, by reason", "error", "invalid_sweep_id");
    metrics->dlq_extra[ACTUATOR_DLQ_INVALID_INSTANCE_ID] =
        counter(registry, "reconciler_actuator_dlq_total",
                "Verdict messages sent to the dead-letter topic, by reason", "error",
                "invalid_instance_id");
    metrics->decision_seconds = metrics_histogram_get(
        registry, "reconciler_actuator_decision_seconds",
        "Duration of a NOT_RUNNING verdict's decision transaction", decision_buckets,
        sizeof decision_buckets / sizeof decision_buckets[0], 0, NULL, NULL);
    for (int value = ACTUATOR_CP_CONFIRMATION_NOT_RUNNING; value < ACTUATOR_CP_CONFIRMATION_COUNT;
         value++) {
        metrics->cp_confirmations[value] =
            counter(registry, "reconciler_actuator_cp_confirmations_total",
                    "Confirmations asked of the CP right before a flip, by what it answered "
                    "(only not_running lets the verdict act)",
                    "result", actuator_cp_confirmation_name((actuator_cp_confirmation)value));
        complete = complete && metrics->cp_confirmations[value] != NULL;
    }
    metrics->cp_confirmation_seconds = metrics_histogram_get(
        registry, "reconciler_actuator_cp_confirmation_seconds",
        "Duration of a confirmation request to the CP (the actuator's loop waits for it)",
        restart_buckets, sizeof restart_buckets / sizeof restart_buckets[0], 0, NULL, NULL);
    metrics->paused = gauge(registry, "reconciler_actuator_consumption_paused",
                            "1 while consumption is paused because a verdict waits for the "
                            "database or the DLQ");
    metrics->consumer_lag =
        gauge(registry, "reconciler_actuator_consumer_lag",
              "Verdicts on this actuator's assigned partitions not yet decided: high watermark "
              "minus position (librdkafka's cached watermarks; frozen while paused) plus the "
              "consumed batch's verdicts still to decide");
    metrics->dry_run = gauge(registry, "reconciler_actuator_dry_run",
                             "1 when ACTUATOR_DRY_RUN is on (nothing is changed)");
    /* The operator's pause switch: its state on every actuator of the group, and what it held
     * back (the Actions say which verdicts). */
    metrics->pause_switch = gauge(registry, "reconciler_actuator_paused", PAUSE_SWITCH_HELP);
    metrics->paused_verdicts = counter(registry, "reconciler_actuator_paused_verdicts_total",
                                       PAUSED_VERDICTS_HELP, NULL, NULL);

    complete = complete && metrics->duplicates != NULL && metrics->breaker_open != NULL &&
               metrics->breaker_trips != NULL && metrics->flips_rate_limited != NULL &&
               metrics->restarts_rate_limited != NULL && metrics->restarts_accepted != NULL &&
               metrics->restarts_retried != NULL && metrics->restarts_failed != NULL &&
               metrics->restarts_skipped != NULL && metrics->restart_failures != NULL &&
               metrics->restart_seconds != NULL && metrics->restarts_pending != NULL &&
               metrics->restarts_failed_rows != NULL && metrics->restart_overdue != NULL &&
               metrics->restart_leases_lost != NULL && metrics->database_up != NULL &&
               metrics->unpublished_actions != NULL && metrics->actions_published != NULL &&
               metrics->action_publish_errors != NULL &&
               metrics->dlq_extra[ACTUATOR_DLQ_INVALID_SWEEP_ID] != NULL &&
               metrics->dlq_extra[ACTUATOR_DLQ_INVALID_INSTANCE_ID] != NULL &&
               metrics->decision_seconds != NULL && metrics->paused != NULL &&
               metrics->consumer_lag != NULL && metrics->dry_run != NULL &&
               metrics->cp_confirmation_seconds != NULL && metrics->pause_switch != NULL &&
               metrics->paused_verdicts != NULL;
    return complete;
}

void actuator_metrics_db_error(actuator_metrics *metrics, actuator_component component,
                               actuator_store_status status)
{
    if (status == ACTUATOR_STORE_OK || component < 0 || component >= ACTUATOR_COMPONENT_COUNT) {
        return;
    }
    metrics_counter_add(
        metrics->db_errors[component][status == ACTUATOR_STORE_ERROR_CONNECTION ? 0 : 1], 1);
}

void actuator_metrics_restart_attempt_error(actuator_metrics *metrics, http_client_error error,
                                            bool bad_status)
{
    int index = bad_status ? HTTP_CLIENT_ERROR_INTERNAL + 1 : (int)error;
    if (index < HTTP_CLIENT_ERROR_TIMEOUT || index > HTTP_CLIENT_ERROR_INTERNAL + 1) {
        return;
    }
    metrics_counter_add(metrics->restart_attempt_errors[index], 1);
}
