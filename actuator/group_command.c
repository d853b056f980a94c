/* group_command.c — the frame of the actuator's one-shot operator commands (see
 * group_command.h). */
#include "group_command.h"

#include "actuator_settings.h"
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    common_settings common;
    char *group_id; /* ACTUATOR_GROUP_ID */
} group_command_settings;

static const config_setting group_command_table[] = {
    COMMON_SETTING_DATABASE_URL(group_command_settings, common),
    COMMON_SETTING_DATABASE_CALL_TIMEOUT(group_command_settings, common),
    ACTUATOR_SETTING_GROUP_ID(group_command_settings, group_id,
                              "The actuators' group the command acts on: the same value as the "
                              "running actuators', which see the change at their next decision "
                              "or restart claim"),
};

int group_command_main(const group_command *command, int argc, char **argv, group_command_run run,
                       void *context)
{
    const config_program program = {
        .program_name = command->program_name,
        .summary = command->summary,
        .examples = command->examples,
        .settings = group_command_table,
        .setting_count = sizeof group_command_table / sizeof group_command_table[0],
        .accepts_kafka_properties = false,
        .validate = NULL,
    };
    group_command_settings settings;
    memset(&settings, 0, sizeof settings);
    config_result parsed = config_parse(&program, &settings, NULL, argc, argv, NULL);
    if (parsed == CONFIG_RESULT_EXIT_OK) {
        return 0;
    }
    if (parsed == CONFIG_RESULT_EXIT_USAGE) {
        return 2;
    }
    int exit_code = 1;
    actuator_store *database = actuator_store_new(settings.common.database_url, settings.group_id,
                                                  settings.common.database_call_timeout_ms);
    if (database == NULL) {
        fprintf(stderr, "%s: out of memory\n", command->program_name);
        goto done;
    }
    actuator_store_status status = actuator_store_connect(database);
    if (status == ACTUATOR_STORE_OK) {
        status = run(database, settings.group_id, context);
    }
    if (status != ACTUATOR_STORE_OK) {
        fprintf(stderr, "%s: %s: %s\n", command->program_name, actuator_store_status_name(status),
                actuator_store_last_error(database));
        goto done;
    }
    exit_code = 0;

done:
    actuator_store_free(database);
    config_free(&program, &settings, NULL);
    return exit_code;
}
