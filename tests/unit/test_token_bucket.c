/* Unit tests of the token bucket: the rate limit of CP requests, and the group-wide flip and
 * restart rates restored from and stored back to a database row. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "token_bucket.h"

START_TEST(test_token_bucket_allows_burst_then_refuses)
{
    token_bucket bucket = token_bucket_make(1.0, 3.0, 1000);
    ck_assert(token_bucket_take(&bucket, 1000));
    ck_assert(token_bucket_take(&bucket, 1000));
    ck_assert(token_bucket_take(&bucket, 1000));
    ck_assert(!token_bucket_take(&bucket, 1000));
}
END_TEST

START_TEST(test_token_bucket_refills_at_rate)
{
    token_bucket bucket = token_bucket_make(2.0, 1.0, 0);
    ck_assert(token_bucket_take(&bucket, 0));
    ck_assert(!token_bucket_take(&bucket, 100));
    ck_assert_int_eq(token_bucket_wait_ms(&bucket, 100), 400);
    ck_assert(token_bucket_take(&bucket, 500));
    ck_assert(!token_bucket_take(&bucket, 500));
}
END_TEST

START_TEST(test_token_bucket_never_exceeds_burst_after_idle)
{
    token_bucket bucket = token_bucket_make(10.0, 2.0, 0);
    /* An hour idle still leaves only `burst` tokens. */
    int64_t later = 3600 * 1000;
    ck_assert(token_bucket_take(&bucket, later));
    ck_assert(token_bucket_take(&bucket, later));
    ck_assert(!token_bucket_take(&bucket, later));
}
END_TEST

START_TEST(test_token_bucket_zero_rate_is_unlimited)
{
    token_bucket bucket = token_bucket_make(0.0, 1.0, 0);
    for (int i = 0; i < 1000; i++)
        ck_assert(token_bucket_take(&bucket, 0));
    ck_assert_int_eq(token_bucket_wait_ms(&bucket, 0), 0);
}
END_TEST

START_TEST(test_token_bucket_backwards_clock_adds_nothing)
{
    token_bucket bucket = token_bucket_make(1.0, 1.0, 10000);
    ck_assert(token_bucket_take(&bucket, 10000));
    ck_assert(!token_bucket_take(&bucket, 5000));
    ck_assert(!token_bucket_take(&bucket, 10500));
    ck_assert(token_bucket_take(&bucket, 11000));
}
END_TEST

/* The group-wide buckets: a row read back, refilled, taken from and stored again. */
START_TEST(test_token_bucket_restore_table)
{
    static const struct {
        const char *name;
        double rate, burst, stored_tokens;
        int64_t stored_at_ms, now_ms;
        bool taken;
        int64_t wait_ms;     /* when not taken */
        double tokens_after; /* stored back after a take */
    } cases[] = {
        {"full row gives a token", 1.0, 1.0, 1.0, 0, 0, true, 0, 0.0},
        {"empty row refills at the rate", 1.0, 1.0, 0.0, 0, 1000, true, 0, 0.0},
        {"empty row, half a token: wait the rest", 1.0, 1.0, 0.0, 0, 500, false, 500, 0.0},
        {"60 per minute after 250 ms", 1.0, 1.0, 0.0, 1000, 1250, false, 750, 0.0},
        {"long idle refills to burst only", 1.0, 2.0, 0.0, 0, 3600000, true, 0, 1.0},
        {"stored above a lowered burst is clamped", 1.0, 1.0, 50.0, 0, 0, true, 0, 0.0},
        {"negative stored tokens count as empty", 1.0, 1.0, -3.0, 0, 0, false, 1000, 0.0},
        {"NaN stored tokens count as empty", 1.0, 1.0, NAN, 0, 0, false, 1000, 0.0},
        {"clock behind the row adds nothing", 1.0, 1.0, 0.0, 5000, 4000, false, 1000, 0.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        token_bucket bucket = token_bucket_restore(cases[i].rate, cases[i].burst,
                                                   cases[i].stored_tokens, cases[i].stored_at_ms);
        bool taken = token_bucket_take(&bucket, cases[i].now_ms);
        ck_assert_msg(taken == cases[i].taken, "%s", cases[i].name);
        if (taken) {
            ck_assert_msg(fabs(bucket.tokens - cases[i].tokens_after) < 1e-9, "%s: %f",
                          cases[i].name, bucket.tokens);
        } else {
            ck_assert_msg(token_bucket_wait_ms(&bucket, cases[i].now_ms) == cases[i].wait_ms,
                          "%s: %lld", cases[i].name,
                          (long long)token_bucket_wait_ms(&bucket, cases[i].now_ms));
        }
    }
}
END_TEST

/* N processes sharing one stored bucket take no more than burst + rate x elapsed together,
 * however they interleave (the row lock serialises them; here: one after another). */
START_TEST(test_token_bucket_shared_row_bounds_all_takers)
{
    double stored_tokens = 1.0;
    int64_t stored_at = 0;
    int taken = 0;
    for (int64_t now = 0; now <= 60000; now += 7) {
        for (int taker = 0; taker < 4; taker++) {
            token_bucket bucket = token_bucket_restore(1.0, 1.0, stored_tokens, stored_at);
            if (token_bucket_take(&bucket, now)) {
                taken++;
            }
            stored_tokens = bucket.tokens;
            stored_at = bucket.last_refill_ms;
        }
    }
    ck_assert_int_le(taken, 1 + 60);
    ck_assert_int_ge(taken, 60);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("token_bucket");
    TCase *cases = tcase_create("core");
    tcase_add_test(cases, test_token_bucket_allows_burst_then_refuses);
    tcase_add_test(cases, test_token_bucket_refills_at_rate);
    tcase_add_test(cases, test_token_bucket_never_exceeds_burst_after_idle);
    tcase_add_test(cases, test_token_bucket_zero_rate_is_unlimited);
    tcase_add_test(cases, test_token_bucket_backwards_clock_adds_nothing);
    tcase_add_test(cases, test_token_bucket_restore_table);
    tcase_add_test(cases, test_token_bucket_shared_row_bounds_all_takers);
    suite_add_tcase(suite, cases);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
