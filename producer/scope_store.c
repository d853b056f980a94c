/* scope_store.c — the producer's statements: count and page through the in-scope rows,
 * and keep the group's cursor row.
 *
 * For: the SQL of a sweep, each statement parametrized, with a failure classified as
 * "database unavailable" (the connection broke: reconnect next time) or "query failed".
 * Not for: the advisory lock session or any decision about what to read (sweep_plan.c). */
#include "scope_store.h"

#include "producer_database.h"
#include "pg_bounded.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct scope_store {
    char *database_url;
    char *application_name;
    PGconn *connection;
    int64_t call_timeout_ms; /* DATABASE_CALL_TIMEOUT */
};

/* The walk's two page shapes. The first page has no lower bound rather than a sentinel id,
 * since no uuid (not even the nil uuid) is below every row. Both are served by the partial
 * index docs/operations.md recommends: ON workspaces (id) WHERE <scope predicate>.
 * ORDER BY names the table column: a bare "id" would mean the output column id::text, a
 * text sort of every remaining in-scope row for each page (O(N^2 / page size) per sweep)
 * instead of an index scan that stops after one page. */
static const char count_statement[] = "SELECT count(*) FROM workspaces WHERE " SCOPE_PREDICATE;
static const char first_page_statement[] =
    "SELECT id::text, instance_id FROM workspaces WHERE " SCOPE_PREDICATE
    " ORDER BY workspaces.id LIMIT $1::bigint";
static const char next_page_statement[] =
    "SELECT id::text, instance_id FROM workspaces WHERE " SCOPE_PREDICATE
    " AND id > $1::uuid ORDER BY workspaces.id LIMIT $2::bigint";

/* RETURNING gives the stored cursor: ON CONFLICT DO UPDATE leaves last_id as it was. */
static const char begin_sweep_statement[] =
    "INSERT INTO reconciler_producer_cursor "
    "(lock_key, last_sweep_started_at, last_sweep_id, producer_id, updated_at) "
    "VALUES ($1::bigint, now(), $2::uuid, $3, now()) "
    "ON CONFLICT (lock_key) DO UPDATE SET last_sweep_started_at = now(), "
    "last_sweep_id = EXCLUDED.last_sweep_id, producer_id = EXCLUDED.producer_id, "
    "updated_at = now() "
    "RETURNING last_id::text";
static const char finish_sweep_statement[] =
    "UPDATE reconciler_producer_cursor SET last_id = COALESCE($2::uuid, last_id), "
    "last_success_at = now(), updated_at = now() "
    "WHERE lock_key = $1::bigint";
static const char last_sweep_statement[] =
    "SELECT (EXTRACT(EPOCH FROM (now() - last_sweep_started_at)) * 1000)::bigint "
    "FROM reconciler_producer_cursor "
    "WHERE lock_key = $1::bigint AND last_sweep_started_at IS NOT NULL";

scope_store *scope_store_new(const char *database_url, const char *application_name,
                             int64_t call_timeout_ms)
{
    scope_store *store = calloc(1, sizeof *store);
    if (store == NULL) {
        return NULL;
    }
    store->database_url = strdup(database_url != NULL ? database_url : "");
    store->application_name = strdup(application_name != NULL ? application_name : "");
    if (store->database_url == NULL || store->application_name == NULL) {
        scope_store_free(store);
        return NULL;
    }
    store->call_timeout_ms = call_timeout_ms;
    return store;
}

void scope_store_free(scope_store *store)
{
    if (store == NULL) {
        return;
    }
    if (store->connection != NULL) {
        PQfinish(store->connection);
    }
    free(store->database_url);
    free(store->application_name);
    free(store);
}

static void disconnect(scope_store *store)
{
    if (store->connection != NULL) {
        PQfinish(store->connection);
        store->connection = NULL;
    }
}

scope_store_status scope_store_connect(scope_store *store, char *error_buffer, size_t error_size)
{
    if (store->connection != NULL && !producer_database_connection_broken(store->connection)) {
        return SCOPE_STORE_OK;
    }
    disconnect(store);
    store->connection = producer_database_connect(store->database_url, store->application_name,
                                                  PRODUCER_DATABASE_SESSION_QUERIES,
                                                  store->call_timeout_ms, error_buffer, error_size);
    return store->connection != NULL ? SCOPE_STORE_OK : SCOPE_STORE_UNAVAILABLE;
}

/* Runs one parametrized statement. On success *result holds it (caller clears). On failure
 * the reason names `what` and the connection is dropped if it broke. */
static scope_store_status execute(scope_store *store, const char *what, const char *statement,
                                  int parameter_count, const char *const *parameters,
                                  ExecStatusType expected, PGresult **result, char *error_buffer,
                                  size_t error_size)
{
    *result = NULL;
    scope_store_status status = scope_store_connect(store, error_buffer, error_size);
    if (status != SCOPE_STORE_OK) {
        return status;
    }
    PGresult *answer = pg_bounded_exec(store->connection, what, statement, parameter_count,
                                       parameters, store->call_timeout_ms);
    if (PQresultStatus(answer) == expected) {
        *result = answer;
        return SCOPE_STORE_OK;
    }
    char detail[512];
    producer_database_one_line(answer != NULL ? PQresultErrorMessage(answer)
                                              : PQerrorMessage(store->connection),
                               detail, sizeof detail);
    snprintf(error_buffer, error_size, "PQexecParams(%s): %s", what, detail);
    PQclear(answer);
    if (producer_database_connection_broken(store->connection)) {
        disconnect(store);
        return SCOPE_STORE_UNAVAILABLE;
    }
    return SCOPE_STORE_QUERY_FAILED;
}

/* Reads a bigint column; false (with a reason) if it is not one. */
static bool read_int64(const PGresult *result, int row, int column, int64_t *out, const char *what,
                       char *error_buffer, size_t error_size)
{
    const char *text = PQgetvalue(result, row, column);
    char *end = NULL;
    long long value = strtoll(text, &end, 10);
    if (PQgetisnull(result, row, column) || end == text || *end != '\0') {
        snprintf(error_buffer, error_size, "%s: not an integer", what);
        return false;
    }
    *out = (int64_t)value;
    return true;
}

scope_store_status scope_store_count(scope_store *store, int64_t *count, char *error_buffer,
                                     size_t error_size)
{
    PGresult *result;
    scope_store_status status = execute(store, "count in-scope rows", count_statement, 0, NULL,
                                        PGRES_TUPLES_OK, &result, error_buffer, error_size);
    if (status != SCOPE_STORE_OK) {
        return status;
    }
    bool ok = PQntuples(result) == 1 &&
              read_int64(result, 0, 0, count, "count in-scope rows", error_buffer, error_size);
    PQclear(result);
    return ok ? SCOPE_STORE_OK : SCOPE_STORE_QUERY_FAILED;
}

scope_store_status scope_store_begin_sweep(scope_store *store, int64_t lock_key,
                                           const char *sweep_id, const char *producer_id,
                                           char cursor_out[SWEEP_ID_TEXT_SIZE], char *error_buffer,
                                           size_t error_size)
{
    char key_text[32];
    snprintf(key_text, sizeof key_text, "%" PRId64, lock_key);
    const char *parameters[] = {key_text, sweep_id, producer_id};
    PGresult *result;
    cursor_out[0] = '\0';
    scope_store_status status =
        execute(store, "record sweep start", begin_sweep_statement, 3, parameters, PGRES_TUPLES_OK,
                &result, error_buffer, error_size);
    if (status != SCOPE_STORE_OK) {
        return status;
    }
    if (PQntuples(result) == 1 && !PQgetisnull(result, 0, 0)) {
        snprintf(cursor_out, SWEEP_ID_TEXT_SIZE, "%s", PQgetvalue(result, 0, 0));
    }
    PQclear(result);
    return SCOPE_STORE_OK;
}

scope_store_status scope_store_finish_sweep(scope_store *store, int64_t lock_key,
                                            const char *cursor, char *error_buffer,
                                            size_t error_size)
{
    char key_text[32];
    snprintf(key_text, sizeof key_text, "%" PRId64, lock_key);
    const char *parameters[] = {key_text, cursor};
    PGresult *result;
    scope_store_status status =
        execute(store, "record sweep success", finish_sweep_statement, 2, parameters,
                PGRES_COMMAND_OK, &result, error_buffer, error_size);
    if (status == SCOPE_STORE_OK) {
        PQclear(result);
    }
    return status;
}

scope_store_status scope_store_last_sweep_elapsed(scope_store *store, int64_t lock_key,
                                                  bool *has_previous, int64_t *elapsed_ms,
                                                  char *error_buffer, size_t error_size)
{
    char key_text[32];
    snprintf(key_text, sizeof key_text, "%" PRId64, lock_key);
    const char *parameters[] = {key_text};
    PGresult *result;
    *has_previous = false;
    *elapsed_ms = 0;
    scope_store_status status =
        execute(store, "read last sweep start", last_sweep_statement, 1, parameters,
                PGRES_TUPLES_OK, &result, error_buffer, error_size);
    if (status != SCOPE_STORE_OK) {
        return status;
    }
    bool ok = true;
    if (PQntuples(result) == 1) {
        ok =
            read_int64(result, 0, 0, elapsed_ms, "read last sweep start", error_buffer, error_size);
        *has_previous = ok;
    }
    PQclear(result);
    return ok ? SCOPE_STORE_OK : SCOPE_STORE_QUERY_FAILED;
}

scope_store_status scope_store_page(scope_store *store, const char *after, int64_t limit,
                                    scope_page *page, char *error_buffer, size_t error_size)
{
    char limit_text[32];
    snprintf(limit_text, sizeof limit_text, "%" PRId64, limit);
    page->result = NULL;
    page->rows = 0;
    PGresult *result;
    scope_store_status status;
    if (after == NULL) {
        const char *parameters[] = {limit_text};
        status = execute(store, "read first page", first_page_statement, 1, parameters,
                         PGRES_TUPLES_OK, &result, error_buffer, error_size);
    } else {
        const char *parameters[] = {after, limit_text};
        status = execute(store, "read next page", next_page_statement, 2, parameters,
                         PGRES_TUPLES_OK, &result, error_buffer, error_size);
    }
    if (status != SCOPE_STORE_OK) {
        return status;
    }
    page->result = result;
    page->rows = PQntuples(result);
    return SCOPE_STORE_OK;
}

const char *scope_page_workspace_id(const scope_page *page, int row)
{
    return PQgetvalue(page->result, row, 0);
}

const char *scope_page_instance_id(const scope_page *page, int row)
{
    return PQgetvalue(page->result, row, 1);
}

void scope_page_clear(scope_page *page)
{
    PQclear(page->result);
    page->result = NULL;
    page->rows = 0;
}
