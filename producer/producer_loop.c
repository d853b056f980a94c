/* producer_loop.c — the producer's main loop.
 *
 * For: the life of the process after start-up, as one single-threaded loop that wakes at
 * least every 100 ms:
 *
 *   standby: every min(interval, 5 s) try the advisory lock;
 *            got it -> active, first sweep at once or when the group's current interval ends
 *   active:  every min(interval, 5 s), and before each sweep, prove the lock session
 *            still holds the lock;
 *            lost -> standby (and retry at once);
 *            sweep when due; the next is due one interval after this one *started*
 *   always:  heartbeat for /healthz; serve Kafka callbacks; watch the stop flag
 *
 * and the ordered shutdown: flush outstanding messages (bounded, 10 s), release the lock,
 * close the database sessions, destroy the Kafka producer. Not for: the steps of a sweep
 * (sweep.c) or its decisions (sweep_plan.c). */
#include "producer_loop.h"

#include "check_sender.h"
#include "hint_service.h"
#include "leader_lock.h"
#include "log.h"
#include "producer_metrics.h"
#include "scope_store.h"
#include "sweep.h"
#include "sweep_plan.h"
#include "timeutil.h"

#include <jansson.h> /* json_int_t for log fields */
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The loop's longest sleep: SIGTERM is noticed within this (plus any call in progress). */
#define LOOP_STEP_MS 100
/* Shutdown waits this long for outstanding delivery reports before purging. */
#define SHUTDOWN_FLUSH_MS 10000
/* Waiting for a batch's reports beyond message.timeout.ms: every report is due by then, the
 * margin only covers a slow broker round trip. */
#define DELIVERY_WAIT_MARGIN_MS 30000

#define LOCK_APPLICATION_NAME "reconciler-producer lock"
#define SWEEP_APPLICATION_NAME "reconciler-producer sweep"

typedef struct {
    const process_context *options;
    const producer_settings *settings;
    producer_metrics metrics;
    leader_lock *lock;
    scope_store *store;
    check_sender *sender;
    hint_service *hints; /* the fast path; NULL when neither hints nor heartbeats are on */
    leader_lock_state last_lock_state; /* to log standby transitions once, not every retry */
    bool has_last_lock_state;
    int64_t next_lock_attempt_ms; /* monotonic */
    int64_t next_lock_check_ms;
    int64_t next_sweep_ms;
} producer_loop;

static bool stop_requested(const producer_loop *loop)
{
    return *loop->options->stop_requested != 0;
}

static void heartbeat(void *context)
{
    producer_loop *loop = context;
    if (loop->options->server != NULL) {
        metrics_server_heartbeat(loop->options->server);
    }
}

static void set_ready(producer_loop *loop, bool ready, const char *reason)
{
    if (loop->options->server != NULL) {
        metrics_server_set_ready(loop->options->server, ready, reason);
    }
}

static check_sender *create_sender(producer_loop *loop, char *error_buffer, size_t error_size)
{
    check_sender_options sender_options = {
        .common = &loop->settings->common,
        .kafka_properties = loop->options->kafka_properties,
        .client_id = loop->settings->producer_id,
        .message_timeout_ms = sweep_message_timeout_ms(loop->settings->deadline_ms),
        .stop_requested = loop->options->stop_requested,
        .idle = heartbeat,
        .idle_context = loop,
    };
    return check_sender_new(&sender_options, error_buffer, error_size);
}

/* Standby -> active. The first sweep waits for the rest of the group's current interval (as
 * recorded in the database by whichever producer swept last), so a failover or a restart
 * neither doubles nor skips a sweep; with no record, it runs at once. */
static void become_active(producer_loop *loop, int64_t now_ms)
{
    char detail[640] = "";
    bool has_previous = false;
    int64_t elapsed_ms = 0;
    scope_store_status status = SCOPE_STORE_UNAVAILABLE;
    /* Twice at most: after a database restart the sweep session is stale, and its first use
     * only finds that out (and drops it); the second attempt connects afresh. */
    for (int attempt = 0; attempt < 2 && status == SCOPE_STORE_UNAVAILABLE; attempt++) {
        status = scope_store_last_sweep_elapsed(loop->store, loop->settings->lock_key,
                                                &has_previous, &elapsed_ms, detail, sizeof detail);
    }
    if (status != SCOPE_STORE_OK) {
        /* Sweeping at once is the safe side: the sweep itself will fail and say why if the
         * database is really gone. */
        log_warn("could not read the last sweep time; sweeping at once", "{s:s, s:s}", "error",
                 status == SCOPE_STORE_UNAVAILABLE ? "database_unavailable"
                                                   : "database_query_failed",
                 "detail", detail);
        has_previous = false;
    }
    int64_t delay_ms =
        sweep_schedule_first_delay(has_previous, elapsed_ms, loop->settings->interval_ms);
    loop->next_sweep_ms = now_ms + delay_ms;
    loop->next_lock_check_ms = now_ms + sweep_lock_retry_ms(loop->settings->interval_ms);
    metrics_gauge_set(loop->metrics.active, 1);
    hint_service_set_active(loop->hints, true);
    set_ready(loop, true, NULL);
    log_info("role changed", "{s:s, s:s, s:I}", "role", "active", "producer_id",
             loop->settings->producer_id, "first_sweep_in_ms", (json_int_t)delay_ms);
}

/* Active -> standby after the lock session failed: another producer may hold the lock by
 * now, so this one must stop sweeping at once and compete again. */
static void become_standby(producer_loop *loop, int64_t now_ms, const char *detail)
{
    metrics_gauge_set(loop->metrics.active, 0);
    hint_service_set_active(loop->hints, false);
    metrics_counter_add(loop->metrics.lock_losses, 1);
    set_ready(loop, false, "lock session lost");
    loop->next_lock_attempt_ms = now_ms;
    loop->has_last_lock_state = false;
    log_warn("role changed", "{s:s, s:s, s:s, s:s}", "role", "standby", "producer_id",
             loop->settings->producer_id, "error", "lock_lost", "detail", detail);
}

static void try_lock(producer_loop *loop, int64_t now_ms)
{
    char detail[640] = "";
    leader_lock_state state = leader_lock_try_acquire(loop->lock, detail, sizeof detail);
    metrics_counter_add(loop->metrics.lock_attempts[state], 1);
    loop->next_lock_attempt_ms = now_ms + sweep_lock_retry_ms(loop->settings->interval_ms);
    bool changed = !loop->has_last_lock_state || loop->last_lock_state != state;
    loop->last_lock_state = state;
    loop->has_last_lock_state = true;
    switch (state) {
    case LEADER_LOCK_HELD:
        become_active(loop, now_ms);
        break;
    case LEADER_LOCK_BUSY:
        set_ready(loop, true, NULL);
        if (changed) {
            log_info("role changed", "{s:s, s:s, s:s}", "role", "standby", "producer_id",
                     loop->settings->producer_id, "reason",
                     "another producer holds the advisory lock");
        }
        break;
    case LEADER_LOCK_UNAVAILABLE:
        /* Every failed attempt is logged (every 5 s at most): an outage stays visible. */
        set_ready(loop, false, "database_unavailable");
        log_error("advisory lock attempt failed", "{s:s, s:s, s:s}", "error",
                  "database_unavailable", "role", "standby", "detail", detail);
        break;
    }
}

static void record_sweep(producer_loop *loop, const sweep_outcome *outcome, int64_t duration_ms)
{
    producer_metrics *metrics = &loop->metrics;
    metrics_counter_add(producer_metrics_sweep_counter(metrics, outcome->result), 1);
    metrics_counter_add(metrics->rows_enqueued, (uint64_t)outcome->delivered);
    metrics_counter_add(metrics->rows_skipped, (uint64_t)outcome->skipped);
    metrics_histogram_observe(metrics->sweep_duration, (double)duration_ms / 1000.0);
    if (outcome->result != SWEEP_ERROR_DATABASE_UNAVAILABLE &&
        outcome->result != SWEEP_ERROR_DATABASE_QUERY) {
        metrics_gauge_set(metrics->sweep_size, (double)outcome->sweep_size);
        metrics_gauge_set(metrics->in_scope, (double)outcome->in_scope);
    }
    if (outcome->result == SWEEP_OK) {
        metrics_gauge_set(metrics->last_success, (double)time_now_wall_ms() / 1000.0);
        log_info("sweep done", "{s:s, s:s, s:I, s:I, s:I, s:I, s:b, s:I}", "sweep_id",
                 outcome->sweep_id, "result", "ok", "in_scope", (json_int_t)outcome->in_scope,
                 "sweep_size", (json_int_t)outcome->sweep_size, "enqueued",
                 (json_int_t)outcome->delivered, "skipped", (json_int_t)outcome->skipped, "wrapped",
                 outcome->wrapped, "duration_ms", (json_int_t)duration_ms);
        return;
    }
    log_at(outcome->result == SWEEP_INTERRUPTED ? LOG_LEVEL_WARN : LOG_LEVEL_ERROR, "sweep failed",
           "{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "sweep_id", outcome->sweep_id, "result",
           sweep_result_label(outcome->result), "error", sweep_result_name(outcome->result),
           "detail", outcome->detail, "in_scope", (json_int_t)outcome->in_scope, "sweep_size",
           (json_int_t)outcome->sweep_size, "sent", (json_int_t)outcome->sent, "enqueued",
           (json_int_t)outcome->delivered, "duration_ms", (json_int_t)duration_ms);
}

static void run_sweep(producer_loop *loop)
{
    const producer_settings *settings = loop->settings;
    int64_t started_ms = time_now_monotonic_ms();
    sweep_outcome outcome;
    if (loop->sender == NULL) {
        /* Only after a fatal Kafka error whose replacement failed: try again now. */
        memset(&outcome, 0, sizeof outcome);
        loop->sender = create_sender(loop, outcome.detail, sizeof outcome.detail);
        if (loop->sender == NULL) {
            outcome.result = SWEEP_ERROR_KAFKA_PRODUCE;
        }
    }
    if (loop->sender != NULL) {
        sweep_context context = {
            .store = loop->store,
            .sender = loop->sender,
            .lock_key = settings->lock_key,
            .page_size = settings->page_size,
            .max_per_sweep = settings->max_per_sweep,
            .deadline_ms = settings->deadline_ms,
            .delivery_timeout_ms =
                check_sender_message_timeout_ms(loop->sender) + DELIVERY_WAIT_MARGIN_MS,
            .producer_id = settings->producer_id,
            .stop_requested = loop->options->stop_requested,
            .idle = heartbeat,
            .idle_context = loop,
        };
        sweep_run(&context, &outcome);
    }
    int64_t finished_ms = time_now_monotonic_ms();
    record_sweep(loop, &outcome, finished_ms - started_ms);

    sweep_schedule schedule = sweep_schedule_next(started_ms, finished_ms, settings->interval_ms);
    loop->next_sweep_ms = schedule.next_start_ms;
    if (schedule.overran) {
        metrics_counter_add(loop->metrics.overruns, 1);
        log_warn("sweep took longer than the interval; the next one starts at once",
                 "{s:s, s:I, s:I}", "sweep_id", outcome.sweep_id, "duration_ms",
                 (json_int_t)(finished_ms - started_ms), "interval_ms",
                 (json_int_t)settings->interval_ms);
    }

    char reason[512];
    if (loop->sender != NULL && check_sender_is_fatal(loop->sender, reason, sizeof reason)) {
        /* A fatal error leaves the idempotent producer unusable; a new one starts a new
         * producer id and epoch. */
        log_error("replacing the kafka producer after a fatal error", "{s:s}", "detail", reason);
        check_sender_free(loop->sender);
        loop->sender = create_sender(loop, reason, sizeof reason);
        if (loop->sender == NULL) {
            log_error("kafka producer could not be recreated; retrying at the next sweep", "{s:s}",
                      "detail", reason);
        }
    }
}

/* One iteration's work for the current role; returns without sleeping. */
static void step(producer_loop *loop)
{
    int64_t now_ms = time_now_monotonic_ms();
    if (!leader_lock_is_held(loop->lock)) {
        if (now_ms >= loop->next_lock_attempt_ms) {
            try_lock(loop, now_ms);
        }
        return;
    }
    /* Also right before each sweep: the window in which two producers could both sweep
     * after a lock loss shrinks to the length of one sweep. */
    bool sweep_due = now_ms >= loop->next_sweep_ms;
    if (sweep_due || now_ms >= loop->next_lock_check_ms) {
        char detail[640] = "";
        if (leader_lock_check(loop->lock, detail, sizeof detail) != LEADER_LOCK_HELD) {
            become_standby(loop, now_ms, detail);
            return;
        }
        loop->next_lock_check_ms = now_ms + sweep_lock_retry_ms(loop->settings->interval_ms);
    }
    if (sweep_due) {
        run_sweep(loop);
    }
}

/* Milliseconds to sleep before the next event, at most LOOP_STEP_MS. */
static int sleep_ms(const producer_loop *loop)
{
    int64_t now_ms = time_now_monotonic_ms();
    int64_t next_ms;
    if (leader_lock_is_held(loop->lock)) {
        next_ms = loop->next_sweep_ms < loop->next_lock_check_ms ? loop->next_sweep_ms
                                                                 : loop->next_lock_check_ms;
    } else {
        next_ms = loop->next_lock_attempt_ms;
    }
    int64_t wait_ms = next_ms - now_ms;
    if (wait_ms < 0) {
        return 0;
    }
    return wait_ms < LOOP_STEP_MS ? (int)wait_ms : LOOP_STEP_MS;
}

/* Sleeps until the next event; inside rd_kafka_poll, so late delivery reports are served
 * meanwhile. */
static void wait_step(producer_loop *loop, int timeout_ms)
{
    if (loop->sender != NULL) {
        check_sender_wait(loop->sender, timeout_ms);
        return;
    }
    struct timespec pause = {.tv_sec = 0, .tv_nsec = (long)timeout_ms * 1000000L};
    nanosleep(&pause, NULL); /* EINTR (a signal) only ends the sleep early: wanted */
}

static void shut_down(producer_loop *loop)
{
    log_info("shutting down", "{s:b}", "active", leader_lock_is_held(loop->lock));
    set_ready(loop, false, "shutting down");
    hint_service_stop(loop->hints);
    loop->hints = NULL;
    if (loop->sender != NULL) {
        int left = check_sender_flush(loop->sender, SHUTDOWN_FLUSH_MS);
        if (left > 0) {
            log_warn("kafka flush bound reached at shutdown", "{s:i, s:i}", "outstanding", left,
                     "flush_timeout_ms", SHUTDOWN_FLUSH_MS);
        }
    }
    /* Release the lock before the slower teardown: a standby takes over at its next try. */
    leader_lock_free(loop->lock);
    loop->lock = NULL;
    metrics_gauge_set(loop->metrics.active, 0);
    scope_store_free(loop->store);
    loop->store = NULL;
    check_sender_free(loop->sender);
    loop->sender = NULL;
    log_info("stopped", NULL);
}

int producer_loop_run(const process_context *options)
{
    producer_settings_resolve(options->settings); /* the deadline follows the interval if unset */
    producer_loop loop = {.options = options, .settings = options->settings};
    const producer_settings *settings = options->settings;
    if (!producer_metrics_register(&loop.metrics, options->registry)) {
        log_error("metrics registration failed", "{s:s}", "detail", "out of memory");
        return 1;
    }
    char detail[640] = "";
    loop.sender = create_sender(&loop, detail, sizeof detail);
    if (loop.sender == NULL) {
        /* Almost always an invalid --kafka-prop / RECONCILER_KAFKA_* value: a configuration
         * error, hence exit code 2 like any other bad setting. */
        log_error("kafka producer could not be created", "{s:s}", "detail", detail);
        fprintf(stderr, "reconciler-producer: %s\n", detail);
        return 2;
    }
    loop.lock = leader_lock_new(settings->common.database_url, LOCK_APPLICATION_NAME,
                                settings->lock_key, settings->common.database_call_timeout_ms);
    loop.store = scope_store_new(settings->common.database_url, SWEEP_APPLICATION_NAME,
                                 settings->common.database_call_timeout_ms);
    if (loop.lock == NULL || loop.store == NULL) {
        log_error("start-up failed", "{s:s}", "detail", "out of memory");
        leader_lock_free(loop.lock);
        scope_store_free(loop.store);
        check_sender_free(loop.sender);
        return 1;
    }
    loop.hints = hint_service_start(settings, options->kafka_properties, options->registry, detail,
                                    sizeof detail);
    if (loop.hints == NULL && detail[0] != '\0') {
        log_error("hint service could not start", "{s:s, s:s}", "error", "hint_service_failed",
                  "detail", detail);
        leader_lock_free(loop.lock);
        scope_store_free(loop.store);
        check_sender_free(loop.sender);
        return 1;
    }
    set_ready(&loop, false, "waiting for the advisory lock session");
    log_info("producer started", "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "producer_id",
             settings->producer_id, "topic", settings->common.topic_checks, "interval_ms",
             (json_int_t)settings->interval_ms, "page_size", (json_int_t)settings->page_size,
             "max_per_sweep", (json_int_t)settings->max_per_sweep, "deadline_ms",
             (json_int_t)settings->deadline_ms, "message_timeout_ms",
             (json_int_t)check_sender_message_timeout_ms(loop.sender), "lock_key",
             (json_int_t)settings->lock_key);

    loop.next_lock_attempt_ms = time_now_monotonic_ms();
    while (!stop_requested(&loop)) {
        heartbeat(&loop);
        step(&loop);
        if (stop_requested(&loop)) {
            break;
        }
        wait_step(&loop, sleep_ms(&loop));
    }
    shut_down(&loop);
    return 0;
}
