/* http_client.c — every outbound HTTP request of the project, with its safety defaults.
 *
 * For: setting up a libcurl easy handle so that no caller can forget a timeout, follow a
 * redirect, speak a protocol other than http(s), skip TLS verification or read an unbounded
 * body; and naming every way a request can fail (http_client_error). Not for: deciding what
 * a response means (the checker's classifier does that) or retrying (callers do).
 *
 * Connection reuse: connections do not live in easy handles but in the connection cache of
 * the multi handle they run in, so a caller that keeps one long-lived CURLM (the checker)
 * reuses keep-alive connections across requests with no pooling here. Such a caller also
 * keeps its finished requests (http_request_finish_reusable) and points them at the next
 * URL (http_request_reuse), so the options, headers and body buffer are set up once per
 * request slot, not once per request. The blocking http_client_perform runs
 * each request on its own easy handle and so opens a new connection per call: meant for
 * low-rate calls (the actuator's restarts), where that costs nothing worth a shared cache.
 *
 * Secrets: tokens go into request headers only; nothing here logs, and CURLOPT_VERBOSE is
 * never set (it would print the Authorization header). */
#include "http_client.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef RECONCILER_VERSION
#define RECONCILER_VERSION "unknown"
#endif

/* A request without a timeout would be a bug; this catches timeout_ms <= 0. */
#define DEFAULT_TIMEOUT_MS 10000

struct http_request {
    CURL *easy;
    struct curl_slist *headers;
    void *user_data;
    char *body; /* grows up to HTTP_CLIENT_BODY_LIMIT + 1 (the NUL) */
    size_t body_length;
    size_t body_capacity;
    bool body_too_large; /* the write callback stopped the transfer because of the cap */
};

const char *http_client_error_name(http_client_error error)
{
    switch (error) {
    case HTTP_CLIENT_OK:
        return "ok";
    case HTTP_CLIENT_ERROR_TIMEOUT:
        return "timeout";
    case HTTP_CLIENT_ERROR_CONNECT:
        return "connect_failed";
    case HTTP_CLIENT_ERROR_DNS:
        return "dns_failed";
    case HTTP_CLIENT_ERROR_TLS:
        return "tls_failed";
    case HTTP_CLIENT_ERROR_BODY_TOO_LARGE:
        return "body_too_large";
    case HTTP_CLIENT_ERROR_PROTOCOL:
        return "protocol_error";
    case HTTP_CLIENT_ERROR_INTERNAL:
        return "internal_error";
    }
    return "unknown_error";
}

/* libcurl's global set-up must run once before any handle exists; pthread_once makes the
 * first request safe whichever thread makes it. */
static pthread_once_t global_init_once = PTHREAD_ONCE_INIT;
static CURLcode global_init_result = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Appends to the body, refusing the byte that would exceed the cap. Returning fewer bytes
 * than offered makes libcurl abort the transfer with CURLE_WRITE_ERROR. */
static size_t receive_body(char *data, size_t size, size_t count, void *context)
{
    http_request *request = context;
    size_t length = size * count;
    if (length > HTTP_CLIENT_BODY_LIMIT - request->body_length) {
        request->body_too_large = true;
        return 0;
    }
    size_t needed = request->body_length + length + 1;
    if (needed > request->body_capacity) {
        size_t capacity = request->body_capacity > 0 ? request->body_capacity : 4096;
        while (capacity < needed) {
            capacity *= 2;
        }
        if (capacity > HTTP_CLIENT_BODY_LIMIT + 1) {
            capacity = HTTP_CLIENT_BODY_LIMIT + 1;
        }
        char *grown = realloc(request->body, capacity);
        if (grown == NULL) {
            return 0; /* CURLE_WRITE_ERROR without body_too_large: internal */
        }
        request->body = grown;
        request->body_capacity = capacity;
    }
    memcpy(request->body + request->body_length, data, length);
    request->body_length += length;
    request->body[request->body_length] = '\0';
    return length;
}

/* A header value with CR or LF would let a token inject headers; such a token is refused. */
static bool is_header_safe(const char *value)
{
    return strpbrk(value, "\r\n") == NULL;
}

static bool add_header(http_request *request, const char *name, const char *value)
{
    size_t size = strlen(name) + strlen(value) + 3;
    char *line = malloc(size);
    if (line == NULL) {
        return false;
    }
    snprintf(line, size, "%s: %s", name, value);
    struct curl_slist *extended = curl_slist_append(request->headers, line); /* copies */
    free(line);
    if (extended == NULL) {
        return false;
    }
    request->headers = extended;
    return true;
}

static void request_free(http_request *request)
{
    if (request == NULL) {
        return;
    }
    if (request->easy != NULL) {
        curl_easy_cleanup(request->easy);
    }
    curl_slist_free_all(request->headers);
    free(request->body);
    free(request);
}

/* Every option is checked: a silently ignored safety option would be worse than no request. */
#define SET_OR_FAIL(option, value)                                                                 \
    do {                                                                                           \
        if (curl_easy_setopt(easy, option, value) != CURLE_OK) {                                   \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

http_request *http_request_prepare(const http_request_options *options, void *user_data)
{
    if (options == NULL || options->url == NULL || options->method == NULL) {
        return NULL;
    }
    bool is_get = strcmp(options->method, "GET") == 0;
    bool is_post = strcmp(options->method, "POST") == 0;
    const char *bearer = options->bearer_token;
    const char *admin = options->admin_token;
    pthread_once(&global_init_once, global_init);
    http_request *request = NULL;
    if ((!is_get && !is_post) || (bearer != NULL && !is_header_safe(bearer)) ||
        (admin != NULL && !is_header_safe(admin)) || global_init_result != CURLE_OK ||
        (request = calloc(1, sizeof *request)) == NULL) {
        return NULL;
    }
    request->user_data = user_data;
    CURL *easy = curl_easy_init();
    request->easy = easy;
    if (easy == NULL) {
        goto fail;
    }

    int64_t timeout_ms = options->timeout_ms > 0 ? options->timeout_ms : DEFAULT_TIMEOUT_MS;
    SET_OR_FAIL(CURLOPT_URL, options->url);
    SET_OR_FAIL(CURLOPT_PRIVATE, (void *)request);
    SET_OR_FAIL(CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    /* No signals: timeouts are enforced without SIGALRM, which is unsafe with threads. */
    SET_OR_FAIL(CURLOPT_NOSIGNAL, 1L);
    /* A redirect is an answer we do not trust (docs/contracts.md §3), never a hop we take. */
    SET_OR_FAIL(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
    SET_OR_FAIL(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET_OR_FAIL(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET_OR_FAIL(CURLOPT_SSL_VERIFYPEER, 1L);
    SET_OR_FAIL(CURLOPT_SSL_VERIFYHOST, 2L);
    if (options->ca_file != NULL && options->ca_file[0] != '\0') {
        /* Replaces the default CA file but not the default CA directory (/etc/ssl/certs on
         * Debian's OpenSSL build), so system trust remains and the file adds to it. */
        SET_OR_FAIL(CURLOPT_CAINFO, options->ca_file);
    }
    /* libcurl reads http_proxy, https_proxy, all_proxy and no_proxy from the environment unless
     * told otherwise: an empty CURLOPT_PROXY turns proxies off, and an empty CURLOPT_NOPROXY
     * (no exception) keeps no_proxy from bypassing a proxy that was configured. */
    bool has_proxy = options->proxy != NULL && options->proxy[0] != '\0';
    SET_OR_FAIL(CURLOPT_PROXY, has_proxy ? options->proxy : "");
    SET_OR_FAIL(CURLOPT_NOPROXY, "");
    /* A server that announces a Content-Length over the cap is refused before the body. */
    SET_OR_FAIL(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTP_CLIENT_BODY_LIMIT);
    SET_OR_FAIL(CURLOPT_WRITEFUNCTION, receive_body);
    SET_OR_FAIL(CURLOPT_WRITEDATA, (void *)request);
    /* Keep-alive probes notice a peer that vanished while a connection sat in the cache. */
    SET_OR_FAIL(CURLOPT_TCP_KEEPALIVE, 1L);
    /* In the header list rather than CURLOPT_USERAGENT: libcurl formats that option into a
     * fresh string on every transfer, and the checker makes thousands a second. */
    if (!add_header(request, "User-Agent", "instance-reconciler/" RECONCILER_VERSION) ||
        !add_header(request, "Accept", "application/json")) {
        goto fail;
    }
    if (bearer != NULL && bearer[0] != '\0') {
        size_t size = strlen("Bearer ") + strlen(bearer) + 1;
        char *value = malloc(size);
        if (value == NULL) {
            goto fail;
        }
        snprintf(value, size, "Bearer %s", bearer);
        bool added = add_header(request, "Authorization", value);
        free(value);
        if (!added) {
            goto fail;
        }
    }
    if (admin != NULL && admin[0] != '\0' &&
        !add_header(request, "X-Molecule-Admin-Token", admin)) {
        goto fail;
    }
    if (is_post) {
        /* "Expect:" turns off 100-continue, which would cost a round trip per restart. */
        if (!add_header(request, "Content-Type", "application/json")) {
            goto fail;
        }
        struct curl_slist *extended = curl_slist_append(request->headers, "Expect:");
        if (extended == NULL) {
            goto fail;
        }
        request->headers = extended;
        SET_OR_FAIL(CURLOPT_POST, 1L);
        SET_OR_FAIL(CURLOPT_COPYPOSTFIELDS, options->body != NULL ? options->body : "");
    } else {
        SET_OR_FAIL(CURLOPT_HTTPGET, 1L);
    }
    SET_OR_FAIL(CURLOPT_HTTPHEADER, request->headers);
    return request;

fail:
    request_free(request);
    return NULL;
}

CURL *http_request_handle(http_request *request)
{
    return request != NULL ? request->easy : NULL;
}

void *http_request_user_data(http_request *request)
{
    return request != NULL ? request->user_data : NULL;
}

/* Maps a transfer's CURLcode to our closed set of failures. */
static http_client_error classify_result(CURLcode result, bool body_too_large)
{
    switch (result) {
    case CURLE_OK:
        return HTTP_CLIENT_OK;
    case CURLE_WRITE_ERROR:
        return body_too_large ? HTTP_CLIENT_ERROR_BODY_TOO_LARGE : HTTP_CLIENT_ERROR_INTERNAL;
    case CURLE_FILESIZE_EXCEEDED:
        return HTTP_CLIENT_ERROR_BODY_TOO_LARGE;
    case CURLE_OPERATION_TIMEDOUT:
        return HTTP_CLIENT_ERROR_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return HTTP_CLIENT_ERROR_DNS;
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR: /* connection reset while sending */
    case CURLE_RECV_ERROR: /* connection reset while receiving */
        return HTTP_CLIENT_ERROR_CONNECT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
        return HTTP_CLIENT_ERROR_TLS;
    case CURLE_FAILED_INIT:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL: /* e.g. ftp:// in a configured URL */
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
    case CURLE_ABORTED_BY_CALLBACK:
    case CURLE_READ_ERROR:
        return HTTP_CLIENT_ERROR_INTERNAL;
    default:
        /* CURLE_GOT_NOTHING (empty reply), CURLE_WEIRD_SERVER_REPLY, CURLE_PARTIAL_FILE,
         * HTTP/2 stream errors, ...: a connection was made but the answer was not HTTP. */
        return HTTP_CLIENT_ERROR_PROTOCOL;
    }
}

/* Fills `response` from the finished transfer; the body and content type stay where they
 * are (the request's buffer, libcurl's string) and `response` only points at them. */
static void describe_response(http_request *request, CURLcode result, http_response *response)
{
    static char empty_body[1] = "";
    memset(response, 0, sizeof *response);
    response->borrowed = true;
    response->error = classify_result(result, request->body_too_large);

    long status = 0;
    if (curl_easy_getinfo(request->easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK) {
        response->status = status;
    }
    curl_off_t total_us = 0;
    if (curl_easy_getinfo(request->easy, CURLINFO_TOTAL_TIME_T, &total_us) == CURLE_OK) {
        response->elapsed_ms = (int64_t)(total_us / 1000);
    }
    if (response->error == HTTP_CLIENT_OK) {
        char *content_type = NULL;
        if (curl_easy_getinfo(request->easy, CURLINFO_CONTENT_TYPE, &content_type) == CURLE_OK) {
            response->content_type = content_type;
        }
        response->body = request->body != NULL ? request->body : empty_body;
        response->body_length = request->body_length;
    }
}

void http_request_finish_reusable(http_request *request, CURLcode result, http_response *response)
{
    if (request == NULL) {
        memset(response, 0, sizeof *response);
        response->error = HTTP_CLIENT_ERROR_INTERNAL;
        return;
    }
    describe_response(request, result, response);
}

void http_request_finish(http_request *request, CURLcode result, http_response *response)
{
    http_request_finish_reusable(request, result, response);
    if (request == NULL) {
        return;
    }
    response->borrowed = false;
    if (response->error == HTTP_CLIENT_OK) {
        /* The body's ownership moves to the response; the content type is libcurl's until
         * the handle is freed, so it is copied. */
        const char *content_type = response->content_type;
        response->body = request->body != NULL ? request->body : calloc(1, 1);
        request->body = NULL;
        response->content_type = content_type != NULL ? strdup(content_type) : NULL;
        if (response->body == NULL || (content_type != NULL && response->content_type == NULL)) {
            http_response_free(response);
            response->error = HTTP_CLIENT_ERROR_INTERNAL;
        }
    }
    request_free(request);
}

bool http_request_reuse(http_request *request, const char *url, void *user_data)
{
    if (request == NULL || url == NULL) {
        return false;
    }
    /* Everything else the handle was prepared with (timeouts, protocols, TLS, proxy, the
     * header list, the body cap and callbacks) stays set: libcurl keeps options across
     * transfers of an easy handle until curl_easy_reset. */
    if (curl_easy_setopt(request->easy, CURLOPT_URL, url) != CURLE_OK) {
        return false;
    }
    request->user_data = user_data;
    request->body_length = 0;
    request->body_too_large = false;
    if (request->body != NULL) {
        request->body[0] = '\0';
    }
    return true;
}

void http_request_free(http_request *request)
{
    request_free(request);
}

void http_client_perform(const http_request_options *options, http_response *response)
{
    http_request *request = http_request_prepare(options, NULL);
    if (request == NULL) {
        memset(response, 0, sizeof *response);
        response->error = HTTP_CLIENT_ERROR_INTERNAL;
        return;
    }
    CURLcode result = curl_easy_perform(http_request_handle(request));
    http_request_finish(request, result, response);
}

void http_response_free(http_response *response)
{
    if (response == NULL || response->borrowed) {
        return;
    }
    free(response->body);
    free(response->content_type);
    response->body = NULL;
    response->content_type = NULL;
    response->body_length = 0;
}

char *http_url_encode(const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    if (text == NULL) {
        return NULL;
    }
    size_t length = strlen(text);
    char *encoded = malloc(length * 3 + 1);
    if (encoded == NULL) {
        return NULL;
    }
    size_t used = 0;
    for (const unsigned char *cursor = (const unsigned char *)text; *cursor != '\0'; cursor++) {
        unsigned char byte = *cursor;
        bool unreserved = (byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') ||
                          (byte >= '0' && byte <= '9') || byte == '-' || byte == '.' ||
                          byte == '_' || byte == '~';
        if (unreserved) {
            encoded[used++] = (char)byte;
        } else {
            encoded[used++] = '%';
            encoded[used++] = hex[byte >> 4];
            encoded[used++] = hex[byte & 0x0F];
        }
    }
    encoded[used] = '\0';
    return encoded;
}

const char *http_proxy_url_problem(const char *proxy)
{
    static const char *const schemes[] = {"http://",    "https://",  "socks4://",
                                          "socks4a://", "socks5://", "socks5h://"};
    if (proxy == NULL || proxy[0] == '\0') {
        return "is empty";
    }
    for (const char *c = proxy; *c != '\0'; c++) {
        if ((unsigned char)*c <= ' ' || (unsigned char)*c == 0x7f) {
            return "contains whitespace or a control character";
        }
    }
    const char *authority = NULL;
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        size_t length = strlen(schemes[i]);
        if (strncasecmp(proxy, schemes[i], length) == 0) {
            authority = proxy + length;
            break;
        }
    }
    if (authority == NULL) {
        return "must start with http://, https://, socks4://, socks4a://, socks5:// or "
               "socks5h://";
    }
    size_t authority_length = strcspn(authority, "/?#");
    const char *rest = authority + authority_length;
    if (strchr(rest, '?') != NULL || strchr(rest, '#') != NULL) {
        return "must not have a query or fragment";
    }
    if (rest[0] == '/' && rest[1] != '\0') {
        return "must not have a path";
    }
    const char *host = authority;
    for (size_t i = 0; i < authority_length; i++) {
        if (authority[i] == '@') {
            host = authority + i + 1;
        }
    }
    size_t host_length = authority_length - (size_t)(host - authority);
    if (host_length == 0 || host[0] == ':') {
        return "has no host";
    }
    return NULL;
}
