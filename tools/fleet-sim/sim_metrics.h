/* sim_metrics.h — the simulator's Prometheus series, registered once at start-up.
 *
 * For: counting what the simulator served, so tests and the demo can assert on what the CP
 * and the workspace server saw (GET /metrics). Every label value comes from a closed set.
 * Not for: per-workspace detail (GET /admin/instances/{id} has that). */
#ifndef FLEET_SIM_METRICS_H
#define FLEET_SIM_METRICS_H

#include "admin_api.h"
#include "delay_queue.h"
#include "faults.h"
#include "fleet_state.h"
#include "metrics.h"

/* Answers of the restart endpoint. */
typedef enum {
    RESTART_ANSWER_ACCEPTED = 0,
    RESTART_ANSWER_ALREADY_PENDING,
    RESTART_ANSWER_WORKSPACE_NOT_FOUND,
    RESTART_ANSWER_UNAUTHORIZED,
    RESTART_ANSWER_FAULT,
    RESTART_ANSWER_COUNT
} restart_answer;

const char *restart_answer_name(restart_answer answer);

/* Outcomes of a scheduled reprovision. */
typedef enum {
    REPROVISION_RESULT_DONE = 0,        /* new instance running, row back online (if a DB) */
    REPROVISION_RESULT_WORKSPACE_GONE,  /* removed from the simulator meanwhile */
    REPROVISION_RESULT_ROW_MISSING,     /* UPDATE matched no row */
    REPROVISION_RESULT_DATABASE_FAILED, /* PostgreSQL rejected the UPDATE */
    REPROVISION_RESULT_DROPPED,         /* still pending at shutdown or on /admin/reset */
    REPROVISION_RESULT_COUNT
} reprovision_result;

const char *reprovision_result_name(reprovision_result result);

/* Status answer labels: one per instance state for normal answers, then the other answers. */
#define SIM_STATUS_LABEL_COUNT (INSTANCE_STATE_COUNT + STATUS_ANSWER_COUNT - 1)

typedef struct {
    metrics_registry *registry;
    metrics_counter *status_requests[SIM_STATUS_LABEL_COUNT];
    metrics_counter *restart_requests[RESTART_ANSWER_COUNT];
    metrics_counter *faults_applied[FAULT_MODE_COUNT][2]; /* [mode][0 status, 1 restart] */
    metrics_counter *reprovisions[REPROVISION_RESULT_COUNT];
    metrics_counter *database_retries;
    metrics_counter *admin_requests[ADMIN_ERROR_COUNT]; /* by outcome: "none" is ok */
    metrics_counter *seeded_workspaces;
    metrics_counter *held_released[3]; /* by delay_reason */
    metrics_gauge *instances[INSTANCE_STATE_COUNT];
    metrics_gauge *held_requests;
    metrics_gauge *pending_reprovisions;
    metrics_gauge *fault_rules;
} sim_metrics;

/* Registers every series. false if the registry refused one (allocation failure). */
bool sim_metrics_init(sim_metrics *metrics, metrics_registry *registry);

void sim_metrics_count_status(sim_metrics *metrics, status_answer answer, instance_state state);
void sim_metrics_count_fault(sim_metrics *metrics, fault_mode mode, fault_endpoint endpoint);

#endif
