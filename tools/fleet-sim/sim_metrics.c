/* sim_metrics.c — registration and small helpers for the simulator's series (sim_metrics.h). */
#include "sim_metrics.h"

const char *restart_answer_name(restart_answer answer)
{
    switch (answer) {
    case RESTART_ANSWER_ACCEPTED:
        return "accepted";
    case RESTART_ANSWER_ALREADY_PENDING:
        return "already_pending";
    case RESTART_ANSWER_WORKSPACE_NOT_FOUND:
        return "workspace_not_found";
    case RESTART_ANSWER_UNAUTHORIZED:
        return "unauthorized";
    case RESTART_ANSWER_FAULT:
        return "fault";
    case RESTART_ANSWER_COUNT:
        break;
    }
    return "unknown";
}

const char *reprovision_result_name(reprovision_result result)
{
    switch (result) {
    case REPROVISION_RESULT_DONE:
        return "done";
    case REPROVISION_RESULT_WORKSPACE_GONE:
        return "workspace_gone";
    case REPROVISION_RESULT_ROW_MISSING:
        return "row_missing";
    case REPROVISION_RESULT_DATABASE_FAILED:
        return "database_failed";
    case REPROVISION_RESULT_DROPPED:
        return "dropped";
    case REPROVISION_RESULT_COUNT:
        break;
    }
    return "unknown";
}

static const char *held_reason_name(int reason)
{
    switch ((delay_reason)reason) {
    case DELAY_FIRED_DUE:
        return "due";
    case DELAY_FIRED_CLIENT_GONE:
        return "client_gone";
    case DELAY_FIRED_SHUTDOWN:
        return "shutdown";
    }
    return "unknown";
}

static metrics_counter *counter(metrics_registry *registry, const char *name, const char *help,
                                const char *label, const char *value)
{
    if (label == NULL) {
        return metrics_counter_get(registry, name, help, 0, NULL, NULL);
    }
    return metrics_counter_get(registry, name, help, 1, (const char *[]){label},
                               (const char *[]){value});
}

static metrics_gauge *gauge(metrics_registry *registry, const char *name, const char *help,
                            const char *label, const char *value)
{
    if (label == NULL) {
        return metrics_gauge_get(registry, name, help, 0, NULL, NULL);
    }
    return metrics_gauge_get(registry, name, help, 1, (const char *[]){label},
                             (const char *[]){value});
}

bool sim_metrics_init(sim_metrics *metrics, metrics_registry *registry)
{
    bool ok = true;
    metrics->registry = registry;
    static const char status_help[] =
        "CP status requests by the answer given: the instance state, or why there was none";
    for (int i = 0; i < SIM_STATUS_LABEL_COUNT; i++) {
        const char *label = i < INSTANCE_STATE_COUNT
                                ? instance_state_name((instance_state)i)
                                : status_answer_name((status_answer)(i - INSTANCE_STATE_COUNT + 1));
        metrics->status_requests[i] =
            counter(registry, "fleet_sim_status_requests_total", status_help, "answer", label);
        ok = ok && metrics->status_requests[i] != NULL;
    }
    for (int i = 0; i < RESTART_ANSWER_COUNT; i++) {
        metrics->restart_requests[i] = counter(registry, "fleet_sim_restart_requests_total",
                                               "Workspace restart requests by answer", "answer",
                                               restart_answer_name((restart_answer)i));
        ok = ok && metrics->restart_requests[i] != NULL;
    }
    for (int mode = 0; mode < FAULT_MODE_COUNT; mode++) {
        for (int endpoint = 0; endpoint < 2; endpoint++) {
            metrics->faults_applied[mode][endpoint] =
                metrics_counter_get(registry, "fleet_sim_faults_applied_total",
                                    "Requests answered by a fault rule, by mode and endpoint", 2,
                                    (const char *[]){"mode", "endpoint"},
                                    (const char *[]){fault_mode_name((fault_mode)mode),
                                                     endpoint == 0 ? "status" : "restart"});
            ok = ok && metrics->faults_applied[mode][endpoint] != NULL;
        }
    }
    for (int i = 0; i < REPROVISION_RESULT_COUNT; i++) {
        metrics->reprovisions[i] = counter(registry, "fleet_sim_reprovisions_total",
                                           "Reprovisions after a restart, by result", "result",
                                           reprovision_result_name((reprovision_result)i));
        ok = ok && metrics->reprovisions[i] != NULL;
    }
    metrics->database_retries = counter(
        registry, "fleet_sim_database_retries_total",
        "Reprovision write-backs retried after a connection or transient failure", NULL, NULL);
    for (int i = 0; i < ADMIN_ERROR_COUNT; i++) {
        metrics->admin_requests[i] =
            counter(registry, "fleet_sim_admin_requests_total",
                    "Admin API requests by outcome (none = success, else the error name)",
                    "outcome", admin_error_name((admin_error_code)i));
        ok = ok && metrics->admin_requests[i] != NULL;
    }
    metrics->seeded_workspaces = counter(registry, "fleet_sim_seeded_workspaces_total",
                                         "Workspace rows created by the seed command", NULL, NULL);
    for (int i = 0; i < 3; i++) {
        metrics->held_released[i] =
            counter(registry, "fleet_sim_held_requests_released_total",
                    "Delayed or hanging requests released, by why", "reason", held_reason_name(i));
        ok = ok && metrics->held_released[i] != NULL;
    }
    for (int i = 0; i < INSTANCE_STATE_COUNT; i++) {
        metrics->instances[i] =
            gauge(registry, "fleet_sim_instances", "Simulated instances by current state", "state",
                  instance_state_name((instance_state)i));
        ok = ok && metrics->instances[i] != NULL;
    }
    metrics->held_requests = gauge(registry, "fleet_sim_held_requests",
                                   "Requests currently held by latency or hang faults", NULL, NULL);
    metrics->pending_reprovisions =
        gauge(registry, "fleet_sim_pending_reprovisions",
              "Restarts accepted whose reprovision has not happened yet", NULL, NULL);
    metrics->fault_rules =
        gauge(registry, "fleet_sim_fault_rules", "Fault rules in force", NULL, NULL);
    return ok && metrics->database_retries != NULL && metrics->seeded_workspaces != NULL &&
           metrics->held_requests != NULL && metrics->pending_reprovisions != NULL &&
           metrics->fault_rules != NULL;
}

void sim_metrics_count_status(sim_metrics *metrics, status_answer answer, instance_state state)
{
    size_t index = answer == STATUS_ANSWER_STATE
                       ? (size_t)state
                       : (size_t)INSTANCE_STATE_COUNT + (size_t)answer - 1;
    if (index < SIM_STATUS_LABEL_COUNT) {
        metrics_counter_add(metrics->status_requests[index], 1);
    }
}

void sim_metrics_count_fault(sim_metrics *metrics, fault_mode mode, fault_endpoint endpoint)
{
    if ((int)mode >= 0 && mode < FAULT_MODE_COUNT) {
        metrics_counter_add(metrics->faults_applied[mode][endpoint == FAULT_ENDPOINT_RESTART], 1);
    }
}
