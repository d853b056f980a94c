/* actuator_settings.h — reconciler-actuator's settings: the table config_parse reads, the
 * checks config.c cannot make on its own, and the derived defaults.
 *
 * For: naming every setting once (variable, flag, default, bounds, why). Not for: acting on
 * them (actuator_loop.c, restart_worker.c). */
#ifndef RECONCILER_ACTUATOR_SETTINGS_H
#define RECONCILER_ACTUATOR_SETTINGS_H

#include "config.h"
#include "cp_settings.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    common_settings common;
    char *restart_url;               /* RESTART_URL, template with {id} */
    char *restart_token;             /* RESTART_TOKEN, secret */
    char *restart_ca_file;           /* RESTART_CA_FILE */
    char *restart_proxy;             /* RESTART_PROXY, NULL/"" = no proxy */
    cp_client_settings cp;           /* CP_URL, tokens, CA file, CP_PROXY, not-running states */
    bool cp_confirm;                 /* ACTUATOR_CP_CONFIRM */
    int64_t cp_confirm_timeout_ms;   /* ACTUATOR_CP_CONFIRM_TIMEOUT */
    int64_t cp_confirm_concurrency;  /* ACTUATOR_CP_CONFIRM_CONCURRENCY */
    char *group_id;                  /* ACTUATOR_GROUP_ID */
    int64_t max_verdict_age_ms;      /* ACTUATOR_MAX_VERDICT_AGE */
    config_threshold max_unhealthy;  /* ACTUATOR_MAX_UNHEALTHY */
    int64_t breaker_window_ms;       /* ACTUATOR_BREAKER_WINDOW */
    int64_t max_flips_per_minute;    /* ACTUATOR_MAX_FLIPS_PER_MIN, group-wide */
    int64_t max_restarts_per_minute; /* ACTUATOR_MAX_RESTARTS_PER_MIN, group-wide */
    int64_t restart_max_attempts;    /* ACTUATOR_RESTART_MAX_ATTEMPTS */
    int64_t restart_timeout_ms;      /* ACTUATOR_RESTART_TIMEOUT */
    int64_t restart_backoff_base_ms; /* ACTUATOR_RESTART_BACKOFF_BASE */
    int64_t restart_backoff_max_ms;  /* ACTUATOR_RESTART_BACKOFF_MAX */
    bool dry_run;                    /* ACTUATOR_DRY_RUN */
    char *actuator_id;               /* ACTUATOR_ID, NULL or "" = hostname-pid */
    int64_t retention_ms;            /* ACTUATOR_RETENTION */
    /* Derived by the validate hook from CHECKER_NOT_RUNNING_STATES (not a table value). */
    cp_not_running_states cp_not_running_states;
} actuator_settings;

extern const config_program actuator_program;

/* Checks across and within values that the table cannot express (RESTART_URL's shape, the
 * backoff base not above its cap, the proxies' shape, CP_URL required while
 * ACTUATOR_CP_CONFIRM is on, the CP settings as the checker checks them). Fills
 * *not_running_states (may be NULL) from CHECKER_NOT_RUNNING_STATES. Returns true when fine, else
 * false with the one-line error "reconciler-actuator: NAME: ..." in error_buffer. actuator_program
 * runs it as its validate hook, so config_parse rejects the same values for a run and for
 * --check-config. */
bool actuator_settings_validate(const actuator_settings *settings,
                                cp_not_running_states *not_running_states, char *error_buffer,
                                size_t error_size);

/* The ACTUATOR_GROUP_ID row: the actuator's table and its one-shot commands' (group_command.c)
 * read the same variable with the same default, so a command acts on the running group. */
#define ACTUATOR_SETTING_GROUP_ID(settings_type, member, help_text)                                \
    {                                                                                              \
        .env_name = "ACTUATOR_GROUP_ID", .type = CONFIG_TYPE_STRING,                               \
        .offset = offsetof(settings_type, member), .default_text = "reconciler-actuator",          \
        .required = true, .help = help_text                                                        \
    }

#endif
