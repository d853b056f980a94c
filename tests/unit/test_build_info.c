/* test_build_info.c — reconciler_build_info and the process_* series every program exports,
 * and the descriptor gauges being read at scrape time (the registry's collector). */
#include "build_info.h"
#include "metrics.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The value of the unlabelled series `name` in a rendered text, -1 when absent. */
static double series_value(const char *text, const char *name)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "\n%s ", name);
    const char *line = strstr(text, prefix);
    return line == NULL ? -1.0 : strtod(line + strlen(prefix), NULL);
}

START_TEST(test_build_info_series_carry_version_and_revision)
{
    metrics_registry *registry = metrics_registry_new();
    ck_assert(build_info_register(registry));
    char *text = metrics_render_to_string(registry);
    char expected[256];
    snprintf(expected, sizeof expected, "reconciler_build_info{version=\"%s\",revision=\"%s\"} 1",
             RECONCILER_VERSION, build_info_revision);
    ck_assert_msg(strstr(text, expected) != NULL, "no %s in\n%s", expected, text);
    ck_assert_double_gt(series_value(text, "process_start_time_seconds"), 1.6e9);
    struct rlimit limit;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &limit), 0);
    ck_assert_double_eq(series_value(text, "process_max_fds"), (double)limit.rlim_cur);
    free(text);
    metrics_registry_free(registry);
}
END_TEST

START_TEST(test_build_info_open_fds_is_read_at_each_scrape)
{
    metrics_registry *registry = metrics_registry_new();
    ck_assert(build_info_register(registry));
    char *before = metrics_render_to_string(registry);
    int extra[3];
    for (int i = 0; i < 3; i++) {
        extra[i] = open("/dev/null", O_RDONLY);
        ck_assert_int_ge(extra[i], 0);
    }
    char *after = metrics_render_to_string(registry);
    ck_assert_double_eq(series_value(after, "process_open_fds"),
                        series_value(before, "process_open_fds") + 3);
    ck_assert_int_eq(build_info_open_fds(), (long)series_value(after, "process_open_fds"));
    for (int i = 0; i < 3; i++) {
        close(extra[i]);
    }
    free(before);
    free(after);
    metrics_registry_free(registry);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("build_info");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_build_info_series_carry_version_and_revision);
    tcase_add_test(tc, test_build_info_open_fds_is_read_at_each_scrape);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
