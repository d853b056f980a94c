/* restart_policy.h — the pure rules of the restart outbox: when to retry, when to give up,
 * which URL to call, and whether a queued restart is still wanted.
 *
 * For: the decisions of restart_worker.c, as functions of their inputs (the random number
 * and the clock are passed in) so the unit tests can pin every case. Not for: claiming
 * outbox rows or sending HTTP (restart_worker.c, actuator_store.c). */
#ifndef RECONCILER_ACTUATOR_RESTART_POLICY_H
#define RECONCILER_ACTUATOR_RESTART_POLICY_H

#include "codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Upper bound of the wait after the n-th failed attempt (n >= 1): base * 2^(n-1), capped at
 * cap_ms, without overflow for any n. n < 1 is treated as 1. */
int64_t restart_backoff_ceiling_ms(int32_t failed_attempts, int64_t base_ms, int64_t cap_ms);

/* "Full jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter"): a uniformly random
 * wait in [0, ceiling). random_unit is a sample from [0, 1) (values outside are clamped).
 * Why full jitter: after a workspace-server outage every pending restart fails together;
 * spreading their retries over the whole window keeps them from returning as one wave. */
int64_t restart_backoff_ms(int32_t failed_attempts, int64_t base_ms, int64_t cap_ms,
                           double random_unit);

/* The outcome of an attempt: RESTART_ACCEPTED for a 2xx response, otherwise RESTART_RETRIED
 * while attempts_made < max_attempts and RESTART_FAILED once they are used up. */
action_outcome restart_attempt_outcome(bool got_response, long http_status, int32_t attempts_made,
                                       int32_t max_attempts);

/* Whether a 2xx status (the only "accepted" answer, docs/contracts.md §4). */
bool restart_status_accepted(long http_status);

/* ---- the pre-check: restart only what the flip left ----------------------------------- */

/* A queued restart is sent only while its workspaces row is exactly as the flip left it:
 * status 'offline' on the instance flipped away from. Anything else means somebody acted on
 * the workspace since (the user paused or removed it, the workspace server reprovisioned it
 * after an attempt whose answer we lost, an operator brought it back), and a restart now
 * would undo their decision or take a healthy workspace down. */

/* The row's status as the pre-check names it: the statuses of docs/contracts.md §2 (the
 * workspace_status enum), OTHER for any other text or NULL, NONE when there is no row. */
typedef enum {
    RESTART_STATUS_OFFLINE = 0,
    RESTART_STATUS_ONLINE,
    RESTART_STATUS_PAUSED,
    RESTART_STATUS_HIBERNATED,
    RESTART_STATUS_REMOVED,
    RESTART_STATUS_PROVISIONING,
    RESTART_STATUS_DEGRADED,
    RESTART_STATUS_FAILED,
    RESTART_STATUS_AWAITING_AGENT,
    RESTART_STATUS_OTHER,
    RESTART_STATUS_NONE,
    RESTART_STATUS_COUNT
} restart_status_class;

/* Exact, case-sensitive match of status::text ("paused" -> RESTART_STATUS_PAUSED); NULL and
 * anything unknown are RESTART_STATUS_OTHER. */
restart_status_class restart_status_classify(const char *status);
/* "offline", "online", ..., "awaiting_agent", "other", "none"; "invalid" outside the enum. */
const char *restart_status_class_name(restart_status_class status);

/* Why a queued restart is not sent. A closed set with stable snake_case names
 * (restart_precheck_reason_name) used in logs, the outbox row's last_error_name, the
 * metric label and the start of the Action's reason. First match wins, in this order: */
typedef enum {
    RESTART_PRECHECK_SEND = 0,         /* offline on the flipped instance: send it */
    RESTART_PRECHECK_ROW_MISSING,      /* the workspaces row is gone */
    RESTART_PRECHECK_INSTANCE_CHANGED, /* on another (non-empty) instance: reprovisioned */
    RESTART_PRECHECK_STATUS_CHANGED,   /* same or no instance, status no longer offline */
    RESTART_PRECHECK_INSTANCE_CLEARED, /* still offline, instance_id now NULL or '' */
    RESTART_PRECHECK_COUNT
} restart_precheck_reason;

/* "send", "row_missing", "instance_changed", "status_changed", "instance_cleared";
 * "invalid" outside the enum. */
const char *restart_precheck_reason_name(restart_precheck_reason reason);

/* The Action outcome that ends a restart skipped for `reason`: SKIPPED_ROW_MISSING,
 * SKIPPED_INSTANCE_CHANGED (another instance, or none any more), SKIPPED_STATUS_CHANGED;
 * ACTION_OUTCOME_UNSPECIFIED for RESTART_PRECHECK_SEND. */
action_outcome restart_precheck_outcome(restart_precheck_reason reason);

/* The workspaces row as read right before the attempt. */
typedef struct {
    bool found;
    const char *status;      /* status::text; NULL = SQL NULL */
    const char *instance_id; /* NULL = SQL NULL */
} restart_row_now;

typedef struct {
    restart_precheck_reason reason;
    restart_status_class status; /* the row's status class (NONE without a row) */
} restart_precheck_result;

/* Before each attempt: is the restart still wanted? Why this order: a row on another
 * instance was reprovisioned, whatever its status says now (the most telling reason); a
 * status change is the user's or an operator's decision and names it (paused, removed,
 * online...); an offline row that merely lost its instance is the last case. A NULL or empty
 * flipped_instance_id can match nothing and is never sent (INSTANCE_CHANGED). */
restart_precheck_result restart_precheck(const restart_row_now *row,
                                         const char *flipped_instance_id);

/* The Action's reason for a skip, e.g. "status_changed: restart not sent, the workspace is
 * paused now, not offline as the flip left it". No ids, no secrets. */
void restart_precheck_format(restart_precheck_result result, char *buffer, size_t size);

/* ---- the lease: no transaction spans the HTTP call ------------------------------------- */

/* A claim is a committed UPDATE that counts the attempt and leases the row to one actuator
 * until claimed_until; the result is recorded afterwards only if the lease was not taken
 * over (its generation unchanged). A peer takes a row only once the lease expired. */

/* Lease time beyond the request timeout: covers the claim's commit, the start of the call
 * and the recording of the result, each milliseconds when the database is healthy. */
#define RESTART_LEASE_MARGIN_MS 5000
/* Of the margin, what must still be left after the call could run its full timeout: the
 * time the result has to be recorded before a peer may take the row over. */
#define RESTART_LEASE_RECORD_RESERVE_MS 1000

/* The lease a claim takes: the request timeout plus RESTART_LEASE_MARGIN_MS. */
int64_t restart_lease_ms(int64_t request_timeout_ms);

/* Whether a call may start at now_ms under a lease that ends at lease_deadline_ms (both on
 * the claimer's monotonic clock; the deadline counted from before the claim was sent, so it
 * is never later than the database's): only if the call, run to its full timeout, ends
 * RESTART_LEASE_RECORD_RESERVE_MS before the lease does. Otherwise a peer could take the row
 * over while the call is in flight and send the restart a second time. */
bool restart_lease_allows_call(int64_t now_ms, int64_t lease_deadline_ms,
                               int64_t request_timeout_ms);

/* Why a claimed row was handed back without a call (the attempt is then not counted). */
typedef enum {
    RESTART_RELEASE_SHUTDOWN = 0,    /* the call was aborted at shutdown */
    RESTART_RELEASE_LEASE_TOO_SHORT, /* too little lease left for a full request timeout */
    RESTART_RELEASE_OUT_OF_MEMORY,   /* the URL could not be built */
    RESTART_RELEASE_COUNT
} restart_release_reason;

/* "shutdown", "lease_too_short", "out_of_memory"; "invalid" outside the enum. */
const char *restart_release_reason_name(restart_release_reason reason);

/* The claim counts attempt number `attempt` (1-based) before any call. Beyond max_attempts
 * means the attempts were used up already (an earlier claimer's last attempt never reported
 * because it died mid-call or lost its lease, or they were made under a higher limit): no
 * further call, the restart ends RESTART_FAILED for an operator to retry. */
bool restart_attempts_exhausted(int32_t attempt, int32_t max_attempts);

/* ---- the operator's retry: reconciler-actuator --retry-failed-restarts[=WORKSPACE_ID] ---- */

#define RESTART_RETRY_FLAG "--retry-failed-restarts"

typedef enum {
    RESTART_RETRY_ABSENT = 0, /* not this flag */
    RESTART_RETRY_ALL,        /* --retry-failed-restarts: every failed restart of the group */
    RESTART_RETRY_ONE,        /* --retry-failed-restarts=<uuid>: that workspace's */
    RESTART_RETRY_INVALID,    /* the flag with an empty value or a value that is not a uuid */
} restart_retry_request;

/* Reads one command-line argument. For RESTART_RETRY_ONE, *workspace_id points into arg. */
restart_retry_request restart_retry_parse_argument(const char *arg, const char **workspace_id);

/* RESTART_URL checks for start-up: an http:// or https:// URL containing "{id}". Returns
 * NULL when valid, else a sentence for the one-line configuration error. */
const char *restart_url_template_problem(const char *url_template);

/* The template with every "{id}" replaced by the percent-encoded workspace id: every byte
 * outside RFC 3986 unreserved characters, and '.', is encoded, so an id can neither add path
 * segments, a query or a host, nor be a dot-segment. malloc'd; NULL on allocation failure. */
char *restart_url_for(const char *url_template, const char *workspace_id);

#endif
