/* main.c — reconciler-actuator: settings, logging, signals and the metrics server, then the
 * loop (actuator_loop.c).
 *
 * For: process start-up and exit codes only (0 clean stop or --help/--version/--check-config,
 * 2 bad configuration, 1 start-up or fatal Kafka failure), and the dispatch to the one-shot
 * --retry-failed-restarts command (restart_retry.c). Everything the actuator does is in
 * the actuator_logic library, so the tests reach it without this file. */
#include "actuator_loop.h"
#include "actuator_metrics.h"
#include "actuator_settings.h"
#include "restart_retry.h"
#include "codec.h"
#include "schema_registry.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "signals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    /* The operator's one-shot retry of failed restarts is a command of its own: it needs no
     * RESTART_URL and no Kafka, only the group's database rows. */
    if (restart_retry_requested(argc, argv)) {
        char retry_host[256] = "";
        if (gethostname(retry_host, sizeof retry_host) != 0) {
            retry_host[0] = '\0';
        }
        retry_host[sizeof retry_host - 1] = '\0';
        return restart_retry_main(argc, argv, retry_host, getpid());
    }
    actuator_settings settings;
    memset(&settings, 0, sizeof settings);
    config_kafka_properties kafka_properties = {NULL, 0};
    config_result parsed =
        config_parse(&actuator_program, &settings, &kafka_properties, argc, argv, NULL);
    if (parsed == CONFIG_RESULT_EXIT_OK) {
        return 0;
    }
    if (parsed == CONFIG_RESULT_EXIT_USAGE) {
        return 2;
    }
    char hostname[256] = "";
    if (gethostname(hostname, sizeof hostname) != 0) {
        hostname[0] = '\0'; /* the id falls back to actuator-<pid> */
    }
    hostname[sizeof hostname - 1] = '\0';
    log_init("reconciler-actuator", (log_level)settings.common.log_level);
    int exit_code = 1;
    actuator_metrics metrics;
    memset(&metrics, 0, sizeof metrics);
    metrics_server *server = NULL;

    if (!actuator_settings_resolve(&settings, hostname, getpid())) {
        log_error("start-up failed", "{s:s}", "detail", "out of memory");
        goto done;
    }
    if (!signals_install_stop_handlers()) {
        log_error("start-up failed", "{s:s}", "detail", "sigaction failed");
        goto done;
    }
    schema_written_record written = {CODEC_RECORD_ACTION, settings.common.topic_actions};
    if (!schema_setup(&settings.common, &written, 1)) {
        log_error("start-up failed", "{s:s}", "detail", "schemas: see the error above");
        goto done;
    }
    if (!actuator_metrics_init(&metrics)) {
        log_error("start-up failed", "{s:s}", "detail", "metrics registration: out of memory");
        goto done;
    }
    char error[512] = "";
    server = metrics_server_start(metrics.registry, settings.common.metrics_address, error,
                                  sizeof error);
    if (server == NULL) {
        log_error("metrics server failed to start", "{s:s, s:s}", "metrics_addr",
                  settings.common.metrics_address, "detail", error);
        goto done;
    }
    log_info("metrics server listening", "{s:s, s:i}", "metrics_addr",
             settings.common.metrics_address, "port", metrics_server_port(server));

    actuator_loop_options options = {
        .settings = &settings,
        .kafka_properties = &kafka_properties,
        .metrics = &metrics,
        .server = server,
        .stop_requested = &signals_stop_requested, /* the loop checks it every 100 ms */
    };
    exit_code = actuator_loop_run(&options);

done:
    metrics_server_stop(server);
    actuator_metrics_free(&metrics);
    codec_shutdown();
    config_free(&actuator_program, &settings, &kafka_properties);
    return exit_code;
}
