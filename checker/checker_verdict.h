/* checker_verdict.h — what the checker decides about one CheckRequest, apart from I/O.
 *
 * For: the deadline rule (a request taken after its deadline is not sent to the CP) and
 * the assembly of the Verdict record from the request, the classification and the timing.
 * Not for: classification itself (cp_classify.h) or producing to Kafka (checker_engine.c).
 * Pure: the caller passes the clock readings in. */
#ifndef RECONCILER_CHECKER_VERDICT_H
#define RECONCILER_CHECKER_VERDICT_H

#include "codec.h"
#include "cp_classify.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when the request must not be sent: its deadline (ms since the epoch) has been reached
 * at now_wall_ms. A deadline of 0 or below counts as expired: a request without one was not
 * written by our producer, and asking the CP about it could stampede it after a backlog. */
bool checker_request_expired(int64_t deadline_ms, int64_t now_wall_ms);

/* The secrets a verdict must never carry (CP_SHARED_SECRET, CP_ADMIN_TOKEN; NULL or "" =
 * unset). */
typedef struct {
    const char *values[2];
} checker_secrets;

/* True when `state` may be echoed into a verdict: it contains no configured secret, and
 * (when 8 characters or longer) is not a piece of one — a CP that echoes our Authorization
 * header back into "state" must not publish it to Kafka. */
bool checker_state_is_publishable(const char *state, const checker_secrets *secrets);

/* Fills `out` (zeroed first) for `request` and the classification of the CP's answer.
 * http_status 0 means there was no response (the field is null). The strings of `out` point
 * into `request`, `classification` and `checker_id`, which must outlive it; do not call
 * verdict_free on it. */
void checker_verdict_make(verdict *out, const check_request *request,
                          const cp_classification *classification, long http_status,
                          int64_t checked_at_ms, int64_t latency_ms, const char *checker_id,
                          const checker_secrets *secrets);

#endif
