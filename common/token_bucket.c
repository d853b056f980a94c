/* token_bucket.c — see token_bucket.h. Pure arithmetic on the value passed in. */
#include "token_bucket.h"

#include <math.h>

token_bucket token_bucket_make(double rate_per_second, double burst, int64_t now_ms)
{
    token_bucket bucket;
    bucket.rate_per_second = rate_per_second > 0 ? rate_per_second : 0;
    bucket.burst = burst >= 1 ? burst : 1;
    bucket.tokens = bucket.burst;
    bucket.last_refill_ms = now_ms;
    return bucket;
}

token_bucket token_bucket_restore(double rate_per_second, double burst, double tokens,
                                  int64_t last_refill_ms)
{
    token_bucket bucket = token_bucket_make(rate_per_second, burst, last_refill_ms);
    /* !(tokens >= 0) also catches NaN. */
    bucket.tokens = !(tokens >= 0) ? 0 : tokens < bucket.burst ? tokens : bucket.burst;
    return bucket;
}

static double refilled_tokens(const token_bucket *bucket, int64_t now_ms)
{
    /* A clock that seems to go backwards (a caller mixing clocks) adds nothing rather than
     * draining the bucket. */
    int64_t elapsed_ms = now_ms > bucket->last_refill_ms ? now_ms - bucket->last_refill_ms : 0;
    double tokens = bucket->tokens + (double)elapsed_ms * bucket->rate_per_second / 1000.0;
    return tokens < bucket->burst ? tokens : bucket->burst;
}

bool token_bucket_take(token_bucket *bucket, int64_t now_ms)
{
    if (bucket->rate_per_second == 0)
        return true;
    bucket->tokens = refilled_tokens(bucket, now_ms);
    if (now_ms > bucket->last_refill_ms)
        bucket->last_refill_ms = now_ms;
    if (bucket->tokens < 1.0)
        return false;
    bucket->tokens -= 1.0;
    return true;
}

int64_t token_bucket_wait_ms(const token_bucket *bucket, int64_t now_ms)
{
    if (bucket->rate_per_second == 0)
        return 0;
    double tokens = refilled_tokens(bucket, now_ms);
    if (tokens >= 1.0)
        return 0;
    return (int64_t)ceil((1.0 - tokens) * 1000.0 / bucket->rate_per_second);
}
