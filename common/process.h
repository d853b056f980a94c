/* process.h — the start-up and teardown every long-running program shares.
 *
 * For: turning a program's declaration (its settings table, where its id and common settings
 * live, what it runs) into a process: parse the settings (--help, --version, --check-config),
 * log as the program, fill its <hostname>-<pid> id, install the stop signals, load the codec,
 * start the metrics server, run, then tear down in the reverse order. Each main.c is one
 * declaration and one call to process_main, so the three programs cannot drift apart again.
 * Not for: anything a program decides (its loop, its metrics series, its Kafka clients).
 *
 * Exit codes, the same for every program: 0 clean stop or --help/--version/--check-config,
 * 2 bad configuration, 1 start-up failure; otherwise whatever the run function returns. */
#ifndef RECONCILER_PROCESS_H
#define RECONCILER_PROCESS_H

#include "codec.h"
#include "config.h"
#include "metrics.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

/* What the run function gets: everything the skeleton set up, valid until it returns. */
typedef struct {
    void *settings; /* the program's settings struct, parsed, its instance id filled */
    const config_kafka_properties *kafka_properties;
    metrics_registry *registry; /* served by `server`; the program registers its series */
    metrics_server *server;
    volatile sig_atomic_t *stop_requested; /* set by SIGTERM/SIGINT */
} process_context;

typedef struct {
    const config_program *program; /* name (also in every log line), table, --help */
    size_t settings_size;          /* sizeof the program's settings struct */
    size_t common_offset;          /* offsetof(settings, common): LOG_LEVEL, METRICS_ADDR */
    /* offsetof(settings, <instance id>): a char * filled with "<hostname>-<pid>" when unset
     * (config_instance_id_resolve), "<instance_id_fallback>-<pid>" without a hostname. */
    size_t instance_id_offset;
    const char *instance_id_fallback;
    /* The program itself: returns the process's exit code. */
    int (*run)(const process_context *context);
    /* A one-shot command that replaces the program when its flag is on the command line (the
     * actuator's --retry-failed-restarts): it parses its own settings and returns the exit
     * code. NULL = none. */
    bool (*command_requested)(int argc, char **argv);
    int (*command_main)(int argc, char **argv);
    /* The record type the program writes: in registry mode its schema is registered under
     * "<topic>-value" at start-up (schema_registry.h). NULL = writes none. */
    const codec_record_type *writes;
} process_declaration;

/* The declaration of a program whose settings struct `settings_type` embeds common_settings as
 * `common` and names the instance in `id_field` (see process_declaration); the one-shot
 * command fields stay NULL. */
#define PROCESS_DECLARATION(settings_type, config_program, id_field, id_fallback, run_function)    \
    {                                                                                              \
        .program = &(config_program), .settings_size = sizeof(settings_type),                      \
        .common_offset = offsetof(settings_type, common),                                          \
        .instance_id_offset = offsetof(settings_type, id_field),                                   \
        .instance_id_fallback = (id_fallback), .run = (run_function)                               \
    }

/* The whole process: returns main's exit code. */
int process_main(int argc, char **argv, const process_declaration *declaration);

#endif
