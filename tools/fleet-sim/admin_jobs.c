/* admin_jobs.c — one worker thread with its own PostgreSQL connection for seed and
 * load-from-db (admin_jobs.h). */
#include "admin_jobs.h"

#include "log.h"
#include "seeding.h"
#include "sim_database.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct admin_job {
    struct admin_job *next;
    admin_job_kind kind;
    admin_seed_command seed;
    void *request;
} admin_job;

struct admin_jobs {
    sim_fleet *fleet;
    sim_metrics *metrics;
    char *database_url;
    int64_t seed_batch_size;
    PGconn *connection;
    admin_job_done done;
    void *context;

    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    admin_job *head;
    admin_job *tail;
    bool stopping;
};

/* A connection, reusing the last one while it is healthy. NULL with error set. */
static PGconn *job_connection(admin_jobs *jobs, admin_error *error)
{
    if (jobs->connection != NULL && PQstatus(jobs->connection) != CONNECTION_OK) {
        PQfinish(jobs->connection);
        jobs->connection = NULL;
    }
    if (jobs->connection == NULL) {
        char detail[512];
        jobs->connection = sim_database_connect(jobs->database_url, detail, sizeof detail);
        if (jobs->connection == NULL) {
            admin_error_set(error, ADMIN_ERROR_DATABASE_ERROR, "cannot connect: %.400s", detail);
        }
    }
    return jobs->connection;
}

static void run_job(admin_jobs *jobs, admin_job *job)
{
    admin_error error = {ADMIN_ERROR_NONE, ""};
    json_t *answer = NULL;
    if (jobs->database_url == NULL) {
        admin_error_set(&error, ADMIN_ERROR_DATABASE_NOT_CONFIGURED,
                        "this command needs DATABASE_URL, which is not set");
    } else {
        PGconn *connection = job_connection(jobs, &error);
        if (connection != NULL && job->kind == ADMIN_JOB_SEED) {
            answer = seeding_seed(jobs->fleet, connection, &job->seed, jobs->seed_batch_size,
                                  jobs->metrics, &error);
        } else if (connection != NULL) {
            answer = seeding_load(jobs->fleet, connection, &error);
        }
    }
    if (answer == NULL && error.code == ADMIN_ERROR_NONE) {
        admin_error_set(&error, ADMIN_ERROR_INTERNAL, "out of memory building the answer");
    }
    jobs->done(job->request, answer, answer != NULL ? NULL : &error, jobs->context);
}

static void *jobs_main(void *argument)
{
    admin_jobs *jobs = argument;
    pthread_mutex_lock(&jobs->lock);
    for (;;) {
        while (jobs->head == NULL && !jobs->stopping) {
            pthread_cond_wait(&jobs->wake, &jobs->lock);
        }
        if (jobs->stopping) {
            break;
        }
        admin_job *job = jobs->head;
        jobs->head = job->next;
        if (jobs->head == NULL) {
            jobs->tail = NULL;
        }
        pthread_mutex_unlock(&jobs->lock);
        run_job(jobs, job);
        free(job);
        pthread_mutex_lock(&jobs->lock);
    }
    /* Queued jobs are answered, not silently dropped: their clients are waiting. */
    admin_job *job = jobs->head;
    jobs->head = jobs->tail = NULL;
    pthread_mutex_unlock(&jobs->lock);
    while (job != NULL) {
        admin_job *next = job->next;
        admin_error error;
        admin_error_set(&error, ADMIN_ERROR_SHUTTING_DOWN, "the simulator is stopping");
        jobs->done(job->request, NULL, &error, jobs->context);
        free(job);
        job = next;
    }
    return NULL;
}

admin_jobs *admin_jobs_start(sim_fleet *fleet, const char *database_url, int64_t seed_batch_size,
                             sim_metrics *metrics, admin_job_done done, void *context)
{
    admin_jobs *jobs = calloc(1, sizeof *jobs);
    if (jobs == NULL) {
        return NULL;
    }
    jobs->fleet = fleet;
    jobs->metrics = metrics;
    jobs->seed_batch_size = seed_batch_size;
    jobs->done = done;
    jobs->context = context;
    if (database_url != NULL && database_url[0] != '\0') {
        jobs->database_url = strdup(database_url);
        if (jobs->database_url == NULL) {
            free(jobs);
            return NULL;
        }
    }
    bool ready = pthread_mutex_init(&jobs->lock, NULL) == 0;
    if (ready && pthread_cond_init(&jobs->wake, NULL) != 0) {
        pthread_mutex_destroy(&jobs->lock);
        ready = false;
    }
    if (ready && pthread_create(&jobs->thread, NULL, jobs_main, jobs) != 0) {
        pthread_cond_destroy(&jobs->wake);
        pthread_mutex_destroy(&jobs->lock);
        ready = false;
    }
    if (!ready) {
        free(jobs->database_url);
        free(jobs);
        return NULL;
    }
    return jobs;
}

bool admin_jobs_submit(admin_jobs *jobs, admin_job_kind kind, const admin_seed_command *seed,
                       void *request)
{
    admin_job *job = calloc(1, sizeof *job);
    if (job == NULL) {
        return false;
    }
    job->kind = kind;
    if (seed != NULL) {
        job->seed = *seed;
    }
    job->request = request;
    pthread_mutex_lock(&jobs->lock);
    bool queued = !jobs->stopping;
    if (queued) {
        if (jobs->tail != NULL) {
            jobs->tail->next = job;
        } else {
            jobs->head = job;
        }
        jobs->tail = job;
        pthread_cond_signal(&jobs->wake);
    }
    pthread_mutex_unlock(&jobs->lock);
    if (!queued) {
        free(job);
    }
    return queued;
}

void admin_jobs_stop(admin_jobs *jobs)
{
    if (jobs == NULL) {
        return;
    }
    pthread_mutex_lock(&jobs->lock);
    jobs->stopping = true;
    pthread_cond_signal(&jobs->wake);
    pthread_mutex_unlock(&jobs->lock);
    pthread_join(jobs->thread, NULL);
    if (jobs->connection != NULL) {
        PQfinish(jobs->connection);
        jobs->connection = NULL;
    }
}

void admin_jobs_free(admin_jobs *jobs)
{
    if (jobs == NULL) {
        return;
    }
    pthread_cond_destroy(&jobs->wake);
    pthread_mutex_destroy(&jobs->lock);
    free(jobs->database_url);
    free(jobs);
}
