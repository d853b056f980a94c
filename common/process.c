/* process.c — the start-up and teardown every long-running program shares (see process.h). */
#include "process.h"

#include "build_info.h"
#include "codec.h"
#include "schema_registry.h"
#include "log.h"
#include "signals.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One line naming what failed, the same shape in every program. */
static void startup_failed(const char *detail)
{
    log_error("start-up failed", "{s:s}", "detail", detail);
}

/* Everything after a successful parse; the settings are the caller's to free. */
static int start_and_run(const process_declaration *declaration, void *settings,
                         const config_kafka_properties *kafka_properties)
{
    common_settings *common = (common_settings *)((char *)settings + declaration->common_offset);
    log_init(declaration->program->program_name, (log_level)common->log_level);
    char **instance_id = (char **)((char *)settings + declaration->instance_id_offset);
    char hostname[256];
    config_hostname(hostname, sizeof hostname);
    if (!config_instance_id_resolve(instance_id, hostname, getpid(),
                                    declaration->instance_id_fallback)) {
        startup_failed("out of memory");
        return 1;
    }
    if (!signals_install_stop_handlers()) {
        startup_failed("sigaction failed");
        return 1;
    }
    if (!schema_setup(common, declaration->writes)) {
        startup_failed("schemas: see the error above");
        return 1;
    }
    int exit_code = 1;
    metrics_registry *registry = NULL;
    metrics_server *server = NULL;
    /* libcurl's global state, before any thread (the metrics server's, a restart worker)
     * exists: its set-up is not thread-safe in every libcurl a distribution ships. */
    CURLcode curl_code = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (curl_code != CURLE_OK) {
        startup_failed(curl_easy_strerror(curl_code));
        goto done;
    }
    registry = metrics_registry_new();
    if (registry == NULL || !build_info_register(registry)) {
        startup_failed("metrics_registry_new: out of memory");
        goto done;
    }
    char error[512] = "";
    server = metrics_server_start(registry, common->metrics_address, error, sizeof error);
    if (server == NULL) {
        log_error("metrics server failed to start", "{s:s, s:s}", "metrics_addr",
                  common->metrics_address, "detail", error);
        goto done;
    }
    log_info("metrics server listening", "{s:s, s:i}", "metrics_addr", common->metrics_address,
             "port", metrics_server_port(server));

    process_context context = {
        .settings = settings,
        .kafka_properties = kafka_properties,
        .registry = registry,
        .server = server,
        .stop_requested = &signals_stop_requested, /* the loops check it every 100 ms */
    };
    exit_code = declaration->run(&context);

done:
    /* Reverse order: nothing serves the registry once it is freed. */
    metrics_server_stop(server);
    metrics_registry_free(registry);
    if (curl_code == CURLE_OK) {
        curl_global_cleanup();
    }
    codec_shutdown();
    return exit_code;
}

/* --check-config with the schema lines: which version each record type is written with needs
 * the codec (the history, SCHEMA_DIR), so the settings are parsed as for a run, then the codec
 * started once; a configuration the codec refuses is refused here too (exit 2). */
static int check_config_with_schemas(const process_declaration *declaration, void *settings,
                                     const config_kafka_properties *kafka_properties)
{
    common_settings *common = (common_settings *)((char *)settings + declaration->common_offset);
    log_init(declaration->program->program_name, LOG_LEVEL_WARN);
    codec_options options = {common->schema_dir, common->schema_write_versions};
    if (!codec_init_with(&options)) {
        return 2;
    }
    config_print_effective(declaration->program, settings, kafka_properties, stdout);
    schema_print_write_versions(stdout);
    codec_shutdown();
    return 0;
}

int process_main(int argc, char **argv, const process_declaration *declaration)
{
    if (declaration->command_requested != NULL && declaration->command_requested(argc, argv)) {
        return declaration->command_main(argc, argv);
    }
    void *settings = calloc(1, declaration->settings_size);
    if (settings == NULL) {
        fprintf(stderr, "%s: out of memory\n", declaration->program->program_name);
        return 1;
    }
    /* --check-config is taken out of the arguments and handled here, after a parse as for a
     * run: its schema lines need the codec, which config_parse knows nothing of. */
    char **arguments = calloc((size_t)argc + 1, sizeof *arguments);
    if (arguments == NULL) {
        fprintf(stderr, "%s: out of memory\n", declaration->program->program_name);
        free(settings);
        return 1;
    }
    bool check_config = false;
    int count = 0;
    for (int index = 0; index < argc; index++) {
        bool is_check_config = index > 0 && strcmp(argv[index], "--check-config") == 0;
        check_config = check_config || is_check_config;
        if (!is_check_config) {
            arguments[count++] = argv[index];
        }
    }
    config_kafka_properties kafka_properties = {NULL, 0};
    int exit_code;
    switch (
        config_parse(declaration->program, settings, &kafka_properties, count, arguments, NULL)) {
    case CONFIG_RESULT_RUN:
        exit_code = check_config
                        ? check_config_with_schemas(declaration, settings, &kafka_properties)
                        : start_and_run(declaration, settings, &kafka_properties);
        break;
    case CONFIG_RESULT_EXIT_OK:
        exit_code = 0;
        break;
    case CONFIG_RESULT_EXIT_USAGE:
    default:
        exit_code = 2;
        break;
    }
    config_free(declaration->program, settings, &kafka_properties);
    free(arguments);
    free(settings);
    return exit_code;
}
