/* test_metrics.c — the registry's text format and the /metrics, /healthz, /readyz server.
 *
 * Rendering is compared line by line with the Prometheus text format 0.0.4; the server is
 * started on 127.0.0.1:0 and asked over real HTTP with libcurl. */
#include "metrics.h"

#include <check.h>
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static metrics_registry *registry;

static void setup(void)
{
    registry = metrics_registry_new();
    ck_assert_ptr_nonnull(registry);
}

static void teardown(void)
{
    metrics_registry_free(registry);
    registry = NULL;
}

static char *render(void)
{
    char *text = metrics_render_to_string(registry);
    ck_assert_ptr_nonnull(text);
    return text;
}

static void assert_contains(const char *text, const char *expected)
{
    ck_assert_msg(strstr(text, expected) != NULL, "expected\n%s\nin\n%s", expected, text);
}

START_TEST(test_metrics_counter_renders_help_type_and_labelled_value)
{
    metrics_counter *counter = metrics_counter_get(
        registry, "reconciler_checker_verdicts_total", "Verdicts emitted, by liveness", 1,
        (const char *[]){"liveness"}, (const char *[]){"NOT_RUNNING"});
    ck_assert_ptr_nonnull(counter);
    metrics_counter_add(counter, 3);
    metrics_counter_add(counter, 4);
    ck_assert_uint_eq(metrics_counter_value(counter), 7);
    metrics_counter *plain =
        metrics_counter_get(registry, "reconciler_sweeps_total", "Sweeps run", 0, NULL, NULL);
    metrics_counter_add(plain, 1);

    char *text = render();
    assert_contains(text, "# HELP reconciler_checker_verdicts_total Verdicts emitted, by liveness\n"
                          "# TYPE reconciler_checker_verdicts_total counter\n"
                          "reconciler_checker_verdicts_total{liveness=\"NOT_RUNNING\"} 7\n");
    assert_contains(text, "# HELP reconciler_sweeps_total Sweeps run\n"
                          "# TYPE reconciler_sweeps_total counter\n"
                          "reconciler_sweeps_total 1\n");
    free(text);
}
END_TEST

START_TEST(test_metrics_same_labels_return_same_series_and_new_labels_a_new_one)
{
    const char *names[] = {"liveness", "reason"};
    metrics_counter *first = metrics_counter_get(registry, "x_total", "h", 2, names,
                                                 (const char *[]){"UNKNOWN", "timeout"});
    metrics_counter *again = metrics_counter_get(registry, "x_total", "h", 2, names,
                                                 (const char *[]){"UNKNOWN", "timeout"});
    metrics_counter *other = metrics_counter_get(registry, "x_total", "h", 2, names,
                                                 (const char *[]){"UNKNOWN", "dns_failed"});
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_eq(first, again);
    ck_assert_ptr_ne(first, other);
    metrics_counter_add(first, 2);
    metrics_counter_add(other, 5);

    char *text = render();
    /* One HELP/TYPE block for the family, its series in creation order. */
    assert_contains(text, "# TYPE x_total counter\n"
                          "x_total{liveness=\"UNKNOWN\",reason=\"timeout\"} 2\n"
                          "x_total{liveness=\"UNKNOWN\",reason=\"dns_failed\"} 5\n");
    const char *type_line = strstr(text, "# TYPE x_total");
    ck_assert_ptr_null(strstr(type_line + 1, "# TYPE x_total"));
    free(text);
}
END_TEST

START_TEST(test_metrics_name_reused_with_other_type_or_labels_is_refused)
{
    ck_assert_ptr_nonnull(
        metrics_counter_get(registry, "dup", "h", 1, (const char *[]){"a"}, (const char *[]){"1"}));
    ck_assert_ptr_null(
        metrics_gauge_get(registry, "dup", "h", 1, (const char *[]){"a"}, (const char *[]){"1"}));
    ck_assert_ptr_null(
        metrics_counter_get(registry, "dup", "h", 1, (const char *[]){"b"}, (const char *[]){"1"}));
    ck_assert_ptr_null(metrics_counter_get(registry, "dup", "h", 0, NULL, NULL));
    const double bounds[] = {1, 2};
    const double other_bounds[] = {1, 3};
    ck_assert_ptr_nonnull(
        metrics_histogram_get(registry, "h_seconds", "h", bounds, 2, 0, NULL, NULL));
    ck_assert_ptr_null(
        metrics_histogram_get(registry, "h_seconds", "h", other_bounds, 2, 0, NULL, NULL));
}
END_TEST

START_TEST(test_metrics_invalid_names_labels_and_bounds_are_refused)
{
    ck_assert_ptr_null(metrics_counter_get(registry, "bad-name", "h", 0, NULL, NULL));
    ck_assert_ptr_null(metrics_counter_get(registry, "1starts_with_digit", "h", 0, NULL, NULL));
    ck_assert_ptr_null(metrics_counter_get(registry, "", "h", 0, NULL, NULL));
    ck_assert_ptr_null(metrics_counter_get(registry, "ok", "h", 1, (const char *[]){"bad-label"},
                                           (const char *[]){"v"}));
    ck_assert_ptr_null(metrics_counter_get(registry, "ok", "h", 1, (const char *[]){"__reserved"},
                                           (const char *[]){"v"}));
    ck_assert_ptr_null(metrics_counter_get(registry, "ok", "h", 5,
                                           (const char *[]){"a", "b", "c", "d", "e"},
                                           (const char *[]){"1", "2", "3", "4", "5"}));
    const double descending[] = {2, 1};
    ck_assert_ptr_null(metrics_histogram_get(registry, "h1", "h", descending, 2, 0, NULL, NULL));
    const double bounds[] = {1};
    ck_assert_ptr_null(metrics_histogram_get(registry, "h2", "h", bounds, 1, 1,
                                             (const char *[]){"le"}, (const char *[]){"x"}));
    ck_assert_ptr_nonnull(metrics_counter_get(registry, "name:with_colon", "h", 0, NULL, NULL));
}
END_TEST

START_TEST(test_metrics_label_values_and_help_are_escaped)
{
    metrics_gauge *gauge =
        metrics_gauge_get(registry, "escaped", "line one\nback\\slash \"q\"", 1,
                          (const char *[]){"state"}, (const char *[]){"a\"b\\c\nd"});
    ck_assert_ptr_nonnull(gauge);
    metrics_gauge_set(gauge, 1);
    char *text = render();
    /* HELP escapes backslash and newline only; label values also the double quote. */
    assert_contains(text, "# HELP escaped line one\\nback\\\\slash \"q\"\n");
    assert_contains(text, "escaped{state=\"a\\\"b\\\\c\\nd\"} 1\n");
    free(text);
}
END_TEST

START_TEST(test_metrics_gauge_set_add_and_special_values)
{
    metrics_gauge *gauge = metrics_gauge_get(registry, "g", "h", 0, NULL, NULL);
    metrics_gauge_set(gauge, 2.5);
    metrics_gauge_add(gauge, -1.25);
    ck_assert_double_eq(metrics_gauge_value(gauge), 1.25);
    char *text = render();
    assert_contains(text, "# TYPE g gauge\ng 1.25\n");
    free(text);

    metrics_gauge_set(gauge, 0.1);
    text = render();
    assert_contains(text, "\ng 0.1\n"); /* shortest form, not 0.10000000000000001 */
    free(text);

    metrics_gauge_set(gauge, INFINITY);
    text = render();
    assert_contains(text, "\ng +Inf\n");
    free(text);
    metrics_gauge_set(gauge, -INFINITY);
    text = render();
    assert_contains(text, "\ng -Inf\n");
    free(text);
    metrics_gauge_set(gauge, NAN);
    text = render();
    assert_contains(text, "\ng NaN\n");
    free(text);
}
END_TEST

START_TEST(test_metrics_histogram_buckets_are_cumulative_with_sum_and_count)
{
    const double bounds[] = {0.1, 1, 10};
    metrics_histogram *histogram =
        metrics_histogram_get(registry, "cp_request_seconds", "CP latency", bounds, 3, 1,
                              (const char *[]){"outcome"}, (const char *[]){"ok"});
    ck_assert_ptr_nonnull(histogram);
    metrics_histogram_observe(histogram, 0.05);
    metrics_histogram_observe(histogram, 0.1); /* on a bound: counts in that bucket (le) */
    metrics_histogram_observe(histogram, 0.5);
    metrics_histogram_observe(histogram, 5);
    metrics_histogram_observe(histogram, 50);
    metrics_histogram_observe(histogram, NAN); /* ignored */

    char *text = render();
    assert_contains(text, "# HELP cp_request_seconds CP latency\n"
                          "# TYPE cp_request_seconds histogram\n"
                          "cp_request_seconds_bucket{outcome=\"ok\",le=\"0.1\"} 2\n"
                          "cp_request_seconds_bucket{outcome=\"ok\",le=\"1\"} 3\n"
                          "cp_request_seconds_bucket{outcome=\"ok\",le=\"10\"} 4\n"
                          "cp_request_seconds_bucket{outcome=\"ok\",le=\"+Inf\"} 5\n"
                          "cp_request_seconds_sum{outcome=\"ok\"} 55.65\n"
                          "cp_request_seconds_count{outcome=\"ok\"} 5\n");
    free(text);

    metrics_histogram *unlabelled =
        metrics_histogram_get(registry, "plain_seconds", "h", bounds, 3, 0, NULL, NULL);
    metrics_histogram_observe(unlabelled, 1);
    text = render();
    assert_contains(text, "plain_seconds_bucket{le=\"0.1\"} 0\n"
                          "plain_seconds_bucket{le=\"1\"} 1\n");
    assert_contains(text, "plain_seconds_sum 1\nplain_seconds_count 1\n");
    free(text);
}
END_TEST

#define UPDATER_THREADS 8
#define UPDATES_PER_THREAD 50000

typedef struct {
    metrics_counter *counter;
    metrics_gauge *gauge;
    metrics_histogram *histogram;
} shared_series;

static void *update_concurrently(void *context)
{
    shared_series *series = context;
    for (int i = 0; i < UPDATES_PER_THREAD; i++) {
        metrics_counter_add(series->counter, 1);
        metrics_gauge_add(series->gauge, 1.0);
        metrics_histogram_observe(series->histogram, 1.0);
    }
    return NULL;
}

START_TEST(test_metrics_concurrent_updates_are_never_lost)
{
    const double bounds[] = {0.5, 2};
    shared_series series = {
        metrics_counter_get(registry, "c_total", "h", 0, NULL, NULL),
        metrics_gauge_get(registry, "g", "h", 0, NULL, NULL),
        metrics_histogram_get(registry, "h_seconds", "h", bounds, 2, 0, NULL, NULL),
    };
    pthread_t threads[UPDATER_THREADS];
    for (int i = 0; i < UPDATER_THREADS; i++) {
        ck_assert_int_eq(pthread_create(&threads[i], NULL, update_concurrently, &series), 0);
    }
    for (int i = 0; i < UPDATER_THREADS; i++) {
        pthread_join(threads[i], NULL);
    }
    ck_assert_uint_eq(metrics_counter_value(series.counter), UPDATER_THREADS * UPDATES_PER_THREAD);
    ck_assert_double_eq(metrics_gauge_value(series.gauge), UPDATER_THREADS * UPDATES_PER_THREAD);
    char *text = render();
    assert_contains(text, "h_seconds_count 400000\n");
    assert_contains(text, "h_seconds_sum 400000\n");
    free(text);
}
END_TEST

START_TEST(test_metrics_render_includes_process_metrics)
{
    char *text = render();
    assert_contains(text, "# TYPE process_resident_memory_bytes gauge\n");
    assert_contains(text, "# TYPE process_cpu_seconds_total counter\n");
    const char *resident = strstr(text, "\nprocess_resident_memory_bytes ");
    ck_assert_ptr_nonnull(resident);
    ck_assert_int_gt(strtoll(resident + strlen("\nprocess_resident_memory_bytes "), NULL, 10), 0);
    free(text);
}
END_TEST

/* ---- the server ---- */

typedef struct {
    long status;
    char *body;
    size_t length;
    char *content_type;
} fetched;

static size_t collect(char *data, size_t size, size_t count, void *context)
{
    fetched *result = context;
    size_t length = size * count;
    result->body = realloc(result->body, result->length + length + 1);
    memcpy(result->body + result->length, data, length);
    result->length += length;
    result->body[result->length] = '\0';
    return length;
}

/* Fetches http://127.0.0.1:<port><path> with `method`; status 0 if no HTTP answer. */
static fetched fetch(int port, const char *method, const char *path)
{
    fetched result = {0, calloc(1, 1), 0, NULL};
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &result);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(easy) == CURLE_OK) {
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &result.status);
        char *type = NULL;
        curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &type);
        result.content_type = type != NULL ? strdup(type) : NULL;
    }
    curl_easy_cleanup(easy);
    return result;
}

static void fetched_free(fetched *result)
{
    free(result->body);
    free(result->content_type);
}

static metrics_server *start_server(void)
{
    char error[256] = "";
    metrics_server *server = metrics_server_start(registry, "127.0.0.1:0", error, sizeof error);
    ck_assert_msg(server != NULL, "start failed: %s", error);
    ck_assert_int_gt(metrics_server_port(server), 0);
    return server;
}

START_TEST(test_metrics_server_serves_metrics_in_text_format)
{
    metrics_counter_add(metrics_counter_get(registry, "served_total", "h", 0, NULL, NULL), 42);
    metrics_server *server = start_server();
    fetched result = fetch(metrics_server_port(server), "GET", "/metrics");
    ck_assert_int_eq(result.status, 200);
    ck_assert_ptr_nonnull(result.content_type);
    ck_assert_ptr_nonnull(strstr(result.content_type, "text/plain"));
    ck_assert_ptr_nonnull(strstr(result.content_type, "version=0.0.4"));
    assert_contains(result.body, "# TYPE served_total counter\nserved_total 42\n");
    fetched_free(&result);
    metrics_server_stop(server);
}
END_TEST

START_TEST(test_metrics_server_healthz_follows_heartbeats_within_window)
{
    metrics_server *server = start_server();
    int port = metrics_server_port(server);
    fetched result = fetch(port, "GET", "/healthz");
    ck_assert_int_eq(result.status, 200); /* alive at start */
    ck_assert_str_eq(result.body, "ok\n");
    fetched_free(&result);

    metrics_server_set_liveness_window(server, 50);
    usleep(150 * 1000);
    result = fetch(port, "GET", "/healthz");
    ck_assert_int_eq(result.status, 503);
    assert_contains(result.body, "silent");
    fetched_free(&result);

    metrics_server_heartbeat(server);
    result = fetch(port, "GET", "/healthz");
    ck_assert_int_eq(result.status, 200);
    fetched_free(&result);
    metrics_server_stop(server);
}
END_TEST

START_TEST(test_metrics_server_readyz_reports_readiness_and_reason)
{
    metrics_server *server = start_server();
    int port = metrics_server_port(server);
    fetched result = fetch(port, "GET", "/readyz");
    ck_assert_int_eq(result.status, 503); /* not ready until the program says so */
    ck_assert_str_eq(result.body, "not ready: starting\n");
    fetched_free(&result);

    metrics_server_set_ready(server, true, NULL);
    result = fetch(port, "GET", "/readyz");
    ck_assert_int_eq(result.status, 200);
    ck_assert_str_eq(result.body, "ready\n");
    fetched_free(&result);

    metrics_server_set_ready(server, false, "kafka unreachable");
    result = fetch(port, "GET", "/readyz");
    ck_assert_int_eq(result.status, 503);
    ck_assert_str_eq(result.body, "not ready: kafka unreachable\n");
    fetched_free(&result);
    metrics_server_stop(server);
}
END_TEST

START_TEST(test_metrics_server_unknown_path_is_404_and_post_is_405)
{
    metrics_server *server = start_server();
    int port = metrics_server_port(server);
    fetched result = fetch(port, "GET", "/nope");
    ck_assert_int_eq(result.status, 404);
    fetched_free(&result);
    result = fetch(port, "POST", "/metrics");
    ck_assert_int_eq(result.status, 405);
    fetched_free(&result);
    result = fetch(port, "GET", "/metrics/extra");
    ck_assert_int_eq(result.status, 404);
    fetched_free(&result);
    metrics_server_stop(server);
}
END_TEST

START_TEST(test_metrics_server_rejects_bad_addresses_with_named_error)
{
    static const char *const bad[] = {
        "",      "nonsense",       "127.0.0.1", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:abc",
        ":9090", "example.com:80", "[::1",      "[::1]9090",  "[nope]:1",        "300.0.0.1:1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char error[256] = "";
        metrics_server *server = metrics_server_start(registry, bad[i], error, sizeof error);
        ck_assert_msg(server == NULL, "accepted '%s'", bad[i]);
        ck_assert_msg(error[0] != '\0', "no error for '%s'", bad[i]);
        if (bad[i][0] != '\0') {
            ck_assert_msg(strstr(error, bad[i]) != NULL, "error '%s' does not name '%s'", error,
                          bad[i]);
        }
    }
}
END_TEST

START_TEST(test_metrics_server_port_in_use_is_named_error)
{
    metrics_server *first = start_server();
    char address[64], error[256] = "";
    snprintf(address, sizeof address, "127.0.0.1:%d", metrics_server_port(first));
    metrics_server *second = metrics_server_start(registry, address, error, sizeof error);
    ck_assert_ptr_null(second);
    assert_contains(error, address);
    assert_contains(error, "bind");
    assert_contains(error, "in use");
    metrics_server_stop(first);
}
END_TEST

START_TEST(test_metrics_server_stop_releases_the_port)
{
    metrics_server *server = start_server();
    int port = metrics_server_port(server);
    metrics_server_stop(server);
    fetched result = fetch(port, "GET", "/healthz");
    ck_assert_int_eq(result.status, 0); /* connection refused: the socket was closed */
    fetched_free(&result);
    char address[64], error[256] = "";
    snprintf(address, sizeof address, "127.0.0.1:%d", port);
    server = metrics_server_start(registry, address, error, sizeof error);
    ck_assert_msg(server != NULL, "rebinding failed: %s", error);
    metrics_server_stop(server);
}
END_TEST

START_TEST(test_metrics_server_accepts_localhost_and_ipv6_loopback)
{
    char error[256] = "";
    metrics_server *server = metrics_server_start(registry, "localhost:0", error, sizeof error);
    ck_assert_msg(server != NULL, "localhost: %s", error);
    fetched result = fetch(metrics_server_port(server), "GET", "/healthz");
    ck_assert_int_eq(result.status, 200);
    fetched_free(&result);
    metrics_server_stop(server);

    server = metrics_server_start(registry, "[::1]:0", error, sizeof error);
    if (server == NULL) {
        /* Some containers have no IPv6 loopback; then only the parse can be checked. */
        ck_assert_msg(strstr(error, "bind") != NULL || strstr(error, "socket") != NULL,
                      "[::1]:0 refused for another reason: %s", error);
        return;
    }
    ck_assert_int_gt(metrics_server_port(server), 0);
    metrics_server_stop(server);
}
END_TEST

START_TEST(test_metrics_server_functions_accept_null)
{
    /* A program running without a metrics server passes NULL everywhere. */
    metrics_server_heartbeat(NULL);
    metrics_server_set_ready(NULL, true, "x");
    metrics_server_set_liveness_window(NULL, 1);
    ck_assert_int_eq(metrics_server_port(NULL), 0);
    metrics_server_stop(NULL);
    metrics_counter_add(NULL, 1);
    metrics_gauge_set(NULL, 1);
    metrics_histogram_observe(NULL, 1);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *suite = suite_create("metrics");
    TCase *registry_case = tcase_create("registry");
    tcase_add_checked_fixture(registry_case, setup, teardown);
    tcase_add_test(registry_case, test_metrics_counter_renders_help_type_and_labelled_value);
    tcase_add_test(registry_case,
                   test_metrics_same_labels_return_same_series_and_new_labels_a_new_one);
    tcase_add_test(registry_case, test_metrics_name_reused_with_other_type_or_labels_is_refused);
    tcase_add_test(registry_case, test_metrics_invalid_names_labels_and_bounds_are_refused);
    tcase_add_test(registry_case, test_metrics_label_values_and_help_are_escaped);
    tcase_add_test(registry_case, test_metrics_gauge_set_add_and_special_values);
    tcase_add_test(registry_case, test_metrics_histogram_buckets_are_cumulative_with_sum_and_count);
    tcase_add_test(registry_case, test_metrics_concurrent_updates_are_never_lost);
    tcase_add_test(registry_case, test_metrics_render_includes_process_metrics);
    suite_add_tcase(suite, registry_case);

    TCase *server_case = tcase_create("server");
    tcase_add_checked_fixture(server_case, setup, teardown);
    tcase_add_test(server_case, test_metrics_server_serves_metrics_in_text_format);
    tcase_add_test(server_case, test_metrics_server_healthz_follows_heartbeats_within_window);
    tcase_add_test(server_case, test_metrics_server_readyz_reports_readiness_and_reason);
    tcase_add_test(server_case, test_metrics_server_unknown_path_is_404_and_post_is_405);
    tcase_add_test(server_case, test_metrics_server_rejects_bad_addresses_with_named_error);
    tcase_add_test(server_case, test_metrics_server_port_in_use_is_named_error);
    tcase_add_test(server_case, test_metrics_server_stop_releases_the_port);
    tcase_add_test(server_case, test_metrics_server_accepts_localhost_and_ipv6_loopback);
    tcase_add_test(server_case, test_metrics_server_functions_accept_null);
    suite_add_tcase(suite, server_case);
    return suite;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    SRunner *runner = srunner_create(metrics_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    curl_global_cleanup();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
