/* producer_database.h — opening the producer's PostgreSQL sessions and naming their errors.
 *
 * For: one place that decides how the producer connects (timeouts, keepalives, encoding) and
 * that turns libpq's multi-line messages into one log-friendly line. Not for: queries
 * (scope_store.c, leader_lock.c).
 *
 * DATABASE_URL may carry a password: it is passed to libpq and never logged. libpq's own
 * messages (PQerrorMessage, PQresultErrorMessage) name host, port, user and database at most,
 * never the password, so they may be logged. */
#ifndef RECONCILER_PRODUCER_DATABASE_H
#define RECONCILER_PRODUCER_DATABASE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    PRODUCER_DATABASE_SESSION_QUERIES, /* the sweep's reads and the cursor writes */
    PRODUCER_DATABASE_SESSION_LOCK,    /* the advisory lock holder */
} producer_database_session;

/* Connects with the producer's settings layered under the operator's URL (the URL wins where
 * both set something, e.g. connect_timeout), then sets the session's timeouts; no call waits
 * longer than call_timeout_ms (DATABASE_CALL_TIMEOUT) on a silent server. Returns an open
 * connection, or NULL with "<call>: <libpq message>" in error_buffer. */
PGconn *producer_database_connect(const char *database_url, const char *application_name,
                                  producer_database_session kind, int64_t call_timeout_ms,
                                  char *error_buffer, size_t error_size);

/* Copies a libpq message into buffer as one line: newlines and tabs become spaces, trailing
 * white space is dropped. "(no message)" for NULL or empty. */
void producer_database_one_line(const char *message, char *buffer, size_t size);

/* True when the connection is unusable (broken socket, server shutdown): the caller drops it
 * and reconnects later, and calls the failure "database_unavailable" rather than a query
 * error. NULL counts as broken. */
bool producer_database_connection_broken(PGconn *connection);

#endif
