/* reprovision.h — what the workspace server does after accepting a restart: after a delay,
 * the workspace gets a new running instance and its row goes back online in PostgreSQL.
 *
 * For: the restart handler (schedule) and the admin API (delay, pending count, reset).
 * Not for: deciding whether a restart is accepted (server.c and the fault rules do).
 *
 * One worker thread with its own PostgreSQL connection works through a deadline-ordered
 * queue. A failed write-back is retried with backoff on a fresh connection, so a PostgreSQL
 * restart delays reprovisions but loses none; a statement PostgreSQL rejects (e.g. an id
 * that is not a uuid) is logged and counted, not retried. Without DATABASE_URL only the
 * simulated fleet changes. */
#ifndef FLEET_SIM_REPROVISION_H
#define FLEET_SIM_REPROVISION_H

#include "fleet_state.h"
#include "sim_metrics.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct reprovision_worker reprovision_worker;

/* database_url NULL or "" = no write-back. NULL if the thread could not start. */
reprovision_worker *reprovisioner_start(sim_fleet *fleet, const char *database_url,
                                        int64_t delay_ms, sim_metrics *metrics);

/* Queues a reprovision of the workspace after the current delay. false on allocation failure
 * or when stopping. */
bool reprovisioner_schedule(reprovision_worker *reprovisioner, const char *workspace_id);

int64_t reprovisioner_delay_ms(reprovision_worker *reprovisioner);
void reprovisioner_set_delay_ms(reprovision_worker *reprovisioner, int64_t delay_ms);
size_t reprovisioner_pending(reprovision_worker *reprovisioner);
bool reprovisioner_has_database(const reprovision_worker *reprovisioner);

/* Drops every queued reprovision (for /admin/reset); returns how many. */
size_t reprovisioner_clear(reprovision_worker *reprovisioner);

/* Lets the reprovision in progress finish (one last write-back attempt if PostgreSQL is
 * down), drops the queued ones with a log line, joins the thread and frees. */
void reprovisioner_stop(reprovision_worker *reprovisioner);

#endif
