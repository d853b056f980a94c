/* admin_handlers.c — fleet-sim's admin API executed: each handler takes a parsed command
 * (admin_api.c) and applies it to the fleet, the fault table or the reprovisioner, then answers
 * JSON with "faults_in_force" added, so a test always sees what is injected.
 *
 * Seed and load-from-db run on the job thread (admin_jobs.c): the request is held meanwhile
 * and resumed by admin_handle_job_done. */
#include "admin_handlers.h"

#include "admin_jobs.h"
#include "fleet_state.h"
#include "log.h"
#include "reprovision.h"
#include "sim_metrics.h"
#include "sim_random.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Serializes an admin answer with "faults_in_force" added; takes `object`. */
static char *admin_answer_text(sim_server *server, json_t *object, size_t *length)
{
    if (object == NULL) {
        return NULL;
    }
    json_object_set_new(object, "faults_in_force", fault_table_json(server->faults));
    char *text = json_dumps(object, JSON_COMPACT);
    json_decref(object);
    *length = text != NULL ? strlen(text) : 0;
    return text;
}

static enum MHD_Result admin_reply(sim_server *server, struct MHD_Connection *connection,
                                   unsigned int status, json_t *object)
{
    size_t length = 0;
    char *text = admin_answer_text(server, object, &length);
    metrics_counter_add(server->metrics->admin_requests[ADMIN_ERROR_NONE], 1);
    if (text == NULL) {
        return server_answer_error(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal_error",
                                   "out of memory building the answer");
    }
    return server_queue_buffer(connection, status, JSON_TYPE, text, length, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result admin_fail(sim_server *server, struct MHD_Connection *connection,
                                  const admin_error *error)
{
    metrics_counter_add(server->metrics->admin_requests[error->code], 1);
    if (error->code != ADMIN_ERROR_UNAUTHORIZED) {
        log_info("admin request refused", "{s:s, s:s}", "error", admin_error_name(error->code),
                 "message", error->message);
    }
    size_t length = 0;
    char *text = admin_answer_text(server, admin_error_json(error), &length);
    if (text == NULL) {
        return MHD_NO;
    }
    return server_queue_buffer(connection, admin_error_http_status(error->code), JSON_TYPE, text,
                               length, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result admin_fail_with(sim_server *server, struct MHD_Connection *connection,
                                       admin_error_code code, const char *message)
{
    admin_error error;
    admin_error_set(&error, code, "%s", message);
    return admin_fail(server, connection, &error);
}

static json_t *counters_json(const metrics_counter *const *counters, size_t count,
                             const char *(*name)(int))
{
    json_t *object = json_object();
    for (size_t i = 0; i < count; i++) {
        json_object_set_new(object, name((int)i),
                            json_integer((json_int_t)metrics_counter_value(counters[i])));
    }
    return object;
}

static const char *status_label(int index)
{
    return index < INSTANCE_STATE_COUNT
               ? instance_state_name((instance_state)index)
               : status_answer_name((status_answer)(index - INSTANCE_STATE_COUNT + 1));
}

static const char *restart_label(int index)
{
    return restart_answer_name((restart_answer)index);
}

static const char *reprovision_label(int index)
{
    return reprovision_result_name((reprovision_result)index);
}

static json_t *state_json(sim_server *server)
{
    uint64_t counts[INSTANCE_STATE_COUNT];
    fleet_count_by_state(server->fleet, counts);
    json_t *by_state = json_object();
    uint64_t total = 0;
    for (int i = 0; i < INSTANCE_STATE_COUNT; i++) {
        json_object_set_new(by_state, instance_state_name((instance_state)i),
                            json_integer((json_int_t)counts[i]));
        total += counts[i];
    }
    json_t *faults_applied = json_object();
    for (int mode = 0; mode < FAULT_MODE_COUNT; mode++) {
        uint64_t applied = metrics_counter_value(server->metrics->faults_applied[mode][0]) +
                           metrics_counter_value(server->metrics->faults_applied[mode][1]);
        json_object_set_new(faults_applied, fault_mode_name((fault_mode)mode),
                            json_integer((json_int_t)applied));
    }
    const fleet_sim_settings *settings = server->settings;
    json_t *config = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:b, s:{s:b, s:b, s:b, s:b}}", "reprovision_delay_ms",
        (json_int_t)reprovisioner_delay_ms(server->reprovisioner), "hang_cap_ms",
        (json_int_t)settings->hang_cap_ms, "threads", (json_int_t)settings->threads,
        "connection_limit", (json_int_t)settings->connection_limit, "seed_batch_size",
        (json_int_t)settings->seed_batch_size, "database",
        reprovisioner_has_database(server->reprovisioner), "auth", "cp_shared_secret",
        settings->cp_shared_secret != NULL && settings->cp_shared_secret[0] != '\0',
        "cp_admin_token", settings->cp_admin_token != NULL && settings->cp_admin_token[0] != '\0',
        "restart_token", settings->restart_token != NULL && settings->restart_token[0] != '\0',
        "admin_token", settings->admin_token != NULL && settings->admin_token[0] != '\0');
    json_t *counters =
        json_pack("{s:o, s:o, s:o, s:o}", "status_requests",
                  counters_json((const metrics_counter *const *)server->metrics->status_requests,
                                SIM_STATUS_LABEL_COUNT, status_label),
                  "restart_requests",
                  counters_json((const metrics_counter *const *)server->metrics->restart_requests,
                                RESTART_ANSWER_COUNT, restart_label),
                  "reprovisions",
                  counters_json((const metrics_counter *const *)server->metrics->reprovisions,
                                REPROVISION_RESULT_COUNT, reprovision_label),
                  "faults_applied", faults_applied);
    return json_pack("{s:{s:I, s:o}, s:I, s:I, s:o, s:o}", "instances", "total", (json_int_t)total,
                     "by_state", by_state, "held_requests",
                     (json_int_t)delay_timer_pending(server->timer), "pending_reprovisions",
                     (json_int_t)reprovisioner_pending(server->reprovisioner), "config", config,
                     "counters", counters);
}

static enum MHD_Result admin_instances_collection(sim_server *server,
                                                  struct MHD_Connection *connection,
                                                  const char *method, request_context *context)
{
    admin_error error;
    if (strcmp(method, "GET") == 0) {
        admin_list_query query;
        if (!admin_parse_list_query(
                MHD_lookup_connection_value(connection, MHD_GET_ARGUMENT_KIND, "state"),
                MHD_lookup_connection_value(connection, MHD_GET_ARGUMENT_KIND, "limit"),
                MHD_lookup_connection_value(connection, MHD_GET_ARGUMENT_KIND, "offset"), &query,
                &error)) {
            return admin_fail(server, connection, &error);
        }
        return admin_reply(server, connection, MHD_HTTP_OK,
                           fleet_list_json(server->fleet, query.has_state ? &query.state : NULL,
                                           query.offset, query.limit));
    }
    if (strcmp(method, "POST") == 0) {
        admin_instances_command command;
        if (!admin_parse_instances(context->body, context->body_length, &command, &error)) {
            return admin_fail(server, connection, &error);
        }
        int64_t now_ms = time_now_wall_ms();
        json_int_t created = 0;
        json_int_t updated = 0;
        for (size_t i = 0; i < command.count; i++) {
            bool was_created = false;
            fleet_error failure = fleet_upsert(server->fleet, command.entries[i].workspace_id,
                                               command.entries[i].instance_id,
                                               command.entries[i].state, now_ms, &was_created);
            if (failure != FLEET_OK) {
                admin_instances_release(&command);
                return admin_fail_with(server, connection, ADMIN_ERROR_INTERNAL,
                                       fleet_error_name(failure));
            }
            created += was_created;
            updated += !was_created;
        }
        admin_instances_release(&command);
        log_info("instances registered", "{s:I, s:I}", "created", created, "updated", updated);
        return admin_reply(server, connection, MHD_HTTP_OK,
                           json_pack("{s:I, s:I}", "created", created, "updated", updated));
    }
    if (strcmp(method, "DELETE") == 0) {
        size_t count = fleet_count(server->fleet);
        fleet_clear(server->fleet);
        log_info("all instances removed", "{s:I}", "count", (json_int_t)count);
        return admin_reply(server, connection, MHD_HTTP_OK,
                           json_pack("{s:I}", "removed", (json_int_t)count));
    }
    return admin_fail_with(server, connection, ADMIN_ERROR_METHOD_NOT_ALLOWED,
                           "use GET, POST or DELETE on /admin/instances");
}

static enum MHD_Result admin_instance(sim_server *server, struct MHD_Connection *connection,
                                      const char *method, const char *workspace_id,
                                      request_context *context)
{
    admin_error error;
    if (!fleet_id_is_valid(workspace_id)) {
        return admin_fail_with(server, connection, ADMIN_ERROR_INVALID_ID,
                               "workspace ids are 1..64 characters of [A-Za-z0-9._:-]");
    }
    if (strcmp(method, "GET") == 0) {
        json_t *record = fleet_instance_json(server->fleet, workspace_id);
        if (record == NULL) {
            return admin_fail_with(server, connection, ADMIN_ERROR_WORKSPACE_NOT_FOUND,
                                   "no such workspace in the simulated fleet");
        }
        return admin_reply(server, connection, MHD_HTTP_OK, record);
    }
    if (strcmp(method, "PUT") == 0) {
        admin_set_state_command command;
        if (!admin_parse_set_state(context->body, context->body_length, &command, &error)) {
            return admin_fail(server, connection, &error);
        }
        int64_t now_ms = time_now_wall_ms();
        bool created = false;
        fleet_error failure;
        if (command.has_instance_id) {
            failure = fleet_upsert(server->fleet, workspace_id, command.instance_id, command.state,
                                   now_ms, &created);
        } else {
            failure = fleet_set_state(server->fleet, workspace_id, NULL, command.state, now_ms);
        }
        if (failure == FLEET_ERROR_NOT_FOUND) {
            return admin_fail_with(server, connection, ADMIN_ERROR_WORKSPACE_NOT_FOUND,
                                   "no such workspace; give instance_id to create it");
        }
        if (failure != FLEET_OK) {
            return admin_fail_with(server, connection, ADMIN_ERROR_INTERNAL,
                                   fleet_error_name(failure));
        }
        log_info("instance state set", "{s:s, s:s, s:b}", "workspace_id", workspace_id, "state",
                 instance_state_name(command.state), "created", created);
        return admin_reply(server, connection, created ? MHD_HTTP_CREATED : MHD_HTTP_OK,
                           fleet_instance_json(server->fleet, workspace_id));
    }
    if (strcmp(method, "DELETE") == 0) {
        if (fleet_remove(server->fleet, workspace_id) != FLEET_OK) {
            return admin_fail_with(server, connection, ADMIN_ERROR_WORKSPACE_NOT_FOUND,
                                   "no such workspace in the simulated fleet");
        }
        return admin_reply(server, connection, MHD_HTTP_OK,
                           json_pack("{s:s}", "removed", workspace_id));
    }
    return admin_fail_with(server, connection, ADMIN_ERROR_METHOD_NOT_ALLOWED,
                           "use GET, PUT or DELETE on /admin/instances/{workspace_id}");
}

static int64_t knob(int64_t command_value, int64_t setting_value)
{
    return command_value >= 0 ? command_value : setting_value;
}

/* Announces the terminated instances as a cloud's event bus would (hint_sender.h): some
 * dropped, some twice, some forged about a random running instance. Returns the counts for
 * the answer, or NULL when announcing is off. */
static json_t *announce_terminations(sim_server *server, const admin_terminate_command *command,
                                     json_t *instance_ids, fleet_random *random)
{
    if (!hint_sender_enabled(server->hints))
        return NULL;
    const hint_knobs *defaults = &server->settings->hints;
    int64_t drop = knob(command->hints.drop_percent, defaults->drop_percent);
    int64_t duplicate = knob(command->hints.duplicate_percent, defaults->duplicate_percent);
    int64_t forge = knob(command->hints.forge_percent, defaults->forge_percent);
    int64_t delay_ms = knob(command->hints.delay_ms, defaults->delay_ms);
    const char *state = instance_state_name(command->state);
    int64_t sent = 0, dropped = 0, duplicated = 0, forged = 0;
    size_t index;
    json_t *instance_id;
    json_array_foreach(instance_ids, index, instance_id)
    {
        if ((int64_t)fleet_random_below(random, 100) < forge) {
            /* A forged event: a running instance said to be terminated. */
            instance_state running = INSTANCE_STATE_RUNNING;
            size_t count = fleet_running_count(server->fleet);
            json_t *pick = count > 0 ? fleet_list_json(server->fleet, &running,
                                                       (size_t)fleet_random_below(random, count), 1)
                                     : NULL;
            json_t *first = json_array_get(json_object_get(pick, "instances"), 0);
            const char *victim = json_string_value(json_object_get(first, "instance_id"));
            if (victim != NULL) {
                hint_sender_queue(server->hints, victim, state, delay_ms);
                forged++;
            }
            json_decref(pick);
        }
        if ((int64_t)fleet_random_below(random, 100) < drop) {
            dropped++;
            continue;
        }
        int copies = (int64_t)fleet_random_below(random, 100) < duplicate ? 2 : 1;
        for (int copy = 0; copy < copies; copy++)
            hint_sender_queue(server->hints, json_string_value(instance_id), state, delay_ms);
        sent++;
        duplicated += copies - 1;
    }
    return json_pack("{s:I, s:I, s:I, s:I, s:I}", "sent", (json_int_t)sent, "dropped",
                     (json_int_t)dropped, "duplicated", (json_int_t)duplicated, "forged",
                     (json_int_t)forged, "delay_ms", (json_int_t)delay_ms);
}

static enum MHD_Result admin_terminate(sim_server *server, struct MHD_Connection *connection,
                                       request_context *context)
{
    admin_error error;
    admin_terminate_command command;
    if (!admin_parse_terminate(context->body, context->body_length, &command, &error)) {
        return admin_fail(server, connection, &error);
    }
    size_t running = fleet_running_count(server->fleet);
    size_t count = admin_terminate_resolve(&command, running);
    fleet_random random = fleet_random_make(command.has_seed ? command.seed : sim_random_seed());
    json_t *workspace_ids = json_array();
    json_t *instance_ids = json_array();
    fleet_error failure = fleet_terminate_random(server->fleet, count, command.state, &random,
                                                 time_now_wall_ms(), workspace_ids, instance_ids);
    if (failure != FLEET_OK) {
        json_decref(workspace_ids);
        json_decref(instance_ids);
        if (failure == FLEET_ERROR_NOT_ENOUGH) {
            admin_error_set(&error, ADMIN_ERROR_NOT_ENOUGH_RUNNING,
                            "asked for %zu but only %zu instances are running", count,
                            fleet_running_count(server->fleet));
            return admin_fail(server, connection, &error);
        }
        return admin_fail_with(server, connection, ADMIN_ERROR_INTERNAL, fleet_error_name(failure));
    }
    log_info("instances terminated", "{s:I, s:s, s:I}", "count", (json_int_t)count, "state",
             instance_state_name(command.state), "running_before", (json_int_t)running);
    json_t *hints = announce_terminations(server, &command, instance_ids, &random);
    return admin_reply(server, connection, MHD_HTTP_OK,
                       json_pack("{s:I, s:s, s:I, s:o, s:o, s:o*}", "count", (json_int_t)count,
                                 "state", instance_state_name(command.state), "running_before",
                                 (json_int_t)running, "workspace_ids", workspace_ids,
                                 "instance_ids", instance_ids, "hints", hints));
}

static enum MHD_Result admin_faults(sim_server *server, struct MHD_Connection *connection,
                                    const char *method, const char *rest, request_context *context)
{
    admin_error error;
    if (rest[0] == '\0') {
        if (strcmp(method, "GET") == 0) {
            return admin_reply(server, connection, MHD_HTTP_OK, json_object());
        }
        if (strcmp(method, "POST") == 0) {
            fault_spec spec;
            if (!admin_parse_fault(context->body, context->body_length,
                                   server->settings->hang_cap_ms, &spec, &error)) {
                return admin_fail(server, connection, &error);
            }
            fault_rule rule = {
                .spec = spec, .remaining = spec.times, .created_at_ms = time_now_wall_ms()};
            rule.id = fault_table_add(server->faults, &spec, rule.created_at_ms);
            if (rule.id == 0) {
                return admin_fail_with(server, connection, ADMIN_ERROR_INTERNAL, "out of memory");
            }
            log_info("fault rule added", "{s:I, s:s, s:s, s:s}", "id", (json_int_t)rule.id, "mode",
                     fault_mode_name(spec.mode), "endpoint", fault_endpoint_name(spec.endpoint),
                     "target", fault_target_kind_name(spec.target_kind));
            return admin_reply(server, connection, MHD_HTTP_CREATED,
                               json_pack("{s:o}", "fault", fault_rule_json(&rule)));
        }
        if (strcmp(method, "DELETE") == 0) {
            size_t removed = fault_table_clear(server->faults);
            log_info("fault rules cleared", "{s:I}", "count", (json_int_t)removed);
            return admin_reply(server, connection, MHD_HTTP_OK,
                               json_pack("{s:I}", "removed", (json_int_t)removed));
        }
        return admin_fail_with(server, connection, ADMIN_ERROR_METHOD_NOT_ALLOWED,
                               "use GET, POST or DELETE on /admin/faults");
    }
    uint64_t id = 0;
    if (!admin_parse_fault_id(rest, &id, &error)) {
        return admin_fail(server, connection, &error);
    }
    if (strcmp(method, "DELETE") == 0) {
        if (!fault_table_remove(server->faults, id)) {
            return admin_fail_with(server, connection, ADMIN_ERROR_FAULT_NOT_FOUND,
                                   "no fault rule with this id is in force");
        }
        log_info("fault rule removed", "{s:I}", "id", (json_int_t)id);
        return admin_reply(server, connection, MHD_HTTP_OK,
                           json_pack("{s:I}", "removed", (json_int_t)id));
    }
    return admin_fail_with(server, connection, ADMIN_ERROR_METHOD_NOT_ALLOWED,
                           "use DELETE on /admin/faults/{id}");
}

static enum MHD_Result admin_config(sim_server *server, struct MHD_Connection *connection,
                                    const char *method, request_context *context)
{
    admin_error error;
    if (strcmp(method, "POST") == 0) {
        admin_config_command command;
        if (!admin_parse_config(context->body, context->body_length, &command, &error)) {
            return admin_fail(server, connection, &error);
        }
        if (command.has_reprovision_delay) {
            reprovisioner_set_delay_ms(server->reprovisioner, command.reprovision_delay_ms);
            log_info("reprovision delay changed", "{s:I}", "reprovision_delay_ms",
                     (json_int_t)command.reprovision_delay_ms);
        }
    } else if (strcmp(method, "GET") != 0) {
        return admin_fail_with(server, connection, ADMIN_ERROR_METHOD_NOT_ALLOWED,
                               "use GET or POST on /admin/config");
    }
    return admin_reply(server, connection, MHD_HTTP_OK,
                       json_pack("{s:I}", "reprovision_delay_ms",
                                 (json_int_t)reprovisioner_delay_ms(server->reprovisioner)));
}

/* The job thread's completion callback: the answer becomes the plan, the request resumes. */
void admin_handle_job_done(void *request, json_t *answer, const admin_error *error, void *cls)
{
    sim_server *server = cls;
    request_context *context = request;
    size_t length = 0;
    unsigned int status = MHD_HTTP_OK;
    admin_error_code outcome = ADMIN_ERROR_NONE;
    if (answer == NULL) {
        outcome = error->code;
        status = admin_error_http_status(error->code);
        answer = admin_error_json(error);
        log_warn("admin job failed", "{s:s, s:s}", "error", admin_error_name(error->code),
                 "message", error->message);
    }
    metrics_counter_add(server->metrics->admin_requests[outcome], 1);
    char *text = admin_answer_text(server, answer, &length);
    response_plan_release(&context->plan);
    if (text == NULL || !response_plan_json(&context->plan, status, text, length)) {
        context->plan.action = RESPONSE_ACTION_CLOSE;
    }
    free(text);
    server_resume(context, DELAY_FIRED_DUE);
}

static enum MHD_Result admin_job(sim_server *server, struct MHD_Connection *connection,
                                 admin_job_kind kind, request_context *context)
{
    admin_error error;
    admin_seed_command seed;
    if (kind == ADMIN_JOB_SEED &&
        !admin_parse_seed(context->body, context->body_length, &seed, &error)) {
        return admin_fail(server, connection, &error);
    }
    if (kind == ADMIN_JOB_LOAD_FROM_DATABASE &&
        !admin_parse_empty(context->body, context->body_length, &error)) {
        return admin_fail(server, connection, &error);
    }
    if (server->settings->database_url == NULL || server->settings->database_url[0] == '\0') {
        return admin_fail_with(server, connection, ADMIN_ERROR_DATABASE_NOT_CONFIGURED,
                               "this command needs DATABASE_URL, which is not set");
    }
    /* Suspend first: the job may finish before this function returns. */
    server_suspend(server, context);
    if (!admin_jobs_submit(server->jobs, kind, kind == ADMIN_JOB_SEED ? &seed : NULL, context)) {
        admin_error_set(&error, ADMIN_ERROR_SHUTTING_DOWN, "the simulator is stopping");
        admin_handle_job_done(context, NULL, &error, server);
    }
    return MHD_YES;
}

static enum MHD_Result admin_reset(sim_server *server, struct MHD_Connection *connection,
                                   request_context *context)
{
    admin_error error;
    if (!admin_parse_empty(context->body, context->body_length, &error)) {
        return admin_fail(server, connection, &error);
    }
    size_t instances = fleet_count(server->fleet);
    size_t faults = fault_table_clear(server->faults);
    size_t reprovisions = reprovisioner_clear(server->reprovisioner);
    fleet_clear(server->fleet);
    log_info("simulator reset", "{s:I, s:I, s:I}", "instances", (json_int_t)instances, "faults",
             (json_int_t)faults, "pending_reprovisions", (json_int_t)reprovisions);
    return admin_reply(server, connection, MHD_HTTP_OK,
                       json_pack("{s:I, s:I, s:I}", "instances_removed", (json_int_t)instances,
                                 "faults_removed", (json_int_t)faults, "reprovisions_dropped",
                                 (json_int_t)reprovisions));
}

enum MHD_Result admin_handle(sim_server *server, struct MHD_Connection *connection,
                             const char *method, const char *path, request_context *context)
{
    if (!server_bearer_accepted(connection, server->settings->admin_token)) {
        return admin_fail_with(server, connection, ADMIN_ERROR_UNAUTHORIZED,
                               "missing or wrong bearer token");
    }
    if (context->body_too_large) {
        return admin_fail_with(server, connection, ADMIN_ERROR_BODY_TOO_LARGE,
                               "admin request bodies are limited to 16 MiB");
    }
    if (path[0] == '\0' || strcmp(path, "/") == 0 || strcmp(path, "/state") == 0) {
        if (strcmp(method, "GET") != 0) {
            return admin_fail_with(server, connection, ADMIN_ERROR_METHOD_NOT_ALLOWED,
                                   "use GET on /admin/state");
        }
        return admin_reply(server, connection, MHD_HTTP_OK, state_json(server));
    }
    if (strcmp(path, "/instances") == 0) {
        return admin_instances_collection(server, connection, method, context);
    }
    if (strncmp(path, "/instances/", 11) == 0) {
        return admin_instance(server, connection, method, path + 11, context);
    }
    if (strcmp(path, "/faults") == 0 || strncmp(path, "/faults/", 8) == 0) {
        return admin_faults(server, connection, method, path[7] == '/' ? path + 8 : "", context);
    }
    static const struct {
        const char *path;
        int kind; /* 0 terminate, 1 seed, 2 load, 3 config, 4 reset */
        const char *method;
    } routes[] = {
        {"/terminate", 0, "POST"}, {"/seed", 1, "POST"},  {"/load-from-db", 2, "POST"},
        {"/config", 3, NULL},      {"/reset", 4, "POST"},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(path, routes[i].path) != 0) {
            continue;
        }
        if (routes[i].method != NULL && strcmp(method, routes[i].method) != 0) {
            char message[96];
            snprintf(message, sizeof message, "use %s on /admin%s", routes[i].method,
                     routes[i].path);
            return admin_fail_with(server, connection, ADMIN_ERROR_METHOD_NOT_ALLOWED, message);
        }
        switch (routes[i].kind) {
        case 0:
            return admin_terminate(server, connection, context);
        case 1:
            return admin_job(server, connection, ADMIN_JOB_SEED, context);
        case 2:
            return admin_job(server, connection, ADMIN_JOB_LOAD_FROM_DATABASE, context);
        case 3:
            return admin_config(server, connection, method, context);
        default:
            return admin_reset(server, connection, context);
        }
    }
    return admin_fail_with(server, connection, ADMIN_ERROR_NOT_FOUND,
                           "no such admin path (see fleet-sim --help)");
}
