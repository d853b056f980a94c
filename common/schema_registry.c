/* schema_registry.c — the Confluent-API schema registry client: register a schema under a
 * subject, fetch a schema by id (with waiting and retrying while the registry is down), and
 * the codec's start-up with both (schema_registry.h). Blocking libcurl requests through
 * http_client: at most one registration per written record type at start-up, and one fetch
 * per schema id a reader has not seen, so nothing here is on the per-record path. */
#include "schema_registry.h"

#include "http_client.h"
#include "log.h"
#include "signals.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCHEMA_REGISTRY_TIMEOUT_MS 5000
#define SCHEMA_REGISTRY_RETRY_FIRST_MS 200
#define SCHEMA_REGISTRY_RETRY_MAX_MS 5000

typedef struct {
    char *base_url;     /* without a trailing '/'; may hold user:password@ (basic auth) */
    char *masked_url;   /* for logs */
    char *bearer_token; /* NULL = none */
    char *ca_file;      /* NULL = the system's CAs */
} schema_registry;

static void schema_registry_free(void *context)
{
    schema_registry *registry = context;
    if (registry) {
        free(registry->base_url);
        free(registry->masked_url);
        free(registry->bearer_token);
        free(registry->ca_file);
        free(registry);
    }
}

static char *schema_optional_copy(const char *text)
{
    return text && text[0] != '\0' ? strdup(text) : NULL;
}

static void schema_request(const schema_registry *registry, const char *method, const char *path,
                           const char *body, http_response *response)
{
    char url[4096];
    snprintf(url, sizeof url, "%s%s", registry->base_url, path);
    http_request_options options = {.method = method,
                                    .url = url,
                                    .bearer_token = registry->bearer_token,
                                    .body = body,
                                    .timeout_ms = SCHEMA_REGISTRY_TIMEOUT_MS,
                                    .ca_file = registry->ca_file};
    http_client_perform(&options, response);
}

/* The registry could not answer (transport failure, 5xx, 429): worth asking again. */
static bool schema_registry_is_down(const http_response *response)
{
    return response->error != HTTP_CLIENT_OK || response->status >= 500 || response->status == 429;
}

static void schema_sleep_ms(int64_t milliseconds)
{
    struct timespec pause = {milliseconds / 1000, (long)(milliseconds % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

/* codec_schema_fetcher: GET /schemas/ids/{id}. Waits and retries while the registry is down,
 * until it answers or the process is asked to stop (then *unavailable). */
static char *schema_registry_fetch(void *context, uint32_t schema_id, bool *unavailable)
{
    schema_registry *registry = context;
    char path[64];
    snprintf(path, sizeof path, "/schemas/ids/%u", schema_id);
    int64_t retry_ms = SCHEMA_REGISTRY_RETRY_FIRST_MS;
    bool warned = false;
    *unavailable = false;
    for (;;) {
        http_response response;
        schema_request(registry, "GET", path, NULL, &response);
        if (!schema_registry_is_down(&response)) {
            char *schema_json = NULL;
            json_t *answer = response.status == 200 ? json_loads(response.body, 0, NULL) : NULL;
            const char *text = json_string_value(json_object_get(answer, "schema"));
            schema_json = text ? strdup(text) : NULL;
            if (!schema_json) {
                log_warn("schema registry has no such schema id", "{s:I, s:i, s:s}", "schema_id",
                         (json_int_t)schema_id, "status", (int)response.status, "registry",
                         registry->masked_url);
            } else if (warned) {
                log_info("schema registry answers again; decoding resumes", "{s:I}", "schema_id",
                         (json_int_t)schema_id);
            }
            json_decref(answer);
            http_response_free(&response);
            return schema_json;
        }
        if (!warned) {
            log_warn("schema registry unavailable; decoding waits for it", "{s:I, s:s, s:i, s:s}",
                     "schema_id", (json_int_t)schema_id, "error",
                     http_client_error_name(response.error), "status", (int)response.status,
                     "registry", registry->masked_url);
            warned = true;
        }
        http_response_free(&response);
        if (signals_stop_requested) {
            *unavailable = true;
            return NULL;
        }
        schema_sleep_ms(retry_ms);
        retry_ms = retry_ms * 2 > SCHEMA_REGISTRY_RETRY_MAX_MS ? SCHEMA_REGISTRY_RETRY_MAX_MS
                                                               : retry_ms * 2;
    }
}

/* How often a registration answered 409 is tried again: Apicurio answers 409 to the second of
 * two writers creating the same subject at once (the retry then finds it), and to an
 * incompatible schema (which stays refused). */
#define SCHEMA_REGISTRY_CONFLICT_ATTEMPTS 4

/* POST /subjects/{topic}-value/versions: the registry's id of the schema (a new version, or the
 * existing one when it already holds this schema). Waits while the registry is down, like a
 * reader (until it answers or the process is asked to stop). */
static bool schema_registry_register(const schema_registry *registry, const char *topic,
                                     const char *schema_json, uint32_t *schema_id)
{
    char *subject = http_url_encode(topic);
    json_t *request = json_pack("{s:s}", "schema", schema_json);
    char *body = request ? json_dumps(request, JSON_COMPACT) : NULL;
    json_decref(request);
    if (!subject || !body) {
        free(subject);
        free(body);
        log_error("schema registry registration failed", "{s:s}", "detail", "out of memory");
        return false;
    }
    char path[2048];
    snprintf(path, sizeof path, "/subjects/%s-value/versions", subject);
    free(subject);
    int64_t retry_ms = SCHEMA_REGISTRY_RETRY_FIRST_MS;
    int conflicts = 0;
    bool warned = false;
    for (;;) {
        http_response response;
        schema_request(registry, "POST", path, body, &response);
        json_t *answer = response.status == 200 ? json_loads(response.body, 0, NULL) : NULL;
        json_t *id = json_object_get(answer, "id");
        bool ok = json_is_integer(id) && json_integer_value(id) >= 0 &&
                  json_integer_value(id) <= UINT32_MAX;
        bool down = schema_registry_is_down(&response);
        bool retry =
            !ok && !signals_stop_requested &&
            (down || (response.status == 409 && ++conflicts < SCHEMA_REGISTRY_CONFLICT_ATTEMPTS));
        if (ok) {
            *schema_id = (uint32_t)json_integer_value(id);
            log_info("schema registered", "{s:s, s:I, s:s}", "subject", topic, "schema_id",
                     (json_int_t)*schema_id, "registry", registry->masked_url);
        } else if (!retry || (down && !warned)) {
            log_error(down ? "schema registry unavailable" : "schema registry refused the schema",
                      "{s:s, s:s, s:i, s:s, s:s}", "subject", topic, "error",
                      http_client_error_name(response.error), "status", (int)response.status,
                      "answer", response.body && !down ? response.body : "", "registry",
                      registry->masked_url);
            warned = warned || down;
        }
        json_decref(answer);
        http_response_free(&response);
        if (!retry) {
            free(body);
            return ok;
        }
        schema_sleep_ms(retry_ms);
        retry_ms = retry_ms * 2 > SCHEMA_REGISTRY_RETRY_MAX_MS ? SCHEMA_REGISTRY_RETRY_MAX_MS
                                                               : retry_ms * 2;
    }
}

static schema_registry *schema_registry_new(const common_settings *common)
{
    schema_registry *registry = calloc(1, sizeof *registry);
    if (!registry) {
        return NULL;
    }
    registry->base_url = strdup(common->schema_registry_url);
    registry->masked_url = malloc(strlen(common->schema_registry_url) + 16);
    registry->bearer_token = schema_optional_copy(common->schema_registry_bearer_token);
    registry->ca_file = schema_optional_copy(common->schema_registry_ca_file);
    if (!registry->base_url || !registry->masked_url) {
        schema_registry_free(registry);
        return NULL;
    }
    config_mask_url_userinfo(common->schema_registry_url, registry->masked_url,
                             strlen(common->schema_registry_url) + 16);
    size_t length = strlen(registry->base_url);
    while (length > 0 && registry->base_url[length - 1] == '/') {
        registry->base_url[--length] = '\0';
    }
    return registry;
}

const char *schema_mode_name(const common_settings *common)
{
    return common->schema_registry_url && common->schema_registry_url[0] != '\0' ? "schema-registry"
                                                                                 : "single-object";
}

void schema_print_write_versions(FILE *out)
{
    for (int index = 0; codec_record_name((codec_record_type)index) != NULL; index++) {
        codec_record_type type = (codec_record_type)index;
        fprintf(out, "schema-write:%s=%d (%s)\n", codec_record_name(type),
                codec_write_version(type), codec_write_choice_name(codec_write_reason(type)));
    }
}

/* The topic a record type is written to. */
static const char *schema_topic_of(const common_settings *common, codec_record_type type)
{
    switch (type) {
    case CODEC_RECORD_CHECK_REQUEST:
        return common->topic_checks;
    case CODEC_RECORD_VERDICT:
        return common->topic_verdicts;
    case CODEC_RECORD_ACTION:
        return common->topic_actions;
    }
    return NULL;
}

bool schema_setup(const common_settings *common, const codec_record_type *writes)
{
    codec_options options = {common->schema_dir, common->schema_write_versions};
    if (!codec_init_with(&options)) {
        return false;
    }
    if (strcmp(schema_mode_name(common), "single-object") == 0) {
        log_info("schema mode", "{s:s}", "mode", "single-object");
        return true;
    }
    schema_registry *registry = schema_registry_new(common);
    if (!registry) {
        log_error("schema registry set-up failed", "{s:s}", "detail", "out of memory");
        codec_shutdown();
        return false;
    }
    codec_set_registry(schema_registry_fetch, registry, schema_registry_free);
    log_info("schema mode", "{s:s, s:s}", "mode", "schema-registry", "registry",
             registry->masked_url);
    const char *topic = writes ? schema_topic_of(common, *writes) : NULL;
    if (writes) {
        uint32_t schema_id = 0;
        if (!topic || !schema_registry_register(registry, topic, codec_write_schema_json(*writes),
                                                &schema_id)) {
            codec_shutdown();
            return false;
        }
        codec_set_confluent_id(*writes, schema_id);
    }
    return true;
}
