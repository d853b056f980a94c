/* Unit tests of reconciler-producer's metrics (producer/producer_metrics.c): every series is
 * exported from start-up (so alerts see 0, not "absent"), and each named sweep error counts
 * under the result label operators alert on. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "producer_metrics.h"

START_TEST(test_producer_metrics_every_series_exported_from_start)
{
    metrics_registry *registry = metrics_registry_new();
    producer_metrics metrics;
    ck_assert(producer_metrics_register(&metrics, registry));
    char *text = metrics_render_to_string(registry);
    ck_assert_ptr_nonnull(text);
    static const char *const lines[] = {
        "reconciler_producer_sweeps_total{result=\"ok\"} 0",
        "reconciler_producer_sweeps_total{result=\"database_error\"} 0",
        "reconciler_producer_sweeps_total{result=\"kafka_error\"} 0",
        "reconciler_producer_sweeps_total{result=\"interrupted\"} 0",
        "reconciler_producer_lock_attempts_total{result=\"held\"} 0",
        "reconciler_producer_lock_attempts_total{result=\"busy\"} 0",
        "reconciler_producer_lock_attempts_total{result=\"unavailable\"} 0",
        "reconciler_producer_rows_enqueued_total 0",
        "reconciler_producer_rows_skipped_total 0",
        "reconciler_producer_sweep_duration_seconds_count 0",
        "reconciler_producer_last_success_timestamp_seconds 0",
        "reconciler_producer_sweep_size 0",
        "reconciler_producer_in_scope_rows 0",
        "reconciler_producer_active 0",
        "reconciler_producer_lock_losses_total 0",
        "reconciler_producer_sweep_overruns_total 0",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        ck_assert_msg(strstr(text, lines[i]) != NULL, "missing: %s", lines[i]);
    }
    free(text);
    metrics_registry_free(registry);
}
END_TEST

START_TEST(test_producer_metrics_sweep_results_count_under_their_label)
{
    static const struct {
        sweep_result result;
        const char *line;
    } cases[] = {
        {SWEEP_OK, "reconciler_producer_sweeps_total{result=\"ok\"} 1"},
        {SWEEP_ERROR_DATABASE_UNAVAILABLE,
         "reconciler_producer_sweeps_total{result=\"database_error\"} 1"},
        {SWEEP_ERROR_DATABASE_QUERY,
         "reconciler_producer_sweeps_total{result=\"database_error\"} 2"},
        {SWEEP_ERROR_KAFKA_PRODUCE, "reconciler_producer_sweeps_total{result=\"kafka_error\"} 1"},
        {SWEEP_ERROR_KAFKA_DELIVERY, "reconciler_producer_sweeps_total{result=\"kafka_error\"} 2"},
        {SWEEP_ERROR_KAFKA_FLUSH_TIMEOUT,
         "reconciler_producer_sweeps_total{result=\"kafka_error\"} 3"},
        {SWEEP_INTERRUPTED, "reconciler_producer_sweeps_total{result=\"interrupted\"} 1"},
    };
    metrics_registry *registry = metrics_registry_new();
    producer_metrics metrics;
    ck_assert(producer_metrics_register(&metrics, registry));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        metrics_counter_add(producer_metrics_sweep_counter(&metrics, cases[i].result), 1);
        char *text = metrics_render_to_string(registry);
        ck_assert_ptr_nonnull(text);
        ck_assert_msg(strstr(text, cases[i].line) != NULL, "missing: %s", cases[i].line);
        free(text);
    }
    metrics_registry_free(registry);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("producer_metrics");
    TCase *cases = tcase_create("metrics");
    tcase_add_test(cases, test_producer_metrics_every_series_exported_from_start);
    tcase_add_test(cases, test_producer_metrics_sweep_results_count_under_their_label);
    suite_add_tcase(suite, cases);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
