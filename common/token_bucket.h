/* token_bucket.h — a rate limit as a pure value: no clock read, no locking.
 *
 * Used for CHECKER_MAX_RPS (requests per second to the CP, per process) and the actuator's
 * group-wide ACTUATOR_MAX_FLIPS_PER_MIN and ACTUATOR_MAX_RESTARTS_PER_MIN, whose bucket is a
 * PostgreSQL row every actuator of the group reads and writes under a row lock
 * (token_bucket_restore, then take, then store tokens and last_refill_ms back). The caller passes
 * the current monotonic time in milliseconds; the bucket refills continuously at `rate_per_second`
 * up to `burst` tokens. A rate of 0 means "unlimited". */
#ifndef RECONCILER_TOKEN_BUCKET_H
#define RECONCILER_TOKEN_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    double rate_per_second; /* 0 = unlimited */
    double burst;           /* capacity; at least 1 */
    double tokens;
    int64_t last_refill_ms;
} token_bucket;

/* A full bucket at `now_ms`. burst below 1 is raised to 1 so a positive rate can act. */
token_bucket token_bucket_make(double rate_per_second, double burst, int64_t now_ms);

/* A bucket kept elsewhere (a database row shared by several processes) holding `tokens` as of
 * last_refill_ms, with the caller's rate and burst. Tokens outside [0, burst] (the burst was
 * lowered since, or the value is not a number) are clamped, so a stored value can never grant
 * more than a full bucket. */
token_bucket token_bucket_restore(double rate_per_second, double burst, double tokens,
                                  int64_t last_refill_ms);

/* Takes one token if available at now_ms: true = go ahead. */
bool token_bucket_take(token_bucket *bucket, int64_t now_ms);

/* Milliseconds from now_ms until one token is available (0 if one is available now). */
int64_t token_bucket_wait_ms(const token_bucket *bucket, int64_t now_ms);

#endif
