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

/* Whether a 2xx status (the only "accepted" answer, CONTRACTS §4). */
bool restart_status_accepted(long http_status);

/* Before each attempt: is the restart still wanted? ACTION_OUTCOME_UNSPECIFIED = yes, send it.
 * SKIPPED_ROW_MISSING when the workspace row is gone; SKIPPED_INSTANCE_CHANGED when the row
 * now points at another instance than the one we flipped away from — someone (the workspace
 * server after an earlier attempt whose answer we lost, or an operator) has already
 * reprovisioned it, and restarting again would take a healthy workspace down. */
action_outcome restart_precheck(bool row_found, const char *row_instance_id,
                                const char *flipped_instance_id);

/* RESTART_URL checks for start-up: an http:// or https:// URL containing "{id}". Returns
 * NULL when valid, else a sentence for the one-line configuration error. */
const char *restart_url_template_problem(const char *url_template);

/* The template with every "{id}" replaced by the percent-encoded workspace id: every byte
 * outside RFC 3986 unreserved characters, and '.', is encoded, so an id can neither add path
 * segments, a query or a host, nor be a dot-segment. malloc'd; NULL on allocation failure. */
char *restart_url_for(const char *url_template, const char *workspace_id);

#endif
