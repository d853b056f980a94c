/* server.c — fleet-sim's HTTP server (libmicrohttpd): routing, authentication, the CP status
 * and restart APIs, and the execution of answers decided by the fault rules and the fleet. The
 * admin API's handlers are in admin_handlers.c; the listening socket comes from listener.c.
 *
 * For: one epoll event loop (or FLEETSIM_THREADS of them) answering everything. A request
 * whose answer is delayed (latency, hang) or slow to compute (seed, load-from-db) is
 * suspended with MHD_suspend_connection and resumed later by the timer or the job thread;
 * libmicrohttpd then calls the handler again and the planned answer goes out.
 * Not for: deciding answers.
 *
 * Handler protocol: the first call for a request only sees headers; admin requests get a
 * context then (to collect their body), others a shared marker so the hot status path
 * allocates nothing. Later calls deliver the body; the last call (no more data) dispatches.
 * A resumed request comes back with its context in PHASE_RESUMED. */
#include "server.h"

#include "admin_api.h"
#include "admin_handlers.h"
#include "admin_jobs.h"
#include "delay_queue.h"
#include "listener.h"
#include "log.h"
#include "server_internal.h"
#include "sim_random.h"
#include "timeutil.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Admin bodies above this are refused: the largest legitimate one is a bulk instance list. */
#define ADMIN_BODY_LIMIT (16 * 1024 * 1024)
/* How often held requests' sockets are checked for a client that gave up. */
#define WATCH_INTERVAL_MS 1000
/* Idle keep-alive connections are closed after this (held requests are exempt). */
#define IDLE_TIMEOUT_SECONDS 120
#define LISTEN_BACKLOG 4096
/* Per-connection buffer: request lines and headers here are small. */
#define CONNECTION_MEMORY_LIMIT (16 * 1024)
/* How long stop waits for released requests to leave before stopping the daemon. */
#define STOP_DRAIN_MS 5000

/* *req_cls of requests that need no context (their bodies are discarded). */
static char no_context_marker;

static request_context *context_new(sim_server *server, struct MHD_Connection *connection)
{
    request_context *context = calloc(1, sizeof *context);
    if (context != NULL) {
        context->server = server;
        context->connection = connection;
        context->entry.watch_fd = -1;
    }
    return context;
}

static void context_free(request_context *context)
{
    response_plan_release(&context->plan);
    free(context->body);
    free(context);
}

/* --- answers --------------------------------------------------------------------------- */

enum MHD_Result server_queue_buffer(struct MHD_Connection *connection, unsigned int status,
                                    const char *content_type, const char *body, size_t length,
                                    enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(length, (void *)(uintptr_t)body, mode);
    if (response == NULL) {
        if (mode == MHD_RESPMEM_MUST_FREE) {
            free((void *)(uintptr_t)body);
        }
        return MHD_NO;
    }
    if (content_type != NULL) {
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    }
    enum MHD_Result result = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return result;
}

static enum MHD_Result answer_copy(struct MHD_Connection *connection, unsigned int status,
                                   const char *content_type, const char *body, size_t length)
{
    return server_queue_buffer(connection, status, content_type, body, length,
                               MHD_RESPMEM_MUST_COPY);
}

enum MHD_Result server_answer_error(struct MHD_Connection *connection, unsigned int status,
                                    const char *code, const char *message)
{
    char body[512];
    json_t *object = json_pack("{s:s, s:s}", "error", code, "message", message);
    char *dumped = object != NULL ? json_dumps(object, JSON_COMPACT) : NULL;
    snprintf(body, sizeof body, "%s", dumped != NULL ? dumped : "{\"error\":\"internal_error\"}");
    free(dumped);
    json_decref(object);
    return answer_copy(connection, status, JSON_TYPE, body, strlen(body));
}

/* The reader of a response whose transfer is cut short: it announces the full length,
 * delivers `length` bytes, then reports an error so libmicrohttpd closes the connection. */
typedef struct {
    char *body;
    size_t length;
} cut_body;

static ssize_t cut_body_read(void *cls, uint64_t position, char *buffer, size_t max)
{
    cut_body *cut = cls;
    if (position >= cut->length) {
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t count = cut->length - (size_t)position;
    if (count > max) {
        count = max;
    }
    memcpy(buffer, cut->body + position, count);
    return (ssize_t)count;
}

static void cut_body_free(void *cls)
{
    cut_body *cut = cls;
    free(cut->body);
    free(cut);
}

/* Makes the kernel answer the peer with RST when the socket is closed: SO_LINGER with a zero
 * timeout discards unsent data and aborts the connection instead of the orderly FIN. */
static void arrange_reset(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (info != NULL) {
        struct linger linger = {.l_onoff = 1, .l_linger = 0};
        if (setsockopt(info->connect_fd, SOL_SOCKET, SO_LINGER, &linger, sizeof linger) != 0) {
            log_debug("SO_LINGER failed, the reset becomes a close", "{s:s}", "error",
                      strerror(errno));
        }
    }
}

/* Carries out a plan now. Takes the plan's body. MHD_NO closes the connection. */
static enum MHD_Result send_plan(struct MHD_Connection *connection, response_plan *plan)
{
    if (plan->action == RESPONSE_ACTION_RESET) {
        arrange_reset(connection);
        return MHD_NO;
    }
    if (plan->action == RESPONSE_ACTION_CLOSE) {
        return MHD_NO;
    }
    struct MHD_Response *response = NULL;
    if (plan->declared_length > plan->body_length) {
        cut_body *cut = malloc(sizeof *cut);
        if (cut == NULL) {
            return MHD_NO;
        }
        cut->body = plan->body;
        cut->length = plan->body_length;
        plan->body = NULL;
        response = MHD_create_response_from_callback(plan->declared_length, 4096, cut_body_read,
                                                     cut, cut_body_free);
        if (response == NULL) {
            cut_body_free(cut);
            return MHD_NO;
        }
    } else {
        response = MHD_create_response_from_buffer(
            plan->body_length, plan->body != NULL ? plan->body : (void *)(uintptr_t) "",
            plan->body != NULL ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (response == NULL) {
            return MHD_NO;
        }
        plan->body = NULL; /* now owned by the response */
    }
    if (plan->content_type[0] != '\0') {
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, plan->content_type);
    }
    if (plan->location[0] != '\0') {
        MHD_add_response_header(response, MHD_HTTP_HEADER_LOCATION, plan->location);
    }
    enum MHD_Result result = MHD_queue_response(connection, plan->http_status, response);
    MHD_destroy_response(response);
    response_plan_release(plan);
    return result;
}

/* Returns the request's context, creating it if the request had only the marker. */
static request_context *ensure_context(sim_server *server, struct MHD_Connection *connection,
                                       void **req_cls)
{
    if (*req_cls != NULL && *req_cls != &no_context_marker) {
        return *req_cls;
    }
    request_context *context = context_new(server, connection);
    if (context != NULL) {
        *req_cls = context;
    }
    return context;
}

void server_suspend(sim_server *server, request_context *context)
{
    context->phase = PHASE_SUSPENDED;
    context->counted_as_suspended = true;
    atomic_fetch_add(&server->suspended, 1);
    MHD_suspend_connection(context->connection);
}

/* The request is no longer held (answered, closed, or gone). */
static void stop_counting(request_context *context)
{
    if (context->counted_as_suspended) {
        context->counted_as_suspended = false;
        atomic_fetch_sub(&context->server->suspended, 1);
    }
}

/* Resumes a suspended request from any thread; the handler then sends context->plan. */
void server_resume(request_context *context, delay_reason reason)
{
    context->reason = reason;
    context->phase = PHASE_RESUMED;
    MHD_resume_connection(context->connection);
}

/* Executes a plan: at once, or after its delay by suspending the request. Takes the plan. */
static enum MHD_Result execute_plan(sim_server *server, struct MHD_Connection *connection,
                                    response_plan *plan, void **req_cls)
{
    if (plan->delay_ms <= 0) {
        return send_plan(connection, plan);
    }
    request_context *context = ensure_context(server, connection, req_cls);
    if (context == NULL) {
        response_plan_release(plan);
        return MHD_NO;
    }
    response_plan_release(&context->plan);
    context->plan = *plan;
    memset(plan, 0, sizeof *plan);
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    context->entry.watch_fd = info != NULL ? info->connect_fd : -1;
    context->entry.due_ms = time_now_monotonic_ms() + context->plan.delay_ms;
    /* Suspend before queueing: the timer may fire at once, and resuming a connection that is
     * not suspended yet is undefined. */
    server_suspend(server, context);
    if (!delay_timer_add(server->timer, &context->entry)) {
        server_resume(context, DELAY_FIRED_SHUTDOWN);
    }
    return MHD_YES;
}

/* The timer thread's callback: a held request's time is up (or its client left). */
static void on_delay_fired(delay_entry *entry, delay_reason reason, void *cls)
{
    sim_server *server = cls;
    request_context *context = (request_context *)entry;
    metrics_counter_add(server->metrics->held_released[reason], 1);
    server_resume(context, reason);
}

/* The handler's call for a resumed request. */
static enum MHD_Result finish_resumed(request_context *context)
{
    stop_counting(context);
    context->phase = PHASE_RECEIVING;
    if (context->reason == DELAY_FIRED_CLIENT_GONE) {
        return MHD_NO;
    }
    /* At shutdown a delayed answer goes out at once (its delay cut short) and a hang ends. */
    return send_plan(context->connection, &context->plan);
}

/* --- authentication -------------------------------------------------------------------- */

/* Compares in time independent of where the texts differ. */
static bool secret_equals(const char *given, const char *expected)
{
    size_t given_length = strlen(given);
    size_t expected_length = strlen(expected);
    unsigned char difference = given_length != expected_length;
    for (size_t i = 0; i < expected_length; i++) {
        unsigned char other = i < given_length ? (unsigned char)given[i] : 0;
        difference |= (unsigned char)(other ^ (unsigned char)expected[i]);
    }
    return difference == 0;
}

/* true when no token is configured, or the header is "Bearer <token>". */
bool server_bearer_accepted(struct MHD_Connection *connection, const char *token)
{
    if (token == NULL || token[0] == '\0') {
        return true;
    }
    const char *header =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0) {
        return false;
    }
    header += 7;
    while (*header == ' ') {
        header++;
    }
    return secret_equals(header, token);
}

static bool header_accepted(struct MHD_Connection *connection, const char *name, const char *token)
{
    if (token == NULL || token[0] == '\0') {
        return true;
    }
    const char *header = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, name);
    return header != NULL && secret_equals(header, token);
}

static enum MHD_Result answer_unauthorized(struct MHD_Connection *connection)
{
    return server_answer_error(connection, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                               "missing or wrong credentials");
}

/* --- CP status API --------------------------------------------------------------------- */

/* Writes the answer the fleet gives without faults. Returns the body length. */
static size_t normal_status_answer(const fleet_status *status, unsigned int *http_status,
                                   char *body, size_t size)
{
    int length = 0;
    switch (status->answer) {
    case STATUS_ANSWER_STATE:
    case STATUS_ANSWER_RETIRED_INSTANCE:
        /* Ids reaching here passed fleet_id_is_valid: nothing to escape. */
        *http_status = MHD_HTTP_OK;
        length = snprintf(body, size, "{\"state\":\"%s\",\"instance_id\":\"%s\"}",
                          instance_state_name(status->state), status->instance_id);
        break;
    case STATUS_ANSWER_MISSING_INSTANCE_ID:
        *http_status = MHD_HTTP_BAD_REQUEST;
        length = snprintf(body, size,
                          "{\"error\":\"missing_instance_id\",\"message\":\"the "
                          "instance_id query parameter is required\"}");
        break;
    case STATUS_ANSWER_INSTANCE_NOT_FOUND:
        *http_status = MHD_HTTP_NOT_FOUND;
        length = snprintf(body, size,
                          "{\"error\":\"instance_not_found\",\"message\":\"the "
                          "workspace never ran on this instance\"}");
        break;
    default:
        *http_status = MHD_HTTP_NOT_FOUND;
        length = snprintf(body, size,
                          "{\"error\":\"workspace_not_found\",\"message\":\"no such "
                          "workspace in the simulated fleet\"}");
        break;
    }
    return length > 0 && (size_t)length < size ? (size_t)length : 0;
}

static enum MHD_Result handle_status(sim_server *server, struct MHD_Connection *connection,
                                     const char *workspace_id, void **req_cls)
{
    int64_t now_ms = time_now_wall_ms();
    const fleet_sim_settings *settings = server->settings;
    if (!server_bearer_accepted(connection, settings->cp_shared_secret) ||
        !header_accepted(connection, "X-Molecule-Admin-Token", settings->cp_admin_token)) {
        fleet_status_record(server->fleet, workspace_id, STATUS_ANSWER_UNAUTHORIZED, 0,
                            MHD_HTTP_UNAUTHORIZED, NULL, now_ms);
        sim_metrics_count_status(server->metrics, STATUS_ANSWER_UNAUTHORIZED, 0);
        return answer_unauthorized(connection);
    }
    const char *instance_id =
        MHD_lookup_connection_value(connection, MHD_GET_ARGUMENT_KIND, "instance_id");
    fleet_status status;
    fleet_status_lookup(server->fleet, workspace_id, instance_id, &status);
    char body[256];
    unsigned int http_status = 0;
    size_t length = normal_status_answer(&status, &http_status, body, sizeof body);

    fault_rule rule;
    if (fault_table_count(server->faults) > 0 &&
        fault_table_match(server->faults, FAULT_ENDPOINT_STATUS, workspace_id, instance_id,
                          fleet_random_unit(sim_random_thread()), &rule)) {
        response_plan normal;
        response_plan plan;
        if (!response_plan_json(&normal, http_status, body, length)) {
            return MHD_NO;
        }
        bool built =
            fault_build_plan(&rule.spec, &normal, instance_id, MHD_HTTP_OK,
                             fleet_random_unit(sim_random_thread()), settings->hang_cap_ms, &plan);
        response_plan_release(&normal);
        if (!built) {
            return MHD_NO;
        }
        fleet_status_record(server->fleet, workspace_id, STATUS_ANSWER_FAULT, status.state,
                            plan.action == RESPONSE_ACTION_ANSWER ? plan.http_status : 0,
                            fault_mode_name(rule.spec.mode), now_ms);
        sim_metrics_count_status(server->metrics, STATUS_ANSWER_FAULT, 0);
        sim_metrics_count_fault(server->metrics, rule.spec.mode, FAULT_ENDPOINT_STATUS);
        return execute_plan(server, connection, &plan, req_cls);
    }
    fleet_status_record(server->fleet, workspace_id, status.answer, status.state, http_status, NULL,
                        now_ms);
    sim_metrics_count_status(server->metrics, status.answer, status.state);
    return answer_copy(connection, http_status, JSON_TYPE, body, length);
}

/* The default redirect target: answers a state, so a client that follows redirects (which
 * the reconciler must not) visibly acts on it. */
static enum MHD_Result handle_redirect_target(struct MHD_Connection *connection,
                                              const char *state_text)
{
    instance_state state;
    if (!instance_state_parse(state_text, &state)) {
        return server_answer_error(connection, MHD_HTTP_NOT_FOUND, "not_found", "no such path");
    }
    char body[64];
    int length = snprintf(body, sizeof body, "{\"state\":\"%s\"}", instance_state_name(state));
    return answer_copy(connection, MHD_HTTP_OK, JSON_TYPE, body, (size_t)length);
}

/* --- restart API ----------------------------------------------------------------------- */

static enum MHD_Result handle_restart(sim_server *server, struct MHD_Connection *connection,
                                      const char *workspace_id, void **req_cls)
{
    int64_t now_ms = time_now_wall_ms();
    if (!server_bearer_accepted(connection, server->settings->restart_token)) {
        metrics_counter_add(server->metrics->restart_requests[RESTART_ANSWER_UNAUTHORIZED], 1);
        return answer_unauthorized(connection);
    }
    char current[FLEET_ID_MAX + 1] = "";
    bool known = fleet_current_instance(server->fleet, workspace_id, current);
    int64_t delay_ms = reprovisioner_delay_ms(server->reprovisioner);

    char body[256];
    unsigned int http_status = MHD_HTTP_ACCEPTED;
    int length = 0;
    if (known) {
        length = snprintf(body, sizeof body,
                          "{\"status\":\"accepted\",\"workspace_id\":\"%s\",\"reprovision_in_ms\":"
                          "%lld}",
                          workspace_id, (long long)delay_ms);
    } else {
        http_status = MHD_HTTP_NOT_FOUND;
        length = snprintf(body, sizeof body,
                          "{\"error\":\"workspace_not_found\",\"message\":\"no "
                          "such workspace in the simulated fleet\"}");
    }

    fault_rule rule;
    bool faulted =
        fault_table_count(server->faults) > 0 &&
        fault_table_match(server->faults, FAULT_ENDPOINT_RESTART, workspace_id,
                          known ? current : NULL, fleet_random_unit(sim_random_thread()), &rule);
    response_plan plan;
    bool performed = known;
    if (faulted) {
        response_plan normal;
        if (!response_plan_json(&normal, http_status, body, (size_t)length)) {
            return MHD_NO;
        }
        bool built = fault_build_plan(&rule.spec, &normal, known ? current : NULL,
                                      MHD_HTTP_ACCEPTED, fleet_random_unit(sim_random_thread()),
                                      server->settings->hang_cap_ms, &plan);
        response_plan_release(&normal);
        if (!built) {
            return MHD_NO;
        }
        performed = known && fault_restart_performed(&rule.spec, &plan);
        sim_metrics_count_fault(server->metrics, rule.spec.mode, FAULT_ENDPOINT_RESTART);
    }

    bool already_pending = false;
    if (known) {
        fleet_restart_request(server->fleet, workspace_id, performed, now_ms, &already_pending);
        if (performed && !already_pending &&
            !reprovisioner_schedule(server->reprovisioner, workspace_id)) {
            fleet_cancel_reprovision(server->fleet, workspace_id);
            log_error("restart could not be scheduled", "{s:s}", "workspace_id", workspace_id);
            if (faulted) {
                response_plan_release(&plan);
            }
            return server_answer_error(connection, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down",
                                       "the simulator is stopping");
        }
    }
    restart_answer answer = faulted           ? RESTART_ANSWER_FAULT
                            : !known          ? RESTART_ANSWER_WORKSPACE_NOT_FOUND
                            : already_pending ? RESTART_ANSWER_ALREADY_PENDING
                                              : RESTART_ANSWER_ACCEPTED;
    metrics_counter_add(server->metrics->restart_requests[answer], 1);
    if (performed && !already_pending) {
        log_info("restart accepted", "{s:s, s:s, s:I, s:b}", "workspace_id", workspace_id,
                 "instance_id", current, "reprovision_in_ms", (json_int_t)delay_ms, "fault",
                 faulted);
    }
    if (faulted) {
        return execute_plan(server, connection, &plan, req_cls);
    }
    if (already_pending) {
        length = snprintf(body, sizeof body,
                          "{\"status\":\"accepted\",\"workspace_id\":\"%s\",\"already_pending\":"
                          "true}",
                          workspace_id);
    }
    return answer_copy(connection, http_status, JSON_TYPE, body, (size_t)length);
}

/* --- metrics and probes ---------------------------------------------------------------- */

void sim_server_refresh_gauges(sim_server *server)
{
    uint64_t counts[INSTANCE_STATE_COUNT];
    fleet_count_by_state(server->fleet, counts);
    for (int i = 0; i < INSTANCE_STATE_COUNT; i++) {
        metrics_gauge_set(server->metrics->instances[i], (double)counts[i]);
    }
    metrics_gauge_set(server->metrics->held_requests, (double)delay_timer_pending(server->timer));
    metrics_gauge_set(server->metrics->fault_rules, (double)fault_table_count(server->faults));
}

static enum MHD_Result handle_metrics(sim_server *server, struct MHD_Connection *connection)
{
    sim_server_refresh_gauges(server);
    char *text = metrics_render_to_string(server->metrics->registry);
    if (text == NULL) {
        return server_answer_error(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal_error",
                                   "out of memory rendering metrics");
    }
    return server_queue_buffer(connection, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                               text, strlen(text), MHD_RESPMEM_MUST_FREE);
}

/* --- routing --------------------------------------------------------------------------- */

/* Copies the segment between `prefix` and `suffix` of `url` into buffer: one non-empty path
 * segment (no '/'). false if the url does not have that shape. */
static bool path_segment(const char *url, const char *prefix, const char *suffix, char *buffer,
                         size_t size)
{
    size_t prefix_length = strlen(prefix);
    size_t suffix_length = strlen(suffix);
    size_t url_length = strlen(url);
    if (url_length <= prefix_length + suffix_length || strncmp(url, prefix, prefix_length) != 0 ||
        strcmp(url + url_length - suffix_length, suffix) != 0) {
        return false;
    }
    size_t length = url_length - prefix_length - suffix_length;
    if (length >= size || memchr(url + prefix_length, '/', length) != NULL) {
        return false;
    }
    memcpy(buffer, url + prefix_length, length);
    buffer[length] = '\0';
    return true;
}

static bool method_is(const char *method, const char *expected)
{
    return strcmp(method, expected) == 0;
}

static enum MHD_Result dispatch(sim_server *server, struct MHD_Connection *connection,
                                const char *url, const char *method, request_context *context,
                                void **req_cls)
{
    char segment[256];
    bool reads = method_is(method, "GET") || method_is(method, "HEAD");
    if (path_segment(url, "/cp/workspaces/", "/status", segment, sizeof segment)) {
        if (!reads) {
            return server_answer_error(connection, MHD_HTTP_METHOD_NOT_ALLOWED,
                                       "method_not_allowed", "use GET");
        }
        return handle_status(server, connection, segment, req_cls);
    }
    if (path_segment(url, "/workspaces/", "/restart", segment, sizeof segment)) {
        if (!method_is(method, "POST")) {
            return server_answer_error(connection, MHD_HTTP_METHOD_NOT_ALLOWED,
                                       "method_not_allowed", "use POST");
        }
        return handle_restart(server, connection, segment, req_cls);
    }
    if (context != NULL && context->is_admin) {
        return admin_handle(server, connection, method, url + 6, context);
    }
    if (strcmp(url, "/metrics") == 0 && reads) {
        return handle_metrics(server, connection);
    }
    if (strcmp(url, "/healthz") == 0 && reads) {
        return answer_copy(connection, MHD_HTTP_OK, "text/plain", "ok\n", 3);
    }
    if (strcmp(url, "/readyz") == 0 && reads) {
        if (atomic_load(&server->stopping)) {
            return answer_copy(connection, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain",
                               "shutting down\n", 14);
        }
        return answer_copy(connection, MHD_HTTP_OK, "text/plain", "ready\n", 6);
    }
    if (path_segment(url, "/cp/redirected/", "", segment, sizeof segment) && reads) {
        return handle_redirect_target(connection, segment);
    }
    return server_answer_error(connection, MHD_HTTP_NOT_FOUND, "not_found", "no such path");
}

static bool is_admin_path(const char *url)
{
    return strncmp(url, "/admin", 6) == 0 && (url[6] == '\0' || url[6] == '/');
}

/* Appends a piece of an admin request body; past ADMIN_BODY_LIMIT it only marks the body too
 * large (answered 413 once complete). false on allocation failure. */
static bool append_body(request_context *context, const char *data, size_t size)
{
    if (context->body_too_large) {
        return true;
    }
    size_t needed = context->body_length + size;
    if (needed > ADMIN_BODY_LIMIT) {
        context->body_too_large = true;
        return true;
    }
    if (needed + 1 > context->body_capacity) {
        size_t capacity = context->body_capacity == 0 ? 4096 : context->body_capacity;
        while (capacity < needed + 1) {
            capacity *= 2;
        }
        char *body = realloc(context->body, capacity);
        if (body == NULL) {
            return false;
        }
        context->body = body;
        context->body_capacity = capacity;
    }
    memcpy(context->body + context->body_length, data, size);
    context->body_length = needed;
    context->body[needed] = '\0';
    return true;
}

static enum MHD_Result handle_request(void *cls, struct MHD_Connection *connection, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_cls)
{
    (void)version;
    sim_server *server = cls;
    if (*req_cls == NULL) {
        /* Headers only. Admin requests get a context to collect their JSON body. */
        if (is_admin_path(url)) {
            request_context *context = context_new(server, connection);
            if (context == NULL) {
                return MHD_NO;
            }
            context->is_admin = true;
            *req_cls = context;
        } else {
            *req_cls = &no_context_marker;
        }
        return MHD_YES;
    }
    request_context *context = *req_cls == &no_context_marker ? NULL : *req_cls;
    if (context != NULL && context->phase == PHASE_RESUMED) {
        return finish_resumed(context);
    }
    if (*upload_data_size > 0) {
        if (context != NULL && context->is_admin &&
            !append_body(context, upload_data, *upload_data_size)) {
            return MHD_NO;
        }
        *upload_data_size = 0; /* consumed (or discarded) */
        return MHD_YES;
    }
    return dispatch(server, connection, url, method, context, req_cls);
}

static void request_completed(void *cls, struct MHD_Connection *connection, void **req_cls,
                              enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)connection;
    (void)code;
    if (*req_cls != NULL && *req_cls != &no_context_marker) {
        request_context *context = *req_cls;
        stop_counting(context);
        context_free(context);
    }
    *req_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *format,
                                                          va_list arguments)
{
    (void)cls;
    char message[512];
    vsnprintf(message, sizeof message, format, arguments);
    size_t length = strlen(message);
    while (length > 0 && message[length - 1] == '\n') {
        message[--length] = '\0';
    }
    /* Closing a connection without an answer is how reset, hang and a client that gave up
     * end; libmicrohttpd calls each an "internal error". Expected here: debug only. */
    bool expected = strstr(message, "Application reported internal error") != NULL;
    log_at(expected ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN, "libmicrohttpd", "{s:s}", "detail",
           message);
}

/* --- life cycle ------------------------------------------------------------------------ */

sim_server *sim_server_start(const sim_server_parts *parts, char *error_buffer, size_t error_size)
{
    sim_server *server = calloc(1, sizeof *server);
    if (server == NULL) {
        snprintf(error_buffer, error_size, "out of memory");
        return NULL;
    }
    server->settings = parts->settings;
    server->fleet = parts->fleet;
    server->faults = parts->faults;
    server->reprovisioner = parts->reprovisioner;
    server->metrics = parts->metrics;
    server->listen_fd = -1;
    atomic_init(&server->stopping, false);
    atomic_init(&server->suspended, 0);

    /* Non-blocking: with a thread pool every thread accepts from this socket, and a blocking
     * accept would stall the thread that lost the race for a connection. */
    listener_socket listening;
    if (listener_open(parts->settings->address, "FLEETSIM_ADDR", LISTEN_BACKLOG, true, &listening,
                      error_buffer, error_size) != LISTENER_OK) {
        free(server);
        return NULL;
    }
    server->listen_fd = listening.fd;
    server->port = listening.port;
    server->timer = delay_timer_start(on_delay_fired, server, WATCH_INTERVAL_MS);
    server->jobs = admin_jobs_start(parts->fleet, parts->settings->database_url,
                                    parts->settings->seed_batch_size, parts->metrics,
                                    admin_handle_job_done, server);
    server->hints = hint_sender_start(parts->settings->hint_url, parts->settings->hint_token);
    if (server->timer == NULL || server->jobs == NULL || server->hints == NULL) {
        snprintf(error_buffer, error_size, "cannot start the timer, job or hint thread");
        goto fail;
    }
    /* Epoll with an internal thread: one loop serves every connection; suspend/resume lets a
     * held request cost a socket and a heap entry, not a thread. TURBO skips readiness checks
     * before reads and writes (and the shutdown(2) before close, which a reset needs). */
    unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO |
                         MHD_USE_ERROR_LOG | (listening.ipv6 ? MHD_USE_IPv6 : 0);
    unsigned int pool = (unsigned int)parts->settings->threads;
    struct MHD_OptionItem options[] = {
        {MHD_OPTION_LISTEN_SOCKET, server->listen_fd, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)parts->settings->connection_limit, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, IDLE_TIMEOUT_SECONDS, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY_LIMIT, NULL},
        /* A pool of one is no pool: the option is left out (END) unless more are asked. */
        {pool > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (intptr_t)pool, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    /* The logger goes first so that messages about the other options reach it too. */
    server->daemon =
        MHD_start_daemon(flags, 0, NULL, NULL, handle_request, server, MHD_OPTION_EXTERNAL_LOGGER,
                         mhd_log, server, MHD_OPTION_NOTIFY_COMPLETED, request_completed, server,
                         MHD_OPTION_ARRAY, options, MHD_OPTION_END);
    if (server->daemon == NULL) {
        snprintf(error_buffer, error_size, "libmicrohttpd did not start on %s",
                 parts->settings->address);
        goto fail;
    }
    return server;
fail:
    hint_sender_stop(server->hints);
    if (server->jobs != NULL) {
        admin_jobs_stop(server->jobs);
        admin_jobs_free(server->jobs);
    }
    delay_timer_stop(server->timer);
    close(server->listen_fd);
    free(server);
    return NULL;
}

int sim_server_port(const sim_server *server)
{
    return server->port;
}

void sim_server_stop(sim_server *server)
{
    if (server == NULL) {
        return;
    }
    atomic_store(&server->stopping, true);
    admin_jobs_stop(server->jobs);
    delay_timer_release_all(server->timer);
    int64_t deadline_ms = time_now_monotonic_ms() + STOP_DRAIN_MS;
    while (atomic_load(&server->suspended) > 0 && time_now_monotonic_ms() < deadline_ms) {
        struct timespec interval = {0, 10 * 1000 * 1000};
        nanosleep(&interval, NULL);
    }
    long left = atomic_load(&server->suspended);
    if (left > 0) {
        log_warn("held requests still suspended at stop", "{s:I}", "count", (json_int_t)left);
    }
    MHD_stop_daemon(server->daemon);
    close(server->listen_fd);
    delay_timer_stop(server->timer);
    admin_jobs_free(server->jobs);
    hint_sender_stop(server->hints);
    free(server);
}
