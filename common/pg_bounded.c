/* pg_bounded.c — PostgreSQL calls that give up on a silent server within a bound
 * (pg_bounded.h says why). */
#include "pg_bounded.h"

#include "log.h"
#include "timeutil.h"

#include <errno.h>
#include <jansson.h>
#include <libpq-events.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

PGconn *pg_bounded_connect(const char *database_url, const char *application_name,
                           const char *client_encoding, int64_t call_timeout_ms)
{
    if (call_timeout_ms <= 0) {
        call_timeout_ms = PG_BOUNDED_DEFAULT_CALL_TIMEOUT_MS;
    }
    /* connect_timeout is whole seconds (libpq takes 1 as 2); it bounds the TCP connect and
     * the startup and authentication exchange together, which take milliseconds on a working
     * network: at most 10 s, so a process blocked in a connect still stops within its 15 s
     * SIGTERM budget. */
    int64_t connect_ms = call_timeout_ms < PG_BOUNDED_CONNECT_TIMEOUT_MAX_MS
                             ? call_timeout_ms
                             : PG_BOUNDED_CONNECT_TIMEOUT_MAX_MS;
    char connect_seconds[24];
    snprintf(connect_seconds, sizeof connect_seconds, "%lld",
             (long long)(connect_ms < 2000 ? 2 : (connect_ms + 999) / 1000));
    /* tcp_user_timeout: the kernel drops the connection when sent bytes stay unacknowledged
     * that long (keepalives alone never fire while data waits to be sent). Keepalives: an
     * idle session notices within 25 s that the server's host is gone. */
    char user_timeout_ms[24];
    snprintf(user_timeout_ms, sizeof user_timeout_ms, "%lld", (long long)call_timeout_ms);
    /* libpq processes keywords in order and the last value wins, with the URL expanded where
     * "dbname" stands: our defaults before it, client_encoding (ours alone) after it. */
    const char *keywords[] = {"connect_timeout",  "keepalives",
                              "keepalives_idle",  "keepalives_interval",
                              "keepalives_count", "tcp_user_timeout",
                              "application_name", "dbname",
                              "client_encoding",  NULL};
    const char *values[] = {
        connect_seconds, "1", "10", "5", "3", user_timeout_ms, application_name, database_url,
        client_encoding, NULL};
    if (client_encoding == NULL) {
        keywords[8] = NULL;
    }
    return PQconnectdbParams(keywords, values, 1);
}

/* Waits until libpq has a whole result (or knows the connection died: PQgetResult then
 * returns the error without blocking). false when the deadline passed or poll failed. */
static bool wait_for_result(PGconn *connection, int64_t deadline_ms)
{
    while (PQisBusy(connection)) {
        int64_t left_ms = deadline_ms - time_now_monotonic_ms();
        if (left_ms <= 0) {
            return false;
        }
        struct pollfd descriptor = {.fd = PQsocket(connection), .events = POLLIN};
        int ready = poll(&descriptor, 1, left_ms > 1000 ? 1000 : (int)left_ms);
        if (ready < 0 && errno != EINTR) {
            return false;
        }
        if (ready > 0 && PQconsumeInput(connection) == 0) {
            return true;
        }
    }
    return true;
}

/* Abandons the session: shutting the socket down makes libpq read end-of-file, mark the
 * connection bad and end the query with an error, as if the server had vanished. The
 * caller's usual reconnect path does the rest, and the server (once the FIN or its own
 * keepalives reach it) ends the session and frees its locks. */
static void abandon(PGconn *connection)
{
    int socket_fd = PQsocket(connection);
    if (socket_fd >= 0) {
        shutdown(socket_fd, SHUT_RDWR);
    }
    (void)PQconsumeInput(connection);
    PGresult *result;
    while ((result = PQgetResult(connection)) != NULL) {
        PQclear(result);
        if (PQstatus(connection) == CONNECTION_BAD) {
            break;
        }
    }
}

/* ---- prepared statements ------------------------------------------------------------------
 *
 * Every parameterized statement is prepared once per session (a named protocol-level Parse)
 * and then only bound and executed. The actuator's decisions are a few dozen short statements
 * per flip, and PostgreSQL spent as long planning them as running them (pg_stat_statements
 * during the benchmark: 0.9 s of planning for 1.1 s of execution); a prepared statement is
 * planned once, or re-planned only when its parameters call for it.
 *
 * The cache lives with the connection (libpq's instance data, freed with it, cleared by
 * PQreset), so a reconnect starts empty. A server that answers "prepared statement does not
 * exist" (SQLSTATE 26000) lost the session's statements behind our back: a pooler in
 * transaction mode before PgBouncer 1.21, or a DISCARD ALL. The call fails like any failed
 * statement (callers retry), and that session goes on unprepared. */

#define PREPARED_NAME_SIZE 32

/* The statement at index i of a session's cache is named pg_bounded_<i + 1>. */
typedef struct {
    char **sql;
    size_t count;
    size_t capacity;
    bool disabled; /* the server lost statements once: plain PQsendQueryParams from then on */
} prepared_cache;

static void prepared_name(size_t index, char name[PREPARED_NAME_SIZE])
{
    snprintf(name, PREPARED_NAME_SIZE, "pg_bounded_%zu", index + 1);
}

static void prepared_cache_clear(prepared_cache *cache)
{
    for (size_t index = 0; index < cache->count; index++)
        free(cache->sql[index]);
    cache->count = 0;
}

static int prepared_cache_events(PGEventId event, void *event_info, void *pass_through)
{
    (void)pass_through;
    if (event == PGEVT_CONNRESET) {
        prepared_cache *cache =
            PQinstanceData(((PGEventConnReset *)event_info)->conn, prepared_cache_events);
        if (cache != NULL)
            prepared_cache_clear(cache);
    } else if (event == PGEVT_CONNDESTROY) {
        prepared_cache *cache =
            PQinstanceData(((PGEventConnDestroy *)event_info)->conn, prepared_cache_events);
        if (cache != NULL) {
            prepared_cache_clear(cache);
            free(cache->sql);
            free(cache);
        }
    }
    return 1;
}

/* The connection's cache, created on first use; NULL when out of memory (then statements go
 * unprepared, which is only slower). */
static prepared_cache *prepared_cache_of(PGconn *connection)
{
    prepared_cache *cache = PQinstanceData(connection, prepared_cache_events);
    if (cache != NULL)
        return cache;
    cache = calloc(1, sizeof *cache);
    if (cache == NULL)
        return NULL;
    (void)PQregisterEventProc(connection, prepared_cache_events, "pg_bounded prepared", NULL);
    if (!PQsetInstanceData(connection, prepared_cache_events, cache)) {
        free(cache);
        return NULL;
    }
    return cache;
}

/* The statement's index in the cache, or -1 when the session has not prepared it. */
static long prepared_find(const prepared_cache *cache, const char *sql)
{
    for (size_t index = 0; index < cache->count; index++) {
        if (strcmp(cache->sql[index], sql) == 0)
            return (long)index;
    }
    return -1;
}

/* Remembers `sql` as the next statement (named for index cache->count). */
static bool prepared_add(prepared_cache *cache, const char *sql)
{
    if (cache->count == cache->capacity) {
        size_t capacity = cache->capacity > 0 ? cache->capacity * 2 : 16;
        char **grown = realloc(cache->sql, capacity * sizeof *grown);
        if (grown == NULL)
            return false;
        cache->sql = grown;
        cache->capacity = capacity;
    }
    if ((cache->sql[cache->count] = strdup(sql)) == NULL)
        return false;
    cache->count++;
    return true;
}

static bool lost_prepared_statement(const PGresult *result)
{
    const char *state = result != NULL ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : NULL;
    return state != NULL && strcmp(state, "26000") == 0;
}

/* Collects the results of what was sent: like PQexec, the last result, except that the
 * first failure is the one kept. NULL (the session abandoned) when the deadline passes. */
static PGresult *collect_results(PGconn *connection, const char *what, int64_t deadline_ms,
                                 int64_t timeout_ms)
{
    PGresult *kept = NULL;
    for (;;) {
        if (!wait_for_result(connection, deadline_ms)) {
            PQclear(kept);
            abandon(connection);
            log_warn("database call abandoned", "{s:s, s:s, s:I}", "error", "database_call_timeout",
                     "call", what, "timeout_ms", (json_int_t)timeout_ms);
            return NULL;
        }
        PGresult *result = PQgetResult(connection);
        if (result == NULL) {
            return kept;
        }
        ExecStatusType kept_status = kept != NULL ? PQresultStatus(kept) : PGRES_EMPTY_QUERY;
        if (kept_status == PGRES_FATAL_ERROR || kept_status == PGRES_BAD_RESPONSE) {
            PQclear(result);
        } else {
            PQclear(kept);
            kept = result;
        }
    }
}

static bool is_failure(const PGresult *result)
{
    ExecStatusType status = PQresultStatus(result);
    return status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE ||
           status == PGRES_NONFATAL_ERROR;
}

/* Runs a parameterized statement through the connection's prepared statements: prepares it
 * the first time (the prepare's failure is the call's, e.g. a syntax error or an aborted
 * transaction), then binds and executes. NULL as pg_bounded_exec. */
static PGresult *exec_prepared(PGconn *connection, prepared_cache *cache, const char *what,
                               const char *sql, int parameter_count, const char *const *parameters,
                               int64_t deadline_ms, int64_t timeout_ms)
{
    long index = prepared_find(cache, sql);
    char name[PREPARED_NAME_SIZE];
    prepared_name(index >= 0 ? (size_t)index : cache->count, name);
    if (index < 0) {
        if (PQsendPrepare(connection, name, sql, parameter_count, NULL) == 0)
            return NULL;
        PGresult *prepared = collect_results(connection, what, deadline_ms, timeout_ms);
        if (prepared == NULL || is_failure(prepared))
            return prepared;
        PQclear(prepared);
        /* Out of memory remembering it: run it this once by name, unprepared from then on
         * (a later prepare could not be given a name that is not taken). */
        if (!prepared_add(cache, sql))
            cache->disabled = true;
    }
    if (PQsendQueryPrepared(connection, name, parameter_count, parameters, NULL, NULL, 0) == 0)
        return NULL;
    PGresult *result = collect_results(connection, what, deadline_ms, timeout_ms);
    if (lost_prepared_statement(result)) {
        log_warn("the database session lost its prepared statements (a pooler in transaction "
                 "mode?); this session runs its statements unprepared from now on",
                 "{s:s}", "call", what);
        prepared_cache_clear(cache);
        cache->disabled = true;
    }
    return result;
}

PGresult *pg_bounded_exec(PGconn *connection, const char *what, const char *sql,
                          int parameter_count, const char *const *parameters, int64_t timeout_ms)
{
    if (connection == NULL) {
        return NULL;
    }
    if (timeout_ms <= 0) {
        timeout_ms = PG_BOUNDED_DEFAULT_CALL_TIMEOUT_MS;
    }
    int64_t deadline_ms = time_now_monotonic_ms() + timeout_ms;
    if (parameter_count > 0) {
        prepared_cache *cache = prepared_cache_of(connection);
        if (cache != NULL && !cache->disabled)
            return exec_prepared(connection, cache, what, sql, parameter_count, parameters,
                                 deadline_ms, timeout_ms);
    }
    int sent = parameter_count > 0 ? PQsendQueryParams(connection, sql, parameter_count, NULL,
                                                       parameters, NULL, NULL, 0)
                                   : PQsendQuery(connection, sql);
    if (sent == 0) {
        return NULL;
    }
    return collect_results(connection, what, deadline_ms, timeout_ms);
}
