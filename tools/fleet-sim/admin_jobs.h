/* admin_jobs.h — the thread that runs slow admin commands (seed, load-from-db) so the HTTP
 * thread keeps answering status requests meanwhile.
 *
 * For: server.c, which suspends the admin request, submits a job, and gets the answer back
 * through the completion callback (on this thread), which resumes the request.
 * Not for: anything that must not wait behind a 100,000-row seed: jobs run one at a time. */
#ifndef FLEET_SIM_ADMIN_JOBS_H
#define FLEET_SIM_ADMIN_JOBS_H

#include "admin_api.h"
#include "fleet_state.h"
#include "sim_metrics.h"

#include <jansson.h>
#include <stdbool.h>

typedef enum {
    ADMIN_JOB_SEED = 0,
    ADMIN_JOB_LOAD_FROM_DATABASE,
} admin_job_kind;

/* Called on the job thread when a job ends: exactly one of `answer` (owned by the callee) and
 * `error` is non-NULL. `request` is what was submitted. */
typedef void (*admin_job_done)(void *request, json_t *answer, const admin_error *error,
                               void *context);

typedef struct admin_jobs admin_jobs;

/* database_url NULL or "" = every job fails with database_not_configured. */
admin_jobs *admin_jobs_start(sim_fleet *fleet, const char *database_url, int64_t seed_batch_size,
                             sim_metrics *metrics, admin_job_done done, void *context);

/* Queues a job; false when stopping or out of memory (the callback is then not called).
 * seed may be NULL for other kinds. */
bool admin_jobs_submit(admin_jobs *jobs, admin_job_kind kind, const admin_seed_command *seed,
                       void *request);

/* Finishes the job in progress, answers queued ones with shutting_down and joins the thread;
 * later submissions fail. The struct stays valid for callers still holding it. */
void admin_jobs_stop(admin_jobs *jobs);
/* Frees a stopped job runner. */
void admin_jobs_free(admin_jobs *jobs);

#endif
