/* reprovision.c — the reprovision worker: deadline queue, fleet update, PostgreSQL
 * write-back with retry. See reprovision.h. */
#include "reprovision.h"

#include "delay_queue.h"
#include "log.h"
#include "sim_database.h"
#include "sim_random.h"
#include "timeutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Backoff between write-back attempts: from the first to the ceiling, doubling. */
#define REPROVISION_BACKOFF_FIRST_MS 100
#define REPROVISION_BACKOFF_MAX_MS 5000

typedef struct {
    delay_entry entry; /* first member: a delay_entry * is a pending_reprovision * */
    char workspace_id[FLEET_ID_MAX + 1];
} pending_reprovision;

struct reprovision_worker {
    sim_fleet *fleet;
    sim_metrics *metrics;
    char *database_url;
    PGconn *connection;
    atomic_llong delay_ms;

    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    delay_heap queue;
    bool stopping;
};

static void update_pending_gauge(reprovision_worker *reprovisioner)
{
    metrics_gauge_set(reprovisioner->metrics->pending_reprovisions,
                      (double)reprovisioner->queue.count);
}

/* Waits up to wait_ms or until stop; the lock is held on entry and exit. */
static void wait_locked(reprovision_worker *reprovisioner, int64_t wait_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)(wait_ms / 1000);
    deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&reprovisioner->wake, &reprovisioner->lock, &deadline);
}

/* Writes the workspace back online, retrying connection and transient failures until it
 * succeeds, PostgreSQL rejects the statement, or the worker stops (after which one more
 * attempt is made). */
static reprovision_result write_back(reprovision_worker *reprovisioner, const char *workspace_id,
                                     const char *instance_id)
{
    int64_t backoff_ms = REPROVISION_BACKOFF_FIRST_MS;
    bool last_attempt = false;
    for (;;) {
        char error_text[512] = "";
        sim_database_error error = SIM_DATABASE_ERROR_CONNECTION;
        int rows = 0;
        if (reprovisioner->connection == NULL) {
            reprovisioner->connection =
                sim_database_connect(reprovisioner->database_url, error_text, sizeof error_text);
        }
        if (reprovisioner->connection != NULL) {
            error = sim_database_reprovision(reprovisioner->connection, workspace_id, instance_id,
                                             &rows, error_text, sizeof error_text);
        }
        if (error == SIM_DATABASE_OK) {
            if (rows == 0) {
                log_warn("reprovision found no row to write back", "{s:s, s:s}", "workspace_id",
                         workspace_id, "instance_id", instance_id);
                return REPROVISION_RESULT_ROW_MISSING;
            }
            fleet_mark_database_updated(reprovisioner->fleet, workspace_id, time_now_wall_ms());
            return REPROVISION_RESULT_DONE;
        }
        if (error == SIM_DATABASE_ERROR_REJECTED) {
            log_error("reprovision write-back rejected", "{s:s, s:s, s:s}", "workspace_id",
                      workspace_id, "error", sim_database_error_name(error), "detail", error_text);
            return REPROVISION_RESULT_DATABASE_FAILED;
        }
        if (error == SIM_DATABASE_ERROR_CONNECTION && reprovisioner->connection != NULL) {
            /* A broken connection is replaced on the next attempt. */
            PQfinish(reprovisioner->connection);
            reprovisioner->connection = NULL;
        }
        if (last_attempt) {
            log_error("reprovision write-back abandoned at shutdown", "{s:s, s:s, s:s}",
                      "workspace_id", workspace_id, "error", sim_database_error_name(error),
                      "detail", error_text);
            return REPROVISION_RESULT_DATABASE_FAILED;
        }
        metrics_counter_add(reprovisioner->metrics->database_retries, 1);
        log_warn("reprovision write-back failed, retrying", "{s:s, s:s, s:s, s:I}", "workspace_id",
                 workspace_id, "error", sim_database_error_name(error), "detail", error_text,
                 "retry_in_ms", (json_int_t)backoff_ms);
        pthread_mutex_lock(&reprovisioner->lock);
        if (!reprovisioner->stopping) {
            wait_locked(reprovisioner, backoff_ms);
        }
        last_attempt = reprovisioner->stopping;
        pthread_mutex_unlock(&reprovisioner->lock);
        backoff_ms = backoff_ms * 2 > REPROVISION_BACKOFF_MAX_MS ? REPROVISION_BACKOFF_MAX_MS
                                                                 : backoff_ms * 2;
    }
}

static void reprovision_one(reprovision_worker *reprovisioner, const char *workspace_id)
{
    char instance_id[32];
    fleet_make_instance_id(sim_random_thread(), instance_id, sizeof instance_id);
    char previous[FLEET_ID_MAX + 1] = "";
    fleet_current_instance(reprovisioner->fleet, workspace_id, previous);
    fleet_error error =
        fleet_reprovision(reprovisioner->fleet, workspace_id, instance_id, time_now_wall_ms());
    reprovision_result result = REPROVISION_RESULT_DONE;
    if (error != FLEET_OK) {
        result = REPROVISION_RESULT_WORKSPACE_GONE;
        log_warn("reprovision skipped", "{s:s, s:s}", "workspace_id", workspace_id, "reason",
                 fleet_error_name(error));
    } else if (reprovisioner->database_url != NULL) {
        result = write_back(reprovisioner, workspace_id, instance_id);
    }
    metrics_counter_add(reprovisioner->metrics->reprovisions[result], 1);
    if (result == REPROVISION_RESULT_DONE) {
        log_info("workspace reprovisioned", "{s:s, s:s, s:s, s:b}", "workspace_id", workspace_id,
                 "previous_instance_id", previous, "instance_id", instance_id, "database_updated",
                 reprovisioner->database_url != NULL);
    }
}

static size_t drop_all_locked(reprovision_worker *reprovisioner)
{
    size_t dropped = 0;
    delay_entry *entry;
    while ((entry = delay_heap_pop(&reprovisioner->queue)) != NULL) {
        free(entry);
        dropped++;
    }
    metrics_counter_add(reprovisioner->metrics->reprovisions[REPROVISION_RESULT_DROPPED], dropped);
    update_pending_gauge(reprovisioner);
    return dropped;
}

static void *reprovision_main(void *argument)
{
    reprovision_worker *reprovisioner = argument;
    pthread_mutex_lock(&reprovisioner->lock);
    while (!reprovisioner->stopping) {
        delay_entry *first = delay_heap_peek(&reprovisioner->queue);
        int64_t now_ms = time_now_monotonic_ms();
        if (first == NULL) {
            pthread_cond_wait(&reprovisioner->wake, &reprovisioner->lock);
            continue;
        }
        if (first->due_ms > now_ms) {
            wait_locked(reprovisioner, first->due_ms - now_ms);
            continue;
        }
        delay_heap_pop(&reprovisioner->queue);
        update_pending_gauge(reprovisioner);
        pthread_mutex_unlock(&reprovisioner->lock);
        pending_reprovision *item = (pending_reprovision *)first;
        reprovision_one(reprovisioner, item->workspace_id);
        free(item);
        pthread_mutex_lock(&reprovisioner->lock);
    }
    size_t dropped = drop_all_locked(reprovisioner);
    pthread_mutex_unlock(&reprovisioner->lock);
    if (dropped > 0) {
        log_warn("pending reprovisions dropped at shutdown", "{s:I}", "count", (json_int_t)dropped);
    }
    return NULL;
}

reprovision_worker *reprovisioner_start(sim_fleet *fleet, const char *database_url,
                                        int64_t delay_ms, sim_metrics *metrics)
{
    reprovision_worker *created = calloc(1, sizeof *created);
    if (created == NULL) {
        return NULL;
    }
    created->fleet = fleet;
    created->metrics = metrics;
    atomic_init(&created->delay_ms, delay_ms);
    if (database_url != NULL && database_url[0] != '\0') {
        created->database_url = strdup(database_url);
        if (created->database_url == NULL) {
            free(created);
            return NULL;
        }
    }
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    bool ready = pthread_cond_init(&created->wake, &attributes) == 0;
    pthread_condattr_destroy(&attributes);
    if (ready && pthread_mutex_init(&created->lock, NULL) != 0) {
        pthread_cond_destroy(&created->wake);
        ready = false;
    }
    if (ready && pthread_create(&created->thread, NULL, reprovision_main, created) != 0) {
        pthread_mutex_destroy(&created->lock);
        pthread_cond_destroy(&created->wake);
        ready = false;
    }
    if (!ready) {
        free(created->database_url);
        free(created);
        return NULL;
    }
    return created;
}

bool reprovisioner_schedule(reprovision_worker *reprovisioner, const char *workspace_id)
{
    pending_reprovision *item = calloc(1, sizeof *item);
    if (item == NULL) {
        return false;
    }
    snprintf(item->workspace_id, sizeof item->workspace_id, "%s", workspace_id);
    item->entry.watch_fd = -1;
    item->entry.due_ms = time_now_monotonic_ms() + atomic_load(&reprovisioner->delay_ms);
    pthread_mutex_lock(&reprovisioner->lock);
    bool queued = !reprovisioner->stopping && delay_heap_push(&reprovisioner->queue, &item->entry);
    if (queued) {
        update_pending_gauge(reprovisioner);
        pthread_cond_signal(&reprovisioner->wake);
    }
    pthread_mutex_unlock(&reprovisioner->lock);
    if (!queued) {
        free(item);
    }
    return queued;
}

int64_t reprovisioner_delay_ms(reprovision_worker *reprovisioner)
{
    return atomic_load(&reprovisioner->delay_ms);
}

void reprovisioner_set_delay_ms(reprovision_worker *reprovisioner, int64_t delay_ms)
{
    atomic_store(&reprovisioner->delay_ms, delay_ms);
}

size_t reprovisioner_pending(reprovision_worker *reprovisioner)
{
    pthread_mutex_lock(&reprovisioner->lock);
    size_t count = reprovisioner->queue.count;
    pthread_mutex_unlock(&reprovisioner->lock);
    return count;
}

bool reprovisioner_has_database(const reprovision_worker *reprovisioner)
{
    return reprovisioner->database_url != NULL;
}

size_t reprovisioner_clear(reprovision_worker *reprovisioner)
{
    pthread_mutex_lock(&reprovisioner->lock);
    size_t dropped = drop_all_locked(reprovisioner);
    pthread_mutex_unlock(&reprovisioner->lock);
    return dropped;
}

void reprovisioner_stop(reprovision_worker *reprovisioner)
{
    if (reprovisioner == NULL) {
        return;
    }
    pthread_mutex_lock(&reprovisioner->lock);
    reprovisioner->stopping = true;
    pthread_cond_signal(&reprovisioner->wake);
    pthread_mutex_unlock(&reprovisioner->lock);
    pthread_join(reprovisioner->thread, NULL);
    if (reprovisioner->connection != NULL) {
        PQfinish(reprovisioner->connection);
    }
    delay_heap_release(&reprovisioner->queue);
    pthread_mutex_destroy(&reprovisioner->lock);
    pthread_cond_destroy(&reprovisioner->wake);
    free(reprovisioner->database_url);
    free(reprovisioner);
}
