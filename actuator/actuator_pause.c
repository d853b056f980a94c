/* actuator_pause.c — reconciler-actuator --pause "REASON" / --resume (see actuator_pause.h). */
#include "actuator_pause.h"

#include "actuator_store.h"
#include "config.h"
#include "group_command.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const group_command pause_command = {
    .program_name = "reconciler-actuator " ACTUATOR_PAUSE_FLAG "|" ACTUATOR_RESUME_FLAG,
    .summary =
        "One-shot: --pause \"REASON\" stops every actuator of ACTUATOR_GROUP_ID from acting, "
        "without a restart: each NOT_RUNNING verdict is recorded as SKIPPED_STALE with the "
        "reason actuator_paused (and who paused and why), nothing is flipped, no restart is "
        "sent, nothing counts in the breaker. When the command returns, no decision that "
        "missed the pause is still open. --resume clears it; the first sweep after it reports "
        "every dead instance again and heals it. Needs only DATABASE_URL and "
        "ACTUATOR_GROUP_ID. Exit codes: 0 done, 2 bad input, 1 database failure.",
    .examples = "  reconciler-actuator " ACTUATOR_PAUSE_FLAG " \"CP incident 4711: status API "
                "lies\"\n"
                "  reconciler-actuator " ACTUATOR_RESUME_FLAG "\n",
};

typedef struct {
    const actuator_pause_request *request;
    const char *paused_by;
} pause_context;

static actuator_pause_request invalid(actuator_pause_request request, const char *problem)
{
    request.command = ACTUATOR_PAUSE_INVALID;
    request.problem = problem;
    return request;
}

actuator_pause_request actuator_pause_parse(int argc, char **argv, char **rest)
{
    actuator_pause_request request = {.command = ACTUATOR_PAUSE_ABSENT};
    int flags = 0;
    bool missing_reason = false;
    for (int index = 0; index < argc; index++) {
        const char *arg = argv[index];
        size_t pause_length = strlen(ACTUATOR_PAUSE_FLAG);
        if (index > 0 && strcmp(arg, ACTUATOR_RESUME_FLAG) == 0) {
            flags++;
            request.command = ACTUATOR_PAUSE_CLEAR;
        } else if (index > 0 && strncmp(arg, ACTUATOR_PAUSE_FLAG, pause_length) == 0 &&
                   (arg[pause_length] == '\0' || arg[pause_length] == '=')) {
            flags++;
            request.command = ACTUATOR_PAUSE_SET;
            if (arg[pause_length] == '=') {
                request.reason = arg + pause_length + 1;
            } else if (index + 1 < argc && strncmp(argv[index + 1], "--", 2) != 0) {
                /* The reason is the next argument; a flag there means it was forgotten. */
                request.reason = argv[++index];
            } else {
                missing_reason = true;
            }
        } else if (rest != NULL) {
            rest[request.rest_count++] = argv[index];
        }
    }
    if (rest != NULL) {
        rest[request.rest_count] = NULL;
    }
    if (flags > 1) {
        return invalid(request, "give " ACTUATOR_PAUSE_FLAG " or " ACTUATOR_RESUME_FLAG ", once");
    }
    if (request.command != ACTUATOR_PAUSE_SET) {
        return request;
    }
    /* Why is part of the switch: it is copied into every Action the pause holds back. */
    if (missing_reason || request.reason == NULL || request.reason[0] == '\0') {
        return invalid(request, "say why: " ACTUATOR_PAUSE_FLAG " \"REASON\" (it is copied into "
                                "every Action the pause holds back)");
    }
    if (strlen(request.reason) > ACTUATOR_PAUSE_REASON_MAX) {
        return invalid(request, "the reason is longer than 160 bytes");
    }
    return request;
}

bool actuator_pause_requested(int argc, char **argv)
{
    return actuator_pause_parse(argc, argv, NULL).command != ACTUATOR_PAUSE_ABSENT;
}

static void format_time(int64_t ms, char *buffer, size_t size)
{
    time_t seconds = (time_t)(ms / 1000);
    struct tm utc;
    if (gmtime_r(&seconds, &utc) == NULL ||
        strftime(buffer, size, "%Y-%m-%dT%H:%M:%SZ", &utc) == 0) {
        snprintf(buffer, size, "%" PRId64 "ms", ms);
    }
}

/* Runs the request against the group's row and prints the result. */
static actuator_store_status run_request(actuator_store *database, const char *group_id,
                                         void *context_pointer)
{
    const pause_context *context = context_pointer;
    const actuator_pause_request *request = context->request;
    const char *paused_by = context->paused_by;
    actuator_store_pause_state state;
    char since[40];
    if (request->command == ACTUATOR_PAUSE_SET) {
        actuator_store_status status =
            actuator_store_set_pause(database, paused_by, request->reason, &state);
        if (status != ACTUATOR_STORE_OK) {
            return status;
        }
        format_time(state.paused_at_ms, since, sizeof since);
        printf("paused group %s at %s (by %s: %s): every actuator of the group now records "
               "NOT_RUNNING verdicts as SKIPPED_STALE (actuator_paused) and sends no restart; "
               "%" PRId64 " restart(s) claimed before the pause may still finish their call. "
               "Resume with: reconciler-actuator " ACTUATOR_RESUME_FLAG "\n",
               group_id, since, state.paused_by, state.reason, state.restarts_in_flight);
        return ACTUATOR_STORE_OK;
    }
    actuator_store_status status = actuator_store_clear_pause(database, &state);
    if (status != ACTUATOR_STORE_OK) {
        return status;
    }
    if (!state.paused) {
        printf("group %s was not paused; nothing changed\n", group_id);
        return ACTUATOR_STORE_OK;
    }
    format_time(state.paused_at_ms, since, sizeof since);
    printf("resumed group %s (paused since %s by %s: %s): verdicts act again, and the next "
           "sweep reports every workspace the pause held back\n",
           group_id, since, state.paused_by, state.reason);
    return ACTUATOR_STORE_OK;
}

int actuator_pause_main(int argc, char **argv)
{
    /* Who paused, as the row and every Action it holds back name it: user@host. */
    char hostname[256], paused_by[320];
    config_hostname(hostname, sizeof hostname);
    const char *user = getenv("USER") != NULL ? getenv("USER") : getenv("LOGNAME");
    snprintf(paused_by, sizeof paused_by, "%.64s@%.200s", user != NULL ? user : "unknown",
             hostname[0] != '\0' ? hostname : "host");
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (rest == NULL) {
        fprintf(stderr, "%s: out of memory\n", pause_command.program_name);
        return 1;
    }
    actuator_pause_request request = actuator_pause_parse(argc, argv, rest);
    if (request.command == ACTUATOR_PAUSE_INVALID) {
        fprintf(stderr, "%s: %s\n", pause_command.program_name, request.problem);
        free(rest);
        return 2;
    }
    pause_context context = {.request = &request, .paused_by = paused_by};
    int exit_code =
        group_command_main(&pause_command, request.rest_count, rest, run_request, &context);
    free(rest);
    return exit_code;
}
