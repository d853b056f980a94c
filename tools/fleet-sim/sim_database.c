/* sim_database.c — libpq statements of the simulator (see sim_database.h).
 *
 * For: three jobs — write a reprovisioned workspace back online, bulk-create rows, read
 * online rows. Errors are classified so callers know whether a retry can help.
 * Not for: connection policy (the workers decide when to reconnect). */
#include "sim_database.h"

#include "pg_bounded.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sim_database_error_name(sim_database_error error)
{
    switch (error) {
    case SIM_DATABASE_OK:
        return "ok";
    case SIM_DATABASE_ERROR_CONNECTION:
        return "connection_failed";
    case SIM_DATABASE_ERROR_TRANSIENT:
        return "transient_failure";
    case SIM_DATABASE_ERROR_REJECTED:
        return "statement_rejected";
    }
    return "unknown";
}

/* Copies libpq's message without its trailing newline. */
static void copy_message(const char *message, char *buffer, size_t size)
{
    snprintf(buffer, size, "%s", message != NULL ? message : "");
    size_t length = strlen(buffer);
    while (length > 0 && (buffer[length - 1] == '\n' || buffer[length - 1] == '\r')) {
        buffer[--length] = '\0';
    }
}

/* Why a statement failed: the connection, a condition that passes, or the statement. */
static sim_database_error classify(PGconn *connection, const PGresult *result)
{
    if (PQstatus(connection) != CONNECTION_OK) {
        return SIM_DATABASE_ERROR_CONNECTION;
    }
    const char *state = result != NULL ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : NULL;
    if (state == NULL) {
        return SIM_DATABASE_ERROR_CONNECTION;
    }
    /* 08: connection exception; 57P0x: server shutting down; 40001/40P01: serialization and
     * deadlock; 53: insufficient resources. Everything else is about the statement. */
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0) {
        return SIM_DATABASE_ERROR_CONNECTION;
    }
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
        strncmp(state, "53", 2) == 0) {
        return SIM_DATABASE_ERROR_TRANSIENT;
    }
    return SIM_DATABASE_ERROR_REJECTED;
}

PGconn *sim_database_connect(const char *url, char *error_buffer, size_t error_size)
{
    /* `url` may be a URI or a conninfo string; application_name makes the simulator's
     * sessions recognizable in pg_stat_activity. The shared bounds (pg_bounded.h) keep the
     * connect and a silent server's socket from blocking fleet-sim's write-back forever. */
    PGconn *connection =
        pg_bounded_connect(url, "fleet-sim", NULL, PG_BOUNDED_DEFAULT_CALL_TIMEOUT_MS);
    if (connection == NULL) {
        snprintf(error_buffer, error_size, "out of memory creating the connection");
        return NULL;
    }
    if (PQstatus(connection) != CONNECTION_OK) {
        copy_message(PQerrorMessage(connection), error_buffer, error_size);
        PQfinish(connection);
        return NULL;
    }
    return connection;
}

sim_database_error sim_database_reprovision(PGconn *connection, const char *workspace_id,
                                            const char *instance_id, int *rows_updated,
                                            char *error_buffer, size_t error_size)
{
    const char *parameters[] = {workspace_id, instance_id};
    *rows_updated = 0;
    PGresult *result = PQexecParams(connection,
                                    "UPDATE workspaces SET status = 'online', instance_id = $2, "
                                    "updated_at = now() WHERE id = $1",
                                    2, NULL, parameters, NULL, NULL, 0);
    sim_database_error error = SIM_DATABASE_OK;
    if (PQresultStatus(result) != PGRES_COMMAND_OK) {
        error = classify(connection, result);
        copy_message(PQresultErrorMessage(result), error_buffer, error_size);
        if (error_buffer[0] == '\0') {
            copy_message(PQerrorMessage(connection), error_buffer, error_size);
        }
    } else {
        *rows_updated = atoi(PQcmdTuples(result));
    }
    PQclear(result);
    return error;
}

sim_database_error sim_database_copy_rows(PGconn *connection, const sim_seed_row *rows,
                                          size_t count, const char *status, const char *runtime,
                                          char *error_buffer, size_t error_size)
{
    PGresult *result =
        PQexec(connection, "COPY workspaces (id, name, status, instance_id, runtime) "
                           "FROM STDIN");
    if (PQresultStatus(result) != PGRES_COPY_IN) {
        sim_database_error error = classify(connection, result);
        copy_message(PQresultErrorMessage(result), error_buffer, error_size);
        PQclear(result);
        return error;
    }
    PQclear(result);

    /* COPY text format, one line per row; sent in chunks of about 1 MiB. */
    size_t line_max = 37 + 16 + 32 + 20 + 72 + 8;
    size_t chunk_rows = (1024 * 1024) / line_max + 1;
    char *chunk = malloc(chunk_rows * line_max);
    const char *copy_error = NULL;
    if (chunk == NULL) {
        copy_error = "out of memory building COPY data";
    }
    for (size_t first = 0; copy_error == NULL && first < count; first += chunk_rows) {
        size_t used = 0;
        size_t last = first + chunk_rows < count ? first + chunk_rows : count;
        for (size_t i = first; i < last; i++) {
            int written = snprintf(chunk + used, line_max, "%s\tfleet-sim\t%s\t%s\t%s\n",
                                   rows[i].workspace_id, status, rows[i].instance_id,
                                   runtime != NULL ? runtime : "\\N");
            if (written < 0 || (size_t)written >= line_max) {
                copy_error = "row does not fit the COPY line buffer";
                break;
            }
            used += (size_t)written;
        }
        if (copy_error == NULL && PQputCopyData(connection, chunk, (int)used) != 1) {
            copy_error = "sending COPY data failed";
        }
    }
    free(chunk);
    if (PQputCopyEnd(connection, copy_error) != 1) {
        copy_message(PQerrorMessage(connection), error_buffer, error_size);
        return SIM_DATABASE_ERROR_CONNECTION;
    }
    sim_database_error error = SIM_DATABASE_OK;
    while ((result = PQgetResult(connection)) != NULL) {
        if (PQresultStatus(result) != PGRES_COMMAND_OK && error == SIM_DATABASE_OK) {
            error = classify(connection, result);
            copy_message(PQresultErrorMessage(result), error_buffer, error_size);
        }
        PQclear(result);
    }
    if (error == SIM_DATABASE_OK && copy_error != NULL) {
        snprintf(error_buffer, error_size, "%s", copy_error);
        error = SIM_DATABASE_ERROR_REJECTED;
    }
    return error;
}

/* Runs a command that returns no rows; on failure fills the error and returns its kind. */
static sim_database_error run_command(PGconn *connection, const char *sql, char *error_buffer,
                                      size_t error_size)
{
    PGresult *result = PQexec(connection, sql);
    sim_database_error error = SIM_DATABASE_OK;
    if (PQresultStatus(result) != PGRES_COMMAND_OK) {
        error = classify(connection, result);
        copy_message(PQresultErrorMessage(result), error_buffer, error_size);
    }
    PQclear(result);
    return error;
}

sim_database_error sim_database_each_online(PGconn *connection, size_t page_size,
                                            sim_database_row_callback row, void *context,
                                            char *error_buffer, size_t error_size)
{
    /* A cursor in a read-only transaction: a million rows never sit in memory at once. */
    sim_database_error error = run_command(connection, "BEGIN READ ONLY", error_buffer, error_size);
    if (error != SIM_DATABASE_OK) {
        return error;
    }
    error = run_command(connection,
                        "DECLARE fleet_sim_online NO SCROLL CURSOR FOR "
                        "SELECT id::text, instance_id FROM workspaces "
                        "WHERE status = 'online' AND instance_id IS NOT NULL AND instance_id <> ''",
                        error_buffer, error_size);
    char fetch[64];
    snprintf(fetch, sizeof fetch, "FETCH %zu FROM fleet_sim_online", page_size);
    bool more = error == SIM_DATABASE_OK;
    while (more) {
        PGresult *result = PQexec(connection, fetch);
        if (PQresultStatus(result) != PGRES_TUPLES_OK) {
            error = classify(connection, result);
            copy_message(PQresultErrorMessage(result), error_buffer, error_size);
            PQclear(result);
            break;
        }
        int rows = PQntuples(result);
        for (int i = 0; i < rows && more; i++) {
            more = row(PQgetvalue(result, i, 0), PQgetvalue(result, i, 1), context);
        }
        if ((size_t)rows < page_size) {
            more = false;
        }
        PQclear(result);
    }
    char ignored[256];
    /* Ends the transaction either way; a failed one rolls back (nothing was written). */
    sim_database_error end = run_command(
        connection, error == SIM_DATABASE_OK ? "COMMIT" : "ROLLBACK", ignored, sizeof ignored);
    if (error == SIM_DATABASE_OK && end != SIM_DATABASE_OK) {
        snprintf(error_buffer, error_size, "%s", ignored);
        error = end;
    }
    return error;
}
