/* restart_retry.c — reconciler-actuator --retry-failed-restarts[=WORKSPACE_ID] (see
 * restart_retry.h). */
#include "restart_retry.h"

#include "actuator_store.h"
#include "config.h"
#include "group_command.h"
#include "restart_policy.h"
#include "timeutil.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const group_command retry_command = {
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
};

typedef struct {
    const char *workspace_id; /* NULL: every failed restart of the group */
    char actuator_id[360];    /* names the retry in its Actions */
} retry_request;

static actuator_store_status retry(actuator_store *database, const char *group_id, void *context)
{
    const retry_request *request = context;
    int64_t count = 0;
    actuator_store_status status = actuator_store_restart_retry_failed(
        database, request->workspace_id, request->actuator_id, time_now_wall_ms(), &count);
    if (status == ACTUATOR_STORE_OK) {
        printf("retried %" PRId64 " failed restart(s) of group %s%s%s: back to pending, "
               "attempts reset; the group's live actuators send them after the usual "
               "pre-check\n",
               count, group_id, request->workspace_id != NULL ? " for workspace " : "",
               request->workspace_id != NULL ? request->workspace_id : "");
    }
    return status;
}

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
        fprintf(stderr, "%s: out of memory\n", retry_command.program_name);
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
                retry_command.program_name);
        free(rest);
        return 2;
    }
    if (request == RESTART_RETRY_INVALID) {
        /* The value is the operator's own typing, not a secret; bounded in the echo. */
        fprintf(stderr, "%s: expected =WORKSPACE_ID, a uuid, got '%.80s'\n",
                retry_command.program_name, invalid + strlen(RESTART_RETRY_FLAG));
        free(rest);
        return 2;
    }

    retry_request retry_context = {.workspace_id = workspace_id};
    char hostname[256], instance[320];
    config_hostname(hostname, sizeof hostname);
    config_instance_id_format(hostname, (long)getpid(), "host", instance, sizeof instance);
    snprintf(retry_context.actuator_id, sizeof retry_context.actuator_id,
             "retry-failed-restarts@%s", instance);
    int exit_code = group_command_main(&retry_command, rest_count, rest, retry, &retry_context);
    free(rest);
    return exit_code;
}
