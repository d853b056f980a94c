/* listener.h — "host:port" to a listening TCP socket, in the manner of Redis's anet.c: one place
 * for the address syntax, the socket options and the error text of every server we run.
 *
 * For: the metrics server (METRICS_ADDR) and fleet-sim's server (FLEETSIM_ADDR), which bind the
 * socket themselves and hand it to libmicrohttpd, because MHD_start_daemon only says "NULL"
 * when the port is taken while our own bind(2) says why ("Address already in use").
 * Not for: outgoing connections, or resolving host names.
 *
 * Accepted addresses: "127.0.0.1:9101", "0.0.0.0:9101", "localhost:9101", "[::1]:9101",
 * "[::]:9101"; port 0 asks the kernel for a free port (listener_socket.port says which). Host
 * names other than localhost are refused: resolving one could pick an interface nobody meant. */
#ifndef RECONCILER_LISTENER_H
#define RECONCILER_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Every way opening a listener fails, by stable name (listener_error_name). */
typedef enum {
    LISTENER_OK = 0,
    LISTENER_ERROR_EMPTY_ADDRESS, /* no address at all */
    LISTENER_ERROR_SYNTAX,        /* not host:port nor [IPv6]:port */
    LISTENER_ERROR_PORT,          /* the port is not a number in 0..65535 */
    LISTENER_ERROR_HOST,   /* the host is not an IPv4 literal, localhost or an IPv6 literal */
    LISTENER_ERROR_SYSTEM, /* socket, setsockopt, bind, listen or getsockname failed */
} listener_error;

/* A parsed address, ready for bind(2). */
typedef struct {
    struct sockaddr_storage storage;
    socklen_t length;
} listener_address;

/* An open listening socket. The caller owns fd (close it, or hand it to a server that does). */
typedef struct {
    int fd;
    int port; /* the port actually bound: the kernel's choice when the address said 0 */
    bool ipv6;
} listener_socket;

/* "listener_syntax", ... for logs and tests; "listener_unknown" for anything else. */
const char *listener_error_name(listener_error error);

/* Parses `address`. On failure the message, prefixed "<label> '<address>': ", goes to
 * error_buffer (which may be NULL). */
listener_error listener_parse(const char *address, const char *label, listener_address *out,
                              char *error_buffer, size_t error_size);

/* Parses `address`, then creates, binds and listens (close-on-exec; non-blocking when asked;
 * SO_REUSEADDR; IPV6_V6ONLY for IPv6) and reads back the bound port. On failure nothing stays
 * open and out->fd is -1. */
listener_error listener_open(const char *address, const char *label, int backlog, bool nonblocking,
                             listener_socket *out, char *error_buffer, size_t error_size);

#endif
