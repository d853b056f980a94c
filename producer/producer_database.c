/* producer_database.c — how reconciler-producer opens its PostgreSQL sessions.
 *
 * For: the connection parameters and per-session settings of the two sessions (queries and
 * advisory lock), and one-line libpq error text. Not for: any query of the producer's own
 * (scope_store.c, leader_lock.c). Never logs DATABASE_URL (it may hold a password). */
#include "producer_database.h"

#include "pg_bounded.h"

#include <stdio.h>
#include <string.h>

/* Applied after connecting. Why each value:
 * - statement_timeout: a sweep's page or count query that hangs (lock, I/O stall) fails the
 *   sweep after 30 s instead of stalling the loop past the /healthz liveness window (60 s).
 * - the lock session's tcp_keepalives_*: the *server* notices within ~25 s that the host of
 *   the active producer vanished without closing its socket (power loss, network split),
 *   ends that session and so frees the advisory lock for a standby. A killed process needs
 *   none of this: its kernel closes the socket and the lock is freed at once. */
static const char query_session_setup[] = "SET statement_timeout = '30s'";
static const char lock_session_setup[] = "SET statement_timeout = '10s'; "
                                         "SET tcp_keepalives_idle = 10; "
                                         "SET tcp_keepalives_interval = 5; "
                                         "SET tcp_keepalives_count = 3";

void producer_database_one_line(const char *message, char *buffer, size_t size)
{
    if (size == 0) {
        return;
    }
    if (message == NULL || message[0] == '\0') {
        snprintf(buffer, size, "(no message)");
        return;
    }
    size_t length = 0;
    for (const char *cursor = message; *cursor != '\0' && length + 1 < size; cursor++) {
        char character = *cursor;
        buffer[length++] =
            (character == '\n' || character == '\r' || character == '\t') ? ' ' : character;
    }
    while (length > 0 && buffer[length - 1] == ' ') {
        length--;
    }
    buffer[length] = '\0';
}

bool producer_database_connection_broken(PGconn *connection)
{
    return connection == NULL || PQstatus(connection) != CONNECTION_OK;
}

PGconn *producer_database_connect(const char *database_url, const char *application_name,
                                  producer_database_session kind, int64_t call_timeout_ms,
                                  char *error_buffer, size_t error_size)
{
    /* client_encoding is ours alone (Avro strings must be UTF-8). */
    PGconn *connection =
        pg_bounded_connect(database_url, application_name, "UTF8", call_timeout_ms);
    if (connection == NULL) {
        snprintf(error_buffer, error_size, "PQconnectdbParams: out of memory");
        return NULL;
    }
    if (PQstatus(connection) != CONNECTION_OK) {
        char detail[512];
        producer_database_one_line(PQerrorMessage(connection), detail, sizeof detail);
        snprintf(error_buffer, error_size, "PQconnectdbParams: %s", detail);
        PQfinish(connection);
        return NULL;
    }
    const char *setup =
        kind == PRODUCER_DATABASE_SESSION_LOCK ? lock_session_setup : query_session_setup;
    PGresult *result =
        pg_bounded_exec(connection, "session settings", setup, 0, NULL, call_timeout_ms);
    if (PQresultStatus(result) != PGRES_COMMAND_OK) {
        char detail[512];
        producer_database_one_line(result != NULL ? PQresultErrorMessage(result)
                                                  : PQerrorMessage(connection),
                                   detail, sizeof detail);
        snprintf(error_buffer, error_size, "PQexec(session settings): %s", detail);
        PQclear(result);
        PQfinish(connection);
        return NULL;
    }
    PQclear(result);
    return connection;
}
