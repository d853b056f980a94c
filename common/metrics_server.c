/* metrics_server.c — the /metrics, /healthz and /readyz endpoints (libmicrohttpd).
 *
 * For: serving the registry and the program's liveness and readiness on METRICS_ADDR from
 * libmicrohttpd's own thread. Not for: any other HTTP (fleet-sim has its own server), and not
 * for deciding readiness: the program says when it is ready; this only reports it.
 *
 * The listening socket comes from listener.c (address syntax, bind, the error that says why)
 * and is handed to libmicrohttpd. */
#include "metrics.h"

#include "listener.h"
#include "log.h"
#include "timeutil.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_LIVENESS_WINDOW_MS 60000
#define LISTEN_BACKLOG 64
/* Scrapers and probes are few; a cap keeps a misbehaving client from exhausting threads. */
#define CONNECTION_LIMIT 64
#define CONNECTION_TIMEOUT_SECONDS 10

struct metrics_server {
    struct MHD_Daemon *daemon;
    metrics_registry *registry;
    int port;
    atomic_int_least64_t last_heartbeat_ms; /* monotonic */
    atomic_int_least64_t liveness_window_ms;
    atomic_bool ready;
    pthread_mutex_t reason_lock; /* guards not_ready_reason */
    char not_ready_reason[256];
};

static void set_error(char *error_buffer, size_t error_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(char *error_buffer, size_t error_size, const char *format, ...)
{
    if (error_buffer == NULL || error_size == 0) {
        return;
    }
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error_buffer, error_size, format, arguments);
    va_end(arguments);
}

/* Queues a response with a copy of `body`. */
static enum MHD_Result respond(struct MHD_Connection *connection, unsigned int status,
                               const char *content_type, const char *body)
{
    /* MUST_COPY: libmicrohttpd copies at once, so the const is honoured despite its void *. */
    struct MHD_Response *response =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (response == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    /* Probes and scrapes must always see the current state. */
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result queued = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return queued;
}

static enum MHD_Result handle_request(void *context, struct MHD_Connection *connection,
                                      const char *url, const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **request_state)
{
    (void)version;
    (void)upload_data;
    (void)request_state;
    static const char text_type[] = "text/plain; charset=utf-8";
    metrics_server *server = context;

    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        *upload_data_size = 0; /* discard any body; we answer without reading it */
        return respond(connection, MHD_HTTP_METHOD_NOT_ALLOWED, text_type, "method not allowed\n");
    }
    if (strcmp(url, "/metrics") == 0) {
        char *text = metrics_render_to_string(server->registry);
        if (text == NULL) {
            return respond(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, text_type,
                           "rendering metrics failed\n");
        }
        enum MHD_Result queued =
            respond(connection, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text);
        free(text);
        return queued;
    }
    if (strcmp(url, "/healthz") == 0) {
        int64_t silent_ms = time_now_monotonic_ms() -
                            atomic_load_explicit(&server->last_heartbeat_ms, memory_order_relaxed);
        int64_t window_ms = atomic_load_explicit(&server->liveness_window_ms, memory_order_relaxed);
        if (silent_ms <= window_ms) {
            return respond(connection, MHD_HTTP_OK, text_type, "ok\n");
        }
        char body[128];
        snprintf(body, sizeof body, "main loop silent for %lld ms (window %lld ms)\n",
                 (long long)silent_ms, (long long)window_ms);
        return respond(connection, MHD_HTTP_SERVICE_UNAVAILABLE, text_type, body);
    }
    if (strcmp(url, "/readyz") == 0) {
        if (atomic_load_explicit(&server->ready, memory_order_relaxed)) {
            return respond(connection, MHD_HTTP_OK, text_type, "ready\n");
        }
        char body[320];
        pthread_mutex_lock(&server->reason_lock);
        snprintf(body, sizeof body, "not ready: %s\n", server->not_ready_reason);
        pthread_mutex_unlock(&server->reason_lock);
        return respond(connection, MHD_HTTP_SERVICE_UNAVAILABLE, text_type, body);
    }
    return respond(connection, MHD_HTTP_NOT_FOUND, text_type,
                   "not found; try /metrics, /healthz or /readyz\n");
}

/* libmicrohttpd's own error messages, as JSON log lines instead of raw stderr text. */
__attribute__((format(printf, 2, 0))) static void
log_from_microhttpd(void *context, const char *format, va_list arguments)
{
    (void)context;
    char message[512];
    vsnprintf(message, sizeof message, format, arguments);
    size_t length = strlen(message);
    while (length > 0 && (message[length - 1] == '\n' || message[length - 1] == '\r')) {
        message[--length] = '\0';
    }
    log_warn("metrics server", "{s:s}", "microhttpd", message);
}

metrics_server *metrics_server_start(metrics_registry *registry, const char *address,
                                     char *error_buffer, size_t error_size)
{
    if (registry == NULL) {
        set_error(error_buffer, error_size, "metrics server: no registry");
        return NULL;
    }
    metrics_server *server = calloc(1, sizeof *server);
    if (server == NULL) {
        set_error(error_buffer, error_size, "metrics server: out of memory");
        return NULL;
    }
    server->registry = registry;
    atomic_init(&server->last_heartbeat_ms, time_now_monotonic_ms());
    atomic_init(&server->liveness_window_ms, DEFAULT_LIVENESS_WINDOW_MS);
    atomic_init(&server->ready, false);
    snprintf(server->not_ready_reason, sizeof server->not_ready_reason, "starting");
    if (pthread_mutex_init(&server->reason_lock, NULL) != 0) {
        set_error(error_buffer, error_size, "metrics server: pthread_mutex_init failed");
        free(server);
        return NULL;
    }

    listener_socket listening;
    if (listener_open(address, "metrics address", LISTEN_BACKLOG, false, &listening, error_buffer,
                      error_size) != LISTENER_OK) {
        pthread_mutex_destroy(&server->reason_lock);
        free(server);
        return NULL;
    }
    server->port = listening.port;
    unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (listening.ipv6) {
        flags |= MHD_USE_IPv6;
    }
    server->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, handle_request, server, MHD_OPTION_EXTERNAL_LOGGER,
        log_from_microhttpd, NULL, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listening.fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)CONNECTION_TIMEOUT_SECONDS, MHD_OPTION_END);
    if (server->daemon == NULL) {
        set_error(error_buffer, error_size, "metrics address '%s': MHD_start_daemon failed",
                  address);
        close(listening.fd);
        pthread_mutex_destroy(&server->reason_lock);
        free(server);
        return NULL;
    }
    /* The listening socket is now owned by the daemon; MHD_stop_daemon closes it. */
    return server;
}

int metrics_server_port(const metrics_server *server)
{
    return server != NULL ? server->port : 0;
}

void metrics_server_set_ready(metrics_server *server, bool ready, const char *reason)
{
    if (server == NULL) {
        return;
    }
    pthread_mutex_lock(&server->reason_lock);
    snprintf(server->not_ready_reason, sizeof server->not_ready_reason, "%s",
             reason != NULL && *reason != '\0' ? reason : "not ready");
    pthread_mutex_unlock(&server->reason_lock);
    atomic_store_explicit(&server->ready, ready, memory_order_relaxed);
}

void metrics_server_heartbeat(metrics_server *server)
{
    if (server != NULL) {
        atomic_store_explicit(&server->last_heartbeat_ms, time_now_monotonic_ms(),
                              memory_order_relaxed);
    }
}

void metrics_server_set_liveness_window(metrics_server *server, int64_t liveness_window_ms)
{
    if (server != NULL) {
        atomic_store_explicit(&server->liveness_window_ms, liveness_window_ms,
                              memory_order_relaxed);
    }
}

void metrics_server_stop(metrics_server *server)
{
    if (server == NULL) {
        return;
    }
    MHD_stop_daemon(server->daemon); /* joins its thread; closes the listening socket */
    pthread_mutex_destroy(&server->reason_lock);
    free(server);
}
