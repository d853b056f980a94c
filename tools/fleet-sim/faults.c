/* faults.c — fault rules, their matching, and the answers they produce.
 *
 * For: deciding, per request, which rule (if any) applies and what goes on the wire instead.
 * Not for: sending it (server.c) or parsing admin JSON into rules (admin_api.c).
 *
 * Each body shape here is one way a CP answer can be wrong in the eyes of docs/contracts.md §3; the
 * reconciler must classify every one of them UNKNOWN. Several shapes put "terminated" where a
 * lenient parser would find it (duplicate keys, trailing data), so a checker that is not
 * strict would flip a healthy workspace — which the tests would then see. */
#include "faults.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const fault_mode_names[FAULT_MODE_COUNT] = {
    "latency",
    "hang",
    "status",
    "redirect",
    "garbage",
    "truncated",
    "oversized",
    "empty_object",
    "missing_state",
    "null_state",
    "wrong_type_state",
    "odd_state",
    "duplicate_state_keys",
    "array_body",
    "trailing_data",
    "content_type",
    "reset",
};

const char *fault_mode_name(fault_mode mode)
{
    if ((int)mode < 0 || mode >= FAULT_MODE_COUNT) {
        return "unknown";
    }
    return fault_mode_names[mode];
}

bool fault_mode_parse(const char *text, fault_mode *out)
{
    if (text == NULL) {
        return false;
    }
    for (int i = 0; i < FAULT_MODE_COUNT; i++) {
        if (strcmp(text, fault_mode_names[i]) == 0) {
            *out = (fault_mode)i;
            return true;
        }
    }
    return false;
}

const char *fault_endpoint_name(fault_endpoint endpoint)
{
    switch (endpoint) {
    case FAULT_ENDPOINT_STATUS:
        return "status";
    case FAULT_ENDPOINT_RESTART:
        return "restart";
    case FAULT_ENDPOINT_ANY:
        return "any";
    }
    return "unknown";
}

bool fault_endpoint_parse(const char *text, fault_endpoint *out)
{
    static const fault_endpoint all[] = {FAULT_ENDPOINT_STATUS, FAULT_ENDPOINT_RESTART,
                                         FAULT_ENDPOINT_ANY};
    if (text == NULL) {
        return false;
    }
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(text, fault_endpoint_name(all[i])) == 0) {
            *out = all[i];
            return true;
        }
    }
    return false;
}

const char *fault_target_kind_name(fault_target_kind kind)
{
    switch (kind) {
    case FAULT_TARGET_ALL:
        return "all";
    case FAULT_TARGET_SHARE:
        return "share";
    case FAULT_TARGET_WORKSPACE:
        return "workspace_id";
    case FAULT_TARGET_INSTANCE:
        return "instance_id";
    }
    return "unknown";
}

void fault_spec_defaults(fault_spec *spec, fault_mode mode)
{
    memset(spec, 0, sizeof *spec);
    spec->mode = mode;
    spec->endpoint = FAULT_ENDPOINT_STATUS;
    spec->target_kind = FAULT_TARGET_ALL;
    spec->probability = 1.0;
    spec->http_status = mode == FAULT_MODE_REDIRECT ? 302 : 503;
    /* The default redirect target is a trap: it answers "terminated", so a client that
     * follows redirects (which the reconciler must not) flips a healthy workspace. */
    snprintf(spec->location, sizeof spec->location, "/cp/redirected/terminated");
    snprintf(spec->state_text, sizeof spec->state_text, "pending");
    snprintf(spec->first_state, sizeof spec->first_state, "terminated");
    snprintf(spec->second_state, sizeof spec->second_state, "running");
    snprintf(spec->content_type, sizeof spec->content_type, "text/html");
    /* Just over the 64 KiB a CP client may read (docs/contracts.md §3). */
    spec->body_bytes = 70000;
}

double fault_share_point(const char *salt, const char *instance_id)
{
    uint64_t hash = 0xcbf29ce484222325ULL;
    const char *parts[] = {salt != NULL ? salt : "", "/", instance_id != NULL ? instance_id : ""};
    for (size_t p = 0; p < 3; p++) {
        for (const unsigned char *c = (const unsigned char *)parts[p]; *c != '\0'; c++) {
            hash ^= *c;
            hash *= 0x100000001b3ULL;
        }
    }
    /* FNV's low bits mix poorly on short keys; a final avalanche (splitmix64's) fixes it. */
    hash ^= hash >> 30;
    hash *= 0xbf58476d1ce4e5b9ULL;
    hash ^= hash >> 27;
    hash *= 0x94d049bb133111ebULL;
    hash ^= hash >> 31;
    return (double)(hash >> 11) * (1.0 / 9007199254740992.0);
}

bool fault_spec_covers(const fault_spec *spec, fault_endpoint endpoint, const char *workspace_id,
                       const char *instance_id)
{
    if ((spec->endpoint & endpoint) == 0) {
        return false;
    }
    switch (spec->target_kind) {
    case FAULT_TARGET_ALL:
        return true;
    case FAULT_TARGET_SHARE:
        return instance_id != NULL && fault_share_point(spec->salt, instance_id) < spec->share;
    case FAULT_TARGET_WORKSPACE:
        return workspace_id != NULL && strcmp(spec->target_id, workspace_id) == 0;
    case FAULT_TARGET_INSTANCE:
        return instance_id != NULL && strcmp(spec->target_id, instance_id) == 0;
    }
    return false;
}

long fault_select(const fault_rule *rules, size_t count, fault_endpoint endpoint,
                  const char *workspace_id, const char *instance_id, double random_unit)
{
    long best = -1;
    for (size_t i = 0; i < count; i++) {
        const fault_spec *spec = &rules[i].spec;
        if (!fault_spec_covers(spec, endpoint, workspace_id, instance_id)) {
            continue;
        }
        if (random_unit >= spec->probability) {
            continue;
        }
        if (best < 0 || spec->target_kind > rules[best].spec.target_kind ||
            (spec->target_kind == rules[best].spec.target_kind && rules[i].id > rules[best].id)) {
            best = (long)i;
        }
    }
    return best;
}

bool response_plan_json(response_plan *plan, unsigned int http_status, const char *body,
                        size_t body_length)
{
    memset(plan, 0, sizeof *plan);
    plan->action = RESPONSE_ACTION_ANSWER;
    plan->http_status = http_status;
    snprintf(plan->content_type, sizeof plan->content_type, "application/json");
    plan->body = malloc(body_length + 1);
    if (plan->body == NULL) {
        return false;
    }
    memcpy(plan->body, body, body_length);
    plan->body[body_length] = '\0';
    plan->body_length = body_length;
    plan->declared_length = body_length;
    return true;
}

void response_plan_release(response_plan *plan)
{
    free(plan->body);
    plan->body = NULL;
    plan->body_length = 0;
    plan->declared_length = 0;
}

/* A JSON string literal of `text` (escaped), into a fixed buffer; text NULL gives null.
 * Request ids are attacker-shaped text, so they are escaped, never pasted. */
static void json_literal(const char *text, char *buffer, size_t size)
{
    if (text == NULL) {
        snprintf(buffer, size, "null");
        return;
    }
    /* Text that is not UTF-8, or whose literal would not fit, becomes null: a literal cut
     * short would make the body malformed in a way no mode documents. */
    json_t *string = json_string(text);
    char *dumped = string != NULL ? json_dumps(string, JSON_ENCODE_ANY) : NULL;
    bool fits = dumped != NULL && strlen(dumped) < size;
    snprintf(buffer, size, "%s", fits ? dumped : "null");
    free(dumped);
    json_decref(string);
}

/* Sets out to a copy of `text` as body with status/type, keeping the delay. */
static bool plan_text(response_plan *out, unsigned int http_status, const char *content_type,
                      const char *text, size_t length)
{
    int64_t delay_ms = out->delay_ms;
    if (!response_plan_json(out, http_status, text, length)) {
        return false;
    }
    out->delay_ms = delay_ms;
    snprintf(out->content_type, sizeof out->content_type, "%s", content_type);
    return true;
}

__attribute__((format(printf, 3, 4))) static bool
plan_printf(response_plan *out, unsigned int http_status, const char *format, ...)
{
    char body[4 * FAULT_TEXT_MAX + 256];
    va_list arguments;
    va_start(arguments, format);
    int length = vsnprintf(body, sizeof body, format, arguments);
    va_end(arguments);
    if (length < 0) {
        return false;
    }
    if ((size_t)length >= sizeof body) {
        length = (int)strlen(body);
    }
    return plan_text(out, http_status, "application/json", body, (size_t)length);
}

static bool plan_oversized(response_plan *out, unsigned int http_status, const char *instance,
                           int64_t body_bytes)
{
    /* {"state":"running","instance_id":...,"padding":"xxxx..."}: valid JSON of exactly
     * body_bytes bytes, so only the size is wrong with it. */
    char head[2 * FAULT_TEXT_MAX];
    int head_length = snprintf(
        head, sizeof head, "{\"state\":\"running\",\"instance_id\":%s,\"padding\":\"", instance);
    size_t tail_length = 2; /* "} */
    size_t total = (size_t)body_bytes;
    if (total < (size_t)head_length + tail_length) {
        total = (size_t)head_length + tail_length;
    }
    char *body = malloc(total + 1);
    if (body == NULL) {
        return false;
    }
    memcpy(body, head, (size_t)head_length);
    memset(body + head_length, 'x', total - (size_t)head_length - tail_length);
    memcpy(body + total - tail_length, "\"}", tail_length);
    body[total] = '\0';
    int64_t delay_ms = out->delay_ms;
    memset(out, 0, sizeof *out);
    out->action = RESPONSE_ACTION_ANSWER;
    out->http_status = http_status;
    snprintf(out->content_type, sizeof out->content_type, "application/json");
    out->body = body;
    out->body_length = total;
    out->declared_length = total;
    out->delay_ms = delay_ms;
    return true;
}

bool fault_build_plan(const fault_spec *spec, const response_plan *normal, const char *instance_id,
                      unsigned int success_status, double random_unit, int64_t hang_cap_ms,
                      response_plan *out)
{
    char instance[2 * FLEET_ID_MAX + 16];
    json_literal(instance_id, instance, sizeof instance);
    memset(out, 0, sizeof *out);
    out->delay_ms = spec->fixed_ms + (int64_t)floor((double)spec->jitter_ms * random_unit);

    switch (spec->mode) {
    case FAULT_MODE_LATENCY:
    case FAULT_MODE_CONTENT_TYPE: {
        int64_t delay_ms = out->delay_ms;
        if (!response_plan_json(out, normal->http_status, normal->body != NULL ? normal->body : "",
                                normal->body_length)) {
            return false;
        }
        snprintf(out->content_type, sizeof out->content_type, "%s",
                 spec->mode == FAULT_MODE_CONTENT_TYPE ? spec->content_type : normal->content_type);
        out->delay_ms = delay_ms;
        return true;
    }
    case FAULT_MODE_HANG:
        out->action = RESPONSE_ACTION_CLOSE;
        out->delay_ms += spec->hang_ms > 0 ? spec->hang_ms : hang_cap_ms;
        if (out->delay_ms > hang_cap_ms) {
            out->delay_ms = hang_cap_ms;
        }
        return true;
    case FAULT_MODE_RESET:
        out->action = RESPONSE_ACTION_RESET;
        return true;
    case FAULT_MODE_STATUS: {
        return plan_printf(out, spec->http_status, "{\"error\":\"injected_fault\",\"status\":%u}",
                           spec->http_status);
    }
    case FAULT_MODE_REDIRECT:
        if (!plan_printf(out, spec->http_status, "{\"error\":\"moved\"}")) {
            return false;
        }
        snprintf(out->location, sizeof out->location, "%s", spec->location);
        return true;
    case FAULT_MODE_GARBAGE: {
        /* Binary bytes, an HTML fragment and a NUL: nothing a JSON parser takes. */
        static const char garbage[] = "\x89PNG\r\n\x1a\n<html><body>502 Bad Gateway</body>"
                                      "</html>\x00\xff\xfe{\"state\":";
        return plan_text(out, success_status, "application/json", garbage, sizeof garbage - 1);
    }
    case FAULT_MODE_TRUNCATED: {
        char full[2 * FAULT_TEXT_MAX];
        int length =
            snprintf(full, sizeof full, "{\"state\":\"running\",\"instance_id\":%s}", instance);
        /* Cut inside the value of "state" (`{"state":"runn`), whatever the id. */
        size_t cut = 14;
        if (!plan_text(out, success_status, "application/json", full,
                       spec->cut_transfer ? (size_t)length : cut)) {
            return false;
        }
        if (spec->cut_transfer) {
            /* Announce the whole object, send its first half, then close. */
            out->declared_length = (size_t)length;
            out->body_length = (size_t)length / 2;
        }
        return true;
    }
    case FAULT_MODE_OVERSIZED:
        return plan_oversized(out, success_status, instance, spec->body_bytes);
    case FAULT_MODE_EMPTY_OBJECT:
        return plan_printf(out, success_status, "{}");
    case FAULT_MODE_MISSING_STATE:
        return plan_printf(out, success_status, "{\"instance_id\":%s}", instance);
    case FAULT_MODE_NULL_STATE:
        return plan_printf(out, success_status, "{\"state\":null,\"instance_id\":%s}", instance);
    case FAULT_MODE_WRONG_TYPE_STATE:
        return plan_printf(out, success_status, "{\"state\":1,\"instance_id\":%s}", instance);
    case FAULT_MODE_ODD_STATE: {
        char state[2 * FLEET_ID_MAX + 16];
        json_literal(spec->state_text, state, sizeof state);
        return plan_printf(out, success_status, "{\"state\":%s,\"instance_id\":%s}", state,
                           instance);
    }
    case FAULT_MODE_DUPLICATE_STATE_KEYS: {
        char first[2 * FLEET_ID_MAX + 16];
        char second[2 * FLEET_ID_MAX + 16];
        json_literal(spec->first_state, first, sizeof first);
        json_literal(spec->second_state, second, sizeof second);
        return plan_printf(out, success_status, "{\"state\":%s,\"state\":%s,\"instance_id\":%s}",
                           first, second, instance);
    }
    case FAULT_MODE_ARRAY_BODY:
        return plan_printf(out, success_status, "[{\"state\":\"running\",\"instance_id\":%s}]",
                           instance);
    case FAULT_MODE_TRAILING_DATA:
        return plan_printf(out, success_status,
                           "{\"state\":\"terminated\",\"instance_id\":%s}{\"state\":\"running\"}",
                           instance);
    case FAULT_MODE_COUNT:
        break;
    }
    return false;
}

bool fault_restart_performed(const fault_spec *spec, const response_plan *plan)
{
    if (spec->perform_restart == FAULT_PERFORM_YES) {
        return true;
    }
    if (spec->perform_restart == FAULT_PERFORM_NO) {
        return false;
    }
    return plan->action == RESPONSE_ACTION_ANSWER && plan->http_status >= 200 &&
           plan->http_status < 300;
}

json_t *fault_rule_json(const fault_rule *rule)
{
    const fault_spec *spec = &rule->spec;
    json_t *target = json_object();
    switch (spec->target_kind) {
    case FAULT_TARGET_ALL:
        json_object_set_new(target, "all", json_true());
        break;
    case FAULT_TARGET_SHARE:
        json_object_set_new(target, "share", json_real(spec->share));
        if (spec->salt[0] != '\0') {
            json_object_set_new(target, "salt", json_string(spec->salt));
        }
        break;
    case FAULT_TARGET_WORKSPACE:
        json_object_set_new(target, "workspace_id", json_string(spec->target_id));
        break;
    case FAULT_TARGET_INSTANCE:
        json_object_set_new(target, "instance_id", json_string(spec->target_id));
        break;
    }
    json_t *object = json_pack(
        "{s:I, s:s, s:s, s:o, s:f, s:I, s:I, s:I, s:I}", "id", (json_int_t)rule->id, "mode",
        fault_mode_name(spec->mode), "endpoint", fault_endpoint_name(spec->endpoint), "target",
        target, "probability", spec->probability, "fixed_ms", (json_int_t)spec->fixed_ms,
        "jitter_ms", (json_int_t)spec->jitter_ms, "applied", (json_int_t)rule->applied,
        "created_at_ms", (json_int_t)rule->created_at_ms);
    if (object == NULL) {
        return NULL;
    }
    if (spec->times > 0) {
        json_object_set_new(object, "times", json_integer((json_int_t)spec->times));
        json_object_set_new(object, "remaining", json_integer((json_int_t)rule->remaining));
    }
    switch (spec->mode) {
    case FAULT_MODE_HANG:
        json_object_set_new(object, "hang_ms", json_integer((json_int_t)spec->hang_ms));
        break;
    case FAULT_MODE_STATUS:
    case FAULT_MODE_REDIRECT:
        json_object_set_new(object, "code", json_integer((json_int_t)spec->http_status));
        if (spec->mode == FAULT_MODE_REDIRECT) {
            json_object_set_new(object, "location", json_string(spec->location));
        }
        break;
    case FAULT_MODE_ODD_STATE:
        json_object_set_new(object, "state", json_string(spec->state_text));
        break;
    case FAULT_MODE_DUPLICATE_STATE_KEYS:
        json_object_set_new(object, "first_state", json_string(spec->first_state));
        json_object_set_new(object, "second_state", json_string(spec->second_state));
        break;
    case FAULT_MODE_CONTENT_TYPE:
        json_object_set_new(object, "content_type", json_string(spec->content_type));
        break;
    case FAULT_MODE_OVERSIZED:
        json_object_set_new(object, "bytes", json_integer((json_int_t)spec->body_bytes));
        break;
    case FAULT_MODE_TRUNCATED:
        json_object_set_new(object, "cut", json_string(spec->cut_transfer ? "transfer" : "body"));
        break;
    default:
        break;
    }
    if (spec->perform_restart != FAULT_PERFORM_DEFAULT) {
        json_object_set_new(object, "perform_restart",
                            json_boolean(spec->perform_restart == FAULT_PERFORM_YES));
    }
    return object;
}

/* --- the table ------------------------------------------------------------------------- */

struct fault_table {
    pthread_mutex_t lock;
    fault_rule *rules;
    size_t count;
    size_t capacity;
    uint64_t next_id;
    /* Read without the lock on every request: no rules, no locking (the common case). */
    atomic_size_t published_count;
};

fault_table *fault_table_new(void)
{
    fault_table *table = calloc(1, sizeof *table);
    if (table == NULL) {
        return NULL;
    }
    if (pthread_mutex_init(&table->lock, NULL) != 0) {
        free(table);
        return NULL;
    }
    table->next_id = 1;
    atomic_init(&table->published_count, 0);
    return table;
}

void fault_table_free(fault_table *table)
{
    if (table == NULL) {
        return;
    }
    free(table->rules);
    pthread_mutex_destroy(&table->lock);
    free(table);
}

uint64_t fault_table_add(fault_table *table, const fault_spec *spec, int64_t now_ms)
{
    uint64_t id = 0;
    pthread_mutex_lock(&table->lock);
    if (table->count == table->capacity) {
        size_t capacity = table->capacity == 0 ? 8 : table->capacity * 2;
        fault_rule *rules = realloc(table->rules, capacity * sizeof *rules);
        if (rules == NULL) {
            goto done;
        }
        table->rules = rules;
        table->capacity = capacity;
    }
    id = table->next_id++;
    fault_rule *rule = &table->rules[table->count++];
    memset(rule, 0, sizeof *rule);
    rule->id = id;
    rule->spec = *spec;
    rule->remaining = spec->times;
    rule->created_at_ms = now_ms;
    atomic_store(&table->published_count, table->count);
done:
    pthread_mutex_unlock(&table->lock);
    return id;
}

static void remove_at(fault_table *table, size_t position)
{
    memmove(&table->rules[position], &table->rules[position + 1],
            (table->count - position - 1) * sizeof *table->rules);
    table->count--;
    atomic_store(&table->published_count, table->count);
}

bool fault_table_remove(fault_table *table, uint64_t id)
{
    bool removed = false;
    pthread_mutex_lock(&table->lock);
    for (size_t i = 0; i < table->count; i++) {
        if (table->rules[i].id == id) {
            remove_at(table, i);
            removed = true;
            break;
        }
    }
    pthread_mutex_unlock(&table->lock);
    return removed;
}

size_t fault_table_clear(fault_table *table)
{
    pthread_mutex_lock(&table->lock);
    size_t removed = table->count;
    table->count = 0;
    atomic_store(&table->published_count, 0);
    pthread_mutex_unlock(&table->lock);
    return removed;
}

size_t fault_table_count(fault_table *table)
{
    return atomic_load(&table->published_count);
}

bool fault_table_match(fault_table *table, fault_endpoint endpoint, const char *workspace_id,
                       const char *instance_id, double random_unit, fault_rule *out)
{
    if (atomic_load_explicit(&table->published_count, memory_order_acquire) == 0) {
        return false;
    }
    bool matched = false;
    pthread_mutex_lock(&table->lock);
    long chosen =
        fault_select(table->rules, table->count, endpoint, workspace_id, instance_id, random_unit);
    if (chosen >= 0) {
        fault_rule *rule = &table->rules[chosen];
        rule->applied++;
        if (rule->spec.times > 0) {
            rule->remaining--;
        }
        *out = *rule;
        if (rule->spec.times > 0 && rule->remaining <= 0) {
            remove_at(table, (size_t)chosen);
        }
        matched = true;
    }
    pthread_mutex_unlock(&table->lock);
    return matched;
}

json_t *fault_table_json(fault_table *table)
{
    json_t *rules = json_array();
    pthread_mutex_lock(&table->lock);
    for (size_t i = 0; i < table->count; i++) {
        json_array_append_new(rules, fault_rule_json(&table->rules[i]));
    }
    pthread_mutex_unlock(&table->lock);
    return rules;
}
