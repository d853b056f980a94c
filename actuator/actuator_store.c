/* actuator_store.c — every SQL statement of the actuator (see actuator_store.h).
 *
 * For: running statements with parameters (never string-built SQL), checking each result, and
 * turning a failure into a named, password-free error. Not for: decisions (actuator_decide.c,
 * restart_policy.c) or retry timing (the callers).
 *
 * Timestamps cross the boundary as milliseconds since the epoch and are converted in SQL with
 * integer arithmetic (timestamptz 'epoch' + ms * interval '1 millisecond' and back with
 * extract(epoch ...) * 1000, exact numeric in PostgreSQL 14+), so an Action's acted_at reads
 * back exactly as written. The workspaces.status column is compared and set only with string
 * literals and read as status::text, which works whether it is the fixture's enum
 * workspace_status or plain text (docs/contracts.md §2). */
#include "actuator_store.h"

#include "pg_bounded.h"
#include "token_bucket.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds one statement, so a wedged server or a row lock held elsewhere fails a transaction
 * (retried with backoff) instead of blocking the consumer past max.poll.interval.ms. */
#define STORE_STATEMENT_TIMEOUT "30s"

struct actuator_store {
    PGconn *connection;
    char *database_url; /* secret: may hold a password; never logged */
    char *consumer_group;
    const char *last_operation;
    char last_error[512];
    int64_t call_timeout_ms; /* DATABASE_CALL_TIMEOUT */
};

const char *actuator_store_status_name(actuator_store_status status)
{
    switch (status) {
    case ACTUATOR_STORE_OK:
        return "ok";
    case ACTUATOR_STORE_ERROR_CONNECTION:
        return "connection";
    case ACTUATOR_STORE_ERROR_QUERY:
        return "query";
    }
    return "unknown";
}

actuator_store *actuator_store_new(const char *database_url, const char *consumer_group,
                                   int64_t call_timeout_ms)
{
    actuator_store *created = calloc(1, sizeof *created);
    if (created == NULL) {
        return NULL;
    }
    created->database_url = strdup(database_url != NULL ? database_url : "");
    created->consumer_group = strdup(consumer_group != NULL ? consumer_group : "");
    if (created->database_url == NULL || created->consumer_group == NULL) {
        actuator_store_free(created);
        return NULL;
    }
    created->last_operation = "none";
    created->call_timeout_ms = call_timeout_ms;
    return created;
}

void actuator_store_free(actuator_store *database)
{
    if (database == NULL) {
        return;
    }
    if (database->connection != NULL) {
        PQfinish(database->connection);
    }
    free(database->database_url);
    free(database->consumer_group);
    free(database);
}

const char *actuator_store_last_error(const actuator_store *database)
{
    return database->last_error;
}

const char *actuator_store_last_operation(const actuator_store *database)
{
    return database->last_operation;
}

bool actuator_store_connected(const actuator_store *database)
{
    return database->connection != NULL && PQstatus(database->connection) == CONNECTION_OK;
}

/* Copies the first line of a libpq message (they end with "\n", some have a DETAIL line). */
static void remember_error(actuator_store *database, const char *operation, const char *sqlstate,
                           const char *message)
{
    database->last_operation = operation;
    size_t line = message != NULL ? strcspn(message, "\n") : 0;
    snprintf(database->last_error, sizeof database->last_error, "%s failed%s%s%s: %.*s", operation,
             sqlstate != NULL ? " (SQLSTATE " : "", sqlstate != NULL ? sqlstate : "",
             sqlstate != NULL ? ")" : "", (int)line, message != NULL ? message : "");
}

/* A failed statement means a lost connection when libpq says so; anything else is the
 * server rejecting it. Either way the caller retries the whole transaction. */
static actuator_store_status failure_status(const actuator_store *database)
{
    return actuator_store_connected(database) ? ACTUATOR_STORE_ERROR_QUERY
                                              : ACTUATOR_STORE_ERROR_CONNECTION;
}

actuator_store_status actuator_store_connect(actuator_store *database)
{
    if (actuator_store_connected(database)) {
        return ACTUATOR_STORE_OK;
    }
    if (database->connection != NULL) {
        PQfinish(database->connection);
        database->connection = NULL;
    }
    /* Anything the operator put in DATABASE_URL wins over our defaults (pg_bounded.h). */
    database->connection = pg_bounded_connect(database->database_url, "reconciler-actuator", NULL,
                                              database->call_timeout_ms);
    if (database->connection == NULL) {
        remember_error(database, "connect", NULL, "out of memory");
        return ACTUATOR_STORE_ERROR_CONNECTION;
    }
    if (PQstatus(database->connection) != CONNECTION_OK) {
        remember_error(database, "connect", NULL, PQerrorMessage(database->connection));
        PQfinish(database->connection);
        database->connection = NULL;
        return ACTUATOR_STORE_ERROR_CONNECTION;
    }
    PGresult *result = pg_bounded_exec(database->connection, "set statement_timeout",
                                       "SET statement_timeout = '" STORE_STATEMENT_TIMEOUT "'", 0,
                                       NULL, database->call_timeout_ms);
    if (PQresultStatus(result) != PGRES_COMMAND_OK) {
        remember_error(database, "set statement_timeout",
                       PQresultErrorField(result, PG_DIAG_SQLSTATE),
                       PQerrorMessage(database->connection));
        PQclear(result);
        actuator_store_status status = failure_status(database);
        PQfinish(database->connection);
        database->connection = NULL;
        return status == ACTUATOR_STORE_OK ? ACTUATOR_STORE_ERROR_CONNECTION : status;
    }
    PQclear(result);
    return ACTUATOR_STORE_OK;
}

/* Runs one statement with text parameters. Returns the result on `expected` status (caller
 * PQclears), NULL after recording the error. */
static PGresult *run(actuator_store *database, const char *operation, ExecStatusType expected,
                     const char *sql, int parameter_count, const char *const *parameters)
{
    if (database->connection == NULL) {
        remember_error(database, operation, NULL, "not connected");
        return NULL;
    }
    PGresult *result = pg_bounded_exec(database->connection, operation, sql, parameter_count,
                                       parameters, database->call_timeout_ms);
    if (result == NULL) {
        remember_error(database, operation, NULL, PQerrorMessage(database->connection));
        return NULL;
    }
    if (PQresultStatus(result) != expected) {
        remember_error(database, operation, PQresultErrorField(result, PG_DIAG_SQLSTATE),
                       PQresultErrorMessage(result)[0] != '\0'
                           ? PQresultErrorMessage(result)
                           : PQerrorMessage(database->connection));
        PQclear(result);
        return NULL;
    }
    return result;
}

static bool run_command(actuator_store *database, const char *operation, const char *sql,
                        int parameter_count, const char *const *parameters)
{
    PGresult *result = run(database, operation, PGRES_COMMAND_OK, sql, parameter_count, parameters);
    if (result == NULL) {
        return false;
    }
    PQclear(result);
    return true;
}

/* Ends a failed transaction. Nothing to do when the connection died with it; a ROLLBACK that
 * fails only means the same (the server drops the transaction with the session). */
static void rollback_quietly(actuator_store *database)
{
    if (database->connection == NULL || PQstatus(database->connection) != CONNECTION_OK) {
        return;
    }
    if (PQtransactionStatus(database->connection) == PQTRANS_IDLE) {
        return;
    }
    PGresult *result = pg_bounded_exec(database->connection, "rollback", "ROLLBACK", 0, NULL,
                                       database->call_timeout_ms);
    PQclear(result);
}

/* Ends a failed transaction and says why it failed (read before the rollback, which could
 * otherwise mask a lost connection as a query error). */
static actuator_store_status abort_transaction(actuator_store *database)
{
    actuator_store_status status = failure_status(database);
    rollback_quietly(database);
    return status;
}

static bool begin(actuator_store *database)
{
    return run_command(database, "begin", "BEGIN", 0, NULL);
}

static bool commit(actuator_store *database)
{
    return run_command(database, "commit", "COMMIT", 0, NULL);
}

static char *copy_value(const PGresult *result, int row, int column)
{
    if (PQgetisnull(result, row, column)) {
        return NULL;
    }
    return strdup(PQgetvalue(result, row, column));
}

static int64_t integer_value(const PGresult *result, int row, int column)
{
    return PQgetisnull(result, row, column) ? 0
                                            : strtoll(PQgetvalue(result, row, column), NULL, 10);
}

static bool boolean_value(const PGresult *result, int row, int column)
{
    return !PQgetisnull(result, row, column) && PQgetvalue(result, row, column)[0] == 't';
}

/* ---- the Action row, shared by the decision and the restart worker ---------------------- */

typedef struct {
    const char *workspace_id;
    const char *instance_id;
    const char *verdict_topic;
    int32_t verdict_partition;
    int64_t verdict_offset;
    action_outcome outcome;
    const char *reason;
    int64_t acted_at_ms;
    bool dry_run;
    const char *sweep_id;
    int64_t verdict_checked_at_ms;
    int32_t attempt;
    const char *actuator_id;
} action_values;

static bool insert_action(actuator_store *database, const action_values *values)
{
    char partition[16], offset[24], acted_at[24], checked_at[24], attempt[16];
    snprintf(partition, sizeof partition, "%" PRId32, values->verdict_partition);
    snprintf(offset, sizeof offset, "%" PRId64, values->verdict_offset);
    snprintf(acted_at, sizeof acted_at, "%" PRId64, values->acted_at_ms);
    snprintf(checked_at, sizeof checked_at, "%" PRId64, values->verdict_checked_at_ms);
    snprintf(attempt, sizeof attempt, "%" PRId32, values->attempt);
    const char *parameters[] = {
        database->consumer_group,
        values->workspace_id != NULL ? values->workspace_id : "",
        values->instance_id != NULL ? values->instance_id : "",
        values->verdict_topic != NULL ? values->verdict_topic : "",
        partition,
        offset,
        action_outcome_name(values->outcome),
        values->reason,
        acted_at,
        values->dry_run ? "true" : "false",
        values->sweep_id != NULL ? values->sweep_id : "",
        checked_at,
        attempt,
        values->actuator_id != NULL ? values->actuator_id : "",
    };
    return run_command(
        database, "record action",
        "INSERT INTO reconciler_actuator_actions (consumer_group, workspace_id, instance_id, "
        "verdict_topic, verdict_partition, verdict_offset, outcome, reason, acted_at, dry_run, "
        "sweep_id, verdict_checked_at, attempt, actuator_id) VALUES ($1, $2, $3, $4, "
        "$5::integer, $6::bigint, $7, $8, timestamptz 'epoch' + $9::bigint * interval "
        "'1 millisecond', $10::boolean, $11, timestamptz 'epoch' + $12::bigint * interval "
        "'1 millisecond', $13::integer, $14)",
        14, parameters);
}

/* ---- the decision transaction ------------------------------------------------------------ */

/* Locks the group's breaker row (creating it on first use) for the rest of the transaction,
 * which serialises every counted decision of the group across actuators, and reads the
 * database's clock (the window's one timeline, whatever the hosts' clocks say) and whether
 * the breaker was open. */
static bool lock_breaker(actuator_store *database, int64_t *database_now_ms, bool *was_open)
{
    const char *parameters[] = {database->consumer_group};
    PGresult *result =
        run(database, "lock breaker", PGRES_TUPLES_OK,
            "INSERT INTO reconciler_actuator_breaker AS breaker (consumer_group) VALUES ($1) "
            "ON CONFLICT (consumer_group) DO UPDATE SET updated_at = now() RETURNING "
            "breaker.opened_at IS NOT NULL, (extract(epoch FROM now()) * 1000)::bigint",
            1, parameters);
    if (result == NULL) {
        return false;
    }
    *was_open = boolean_value(result, 0, 0);
    *database_now_ms = integer_value(result, 0, 1);
    PQclear(result);
    return true;
}

/* Fills the breaker facts: the verdict's limit and how many other workspaces of the group are
 * in the window. The count stops at the limit (all the decision needs to know), which bounds
 * its cost when a CP bug has put the whole fleet in the window. The caller holds the breaker
 * row's lock, so no concurrent decision changes the window meanwhile. */
static bool read_breaker_window(actuator_store *database,
                                const actuator_store_decision_input *input, int64_t database_now_ms,
                                actuator_breaker_facts *breaker)
{
    breaker->limit = actuator_breaker_limit(input->max_unhealthy, input->record->sweep_size);
    breaker->window_ms = input->breaker_window_ms;
    char window_start[24], limit[24];
    snprintf(window_start, sizeof window_start, "%" PRId64,
             actuator_breaker_window_start_ms(database_now_ms, input->breaker_window_ms));
    snprintf(limit, sizeof limit, "%" PRId64, breaker->limit);
    const char *parameters[] = {database->consumer_group, window_start, input->record->workspace_id,
                                limit};
    PGresult *result =
        run(database, "count breaker window", PGRES_TUPLES_OK,
            "SELECT count(*) FROM (SELECT 1 FROM reconciler_actuator_breaker_window WHERE "
            "consumer_group = $1 AND counted_at >= timestamptz 'epoch' + $2::bigint * interval "
            "'1 millisecond' AND workspace_id <> $3::uuid LIMIT $4::bigint) AS in_window",
            4, parameters);
    if (result == NULL) {
        return false;
    }
    breaker->window_count = integer_value(result, 0, 0);
    PQclear(result);
    return true;
}

/* Puts (or keeps) the verdict's workspace in the window, stamped now. */
static bool count_in_breaker_window(actuator_store *database, const verdict *record)
{
    const char *parameters[] = {database->consumer_group, record->workspace_id};
    return run_command(database, "count in breaker window",
                       "INSERT INTO reconciler_actuator_breaker_window (consumer_group, "
                       "workspace_id, counted_at) VALUES ($1, $2::uuid, now()) ON CONFLICT "
                       "(consumer_group, workspace_id) DO UPDATE SET counted_at = "
                       "EXCLUDED.counted_at",
                       2, parameters);
}

/* Records the breaker's new state when it changed (opened_at set or cleared). */
static bool set_breaker_open(actuator_store *database, bool open)
{
    const char *parameters[] = {database->consumer_group};
    return run_command(database, open ? "open breaker" : "close breaker",
                       open ? "UPDATE reconciler_actuator_breaker SET opened_at = now() WHERE "
                              "consumer_group = $1"
                            : "UPDATE reconciler_actuator_breaker SET opened_at = NULL WHERE "
                              "consumer_group = $1",
                       1, parameters);
}

const char *actuator_rate_kind_name(actuator_rate_kind kind)
{
    switch (kind) {
    case ACTUATOR_RATE_FLIP:
        return "flip";
    case ACTUATOR_RATE_RESTART:
        return "restart";
    }
    return "unknown";
}

/* Takes one token of the group's `kind` bucket inside the current transaction: the row is
 * created full on first use and locked, refilled and taken from with common/token_bucket.c
 * against the database's clock, and written back. *wait_ms 0 when a token was taken, else
 * the time until one is due (the row is then left as it was). The lock is held until the
 * caller's COMMIT or ROLLBACK, so the actuators of the group take tokens one at a time. */
static bool take_group_token(actuator_store *database, actuator_rate_kind kind, int64_t per_minute,
                             int64_t *wait_ms)
{
    /* Burst: one second's worth of tokens (at least 1). The bucket is the group's, so N
     * actuators together never exceed it; at the default 60 a minute that is burst 1, evenly
     * spaced. At high rates, a burst of 1 made every flip that followed another within
     * 1/rate wait for a token, and a wait costs a rolled-back decision and its retry: the
     * benchmark's 100 a second delivered 10 to 25. */
    double burst = (double)per_minute / 60.0;
    if (burst < 1.0) {
        burst = 1.0;
    }
    const char *kind_name = actuator_rate_kind_name(kind);
    const char *lock_parameters[] = {database->consumer_group, kind_name};
    /* RETURNING is computed after the row lock is granted, so the clock read there does not
     * count the wait for the lock as refill time. */
    PGresult *result = run(
        database, "lock rate limit", PGRES_TUPLES_OK,
        "INSERT INTO reconciler_actuator_rate_limits AS bucket (consumer_group, kind, tokens, "
        "refilled_ms) VALUES ($1, $2, 1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint) "
        "ON CONFLICT (consumer_group, kind) DO UPDATE SET tokens = bucket.tokens RETURNING "
        "bucket.tokens, bucket.refilled_ms, (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
        2, lock_parameters);
    if (result == NULL) {
        return false;
    }
    double stored_tokens = strtod(PQgetvalue(result, 0, 0), NULL);
    int64_t stored_at_ms = integer_value(result, 0, 1);
    int64_t now_ms = integer_value(result, 0, 2);
    PQclear(result);

    token_bucket bucket =
        token_bucket_restore((double)per_minute / 60.0, burst, stored_tokens, stored_at_ms);
    if (!token_bucket_take(&bucket, now_ms)) {
        *wait_ms = token_bucket_wait_ms(&bucket, now_ms);
        if (*wait_ms < 1) {
            *wait_ms = 1;
        }
        return true;
    }
    *wait_ms = 0;
    char tokens_text[48], refilled_text[24];
    snprintf(tokens_text, sizeof tokens_text, "%.17g", bucket.tokens);
    snprintf(refilled_text, sizeof refilled_text, "%" PRId64, bucket.last_refill_ms);
    const char *store_parameters[] = {database->consumer_group, kind_name, tokens_text,
                                      refilled_text};
    return run_command(database, "take rate limit token",
                       "UPDATE reconciler_actuator_rate_limits SET tokens = $3::double precision, "
                       "refilled_ms = $4::bigint WHERE consumer_group = $1 AND kind = $2",
                       4, store_parameters);
}

actuator_store_status actuator_store_take_token(actuator_store *database, actuator_rate_kind kind,
                                                int64_t per_minute, int64_t *wait_ms)
{
    *wait_ms = 0;
    if (!begin(database) || !take_group_token(database, kind, per_minute, wait_ms) ||
        !commit(database)) {
        return abort_transaction(database);
    }
    return ACTUATOR_STORE_OK;
}

/* The compare-and-swap (docs/contracts.md §2) and the restart outbox row. *flipped false when the
 * UPDATE matched no row (then nothing is queued). */
static bool flip_and_queue_restart(actuator_store *database,
                                   const actuator_store_decision_input *input, bool *flipped)
{
    const verdict *record = input->record;
    const char *flip_parameters[] = {record->workspace_id, record->instance_id};
    PGresult *result =
        run(database, "flip workspace offline", PGRES_COMMAND_OK,
            "UPDATE workspaces SET status = 'offline', updated_at = now() WHERE id = $1::uuid "
            "AND status = 'online' AND instance_id = $2 AND instance_id <> '' "
            "AND COALESCE(runtime, '') <> 'external'",
            2, flip_parameters);
    if (result == NULL) {
        return false;
    }
    *flipped = strcmp(PQcmdTuples(result), "1") == 0;
    PQclear(result);
    if (!*flipped) {
        return true;
    }

    char partition[16], offset[24], checked_at[24];
    snprintf(partition, sizeof partition, "%" PRId32, input->partition);
    snprintf(offset, sizeof offset, "%" PRId64, input->offset);
    snprintf(checked_at, sizeof checked_at, "%" PRId64, record->checked_at);
    const char *queue_parameters[] = {database->consumer_group,
                                      record->workspace_id,
                                      record->instance_id,
                                      input->topic,
                                      partition,
                                      offset,
                                      record->sweep_id,
                                      checked_at};
    return run_command(
        database, "queue restart",
        "INSERT INTO reconciler_actuator_restarts (consumer_group, workspace_id, instance_id, "
        "verdict_topic, verdict_partition, verdict_offset, sweep_id, verdict_checked_at) VALUES "
        "($1, $2::uuid, $3, $4, $5::integer, $6::bigint, $7, timestamptz 'epoch' + $8::bigint "
        "* interval '1 millisecond')",
        8, queue_parameters);
}

/* Reads the group's pause switch into policy (paused, paused_by, pause_reason; the strings
 * point into the returned result, which the caller PQclears after the decision). NULL after
 * recording the error. */
static PGresult *read_pause(actuator_store *database, actuator_policy *policy)
{
    const char *parameters[] = {database->consumer_group};
    PGresult *result = run(database, "read pause switch", PGRES_TUPLES_OK,
                           "SELECT paused_by, reason FROM reconciler_actuator_pause WHERE "
                           "consumer_group = $1",
                           1, parameters);
    if (result == NULL) {
        return NULL;
    }
    policy->paused = PQntuples(result) == 1;
    policy->paused_by = policy->paused ? PQgetvalue(result, 0, 0) : NULL;
    policy->pause_reason = policy->paused ? PQgetvalue(result, 0, 1) : NULL;
    return result;
}

actuator_store_status actuator_store_peek_verdict(actuator_store *database,
                                                  const actuator_store_decision_input *input,
                                                  actuator_store_peek *peek)
{
    memset(peek, 0, sizeof *peek);
    const verdict *record = input->record;
    char partition[16], offset[24];
    snprintf(partition, sizeof partition, "%" PRId32, input->partition);
    snprintf(offset, sizeof offset, "%" PRId64, input->offset);
    peek->row.workspace_id_is_uuid = actuator_is_uuid(record->workspace_id);
    /* A workspace id that is not a uuid is passed as NULL: the cast would fail, and no row
     * can match it anyway. */
    const char *parameters[] = {database->consumer_group, input->topic, partition, offset,
                                peek->row.workspace_id_is_uuid ? record->workspace_id : NULL};
    PGresult *result =
        run(database, "peek at verdict and row", PGRES_TUPLES_OK,
            "SELECT EXISTS (SELECT 1 FROM reconciler_actuator_decisions WHERE consumer_group = $1 "
            "AND verdict_topic = $2 AND verdict_partition = $3::integer AND verdict_offset = "
            "$4::bigint), w.id IS NOT NULL, w.status::text, w.instance_id, w.runtime, "
            "EXISTS (SELECT 1 FROM reconciler_actuator_pause WHERE consumer_group = $1) "
            "FROM (SELECT 1) AS one LEFT JOIN workspaces w ON w.id = $5::uuid",
            5, parameters);
    if (result == NULL) {
        return failure_status(database);
    }
    bool ok = PQntuples(result) == 1;
    if (ok) {
        peek->decided = boolean_value(result, 0, 0);
        peek->row.found = boolean_value(result, 0, 1);
        peek->status_ = copy_value(result, 0, 2);
        peek->instance_id_ = copy_value(result, 0, 3);
        peek->runtime_ = copy_value(result, 0, 4);
        peek->paused = boolean_value(result, 0, 5);
        ok = (peek->status_ != NULL || PQgetisnull(result, 0, 2)) &&
             (peek->instance_id_ != NULL || PQgetisnull(result, 0, 3)) &&
             (peek->runtime_ != NULL || PQgetisnull(result, 0, 4));
    }
    PQclear(result);
    if (!ok) {
        actuator_store_peek_free(peek);
        remember_error(database, "peek at verdict and row", NULL, "unexpected result or no memory");
        return ACTUATOR_STORE_ERROR_QUERY;
    }
    peek->row.status = peek->status_;
    peek->row.instance_id = peek->instance_id_;
    peek->row.runtime = peek->runtime_;
    return ACTUATOR_STORE_OK;
}

void actuator_store_peek_free(actuator_store_peek *peek)
{
    free(peek->status_);
    free(peek->instance_id_);
    free(peek->runtime_);
    memset(peek, 0, sizeof *peek);
}

actuator_store_status actuator_store_decide_verdict(actuator_store *database,
                                                    const actuator_store_decision_input *input,
                                                    actuator_store_decision_result *outcome)
{
    memset(outcome, 0, sizeof *outcome);
    const verdict *record = input->record;
    PGresult *row_result = NULL;
    PGresult *pause_result = NULL;
    /* Until gathered, the breaker reads closed (all-zero facts would read open) in the log
     * line; a verdict without breaker facts is skipped before the breaker's guard anyway. */
    outcome->breaker.limit = INT64_MAX;
    char partition[16], offset[24];
    snprintf(partition, sizeof partition, "%" PRId32, input->partition);
    snprintf(offset, sizeof offset, "%" PRId64, input->offset);

    if (!begin(database)) {
        goto failed;
    }

    /* 1. Idempotency: the first transaction to insert the key owns the verdict; a redelivery
     * (or a concurrent duplicate, after waiting for the owner's commit) inserts nothing. */
    const char *key_parameters[] = {database->consumer_group, input->topic,    partition, offset,
                                    record->workspace_id,     record->sweep_id};
    PGresult *result =
        run(database, "record decision key", PGRES_TUPLES_OK,
            "INSERT INTO reconciler_actuator_decisions (consumer_group, verdict_topic, "
            "verdict_partition, verdict_offset, workspace_id, sweep_id) VALUES ($1, $2, "
            "$3::integer, $4::bigint, $5, $6) ON CONFLICT DO NOTHING RETURNING 1",
            6, key_parameters);
    if (result == NULL) {
        goto failed;
    }
    bool first_time = PQntuples(result) == 1;
    PQclear(result);
    if (!first_time) {
        outcome->duplicate = true;
        rollback_quietly(database);
        return ACTUATOR_STORE_OK;
    }

    /* 2. The facts, gathered once: the group's breaker window and the row, locked until
     * COMMIT so that nothing changes between the decision and the conditional UPDATE.
     * actuator_gather says which (a stale verdict takes no breaker lock; an id that is not a
     * uuid has no row to read). */
    actuator_verdict_facts facts = {
        .liveness = record->liveness,
        .instance_id = record->instance_id,
        .checked_at_ms = record->checked_at,
        .cp_confirmation = input->cp_confirmation,
    };
    actuator_facts_to_gather gather =
        actuator_gather(record->workspace_id, &facts, input->now_ms, &input->policy);
    actuator_row_facts row = {.workspace_id_is_uuid = gather.read_row};
    bool was_open = false;
    if (gather.read_breaker) {
        int64_t database_now_ms = 0;
        if (!lock_breaker(database, &database_now_ms, &was_open) ||
            !read_breaker_window(database, input, database_now_ms, &outcome->breaker)) {
            goto failed;
        }
    }
    /* The pause switch is read after the breaker's lock, which --pause takes too: a decision
     * either finished before the pause committed or sees it (actuator_store_set_pause). A
     * statement of its own: in lock_breaker's RETURNING it would read with the snapshot taken
     * before the lock wait and miss a pause committed meanwhile. */
    actuator_policy policy = input->policy;
    if (gather.read_pause) {
        pause_result = read_pause(database, &policy);
        if (pause_result == NULL) {
            goto failed;
        }
    }
    if (gather.read_row) {
        const char *row_parameters[] = {record->workspace_id};
        row_result = run(database, "lock workspace row", PGRES_TUPLES_OK,
                         "SELECT status::text, instance_id, runtime FROM workspaces "
                         "WHERE id = $1::uuid FOR UPDATE",
                         1, row_parameters);
        if (row_result == NULL) {
            goto failed;
        }
        if (PQntuples(row_result) == 1) {
            row.found = true;
            row.status = PQgetisnull(row_result, 0, 0) ? NULL : PQgetvalue(row_result, 0, 0);
            row.instance_id = PQgetisnull(row_result, 0, 1) ? NULL : PQgetvalue(row_result, 0, 1);
            row.runtime = PQgetisnull(row_result, 0, 2) ? NULL : PQgetvalue(row_result, 0, 2);
        }
    }

    /* 3. The decision, in one pure call: the outcome, the Action's reason and what happens to
     * the breaker, for the compare-and-swap's both possible ends. */
    actuator_plan plan =
        actuator_plan_verdict(&facts, &row, gather.read_breaker ? &outcome->breaker : NULL,
                              was_open, input->now_ms, &policy);
    PQclear(row_result);
    row_result = NULL;
    PQclear(pause_result);
    pause_result = NULL;
    outcome->pause_read = gather.read_pause;
    outcome->paused = policy.paused;
    const actuator_outcome_plan *applied = &plan.planned;
    bool flip = applied->decision.outcome == ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED;

    /* 4. The group's flip rate: a flip takes a token first. None left: the whole decision
     * is rolled back (nothing of it happened) and the caller holds the verdict until one is
     * due, so it is decided again then, against the breaker and row as they are by then. */
    if (flip) {
        int64_t wait_ms = 0;
        if (!take_group_token(database, ACTUATOR_RATE_FLIP, input->max_flips_per_minute,
                              &wait_ms)) {
            goto failed;
        }
        if (wait_ms > 0) {
            rollback_quietly(database);
            outcome->rate_limited = true;
            outcome->retry_in_ms = wait_ms;
            return ACTUATOR_STORE_OK;
        }
    }

    /* 5. The effect. The UPDATE repeats every condition, so even a wrong decision could not
     * flip a row outside the compare-and-swap. */
    if (flip) {
        bool flipped = false;
        if (!flip_and_queue_restart(database, input, &flipped)) {
            goto failed;
        }
        if (!flipped) {
            applied = &plan.if_cas_misses;
        }
    }

    /* 6. The breaker window and state, as planned. */
    if (applied->count_in_window && !count_in_breaker_window(database, record)) {
        goto failed;
    }
    if (applied->breaker_changes && !set_breaker_open(database, applied->breaker_open)) {
        goto failed;
    }
    outcome->decision = applied->decision;
    outcome->breaker_counted = applied->count_in_window;
    outcome->breaker_open = applied->breaker_open;
    outcome->breaker_tripped = applied->breaker_changes && applied->breaker_open;
    outcome->breaker_closed = applied->breaker_changes && !applied->breaker_open;
    snprintf(outcome->reason, sizeof outcome->reason, "%s", applied->reason);

    /* 7. The Action, in the same transaction as what it reports. */
    action_values values = {
        .workspace_id = record->workspace_id,
        .instance_id = record->instance_id,
        .verdict_topic = input->topic,
        .verdict_partition = input->partition,
        .verdict_offset = input->offset,
        .outcome = outcome->decision.outcome,
        .reason = outcome->reason,
        .acted_at_ms = input->now_ms,
        .dry_run = input->policy.dry_run,
        .sweep_id = record->sweep_id,
        .verdict_checked_at_ms = record->checked_at,
        .attempt = 0,
        .actuator_id = input->actuator_id,
    };
    if (!insert_action(database, &values) || !commit(database)) {
        goto failed;
    }
    return ACTUATOR_STORE_OK;

failed:
    PQclear(row_result);
    PQclear(pause_result);
    return abort_transaction(database);
}

/* ---- the restart outbox ------------------------------------------------------------------ */

void actuator_store_restart_job_free(actuator_store_restart_job *job)
{
    if (job == NULL) {
        return;
    }
    free(job->workspace_id);
    free(job->instance_id);
    free(job->verdict_topic);
    free(job->sweep_id);
    free(job->row_status);
    free(job->row_instance_id);
    memset(job, 0, sizeof *job);
}

actuator_store_status actuator_store_restart_claim(actuator_store *database, const char *claimer,
                                                   int64_t lease_ms,
                                                   actuator_store_restart_job *job, bool *claimed)
{
    memset(job, 0, sizeof *job);
    *claimed = false;
    char lease[24];
    snprintf(lease, sizeof lease, "%" PRId64, lease_ms);
    const char *parameters[] = {database->consumer_group, claimer != NULL ? claimer : "", lease};
    /* One statement, so its own transaction, committed when it returns: nothing stays open
     * while the caller makes the call. The lease is taken on the database's clock
     * (clock_timestamp(), not the statement's start) and doubles as next_attempt_at, so the
     * row is due again for every actuator exactly when the lease expires. The workspaces row
     * is read, not locked: the workspace server must stay free to change it. */
    PGresult *result =
        run(database, "claim due restart", PGRES_TUPLES_OK,
            "UPDATE reconciler_actuator_restarts AS restart SET attempts = restart.attempts + 1, "
            "claimed_by = $2, claimed_until = lease.until, next_attempt_at = lease.until, "
            "claim_generation = restart.claim_generation + 1, updated_at = now() "
            "FROM (SELECT clock_timestamp() + $3::bigint * interval '1 millisecond' AS until) AS "
            "lease WHERE restart.id = (SELECT id FROM reconciler_actuator_restarts WHERE "
            "consumer_group = $1 AND state = 'pending' AND next_attempt_at <= now() AND NOT "
            "EXISTS (SELECT 1 FROM reconciler_actuator_pause WHERE consumer_group = $1) ORDER BY "
            "next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) "
            "RETURNING restart.id, restart.workspace_id::text, restart.instance_id, "
            "restart.verdict_topic, restart.verdict_partition, restart.verdict_offset, "
            "restart.sweep_id, (extract(epoch FROM restart.verdict_checked_at) * 1000)::bigint, "
            "restart.attempts, restart.claim_generation, "
            "EXISTS (SELECT 1 FROM workspaces WHERE id = restart.workspace_id), "
            "(SELECT status::text FROM workspaces WHERE id = restart.workspace_id), "
            "(SELECT instance_id FROM workspaces WHERE id = restart.workspace_id)",
            3, parameters);
    if (result == NULL) {
        return failure_status(database);
    }
    if (PQntuples(result) == 0) {
        PQclear(result);
        return ACTUATOR_STORE_OK;
    }
    job->id = integer_value(result, 0, 0);
    job->workspace_id = copy_value(result, 0, 1);
    job->instance_id = copy_value(result, 0, 2);
    job->verdict_topic = copy_value(result, 0, 3);
    job->verdict_partition = (int32_t)integer_value(result, 0, 4);
    job->verdict_offset = integer_value(result, 0, 5);
    job->sweep_id = copy_value(result, 0, 6);
    job->verdict_checked_at_ms = integer_value(result, 0, 7);
    job->attempt = (int32_t)integer_value(result, 0, 8);
    job->claim_generation = integer_value(result, 0, 9);
    job->row_found = boolean_value(result, 0, 10);
    job->row_status = copy_value(result, 0, 11);
    job->row_instance_id = copy_value(result, 0, 12);
    bool complete = job->workspace_id != NULL && job->instance_id != NULL &&
                    job->verdict_topic != NULL && job->sweep_id != NULL &&
                    (job->row_status != NULL || PQgetisnull(result, 0, 11)) &&
                    (job->row_instance_id != NULL || PQgetisnull(result, 0, 12));
    PQclear(result);
    if (!complete) {
        /* The row stays leased and is taken again when the lease expires. */
        remember_error(database, "claim due restart", NULL, "out of memory");
        actuator_store_restart_job_free(job);
        return ACTUATOR_STORE_ERROR_QUERY;
    }
    *claimed = true;
    return ACTUATOR_STORE_OK;
}

static const char *restart_state_for(action_outcome outcome)
{
    switch (outcome) {
    case ACTION_OUTCOME_RESTART_ACCEPTED:
        return "accepted";
    case ACTION_OUTCOME_RESTART_FAILED:
        return "failed";
    case ACTION_OUTCOME_RESTART_RETRIED:
        return "pending";
    default:
        return "skipped";
    }
}

actuator_store_status actuator_store_restart_record(actuator_store *database,
                                                    const actuator_store_restart_job *job,
                                                    const actuator_store_restart_result *attempt,
                                                    bool *recorded)
{
    *recorded = false;
    char id[24], attempts[16], delay[24], status[16], generation[24];
    snprintf(id, sizeof id, "%" PRId64, job->id);
    snprintf(attempts, sizeof attempts, "%" PRId32, attempt->attempts_made);
    snprintf(delay, sizeof delay, "%" PRId64,
             attempt->outcome == ACTION_OUTCOME_RESTART_RETRIED ? attempt->retry_delay_ms : 0);
    snprintf(status, sizeof status, "%ld", attempt->http_status);
    snprintf(generation, sizeof generation, "%" PRId64, job->claim_generation);
    const char *parameters[] = {id,
                                restart_state_for(attempt->outcome),
                                attempts,
                                delay,
                                attempt->error_name,
                                attempt->http_status > 0 ? status : NULL,
                                attempt->skip_status,
                                generation};
    if (!begin(database)) {
        goto failed;
    }
    /* next_attempt_at on the database's clock: due-ness is judged by the same clock in
     * actuator_store_restart_claim, whichever actuator claims the row next. The generation
     * condition is the lease: a peer that took the row over after it expired has bumped it,
     * and then this result is not ours to record any more. */
    PGresult *result =
        run(database, "record restart attempt", PGRES_COMMAND_OK,
            "UPDATE reconciler_actuator_restarts SET state = $2, attempts = $3::integer, "
            "next_attempt_at = now() + $4::bigint * interval '1 millisecond', last_error_name = "
            "$5, last_http_status = $6::integer, skip_status = $7, claimed_until = NULL, "
            "updated_at = now() WHERE id = $1::bigint AND state = 'pending' AND "
            "claim_generation = $8::bigint",
            8, parameters);
    if (result == NULL) {
        goto failed;
    }
    bool still_ours = strcmp(PQcmdTuples(result), "1") == 0;
    PQclear(result);
    if (!still_ours) {
        rollback_quietly(database);
        return ACTUATOR_STORE_OK;
    }
    action_values values = {
        .workspace_id = job->workspace_id,
        .instance_id = job->instance_id,
        .verdict_topic = job->verdict_topic,
        .verdict_partition = job->verdict_partition,
        .verdict_offset = job->verdict_offset,
        .outcome = attempt->outcome,
        .reason = attempt->reason,
        .acted_at_ms = attempt->now_ms,
        .dry_run = false,
        .sweep_id = job->sweep_id,
        .verdict_checked_at_ms = job->verdict_checked_at_ms,
        .attempt = attempt->attempts_made,
        .actuator_id = attempt->actuator_id,
    };
    if (!insert_action(database, &values) || !commit(database)) {
        goto failed;
    }
    *recorded = true;
    return ACTUATOR_STORE_OK;

failed:
    return abort_transaction(database);
}

actuator_store_status actuator_store_restart_release(actuator_store *database,
                                                     const actuator_store_restart_job *job)
{
    char id[24], generation[24], attempts[16];
    snprintf(id, sizeof id, "%" PRId64, job->id);
    snprintf(generation, sizeof generation, "%" PRId64, job->claim_generation);
    snprintf(attempts, sizeof attempts, "%" PRId32, job->attempt > 0 ? job->attempt - 1 : 0);
    const char *parameters[] = {id, generation, attempts};
    if (!run_command(database, "release restart claim",
                     "UPDATE reconciler_actuator_restarts SET attempts = $3::integer, "
                     "next_attempt_at = now(), claimed_until = NULL, updated_at = now() WHERE id "
                     "= $1::bigint AND state = 'pending' AND claim_generation = $2::bigint",
                     3, parameters)) {
        return failure_status(database);
    }
    return ACTUATOR_STORE_OK;
}

actuator_store_status actuator_store_restart_next_due(actuator_store *database, bool *any,
                                                      int64_t *wait_ms)
{
    *any = false;
    *wait_ms = 0;
    const char *parameters[] = {database->consumer_group};
    PGresult *result =
        run(database, "read next restart due", PGRES_TUPLES_OK,
            "SELECT GREATEST(0, ceil(extract(epoch FROM min(next_attempt_at) - now()) * 1000))"
            "::bigint FROM reconciler_actuator_restarts WHERE consumer_group = $1 AND state = "
            "'pending' AND NOT EXISTS (SELECT 1 FROM reconciler_actuator_pause WHERE "
            "consumer_group = $1)",
            1, parameters);
    if (result == NULL) {
        return failure_status(database);
    }
    if (PQntuples(result) == 1 && !PQgetisnull(result, 0, 0)) {
        *any = true;
        *wait_ms = integer_value(result, 0, 0);
    }
    PQclear(result);
    return ACTUATOR_STORE_OK;
}

actuator_store_status actuator_store_restart_retry_failed(actuator_store *database,
                                                          const char *workspace_id,
                                                          const char *actuator_id, int64_t now_ms,
                                                          int64_t *count)
{
    *count = 0;
    char acted_at[24];
    snprintf(acted_at, sizeof acted_at, "%" PRId64, now_ms);
    const char *parameters[] = {database->consumer_group, workspace_id,
                                action_outcome_name(ACTION_OUTCOME_RESTART_RETRIED), acted_at,
                                actuator_id != NULL ? actuator_id : ""};
    /* One statement: the rows go back to pending and their Actions are written atomically,
     * and the failed rows are locked while it runs, so two operators retrying at once retry
     * each row once. The Action's reason keeps what the row said before it was reset. */
    PGresult *result = run(
        database, "retry failed restarts", PGRES_COMMAND_OK,
        "WITH retried AS (UPDATE reconciler_actuator_restarts AS restart SET state = 'pending', "
        "attempts = 0, next_attempt_at = now(), claimed_until = NULL, last_error_name = NULL, "
        "last_http_status = NULL, skip_status = NULL, updated_at = now() FROM (SELECT id, "
        "attempts, last_error_name FROM reconciler_actuator_restarts WHERE consumer_group = $1 "
        "AND state = 'failed' AND ($2::uuid IS NULL OR workspace_id = $2::uuid) FOR UPDATE) AS "
        "before WHERE restart.id = before.id RETURNING restart.id, restart.consumer_group, "
        "restart.workspace_id, restart.instance_id, restart.verdict_topic, "
        "restart.verdict_partition, restart.verdict_offset, restart.sweep_id, "
        "restart.verdict_checked_at, before.attempts AS attempts_before, before.last_error_name "
        "AS error_before) "
        "INSERT INTO reconciler_actuator_actions (consumer_group, workspace_id, instance_id, "
        "verdict_topic, verdict_partition, verdict_offset, outcome, reason, acted_at, dry_run, "
        "sweep_id, verdict_checked_at, attempt, actuator_id) SELECT consumer_group, "
        "workspace_id::text, instance_id, verdict_topic, verdict_partition, verdict_offset, $3, "
        "format('operator_retry: set back to pending by --retry-failed-restarts after %s failed "
        "attempt(s), last error %s', attempts_before, COALESCE(error_before, 'none')), "
        "timestamptz 'epoch' + $4::bigint * interval '1 millisecond', false, sweep_id, "
        "verdict_checked_at, 0, $5 FROM retried ORDER BY id",
        5, parameters);
    if (result == NULL) {
        return failure_status(database);
    }
    *count = strtoll(PQcmdTuples(result), NULL, 10);
    PQclear(result);
    return ACTUATOR_STORE_OK;
}

/* ---- the action outbox -------------------------------------------------------------------- */

void actuator_store_action_rows_free(actuator_store_action_row *rows, size_t count)
{
    if (rows == NULL) {
        return;
    }
    for (size_t i = 0; i < count; i++) {
        action_free(&rows[i].record);
    }
    free(rows);
}

static int compare_row_ids(const void *left, const void *right)
{
    int64_t a = ((const actuator_store_action_row *)left)->id;
    int64_t b = ((const actuator_store_action_row *)right)->id;
    return (a > b) - (a < b);
}

actuator_store_status
actuator_store_claim_unpublished(actuator_store *database, const char *claimer, int64_t claim_ms,
                                 int limit, actuator_store_action_row **rows_out, size_t *count_out)
{
    *rows_out = NULL;
    *count_out = 0;
    char claim[24], limit_text[16];
    snprintf(claim, sizeof claim, "%" PRId64, claim_ms);
    snprintf(limit_text, sizeof limit_text, "%d", limit);
    const char *parameters[] = {database->consumer_group, claimer, claim, limit_text};
    PGresult *result =
        run(database, "claim unpublished actions", PGRES_TUPLES_OK,
            "UPDATE reconciler_actuator_actions SET publish_claimed_by = $2, publish_claimed_until "
            "= now() + $3::bigint * interval '1 millisecond', publish_claimed_backend = "
            "pg_backend_pid() WHERE id IN (SELECT id FROM reconciler_actuator_actions AS action "
            "WHERE consumer_group = $1 AND published_at IS NULL AND (publish_claimed_until IS "
            "NULL OR publish_claimed_until < now() OR (publish_claimed_backend IS NOT NULL AND "
            "NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = "
            "action.publish_claimed_backend))) ORDER BY id LIMIT $4::integer FOR UPDATE SKIP "
            "LOCKED) RETURNING id, workspace_id, instance_id, "
            "verdict_topic, verdict_partition, verdict_offset, outcome, reason, "
            "(extract(epoch FROM acted_at) * 1000)::bigint, dry_run, sweep_id, "
            "(extract(epoch FROM verdict_checked_at) * 1000)::bigint, attempt, actuator_id",
            4, parameters);
    if (result == NULL) {
        return failure_status(database);
    }
    int count = PQntuples(result);
    if (count == 0) {
        PQclear(result);
        return ACTUATOR_STORE_OK;
    }
    actuator_store_action_row *rows = calloc((size_t)count, sizeof *rows);
    if (rows == NULL) {
        PQclear(result);
        remember_error(database, "claim unpublished actions", NULL, "out of memory");
        return ACTUATOR_STORE_ERROR_QUERY;
    }
    for (int i = 0; i < count; i++) {
        actuator_store_action_row *row = &rows[i];
        row->id = integer_value(result, i, 0);
        row->record.workspace_id = copy_value(result, i, 1);
        row->record.instance_id = copy_value(result, i, 2);
        row->record.verdict_topic = copy_value(result, i, 3);
        row->record.verdict_partition = (int32_t)integer_value(result, i, 4);
        row->record.verdict_offset = integer_value(result, i, 5);
        /* A symbol we do not know (written by a newer actuator) reads as the schema's
         * default, UNSPECIFIED, rather than stopping the outbox. */
        if (!action_outcome_parse(PQgetvalue(result, i, 6), &row->record.outcome)) {
            row->record.outcome = ACTION_OUTCOME_UNSPECIFIED;
        }
        row->record.reason = copy_value(result, i, 7);
        row->record.acted_at = integer_value(result, i, 8);
        row->record.dry_run = boolean_value(result, i, 9);
        row->record.sweep_id = copy_value(result, i, 10);
        row->record.verdict_checked_at = integer_value(result, i, 11);
        row->record.attempt = (int32_t)integer_value(result, i, 12);
        row->record.actuator_id = copy_value(result, i, 13);
        if (row->record.workspace_id == NULL || row->record.instance_id == NULL ||
            row->record.verdict_topic == NULL || row->record.sweep_id == NULL ||
            row->record.actuator_id == NULL) {
            PQclear(result);
            actuator_store_action_rows_free(rows, (size_t)count);
            remember_error(database, "claim unpublished actions", NULL, "out of memory");
            return ACTUATOR_STORE_ERROR_QUERY;
        }
    }
    PQclear(result);
    /* RETURNING does not promise an order; the topic gets them in id order. */
    qsort(rows, (size_t)count, sizeof *rows, compare_row_ids);
    *rows_out = rows;
    *count_out = (size_t)count;
    return ACTUATOR_STORE_OK;
}

/* "{1,2,3}": a bigint[] literal, so a batch is one statement with one parameter. */
static char *id_array_text(const int64_t *ids, size_t count)
{
    size_t size = 3 + count * 21;
    char *text = malloc(size);
    if (text == NULL) {
        return NULL;
    }
    size_t length = 0;
    text[length++] = '{';
    for (size_t i = 0; i < count; i++) {
        length +=
            (size_t)snprintf(text + length, size - length, "%s%" PRId64, i > 0 ? "," : "", ids[i]);
    }
    text[length++] = '}';
    text[length] = '\0';
    return text;
}

static actuator_store_status update_ids(actuator_store *database, const char *operation,
                                        const char *sql, const int64_t *ids, size_t count)
{
    if (count == 0) {
        return ACTUATOR_STORE_OK;
    }
    char *array = id_array_text(ids, count);
    if (array == NULL) {
        remember_error(database, operation, NULL, "out of memory");
        return ACTUATOR_STORE_ERROR_QUERY;
    }
    const char *parameters[] = {array};
    bool done = run_command(database, operation, sql, 1, parameters);
    free(array);
    return done ? ACTUATOR_STORE_OK : failure_status(database);
}

actuator_store_status actuator_store_mark_published(actuator_store *database, const int64_t *ids,
                                                    size_t count)
{
    return update_ids(database, "mark actions published",
                      "UPDATE reconciler_actuator_actions SET published_at = now(), "
                      "publish_claimed_until = NULL WHERE id = ANY($1::bigint[])",
                      ids, count);
}

actuator_store_status actuator_store_release_claims(actuator_store *database, const int64_t *ids,
                                                    size_t count)
{
    return update_ids(database, "release action claims",
                      "UPDATE reconciler_actuator_actions SET publish_claimed_until = NULL "
                      "WHERE id = ANY($1::bigint[]) AND published_at IS NULL",
                      ids, count);
}

/* ---- the pause switch --------------------------------------------------------------------- */

/* Copies a pause row (paused_by, reason, paused_at in ms) from columns first.. of result. */
static void pause_state_from(const PGresult *result, int first, actuator_store_pause_state *state)
{
    state->paused = true;
    snprintf(state->paused_by, sizeof state->paused_by, "%s", PQgetvalue(result, 0, first));
    snprintf(state->reason, sizeof state->reason, "%s", PQgetvalue(result, 0, first + 1));
    state->paused_at_ms = integer_value(result, 0, first + 2);
}

actuator_store_status actuator_store_set_pause(actuator_store *database, const char *paused_by,
                                               const char *reason,
                                               actuator_store_pause_state *state)
{
    memset(state, 0, sizeof *state);
    int64_t database_now_ms = 0;
    bool was_open = false;
    /* The breaker's lock first: it waits for every decision of the group that could act and
     * is still open (they hold it until COMMIT), and each later one reads the pause after
     * taking it, so once this commits no flip that ignored the pause can follow. */
    if (!begin(database) || !lock_breaker(database, &database_now_ms, &was_open)) {
        return abort_transaction(database);
    }
    const char *parameters[] = {database->consumer_group, paused_by, reason};
    PGresult *result =
        run(database, "set pause switch", PGRES_TUPLES_OK,
            "INSERT INTO reconciler_actuator_pause (consumer_group, paused_by, reason) VALUES "
            "($1, $2, $3) ON CONFLICT (consumer_group) DO UPDATE SET paused_by = "
            "EXCLUDED.paused_by, reason = EXCLUDED.reason, paused_at = now() RETURNING "
            "paused_by, reason, (extract(epoch FROM paused_at) * 1000)::bigint, (SELECT count(*) "
            "FROM reconciler_actuator_restarts WHERE consumer_group = $1 AND state = 'pending' "
            "AND claimed_until > now())",
            3, parameters);
    if (result == NULL) {
        return abort_transaction(database);
    }
    pause_state_from(result, 0, state);
    state->restarts_in_flight = integer_value(result, 0, 3);
    PQclear(result);
    if (!commit(database)) {
        return abort_transaction(database);
    }
    return ACTUATOR_STORE_OK;
}

/* One statement returning the group's pause row, or none: *state gets it (paused false if
 * none). */
static actuator_store_status pause_row(actuator_store *database, const char *operation,
                                       const char *sql, actuator_store_pause_state *state)
{
    memset(state, 0, sizeof *state);
    const char *parameters[] = {database->consumer_group};
    PGresult *result = run(database, operation, PGRES_TUPLES_OK, sql, 1, parameters);
    if (result == NULL) {
        return failure_status(database);
    }
    if (PQntuples(result) == 1) {
        pause_state_from(result, 0, state);
    }
    PQclear(result);
    return ACTUATOR_STORE_OK;
}

actuator_store_status actuator_store_clear_pause(actuator_store *database,
                                                 actuator_store_pause_state *state)
{
    return pause_row(database, "clear pause switch",
                     "DELETE FROM reconciler_actuator_pause WHERE consumer_group = $1 RETURNING "
                     "paused_by, reason, (extract(epoch FROM paused_at) * 1000)::bigint",
                     state);
}

actuator_store_status actuator_store_read_pause(actuator_store *database,
                                                actuator_store_pause_state *state)
{
    return pause_row(database, "read pause switch",
                     "SELECT paused_by, reason, (extract(epoch FROM paused_at) * 1000)::bigint "
                     "FROM reconciler_actuator_pause WHERE consumer_group = $1",
                     state);
}

/* ---- gauges and housekeeping ------------------------------------------------------------- */

actuator_store_status actuator_store_read_gauges(actuator_store *database,
                                                 int64_t *pending_restarts,
                                                 int64_t *unpublished_actions,
                                                 int64_t *failed_restarts,
                                                 int64_t *overdue_restart_ms)
{
    const char *parameters[] = {database->consumer_group};
    PGresult *result =
        run(database, "read gauges", PGRES_TUPLES_OK,
            "SELECT (SELECT count(*) FROM reconciler_actuator_restarts WHERE consumer_group = $1 "
            "AND state = 'pending'), (SELECT count(*) FROM reconciler_actuator_actions WHERE "
            "consumer_group = $1 AND published_at IS NULL), (SELECT count(*) FROM "
            "reconciler_actuator_restarts WHERE consumer_group = $1 AND state = 'failed'), "
            "(SELECT COALESCE(floor(extract(epoch FROM now() - min(next_attempt_at)) * 1000), 0)"
            "::bigint FROM reconciler_actuator_restarts WHERE consumer_group = $1 AND state = "
            "'pending' AND next_attempt_at <= now())",
            1, parameters);
    if (result == NULL) {
        return failure_status(database);
    }
    *pending_restarts = integer_value(result, 0, 0);
    *unpublished_actions = integer_value(result, 0, 1);
    *failed_restarts = integer_value(result, 0, 2);
    *overdue_restart_ms = integer_value(result, 0, 3);
    PQclear(result);
    return ACTUATOR_STORE_OK;
}

actuator_store_status actuator_store_prune(actuator_store *database, int64_t retention_ms,
                                           int64_t *deleted)
{
    *deleted = 0;
    char retention[24];
    snprintf(retention, sizeof retention, "%" PRId64, retention_ms);
    const char *parameters[] = {database->consumer_group, retention};
    static const struct {
        const char *operation;
        const char *sql;
    } statements[] = {
        {"prune decisions",
         "DELETE FROM reconciler_actuator_decisions WHERE consumer_group = $1 AND decided_at < "
         "now() - $2::bigint * interval '1 millisecond'"},
        /* 003's per-sweep breaker, no longer written since 005: drains what is left. */
        {"prune sweeps",
         "DELETE FROM reconciler_actuator_sweeps WHERE consumer_group = $1 AND last_seen_at < "
         "now() - $2::bigint * interval '1 millisecond'"},
        /* Retention is at least 1h, the breaker window at most 1h: never a row in use. */
        {"prune breaker window",
         "DELETE FROM reconciler_actuator_breaker_window WHERE consumer_group = $1 AND "
         "counted_at < now() - $2::bigint * interval '1 millisecond'"},
        {"prune published actions",
         "DELETE FROM reconciler_actuator_actions WHERE consumer_group = $1 AND published_at < "
         "now() - $2::bigint * interval '1 millisecond'"},
        /* Not the failed ones: each is a workspace left offline until an operator retries
         * it (or the retry's pre-check closes it), and must stay visible until then. */
        {"prune finished restarts",
         "DELETE FROM reconciler_actuator_restarts WHERE consumer_group = $1 AND state IN "
         "('accepted', 'skipped') AND updated_at < now() - $2::bigint * interval "
         "'1 millisecond'"},
    };
    for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++) {
        PGresult *result = run(database, statements[i].operation, PGRES_COMMAND_OK,
                               statements[i].sql, 2, parameters);
        if (result == NULL) {
            return failure_status(database);
        }
        *deleted += strtoll(PQcmdTuples(result), NULL, 10);
        PQclear(result);
    }
    return ACTUATOR_STORE_OK;
}
