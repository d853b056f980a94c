/* sequential_sweeper.c — the baseline of bench/run.sh: what a single in-process sweeper does.
 *
 * Every interval:
 *   SELECT id, instance_id FROM workspaces WHERE <in scope> ORDER BY updated_at DESC LIMIT 200
 * then, one row after another, a blocking CP status request (10 s timeout), the same
 * fail-safe classification as reconciler-checker (cp_classify: only a clean 2xx
 * {"state":"terminated"/...} is NOT_RUNNING), and for NOT_RUNNING, inline, the same
 * compare-and-swap flip as the actuator and a blocking restart POST. Then it sleeps until
 * the next interval (or starts at once if the work overran it).
 *
 * It is written to give the baseline its best case, not to make it look bad: one libcurl
 * connection cache shared by all requests (keep-alive, no reconnect per request), one
 * prepared statement, no logging per row. What it cannot escape is its design: one request
 * at a time, and always the same 200 most recently updated rows.
 *
 * Not for production: no Kafka, no guards (breaker, rate limit, freshness), no retries.
 *
 * Output: JSON lines on stdout, one per check and one per interval, which
 * bench/pipeline_bench.py reads:
 *   {"type":"check","interval":k,"started_ms":..,"checked_at":..,"workspace_id":..,
 *    "instance_id":..,"liveness":"RUNNING","reason":"state_running","http_status":200,
 *    "latency_ms":..,"flipped":false,"restart_status":null,"restart_ms":null}
 *   {"type":"interval","interval":k,"started_ms":..,"finished_ms":..,"selected":200,
 *    "checked":200,"select_ms":..,"flipped":n}
 * Times are wall-clock milliseconds since the epoch, like the pipeline's Avro timestamps.
 *
 * Configuration (environment, or the flag of the same name): DATABASE_URL, CP_URL,
 * RESTART_URL (with {id}), BASELINE_INTERVAL (default 60s), BASELINE_LIMIT (200),
 * BASELINE_TIMEOUT (10s, per request), BASELINE_INTERVALS (0 = until SIGTERM/SIGINT). */
#include "cp_classify.h"
#include "cp_url.h"
#include "http_client.h"
#include "timeutil.h"

#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int signal_number)
{
    (void)signal_number;
    stop_requested = 1;
}

typedef struct {
    const char *database_url;
    const char *cp_url;
    const char *restart_url;
    int64_t interval_ms;
    long limit;
    int64_t timeout_ms;
    long intervals;
} baseline_settings;

static const char *setting(int argc, char **argv, const char *flag, const char *variable,
                           const char *fallback)
{
    for (int index = 1; index + 1 < argc; index++) {
        if (strcmp(argv[index], flag) == 0)
            return argv[index + 1];
    }
    const char *value = getenv(variable);
    return value != NULL && value[0] != '\0' ? value : fallback;
}

static void usage(FILE *out)
{
    fputs("usage: sequential-sweeper [--database-url URL] [--cp-url URL] [--restart-url URL]\n"
          "                          [--baseline-interval 60s] [--baseline-limit 200]\n"
          "                          [--baseline-timeout 10s] [--baseline-intervals 0]\n"
          "The sequential baseline of bench/run.sh (see the comment at the top of\n"
          "bench/baseline/sequential_sweeper.c). Each flag can also be given as the upper-case\n"
          "environment variable (DATABASE_URL, CP_URL, RESTART_URL, BASELINE_INTERVAL, ...).\n"
          "JSON lines on stdout: one per check, one per interval.\n",
          out);
}

/* Parses the settings; prints a one-line error naming the variable and returns false. */
static bool parse_settings(int argc, char **argv, baseline_settings *settings)
{
    settings->database_url = setting(argc, argv, "--database-url", "DATABASE_URL", NULL);
    settings->cp_url = setting(argc, argv, "--cp-url", "CP_URL", NULL);
    settings->restart_url = setting(argc, argv, "--restart-url", "RESTART_URL", NULL);
    const char *interval = setting(argc, argv, "--baseline-interval", "BASELINE_INTERVAL", "60s");
    const char *limit = setting(argc, argv, "--baseline-limit", "BASELINE_LIMIT", "200");
    const char *timeout = setting(argc, argv, "--baseline-timeout", "BASELINE_TIMEOUT", "10s");
    const char *intervals = setting(argc, argv, "--baseline-intervals", "BASELINE_INTERVALS", "0");
    char error[256];
    if (settings->database_url == NULL) {
        fprintf(stderr, "sequential-sweeper: DATABASE_URL is required\n");
        return false;
    }
    if (settings->cp_url == NULL || !cp_base_url_validate(settings->cp_url, error, sizeof error)) {
        fprintf(stderr, "sequential-sweeper: CP_URL: %s\n",
                settings->cp_url == NULL ? "required" : error);
        return false;
    }
    if (settings->restart_url == NULL || strstr(settings->restart_url, "{id}") == NULL) {
        fprintf(stderr, "sequential-sweeper: RESTART_URL is required and must contain {id}\n");
        return false;
    }
    if (!time_parse_duration_ms(interval, &settings->interval_ms) || settings->interval_ms < 1) {
        fprintf(stderr, "sequential-sweeper: BASELINE_INTERVAL: not a duration: %s\n", interval);
        return false;
    }
    if (!time_parse_duration_ms(timeout, &settings->timeout_ms) || settings->timeout_ms < 1) {
        fprintf(stderr, "sequential-sweeper: BASELINE_TIMEOUT: not a duration: %s\n", timeout);
        return false;
    }
    char *end = NULL;
    settings->limit = strtol(limit, &end, 10);
    if (end == limit || *end != '\0' || settings->limit < 1 || settings->limit > 1000000) {
        fprintf(stderr, "sequential-sweeper: BASELINE_LIMIT: not in 1..1000000: %s\n", limit);
        return false;
    }
    settings->intervals = strtol(intervals, &end, 10);
    if (end == intervals || *end != '\0' || settings->intervals < 0) {
        fprintf(stderr, "sequential-sweeper: BASELINE_INTERVALS: not a count >= 0: %s\n",
                intervals);
        return false;
    }
    return true;
}

/* The restart URL with {id} replaced by the percent-encoded workspace id; malloc'd. */
static char *restart_url_for(const char *template_url, const char *workspace_id)
{
    char *encoded = http_url_encode(workspace_id);
    const char *marker = strstr(template_url, "{id}");
    if (encoded == NULL || marker == NULL) {
        free(encoded);
        return NULL;
    }
    size_t prefix = (size_t)(marker - template_url);
    size_t length = strlen(template_url) - 4 + strlen(encoded) + 1;
    char *url = malloc(length);
    if (url != NULL)
        snprintf(url, length, "%.*s%s%s", (int)prefix, template_url, encoded, marker + 4);
    free(encoded);
    return url;
}

/* One blocking request through the shared connection cache. */
static void perform(CURLSH *share, const http_request_options *options, http_response *response)
{
    http_request *request = http_request_prepare(options, NULL);
    if (request == NULL) {
        memset(response, 0, sizeof *response);
        response->error = HTTP_CLIENT_ERROR_INTERNAL;
        return;
    }
    CURL *handle = http_request_handle(request);
    CURLcode result = curl_easy_setopt(handle, CURLOPT_SHARE, share);
    if (result == CURLE_OK)
        result = curl_easy_perform(handle);
    http_request_finish(request, result, response);
}

static void emit(json_t *line)
{
    if (line == NULL)
        return;
    json_dumpf(line, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    json_decref(line);
}

static void sleep_ms(int64_t ms)
{
    while (ms > 0 && !stop_requested) {
        int64_t step = ms > 100 ? 100 : ms;
        struct timespec pause = {.tv_sec = 0, .tv_nsec = (long)step * 1000000L};
        nanosleep(&pause, NULL);
        ms -= step;
    }
}

static const char select_sql[] =
    "SELECT id::text, instance_id FROM workspaces "
    "WHERE status = 'online' AND instance_id IS NOT NULL AND instance_id <> '' "
    "AND COALESCE(runtime, '') <> 'external' ORDER BY updated_at DESC LIMIT $1";
/* The actuator's compare-and-swap: only a row still online on the same instance, in scope. */
static const char flip_sql[] =
    "UPDATE workspaces SET status = 'offline', updated_at = now() "
    "WHERE id = $1::uuid AND status = 'online' AND instance_id = $2 AND instance_id <> '' "
    "AND COALESCE(runtime, '') <> 'external'";

/* Checks one row; returns whether it was flipped. */
static bool check_row(const baseline_settings *settings, CURLSH *share, PGconn *connection,
                      const cp_not_running_states *states, long interval, const char *workspace_id,
                      const char *instance_id)
{
    int64_t started_ms = time_now_wall_ms();
    int64_t started_monotonic = time_now_monotonic_ms();
    char *url = cp_status_url(settings->cp_url, workspace_id, instance_id);
    http_response response;
    if (url == NULL) {
        memset(&response, 0, sizeof response);
        response.error = HTTP_CLIENT_ERROR_INTERNAL;
    } else {
        http_request_options options = {
            .method = "GET", .url = url, .timeout_ms = settings->timeout_ms};
        perform(share, &options, &response);
    }
    free(url);
    int64_t latency_ms = time_now_monotonic_ms() - started_monotonic;
    cp_classification classification =
        cp_classify(response.status, response.error, response.body, response.body_length,
                    response.content_type, states);
    long http_status = response.status;
    http_response_free(&response);

    bool flipped = false;
    long restart_status = -1;
    int64_t restart_ms = -1;
    if (classification.liveness == LIVENESS_NOT_RUNNING) {
        const char *parameters[2] = {workspace_id, instance_id};
        PGresult *result = PQexecParams(connection, flip_sql, 2, NULL, parameters, NULL, NULL, 0);
        if (PQresultStatus(result) == PGRES_COMMAND_OK)
            flipped = strcmp(PQcmdTuples(result), "1") == 0;
        else
            fprintf(stderr, "sequential-sweeper: flip failed: %s", PQerrorMessage(connection));
        PQclear(result);
        if (flipped) {
            char *restart = restart_url_for(settings->restart_url, workspace_id);
            http_request_options options = {
                .method = "POST", .url = restart, .body = "{}", .timeout_ms = settings->timeout_ms};
            http_response answer;
            if (restart != NULL) {
                perform(share, &options, &answer);
                restart_status = answer.status;
                http_response_free(&answer);
            }
            free(restart);
            restart_ms = time_now_wall_ms();
        }
    }
    json_t *line =
        json_pack("{s:s, s:I, s:I, s:I, s:s, s:s, s:s, s:s, s:o, s:I, s:b, s:o, s:o}", "type",
                  "check", "interval", (json_int_t)interval, "started_ms", (json_int_t)started_ms,
                  "checked_at", (json_int_t)(started_ms + latency_ms), "workspace_id", workspace_id,
                  "instance_id", instance_id, "liveness", liveness_name(classification.liveness),
                  "reason", cp_reason_name(classification.reason), "http_status",
                  http_status > 0 ? json_integer(http_status) : json_null(), "latency_ms",
                  (json_int_t)latency_ms, "flipped", flipped, "restart_status",
                  restart_status >= 0 ? json_integer(restart_status) : json_null(), "restart_ms",
                  restart_ms >= 0 ? json_integer(restart_ms) : json_null());
    emit(line);
    return flipped;
}

int main(int argc, char **argv)
{
    for (int index = 1; index < argc; index++) {
        if (strcmp(argv[index], "--help") == 0 || strcmp(argv[index], "-h") == 0) {
            usage(stdout);
            return 0;
        }
    }
    baseline_settings settings;
    if (!parse_settings(argc, argv, &settings))
        return 2;
    cp_not_running_states states;
    char error[256];
    if (!cp_not_running_states_parse(CP_NOT_RUNNING_STATES_DEFAULT, &states, error, sizeof error)) {
        fprintf(stderr, "sequential-sweeper: %s\n", error);
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "sequential-sweeper: curl_global_init failed\n");
        return 1;
    }
    /* One connection cache for every request: keep-alive, as an in-process HTTP client has. */
    CURLSH *share = curl_share_init();
    if (share == NULL ||
        curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK ||
        curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK) {
        fprintf(stderr, "sequential-sweeper: curl_share_init failed\n");
        return 1;
    }
    PGconn *connection = PQconnectdb(settings.database_url);
    if (PQstatus(connection) != CONNECTION_OK) {
        /* libpq's message names host and port, never the password. */
        fprintf(stderr, "sequential-sweeper: PQconnectdb failed: %s", PQerrorMessage(connection));
        PQfinish(connection);
        return 1;
    }
    PGresult *prepared = PQprepare(connection, "select_recent", select_sql, 1, NULL);
    if (PQresultStatus(prepared) != PGRES_COMMAND_OK) {
        fprintf(stderr, "sequential-sweeper: PQprepare failed: %s", PQerrorMessage(connection));
        PQclear(prepared);
        PQfinish(connection);
        return 1;
    }
    PQclear(prepared);

    char limit_text[24];
    snprintf(limit_text, sizeof limit_text, "%ld", settings.limit);
    for (long interval = 1; !stop_requested; interval++) {
        if (settings.intervals > 0 && interval > settings.intervals)
            break;
        int64_t started_monotonic = time_now_monotonic_ms();
        int64_t started_ms = time_now_wall_ms();
        const char *parameters[1] = {limit_text};
        PGresult *rows = PQexecPrepared(connection, "select_recent", 1, parameters, NULL, NULL, 0);
        int64_t select_ms = time_now_monotonic_ms() - started_monotonic;
        long selected = 0, checked = 0, flipped = 0;
        if (PQresultStatus(rows) != PGRES_TUPLES_OK) {
            fprintf(stderr, "sequential-sweeper: select failed: %s", PQerrorMessage(connection));
        } else {
            selected = PQntuples(rows);
            for (int row = 0; row < PQntuples(rows) && !stop_requested; row++) {
                if (check_row(&settings, share, connection, &states, interval,
                              PQgetvalue(rows, row, 0), PQgetvalue(rows, row, 1)))
                    flipped++;
                checked++;
            }
        }
        PQclear(rows);
        json_t *line =
            json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "type", "interval", "interval",
                      (json_int_t)interval, "started_ms", (json_int_t)started_ms, "finished_ms",
                      (json_int_t)time_now_wall_ms(), "selected", (json_int_t)selected, "checked",
                      (json_int_t)checked, "select_ms", (json_int_t)select_ms, "flipped",
                      (json_int_t)flipped);
        emit(line);
        fflush(stdout);
        int64_t elapsed = time_now_monotonic_ms() - started_monotonic;
        if (settings.intervals == 0 || interval < settings.intervals)
            sleep_ms(settings.interval_ms - elapsed);
    }
    PQfinish(connection);
    curl_share_cleanup(share);
    curl_global_cleanup();
    return 0;
}
