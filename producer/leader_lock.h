/* leader_lock.h — "exactly one producer is active": a PostgreSQL session-level advisory lock.
 *
 * For: holding pg_try_advisory_lock(PRODUCER_LOCK_KEY) on a dedicated session that does
 * nothing else, so the lock lives exactly as long as that session: the server frees it when
 * the active producer exits, is killed (its socket closes) or its host vanishes (server-side
 * keepalives, see producer_database.c). Not for: sweeps (scope_store.c has its own session, which
 * may fail and reconnect without giving up the lock).
 *
 * The lock session must reach PostgreSQL directly or through a session-mode pooler: with a
 * transaction-mode pooler a session lock means nothing. leader_lock_check detects that case
 * too (the lock is not held by the backend it talks to) and reports the lock as lost. */
#ifndef RECONCILER_PRODUCER_LEADER_LOCK_H
#define RECONCILER_PRODUCER_LEADER_LOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    LEADER_LOCK_HELD = 0,    /* this process holds the lock */
    LEADER_LOCK_BUSY,        /* another session holds it: stand by */
    LEADER_LOCK_UNAVAILABLE, /* no usable session (database down, or the session broke) */
} leader_lock_state;

const char *leader_lock_state_name(leader_lock_state state); /* "held", "busy", "unavailable" */

typedef struct leader_lock leader_lock;

/* Keeps copies of the strings; does not connect yet. No call waits longer than
 * call_timeout_ms on a silent server (DATABASE_CALL_TIMEOUT). NULL on allocation failure. */
leader_lock *leader_lock_new(const char *database_url, const char *application_name,
                             int64_t lock_key, int64_t call_timeout_ms);
/* Releases the lock (if held) and closes the session. */
void leader_lock_free(leader_lock *lock);

/* Connects if needed and tries the lock once, without waiting. On UNAVAILABLE the reason
 * ("<call>: <libpq message>") is in error_buffer and the session is closed. */
leader_lock_state leader_lock_try_acquire(leader_lock *lock, char *error_buffer, size_t error_size);

/* For the active producer: proves the session is alive and this backend still holds the
 * lock. HELD, or UNAVAILABLE (session broke, or lock no longer held — the session is then
 * closed, which frees anything left). */
leader_lock_state leader_lock_check(leader_lock *lock, char *error_buffer, size_t error_size);

/* Unlocks explicitly and closes the session (shutdown: the standby need not wait for the
 * server to notice). Harmless when not held. */
void leader_lock_release(leader_lock *lock);

bool leader_lock_is_held(const leader_lock *lock);

#endif
