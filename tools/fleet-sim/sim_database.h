/* sim_database.h — the simulator's PostgreSQL statements: the workspace server's reprovision
 * write-back, seeding rows, and reading online rows back.
 *
 * For: the reprovision worker and the admin job worker, each on its own connection.
 * Not for: the reconciler's own tables; and never anything but parametrized SQL or COPY of
 * values the simulator generated itself. */
#ifndef FLEET_SIM_DATABASE_H
#define FLEET_SIM_DATABASE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SIM_DATABASE_OK = 0,
    SIM_DATABASE_ERROR_CONNECTION, /* connection lost or refused: reconnect and retry */
    SIM_DATABASE_ERROR_TRANSIENT,  /* serialization failure, deadlock, overload: retry */
    SIM_DATABASE_ERROR_REJECTED,   /* the statement is wrong for these values: do not retry */
} sim_database_error;

const char *sim_database_error_name(sim_database_error error);

/* Connects (application_name fleet-sim). NULL with the reason in error_buffer (libpq's text,
 * which never contains the password). */
PGconn *sim_database_connect(const char *url, char *error_buffer, size_t error_size);

/* UPDATE workspaces SET status='online', instance_id=$2, updated_at=now() WHERE id=$1.
 * *rows_updated is 0 when the row does not exist. */
sim_database_error sim_database_reprovision(PGconn *connection, const char *workspace_id,
                                            const char *instance_id, int *rows_updated,
                                            char *error_buffer, size_t error_size);

/* One seeded row. Ids come from the simulator (uuid, EC2-like id): safe for COPY text. */
typedef struct {
    char workspace_id[37];
    char instance_id[20];
} sim_seed_row;

/* COPY workspaces (id, name, status, instance_id, runtime) FROM STDIN for `count` rows, one
 * statement (atomic). runtime NULL writes NULL; runtime and status are validated by the admin
 * parser to contain no COPY metacharacters. */
sim_database_error sim_database_copy_rows(PGconn *connection, const sim_seed_row *rows,
                                          size_t count, const char *status, const char *runtime,
                                          char *error_buffer, size_t error_size);

/* Calls `row` for every workspace with status 'online' and a non-empty instance_id, reading
 * through a cursor in pages of `page_size` rows. Stops early if `row` returns false. */
typedef bool (*sim_database_row_callback)(const char *workspace_id, const char *instance_id,
                                          void *context);
sim_database_error sim_database_each_online(PGconn *connection, size_t page_size,
                                            sim_database_row_callback row, void *context,
                                            char *error_buffer, size_t error_size);

#endif
