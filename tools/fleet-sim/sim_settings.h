/* sim_settings.h — fleet-sim's configuration: the settings struct and its config.h table.
 *
 * For: main.c (parsing, --help, --check-config) and the unit tests (config_parse_from on the
 * same table). The --help text documents the whole admin API with curl examples.
 * Not for: run-time changes (POST /admin/config changes the reprovision delay in the
 * reprovisioner, not here). */
#ifndef FLEET_SIM_SETTINGS_H
#define FLEET_SIM_SETTINGS_H

#include "config.h"
#include "hint_sender.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    char *address;          /* FLEETSIM_ADDR: the CP status, restart and admin APIs */
    char *database_url;     /* DATABASE_URL: optional; secret */
    char *cp_shared_secret; /* FLEETSIM_CP_SHARED_SECRET: Authorization: Bearer on status */
    char *cp_admin_token;   /* FLEETSIM_CP_ADMIN_TOKEN: X-Molecule-Admin-Token on status */
    char *restart_token;    /* FLEETSIM_RESTART_TOKEN: Authorization: Bearer on restart */
    char *admin_token;      /* FLEETSIM_ADMIN_TOKEN: Authorization: Bearer on /admin */
    int64_t reprovision_delay_ms;
    int64_t threads;
    int64_t connection_limit;
    int64_t hang_cap_ms;
    int64_t seed_batch_size;
    bool load_on_start;
    int log_level;
    char *metrics_address; /* METRICS_ADDR: empty = only on FLEETSIM_ADDR */
    char *hint_url;        /* FLEETSIM_HINT_URL: "" = terminations are not announced */
    char *hint_token;      /* FLEETSIM_HINT_TOKEN: secret */
    hint_knobs hints;      /* FLEETSIM_HINT_DROP_PERCENT, ..._DUPLICATE_, ..._FORGE_, _DELAY */
} fleet_sim_settings;

extern const config_program fleet_sim_config_program;

#endif
