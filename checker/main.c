/* main.c — reconciler-checker: settings, logging, metrics server, signals, then the engine.
 *
 * Everything with a decision in it lives in the checker_logic library (cp_classify.c,
 * checker_verdict.c, offset_tracker.c, checker_engine.c); this file only wires the process
 * together, so that the tests exercise the same code the binary runs. */
#include "checker_engine.h"
#include "checker_settings.h"
#include "codec.h"
#include "schema_registry.h"
#include "log.h"
#include "metrics.h"
#include "signals.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    checker_settings settings;
    memset(&settings, 0, sizeof settings);
    config_kafka_properties kafka_properties = {NULL, 0};
    cp_not_running_states not_running_states;
    config_result result = checker_settings_load(&settings, &kafka_properties, &not_running_states,
                                                 argc, argv, NULL, NULL, NULL);
    if (result == CONFIG_RESULT_EXIT_OK)
        return 0;
    if (result == CONFIG_RESULT_EXIT_USAGE)
        return 2;

    log_init("checker", (log_level)settings.common.log_level);
    char hostname[256] = "";
    if (gethostname(hostname, sizeof hostname) != 0)
        hostname[0] = '\0';
    hostname[sizeof hostname - 1] = '\0';
    int exit_code = 1;
    metrics_registry *registry = NULL;
    metrics_server *server = NULL;
    if (!checker_settings_resolve(&settings, hostname, getpid())) {
        log_error("out of memory", NULL);
        goto done;
    }
    if (!signals_install_stop_handlers()) {
        log_error("sigaction failed", NULL);
        goto done;
    }
    schema_written_record written = {CODEC_RECORD_VERDICT, settings.common.topic_verdicts};
    if (!schema_setup(&settings.common, &written, 1)) {
        log_error("start-up failed", "{s:s}", "detail", "schemas: see the error above");
        goto done;
    }
    /* libcurl's global state, before any thread (the metrics server) exists. */
    CURLcode curl_code = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (curl_code != CURLE_OK) {
        log_error("curl_global_init failed", "{s:s}", "error", curl_easy_strerror(curl_code));
        goto done;
    }
    registry = metrics_registry_new();
    if (registry == NULL) {
        log_error("metrics_registry_new failed", NULL);
        goto done;
    }
    char error[256] = "";
    server = metrics_server_start(registry, settings.common.metrics_address, error, sizeof error);
    if (server == NULL) {
        log_error("metrics server failed to start", "{s:s, s:s}", "address",
                  settings.common.metrics_address, "error", error);
        goto done;
    }
    log_info("metrics server listening", "{s:s, s:i}", "address", settings.common.metrics_address,
             "port", metrics_server_port(server));

    checker_engine_options options = {
        .settings = &settings,
        .kafka_properties = &kafka_properties,
        .not_running_states = &not_running_states,
        .metrics = registry,
        .server = server,
        .stop_requested = &signals_stop_requested,
    };
    exit_code = checker_engine_run(&options);

done:
    if (server != NULL)
        metrics_server_stop(server);
    metrics_registry_free(registry);
    codec_shutdown();
    curl_global_cleanup();
    config_free(&checker_program, &settings, &kafka_properties);
    return exit_code;
}
