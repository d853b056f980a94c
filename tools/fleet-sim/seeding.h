/* seeding.h — bulk set-up between PostgreSQL and the simulated fleet: create N workspaces in
 * both (seed), or register the online rows of the database in the fleet (load).
 *
 * For: POST /admin/seed, POST /admin/load-from-db and FLEETSIM_LOAD_ON_START. These block
 * for seconds, so the server runs them on the admin job thread (admin_jobs.h), never on the
 * HTTP thread.
 * Not for: the reprovision write-back (reprovision.c). */
#ifndef FLEET_SIM_SEEDING_H
#define FLEET_SIM_SEEDING_H

#include "admin_api.h"
#include "fleet_state.h"
#include "sim_metrics.h"

#include <jansson.h>
#include <libpq-fe.h>

/* Creates command->count workspaces in batches (one COPY each): status, runtime and a fresh
 * uuid and EC2-like instance id per row, then the matching instances in the fleet. Rows of a
 * batch enter the fleet only after the batch committed. Returns the answer object, or NULL
 * with error set (the message tells how many rows were created before the failure). */
json_t *seeding_seed(sim_fleet *fleet, PGconn *connection, const admin_seed_command *command,
                     int64_t default_batch_size, sim_metrics *metrics, admin_error *error);

/* Registers every online row with an instance id: an unknown workspace is added as running,
 * one on another instance moves to the row's instance (running), one already on that instance
 * keeps the state the simulator has (the CP is the authority on it). Answer object or NULL. */
json_t *seeding_load(sim_fleet *fleet, PGconn *connection, admin_error *error);

#endif
