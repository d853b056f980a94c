/* http_client.h — the one way this project makes an outbound HTTP request (libcurl).
 *
 * Safety defaults that callers cannot forget: a total per-request timeout, redirects are
 * never followed (a 3xx is returned as is, and the CP classifier treats it as UNKNOWN), only
 * http and https, TLS peer and host verification on (an optional CA file adds trust, never
 * removes it), no proxy unless the caller names one (the *_proxy environment variables are
 * ignored), and the response body is capped at HTTP_CLIENT_BODY_LIMIT bytes: one byte
 * more and the transfer is aborted with HTTP_CLIENT_ERROR_BODY_TOO_LARGE.
 *
 * The same request set-up serves a blocking call (http_client_perform) and libcurl multi
 * (http_request_prepare + curl_multi_add_handle, then http_request_finish), so the checker's
 * asynchronous path and the actuator's restart calls share one definition.
 *
 * Connection reuse: every request has its own easy handle, but connections live in the multi
 * handle's connection cache, so keep one CURLM for the program's lifetime and keep-alive
 * connections are reused across requests. http_client_perform opens a new connection per call
 * (fine for low-rate calls such as restarts). With a multi handle: on CURLMSG_DONE, get the
 * request back with curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&request), call
 * curl_multi_remove_handle, then http_request_finish. */
#ifndef RECONCILER_HTTP_CLIENT_H
#define RECONCILER_HTTP_CLIENT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_CLIENT_BODY_LIMIT (64 * 1024)

typedef enum {
    HTTP_CLIENT_OK = 0,               /* a response arrived (any status) */
    HTTP_CLIENT_ERROR_TIMEOUT,        /* per-request timeout elapsed */
    HTTP_CLIENT_ERROR_CONNECT,        /* connection refused, reset, unreachable */
    HTTP_CLIENT_ERROR_DNS,            /* name did not resolve */
    HTTP_CLIENT_ERROR_TLS,            /* handshake or certificate verification failed */
    HTTP_CLIENT_ERROR_BODY_TOO_LARGE, /* more than HTTP_CLIENT_BODY_LIMIT bytes */
    HTTP_CLIENT_ERROR_PROTOCOL,       /* malformed response, transfer cut short */
    HTTP_CLIENT_ERROR_INTERNAL,       /* allocation or set-up failure on our side */
} http_client_error;

/* Stable snake_case names ("timeout", "connect_failed", "body_too_large", ...), usable as
 * metric labels and verdict reasons. */
const char *http_client_error_name(http_client_error error);

typedef struct {
    const char *method; /* "GET" or "POST" */
    const char *url;
    const char *bearer_token; /* Authorization: Bearer ...; NULL or "" = not sent */
    const char *admin_token;  /* X-Molecule-Admin-Token; NULL or "" = not sent */
    const char *body;         /* request body for POST (sent as application/json), may be NULL */
    int64_t timeout_ms;
    const char *ca_file; /* extra CA bundle, NULL = system default */
    /* The proxy to send this request through (libcurl syntax: http://host:port,
     * socks5h://host:port, ...). NULL or "" = none at all, whatever http_proxy, https_proxy,
     * all_proxy or no_proxy say: a proxy is a deliberate choice (CP_PROXY, RESTART_PROXY),
     * never inherited from the environment, because every request carries a token and the
     * answer decides whether a workspace is taken offline. */
    const char *proxy;
} http_request_options;

typedef struct {
    http_client_error error;
    long status; /* HTTP status; 0 when no response */
    char *body;  /* NUL-terminated, malloc'd, may contain NULs before the end */
    size_t body_length;
    char *content_type; /* malloc'd or NULL */
    int64_t elapsed_ms;
    bool borrowed; /* body and content_type belong to the request (http_request_finish_reusable) */
} http_response;

typedef struct http_request http_request; /* an in-flight request bound to a CURL easy handle */

/* Creates a request whose easy handle is ready for curl_easy_perform or curl_multi_add_handle.
 * `user_data` is kept for the caller (e.g. the checker's work item); CURLINFO_PRIVATE of the
 * handle is the http_request. NULL on failure: a method other than GET/POST, a token containing
 * CR or LF, or a libcurl set-up error. A timeout_ms <= 0 means 10 s, never "no timeout". */
http_request *http_request_prepare(const http_request_options *options, void *user_data);
CURL *http_request_handle(http_request *request);
void *http_request_user_data(http_request *request);
/* After the transfer ended with `result` (from curl_easy_perform or a multi CURLMSG_DONE),
 * fills `response` (ownership of body/content_type moves to it) and frees the request. */
void http_request_finish(http_request *request, CURLcode result, http_response *response);

/* For a caller that runs many requests with the same options except the URL through one
 * CURLM (the checker): finishing fills a *borrowed* `response` (body and content type point
 * into the request, valid until it is reused or freed; http_response_free does nothing to
 * it) and keeps the request, and http_request_reuse points it at the next URL with a new
 * `user_data`, every other option (timeouts, protocols, TLS, proxy, headers, body cap) as
 * prepared. Setting a request up per check was a fifth of the checker's CPU (issue #15).
 * http_request_reuse is false only if libcurl refused the URL (out of memory). */
void http_request_finish_reusable(http_request *request, CURLcode result, http_response *response);
bool http_request_reuse(http_request *request, const char *url, void *user_data);
void http_request_free(http_request *request);

/* Blocking convenience: prepare, perform, finish. */
void http_client_perform(const http_request_options *options, http_response *response);
void http_response_free(http_response *response);

/* Checks a proxy setting (CP_PROXY, RESTART_PROXY): NULL when `proxy` is a usable proxy URL
 * (scheme http, https, socks4, socks4a, socks5 or socks5h, case-insensitive; a non-empty
 * host; an optional port and user:password@; no path beyond "/", no query or fragment, no
 * whitespace or control character), else a fixed sentence saying what is wrong. A bare
 * "host:port" is refused: libcurl would guess http, and a proxy is worth spelling out. Pure;
 * the sentence never echoes the value (it may hold a password). */
const char *http_proxy_url_problem(const char *proxy);

/* Percent-encodes every byte outside RFC 3986 unreserved characters. malloc'd; NULL on
 * allocation failure. */
char *http_url_encode(const char *text);

#endif
