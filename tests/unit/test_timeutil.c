/* test_timeutil.c — duration syntax (docs/contracts.md §7), RFC 3339 timestamps and the clocks. */
#include "timeutil.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_timeutil_duration_accepts_every_unit_and_bare_seconds)
{
    static const struct {
        const char *text;
        int64_t ms;
    } cases[] = {
        {"500ms", 500}, {"10s", 10000}, {"5m", 300000}, {"1h", 3600000},  {"10", 10000},
        {"0", 0},       {"0ms", 0},     {"007s", 7000}, {"1500ms", 1500}, {"24h", 86400000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ms = -1;
        ck_assert_msg(time_parse_duration_ms(cases[i].text, &ms), "rejected '%s'", cases[i].text);
        ck_assert_int_eq(ms, cases[i].ms);
    }
}
END_TEST

START_TEST(test_timeutil_duration_rejects_garbage_signs_fractions_and_units)
{
    static const char *const rejected[] = {
        "",   "s",    "ms",  "-1s", "+1s", "1.5s", " 1s",  "1s ", "1 s",  "1S",
        "1d", "1sec", "1hh", "abc", "1e3", "0x10", "1m1s", ".5s", "1ms5",
    };
    for (size_t i = 0; i < sizeof rejected / sizeof rejected[0]; i++) {
        int64_t ms = 12345;
        ck_assert_msg(!time_parse_duration_ms(rejected[i], &ms), "accepted '%s'", rejected[i]);
        ck_assert_int_eq(ms, 12345); /* untouched on failure */
    }
    int64_t ms;
    ck_assert(!time_parse_duration_ms(NULL, &ms));
}
END_TEST

START_TEST(test_timeutil_duration_rejects_overflow)
{
    int64_t ms;
    ck_assert(time_parse_duration_ms("9223372036854775807ms", &ms));
    ck_assert_int_eq(ms, INT64_MAX);
    ck_assert(!time_parse_duration_ms("9223372036854775808ms", &ms));
    ck_assert(!time_parse_duration_ms("9223372036854775807s", &ms));
    ck_assert(!time_parse_duration_ms("2562047788015216h", &ms));
    ck_assert(!time_parse_duration_ms("99999999999999999999999", &ms));
}
END_TEST

START_TEST(test_timeutil_format_duration_uses_largest_exact_unit_and_round_trips)
{
    static const struct {
        int64_t ms;
        const char *text;
    } cases[] = {
        {0, "0s"},       {500, "500ms"},   {1500, "1500ms"}, {10000, "10s"}, {300000, "5m"},
        {3600000, "1h"}, {5400000, "90m"}, {90000, "90s"},   {-2000, "-2s"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[32];
        time_format_duration(cases[i].ms, text, sizeof text);
        ck_assert_str_eq(text, cases[i].text);
        int64_t parsed;
        if (cases[i].ms >= 0) {
            ck_assert(time_parse_duration_ms(text, &parsed));
            ck_assert_int_eq(parsed, cases[i].ms);
        }
    }
    char text[32];
    time_format_duration(INT64_MIN, text, sizeof text);
    ck_assert_str_eq(text, "-9223372036854775808ms");
}
END_TEST

START_TEST(test_timeutil_rfc3339_is_utc_with_milliseconds)
{
    char text[32];
    time_format_rfc3339_ms(0, text, sizeof text);
    ck_assert_str_eq(text, "1970-01-01T00:00:00.000Z");
    time_format_rfc3339_ms(1795804976123LL, text, sizeof text);
    ck_assert_str_eq(text, "2026-11-27T18:42:56.123Z");
    time_format_rfc3339_ms(-1, text, sizeof text);
    ck_assert_str_eq(text, "1969-12-31T23:59:59.999Z");
    /* 25 bytes are enough (the documented minimum). */
    char exact[25];
    time_format_rfc3339_ms(1795804976123LL, exact, sizeof exact);
    ck_assert_str_eq(exact, "2026-11-27T18:42:56.123Z");
}
END_TEST

START_TEST(test_timeutil_rfc3339_ignores_local_timezone)
{
    setenv("TZ", "Asia/Kolkata", 1);
    char text[32];
    time_format_rfc3339_ms(0, text, sizeof text);
    ck_assert_str_eq(text, "1970-01-01T00:00:00.000Z");
}
END_TEST

START_TEST(test_timeutil_clocks_are_sane)
{
    int64_t wall = time_now_wall_ms();
    ck_assert_int_gt(wall, 1700000000000LL); /* after 2023 */
    int64_t first = time_now_monotonic_ms();
    int64_t second = time_now_monotonic_ms();
    ck_assert_int_ge(second, first);
}
END_TEST

static Suite *timeutil_suite(void)
{
    Suite *suite = suite_create("timeutil");
    TCase *tcase = tcase_create("core");
    tcase_add_test(tcase, test_timeutil_duration_accepts_every_unit_and_bare_seconds);
    tcase_add_test(tcase, test_timeutil_duration_rejects_garbage_signs_fractions_and_units);
    tcase_add_test(tcase, test_timeutil_duration_rejects_overflow);
    tcase_add_test(tcase, test_timeutil_format_duration_uses_largest_exact_unit_and_round_trips);
    tcase_add_test(tcase, test_timeutil_rfc3339_is_utc_with_milliseconds);
    tcase_add_test(tcase, test_timeutil_rfc3339_ignores_local_timezone);
    tcase_add_test(tcase, test_timeutil_clocks_are_sane);
    suite_add_tcase(suite, tcase);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(timeutil_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
