/* admin_handlers.h — fleet-sim's admin API (/admin/...) executed on the server: state, instances,
 * faults, terminate, seed, load-from-db, config, reset.
 *
 * For: server.c, which routes every /admin request here once its body has arrived.
 * Not for: parsing (admin_api.c turns bytes into commands) nor the CP and restart APIs, which
 * stay in server.c. */
#ifndef FLEET_SIM_ADMIN_HANDLERS_H
#define FLEET_SIM_ADMIN_HANDLERS_H

#include "admin_api.h"
#include "server_internal.h"

#include <jansson.h>
#include <microhttpd.h>

/* Answers one admin request; `path` is the URL after "/admin" ("" or "/..."). */
enum MHD_Result admin_handle(sim_server *server, struct MHD_Connection *connection,
                             const char *method, const char *path, request_context *context);

/* The job thread's completion callback (an admin_job_done): the answer becomes the plan and the
 * held request resumes. */
void admin_handle_job_done(void *request, json_t *answer, const admin_error *error, void *cls);

#endif
