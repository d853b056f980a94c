/* hint_service.c — see hint_service.h.
 *
 *   POST /hints ──(hint_endpoint.c: token, size cap, hint_parse)──> bounded queue of instance ids
 *   worker thread: dedup ──> SELECT in-scope rows by instance_id ──> CheckRequest ──> urgent lane
 *                  every 5 s while active: stale heartbeats ──> the same
 *
 * The endpoint answers 202 as soon as the id is queued: a hint is advice, and EventBridge's
 * API destinations only need to know it arrived. What became of it is counted by outcome. */
#include "hint_service.h"

#include "codec.h"
#include "hint_endpoint.h"
#include "kafka_client.h"
#include "log.h"
#include "pg_bounded.h"
#include "producer_database.h"
#include "scope_store.h"
#include "timeutil.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

/* Hints waiting for the worker; past it a hint is refused with 503 (the sender retries). */
#define HINT_QUEUE_CAPACITY 4096
/* Recent hints remembered for deduplication (a ring: the oldest is forgotten first). */
#define HINT_RECENT_CAPACITY 8192
#define HINT_SCAN_INTERVAL_MS 5000
/* How often the in-scope count that hinted requests carry as sweep_size is refreshed. */
#define HINT_COUNT_REFRESH_MS 60000
#define HINT_WORKER_WAIT_MS 100
#define HINT_FLUSH_MS 5000
#define HINT_APPLICATION_NAME "reconciler-producer hints"

typedef enum { SOURCE_EVENT = 0, SOURCE_HEARTBEAT, SOURCE_COUNT } hint_source;

typedef struct {
    char instance_id[HINT_INSTANCE_ID_MAX + 1];
    int64_t seen_ms;
} recent_hint;

struct hint_service {
    const producer_settings *settings;
    hint_endpoint *endpoint; /* NULL when PRODUCER_HINT_ADDR is empty */
    metrics_counter *outcomes[HINT_OUTCOME_COUNT];
    metrics_counter *urgent_checks[SOURCE_COUNT];
    /* The queue between the two threads. */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    char (*queue)[HINT_INSTANCE_ID_MAX + 1];
    size_t queue_head, queue_count;
    bool stopping;
    atomic_bool active;
    pthread_t worker;
    bool worker_started;
    /* The worker's own. */
    rd_kafka_t *producer;
    PGconn *database;
    recent_hint *recent;
    size_t recent_next;
    int64_t in_scope; /* sweep_size of hinted requests */
    int64_t next_count_ms, next_scan_ms;
};

/* ---- the queue between the endpoint and the worker ----------------------------------- */

static void count(void *context, hint_outcome outcome)
{
    hint_service *service = context;
    metrics_counter_add(service->outcomes[outcome], 1);
}

/* The endpoint's sink: hands an instance id to the worker; false when the queue is full. */
static bool enqueue(void *context, const char *instance_id)
{
    hint_service *service = context;
    pthread_mutex_lock(&service->lock);
    bool room = service->queue_count < HINT_QUEUE_CAPACITY;
    if (room) {
        size_t slot = (service->queue_head + service->queue_count) % HINT_QUEUE_CAPACITY;
        snprintf(service->queue[slot], sizeof service->queue[slot], "%s", instance_id);
        service->queue_count++;
        pthread_cond_signal(&service->wake);
    }
    pthread_mutex_unlock(&service->lock);
    return room;
}

/* ---- the worker ------------------------------------------------------------------------ */

/* True when the instance was hinted within `window_ms`; otherwise remembers it now. */
static bool seen_recently(hint_service *service, const char *instance_id, int64_t now_ms,
                          int64_t window_ms)
{
    if (window_ms <= 0)
        return false;
    for (size_t index = 0; index < HINT_RECENT_CAPACITY; index++) {
        recent_hint *entry = &service->recent[index];
        if (entry->seen_ms > 0 && now_ms - entry->seen_ms < window_ms &&
            strcmp(entry->instance_id, instance_id) == 0)
            return true;
    }
    recent_hint *slot = &service->recent[service->recent_next];
    size_t length = strlen(instance_id);
    if (length >= sizeof slot->instance_id) {
        return false; /* too long to remember: such a hint is simply not deduplicated */
    }
    service->recent_next = (service->recent_next + 1) % HINT_RECENT_CAPACITY;
    memcpy(slot->instance_id, instance_id, length + 1);
    slot->seen_ms = now_ms;
    return false;
}

static PGresult *run_query(hint_service *service, const char *sql, int count_of_params,
                           const char *const *params)
{
    char error[640] = "";
    if (service->database == NULL) {
        service->database = producer_database_connect(
            service->settings->common.database_url, HINT_APPLICATION_NAME,
            PRODUCER_DATABASE_SESSION_QUERIES, service->settings->common.database_call_timeout_ms,
            error, sizeof error);
        if (service->database == NULL) {
            log_warn("hint lookup failed", "{s:s, s:s}", "error", "database_unavailable", "detail",
                     error);
            return NULL;
        }
    }
    PGresult *result = pg_bounded_exec(service->database, "hint lookup", sql, count_of_params,
                                       params, service->settings->common.database_call_timeout_ms);
    if (PQresultStatus(result) == PGRES_TUPLES_OK)
        return result;
    producer_database_one_line(PQresultErrorMessage(result), error, sizeof error);
    log_warn("hint lookup failed", "{s:s, s:s}", "error", "database_query_failed", "detail", error);
    PQclear(result);
    if (producer_database_connection_broken(service->database)) {
        PQfinish(service->database);
        service->database = NULL;
    }
    return NULL;
}

static void refresh_in_scope(hint_service *service, int64_t now_ms)
{
    if (now_ms < service->next_count_ms)
        return;
    PGresult *result =
        run_query(service, "SELECT count(*) FROM workspaces WHERE " SCOPE_PREDICATE, 0, NULL);
    if (result == NULL)
        return;
    service->in_scope = strtoll(PQgetvalue(result, 0, 0), NULL, 10);
    service->next_count_ms = now_ms + HINT_COUNT_REFRESH_MS;
    PQclear(result);
}

/* One CheckRequest per row of `rows` (columns: id, instance_id) not marked in `skip` (may be
 * NULL) to the urgent lane. Its
 * sweep_size is the in-scope count, so the actuator's percentage breaker means what it means
 * for a sweep. Returns how many were handed to librdkafka. */
static int send_checks(hint_service *service, PGresult *rows, hint_source source, const bool *skip)
{
    char sweep_id[37];
    uuid_t sweep_uuid;
    uuid_generate_random(sweep_uuid);
    uuid_unparse_lower(sweep_uuid, sweep_id);
    int64_t now_ms = time_now_wall_ms();
    int sent = 0;
    for (int row = 0; row < PQntuples(rows); row++) {
        if (skip != NULL && skip[row])
            continue;
        check_request request = {
            .workspace_id = PQgetvalue(rows, row, 0),
            .instance_id = PQgetvalue(rows, row, 1),
            .sweep_id = sweep_id,
            .sweep_size = service->in_scope > 0 ? service->in_scope : 1,
            .enqueued_at = now_ms,
            .deadline = now_ms + service->settings->deadline_ms,
            .producer_id = service->settings->producer_id,
        };
        uint8_t *value = NULL;
        size_t length = 0;
        if (codec_encode_check_request(&request, &value, &length) != CODEC_OK)
            continue;
        rd_kafka_resp_err_t error = rd_kafka_producev(
            service->producer, RD_KAFKA_V_TOPIC(service->settings->topic_urgent_checks),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
            RD_KAFKA_V_KEY(request.workspace_id, strlen(request.workspace_id)),
            RD_KAFKA_V_VALUE(value, length), RD_KAFKA_V_END);
        if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
            free(value);
            log_warn("urgent CheckRequest not enqueued", "{s:s, s:s}", "error", "kafka_error",
                     "detail", rd_kafka_err2str(error));
            continue;
        }
        metrics_counter_add(service->urgent_checks[source], 1);
        log_info("urgent CheckRequest enqueued", "{s:s, s:s, s:s}", "workspace_id",
                 request.workspace_id, "instance_id", request.instance_id, "source",
                 source == SOURCE_EVENT ? "event" : "heartbeat");
        sent++;
    }
    return sent;
}

static void serve_hint(hint_service *service, const char *instance_id, int64_t now_ms)
{
    if (seen_recently(service, instance_id, now_ms, service->settings->hint_dedup_ms)) {
        count(service, HINT_OUTCOME_DUPLICATE);
        return;
    }
    refresh_in_scope(service, now_ms);
    const char *params[] = {instance_id};
    PGresult *rows = run_query(
        service,
        "SELECT id::text, instance_id FROM workspaces WHERE instance_id = $1 AND " SCOPE_PREDICATE,
        1, params);
    if (rows == NULL) {
        count(service, HINT_OUTCOME_DATABASE_ERROR);
        return;
    }
    if (PQntuples(rows) == 0)
        count(service, HINT_OUTCOME_UNKNOWN_INSTANCE); /* unknown, gone, or already offline */
    else
        count(service, send_checks(service, rows, SOURCE_EVENT, NULL) > 0
                           ? HINT_OUTCOME_CHECKED
                           : HINT_OUTCOME_KAFKA_ERROR);
    PQclear(rows);
}

/* Rows whose agent stopped reporting: the platform's own hint, no cloud integration needed.
 * A row is sent again only after PRODUCER_INTERVAL (by then the sweep has asked anyway), and
 * at most PRODUCER_HEARTBEAT_SCAN_LIMIT rows per scan, oldest heartbeat first. */
static void scan_heartbeats(hint_service *service, int64_t now_ms)
{
    const producer_settings *settings = service->settings;
    if (settings->heartbeat_stale_ms <= 0 || !atomic_load(&service->active) ||
        now_ms < service->next_scan_ms)
        return;
    service->next_scan_ms = now_ms + HINT_SCAN_INTERVAL_MS;
    refresh_in_scope(service, now_ms);
    char stale[32], limit[32];
    snprintf(stale, sizeof stale, "%lld", (long long)settings->heartbeat_stale_ms);
    /* Fetch more than the limit: rows sent recently are skipped here, not in SQL. */
    snprintf(limit, sizeof limit, "%lld", (long long)settings->heartbeat_scan_limit * 4);
    const char *params[] = {stale, limit};
    PGresult *rows =
        run_query(service,
                  "SELECT id::text, instance_id FROM workspaces WHERE " SCOPE_PREDICATE
                  " AND last_heartbeat_at < now() - $1::bigint * interval '1 millisecond'"
                  " ORDER BY last_heartbeat_at LIMIT $2::bigint",
                  2, params);
    if (rows == NULL)
        return;
    int64_t repeat_ms = settings->interval_ms > settings->hint_dedup_ms ? settings->interval_ms
                                                                        : settings->hint_dedup_ms;
    int row_count = PQntuples(rows);
    bool *skip = calloc((size_t)row_count + 1, sizeof *skip);
    int64_t chosen = 0;
    for (int row = 0; skip != NULL && row < row_count; row++) {
        skip[row] = chosen >= settings->heartbeat_scan_limit ||
                    seen_recently(service, PQgetvalue(rows, row, 1), now_ms, repeat_ms);
        if (!skip[row])
            chosen++;
    }
    if (chosen > 0)
        send_checks(service, rows, SOURCE_HEARTBEAT, skip);
    free(skip);
    PQclear(rows);
}

/* Takes up to `capacity` queued ids; waits (bounded) when there are none. */
static size_t take_queued(hint_service *service, char (*taken)[HINT_INSTANCE_ID_MAX + 1],
                          size_t capacity, bool *stopping)
{
    pthread_mutex_lock(&service->lock);
    if (service->queue_count == 0 && !service->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)HINT_WORKER_WAIT_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&service->wake, &service->lock, &until);
    }
    size_t count_taken = 0;
    while (service->queue_count > 0 && count_taken < capacity) {
        memcpy(taken[count_taken++], service->queue[service->queue_head], HINT_INSTANCE_ID_MAX + 1);
        service->queue_head = (service->queue_head + 1) % HINT_QUEUE_CAPACITY;
        service->queue_count--;
    }
    *stopping = service->stopping;
    pthread_mutex_unlock(&service->lock);
    return count_taken;
}

static void *run_worker(void *context)
{
    hint_service *service = context;
    static char taken[64][HINT_INSTANCE_ID_MAX + 1];
    bool stopping = false;
    while (!stopping) {
        size_t count_taken = take_queued(service, taken, 64, &stopping);
        int64_t now_ms = time_now_monotonic_ms();
        for (size_t index = 0; index < count_taken; index++)
            serve_hint(service, taken[index], now_ms);
        if (!stopping)
            scan_heartbeats(service, now_ms);
        rd_kafka_poll(service->producer, 0); /* delivery reports and errors */
    }
    return NULL;
}

/* ---- start and stop -------------------------------------------------------------------- */

static void on_delivery(rd_kafka_t *producer, const rd_kafka_message_t *message, void *opaque)
{
    (void)producer;
    hint_service *service = opaque;
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        count(service, HINT_OUTCOME_KAFKA_ERROR);
        log_warn("urgent CheckRequest delivery failed", "{s:s, s:s}", "error", "kafka_error",
                 "detail", rd_kafka_err2str(message->err));
    }
}

static void on_kafka_error(rd_kafka_t *kafka, int error, const char *reason, void *opaque)
{
    (void)opaque;
    log_warn("kafka error", "{s:s, s:s, s:s}", "client", rd_kafka_name(kafka), "error",
             rd_kafka_err2str((rd_kafka_resp_err_t)error), "detail", reason);
}

static bool register_metrics(hint_service *service, metrics_registry *registry)
{
    static const char *const outcome_label[] = {"outcome"};
    for (int outcome = 0; outcome < HINT_OUTCOME_COUNT; outcome++) {
        if (outcome == HINT_PARSE_OK)
            continue;
        const char *value = hint_outcome_name(outcome);
        service->outcomes[outcome] = metrics_counter_get(
            registry, "reconciler_producer_hints_total",
            "Hints received, by what became of them (queued, then checked, duplicate, "
            "unknown_instance, ...; or refused: unauthorized, too_large, body_not_json, ...)",
            1, outcome_label, &value);
        if (service->outcomes[outcome] == NULL)
            return false;
    }
    static const char *const source_label[] = {"source"};
    static const char *const sources[] = {"event", "heartbeat"};
    for (int source = 0; source < SOURCE_COUNT; source++) {
        service->urgent_checks[source] =
            metrics_counter_get(registry, "reconciler_producer_urgent_checks_total",
                                "CheckRequests enqueued to the urgent lane, by what hinted them", 1,
                                source_label, &sources[source]);
        if (service->urgent_checks[source] == NULL)
            return false;
    }
    return true;
}

hint_service *hint_service_start(const producer_settings *settings,
                                 const config_kafka_properties *kafka_properties,
                                 metrics_registry *registry, char *error_buffer, size_t error_size)
{
    error_buffer[0] = '\0';
    bool endpoint = settings->hint_address != NULL && settings->hint_address[0] != '\0';
    if (!endpoint && settings->heartbeat_stale_ms <= 0)
        return NULL;
    hint_service *service = calloc(1, sizeof *service);
    if (service == NULL) {
        snprintf(error_buffer, error_size, "out of memory");
        return NULL;
    }
    service->settings = settings;
    pthread_mutex_init(&service->lock, NULL);
    pthread_cond_init(&service->wake, NULL);
    service->queue = calloc(HINT_QUEUE_CAPACITY, sizeof *service->queue);
    service->recent = calloc(HINT_RECENT_CAPACITY, sizeof *service->recent);
    if (service->queue == NULL || service->recent == NULL || !register_metrics(service, registry)) {
        snprintf(error_buffer, error_size, "out of memory");
        hint_service_stop(service);
        return NULL;
    }
    kafka_client_spec spec = {
        .common = &settings->common,
        .properties = kafka_properties,
        .client_id = settings->producer_id,
        .opaque = service,
        .on_error = on_kafka_error,
        .on_delivery = on_delivery,
    };
    service->producer = kafka_client_new_producer(&spec, error_buffer, error_size, NULL);
    if (service->producer != NULL)
        kafka_client_learn_topic(service->producer, settings->topic_urgent_checks);
    hint_endpoint_sink sink = {.enqueue = enqueue, .count = count, .context = service};
    if (service->producer == NULL || (endpoint && (service->endpoint = hint_endpoint_start(
                                                       settings->hint_address, settings->hint_token,
                                                       sink, error_buffer, error_size)) == NULL)) {
        hint_service_stop(service);
        return NULL;
    }
    if (pthread_create(&service->worker, NULL, run_worker, service) != 0) {
        snprintf(error_buffer, error_size, "pthread_create failed");
        hint_service_stop(service);
        return NULL;
    }
    service->worker_started = true;
    log_info("hint service started", "{s:s, s:i, s:s, s:I}", "hint_address",
             endpoint ? settings->hint_address : "", "port", hint_endpoint_port(service->endpoint),
             "topic", settings->topic_urgent_checks, "heartbeat_stale_ms",
             (json_int_t)settings->heartbeat_stale_ms);
    return service;
}

int hint_service_port(const hint_service *service)
{
    return service != NULL ? hint_endpoint_port(service->endpoint) : 0;
}

void hint_service_set_active(hint_service *service, bool active)
{
    if (service != NULL)
        atomic_store(&service->active, active);
}

void hint_service_stop(hint_service *service)
{
    if (service == NULL)
        return;
    hint_endpoint_stop(service->endpoint); /* no new hint from here on */
    pthread_mutex_lock(&service->lock);
    service->stopping = true;
    pthread_cond_signal(&service->wake);
    pthread_mutex_unlock(&service->lock);
    if (service->worker_started)
        pthread_join(service->worker, NULL);
    if (service->producer != NULL) {
        if (rd_kafka_flush(service->producer, HINT_FLUSH_MS) != RD_KAFKA_RESP_ERR_NO_ERROR)
            log_warn("urgent CheckRequests left undelivered at shutdown", "{s:i}", "outstanding",
                     rd_kafka_outq_len(service->producer));
        rd_kafka_destroy(service->producer);
    }
    if (service->database != NULL)
        PQfinish(service->database);
    pthread_cond_destroy(&service->wake);
    pthread_mutex_destroy(&service->lock);
    free(service->queue);
    free(service->recent);
    free(service);
}
