/* main.c — fleet-sim: configuration, start-up, the wait for a signal, and the ordered stop.
 *
 * The tool is a test double of the control plane's status API and the workspace server's
 * restart API, over a simulated fleet with injectable faults, so the reconciler can be tested,
 * demonstrated and benchmarked without the real services. It is not a product: not a model of
 * the real CP beyond the contracts the reconciler relies on, not for production traffic, and
 * no new fault modes or admin commands unless a test needs them.
 *
 * This file is for: wiring the parts together (fleet, fault rules, reprovisioner, HTTP server,
 * metrics). Not for: logic; every part lives in its own file (see CMakeLists.txt). */
#include "build_info.h"
#include "fleet_state.h"
#include "faults.h"
#include "log.h"
#include "metrics.h"
#include "reprovision.h"
#include "seed_command.h"
#include "seeding.h"
#include "server.h"
#include "signals.h"
#include "sim_database.h"
#include "sim_metrics.h"
#include "sim_settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* Every held request is an open socket: raise the soft open-files limit to fit the
 * connection limit (plus room for PostgreSQL, logs and the listeners), as far as the hard
 * limit allows. */
static void raise_open_files_limit(int64_t connection_limit)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        return;
    }
    rlim_t wanted = (rlim_t)connection_limit + 256;
    if (limit.rlim_cur >= wanted) {
        return;
    }
    limit.rlim_cur =
        limit.rlim_max != RLIM_INFINITY && limit.rlim_max < wanted ? limit.rlim_max : wanted;
    /* Only worth a warning when not even the connections themselves fit. */
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur < (rlim_t)connection_limit) {
        log_warn("open-files limit is below the connection limit", "{s:I, s:I}", "open_files",
                 (json_int_t)limit.rlim_cur, "connection_limit", (json_int_t)connection_limit);
    }
}

static bool has_text(const char *text)
{
    return text != NULL && text[0] != '\0';
}

/* FLEETSIM_LOAD_ON_START: registers the online rows before serving. */
static bool load_on_start(sim_fleet *fleet, const char *database_url)
{
    char detail[512];
    PGconn *connection = sim_database_connect(database_url, detail, sizeof detail);
    if (connection == NULL) {
        log_error("cannot connect to load online rows", "{s:s}", "detail", detail);
        return false;
    }
    admin_error error;
    json_t *answer = seeding_load(fleet, connection, &error);
    PQfinish(connection);
    if (answer == NULL) {
        log_error("loading online rows failed", "{s:s, s:s}", "error", admin_error_name(error.code),
                  "message", error.message);
        return false;
    }
    json_decref(answer);
    return true;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "seed") == 0) {
        return seed_command_main(argc - 1, argv + 1);
    }
    fleet_sim_settings settings;
    memset(&settings, 0, sizeof settings);
    config_result parsed =
        config_parse(&fleet_sim_config_program, &settings, NULL, argc, argv, NULL);
    if (parsed == CONFIG_RESULT_EXIT_OK) {
        return 0;
    }
    if (parsed != CONFIG_RESULT_RUN) {
        return 2;
    }
    if (settings.load_on_start && !has_text(settings.database_url)) {
        fprintf(stderr,
                "fleet-sim: FLEETSIM_LOAD_ON_START: needs DATABASE_URL, which is not set\n");
        config_free(&fleet_sim_config_program, &settings, NULL);
        return 2;
    }
    log_init("fleet-sim", (log_level)settings.log_level);
    /* SIGPIPE ignored: a client that vanishes mid-answer must cost an error return, not the
     * process. */
    if (!signals_install_stop_handlers()) {
        log_error("sigaction failed", NULL);
        config_free(&fleet_sim_config_program, &settings, NULL);
        return 1;
    }
    raise_open_files_limit(settings.connection_limit);

    int exit_code = 1;
    metrics_registry *registry = metrics_registry_new();
    sim_metrics metrics;
    sim_fleet *fleet = fleet_new();
    fault_table *faults = fault_table_new();
    reprovision_worker *reprovisioner = NULL;
    sim_server *server = NULL;
    metrics_server *metrics_listener = NULL;
    if (registry == NULL || !build_info_register(registry) ||
        !sim_metrics_init(&metrics, registry) || fleet == NULL || faults == NULL) {
        log_error("out of memory at start-up", NULL);
        goto done;
    }
    reprovisioner =
        reprovisioner_start(fleet, settings.database_url, settings.reprovision_delay_ms, &metrics);
    if (reprovisioner == NULL) {
        log_error("cannot start the reprovision worker", NULL);
        goto done;
    }
    if (!has_text(settings.database_url)) {
        log_warn("DATABASE_URL is not set: restarts change only the simulated fleet, seed and "
                 "load-from-db are unavailable",
                 NULL);
    }
    if (settings.load_on_start && !load_on_start(fleet, settings.database_url)) {
        goto done;
    }

    char error[512];
    sim_server_parts parts = {
        .settings = &settings,
        .fleet = fleet,
        .faults = faults,
        .reprovisioner = reprovisioner,
        .metrics = &metrics,
    };
    server = sim_server_start(&parts, error, sizeof error);
    if (server == NULL) {
        log_error("cannot start the HTTP server", "{s:s}", "detail", error);
        goto done;
    }
    if (has_text(settings.metrics_address)) {
        metrics_listener =
            metrics_server_start(registry, settings.metrics_address, error, sizeof error);
        if (metrics_listener == NULL) {
            log_error("cannot start the metrics listener", "{s:s}", "detail", error);
            goto done;
        }
        metrics_server_set_ready(metrics_listener, true, NULL);
    }
    log_info("fleet-sim listening", "{s:s, s:i, s:I, s:I, s:b, s:I}", "address", settings.address,
             "port", sim_server_port(server), "threads", (json_int_t)settings.threads,
             "reprovision_delay_ms", (json_int_t)settings.reprovision_delay_ms, "database",
             has_text(settings.database_url), "metrics_port",
             (json_int_t)(metrics_listener != NULL ? metrics_server_port(metrics_listener) : 0));

    while (!signals_stop_requested) {
        struct timespec interval = {0, 200 * 1000 * 1000};
        nanosleep(&interval, NULL);
        if (metrics_listener != NULL) {
            sim_server_refresh_gauges(server);
            metrics_server_heartbeat(metrics_listener);
        }
    }
    log_info("stopping", NULL);
    if (metrics_listener != NULL) {
        metrics_server_set_ready(metrics_listener, false, "shutting down");
    }
    exit_code = 0;

done:
    /* Order: no new HTTP work, then the reprovision worker finishes its write-back, then the
     * listeners and the memory. */
    sim_server_stop(server);
    reprovisioner_stop(reprovisioner);
    metrics_server_stop(metrics_listener);
    fault_table_free(faults);
    fleet_free(fleet);
    metrics_registry_free(registry);
    config_free(&fleet_sim_config_program, &settings, NULL);
    if (exit_code == 0) {
        log_info("stopped", NULL);
    }
    return exit_code;
}
