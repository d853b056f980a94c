/* fuzz_fleet_sim_admin.c — libFuzzer target for fleet-sim's admin request parsers
 * (tools/fleet-sim/admin_api.c) and what the server does next with a parsed fault rule.
 *
 * For: proving that no request body or query string sent to /admin crashes fleet-sim, leaks,
 * or yields a command that breaks the parser's promises: ids only of [A-Za-z0-9._:-]{1,64},
 * numbers inside their documented bounds, header values without line breaks, and a named
 * error whose JSON answer can always be built (the server drops the connection instead of
 * answering 400 when admin_error_json fails). Not for: the documented error per request
 * (tests/unit/test_fleet_sim_admin.c).
 *
 * Input layout: byte 0 picks the parser (modulo the number of entry points); the rest is the
 * body, passed without a NUL terminator in an exactly sized buffer. For the query-string and
 * path-id parsers the rest is split at NUL bytes into the parameters; a parameter that is
 * absent (fewer pieces) or is the single byte 0x01 is passed as NULL. */
#include "admin_api.h"
#include "faults.h"
#include "fleet_state.h"
#include "log.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_REQUIRE(condition)                                                                    \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            fprintf(stderr, "fuzz_fleet_sim_admin: property failed: %s (%s:%d)\n", #condition,     \
                    __FILE__, __LINE__);                                                           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* fleet-sim's default FLEETSIM_HANG_CAP (10m). */
#define FUZZ_HANG_CAP_MS (10 * 60 * 1000)

enum {
    PARSE_FAULT,
    PARSE_TERMINATE,
    PARSE_SET_STATE,
    PARSE_INSTANCES,
    PARSE_SEED,
    PARSE_CONFIG,
    PARSE_EMPTY,
    PARSE_LIST_QUERY,
    PARSE_FAULT_ID,
    PARSE_COUNT
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_init("fuzz_fleet_sim_admin", LOG_LEVEL_ERROR);
    return 0;
}

/* A refused request: a named error with a one-string message, and an answer the server can
 * send (admin_fail answers with admin_error_json(error), serialized). */
static void check_refusal(const admin_error *error)
{
    FUZZ_REQUIRE(error->code > ADMIN_ERROR_NONE && error->code < ADMIN_ERROR_COUNT);
    FUZZ_REQUIRE(memchr(error->message, '\0', sizeof error->message) != NULL);
    FUZZ_REQUIRE(admin_error_name(error->code) != NULL);
    unsigned int status = admin_error_http_status(error->code);
    FUZZ_REQUIRE(status >= 400 && status <= 599);
    json_t *answer = admin_error_json(error);
    FUZZ_REQUIRE(answer != NULL);
    char *text = json_dumps(answer, JSON_COMPACT);
    FUZZ_REQUIRE(text != NULL);
    free(text);
    json_decref(answer);
}

static bool has_line_break(const char *text)
{
    return strpbrk(text, "\r\n") != NULL;
}

/* An accepted fault rule: its fields within bounds, and every step the server takes with it
 * (the planned answer, the rule's JSON in "faults_in_force") works. */
static void check_fault(const fault_spec *spec)
{
    FUZZ_REQUIRE(spec->mode >= 0 && spec->mode < FAULT_MODE_COUNT);
    FUZZ_REQUIRE(spec->endpoint == FAULT_ENDPOINT_STATUS ||
                 spec->endpoint == FAULT_ENDPOINT_RESTART || spec->endpoint == FAULT_ENDPOINT_ANY);
    FUZZ_REQUIRE(spec->share >= 0.0 && spec->share <= 1.0);
    FUZZ_REQUIRE(spec->probability >= 0.0 && spec->probability <= 1.0);
    FUZZ_REQUIRE(spec->fixed_ms >= 0 && spec->fixed_ms <= ADMIN_MAX_DELAY_MS);
    FUZZ_REQUIRE(spec->jitter_ms >= 0 && spec->jitter_ms <= ADMIN_MAX_DELAY_MS);
    FUZZ_REQUIRE(spec->hang_ms >= 0 && spec->hang_ms <= FUZZ_HANG_CAP_MS);
    FUZZ_REQUIRE(!has_line_break(spec->location) && !has_line_break(spec->content_type));
    if (spec->target_kind == FAULT_TARGET_WORKSPACE || spec->target_kind == FAULT_TARGET_INSTANCE) {
        FUZZ_REQUIRE(fleet_id_is_valid(spec->target_id));
    }
    if (spec->mode == FAULT_MODE_STATUS) {
        FUZZ_REQUIRE(spec->http_status >= 400 && spec->http_status <= 599);
    }
    if (spec->mode == FAULT_MODE_REDIRECT) {
        FUZZ_REQUIRE(spec->http_status >= 300 && spec->http_status <= 308);
    }

    static const char normal_body[] =
        "{\"state\":\"running\",\"instance_id\":\"i-0123456789abcdef0\"}";
    response_plan normal;
    FUZZ_REQUIRE(response_plan_json(&normal, 200, normal_body, sizeof normal_body - 1));
    response_plan plan;
    if (spec->mode != FAULT_MODE_OVERSIZED || spec->body_bytes <= 1024 * 1024) {
        /* (An oversized answer of up to 16 MiB is fine but slow to build on every input.) */
        FUZZ_REQUIRE(fault_build_plan(spec, &normal, "i-0123456789abcdef0", 200, 0.5,
                                      FUZZ_HANG_CAP_MS, &plan));
        FUZZ_REQUIRE(plan.body_length <= plan.declared_length || plan.declared_length == 0);
        response_plan_release(&plan);
    }
    response_plan_release(&normal);

    fault_rule rule;
    memset(&rule, 0, sizeof rule);
    rule.id = 1;
    rule.spec = *spec;
    json_t *object = fault_rule_json(&rule);
    FUZZ_REQUIRE(object != NULL);
    char *text = json_dumps(object, JSON_COMPACT);
    FUZZ_REQUIRE(text != NULL);
    free(text);
    json_decref(object);
}

/* Splits text (length bytes, NUL-terminated at text[length]) at NULs into up to `count`
 * parameters; absent ones and "\x01" are NULL. */
static void split_parameters(char *text, size_t length, const char **parameters, size_t count)
{
    char *cursor = text;
    for (size_t index = 0; index < count; index++) {
        if (cursor > text + length) {
            parameters[index] = NULL;
            continue;
        }
        parameters[index] = strcmp(cursor, "\x01") == 0 ? NULL : cursor;
        cursor += strlen(cursor) + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    int parser = data[0] % PARSE_COUNT;
    size_t length = size - 1;
    /* Exactly sized (a read past the body is an AddressSanitizer report); the query parsers
     * get a NUL-terminated copy instead. */
    char *body = malloc(length + 1);
    if (body == NULL) {
        return 0;
    }
    memcpy(body, data + 1, length);
    char *exact = malloc(length > 0 ? length : 1);
    if (exact == NULL) {
        free(body);
        return 0;
    }
    memcpy(exact, data + 1, length);

    admin_error error;
    memset(&error, 0x5A, sizeof error); /* the parsers must set what they report */
    bool ok = false;
    switch (parser) {
    case PARSE_FAULT: {
        fault_spec spec;
        ok = admin_parse_fault(exact, length, FUZZ_HANG_CAP_MS, &spec, &error);
        if (ok) {
            check_fault(&spec);
        }
        break;
    }
    case PARSE_TERMINATE: {
        admin_terminate_command command;
        ok = admin_parse_terminate(exact, length, &command, &error);
        if (ok) {
            FUZZ_REQUIRE(command.is_percent ? (command.percent >= 0.0 && command.percent <= 100.0)
                                            : command.count >= 0);
            FUZZ_REQUIRE(command.state >= 0 && command.state < INSTANCE_STATE_COUNT);
            FUZZ_REQUIRE(command.state != INSTANCE_STATE_RUNNING);
            FUZZ_REQUIRE(admin_terminate_resolve(&command, 1000) <= 1000 || !command.is_percent);
        }
        break;
    }
    case PARSE_SET_STATE: {
        admin_set_state_command command;
        ok = admin_parse_set_state(exact, length, &command, &error);
        if (ok) {
            FUZZ_REQUIRE(command.state >= 0 && command.state < INSTANCE_STATE_COUNT);
            FUZZ_REQUIRE(!command.has_instance_id || fleet_id_is_valid(command.instance_id));
        }
        break;
    }
    case PARSE_INSTANCES: {
        admin_instances_command command;
        ok = admin_parse_instances(exact, length, &command, &error);
        if (ok) {
            for (size_t index = 0; index < command.count; index++) {
                FUZZ_REQUIRE(fleet_id_is_valid(command.entries[index].workspace_id));
                FUZZ_REQUIRE(fleet_id_is_valid(command.entries[index].instance_id));
                FUZZ_REQUIRE(command.entries[index].state >= 0 &&
                             command.entries[index].state < INSTANCE_STATE_COUNT);
            }
            admin_instances_release(&command);
        } else {
            FUZZ_REQUIRE(command.entries == NULL && command.count == 0);
        }
        break;
    }
    case PARSE_SEED: {
        admin_seed_command command;
        ok = admin_parse_seed(exact, length, &command, &error);
        if (ok) {
            FUZZ_REQUIRE(command.count >= 1 && command.count <= ADMIN_MAX_SEED_COUNT);
            FUZZ_REQUIRE(command.batch_size >= 0 && command.batch_size <= ADMIN_MAX_SEED_BATCH);
            FUZZ_REQUIRE(command.runtime_is_null || fleet_id_is_valid(command.runtime));
        }
        break;
    }
    case PARSE_CONFIG: {
        admin_config_command command;
        ok = admin_parse_config(exact, length, &command, &error);
        if (ok && command.has_reprovision_delay) {
            FUZZ_REQUIRE(command.reprovision_delay_ms >= 0 &&
                         command.reprovision_delay_ms <= ADMIN_MAX_DELAY_MS);
        }
        break;
    }
    case PARSE_EMPTY:
        ok = admin_parse_empty(exact, length, &error);
        break;
    case PARSE_LIST_QUERY: {
        body[length] = '\0';
        const char *parameters[3];
        split_parameters(body, length, parameters, 3);
        admin_list_query query;
        ok = admin_parse_list_query(parameters[0], parameters[1], parameters[2], &query, &error);
        if (ok) {
            FUZZ_REQUIRE(query.limit <= 1000000);
            FUZZ_REQUIRE(!query.has_state ||
                         (query.state >= 0 && query.state < INSTANCE_STATE_COUNT));
        }
        break;
    }
    case PARSE_FAULT_ID: {
        body[length] = '\0';
        const char *parameters[1];
        split_parameters(body, length, parameters, 1);
        uint64_t id = 0;
        ok = admin_parse_fault_id(parameters[0], &id, &error);
        if (ok) {
            FUZZ_REQUIRE(id > 0);
        }
        break;
    }
    default:
        break;
    }
    if (ok) {
        FUZZ_REQUIRE(error.code == ADMIN_ERROR_NONE);
    } else {
        check_refusal(&error);
    }
    free(exact);
    free(body);
    return 0;
}
