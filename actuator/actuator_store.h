/* actuator_store.h — the actuator's PostgreSQL edge: the decision transaction, the restart outbox,
 * the action outbox, gauges and pruning (tables in migrations/003_actuator.sql).
 *
 * For: every SQL statement the actuator runs, each with parameters, each result checked, each
 * failure named by the operation that failed. Not for: deciding anything (actuator_decide.c,
 * restart_policy.c are called from here with the facts read) or retry policy (the callers
 * decide when to retry and reconnect).
 *
 * One store per thread: a store wraps one libpq connection and is not thread-safe. Every
 * function that runs a transaction leaves the connection outside a transaction when it
 * returns, so no transaction is ever open while the caller waits for anything else (an HTTP
 * call above all). */
#ifndef RECONCILER_ACTUATOR_STORE_H
#define RECONCILER_ACTUATOR_STORE_H

#include "codec.h"
#include "config.h"
#include "actuator_decide.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct actuator_store actuator_store;

typedef enum {
    ACTUATOR_STORE_OK = 0,
    ACTUATOR_STORE_ERROR_CONNECTION, /* no usable connection (down, lost mid-transaction) */
    ACTUATOR_STORE_ERROR_QUERY, /* the server rejected a statement (timeout, constraint, ...) */
} actuator_store_status;

/* Stable names for logs and metric labels: "ok", "connection", "query". */
const char *actuator_store_status_name(actuator_store_status status);

/* A store for `consumer_group` (every row it reads or writes is scoped by it). Does not
 * connect yet: actuator_store_connect does. NULL on allocation failure. */
actuator_store *actuator_store_new(const char *database_url, const char *consumer_group,
                                   int64_t call_timeout_ms);
void actuator_store_free(actuator_store *database);

/* (Re)connects when the connection is absent or broken; cheap when it is fine. Sets a
 * statement timeout so a wedged database fails a statement instead of the whole process. */
actuator_store_status actuator_store_connect(actuator_store *database);
bool actuator_store_connected(const actuator_store *database);

/* The last failure: the operation ("lock workspace row"), SQLSTATE when the server sent one,
 * and the first line of libpq's message, which never holds the password (libpq does not
 * echo it). */
const char *actuator_store_last_error(const actuator_store *database);
const char *actuator_store_last_operation(const actuator_store *database);

/* ---- the decision transaction ----------------------------------------------------------- */

typedef struct {
    const verdict *record; /* a NOT_RUNNING verdict that passed actuator_verdict_invalid_reason */
    const char *topic;
    int32_t partition;
    int64_t offset;
    config_threshold max_unhealthy;
    int64_t breaker_window_ms;    /* ACTUATOR_BREAKER_WINDOW */
    int64_t max_flips_per_minute; /* ACTUATOR_MAX_FLIPS_PER_MIN, the group's flip bucket */
    actuator_policy policy;
    int64_t now_ms; /* wall clock, for freshness and acted_at */
    const char *actuator_id;
    /* The CP's answer about the verdict's instance, asked after actuator_store_peek_verdict
     * and before this transaction (NOT_ASKED when it was not needed). */
    actuator_cp_confirmation cp_confirmation;
} actuator_store_decision_input;

typedef struct {
    bool duplicate; /* the verdict was decided before: nothing was changed */
    /* The verdict would flip but the group's flip bucket is empty: nothing was changed or
     * recorded (the transaction was rolled back); decide it again in retry_in_ms. */
    bool rate_limited;
    int64_t retry_in_ms;
    actuator_decision decision; /* what was done (after the compare-and-swap) */
    actuator_breaker_facts breaker;
    bool breaker_counted; /* the verdict counts in the breaker window (actuator_breaker_counts) */
    bool breaker_open;    /* the group's breaker held this verdict back (for the gauge) */
    bool breaker_tripped; /* ... and had been closed: this verdict opened it */
    bool breaker_closed;  /* the breaker had been open and this verdict may act again */
    char reason[ACTUATOR_REASON_SIZE]; /* the Action's reason */
    bool pause_read;                   /* the switch was read (actuator_gather's read_pause) ... */
    bool paused;                       /* ... and was set (guard 7): for the gauge */
} actuator_store_decision_result;

/* What the decision will find, read before it without a lock and without a transaction (one
 * autocommit statement), so that the caller can ask the CP with nothing held open: whether
 * the verdict was decided before (a redelivery needs no CP call), and the workspaces row as
 * it is now. The row's strings belong to *peek until actuator_store_peek_free. */
typedef struct {
    bool decided;
    bool paused; /* the group's pause switch is set: a paused decision asks the CP nothing */
    actuator_row_facts row;
    char *status_;
    char *instance_id_;
    char *runtime_;
} actuator_store_peek;

actuator_store_status actuator_store_peek_verdict(actuator_store *database,
                                                  const actuator_store_decision_input *input,
                                                  actuator_store_peek *peek);
void actuator_store_peek_free(actuator_store_peek *peek);

/* In one transaction: record the idempotency key (a duplicate stops here), gather the facts
 * actuator_gather names (the group's breaker, locked, and its window; the workspaces row,
 * locked), decide everything in one pure call, actuator_plan_verdict() (with the CP's
 * confirmation the caller got before the transaction), on a flip a token of the group's
 * flip bucket (none: roll back, rate_limited) then the conditional UPDATE plus the restart
 * outbox row, the window entry, the Action row; COMMIT. On any failure the
 * transaction is rolled back (or died with the connection) and nothing of it is visible;
 * the caller keeps the verdict and retries it. */
actuator_store_status actuator_store_decide_verdict(actuator_store *database,
                                                    const actuator_store_decision_input *input,
                                                    actuator_store_decision_result *result);

/* ---- the group's rate limits -------------------------------------------------------------- */

/* The group-wide token buckets (reconciler_actuator_rate_limits, migration 005). */
typedef enum {
    ACTUATOR_RATE_FLIP,    /* ACTUATOR_MAX_FLIPS_PER_MIN, taken in the decision transaction */
    ACTUATOR_RATE_RESTART, /* ACTUATOR_MAX_RESTARTS_PER_MIN, taken before a restart claim */
} actuator_rate_kind;

/* "flip", "restart": the kind column and log field. */
const char *actuator_rate_kind_name(actuator_rate_kind kind);

/* Takes one token of the group's `kind` bucket (per_minute, burst 1) in a transaction of its
 * own. *wait_ms 0 when taken, else how long until a token is due (none was taken). */
actuator_store_status actuator_store_take_token(actuator_store *database, actuator_rate_kind kind,
                                                int64_t per_minute, int64_t *wait_ms);

/* ---- the restart outbox ------------------------------------------------------------------ */

/* No transaction of the restart outbox spans an HTTP call: a claim is one committed
 * statement that leases the row, the call runs outside any transaction, and the result is
 * recorded in a second short transaction only if the lease was not taken over meanwhile
 * (migrations/006_restart_lease.sql). */

typedef struct {
    int64_t id;
    char *workspace_id;
    char *instance_id; /* the instance flipped away from */
    char *verdict_topic;
    int32_t verdict_partition;
    int64_t verdict_offset;
    char *sweep_id;
    int64_t verdict_checked_at_ms;
    int32_t attempt;          /* the attempt this claim counted (1-based), before any call */
    int64_t claim_generation; /* the lease's fencing token: changes with every claim */
    bool row_found;
    char *row_status;      /* the workspaces row's status::text now; NULL = SQL NULL */
    char *row_instance_id; /* the workspaces row's instance_id now; NULL = SQL NULL */
} actuator_store_restart_job;

void actuator_store_restart_job_free(actuator_store_restart_job *job);

/* In one statement (its own committed transaction): takes the oldest due pending restart of
 * the group (FOR UPDATE SKIP LOCKED, so concurrent claimers never take the same row), counts
 * the attempt, leases it to `claimer` for lease_ms (claimed_until, and next_attempt_at, so
 * the row is due again for anyone exactly when the lease expires), bumps claim_generation,
 * and reads the workspaces row's status and instance_id for the pre-check. A row whose lease
 * has not expired is not due, and none is while the group is paused (reconciler_actuator_pause,
 * checked in the claim's own statement). *claimed false when none is due. */
actuator_store_status actuator_store_restart_claim(actuator_store *database, const char *claimer,
                                                   int64_t lease_ms,
                                                   actuator_store_restart_job *job, bool *claimed);

typedef struct {
    action_outcome outcome;  /* RESTART_ACCEPTED/RETRIED/FAILED or SKIPPED_* (pre-check) */
    int32_t attempts_made;   /* attempts counted on the row after this (a skip gives its back) */
    int64_t retry_delay_ms;  /* for RESTART_RETRIED */
    const char *error_name;  /* http_client_error name, "http_status", a pre-check reason, ... */
    long http_status;        /* 0 = none */
    const char *skip_status; /* the row's status class when the pre-check skipped, else NULL */
    const char *reason;      /* the Action's reason */
    int64_t now_ms;
    const char *actuator_id;
} actuator_store_restart_result;

/* In one transaction: records the result on the claimed row and its Action row, COMMIT —
 * only while the lease is still this claim's (state pending, claim_generation unchanged: no
 * peer took it over after it expired). *recorded false (and OK, nothing written) otherwise.
 * On a failure nothing is written and the caller may call it again with the same job: the
 * condition makes a repeat after an ambiguous COMMIT harmless. */
actuator_store_status actuator_store_restart_record(actuator_store *database,
                                                    const actuator_store_restart_job *job,
                                                    const actuator_store_restart_result *result,
                                                    bool *recorded);

/* Hands a claimed row back without a call (shutdown mid-call, or a lease too short to start
 * one): the attempt is not counted, the lease ends and the row is due at once. Under the
 * same condition as recording; a failure is harmless (the lease expires instead, and the
 * attempt stays counted). */
actuator_store_status actuator_store_restart_release(actuator_store *database,
                                                     const actuator_store_restart_job *job);

/* Milliseconds until the group's next pending restart is due (0 = now; a leased row is due
 * when its lease expires); *any false when none is pending or the group is paused (the
 * worker then polls idly, and picks up again within a poll of --resume). */
actuator_store_status actuator_store_restart_next_due(actuator_store *database, bool *any,
                                                      int64_t *wait_ms);

/* The operator's retry (reconciler-actuator --retry-failed-restarts): in one statement, sets
 * the group's failed restarts (only workspace_id's when it is not NULL; a uuid) back to
 * pending, due now, attempts reset to 0, and writes a RESTART_RETRIED Action (attempt 0,
 * reason "operator_retry: ...") for each. *count gets how many. */
actuator_store_status actuator_store_restart_retry_failed(actuator_store *database,
                                                          const char *workspace_id,
                                                          const char *actuator_id, int64_t now_ms,
                                                          int64_t *count);

/* ---- the action outbox -------------------------------------------------------------------- */

typedef struct {
    int64_t id;
    action record; /* owns its strings */
} actuator_store_action_row;

/* Claims up to `limit` unpublished Action rows of the group for claim_ms (rows claimed by a
 * live publisher are skipped; an expired claim is taken over) and returns them in id order. */
actuator_store_status actuator_store_claim_unpublished(actuator_store *database,
                                                       const char *claimer, int64_t claim_ms,
                                                       int limit, actuator_store_action_row **rows,
                                                       size_t *count);
void actuator_store_action_rows_free(actuator_store_action_row *rows, size_t count);

/* Marks rows published (their delivery reports arrived). */
actuator_store_status actuator_store_mark_published(actuator_store *database, const int64_t *ids,
                                                    size_t count);
/* Ends claims early (delivery failed) so the rows are sent again at once. */
actuator_store_status actuator_store_release_claims(actuator_store *database, const int64_t *ids,
                                                    size_t count);

/* ---- gauges and housekeeping ------------------------------------------------------------- */

/* overdue_restart_ms: how long the group's most overdue pending restart has been due without
 * anyone claiming it (0 when none is): grows only when no live actuator of the group sends
 * restarts (all in dry run, none running, or the workers stuck). */
actuator_store_status actuator_store_read_gauges(actuator_store *database,
                                                 int64_t *pending_restarts,
                                                 int64_t *unpublished_actions,
                                                 int64_t *failed_restarts,
                                                 int64_t *overdue_restart_ms);

/* ---- the pause switch (reconciler_actuator_pause, migrations/007_actuator_pause.sql) ------ */

typedef struct {
    bool paused;
    char paused_by[128];
    char reason[256];
    int64_t paused_at_ms;
    /* Set by actuator_store_set_pause: restarts claimed before the pause whose lease has not
     * ended; their calls may still be in flight and finish (at most one per actuator). */
    int64_t restarts_in_flight;
} actuator_store_pause_state;

/* Pauses the group: in one transaction takes the group's breaker lock (which every decision
 * that could act holds while it decides), so that when this returns no decision that read the
 * switch unset is still open, then inserts or replaces the pause row. *state gets the row as
 * stored. A second pause replaces who and why and keeps nothing else. */
actuator_store_status actuator_store_set_pause(actuator_store *database, const char *paused_by,
                                               const char *reason,
                                               actuator_store_pause_state *state);

/* Resumes the group: deletes the pause row. *state gets the row as it was (paused false: the
 * group was not paused, nothing changed). */
actuator_store_status actuator_store_clear_pause(actuator_store *database,
                                                 actuator_store_pause_state *state);

/* Reads the group's pause switch (for the gauge and the command's output). */
actuator_store_status actuator_store_read_pause(actuator_store *database,
                                                actuator_store_pause_state *state);

/* Deletes the group's bookkeeping older than retention: decisions, sweeps (with members),
 * published actions, accepted and skipped restarts. Pending and failed restarts (a failed one
 * waits for an operator's retry) and unpublished actions are never deleted. *deleted gets the
 * number of rows removed. */
actuator_store_status actuator_store_prune(actuator_store *database, int64_t retention_ms,
                                           int64_t *deleted);

#endif
