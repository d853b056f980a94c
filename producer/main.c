/* main.c — reconciler-producer: settings, logging, signals and the metrics server, then the
 * loop (producer_loop.c).
 *
 * For: process start-up and exit codes only (0 clean stop or --help/--version/--check-config,
 * 2 bad configuration, 1 start-up failure). Everything the producer does is in the
 * producer_logic library, so the tests reach it without this file. */
#include "codec.h"
#include "schema_registry.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "producer_loop.h"
#include "producer_settings.h"
#include "signals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    producer_settings settings;
    memset(&settings, 0, sizeof settings);
    config_kafka_properties kafka_properties = {NULL, 0};
    config_result parsed =
        config_parse(&producer_program, &settings, &kafka_properties, argc, argv, NULL);
    if (parsed == CONFIG_RESULT_EXIT_OK) {
        return 0;
    }
    if (parsed == CONFIG_RESULT_EXIT_USAGE) {
        return 2;
    }
    char hostname[256] = "";
    if (gethostname(hostname, sizeof hostname) != 0) {
        hostname[0] = '\0'; /* the id falls back to producer-<pid> */
    }
    hostname[sizeof hostname - 1] = '\0';
    log_init("reconciler-producer", (log_level)settings.common.log_level);
    int exit_code = 1;
    metrics_registry *registry = NULL;
    metrics_server *server = NULL;

    if (!producer_settings_resolve(&settings, hostname, getpid())) {
        log_error("start-up failed", "{s:s}", "detail", "out of memory");
        goto done;
    }
    if (!signals_install_stop_handlers()) {
        log_error("start-up failed", "{s:s}", "detail", "sigaction failed");
        goto done;
    }
    schema_written_record written = {CODEC_RECORD_CHECK_REQUEST, settings.common.topic_checks};
    if (!schema_setup(&settings.common, &written, 1)) {
        log_error("start-up failed", "{s:s}", "detail", "schemas: see the error above");
        goto done;
    }
    registry = metrics_registry_new();
    if (registry == NULL) {
        log_error("start-up failed", "{s:s}", "detail", "metrics_registry_new: out of memory");
        goto done;
    }
    char error[512] = "";
    server = metrics_server_start(registry, settings.common.metrics_address, error, sizeof error);
    if (server == NULL) {
        log_error("metrics server failed to start", "{s:s, s:s}", "metrics_addr",
                  settings.common.metrics_address, "detail", error);
        goto done;
    }
    log_info("metrics server listening", "{s:s, s:i}", "metrics_addr",
             settings.common.metrics_address, "port", metrics_server_port(server));

    producer_loop_options options = {
        .settings = &settings,
        .kafka_properties = &kafka_properties,
        .registry = registry,
        .server = server,
        .stop_requested = &signals_stop_requested, /* the loop checks it every 100 ms */
    };
    exit_code = producer_loop_run(&options);

done:
    metrics_server_stop(server);
    metrics_registry_free(registry);
    codec_shutdown();
    config_free(&producer_program, &settings, &kafka_properties);
    return exit_code;
}
