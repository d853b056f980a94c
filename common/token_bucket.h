/* token_bucket.h — a rate limit as a pure value: no clock read, no locking.
 *
 * Used for CHECKER_MAX_RPS (requests per second to the CP) and
 * ACTUATOR_MAX_RESTARTS_PER_MIN (restarts per minute). The caller passes the current
 * monotonic time in milliseconds; the bucket refills continuously at `rate_per_second`
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

/* Takes one token if available at now_ms: true = go ahead. */
bool token_bucket_take(token_bucket *bucket, int64_t now_ms);

/* Milliseconds from now_ms until one token is available (0 if one is available now). */
int64_t token_bucket_wait_ms(const token_bucket *bucket, int64_t now_ms);

#endif
