/* audit_database.h — the read-only PostgreSQL session of --verify --database-url.
 *
 * Read-only twice over: the session is opened with default_transaction_read_only=on (in the
 * connection's options, after any the URL carries), and every read runs in an explicit
 * BEGIN ... READ ONLY transaction, so not even a mistaken statement here could write. Reads
 * the actuator's tables (migrations/003_actuator.sql): reconciler_actuator_actions (the flips)
 * and reconciler_actuator_restarts. Not for: judging the rows (audit_cross_check.c). */
#ifndef RECONCILER_AUDIT_DATABASE_H
#define RECONCILER_AUDIT_DATABASE_H

#include "audit_cross_check.h"
#include "audit_failure.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct audit_database audit_database;

/* The libpq "options" value of the audit's session: the URL's own options (may be NULL or
 * empty) followed by the read-only default and a statement timeout. false if it does not fit. */
bool audit_database_session_options(const char *existing_options, int64_t statement_timeout_ms,
                                    char *buffer, size_t size);

/* Connects (read-only session). On failure *out is NULL and error holds libpq's first line
 * (libpq never echoes the password). */
audit_failure audit_database_open(const char *url, int64_t statement_timeout_ms,
                                  audit_database **out, char *error, size_t error_size);
void audit_database_close(audit_database *database);

/* The flips recorded for verdict_topic (dry-run rows excluded), published or not. */
audit_failure audit_database_read_flips(audit_database *database, const char *verdict_topic,
                                        audit_database_flip **flips, size_t *count, char *error,
                                        size_t error_size);

/* The second read (after the topics): flips, restarts and the database's clock, in one
 * snapshot, into snapshot->flips, ->restarts, ->database_now_ms. */
audit_failure audit_database_read_after(audit_database *database, const char *verdict_topic,
                                        audit_database_snapshot *snapshot, char *error,
                                        size_t error_size);

#endif
