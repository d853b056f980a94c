/* metrics_server.c — the /metrics, /healthz and /readyz endpoints (libmicrohttpd).
 *
 * For: serving the registry and the program's liveness and readiness on METRICS_ADDR from
 * libmicrohttpd's own thread. Not for: any other HTTP (fleet-sim has its own server), and not
 * for deciding readiness: the program says when it is ready; this only reports it.
 *
 * We bind the listening socket ourselves and hand it to libmicrohttpd, because
 * MHD_start_daemon only says "NULL" when the port is taken; our own bind(2) says why
 * ("Address already in use"), which the operator needs in the error line. */
#include "metrics.h"

#include "log.h"
#include "timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

typedef struct {
    struct sockaddr_storage storage;
    socklen_t length;
} bind_address;

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

/* Parses the port after the host: 1 to 5 digits, at most 65535. */
static bool parse_port(const char *text, uint16_t *out)
{
    size_t length = strlen(text);
    if (length == 0 || length > 5) {
        return false;
    }
    unsigned long value = 0;
    for (const char *cursor = text; *cursor != '\0'; cursor++) {
        if (*cursor < '0' || *cursor > '9') {
            return false;
        }
        value = value * 10 + (unsigned long)(*cursor - '0');
    }
    if (value > 65535) {
        return false;
    }
    *out = (uint16_t)value;
    return true;
}

/* "127.0.0.1:9101", "localhost:9101", "0.0.0.0:9101", "[::1]:9101", "[::]:9101". Host names
 * other than localhost are refused: resolving one could pick an interface nobody meant. */
static bool parse_bind_address(const char *address, bind_address *out, char *error_buffer,
                               size_t error_size)
{
    memset(out, 0, sizeof *out);
    if (address == NULL || *address == '\0') {
        set_error(error_buffer, error_size, "metrics address is empty");
        return false;
    }
    char host[64];
    const char *port_text;
    bool ipv6 = address[0] == '[';
    if (ipv6) {
        const char *close = strchr(address, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - address - 1) >= sizeof host) {
            set_error(error_buffer, error_size,
                      "metrics address '%s': expected [IPv6]:port, e.g. [::1]:9101", address);
            return false;
        }
        memcpy(host, address + 1, (size_t)(close - address - 1));
        host[close - address - 1] = '\0';
        port_text = close + 2;
    } else {
        const char *colon = strrchr(address, ':');
        if (colon == NULL || colon == address || (size_t)(colon - address) >= sizeof host) {
            set_error(error_buffer, error_size,
                      "metrics address '%s': expected host:port, e.g. 127.0.0.1:9101", address);
            return false;
        }
        memcpy(host, address, (size_t)(colon - address));
        host[colon - address] = '\0';
        port_text = colon + 1;
    }

    uint16_t port;
    if (!parse_port(port_text, &port)) {
        set_error(error_buffer, error_size, "metrics address '%s': port must be 0..65535", address);
        return false;
    }
    if (ipv6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->storage;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1) {
            set_error(error_buffer, error_size, "metrics address '%s': '%s' is not an IPv6 address",
                      address, host);
            return false;
        }
        out->length = sizeof *in6;
        return true;
    }
    struct sockaddr_in *in4 = (struct sockaddr_in *)&out->storage;
    in4->sin_family = AF_INET;
    in4->sin_port = htons(port);
    const char *numeric = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    if (inet_pton(AF_INET, numeric, &in4->sin_addr) != 1) {
        set_error(error_buffer, error_size,
                  "metrics address '%s': host must be an IPv4 address, localhost or [IPv6]",
                  address);
        return false;
    }
    out->length = sizeof *in4;
    return true;
}

/* Returns a listening socket bound to `address`, or -1 with the reason in error_buffer. */
static int open_listener(const char *address, const bind_address *where, int *port_out,
                         char *error_buffer, size_t error_size)
{
    int family = where->storage.ss_family;
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        set_error(error_buffer, error_size, "metrics address '%s': socket: %s", address,
                  strerror(errno));
        return -1;
    }
    int on = 1;
    /* SO_REUSEADDR: a restart must not wait out TIME_WAIT of the previous process's
     * connections. V6ONLY: "[::]" means IPv6 only, never a silent IPv4 listener too. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
        (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0)) {
        set_error(error_buffer, error_size, "metrics address '%s': setsockopt: %s", address,
                  strerror(errno));
        close(fd);
        return -1;
    }
    if (bind(fd, (const struct sockaddr *)&where->storage, where->length) != 0) {
        set_error(error_buffer, error_size, "metrics address '%s': bind: %s", address,
                  strerror(errno));
        close(fd);
        return -1;
    }
    if (listen(fd, LISTEN_BACKLOG) != 0) {
        set_error(error_buffer, error_size, "metrics address '%s': listen: %s", address,
                  strerror(errno));
        close(fd);
        return -1;
    }
    struct sockaddr_storage bound;
    socklen_t bound_length = sizeof bound;
    if (getsockname(fd, (struct sockaddr *)&bound, &bound_length) != 0) {
        set_error(error_buffer, error_size, "metrics address '%s': getsockname: %s", address,
                  strerror(errno));
        close(fd);
        return -1;
    }
    *port_out = family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                   : ntohs(((struct sockaddr_in *)&bound)->sin_port);
    return fd;
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
    bind_address where;
    if (registry == NULL) {
        set_error(error_buffer, error_size, "metrics server: no registry");
        return NULL;
    }
    if (!parse_bind_address(address, &where, error_buffer, error_size)) {
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

    int listen_fd = open_listener(address, &where, &server->port, error_buffer, error_size);
    if (listen_fd < 0) {
        pthread_mutex_destroy(&server->reason_lock);
        free(server);
        return NULL;
    }
    unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (where.storage.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    server->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, handle_request, server, MHD_OPTION_EXTERNAL_LOGGER,
        log_from_microhttpd, NULL, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)CONNECTION_TIMEOUT_SECONDS, MHD_OPTION_END);
    if (server->daemon == NULL) {
        set_error(error_buffer, error_size, "metrics address '%s': MHD_start_daemon failed",
                  address);
        close(listen_fd);
        pthread_mutex_destroy(&server->reason_lock);
        free(server);
        return NULL;
    }
    /* listen_fd is now owned by the daemon; MHD_stop_daemon closes it. */
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
