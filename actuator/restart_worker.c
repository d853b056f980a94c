/* restart_worker.c — the restart outbox's consumer thread (see restart_worker.h).
 *
 * One iteration: when a restart is due, take a token of the group's restart rate
 * (ACTUATOR_MAX_RESTARTS_PER_MIN, a bucket row in PostgreSQL shared by every actuator of the
 * group, so N actuators restart no faster than one), claim the oldest due row
 * (one committed statement that counts the attempt and leases the row for the request
 * timeout plus a margin), pre-check that the workspace is still exactly as the flip left
 * it, POST outside any transaction, then record the result and its Action in a second short
 * transaction, only while the lease is still ours. No transaction is open during the call,
 * so idle_in_transaction_session_timeout, a pooler or a dropped connection cannot free the
 * row mid-call: a peer takes it only once the lease has expired, and the worker never starts
 * a call that could outlast its lease. If this process dies mid-call, the lease expires and
 * any actuator of the group sends the restart again (at-least-once). A result that could not
 * be recorded (database lost right after the call) is kept in memory and recorded once the
 * database is back, before anything else is claimed, so a restart the server accepted is not
 * sent twice — unless the database stays out of reach past the lease and a peer took the row
 * over, which is counted (reconciler_actuator_restart_leases_lost_total). */
#include "restart_worker.h"

#include "log.h"

#include <jansson.h>
#include "restart_policy.h"
#include "actuator_store.h"
#include "timeutil.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* Longest sleep between looks at the outbox when nothing is due: a row queued by another
 * actuator of the group (which cannot nudge us) waits at most this long. */
#define WORKER_IDLE_POLL_MS 1000
/* Reconnect backoff after a database failure, doubling up to the cap. */
#define WORKER_DB_BACKOFF_MIN_MS 500
#define WORKER_DB_BACKOFF_MAX_MS 30000
/* A result the server keeps rejecting (not a lost connection) is dropped after this many
 * tries, so one bad row cannot stop every other restart; its restart is sent again. */
#define WORKER_UNRECORDED_MAX_QUERY_FAILURES 5

struct restart_worker {
    const actuator_settings *settings;
    actuator_metrics *metrics;
    atomic_uint *actions_written;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool nudged;          /* under lock */
    atomic_bool stopping; /* read by the curl progress callback too */
    unsigned short random_state[3];
    /* The result the database could not take, waiting to be recorded (worker thread only). */
    bool has_unrecorded;
    int unrecorded_query_failures;
    actuator_store_restart_job unrecorded_job;
    actuator_store_restart_result unrecorded_result;
    char unrecorded_reason[256];
};

/* Sleeps up to wait_ms, returning early on a nudge or stop. */
static void worker_wait(restart_worker *worker, int64_t wait_ms)
{
    if (wait_ms <= 0) {
        return;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += wait_ms / 1000;
    deadline.tv_nsec += (wait_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec += 1;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&worker->lock);
    while (!worker->nudged && !atomic_load(&worker->stopping)) {
        int waited = pthread_cond_timedwait(&worker->wake, &worker->lock, &deadline);
        if (waited == ETIMEDOUT) {
            break;
        }
    }
    worker->nudged = false;
    pthread_mutex_unlock(&worker->lock);
}

/* libcurl calls this while a transfer runs; non-zero aborts it (CURLE_ABORTED_BY_CALLBACK). */
static int abort_on_stop(void *context, curl_off_t download_total, curl_off_t downloaded,
                         curl_off_t upload_total, curl_off_t uploaded)
{
    (void)download_total;
    (void)downloaded;
    (void)upload_total;
    (void)uploaded;
    restart_worker *worker = context;
    return atomic_load(&worker->stopping) ? 1 : 0;
}

/* POSTs {} to the workspace's restart URL. *aborted when shutdown cut the call short. */
static void send_restart(restart_worker *worker, const char *url, http_response *response,
                         bool *aborted)
{
    const actuator_settings *settings = worker->settings;
    http_request_options options = {
        .method = "POST",
        .url = url,
        .bearer_token = settings->restart_token,
        .body = "{}",
        .timeout_ms = settings->restart_timeout_ms,
        .ca_file = settings->restart_ca_file,
        .proxy = settings->restart_proxy,
    };
    *aborted = false;
    memset(response, 0, sizeof *response);
    http_request *request = http_request_prepare(&options, NULL);
    if (request == NULL) {
        response->error = HTTP_CLIENT_ERROR_INTERNAL;
        return;
    }
    CURL *easy = http_request_handle(request);
    CURLcode result;
    if ((result = curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, abort_on_stop)) != CURLE_OK ||
        (result = curl_easy_setopt(easy, CURLOPT_XFERINFODATA, (void *)worker)) != CURLE_OK ||
        (result = curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L)) != CURLE_OK) {
        log_error("restart: curl_easy_setopt(progress callback) failed", "{s:s}", "error",
                  curl_easy_strerror(result));
        http_request_finish(request, result, response);
        response->error = HTTP_CLIENT_ERROR_INTERNAL;
        return;
    }
    result = curl_easy_perform(easy);
    *aborted = result == CURLE_ABORTED_BY_CALLBACK && atomic_load(&worker->stopping);
    http_request_finish(request, result, response);
}

static void count_result(restart_worker *worker, action_outcome outcome)
{
    actuator_metrics *metrics = worker->metrics;
    metrics_counter_add(metrics->actions[outcome], 1);
    switch (outcome) {
    case ACTION_OUTCOME_RESTART_ACCEPTED:
        metrics_counter_add(metrics->restarts_accepted, 1);
        break;
    case ACTION_OUTCOME_RESTART_RETRIED:
        metrics_counter_add(metrics->restarts_retried, 1);
        break;
    case ACTION_OUTCOME_RESTART_FAILED:
        metrics_counter_add(metrics->restarts_failed, 1);
        metrics_counter_add(metrics->restart_failures, 1);
        break;
    default:
        metrics_counter_add(metrics->restarts_skipped, 1);
        break;
    }
}

/* Takes over the job (the caller's copy is emptied) and a copy of the result. */
static void keep_unrecorded(restart_worker *worker, actuator_store_restart_job *job,
                            const actuator_store_restart_result *result)
{
    worker->unrecorded_job = *job;
    memset(job, 0, sizeof *job);
    worker->unrecorded_result = *result;
    snprintf(worker->unrecorded_reason, sizeof worker->unrecorded_reason, "%s",
             result->reason != NULL ? result->reason : "");
    worker->unrecorded_result.reason = worker->unrecorded_reason;
    worker->unrecorded_query_failures = 0;
    worker->has_unrecorded = true;
}

static void drop_unrecorded(restart_worker *worker)
{
    actuator_store_restart_job_free(&worker->unrecorded_job);
    memset(&worker->unrecorded_result, 0, sizeof worker->unrecorded_result);
    worker->has_unrecorded = false;
}

/* A result arrived after a peer took the row over (its lease had expired): the peer owns the
 * restart now and this result is dropped. If a call was made, the restart may have been sent
 * twice: the documented, bounded window of at-least-once. */
static void note_lease_lost(restart_worker *worker, const actuator_store_restart_job *job,
                            const actuator_store_restart_result *result)
{
    metrics_counter_add(worker->metrics->restart_leases_lost, 1);
    log_warn("restart: result not recorded, another actuator took the restart over after this "
             "one's lease expired",
             "{s:s, s:s, s:i, s:s}", "workspace_id", job->workspace_id, "outcome",
             action_outcome_name(result->outcome), "attempt", (int)job->attempt, "error",
             "lease_lost");
}

/* Records a result. On a database failure the result is kept to be recorded later rather
 * than the restart being sent again. Returns whether it was recorded now. */
static bool record(restart_worker *worker, actuator_store *database,
                   actuator_store_restart_job *job, const actuator_store_restart_result *result)
{
    bool recorded = false;
    actuator_store_status status = actuator_store_restart_record(database, job, result, &recorded);
    if (status != ACTUATOR_STORE_OK) {
        actuator_metrics_db_error(worker->metrics, ACTUATOR_COMPONENT_RESTART, status);
        log_error("restart: recording the result failed; it is kept and recorded once the "
                  "database answers again",
                  "{s:s, s:s, s:s}", "workspace_id", job->workspace_id, "outcome",
                  action_outcome_name(result->outcome), "error",
                  actuator_store_last_error(database));
        keep_unrecorded(worker, job, result);
        return false;
    }
    if (!recorded) {
        note_lease_lost(worker, job, result);
        return false;
    }
    count_result(worker, result->outcome);
    atomic_fetch_add(worker->actions_written, 1);
    return true;
}

/* Second try at recording a kept result. ACTUATOR_STORE_OK once nothing is kept any more. */
static actuator_store_status record_unrecorded(restart_worker *worker, actuator_store *database)
{
    const actuator_store_restart_job *job = &worker->unrecorded_job;
    const actuator_store_restart_result *result = &worker->unrecorded_result;
    bool recorded = false;
    actuator_store_status status = actuator_store_restart_record(database, job, result, &recorded);
    if (status == ACTUATOR_STORE_OK) {
        if (recorded) {
            count_result(worker, result->outcome);
            atomic_fetch_add(worker->actions_written, 1);
            log_info("restart: result recorded after the database came back", "{s:s, s:s, s:s}",
                     "workspace_id", job->workspace_id, "instance_id", job->instance_id, "outcome",
                     action_outcome_name(result->outcome));
        } else {
            note_lease_lost(worker, job, result);
        }
        drop_unrecorded(worker);
        return ACTUATOR_STORE_OK;
    }
    if (status == ACTUATOR_STORE_ERROR_QUERY &&
        ++worker->unrecorded_query_failures >= WORKER_UNRECORDED_MAX_QUERY_FAILURES) {
        log_error("restart: giving up recording a result; the restart stays pending and is "
                  "sent again when its lease expires",
                  "{s:s, s:s, s:s}", "workspace_id", job->workspace_id, "outcome",
                  action_outcome_name(result->outcome), "error",
                  actuator_store_last_error(database));
        drop_unrecorded(worker);
    }
    return status;
}

/* Hands the claimed row back without a call; the attempt is not counted. If the database
 * does not take it, the lease expires instead (the attempt then stays counted). */
static void release(restart_worker *worker, actuator_store *database,
                    const actuator_store_restart_job *job, restart_release_reason reason)
{
    metrics_counter_add(worker->metrics->restart_releases[reason], 1);
    actuator_store_status status = actuator_store_restart_release(database, job);
    if (status != ACTUATOR_STORE_OK) {
        actuator_metrics_db_error(worker->metrics, ACTUATOR_COMPONENT_RESTART, status);
        log_warn("restart: handing the claim back failed; it is due again when its lease "
                 "expires",
                 "{s:s, s:s, s:s}", "workspace_id", job->workspace_id, "reason",
                 restart_release_reason_name(reason), "error", actuator_store_last_error(database));
    }
}

/* The pre-check said no: the row ends skipped with the named reason, never POSTed. */
static void skip_job(restart_worker *worker, actuator_store *database,
                     actuator_store_restart_job *job, restart_precheck_result check)
{
    char reason[256];
    restart_precheck_format(check, reason, sizeof reason);
    actuator_store_restart_result result = {
        .outcome = restart_precheck_outcome(check.reason),
        .attempts_made = job->attempt - 1, /* no call: the claim's attempt is given back */
        .error_name = restart_precheck_reason_name(check.reason),
        .skip_status = restart_status_class_name(check.status),
        .reason = reason,
        .now_ms = time_now_wall_ms(),
        .actuator_id = worker->settings->actuator_id,
    };
    /* record() takes the job over only when it fails; on success the job is still ours. */
    if (record(worker, database, job, &result)) {
        metrics_counter_add(worker->metrics->restart_skips[check.reason], 1);
        log_info("restart skipped", "{s:s, s:s, s:s, s:s}", "workspace_id", job->workspace_id,
                 "instance_id", job->instance_id, "reason",
                 restart_precheck_reason_name(check.reason), "status",
                 restart_status_class_name(check.status));
    }
}

/* The claim counted an attempt beyond this actuator's limit: the attempts were used up
 * already — the last one claimed by an actuator that died mid-call (or lost its lease) before
 * reporting, or made under a higher ACTUATOR_RESTART_MAX_ATTEMPTS (a roll-out). Giving up
 * without a call keeps "at most ACTUATOR_RESTART_MAX_ATTEMPTS" true, and the failed row is
 * visible and retriable like any other. */
static void give_up_exhausted_attempts(restart_worker *worker, actuator_store *database,
                                       actuator_store_restart_job *job)
{
    const actuator_settings *settings = worker->settings;
    char reason[256];
    snprintf(reason, sizeof reason,
             "attempts_exhausted: %" PRId32
             " attempt(s) already made, ACTUATOR_RESTART_MAX_ATTEMPTS "
             "is %" PRId64 " (the last claimed one may never have reported); giving up, retry "
             "with reconciler-actuator --retry-failed-restarts",
             job->attempt - 1, settings->restart_max_attempts);
    actuator_store_restart_result result = {
        .outcome = ACTION_OUTCOME_RESTART_FAILED,
        .attempts_made = job->attempt - 1,
        .error_name = "attempts_exhausted",
        .reason = reason,
        .now_ms = time_now_wall_ms(),
        .actuator_id = settings->actuator_id,
    };
    if (record(worker, database, job, &result)) {
        log_error("restart failed, giving up", "{s:s, s:i, s:s}", "workspace_id", job->workspace_id,
                  "attempts", (int)result.attempts_made, "reason", reason);
    }
}

/* Handles one claimed row: skip, call, or hand back. The row's lease ends at
 * lease_deadline_ms on the monotonic clock (counted from before the claim was sent). */
static void handle_job(restart_worker *worker, actuator_store *database,
                       actuator_store_restart_job *job, int64_t lease_deadline_ms)
{
    const actuator_settings *settings = worker->settings;
    restart_row_now row = {
        .found = job->row_found,
        .status = job->row_status,
        .instance_id = job->row_instance_id,
    };
    restart_precheck_result check = restart_precheck(&row, job->instance_id);
    if (check.reason != RESTART_PRECHECK_SEND) {
        skip_job(worker, database, job, check);
        return;
    }
    if (restart_attempts_exhausted(job->attempt, (int32_t)settings->restart_max_attempts)) {
        give_up_exhausted_attempts(worker, database, job);
        return;
    }

    char *url = restart_url_for(settings->restart_url, job->workspace_id);
    if (url == NULL) {
        log_error("restart: out of memory building the URL", NULL);
        release(worker, database, job, RESTART_RELEASE_OUT_OF_MEMORY);
        return;
    }
    /* Last look before the call: a call that could outlive the lease could overlap a peer's
     * (the peer may take the row once the lease expires). Hand it back instead. */
    if (!restart_lease_allows_call(time_now_monotonic_ms(), lease_deadline_ms,
                                   settings->restart_timeout_ms)) {
        free(url);
        log_warn("restart: not calling, too little of the lease is left for a full request "
                 "timeout; the restart is handed back",
                 "{s:s, s:s}", "workspace_id", job->workspace_id, "reason",
                 restart_release_reason_name(RESTART_RELEASE_LEASE_TOO_SHORT));
        release(worker, database, job, RESTART_RELEASE_LEASE_TOO_SHORT);
        return;
    }
    http_response response;
    bool aborted = false;
    send_restart(worker, url, &response, &aborted);
    free(url);
    if (aborted) {
        /* Shutdown: not an attempt. The row is handed back with its attempt count. */
        http_response_free(&response);
        release(worker, database, job, RESTART_RELEASE_SHUTDOWN);
        log_info("restart call abandoned at shutdown; it stays pending", "{s:s}", "workspace_id",
                 job->workspace_id);
        return;
    }
    metrics_histogram_observe(worker->metrics->restart_seconds,
                              (double)response.elapsed_ms / 1000.0);

    actuator_store_restart_result result = {
        .attempts_made = job->attempt,
        .actuator_id = settings->actuator_id,
    };
    char reason[256];
    bool got_response = response.error == HTTP_CLIENT_OK;
    result.outcome = restart_attempt_outcome(got_response, response.status, result.attempts_made,
                                             (int32_t)settings->restart_max_attempts);
    result.http_status = got_response ? response.status : 0;
    /* The response body is never kept or logged: an upstream may echo credentials. */
    http_response_free(&response);
    if (result.outcome == ACTION_OUTCOME_RESTART_ACCEPTED) {
        result.error_name = NULL;
        snprintf(reason, sizeof reason, "accepted: HTTP %ld on attempt %" PRId32,
                 result.http_status, result.attempts_made);
    } else {
        actuator_metrics_restart_attempt_error(worker->metrics, response.error, got_response);
        result.error_name = got_response ? "http_status" : http_client_error_name(response.error);
        unsigned short *state = worker->random_state;
        result.retry_delay_ms =
            restart_backoff_ms(result.attempts_made, settings->restart_backoff_base_ms,
                               settings->restart_backoff_max_ms, erand48(state));
        if (got_response) {
            snprintf(reason, sizeof reason,
                     "http_status: HTTP %ld on attempt %" PRId32 " of %" PRId64, result.http_status,
                     result.attempts_made, settings->restart_max_attempts);
        } else {
            snprintf(reason, sizeof reason, "%s: attempt %" PRId32 " of %" PRId64,
                     result.error_name, result.attempts_made, settings->restart_max_attempts);
        }
        if (result.outcome == ACTION_OUTCOME_RESTART_RETRIED) {
            size_t used = strlen(reason);
            snprintf(reason + used, sizeof reason - used, ", next in %" PRId64 "ms",
                     result.retry_delay_ms);
        } else if (result.outcome == ACTION_OUTCOME_RESTART_FAILED) {
            size_t used = strlen(reason);
            snprintf(reason + used, sizeof reason - used,
                     "; giving up, retry with reconciler-actuator --retry-failed-restarts");
        }
    }
    result.reason = reason;
    result.now_ms = time_now_wall_ms();
    if (!record(worker, database, job, &result)) {
        return;
    }
    switch (result.outcome) {
    case ACTION_OUTCOME_RESTART_ACCEPTED:
        log_info("restart accepted", "{s:s, s:s, s:i, s:i}", "workspace_id", job->workspace_id,
                 "instance_id", job->instance_id, "attempt", (int)result.attempts_made,
                 "http_status", (int)result.http_status);
        break;
    case ACTION_OUTCOME_RESTART_RETRIED:
        log_warn("restart failed, will retry", "{s:s, s:s, s:i, s:s, s:I}", "workspace_id",
                 job->workspace_id, "reason", reason, "attempt", (int)result.attempts_made, "error",
                 result.error_name, "retry_in_ms", (json_int_t)result.retry_delay_ms);
        break;
    default:
        log_error("restart failed, giving up", "{s:s, s:s, s:i, s:s}", "workspace_id",
                  job->workspace_id, "instance_id", job->instance_id, "attempts",
                  (int)result.attempts_made, "reason", reason);
        break;
    }
}

/* Takes a token of the group's restart rate, but only when a restart is due, so an idle
 * worker's polling spends none. *due false: nothing to send now (no token taken);
 * *token_wait_ms > 0: due, but the group's rate allows the next call only after that long.
 * A token taken for a row another actuator claims first, or that its pre-check skips, is
 * spent without a call: that can only make the group slower, never faster. */
static actuator_store_status take_restart_token(restart_worker *worker, actuator_store *database,
                                                bool *due, int64_t *token_wait_ms)
{
    bool any = false;
    int64_t due_in_ms = 0;
    *due = false;
    *token_wait_ms = 0;
    actuator_store_status status = actuator_store_restart_next_due(database, &any, &due_in_ms);
    if (status != ACTUATOR_STORE_OK || !any || due_in_ms > 0) {
        return status;
    }
    *due = true;
    status = actuator_store_take_token(database, ACTUATOR_RATE_RESTART,
                                       worker->settings->max_restarts_per_minute, token_wait_ms);
    if (status == ACTUATOR_STORE_OK && *token_wait_ms > 0) {
        metrics_counter_add(worker->metrics->restarts_rate_limited, 1);
    }
    return status;
}

static void *worker_main(void *context)
{
    restart_worker *worker = context;
    const actuator_settings *settings = worker->settings;
    actuator_store *database = actuator_store_new(settings->common.database_url, settings->group_id,
                                                  settings->common.database_call_timeout_ms);
    if (database == NULL) {
        log_error("restart worker: out of memory", NULL);
        return NULL;
    }
    int64_t database_backoff_ms = WORKER_DB_BACKOFF_MIN_MS;
    bool database_was_down = false;

    while (!atomic_load(&worker->stopping)) {
        actuator_store_status status = actuator_store_connect(database);
        /* A kept result goes first: until it is recorded its row looks due again. */
        if (status == ACTUATOR_STORE_OK && worker->has_unrecorded) {
            status = record_unrecorded(worker, database);
        }
        if (status == ACTUATOR_STORE_OK) {
            /* The group's rate first, claim second: a row is never held while waiting. */
            bool due = false;
            int64_t token_wait = 0;
            status = take_restart_token(worker, database, &due, &token_wait);
            if (status == ACTUATOR_STORE_OK && token_wait > 0) {
                worker_wait(worker, token_wait);
                continue;
            }
            actuator_store_restart_job job;
            bool claimed = false;
            /* The lease is counted from before the claim is sent, so the worker's idea of
             * its end is never later than the database's. */
            int64_t lease_ms = restart_lease_ms(settings->restart_timeout_ms);
            int64_t lease_deadline_ms = time_now_monotonic_ms() + lease_ms;
            if (status == ACTUATOR_STORE_OK && due) {
                status = actuator_store_restart_claim(database, settings->actuator_id, lease_ms,
                                                      &job, &claimed);
            }
            if (status == ACTUATOR_STORE_OK && claimed) {
                handle_job(worker, database, &job, lease_deadline_ms);
                actuator_store_restart_job_free(&job);
                database_backoff_ms = WORKER_DB_BACKOFF_MIN_MS;
                continue;
            }
            if (status == ACTUATOR_STORE_OK) {
                bool any = false;
                int64_t wait_ms = 0;
                status = actuator_store_restart_next_due(database, &any, &wait_ms);
                if (status == ACTUATOR_STORE_OK) {
                    if (database_was_down) {
                        log_info("restart worker: database reachable again", NULL);
                        database_was_down = false;
                    }
                    database_backoff_ms = WORKER_DB_BACKOFF_MIN_MS;
                    /* Nothing due: sleep until the next row is (at most the idle poll); a row
                     * leased by another actuator is due when its lease expires. Due now yet
                     * nothing claimed: another actuator's claim statement had it locked at
                     * that instant, so the idle poll too rather than spinning. */
                    worker_wait(worker, any && wait_ms > 0 && wait_ms < WORKER_IDLE_POLL_MS
                                            ? wait_ms
                                            : WORKER_IDLE_POLL_MS);
                    continue;
                }
            }
        }
        actuator_metrics_db_error(worker->metrics, ACTUATOR_COMPONENT_RESTART, status);
        if (!database_was_down || status == ACTUATOR_STORE_ERROR_QUERY) {
            log_error("restart worker: database operation failed; retrying", "{s:s, s:s, s:I}",
                      "kind", actuator_store_status_name(status), "error",
                      actuator_store_last_error(database), "retry_in_ms",
                      (json_int_t)database_backoff_ms);
        }
        database_was_down = true;
        worker_wait(worker, database_backoff_ms);
        database_backoff_ms = database_backoff_ms * 2 > WORKER_DB_BACKOFF_MAX_MS
                                  ? WORKER_DB_BACKOFF_MAX_MS
                                  : database_backoff_ms * 2;
    }
    if (worker->has_unrecorded) {
        if (actuator_store_connect(database) != ACTUATOR_STORE_OK ||
            record_unrecorded(worker, database) != ACTUATOR_STORE_OK) {
            log_error("restart: a result could not be recorded before exit; that restart stays "
                      "pending and will be sent again",
                      "{s:s}", "workspace_id", worker->unrecorded_job.workspace_id);
        }
        drop_unrecorded(worker);
    }
    actuator_store_free(database);
    return NULL;
}

restart_worker *restart_worker_start(const actuator_settings *settings, actuator_metrics *metrics,
                                     atomic_uint *actions_written, char *error_buffer,
                                     size_t error_size)
{
    restart_worker *worker = calloc(1, sizeof *worker);
    if (worker == NULL) {
        snprintf(error_buffer, error_size, "restart worker: out of memory");
        return NULL;
    }
    worker->settings = settings;
    worker->metrics = metrics;
    worker->actions_written = actions_written;
    atomic_init(&worker->stopping, false);
    /* Jitter needs no cryptographic quality, only different sequences per process. */
    if (getrandom(worker->random_state, sizeof worker->random_state, GRND_NONBLOCK) !=
        (ssize_t)sizeof worker->random_state) {
        int64_t seed = time_now_monotonic_ms() ^ ((int64_t)getpid() << 16);
        memcpy(worker->random_state, &seed, sizeof worker->random_state);
    }

    pthread_condattr_t attributes;
    int error = pthread_condattr_init(&attributes);
    if (error == 0) {
        error = pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    }
    if (error == 0) {
        error = pthread_cond_init(&worker->wake, &attributes);
        pthread_condattr_destroy(&attributes);
    }
    if (error != 0) {
        snprintf(error_buffer, error_size, "restart worker: pthread_cond_init failed: %s",
                 strerror(error));
        free(worker);
        return NULL;
    }
    if ((error = pthread_mutex_init(&worker->lock, NULL)) != 0) {
        snprintf(error_buffer, error_size, "restart worker: pthread_mutex_init failed: %s",
                 strerror(error));
        pthread_cond_destroy(&worker->wake);
        free(worker);
        return NULL;
    }
    if ((error = pthread_create(&worker->thread, NULL, worker_main, worker)) != 0) {
        snprintf(error_buffer, error_size, "restart worker: pthread_create failed: %s",
                 strerror(error));
        pthread_mutex_destroy(&worker->lock);
        pthread_cond_destroy(&worker->wake);
        free(worker);
        return NULL;
    }
    return worker;
}

void restart_worker_nudge(restart_worker *worker)
{
    if (worker == NULL) {
        return;
    }
    pthread_mutex_lock(&worker->lock);
    worker->nudged = true;
    pthread_cond_signal(&worker->wake);
    pthread_mutex_unlock(&worker->lock);
}

void restart_outbox_observed(actuator_metrics *metrics, bool dry_run, int64_t pending_restarts,
                             int64_t overdue_restart_ms, int64_t *reported_pending)
{
    metrics_gauge_set(metrics->restart_overdue, (double)overdue_restart_ms / 1000.0);
    if (!dry_run || pending_restarts == *reported_pending) {
        return;
    }
    if (pending_restarts > 0) {
        /* Dry run changes nothing, and a restart is a change: the operator who switched the
         * group to dry run asked for exactly that. But the flips behind these restarts are
         * done, so the workspaces wait offline until a live actuator sends them. */
        log_warn("dry run: restarts pending in this actuator's group are left to live "
                 "actuators of the group; this one sends none. Their workspaces stay offline "
                 "until a live actuator runs (reconciler_actuator_restart_overdue_seconds)",
                 "{s:I, s:I}", "pending_restarts", (json_int_t)pending_restarts, "overdue_ms",
                 (json_int_t)overdue_restart_ms);
    } else {
        log_info("dry run: no restart pending in this actuator's group any more", NULL);
    }
    *reported_pending = pending_restarts;
}

void restart_worker_stop(restart_worker *worker)
{
    if (worker == NULL) {
        return;
    }
    pthread_mutex_lock(&worker->lock);
    atomic_store(&worker->stopping, true);
    pthread_cond_signal(&worker->wake);
    pthread_mutex_unlock(&worker->lock);
    int error = pthread_join(worker->thread, NULL);
    if (error != 0) {
        log_error("restart worker: pthread_join failed", "{s:s}", "error", strerror(error));
    }
    pthread_mutex_destroy(&worker->lock);
    pthread_cond_destroy(&worker->wake);
    free(worker);
}
