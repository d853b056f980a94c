/* restart_retry.c — reconciler-actuator --retry-failed-restarts[=WORKSPACE_ID] (see
 * restart_retry.h). */
#include "restart_retry.h"

#include "actuator_store.h"
#include "config.h"
#include "restart_policy.h"
#include "timeutil.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    common_settings common;
    char *group_id; /* ACTUATOR_GROUP_ID */
} restart_retry_settings;

static const config_setting retry_table[] = {
    COMMON_SETTING_DATABASE_URL(restart_retry_settings, common),
    {
        .env_name = "ACTUATOR_GROUP_ID",
        .type = CONFIG_TYPE_STRING,
        .offset = offsetof(restart_retry_settings, group_id),
        .default_text = "reconciler-actuator",
        .required = true,
        .help = "The actuators' group whose failed restarts are retried: the same value as the "
                "running actuators', whose restart workers then send them",
    },
};

static const config_program retry_program = {
    .program_name = "reconciler-actuator " RESTART_RETRY_FLAG,
    .summary =
        "One-shot: sets the failed restarts of ACTUATOR_GROUP_ID (those that used up "
        "ACTUATOR_RESTART_MAX_ATTEMPTS; with =WORKSPACE_ID only that workspace's) back to "
        "pending with their attempts reset, writes a RESTART_RETRIED Action (reason "
        "operator_retry) for each, prints how many and exits 0. The group's running actuators "
        "send them through the usual pre-check: a workspace that is no longer offline on the "
        "flipped instance (fixed by hand, paused, removed) is closed as skipped, not "
        "restarted, so retrying everything after an outage is safe. Needs only DATABASE_URL "
        "and ACTUATOR_GROUP_ID. Exit codes: 0 done (also when nothing matched), 2 bad input, "
        "1 database failure.",
    .examples =
        "  reconciler-actuator " RESTART_RETRY_FLAG "\n"
        "  reconciler-actuator " RESTART_RETRY_FLAG "=0b8f2c1e-4a4e-4d7a-9d1e-2f8a6b1c3d4e\n",
    .settings = retry_table,
    .setting_count = sizeof retry_table / sizeof retry_table[0],
    .accepts_kafka_properties = false,
    .validate = NULL,
};

bool restart_retry_requested(int argc, char **argv)
{
    for (int index = 1; index < argc; index++) {
        const char *workspace_id = NULL;
        if (restart_retry_parse_argument(argv[index], &workspace_id) != RESTART_RETRY_ABSENT) {
            return true;
        }
    }
    return false;
}

int restart_retry_main(int argc, char **argv)
{
    /* The flag is ours; every other argument goes to the settings parser. */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (rest == NULL) {
        fprintf(stderr, "%s: out of memory\n", retry_program.program_name);
        return 1;
    }
    int rest_count = 0;
    int flags = 0;
    restart_retry_request request = RESTART_RETRY_ABSENT;
    const char *workspace_id = NULL;
    const char *invalid = NULL;
    for (int index = 0; index < argc; index++) {
        const char *value = NULL;
        restart_retry_request found =
            index == 0 ? RESTART_RETRY_ABSENT : restart_retry_parse_argument(argv[index], &value);
        if (found == RESTART_RETRY_ABSENT) {
            rest[rest_count++] = argv[index];
            continue;
        }
        flags++;
        request = found;
        workspace_id = value;
        if (found == RESTART_RETRY_INVALID) {
            invalid = argv[index];
        }
    }
    if (flags > 1) {
        fprintf(stderr,
                "%s: give the flag once (one workspace id, or none for every failed "
                "restart of the group)\n",
                retry_program.program_name);
        free(rest);
        return 2;
    }
    if (request == RESTART_RETRY_INVALID) {
        /* The value is the operator's own typing, not a secret; bounded in the echo. */
        fprintf(stderr, "%s: expected =WORKSPACE_ID, a uuid, got '%.80s'\n",
                retry_program.program_name, invalid + strlen(RESTART_RETRY_FLAG));
        free(rest);
        return 2;
    }

    restart_retry_settings settings;
    memset(&settings, 0, sizeof settings);
    config_result parsed = config_parse(&retry_program, &settings, NULL, rest_count, rest, NULL);
    free(rest);
    if (parsed == CONFIG_RESULT_EXIT_OK) {
        return 0;
    }
    if (parsed == CONFIG_RESULT_EXIT_USAGE) {
        return 2;
    }

    int exit_code = 1;
    char hostname[256], instance[320], actuator_id[360];
    config_hostname(hostname, sizeof hostname);
    config_instance_id_format(hostname, (long)getpid(), "host", instance, sizeof instance);
    snprintf(actuator_id, sizeof actuator_id, "retry-failed-restarts@%s", instance);
    actuator_store *database = actuator_store_new(settings.common.database_url, settings.group_id);
    if (database == NULL) {
        fprintf(stderr, "%s: out of memory\n", retry_program.program_name);
        goto done;
    }
    int64_t count = 0;
    actuator_store_status status = actuator_store_connect(database);
    if (status == ACTUATOR_STORE_OK) {
        status = actuator_store_restart_retry_failed(database, workspace_id, actuator_id,
                                                     time_now_wall_ms(), &count);
    }
    if (status != ACTUATOR_STORE_OK) {
        /* libpq's first line never holds the password (actuator_store_last_error). */
        fprintf(stderr, "%s: %s: %s\n", retry_program.program_name,
                actuator_store_status_name(status), actuator_store_last_error(database));
        goto done;
    }
    printf("retried %" PRId64 " failed restart(s) of group %s%s%s: back to pending, attempts "
           "reset; the group's live actuators send them after the usual pre-check\n",
           count, settings.group_id, workspace_id != NULL ? " for workspace " : "",
           workspace_id != NULL ? workspace_id : "");
    exit_code = 0;

done:
    actuator_store_free(database);
    config_free(&retry_program, &settings, NULL);
    return exit_code;
}
