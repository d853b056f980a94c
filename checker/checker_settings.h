/* checker_settings.h — reconciler-checker's settings: the table config_parse reads, the checks
 * the table cannot express, and the derived defaults.
 *
 * For: naming every setting once (variable, flag, default, bounds, why); the --help text and
 * the configuration table in docs/checker.md come from the same words. Not for: acting on
 * them (checker_engine.c). */
#ifndef RECONCILER_CHECKER_SETTINGS_H
#define RECONCILER_CHECKER_SETTINGS_H

#include "config.h"
#include "cp_classify.h"
#include "cp_settings.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    common_settings common;
    cp_client_settings cp;       /* CP_URL (required), tokens, CA file, proxy, states */
    char *group_id;              /* CHECKER_GROUP_ID */
    int64_t concurrency;         /* CHECKER_CONCURRENCY */
    int64_t timeout_ms;          /* CHECKER_TIMEOUT */
    int64_t max_rps;             /* CHECKER_MAX_RPS, 0 = no limit */
    char *checker_id;            /* CHECKER_ID, NULL/"" = hostname-pid */
    int64_t shutdown_timeout_ms; /* CHECKER_SHUTDOWN_TIMEOUT */
    char *topic_urgent_checks;   /* RECONCILER_TOPIC_URGENT_CHECKS (urgent_lane.h) */
    /* Derived by the validate hook from CHECKER_NOT_RUNNING_STATES (not a table value). */
    cp_not_running_states not_running_states;
} checker_settings;

extern const config_program checker_program;

/* Checks what the table cannot (cp_client_settings_validate: CP_URL's shape, CP_CA_FILE
 * readable, CP_PROXY's shape, the not-running states).
 * Fills *states on success. Returns false with the one-line error
 * "reconciler-checker: NAME: ..." in error_buffer. checker_program runs it as its validate
 * hook, so config_parse rejects the same values for a run and for --check-config. */
bool checker_settings_validate(const checker_settings *settings, cp_not_running_states *states,
                               char *error_buffer, size_t error_size);

/* config_parse (checker_settings_validate included) with its output on the given streams:
 * prints like config_parse and returns its result. On CONFIG_RESULT_RUN, *states holds the
 * parsed not-running states (a copy of settings->not_running_states). `environment` NULL means the
 * process environment; `out` and `err` NULL mean stdout and stderr. */
config_result checker_settings_load(checker_settings *settings,
                                    config_kafka_properties *kafka_properties,
                                    cp_not_running_states *states, int argc, char **argv,
                                    char **environment, FILE *out, FILE *err);

#endif
