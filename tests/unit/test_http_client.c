/* test_http_client.c — the outbound HTTP client's safety defaults and failure names.
 *
 * A small libmicrohttpd server on 127.0.0.1:0 (one thread per connection, so a slow handler
 * blocks nobody else) serves fixed answers by path; a raw socket plays a broken server. */
#include "http_client.h"

#include <arpa/inet.h>
#include <check.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SLOW_HANDLER_MS 1500

static struct MHD_Daemon *daemon_handle;
static int server_port;

typedef struct {
    char *data;
    size_t length;
} upload_buffer;

typedef struct {
    size_t total;
    size_t sent;
} chunked_body;

static ssize_t read_chunked(void *context, uint64_t position, char *buffer, size_t max)
{
    (void)position;
    chunked_body *body = context;
    if (body->sent >= body->total) {
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    size_t length = body->total - body->sent;
    if (length > max) {
        length = max;
    }
    memset(buffer, 'c', length);
    body->sent += length;
    return (ssize_t)length;
}

static enum MHD_Result send_response(struct MHD_Connection *connection, unsigned int status,
                                     struct MHD_Response *response)
{
    enum MHD_Result queued = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return queued;
}

static enum MHD_Result send_text(struct MHD_Connection *connection, unsigned int status,
                                 const char *content_type, const char *text)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    return send_response(connection, status, response);
}

/* A body of `size` bytes with a Content-Length header. */
static enum MHD_Result send_sized(struct MHD_Connection *connection, size_t size)
{
    char *body = malloc(size);
    memset(body, 'a', size);
    struct MHD_Response *response =
        MHD_create_response_from_buffer(size, body, MHD_RESPMEM_MUST_FREE);
    return send_response(connection, MHD_HTTP_OK, response);
}

/* A body of `size` bytes sent chunked: no Content-Length, so only the write cap can stop it. */
static enum MHD_Result send_chunked(struct MHD_Connection *connection, size_t size)
{
    chunked_body *body = calloc(1, sizeof *body);
    body->total = size;
    struct MHD_Response *response =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, read_chunked, body, free);
    return send_response(connection, MHD_HTTP_OK, response);
}

static const char *header_or_none(struct MHD_Connection *connection, const char *name)
{
    const char *value = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, name);
    return value != NULL ? value : "(none)";
}

static enum MHD_Result handle(void *context, struct MHD_Connection *connection, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **request_state)
{
    (void)context;
    (void)version;
    /* First call: headers only. Then body pieces, then a last call with none left. */
    if (*request_state == NULL) {
        *request_state = calloc(1, sizeof(upload_buffer));
        return MHD_YES;
    }
    upload_buffer *upload = *request_state;
    if (*upload_data_size > 0) {
        upload->data = realloc(upload->data, upload->length + *upload_data_size + 1);
        memcpy(upload->data + upload->length, upload_data, *upload_data_size);
        upload->length += *upload_data_size;
        upload->data[upload->length] = '\0';
        *upload_data_size = 0;
        return MHD_YES;
    }

    char body[1024];
    /* Acting as a forward proxy: a request for another host arrives in absolute form. */
    if (strstr(url, "proxied.example.invalid") != NULL) {
        snprintf(body, sizeof body, "proxied %s", url);
        return send_text(connection, MHD_HTTP_OK, "text/plain", body);
    }
    if (strcmp(url, "/ok") == 0) {
        return send_text(connection, MHD_HTTP_OK, "application/json", "{\"state\":\"running\"}");
    }
    if (strcmp(url, "/redirect") == 0) {
        struct MHD_Response *response =
            MHD_create_response_from_buffer(5, (void *)"moved", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(response, MHD_HTTP_HEADER_LOCATION, "/ok");
        return send_response(connection, MHD_HTTP_FOUND, response);
    }
    if (strcmp(url, "/exact") == 0) {
        return send_sized(connection, HTTP_CLIENT_BODY_LIMIT);
    }
    if (strcmp(url, "/over") == 0) {
        return send_sized(connection, HTTP_CLIENT_BODY_LIMIT + 1);
    }
    if (strcmp(url, "/exact-chunked") == 0) {
        return send_chunked(connection, HTTP_CLIENT_BODY_LIMIT);
    }
    if (strcmp(url, "/over-chunked") == 0) {
        return send_chunked(connection, HTTP_CLIENT_BODY_LIMIT + 1);
    }
    if (strcmp(url, "/slow") == 0) {
        usleep(SLOW_HANDLER_MS * 1000);
        return send_text(connection, MHD_HTTP_OK, "text/plain", "late");
    }
    if (strcmp(url, "/empty") == 0) {
        return send_text(connection, MHD_HTTP_NO_CONTENT, "text/plain", "");
    }
    if (strcmp(url, "/unavailable") == 0) {
        return send_text(connection, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", "busy");
    }
    if (strcmp(url, "/headers") == 0) {
        snprintf(body, sizeof body, "authorization=%s\nadmin=%s\n",
                 header_or_none(connection, "Authorization"),
                 header_or_none(connection, "X-Molecule-Admin-Token"));
        return send_text(connection, MHD_HTTP_OK, "text/plain", body);
    }
    if (strcmp(url, "/identity") == 0) {
        snprintf(body, sizeof body, "user-agent=%s\naccept=%s\n",
                 header_or_none(connection, "User-Agent"), header_or_none(connection, "Accept"));
        return send_text(connection, MHD_HTTP_OK, "text/plain", body);
    }
    if (strcmp(url, "/post") == 0) {
        snprintf(body, sizeof body, "method=%s\ncontent-type=%s\nbody=%s\n", method,
                 header_or_none(connection, "Content-Type"),
                 upload->data != NULL ? upload->data : "");
        return send_text(connection, MHD_HTTP_OK, "text/plain", body);
    }
    if (strncmp(url, "/echo/", 6) == 0) {
        const char *query = MHD_lookup_connection_value(connection, MHD_GET_ARGUMENT_KIND, "q");
        snprintf(body, sizeof body, "path=%s\nq=%s\n", url + 6, query != NULL ? query : "(none)");
        return send_text(connection, MHD_HTTP_OK, "text/plain", body);
    }
    return send_text(connection, MHD_HTTP_NOT_FOUND, "text/plain", "not found");
}

static void request_completed(void *context, struct MHD_Connection *connection,
                              void **request_state, enum MHD_RequestTerminationCode code)
{
    (void)context;
    (void)connection;
    (void)code;
    upload_buffer *upload = *request_state;
    if (upload != NULL) {
        free(upload->data);
        free(upload);
        *request_state = NULL;
    }
}

static void setup(void)
{
    struct sockaddr_in loopback = {.sin_family = AF_INET, .sin_port = 0};
    loopback.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    daemon_handle =
        MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL,
                         NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&loopback,
                         MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL, MHD_OPTION_END);
    ck_assert_ptr_nonnull(daemon_handle);
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(daemon_handle, MHD_DAEMON_INFO_BIND_PORT);
    ck_assert_ptr_nonnull(info);
    server_port = info->port;
    ck_assert_int_gt(server_port, 0);
}

static void teardown(void)
{
    MHD_stop_daemon(daemon_handle);
    daemon_handle = NULL;
}

static char *url_for(const char *path)
{
    static char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", server_port, path);
    return url;
}

static http_response get(const char *path, int64_t timeout_ms)
{
    http_request_options options = {
        .method = "GET", .url = url_for(path), .timeout_ms = timeout_ms};
    http_response response;
    http_client_perform(&options, &response);
    return response;
}

START_TEST(test_http_client_200_returns_body_and_content_type)
{
    http_response response = get("/ok", 5000);
    ck_assert_int_eq(response.error, HTTP_CLIENT_OK);
    ck_assert_int_eq(response.status, 200);
    ck_assert_str_eq(response.body, "{\"state\":\"running\"}");
    ck_assert_uint_eq(response.body_length, strlen("{\"state\":\"running\"}"));
    ck_assert_str_eq(response.content_type, "application/json");
    ck_assert_int_ge(response.elapsed_ms, 0);
    http_response_free(&response);
    ck_assert_ptr_null(response.body);
}
END_TEST

START_TEST(test_http_client_non_2xx_is_a_response_not_an_error)
{
    http_response response = get("/unavailable", 5000);
    ck_assert_int_eq(response.error, HTTP_CLIENT_OK);
    ck_assert_int_eq(response.status, 503);
    ck_assert_str_eq(response.body, "busy");
    http_response_free(&response);
}
END_TEST

START_TEST(test_http_client_empty_body_is_an_empty_string)
{
    http_response response = get("/empty", 5000);
    ck_assert_int_eq(response.error, HTTP_CLIENT_OK);
    ck_assert_int_eq(response.status, 204);
    ck_assert_ptr_nonnull(response.body);
    ck_assert_uint_eq(response.body_length, 0);
    ck_assert_str_eq(response.body, "");
    http_response_free(&response);
}
END_TEST

START_TEST(test_http_client_redirect_is_returned_not_followed)
{
    http_response response = get("/redirect", 5000);
    ck_assert_int_eq(response.error, HTTP_CLIENT_OK);
    ck_assert_int_eq(response.status, 302);
    ck_assert_str_eq(response.body, "moved"); /* the 302's own body, not /ok's */
    http_response_free(&response);
}
END_TEST

START_TEST(test_http_client_body_of_exactly_64_kib_is_accepted)
{
    const char *paths[] = {"/exact", "/exact-chunked"};
    for (size_t i = 0; i < 2; i++) {
        http_response response = get(paths[i], 5000);
        ck_assert_msg(response.error == HTTP_CLIENT_OK, "%s: %s", paths[i],
                      http_client_error_name(response.error));
        ck_assert_int_eq(response.status, 200);
        ck_assert_uint_eq(response.body_length, HTTP_CLIENT_BODY_LIMIT);
        ck_assert_uint_eq(strlen(response.body), HTTP_CLIENT_BODY_LIMIT);
        http_response_free(&response);
    }
}
END_TEST

START_TEST(test_http_client_body_over_64_kib_is_body_too_large)
{
    /* With a Content-Length (refused up front) and chunked (cut off by the write cap). */
    const char *paths[] = {"/over", "/over-chunked"};
    for (size_t i = 0; i < 2; i++) {
        http_response response = get(paths[i], 5000);
        ck_assert_msg(response.error == HTTP_CLIENT_ERROR_BODY_TOO_LARGE, "%s: %s", paths[i],
                      http_client_error_name(response.error));
        ck_assert_ptr_null(response.body);
        ck_assert_uint_eq(response.body_length, 0);
        http_response_free(&response);
    }
}
END_TEST

START_TEST(test_http_client_slow_server_is_timeout)
{
    http_response response = get("/slow", 300);
    ck_assert_int_eq(response.error, HTTP_CLIENT_ERROR_TIMEOUT);
    ck_assert_str_eq(http_client_error_name(response.error), "timeout");
    ck_assert_ptr_null(response.body);
    ck_assert_int_ge(response.elapsed_ms, 250);
    ck_assert_int_lt(response.elapsed_ms, SLOW_HANDLER_MS);
    http_response_free(&response);
}
END_TEST

START_TEST(test_http_client_closed_port_is_connect_failure)
{
    /* Bind without listening and close: a port that nothing answers on. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&address, sizeof address), 0);
    socklen_t length = sizeof address;
    getsockname(fd, (struct sockaddr *)&address, &length);
    close(fd);

    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ok", ntohs(address.sin_port));
    http_request_options options = {.method = "GET", .url = url, .timeout_ms = 5000};
    http_response response;
    http_client_perform(&options, &response);
    ck_assert_int_eq(response.error, HTTP_CLIENT_ERROR_CONNECT);
    ck_assert_str_eq(http_client_error_name(response.error), "connect_failed");
    ck_assert_int_eq(response.status, 0);
    http_response_free(&response);
}
END_TEST

START_TEST(test_http_client_unresolvable_host_is_dns_failure)
{
    /* .invalid never resolves (RFC 2606), so the answer is NXDOMAIN, not a slow timeout. */
    http_request_options options = {
        .method = "GET", .url = "http://cp.example.invalid/x", .timeout_ms = 5000};
    http_response response;
    http_client_perform(&options, &response);
    ck_assert_msg(response.error == HTTP_CLIENT_ERROR_DNS, "got %s",
                  http_client_error_name(response.error));
    http_response_free(&response);
}
END_TEST

/* Every variable through which libcurl would pick a proxy from the environment, pointed at
 * the test server: none of them may be used. */
static const char *const proxy_variables[] = {"http_proxy",  "HTTP_PROXY", "https_proxy",
                                              "HTTPS_PROXY", "all_proxy",  "ALL_PROXY"};

static void set_environment_proxies(const char *proxy)
{
    for (size_t i = 0; i < sizeof proxy_variables / sizeof proxy_variables[0]; i++) {
        if (proxy != NULL) {
            setenv(proxy_variables[i], proxy, 1);
        } else {
            unsetenv(proxy_variables[i]);
        }
    }
}

START_TEST(test_http_client_environment_proxies_are_ignored)
{
    char proxy[64];
    snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", server_port);
    set_environment_proxies(proxy);
    /* Through the proxy this would be a 200; without it the name does not resolve. */
    http_request_options options = {
        .method = "GET", .url = "http://proxied.example.invalid/x", .timeout_ms = 5000};
    http_response response;
    http_client_perform(&options, &response);
    set_environment_proxies(NULL);
    ck_assert_msg(response.error == HTTP_CLIENT_ERROR_DNS, "got %s, status %ld",
                  http_client_error_name(response.error), response.status);
    http_response_free(&response);
}
END_TEST

START_TEST(test_http_client_configured_proxy_is_used_whatever_no_proxy_says)
{
    char proxy[64];
    snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", server_port);
    setenv("no_proxy", "*", 1);
    setenv("NO_PROXY", "*", 1);
    http_request_options options = {.method = "GET",
                                    .url = "http://proxied.example.invalid/x",
                                    .timeout_ms = 5000,
                                    .proxy = proxy};
    http_response response;
    http_client_perform(&options, &response);
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    ck_assert_msg(response.error == HTTP_CLIENT_OK, "got %s",
                  http_client_error_name(response.error));
    ck_assert_int_eq(response.status, 200);
    ck_assert_str_eq(response.body, "proxied http://proxied.example.invalid/x");
    http_response_free(&response);
}
END_TEST

START_TEST(test_http_client_proxy_url_problems)
{
    static const char *const good[] = {"http://proxy:3128", "HTTP://proxy:3128/",
                                       "https://user:pw@proxy.internal:443",
                                       "socks5h://127.0.0.1:1080", "socks4a://[::1]:1080"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        ck_assert_msg(http_proxy_url_problem(good[i]) == NULL, "%s: %s", good[i],
                      http_proxy_url_problem(good[i]));
    }
    static const char *const bad[] = {"",
                                      "proxy:3128",
                                      "ftp://proxy:21",
                                      "http://",
                                      "http://:3128",
                                      "http://user:pw@",
                                      "http://proxy:3128/path",
                                      "http://proxy:3128?x=1",
                                      "http://proxy:3128#frag",
                                      "http://pro xy:3128",
                                      "http://proxy:3128\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *problem = http_proxy_url_problem(bad[i]);
        ck_assert_msg(problem != NULL, "'%s' accepted", bad[i]);
        ck_assert_ptr_null(strstr(problem, "pw"));
    }
    ck_assert_ptr_nonnull(http_proxy_url_problem(NULL));
}
END_TEST

static void *accept_and_close(void *context)
{
    int listener = *(int *)context;
    int connection = accept(listener, NULL, NULL);
    if (connection >= 0) {
        char ignored[1024];
        ssize_t got = read(connection, ignored, sizeof ignored); /* the request */
        (void)got;
        close(connection);
    }
    return NULL;
}

START_TEST(test_http_client_empty_reply_is_protocol_error)
{
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(listener, (struct sockaddr *)&address, sizeof address), 0);
    ck_assert_int_eq(listen(listener, 1), 0);
    socklen_t length = sizeof address;
    getsockname(listener, (struct sockaddr *)&address, &length);
    pthread_t thread;
    pthread_create(&thread, NULL, accept_and_close, &listener);

    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ok", ntohs(address.sin_port));
    http_request_options options = {.method = "GET", .url = url, .timeout_ms = 5000};
    http_response response;
    http_client_perform(&options, &response);
    pthread_join(thread, NULL);
    close(listener);
    ck_assert_int_eq(response.error, HTTP_CLIENT_ERROR_PROTOCOL);
    http_response_free(&response);
}
END_TEST

START_TEST(test_http_client_tls_to_plain_server_is_tls_failure)
{
    char url[128];
    snprintf(url, sizeof url, "https://127.0.0.1:%d/ok", server_port);
    http_request_options options = {.method = "GET", .url = url, .timeout_ms = 5000};
    http_response response;
    http_client_perform(&options, &response);
    ck_assert_int_eq(response.error, HTTP_CLIENT_ERROR_TLS);
    http_response_free(&response);
}
END_TEST

START_TEST(test_http_client_other_protocols_are_refused)
{
    const char *urls[] = {"ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://127.0.0.1/"};
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        http_request_options options = {.method = "GET", .url = urls[i], .timeout_ms = 2000};
        http_response response;
        http_client_perform(&options, &response);
        ck_assert_msg(response.error == HTTP_CLIENT_ERROR_INTERNAL, "%s: %s", urls[i],
                      http_client_error_name(response.error));
        ck_assert_ptr_null(response.body);
        http_response_free(&response);
    }
}
END_TEST

START_TEST(test_http_client_tokens_are_sent_only_when_set)
{
    http_request_options options = {.method = "GET",
                                    .url = url_for("/headers"),
                                    .bearer_token = "shared-123",
                                    .admin_token = "admin-456",
                                    .timeout_ms = 5000};
    http_response response;
    http_client_perform(&options, &response);
    ck_assert_int_eq(response.error, HTTP_CLIENT_OK);
    ck_assert_str_eq(response.body, "authorization=Bearer shared-123\nadmin=admin-456\n");
    http_response_free(&response);

    options.bearer_token = NULL;
    options.admin_token = "";
    http_client_perform(&options, &response);
    ck_assert_int_eq(response.error, HTTP_CLIENT_OK);
    ck_assert_str_eq(response.body, "authorization=(none)\nadmin=(none)\n");
    http_response_free(&response);

    options.bearer_token = "";
    options.admin_token = "only-admin";
    http_client_perform(&options, &response);
    ck_assert_str_eq(response.body, "authorization=(none)\nadmin=only-admin\n");
    http_response_free(&response);
}
END_TEST

/* One request carries many transfers (the checker's way): each reuse changes only the URL,
 * so the tokens, the body cap and the timeout still apply, a too-large or timed-out answer
 * leaves nothing behind for the next one, and a finished response only borrows the body. */
START_TEST(test_http_client_reused_request_keeps_its_options_and_forgets_its_body)
{
    http_request_options options = {.method = "GET",
                                    .url = url_for("/headers"),
                                    .bearer_token = "shared-123",
                                    .admin_token = "admin-456",
                                    .timeout_ms = 300};
    int marker = 0;
    http_request *request = http_request_prepare(&options, &marker);
    ck_assert_ptr_nonnull(request);
    http_response response;
    http_request_finish_reusable(request, curl_easy_perform(http_request_handle(request)),
                                 &response);
    ck_assert_int_eq(response.error, HTTP_CLIENT_OK);
    ck_assert(response.borrowed);
    ck_assert_str_eq(response.body, "authorization=Bearer shared-123\nadmin=admin-456\n");
    http_response_free(&response); /* borrowed: nothing to free, and no double free below */

    static const struct {
        const char *path;
        http_client_error error;
        const char *body;
    } sequence[] = {
        {"/over", HTTP_CLIENT_ERROR_BODY_TOO_LARGE, NULL},
        {"/ok", HTTP_CLIENT_OK, "{\"state\":\"running\"}"},
        {"/slow", HTTP_CLIENT_ERROR_TIMEOUT, NULL},
        {"/empty", HTTP_CLIENT_OK, ""},
        {"/headers", HTTP_CLIENT_OK, "authorization=Bearer shared-123\nadmin=admin-456\n"},
    };
    for (size_t i = 0; i < sizeof sequence / sizeof sequence[0]; i++) {
        int other_marker = (int)i;
        ck_assert(http_request_reuse(request, url_for(sequence[i].path), &other_marker));
        ck_assert_ptr_eq(http_request_user_data(request), &other_marker);
        http_request_finish_reusable(request, curl_easy_perform(http_request_handle(request)),
                                     &response);
        ck_assert_msg(response.error == sequence[i].error, "%s: %s", sequence[i].path,
                      http_client_error_name(response.error));
        if (sequence[i].body == NULL) {
            ck_assert_ptr_null(response.body);
        } else {
            ck_assert_str_eq(response.body, sequence[i].body);
            ck_assert_uint_eq(response.body_length, strlen(sequence[i].body));
        }
    }
    http_request_free(request);
}
END_TEST

/* docs/contracts.md §3: every request names the program and asks for JSON. */
START_TEST(test_http_client_sends_user_agent_and_accept)
{
    http_response response = get("/identity", 5000);
    ck_assert_int_eq(response.error, HTTP_CLIENT_OK);
    ck_assert_str_eq(response.body, "user-agent=instance-reconciler/" RECONCILER_VERSION
                                    "\naccept=application/json\n");
    http_response_free(&response);
}
END_TEST

START_TEST(test_http_client_token_with_newline_is_refused)
{
    http_request_options options = {.method = "GET",
                                    .url = url_for("/headers"),
                                    .bearer_token = "abc\r\nX-Injected: 1",
                                    .timeout_ms = 5000};
    ck_assert_ptr_null(http_request_prepare(&options, NULL));
    http_response response;
    http_client_perform(&options, &response);
    ck_assert_int_eq(response.error, HTTP_CLIENT_ERROR_INTERNAL);
    http_response_free(&response);
}
END_TEST

START_TEST(test_http_client_post_sends_json_body)
{
    http_request_options options = {.method = "POST",
                                    .url = url_for("/post"),
                                    .body = "{}",
                                    .bearer_token = "t",
                                    .timeout_ms = 5000};
    http_response response;
    http_client_perform(&options, &response);
    ck_assert_int_eq(response.error, HTTP_CLIENT_OK);
    ck_assert_str_eq(response.body, "method=POST\ncontent-type=application/json\nbody={}\n");
    http_response_free(&response);

    options.body = NULL;
    http_client_perform(&options, &response);
    ck_assert_int_eq(response.error, HTTP_CLIENT_OK);
    ck_assert_str_eq(response.body, "method=POST\ncontent-type=application/json\nbody=\n");
    http_response_free(&response);
}
END_TEST

START_TEST(test_http_client_only_get_and_post_are_allowed)
{
    http_request_options options = {.method = "DELETE", .url = url_for("/ok"), .timeout_ms = 5000};
    ck_assert_ptr_null(http_request_prepare(&options, NULL));
    options.method = NULL;
    ck_assert_ptr_null(http_request_prepare(&options, NULL));
}
END_TEST

START_TEST(test_http_client_url_encode_escapes_all_but_unreserved)
{
    char *encoded = http_url_encode("a\"b'c% {x}/y?z#w \xc3\xa9~._-Z9");
    ck_assert_str_eq(encoded, "a%22b%27c%25%20%7Bx%7D%2Fy%3Fz%23w%20%C3%A9~._-Z9");
    free(encoded);
    encoded = http_url_encode("");
    ck_assert_str_eq(encoded, "");
    free(encoded);
    encoded = http_url_encode("&=+;:@");
    ck_assert_str_eq(encoded, "%26%3D%2B%3B%3A%40");
    free(encoded);
    ck_assert_ptr_null(http_url_encode(NULL));
}
END_TEST

START_TEST(test_http_client_url_encoded_parts_reach_server_intact)
{
    const char *text = "ws \"1\"/../100% {x}?a=b#frag \xc3\xa9";
    char *encoded = http_url_encode(text);
    char path[512];
    snprintf(path, sizeof path, "/echo/%s?q=%s", encoded, encoded);
    free(encoded);
    http_response response = get(path, 5000);
    ck_assert_int_eq(response.error, HTTP_CLIENT_OK);
    ck_assert_int_eq(response.status, 200);
    char expected[512];
    snprintf(expected, sizeof expected, "path=%s\nq=%s\n", text, text);
    ck_assert_str_eq(response.body, expected);
    http_response_free(&response);
}
END_TEST

/* Runs every request added to `multi` to completion, finishing each as it ends. Records
 * whether each needed a new connection. */
static void run_multi(CURLM *multi, http_response *responses, long *new_connections)
{
    int running = 1;
    while (running > 0) {
        ck_assert_int_eq(curl_multi_perform(multi, &running), CURLM_OK);
        CURLMsg *message;
        int queued;
        while ((message = curl_multi_info_read(multi, &queued)) != NULL) {
            if (message->msg != CURLMSG_DONE) {
                continue;
            }
            CURL *easy = message->easy_handle;
            CURLcode result = message->data.result;
            http_request *request = NULL;
            curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&request);
            ck_assert_ptr_eq(http_request_handle(request), easy);
            size_t index = (size_t)(uintptr_t)http_request_user_data(request);
            curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &new_connections[index]);
            curl_multi_remove_handle(multi, easy);
            http_request_finish(request, result, &responses[index]);
        }
        if (running > 0) {
            curl_multi_poll(multi, NULL, 0, 100, NULL);
        }
    }
}

START_TEST(test_http_client_requests_in_one_multi_share_a_connection)
{
    CURLM *multi = curl_multi_init();
    http_request_options options = {.method = "GET", .url = url_for("/ok"), .timeout_ms = 5000};
    http_response responses[2];
    long new_connections[2] = {-1, -1};
    for (size_t i = 0; i < 2; i++) {
        /* One after the other, so the second finds the first's connection idle in the cache. */
        http_request *request = http_request_prepare(&options, (void *)(uintptr_t)i);
        ck_assert_ptr_nonnull(request);
        ck_assert_int_eq(curl_multi_add_handle(multi, http_request_handle(request)), CURLM_OK);
        run_multi(multi, responses, new_connections);
        ck_assert_int_eq(responses[i].error, HTTP_CLIENT_OK);
        ck_assert_int_eq(responses[i].status, 200);
        http_response_free(&responses[i]);
    }
    ck_assert_int_eq(new_connections[0], 1);
    ck_assert_int_eq(new_connections[1], 0); /* reused */
    curl_multi_cleanup(multi);
}
END_TEST

START_TEST(test_http_client_multi_keeps_requests_apart)
{
    CURLM *multi = curl_multi_init();
    const char *paths[] = {"/ok", "/redirect", "/over-chunked", "/unavailable"};
    http_response responses[4];
    long new_connections[4];
    for (size_t i = 0; i < 4; i++) {
        http_request_options options = {
            .method = "GET", .url = url_for(paths[i]), .timeout_ms = 5000};
        http_request *request = http_request_prepare(&options, (void *)(uintptr_t)i);
        ck_assert_ptr_nonnull(request);
        curl_multi_add_handle(multi, http_request_handle(request));
    }
    run_multi(multi, responses, new_connections);
    ck_assert_int_eq(responses[0].status, 200);
    ck_assert_int_eq(responses[1].status, 302);
    ck_assert_int_eq(responses[2].error, HTTP_CLIENT_ERROR_BODY_TOO_LARGE);
    ck_assert_int_eq(responses[3].status, 503);
    for (size_t i = 0; i < 4; i++) {
        http_response_free(&responses[i]);
    }
    curl_multi_cleanup(multi);
}
END_TEST

START_TEST(test_http_client_error_names_are_stable)
{
    ck_assert_str_eq(http_client_error_name(HTTP_CLIENT_OK), "ok");
    ck_assert_str_eq(http_client_error_name(HTTP_CLIENT_ERROR_TIMEOUT), "timeout");
    ck_assert_str_eq(http_client_error_name(HTTP_CLIENT_ERROR_CONNECT), "connect_failed");
    ck_assert_str_eq(http_client_error_name(HTTP_CLIENT_ERROR_DNS), "dns_failed");
    ck_assert_str_eq(http_client_error_name(HTTP_CLIENT_ERROR_TLS), "tls_failed");
    ck_assert_str_eq(http_client_error_name(HTTP_CLIENT_ERROR_BODY_TOO_LARGE), "body_too_large");
    ck_assert_str_eq(http_client_error_name(HTTP_CLIENT_ERROR_PROTOCOL), "protocol_error");
    ck_assert_str_eq(http_client_error_name(HTTP_CLIENT_ERROR_INTERNAL), "internal_error");
}
END_TEST

static Suite *http_client_suite(void)
{
    Suite *suite = suite_create("http_client");
    TCase *tcase = tcase_create("core");
    tcase_add_checked_fixture(tcase, setup, teardown);
    tcase_add_test(tcase, test_http_client_200_returns_body_and_content_type);
    tcase_add_test(tcase, test_http_client_non_2xx_is_a_response_not_an_error);
    tcase_add_test(tcase, test_http_client_empty_body_is_an_empty_string);
    tcase_add_test(tcase, test_http_client_redirect_is_returned_not_followed);
    tcase_add_test(tcase, test_http_client_body_of_exactly_64_kib_is_accepted);
    tcase_add_test(tcase, test_http_client_body_over_64_kib_is_body_too_large);
    tcase_add_test(tcase, test_http_client_slow_server_is_timeout);
    tcase_add_test(tcase, test_http_client_closed_port_is_connect_failure);
    tcase_add_test(tcase, test_http_client_unresolvable_host_is_dns_failure);
    tcase_add_test(tcase, test_http_client_empty_reply_is_protocol_error);
    tcase_add_test(tcase, test_http_client_tls_to_plain_server_is_tls_failure);
    tcase_add_test(tcase, test_http_client_other_protocols_are_refused);
    tcase_add_test(tcase, test_http_client_tokens_are_sent_only_when_set);
    tcase_add_test(tcase, test_http_client_token_with_newline_is_refused);
    tcase_add_test(tcase, test_http_client_post_sends_json_body);
    tcase_add_test(tcase, test_http_client_only_get_and_post_are_allowed);
    tcase_add_test(tcase, test_http_client_url_encode_escapes_all_but_unreserved);
    tcase_add_test(tcase, test_http_client_url_encoded_parts_reach_server_intact);
    tcase_add_test(tcase, test_http_client_requests_in_one_multi_share_a_connection);
    tcase_add_test(tcase, test_http_client_multi_keeps_requests_apart);
    tcase_add_test(tcase, test_http_client_error_names_are_stable);
    tcase_add_test(tcase, test_http_client_environment_proxies_are_ignored);
    tcase_add_test(tcase, test_http_client_configured_proxy_is_used_whatever_no_proxy_says);
    tcase_add_test(tcase, test_http_client_proxy_url_problems);
    tcase_add_test(tcase, test_http_client_sends_user_agent_and_accept);
    tcase_add_test(tcase, test_http_client_reused_request_keeps_its_options_and_forgets_its_body);
    suite_add_tcase(suite, tcase);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(http_client_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
