/* audit_database.c — reading the actuator's bookkeeping for the cross-check, read-only (see
 * audit_database.h). Every statement is parameterised and every result checked; a failure
 * names the operation. */
#include "audit_database.h"

#include "pg_bounded.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct audit_database {
    PGconn *connection;
    int64_t call_timeout_ms; /* the client-side bound of each statement (pg_bounded_exec) */
};

/* The statement_timeout the server enforces, plus this margin, bounds each call on our side
 * too: a black-holed database (no answer, no reset) would otherwise hold the audit forever,
 * since the server-side timeout needs a server that still talks. */
#define CLIENT_MARGIN_MS 15000

bool audit_database_session_options(const char *existing_options, int64_t statement_timeout_ms,
                                    char *buffer, size_t size)
{
    int written = snprintf(
        buffer, size, "%s%s-c default_transaction_read_only=on -c statement_timeout=%" PRId64,
        existing_options != NULL ? existing_options : "",
        existing_options != NULL && existing_options[0] != '\0' ? " " : "", statement_timeout_ms);
    return written >= 0 && (size_t)written < size;
}

/* libpq's message, first line only, for a one-line error. */
static void first_line(const char *message, char *buffer, size_t size)
{
    snprintf(buffer, size, "%s", message != NULL ? message : "");
    char *newline = strchr(buffer, '\n');
    if (newline != NULL) {
        *newline = '\0';
    }
}

audit_failure audit_database_open(const char *url, int64_t statement_timeout_ms,
                                  audit_database **out, char *error, size_t error_size)
{
    *out = NULL;
    /* The URL's own "options" (e.g. a search_path) are kept, ours appended after them so
     * they win. */
    char *parse_error = NULL;
    PQconninfoOption *parsed = PQconninfoParse(url, &parse_error);
    if (parsed == NULL) {
        char line[256];
        first_line(parse_error, line, sizeof line);
        snprintf(error, error_size, "DATABASE_URL does not parse: %s", line);
        PQfreemem(parse_error);
        return AUDIT_FAILURE_DATABASE_CONNECT;
    }
    const char *existing = NULL;
    for (PQconninfoOption *option = parsed; option->keyword != NULL; option++) {
        if (strcmp(option->keyword, "options") == 0) {
            existing = option->val;
        }
    }
    char options[1024];
    bool fits =
        audit_database_session_options(existing, statement_timeout_ms, options, sizeof options);
    PQconninfoFree(parsed);
    if (!fits) {
        snprintf(error, error_size, "DATABASE_URL: its options are too long");
        return AUDIT_FAILURE_DATABASE_CONNECT;
    }
    /* Bounded on a silent peer (docs/reliability.md, the table of network calls): a connect
     * gives up after 10 s, keepalives and tcp_user_timeout end a connection whose peer went
     * silent. They come before "dbname", so the operator's URL can still override them. */
    char user_timeout[24];
    snprintf(user_timeout, sizeof user_timeout, "%" PRId64,
             statement_timeout_ms + CLIENT_MARGIN_MS);
    const char *keywords[] = {"connect_timeout",
                              "keepalives",
                              "keepalives_idle",
                              "keepalives_interval",
                              "keepalives_count",
                              "tcp_user_timeout",
                              "dbname",
                              "options",
                              "fallback_application_name",
                              NULL};
    const char *values[] = {
        "10", "1", "10", "5", "3", user_timeout, url, options, "reconciler-audit", NULL};
    /* expand_dbname = 1: "dbname" carries the whole URL/conninfo; later keywords override. */
    PGconn *connection = PQconnectdbParams(keywords, values, 1);
    if (connection == NULL || PQstatus(connection) != CONNECTION_OK) {
        char line[256];
        first_line(connection != NULL ? PQerrorMessage(connection) : "out of memory", line,
                   sizeof line);
        snprintf(error, error_size, "connect: %s", line);
        PQfinish(connection);
        return AUDIT_FAILURE_DATABASE_CONNECT;
    }
    audit_database *database = calloc(1, sizeof *database);
    if (database == NULL) {
        PQfinish(connection);
        snprintf(error, error_size, "out of memory");
        return AUDIT_FAILURE_OUT_OF_MEMORY;
    }
    database->connection = connection;
    database->call_timeout_ms = statement_timeout_ms + CLIENT_MARGIN_MS;
    *out = database;
    return AUDIT_FAILURE_NONE;
}

void audit_database_close(audit_database *database)
{
    if (database == NULL) {
        return;
    }
    PQfinish(database->connection);
    free(database);
}

/* Runs a statement expecting `expected`; NULL with "<operation>: <libpq line>" in error. */
static PGresult *run(audit_database *database, const char *operation, ExecStatusType expected,
                     const char *sql, int parameter_count, const char *const *parameters,
                     char *error, size_t error_size)
{
    PGresult *result = pg_bounded_exec(database->connection, operation, sql, parameter_count,
                                       parameters, database->call_timeout_ms);
    if (result == NULL || PQresultStatus(result) != expected) {
        char line[256];
        first_line(result != NULL ? PQresultErrorMessage(result)
                                  : PQerrorMessage(database->connection),
                   line, sizeof line);
        const char *state = result != NULL ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : NULL;
        snprintf(error, error_size, "%s: %s%s%s%s", operation, state != NULL ? "SQLSTATE " : "",
                 state != NULL ? state : "", state != NULL ? ": " : "", line);
        PQclear(result);
        return NULL;
    }
    return result;
}

static bool command(audit_database *database, const char *operation, const char *sql, char *error,
                    size_t error_size)
{
    PGresult *result = run(database, operation, PGRES_COMMAND_OK, sql, 0, NULL, error, error_size);
    PQclear(result);
    return result != NULL;
}

static const char flips_sql[] =
    "SELECT consumer_group, workspace_id, verdict_partition, verdict_offset, "
    "floor(extract(epoch FROM acted_at) * 1000)::bigint, published_at IS NOT NULL, "
    "COALESCE(floor(extract(epoch FROM published_at) * 1000)::bigint, 0) "
    "FROM reconciler_actuator_actions "
    "WHERE outcome = 'FLIPPED_RESTART_REQUESTED' AND NOT dry_run AND verdict_topic = $1";

static audit_failure read_flips(audit_database *database, const char *verdict_topic,
                                audit_database_flip **flips, size_t *count, char *error,
                                size_t error_size)
{
    *flips = NULL;
    *count = 0;
    const char *parameters[] = {verdict_topic};
    PGresult *result = run(database, "read reconciler_actuator_actions", PGRES_TUPLES_OK, flips_sql,
                           1, parameters, error, error_size);
    if (result == NULL) {
        return AUDIT_FAILURE_DATABASE_QUERY;
    }
    int rows = PQntuples(result);
    audit_database_flip *list = calloc((size_t)rows + 1, sizeof *list);
    if (list == NULL) {
        PQclear(result);
        snprintf(error, error_size, "out of memory");
        return AUDIT_FAILURE_OUT_OF_MEMORY;
    }
    for (int row = 0; row < rows; row++) {
        audit_database_flip *flip = &list[row];
        flip->consumer_group = strdup(PQgetvalue(result, row, 0));
        flip->workspace_id = strdup(PQgetvalue(result, row, 1));
        flip->verdict_partition = (int32_t)strtol(PQgetvalue(result, row, 2), NULL, 10);
        flip->verdict_offset = strtoll(PQgetvalue(result, row, 3), NULL, 10);
        flip->acted_at_ms = strtoll(PQgetvalue(result, row, 4), NULL, 10);
        flip->published = strcmp(PQgetvalue(result, row, 5), "t") == 0;
        flip->published_at_ms = strtoll(PQgetvalue(result, row, 6), NULL, 10);
        *count = (size_t)row + 1;
        if (flip->consumer_group == NULL || flip->workspace_id == NULL) {
            PQclear(result);
            *flips = list;
            snprintf(error, error_size, "out of memory");
            return AUDIT_FAILURE_OUT_OF_MEMORY;
        }
    }
    PQclear(result);
    *flips = list;
    return AUDIT_FAILURE_NONE;
}

/* BEGIN a read-only snapshot; every read below happens inside one. */
static bool begin_read_only(audit_database *database, char *error, size_t error_size)
{
    return command(database, "begin read-only transaction",
                   "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", error, error_size);
}

static void end_transaction(audit_database *database)
{
    /* Nothing was written: ROLLBACK and COMMIT are the same here; ROLLBACK says so. */
    PQclear(PQexec(database->connection, "ROLLBACK"));
}

audit_failure audit_database_read_flips(audit_database *database, const char *verdict_topic,
                                        audit_database_flip **flips, size_t *count, char *error,
                                        size_t error_size)
{
    *flips = NULL;
    *count = 0;
    if (!begin_read_only(database, error, error_size)) {
        return AUDIT_FAILURE_DATABASE_QUERY;
    }
    audit_failure failure = read_flips(database, verdict_topic, flips, count, error, error_size);
    end_transaction(database);
    return failure;
}

audit_failure audit_database_read_after(audit_database *database, const char *verdict_topic,
                                        audit_database_snapshot *snapshot, char *error,
                                        size_t error_size)
{
    if (!begin_read_only(database, error, error_size)) {
        return AUDIT_FAILURE_DATABASE_QUERY;
    }
    audit_failure failure = read_flips(database, verdict_topic, &snapshot->flips,
                                       &snapshot->flip_count, error, error_size);
    const char *parameters[] = {verdict_topic};
    PGresult *result = NULL;
    if (failure == AUDIT_FAILURE_NONE) {
        result = run(database, "read reconciler_actuator_restarts", PGRES_TUPLES_OK,
                     "SELECT verdict_partition, verdict_offset, state FROM "
                     "reconciler_actuator_restarts WHERE verdict_topic = $1",
                     1, parameters, error, error_size);
        failure = result == NULL ? AUDIT_FAILURE_DATABASE_QUERY : AUDIT_FAILURE_NONE;
    }
    if (result != NULL) {
        int rows = PQntuples(result);
        snapshot->restarts = calloc((size_t)rows + 1, sizeof *snapshot->restarts);
        if (snapshot->restarts == NULL) {
            snprintf(error, error_size, "out of memory");
            failure = AUDIT_FAILURE_OUT_OF_MEMORY;
        }
        for (int row = 0; snapshot->restarts != NULL && row < rows; row++) {
            audit_database_restart *restart = &snapshot->restarts[row];
            restart->verdict_partition = (int32_t)strtol(PQgetvalue(result, row, 0), NULL, 10);
            restart->verdict_offset = strtoll(PQgetvalue(result, row, 1), NULL, 10);
            snprintf(restart->state, sizeof restart->state, "%s", PQgetvalue(result, row, 2));
            snapshot->restart_count = (size_t)row + 1;
        }
        PQclear(result);
    }
    if (failure == AUDIT_FAILURE_NONE) {
        result = run(database, "read the database clock", PGRES_TUPLES_OK,
                     "SELECT floor(extract(epoch FROM now()) * 1000)::bigint", 0, NULL, error,
                     error_size);
        if (result == NULL) {
            failure = AUDIT_FAILURE_DATABASE_QUERY;
        } else {
            snapshot->database_now_ms = strtoll(PQgetvalue(result, 0, 0), NULL, 10);
            PQclear(result);
        }
    }
    end_transaction(database);
    return failure;
}
