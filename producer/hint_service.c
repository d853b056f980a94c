/* hint_service.c — see hint_service.h.
 *
 *   POST /hints ──(MHD thread: token, size cap, hint_parse)──> bounded queue of instance ids
 *   worker thread: dedup ──> SELECT in-scope rows by instance_id ──> CheckRequest ──> urgent lane
 *                  every 5 s while active: stale heartbeats ──> the same
 *
 * The endpoint answers 202 as soon as the id is queued: a hint is advice, and EventBridge's
 * API destinations only need to know it arrived. What became of it is counted by outcome. */
#include "hint_service.h"

#include "codec.h"
#include "hint_parse.h"
#include "kafka_client.h"
#include "listener.h"
#include "log.h"
#include "producer_database.h"
#include "scope_store.h"
#include "timeutil.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

/* EventBridge events are a few KiB at most; anything bigger is not a hint. */
#define HINT_BODY_MAX 65536
/* Hints waiting for the worker; past it a hint is refused with 503 (the sender retries). */
#define HINT_QUEUE_CAPACITY 4096
/* Recent hints remembered for deduplication (a ring: the oldest is forgotten first). */
#define HINT_RECENT_CAPACITY 8192
#define HINT_SCAN_INTERVAL_MS 5000
/* How often the in-scope count that hinted requests carry as sweep_size is refreshed. */
#define HINT_COUNT_REFRESH_MS 60000
#define HINT_WORKER_WAIT_MS 100
#define HINT_FLUSH_MS 5000
#define HINT_CONNECTION_LIMIT 64
#define HINT_CONNECTION_TIMEOUT_SECONDS 10
#define HINT_APPLICATION_NAME "reconciler-producer hints"

/* Every outcome a hint can have (metric label). The parse results come first, in order. */
typedef enum {
    OUTCOME_QUEUED = HINT_PARSE_RESULT_COUNT, /* HINT_PARSE_OK is never counted as such */
    OUTCOME_UNAUTHORIZED,
    OUTCOME_TOO_LARGE,
    OUTCOME_QUEUE_FULL,
    OUTCOME_DUPLICATE,
    OUTCOME_UNKNOWN_INSTANCE,
    OUTCOME_CHECKED,
    OUTCOME_DATABASE_ERROR,
    OUTCOME_KAFKA_ERROR,
    OUTCOME_COUNT
} hint_outcome;

static const char *outcome_name(int outcome)
{
    static const char *const names[] = {"queued",     "unauthorized",   "too_large",
                                        "queue_full", "duplicate",      "unknown_instance",
                                        "checked",    "database_error", "kafka_error"};
    if (outcome < HINT_PARSE_RESULT_COUNT)
        return hint_parse_result_name((hint_parse_result)outcome);
    return names[outcome - HINT_PARSE_RESULT_COUNT];
}

typedef enum { SOURCE_EVENT = 0, SOURCE_HEARTBEAT, SOURCE_COUNT } hint_source;

typedef struct {
    char instance_id[HINT_INSTANCE_ID_MAX + 1];
    int64_t seen_ms;
} recent_hint;

struct hint_service {
    const producer_settings *settings;
    struct MHD_Daemon *daemon;
    int port;
    char *expected_authorization; /* "Bearer <token>" */
    metrics_counter *outcomes[OUTCOME_COUNT];
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

/* ---- the endpoint (libmicrohttpd's thread) --------------------------------------------- */

typedef struct {
    char *body;
    size_t length;
    bool too_large;
} upload;

static enum MHD_Result answer(struct MHD_Connection *connection, unsigned int status,
                              const char *error)
{
    char body[128];
    if (error != NULL)
        snprintf(body, sizeof body, "{\"error\":\"%s\"}\n", error);
    else
        snprintf(body, sizeof body, "{\"queued\":true}\n");
    struct MHD_Response *response =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
    if (response == NULL)
        return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    enum MHD_Result queued = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return queued;
}

static void count(hint_service *service, int outcome)
{
    metrics_counter_add(service->outcomes[outcome], 1);
}

/* Compares in time independent of where the first difference is, so the token cannot be
 * guessed a byte at a time from answer times. */
static bool token_matches(const char *expected, const char *given)
{
    if (given == NULL)
        return false;
    size_t expected_length = strlen(expected), given_length = strlen(given);
    unsigned char difference = expected_length != given_length;
    for (size_t index = 0; index < expected_length; index++)
        difference |= (unsigned char)(expected[index] ^ given[index < given_length ? index : 0]);
    return difference == 0;
}

static bool enqueue(hint_service *service, const char *instance_id)
{
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

static enum MHD_Result handle_hint(void *context, struct MHD_Connection *connection,
                                   const char *url, const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **request_state)
{
    (void)version;
    hint_service *service = context;
    upload *state = *request_state;
    if (state == NULL) {
        /* First call: headers only. The token is checked before any body is read. */
        if (strcmp(url, "/hints") != 0)
            return answer(connection, MHD_HTTP_NOT_FOUND, "not_found");
        if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
            return answer(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed");
        const char *authorization =
            MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        if (!token_matches(service->expected_authorization, authorization)) {
            count(service, OUTCOME_UNAUTHORIZED);
            return answer(connection, MHD_HTTP_UNAUTHORIZED, "unauthorized");
        }
        state = calloc(1, sizeof *state);
        if (state == NULL)
            return MHD_NO;
        *request_state = state;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!state->too_large && state->length + *upload_data_size <= HINT_BODY_MAX) {
            char *grown = realloc(state->body, state->length + *upload_data_size);
            if (grown == NULL)
                return MHD_NO;
            memcpy(grown + state->length, upload_data, *upload_data_size);
            state->body = grown;
            state->length += *upload_data_size;
        } else {
            state->too_large = true; /* read and dropped, then refused as a whole */
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (state->too_large) {
        count(service, OUTCOME_TOO_LARGE);
        return answer(connection, MHD_HTTP_CONTENT_TOO_LARGE, "too_large");
    }
    char instance_id[HINT_INSTANCE_ID_MAX + 1];
    hint_parse_result result =
        hint_parse(state->body != NULL ? state->body : "", state->length, instance_id);
    if (result == HINT_PARSE_NOT_A_TERMINATION || result == HINT_PARSE_UNSUPPORTED_EVENT) {
        /* Well-formed and understood: nothing to do, and no reason for the sender to retry. */
        count(service, (int)result);
        return answer(connection, MHD_HTTP_OK, hint_parse_result_name(result));
    }
    if (result != HINT_PARSE_OK) {
        count(service, (int)result);
        return answer(connection, MHD_HTTP_BAD_REQUEST, hint_parse_result_name(result));
    }
    if (!enqueue(service, instance_id)) {
        count(service, OUTCOME_QUEUE_FULL);
        return answer(connection, MHD_HTTP_SERVICE_UNAVAILABLE, "queue_full");
    }
    count(service, OUTCOME_QUEUED);
    return answer(connection, MHD_HTTP_ACCEPTED, NULL);
}

static void request_completed(void *context, struct MHD_Connection *connection,
                              void **request_state, enum MHD_RequestTerminationCode code)
{
    (void)context;
    (void)connection;
    (void)code;
    upload *state = *request_state;
    if (state != NULL) {
        free(state->body);
        free(state);
        *request_state = NULL;
    }
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
    service->recent_next = (service->recent_next + 1) % HINT_RECENT_CAPACITY;
    snprintf(slot->instance_id, sizeof slot->instance_id, "%s", instance_id);
    slot->seen_ms = now_ms;
    return false;
}

static PGresult *run_query(hint_service *service, const char *sql, int count_of_params,
                           const char *const *params)
{
    char error[640] = "";
    if (service->database == NULL) {
        service->database =
            producer_database_connect(service->settings->common.database_url, HINT_APPLICATION_NAME,
                                      PRODUCER_DATABASE_SESSION_QUERIES, error, sizeof error);
        if (service->database == NULL) {
            log_warn("hint lookup failed", "{s:s, s:s}", "error", "database_unavailable", "detail",
                     error);
            return NULL;
        }
    }
    PGresult *result =
        PQexecParams(service->database, sql, count_of_params, NULL, params, NULL, NULL, 0);
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
        count(service, OUTCOME_DUPLICATE);
        return;
    }
    refresh_in_scope(service, now_ms);
    const char *params[] = {instance_id};
    PGresult *rows = run_query(
        service,
        "SELECT id::text, instance_id FROM workspaces WHERE instance_id = $1 AND " SCOPE_PREDICATE,
        1, params);
    if (rows == NULL) {
        count(service, OUTCOME_DATABASE_ERROR);
        return;
    }
    if (PQntuples(rows) == 0)
        count(service, OUTCOME_UNKNOWN_INSTANCE); /* unknown, gone, or already offline */
    else
        count(service, send_checks(service, rows, SOURCE_EVENT, NULL) > 0 ? OUTCOME_CHECKED
                                                                          : OUTCOME_KAFKA_ERROR);
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
        count(service, OUTCOME_KAFKA_ERROR);
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
    for (int outcome = 0; outcome < OUTCOME_COUNT; outcome++) {
        if (outcome == HINT_PARSE_OK)
            continue;
        const char *value = outcome_name(outcome);
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

static bool start_endpoint(hint_service *service, char *error_buffer, size_t error_size)
{
    listener_socket listening;
    if (listener_open(service->settings->hint_address, "PRODUCER_HINT_ADDR", 64, false, &listening,
                      error_buffer, error_size) != LISTENER_OK)
        return false;
    unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (listening.ipv6)
        flags |= MHD_USE_IPv6;
    service->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, handle_hint, service, MHD_OPTION_NOTIFY_COMPLETED, request_completed,
        service, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listening.fd, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)HINT_CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)HINT_CONNECTION_TIMEOUT_SECONDS, MHD_OPTION_END);
    if (service->daemon == NULL) {
        close(listening.fd);
        snprintf(error_buffer, error_size, "PRODUCER_HINT_ADDR '%s': MHD_start_daemon failed",
                 service->settings->hint_address);
        return false;
    }
    service->port = listening.port;
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
    size_t token_length = endpoint ? strlen(settings->hint_token) : 0;
    service->expected_authorization = malloc(token_length + sizeof "Bearer ");
    if (service->queue == NULL || service->recent == NULL ||
        service->expected_authorization == NULL || !register_metrics(service, registry)) {
        snprintf(error_buffer, error_size, "out of memory");
        hint_service_stop(service);
        return NULL;
    }
    snprintf(service->expected_authorization, token_length + sizeof "Bearer ", "Bearer %s",
             endpoint ? settings->hint_token : "");
    kafka_client_spec spec = {
        .common = &settings->common,
        .properties = kafka_properties,
        .client_id = settings->producer_id,
        .opaque = service,
        .on_error = on_kafka_error,
        .on_delivery = on_delivery,
    };
    service->producer = kafka_client_new_producer(&spec, error_buffer, error_size, NULL);
    if (service->producer == NULL ||
        (endpoint && !start_endpoint(service, error_buffer, error_size))) {
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
             endpoint ? settings->hint_address : "", "port", service->port, "topic",
             settings->topic_urgent_checks, "heartbeat_stale_ms",
             (json_int_t)settings->heartbeat_stale_ms);
    return service;
}

int hint_service_port(const hint_service *service)
{
    return service != NULL ? service->port : 0;
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
    if (service->daemon != NULL)
        MHD_stop_daemon(service->daemon); /* no new hint from here on */
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
    free(service->expected_authorization);
    free(service);
}
