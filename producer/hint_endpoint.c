/* hint_endpoint.c — see hint_endpoint.h. */
#include "hint_endpoint.h"

#include "listener.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* EventBridge events are a few KiB at most; anything bigger is not a hint. */
#define HINT_BODY_MAX 65536
#define HINT_CONNECTION_LIMIT 64
#define HINT_CONNECTION_TIMEOUT_SECONDS 10

struct hint_endpoint {
    struct MHD_Daemon *daemon;
    int port;
    char *expected_authorization; /* "Bearer <token>" */
    hint_endpoint_sink sink;
};

const char *hint_outcome_name(hint_outcome outcome)
{
    static const char *const names[] = {"queued",     "unauthorized",   "too_large",
                                        "queue_full", "duplicate",      "unknown_instance",
                                        "checked",    "database_error", "kafka_error"};
    if ((int)outcome < (int)HINT_PARSE_RESULT_COUNT)
        return hint_parse_result_name((hint_parse_result)outcome);
    return outcome < HINT_OUTCOME_COUNT ? names[outcome - HINT_PARSE_RESULT_COUNT] : "unknown";
}

typedef struct {
    char *body;
    size_t length;
    bool too_large;
} upload;

static enum MHD_Result answer(struct MHD_Connection *connection, unsigned int status,
                              const char *error)
{
    char body[128];
    if (error != NULL)
        snprintf(body, sizeof body, "{\"error\":\"%s\"}\n", error);
    else
        snprintf(body, sizeof body, "{\"queued\":true}\n");
    struct MHD_Response *response =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
    if (response == NULL)
        return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    enum MHD_Result queued = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return queued;
}

/* Compares in time independent of where the first difference is, so the token cannot be
 * guessed a byte at a time from answer times. */
static bool token_matches(const char *expected, const char *given)
{
    if (given == NULL)
        return false;
    size_t expected_length = strlen(expected), given_length = strlen(given);
    unsigned char difference = expected_length != given_length;
    for (size_t index = 0; index < expected_length; index++)
        difference |= (unsigned char)(expected[index] ^ given[index < given_length ? index : 0]);
    return difference == 0;
}

static enum MHD_Result handle_hint(void *context, struct MHD_Connection *connection,
                                   const char *url, const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **request_state)
{
    (void)version;
    hint_endpoint *endpoint = context;
    upload *state = *request_state;
    if (state == NULL) {
        /* First call: headers only. The token is checked before any body is read. */
        if (strcmp(url, "/hints") != 0)
            return answer(connection, MHD_HTTP_NOT_FOUND, "not_found");
        if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
            return answer(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed");
        const char *authorization =
            MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        if (!token_matches(endpoint->expected_authorization, authorization)) {
            endpoint->sink.count(endpoint->sink.context, HINT_OUTCOME_UNAUTHORIZED);
            return answer(connection, MHD_HTTP_UNAUTHORIZED, "unauthorized");
        }
        state = calloc(1, sizeof *state);
        if (state == NULL)
            return MHD_NO;
        *request_state = state;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!state->too_large && state->length + *upload_data_size <= HINT_BODY_MAX) {
            char *grown = realloc(state->body, state->length + *upload_data_size);
            if (grown == NULL)
                return MHD_NO;
            memcpy(grown + state->length, upload_data, *upload_data_size);
            state->body = grown;
            state->length += *upload_data_size;
        } else {
            state->too_large = true; /* read and dropped, then refused as a whole */
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (state->too_large) {
        endpoint->sink.count(endpoint->sink.context, HINT_OUTCOME_TOO_LARGE);
        return answer(connection, MHD_HTTP_CONTENT_TOO_LARGE, "too_large");
    }
    char instance_id[HINT_INSTANCE_ID_MAX + 1];
    hint_parse_result result =
        hint_parse(state->body != NULL ? state->body : "", state->length, instance_id);
    if (result == HINT_PARSE_NOT_A_TERMINATION || result == HINT_PARSE_UNSUPPORTED_EVENT) {
        /* Well-formed and understood: nothing to do, and no reason for the sender to retry. */
        endpoint->sink.count(endpoint->sink.context, (hint_outcome)result);
        return answer(connection, MHD_HTTP_OK, hint_parse_result_name(result));
    }
    if (result != HINT_PARSE_OK) {
        endpoint->sink.count(endpoint->sink.context, (hint_outcome)result);
        return answer(connection, MHD_HTTP_BAD_REQUEST, hint_parse_result_name(result));
    }
    if (!endpoint->sink.enqueue(endpoint->sink.context, instance_id)) {
        endpoint->sink.count(endpoint->sink.context, HINT_OUTCOME_QUEUE_FULL);
        return answer(connection, MHD_HTTP_SERVICE_UNAVAILABLE, "queue_full");
    }
    endpoint->sink.count(endpoint->sink.context, HINT_OUTCOME_QUEUED);
    return answer(connection, MHD_HTTP_ACCEPTED, NULL);
}

static void request_completed(void *context, struct MHD_Connection *connection,
                              void **request_state, enum MHD_RequestTerminationCode code)
{
    (void)context;
    (void)connection;
    (void)code;
    upload *state = *request_state;
    if (state != NULL) {
        free(state->body);
        free(state);
        *request_state = NULL;
    }
}

hint_endpoint *hint_endpoint_start(const char *address, const char *token, hint_endpoint_sink sink,
                                   char *error_buffer, size_t error_size)
{
    hint_endpoint *endpoint = calloc(1, sizeof *endpoint);
    size_t length = strlen(token) + sizeof "Bearer ";
    if (endpoint != NULL)
        endpoint->expected_authorization = malloc(length);
    if (endpoint == NULL || endpoint->expected_authorization == NULL) {
        snprintf(error_buffer, error_size, "out of memory");
        hint_endpoint_stop(endpoint);
        return NULL;
    }
    snprintf(endpoint->expected_authorization, length, "Bearer %s", token);
    endpoint->sink = sink;
    listener_socket listening;
    if (listener_open(address, "PRODUCER_HINT_ADDR", 64, false, &listening, error_buffer,
                      error_size) != LISTENER_OK) {
        hint_endpoint_stop(endpoint);
        return NULL;
    }
    unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (listening.ipv6)
        flags |= MHD_USE_IPv6;
    endpoint->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, handle_hint, endpoint, MHD_OPTION_NOTIFY_COMPLETED, request_completed,
        endpoint, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listening.fd, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)HINT_CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)HINT_CONNECTION_TIMEOUT_SECONDS, MHD_OPTION_END);
    if (endpoint->daemon == NULL) {
        close(listening.fd);
        snprintf(error_buffer, error_size, "PRODUCER_HINT_ADDR '%s': MHD_start_daemon failed",
                 address);
        hint_endpoint_stop(endpoint);
        return NULL;
    }
    endpoint->port = listening.port;
    return endpoint;
}

int hint_endpoint_port(const hint_endpoint *endpoint)
{
    return endpoint != NULL ? endpoint->port : 0;
}

void hint_endpoint_stop(hint_endpoint *endpoint)
{
    if (endpoint == NULL)
        return;
    if (endpoint->daemon != NULL)
        MHD_stop_daemon(endpoint->daemon); /* joins its thread; closes the listening socket */
    free(endpoint->expected_authorization);
    free(endpoint);
}
