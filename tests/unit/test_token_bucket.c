/* Unit tests of the token bucket: the rate limit of CP requests and restarts. */
#include <check.h>
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

int main(void)
{
    Suite *suite = suite_create("token_bucket");
    TCase *cases = tcase_create("core");
    tcase_add_test(cases, test_token_bucket_allows_burst_then_refuses);
    tcase_add_test(cases, test_token_bucket_refills_at_rate);
    tcase_add_test(cases, test_token_bucket_never_exceeds_burst_after_idle);
    tcase_add_test(cases, test_token_bucket_zero_rate_is_unlimited);
    tcase_add_test(cases, test_token_bucket_backwards_clock_adds_nothing);
    suite_add_tcase(suite, cases);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
