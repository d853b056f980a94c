/* leader_lock.c — the advisory lock session that makes one producer active.
 *
 * For: connecting the dedicated lock session, pg_try_advisory_lock, proving the lock is still
 * held, and releasing it. Not for: deciding what an active producer does (producer_loop.c).
 * Every libpq call is checked; a failure closes the session, so the next attempt starts
 * clean and the server frees whatever the old session held. */
#include "leader_lock.h"

#include "producer_database.h"
#include "log.h"
#include "pg_bounded.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct leader_lock {
    char *database_url;
    char *application_name;
    int64_t lock_key;
    char key_text[32];
    PGconn *connection;
    bool held;
    int64_t call_timeout_ms; /* DATABASE_CALL_TIMEOUT */
};

static const char try_lock_statement[] = "SELECT pg_try_advisory_lock($1::bigint)";
/* A bigint advisory lock shows in pg_locks as classid = high 32 bits, objid = low 32 bits,
 * objsubid = 1. Asking pg_locks, rather than just "SELECT 1", also proves that the backend we
 * talk to is the one that took the lock (not so behind a transaction-mode pooler). */
static const char check_lock_statement[] =
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND pid = pg_backend_pid() AND objsubid = 1 "
    "AND classid = ((($1::bigint) >> 32) & 4294967295)::oid "
    "AND objid = (($1::bigint) & 4294967295)::oid";
static const char unlock_statement[] = "SELECT pg_advisory_unlock($1::bigint)";

const char *leader_lock_state_name(leader_lock_state state)
{
    switch (state) {
    case LEADER_LOCK_HELD:
        return "held";
    case LEADER_LOCK_BUSY:
        return "busy";
    case LEADER_LOCK_UNAVAILABLE:
        return "unavailable";
    }
    return "unknown";
}

leader_lock *leader_lock_new(const char *database_url, const char *application_name,
                             int64_t lock_key, int64_t call_timeout_ms)
{
    leader_lock *lock = calloc(1, sizeof *lock);
    if (lock == NULL) {
        return NULL;
    }
    lock->database_url = strdup(database_url != NULL ? database_url : "");
    lock->application_name = strdup(application_name != NULL ? application_name : "");
    if (lock->database_url == NULL || lock->application_name == NULL) {
        leader_lock_free(lock);
        return NULL;
    }
    lock->lock_key = lock_key;
    lock->call_timeout_ms = call_timeout_ms;
    snprintf(lock->key_text, sizeof lock->key_text, "%" PRId64, lock_key);
    return lock;
}

static void close_session(leader_lock *lock)
{
    if (lock->connection != NULL) {
        PQfinish(lock->connection);
        lock->connection = NULL;
    }
    lock->held = false;
}

void leader_lock_free(leader_lock *lock)
{
    if (lock == NULL) {
        return;
    }
    leader_lock_release(lock);
    free(lock->database_url);
    free(lock->application_name);
    free(lock);
}

bool leader_lock_is_held(const leader_lock *lock)
{
    return lock->held;
}

/* Runs a one-row, one-column query with the key as its parameter. Returns the value text
 * copied into value (size bytes), or false with the reason, having closed the session. */
static bool query_single_value(leader_lock *lock, const char *what, const char *statement,
                               char *value, size_t size, char *error_buffer, size_t error_size)
{
    const char *parameters[] = {lock->key_text};
    PGresult *result =
        pg_bounded_exec(lock->connection, what, statement, 1, parameters, lock->call_timeout_ms);
    if (PQresultStatus(result) != PGRES_TUPLES_OK || PQntuples(result) != 1 ||
        PQnfields(result) != 1 || PQgetisnull(result, 0, 0)) {
        char detail[512];
        if (PQresultStatus(result) == PGRES_TUPLES_OK) {
            snprintf(detail, sizeof detail, "unexpected result shape");
        } else {
            producer_database_one_line(result != NULL ? PQresultErrorMessage(result)
                                                      : PQerrorMessage(lock->connection),
                                       detail, sizeof detail);
        }
        snprintf(error_buffer, error_size, "PQexecParams(%s): %s", what, detail);
        PQclear(result);
        close_session(lock);
        return false;
    }
    snprintf(value, size, "%s", PQgetvalue(result, 0, 0));
    PQclear(result);
    return true;
}

leader_lock_state leader_lock_try_acquire(leader_lock *lock, char *error_buffer, size_t error_size)
{
    if (lock->held) {
        return leader_lock_check(lock, error_buffer, error_size);
    }
    if (lock->connection != NULL && producer_database_connection_broken(lock->connection)) {
        close_session(lock);
    }
    if (lock->connection == NULL) {
        lock->connection = producer_database_connect(
            lock->database_url, lock->application_name, PRODUCER_DATABASE_SESSION_LOCK,
            lock->call_timeout_ms, error_buffer, error_size);
        if (lock->connection == NULL) {
            return LEADER_LOCK_UNAVAILABLE;
        }
    }
    char value[16];
    if (!query_single_value(lock, "pg_try_advisory_lock", try_lock_statement, value, sizeof value,
                            error_buffer, error_size)) {
        return LEADER_LOCK_UNAVAILABLE;
    }
    lock->held = strcmp(value, "t") == 0;
    return lock->held ? LEADER_LOCK_HELD : LEADER_LOCK_BUSY;
}

leader_lock_state leader_lock_check(leader_lock *lock, char *error_buffer, size_t error_size)
{
    if (!lock->held || lock->connection == NULL) {
        snprintf(error_buffer, error_size, "lock not held");
        return LEADER_LOCK_UNAVAILABLE;
    }
    char value[32];
    if (!query_single_value(lock, "check advisory lock", check_lock_statement, value, sizeof value,
                            error_buffer, error_size)) {
        return LEADER_LOCK_UNAVAILABLE;
    }
    if (strcmp(value, "1") != 0) {
        snprintf(error_buffer, error_size,
                 "check advisory lock: not held by this session (connection pooler in "
                 "transaction mode?)");
        close_session(lock);
        return LEADER_LOCK_UNAVAILABLE;
    }
    return LEADER_LOCK_HELD;
}

void leader_lock_release(leader_lock *lock)
{
    if (lock->held && lock->connection != NULL &&
        !producer_database_connection_broken(lock->connection)) {
        /* Best effort: closing the session below frees the lock anyway; the explicit unlock
         * only spares a standby the wait for the server to see the socket close. */
        const char *parameters[] = {lock->key_text};
        PGresult *result = pg_bounded_exec(lock->connection, "pg_advisory_unlock", unlock_statement,
                                           1, parameters, lock->call_timeout_ms);
        if (PQresultStatus(result) != PGRES_TUPLES_OK) {
            char detail[512];
            producer_database_one_line(result != NULL ? PQresultErrorMessage(result)
                                                      : PQerrorMessage(lock->connection),
                                       detail, sizeof detail);
            log_warn("advisory lock release failed; closing the session frees it", "{s:s, s:s}",
                     "call", "PQexecParams(pg_advisory_unlock)", "detail", detail);
        }
        PQclear(result);
    }
    close_session(lock);
}
