/* scope_store.h — the producer's reads of `workspaces` and its shared state in PostgreSQL.
 *
 * For: counting the in-scope rows, reading them a keyset page at a time, and the
 * reconciler_producer_cursor row (round-robin cursor, sweep schedule). Every statement is
 * parametrized; the scope predicate is docs/contracts.md §2 word for word. Not for: the advisory
 * lock (leader_lock.c, its own session) or deciding anything (sweep_plan.c).
 *
 * One connection, opened lazily and dropped on any failure that broke it, so the next call
 * reconnects: a database restart costs one failed sweep, never the process. */
#ifndef RECONCILER_PRODUCER_SCOPE_STORE_H
#define RECONCILER_PRODUCER_SCOPE_STORE_H

#include "sweep_plan.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* docs/contracts.md §2: exactly these rows, nothing else. */
#define SCOPE_PREDICATE                                                                            \
    "status = 'online' AND instance_id IS NOT NULL AND instance_id <> '' AND "                     \
    "COALESCE(runtime, '') <> 'external'"

typedef enum {
    SCOPE_STORE_OK = 0,
    SCOPE_STORE_UNAVAILABLE,  /* could not connect, or the connection broke */
    SCOPE_STORE_QUERY_FAILED, /* the statement failed on a live connection */
} scope_store_status;

typedef struct scope_store scope_store;

/* Keeps copies of both strings; connects on first use. NULL on allocation failure. */
scope_store *scope_store_new(const char *database_url, const char *application_name,
                             int64_t call_timeout_ms);
void scope_store_free(scope_store *store);

/* Connects now if not connected. On failure the reason ("<call>: <libpq message>") is in
 * error_buffer. */
scope_store_status scope_store_connect(scope_store *store, char *error_buffer, size_t error_size);

/* Number of in-scope rows now. */
scope_store_status scope_store_count(scope_store *store, int64_t *count, char *error_buffer,
                                     size_t error_size);

/* Records that sweep `sweep_id` starts now (database clock) for the group `lock_key` and
 * returns the group's round-robin cursor in cursor_out ("" when there is none). */
scope_store_status scope_store_begin_sweep(scope_store *store, int64_t lock_key,
                                           const char *sweep_id, const char *producer_id,
                                           char cursor_out[SWEEP_ID_TEXT_SIZE], char *error_buffer,
                                           size_t error_size);

/* Records a successful sweep; cursor NULL leaves the stored cursor as it is (an uncapped
 * sweep does not move the round-robin position). */
scope_store_status scope_store_finish_sweep(scope_store *store, int64_t lock_key,
                                            const char *cursor, char *error_buffer,
                                            size_t error_size);

/* How long ago (database clock, ms) the group's last sweep started; *has_previous false when
 * no sweep was recorded. */
scope_store_status scope_store_last_sweep_elapsed(scope_store *store, int64_t lock_key,
                                                  bool *has_previous, int64_t *elapsed_ms,
                                                  char *error_buffer, size_t error_size);

/* One page of in-scope rows in id order: id > after (after NULL = from the first row),
 * at most `limit` rows. Free with scope_page_clear. */
typedef struct {
    PGresult *result;
    int rows;
} scope_page;

scope_store_status scope_store_page(scope_store *store, const char *after, int64_t limit,
                                    scope_page *page, char *error_buffer, size_t error_size);
const char *scope_page_workspace_id(const scope_page *page, int row); /* canonical uuid text */
const char *scope_page_instance_id(const scope_page *page, int row);
void scope_page_clear(scope_page *page);

#endif
