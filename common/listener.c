/* listener.c — "host:port" to a listening TCP socket (see listener.h). */
#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Long enough for any IPv6 literal (45 characters) and "localhost". */
#define HOST_TEXT_MAX 64

static const char *const listener_error_names[] = {
    [LISTENER_OK] = "listener_ok",
    [LISTENER_ERROR_EMPTY_ADDRESS] = "listener_empty_address",
    [LISTENER_ERROR_SYNTAX] = "listener_syntax",
    [LISTENER_ERROR_PORT] = "listener_port",
    [LISTENER_ERROR_HOST] = "listener_host",
    [LISTENER_ERROR_SYSTEM] = "listener_system",
};

const char *listener_error_name(listener_error error)
{
    if ((unsigned)error >= sizeof listener_error_names / sizeof listener_error_names[0]) {
        return "listener_unknown";
    }
    return listener_error_names[error];
}

/* Writes "<label> '<address>': <detail>" and returns `error`, so callers can fail in one line. */
static listener_error fail(listener_error error, const char *label, const char *address,
                           char *error_buffer, size_t error_size, const char *format, ...)
    __attribute__((format(printf, 6, 7)));

static listener_error fail(listener_error error, const char *label, const char *address,
                           char *error_buffer, size_t error_size, const char *format, ...)
{
    if (error_buffer == NULL || error_size == 0) {
        return error;
    }
    char detail[256];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(detail, sizeof detail, format, arguments);
    va_end(arguments);
    snprintf(error_buffer, error_size, "%s '%s': %s", label, address != NULL ? address : "",
             detail);
    return error;
}

/* 1 to 5 decimal digits, at most 65535: no sign, no spaces, nothing strtol would forgive. */
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

listener_error listener_parse(const char *address, const char *label, listener_address *out,
                              char *error_buffer, size_t error_size)
{
    memset(out, 0, sizeof *out);
    if (address == NULL || *address == '\0') {
        return fail(LISTENER_ERROR_EMPTY_ADDRESS, label, address, error_buffer, error_size,
                    "empty; expected host:port");
    }
    /* Split host and port: "[host]:port" for IPv6 (its colons would be ambiguous), else the
     * last colon. */
    char host[HOST_TEXT_MAX];
    const char *host_start;
    const char *host_end;
    const char *port_text;
    bool ipv6 = address[0] == '[';
    if (ipv6) {
        host_start = address + 1;
        host_end = strchr(address, ']');
        if (host_end == NULL || host_end[1] != ':') {
            return fail(LISTENER_ERROR_SYNTAX, label, address, error_buffer, error_size,
                        "expected [IPv6]:port, e.g. [::1]:9101");
        }
        port_text = host_end + 2;
    } else {
        host_start = address;
        host_end = strrchr(address, ':');
        if (host_end == NULL || host_end == address) {
            return fail(LISTENER_ERROR_SYNTAX, label, address, error_buffer, error_size,
                        "expected host:port, e.g. 127.0.0.1:9101");
        }
        port_text = host_end + 1;
    }
    size_t host_length = (size_t)(host_end - host_start);
    if (host_length >= sizeof host) {
        return fail(LISTENER_ERROR_HOST, label, address, error_buffer, error_size,
                    "host must be an IPv4 address, localhost or [IPv6]");
    }
    memcpy(host, host_start, host_length);
    host[host_length] = '\0';

    uint16_t port;
    if (!parse_port(port_text, &port)) {
        return fail(LISTENER_ERROR_PORT, label, address, error_buffer, error_size,
                    "port must be 0..65535");
    }
    if (ipv6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->storage;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1) {
            return fail(LISTENER_ERROR_HOST, label, address, error_buffer, error_size,
                        "'%s' is not an IPv6 address", host);
        }
        out->length = sizeof *in6;
        return LISTENER_OK;
    }
    struct sockaddr_in *in4 = (struct sockaddr_in *)&out->storage;
    in4->sin_family = AF_INET;
    in4->sin_port = htons(port);
    const char *numeric = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    if (inet_pton(AF_INET, numeric, &in4->sin_addr) != 1) {
        return fail(LISTENER_ERROR_HOST, label, address, error_buffer, error_size,
                    "host must be an IPv4 address, localhost or [IPv6]");
    }
    out->length = sizeof *in4;
    return LISTENER_OK;
}

/* Closes fd and reports which system call failed, with errno's text (read before close). */
static listener_error fail_system(int fd, const char *call, const char *label, const char *address,
                                  char *error_buffer, size_t error_size)
{
    int saved = errno;
    if (fd >= 0) {
        close(fd);
    }
    return fail(LISTENER_ERROR_SYSTEM, label, address, error_buffer, error_size, "%s: %s", call,
                strerror(saved));
}

listener_error listener_open(const char *address, const char *label, int backlog, bool nonblocking,
                             listener_socket *out, char *error_buffer, size_t error_size)
{
    out->fd = -1;
    out->port = 0;
    out->ipv6 = false;
    listener_address where;
    listener_error parsed = listener_parse(address, label, &where, error_buffer, error_size);
    if (parsed != LISTENER_OK) {
        return parsed;
    }
    int family = where.storage.ss_family;
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) {
        return fail_system(-1, "socket", label, address, error_buffer, error_size);
    }
    int on = 1;
    /* SO_REUSEADDR: a restart must not wait out TIME_WAIT of the previous process's
     * connections. V6ONLY: "[::]" means IPv6 only, never a silent IPv4 listener too. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
        (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0)) {
        return fail_system(fd, "setsockopt", label, address, error_buffer, error_size);
    }
    if (bind(fd, (const struct sockaddr *)&where.storage, where.length) != 0) {
        return fail_system(fd, "bind", label, address, error_buffer, error_size);
    }
    if (listen(fd, backlog) != 0) {
        return fail_system(fd, "listen", label, address, error_buffer, error_size);
    }
    /* With port 0 only the kernel knows the port; read it back for the caller to report. */
    struct sockaddr_storage bound;
    socklen_t bound_length = sizeof bound;
    if (getsockname(fd, (struct sockaddr *)&bound, &bound_length) != 0) {
        return fail_system(fd, "getsockname", label, address, error_buffer, error_size);
    }
    out->fd = fd;
    out->ipv6 = family == AF_INET6;
    out->port = out->ipv6 ? ntohs(((const struct sockaddr_in6 *)&bound)->sin6_port)
                          : ntohs(((const struct sockaddr_in *)&bound)->sin_port);
    return LISTENER_OK;
}
