/* pg_bounded.c — PostgreSQL calls that give up on a silent server within a bound
 * (pg_bounded.h says why). */
#include "pg_bounded.h"

#include "log.h"
#include "timeutil.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
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
    int sent = parameter_count > 0 ? PQsendQueryParams(connection, sql, parameter_count, NULL,
                                                       parameters, NULL, NULL, 0)
                                   : PQsendQuery(connection, sql);
    if (sent == 0) {
        return NULL;
    }
    /* Like PQexec: the last result, except that the first failure is the one kept. */
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
