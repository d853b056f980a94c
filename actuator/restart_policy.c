/* restart_policy.c — backoff, give-up rule, URL templating and pre-check of the restart
 * outbox (see restart_policy.h), the lease arithmetic and the retry flag. Pure: no clock, no
 * randomness of its own, no I/O. */
#include "restart_policy.h"

#include "actuator_decide.h"
#include "http_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int64_t restart_backoff_ceiling_ms(int32_t failed_attempts, int64_t base_ms, int64_t cap_ms)
{
    if (base_ms < 1) {
        base_ms = 1;
    }
    if (cap_ms < base_ms) {
        cap_ms = base_ms;
    }
    int64_t ceiling = base_ms;
    /* Doubling stops as soon as the cap is reached, so a large attempt count cannot
     * overflow the shift or the product. */
    for (int32_t attempt = 1; attempt < failed_attempts && ceiling < cap_ms; attempt++) {
        ceiling = ceiling > cap_ms / 2 ? cap_ms : ceiling * 2;
    }
    return ceiling < cap_ms ? ceiling : cap_ms;
}

int64_t restart_backoff_ms(int32_t failed_attempts, int64_t base_ms, int64_t cap_ms,
                           double random_unit)
{
    int64_t ceiling = restart_backoff_ceiling_ms(failed_attempts, base_ms, cap_ms);
    /* NaN compares false everywhere, so it lands on 0 with the negative values. */
    if (!(random_unit > 0.0)) {
        return 0;
    }
    if (random_unit >= 1.0) {
        return ceiling - 1;
    }
    /* Compared as doubles first: near INT64_MAX the product can round up to 2^63, which
     * does not fit the cast. */
    double scaled = random_unit * (double)ceiling;
    if (scaled >= (double)ceiling) {
        return ceiling - 1;
    }
    int64_t delay = (int64_t)scaled;
    return delay < ceiling ? delay : ceiling - 1;
}

bool restart_status_accepted(long http_status)
{
    return http_status >= 200 && http_status <= 299;
}

action_outcome restart_attempt_outcome(bool got_response, long http_status, int32_t attempts_made,
                                       int32_t max_attempts)
{
    if (got_response && restart_status_accepted(http_status)) {
        return ACTION_OUTCOME_RESTART_ACCEPTED;
    }
    return attempts_made >= max_attempts ? ACTION_OUTCOME_RESTART_FAILED
                                         : ACTION_OUTCOME_RESTART_RETRIED;
}

static const char *const restart_status_names[RESTART_STATUS_COUNT] = {
    [RESTART_STATUS_OFFLINE] = "offline",
    [RESTART_STATUS_ONLINE] = "online",
    [RESTART_STATUS_PAUSED] = "paused",
    [RESTART_STATUS_HIBERNATED] = "hibernated",
    [RESTART_STATUS_REMOVED] = "removed",
    [RESTART_STATUS_PROVISIONING] = "provisioning",
    [RESTART_STATUS_DEGRADED] = "degraded",
    [RESTART_STATUS_FAILED] = "failed",
    [RESTART_STATUS_AWAITING_AGENT] = "awaiting_agent",
    [RESTART_STATUS_OTHER] = "other",
    [RESTART_STATUS_NONE] = "none",
};

restart_status_class restart_status_classify(const char *status)
{
    if (status == NULL) {
        return RESTART_STATUS_OTHER;
    }
    /* Only the workspace_status values map to themselves; "other" and "none" are our own
     * names, not statuses a row can have. */
    for (int index = RESTART_STATUS_OFFLINE; index < RESTART_STATUS_OTHER; index++) {
        if (strcmp(status, restart_status_names[index]) == 0) {
            return (restart_status_class)index;
        }
    }
    return RESTART_STATUS_OTHER;
}

const char *restart_status_class_name(restart_status_class status)
{
    if ((int)status < 0 || status >= RESTART_STATUS_COUNT) {
        return "invalid";
    }
    return restart_status_names[status];
}

const char *restart_precheck_reason_name(restart_precheck_reason reason)
{
    switch (reason) {
    case RESTART_PRECHECK_SEND:
        return "send";
    case RESTART_PRECHECK_ROW_MISSING:
        return "row_missing";
    case RESTART_PRECHECK_INSTANCE_CHANGED:
        return "instance_changed";
    case RESTART_PRECHECK_STATUS_CHANGED:
        return "status_changed";
    case RESTART_PRECHECK_INSTANCE_CLEARED:
        return "instance_cleared";
    case RESTART_PRECHECK_COUNT:
        break;
    }
    return "invalid";
}

action_outcome restart_precheck_outcome(restart_precheck_reason reason)
{
    switch (reason) {
    case RESTART_PRECHECK_ROW_MISSING:
        return ACTION_OUTCOME_SKIPPED_ROW_MISSING;
    case RESTART_PRECHECK_INSTANCE_CHANGED:
    case RESTART_PRECHECK_INSTANCE_CLEARED:
        return ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED;
    case RESTART_PRECHECK_STATUS_CHANGED:
        return ACTION_OUTCOME_SKIPPED_STATUS_CHANGED;
    case RESTART_PRECHECK_SEND:
    case RESTART_PRECHECK_COUNT:
        break;
    }
    return ACTION_OUTCOME_UNSPECIFIED;
}

static bool has_text(const char *text)
{
    return text != NULL && text[0] != '\0';
}

restart_precheck_result restart_precheck(const restart_row_now *row,
                                         const char *flipped_instance_id)
{
    if (row == NULL || !row->found) {
        return (restart_precheck_result){RESTART_PRECHECK_ROW_MISSING, RESTART_STATUS_NONE};
    }
    restart_status_class status = restart_status_classify(row->status);
    if (!has_text(flipped_instance_id) ||
        (has_text(row->instance_id) && strcmp(row->instance_id, flipped_instance_id) != 0)) {
        return (restart_precheck_result){RESTART_PRECHECK_INSTANCE_CHANGED, status};
    }
    if (status != RESTART_STATUS_OFFLINE) {
        return (restart_precheck_result){RESTART_PRECHECK_STATUS_CHANGED, status};
    }
    if (!has_text(row->instance_id)) {
        return (restart_precheck_result){RESTART_PRECHECK_INSTANCE_CLEARED, status};
    }
    return (restart_precheck_result){RESTART_PRECHECK_SEND, status};
}

void restart_precheck_format(restart_precheck_result result, char *buffer, size_t size)
{
    const char *name = restart_precheck_reason_name(result.reason);
    switch (result.reason) {
    case RESTART_PRECHECK_SEND:
        snprintf(buffer, size, "%s: the workspace is offline on the flipped instance", name);
        return;
    case RESTART_PRECHECK_ROW_MISSING:
        snprintf(buffer, size, "%s: restart not sent, the workspace row is gone", name);
        return;
    case RESTART_PRECHECK_INSTANCE_CHANGED:
        snprintf(buffer, size,
                 "%s: restart not sent, the workspace is on another instance now (status %s): "
                 "it was reprovisioned meanwhile",
                 name, restart_status_class_name(result.status));
        return;
    case RESTART_PRECHECK_STATUS_CHANGED:
        snprintf(buffer, size,
                 "%s: restart not sent, the workspace is %s now, not offline as the flip left it",
                 name, restart_status_class_name(result.status));
        return;
    case RESTART_PRECHECK_INSTANCE_CLEARED:
        snprintf(buffer, size,
                 "%s: restart not sent, the workspace no longer has an instance (instance_id "
                 "cleared since the flip)",
                 name);
        return;
    case RESTART_PRECHECK_COUNT:
        break;
    }
    snprintf(buffer, size, "%s", name);
}

int64_t restart_lease_ms(int64_t request_timeout_ms)
{
    if (request_timeout_ms < 0) {
        request_timeout_ms = 0;
    }
    /* The settings bound the timeout far below this; the check only keeps the sum defined. */
    if (request_timeout_ms > INT64_MAX - RESTART_LEASE_MARGIN_MS) {
        return INT64_MAX;
    }
    return request_timeout_ms + RESTART_LEASE_MARGIN_MS;
}

bool restart_lease_allows_call(int64_t now_ms, int64_t lease_deadline_ms,
                               int64_t request_timeout_ms)
{
    if (request_timeout_ms < 0) {
        request_timeout_ms = 0;
    }
    /* Compared as "time left", in unsigned arithmetic: the difference of two int64 values
     * with deadline >= now always fits in uint64, and no sum can overflow. */
    if (lease_deadline_ms < now_ms) {
        return false;
    }
    uint64_t left = (uint64_t)lease_deadline_ms - (uint64_t)now_ms;
    return left >= (uint64_t)RESTART_LEASE_RECORD_RESERVE_MS &&
           left - (uint64_t)RESTART_LEASE_RECORD_RESERVE_MS >= (uint64_t)request_timeout_ms;
}

const char *restart_release_reason_name(restart_release_reason reason)
{
    switch (reason) {
    case RESTART_RELEASE_SHUTDOWN:
        return "shutdown";
    case RESTART_RELEASE_LEASE_TOO_SHORT:
        return "lease_too_short";
    case RESTART_RELEASE_OUT_OF_MEMORY:
        return "out_of_memory";
    case RESTART_RELEASE_COUNT:
        break;
    }
    return "invalid";
}

bool restart_attempts_exhausted(int32_t attempt, int32_t max_attempts)
{
    return attempt > max_attempts;
}

restart_retry_request restart_retry_parse_argument(const char *arg, const char **workspace_id)
{
    *workspace_id = NULL;
    size_t flag_length = strlen(RESTART_RETRY_FLAG);
    if (arg == NULL || strncmp(arg, RESTART_RETRY_FLAG, flag_length) != 0) {
        return RESTART_RETRY_ABSENT;
    }
    const char *rest = arg + flag_length;
    if (rest[0] == '\0') {
        return RESTART_RETRY_ALL;
    }
    if (rest[0] != '=') {
        return RESTART_RETRY_ABSENT; /* another flag that merely starts the same way */
    }
    /* The outbox keys restarts by uuid; anything else can match no row and is a typo. */
    if (!actuator_is_uuid(rest + 1)) {
        return RESTART_RETRY_INVALID;
    }
    *workspace_id = rest + 1;
    return RESTART_RETRY_ONE;
}

const char *restart_url_template_problem(const char *url_template)
{
    if (url_template == NULL || url_template[0] == '\0') {
        return "must be set, e.g. http://workspace-server:8080/workspaces/{id}/restart";
    }
    if (strncasecmp(url_template, "http://", 7) != 0 &&
        strncasecmp(url_template, "https://", 8) != 0) {
        return "must start with http:// or https://";
    }
    if (strstr(url_template, "{id}") == NULL) {
        return "must contain {id}, replaced by the workspace id";
    }
    return NULL;
}

/* http_url_encode, plus '.' as %2E: "." and ".." are unreserved, but as a whole path segment
 * they are dot-segments that a client or proxy removes ("/workspaces/../restart"), so an id
 * made of dots could move the request to another path. */
static char *encode_path_segment(const char *text)
{
    char *encoded = http_url_encode(text);
    if (encoded == NULL) {
        return NULL;
    }
    size_t dots = 0;
    for (const char *cursor = encoded; *cursor != '\0'; cursor++) {
        dots += *cursor == '.';
    }
    if (dots == 0) {
        return encoded;
    }
    size_t length = strlen(encoded);
    char *expanded = malloc(length + dots * 2 + 1);
    if (expanded == NULL) {
        free(encoded);
        return NULL;
    }
    char *out = expanded;
    for (const char *cursor = encoded; *cursor != '\0'; cursor++) {
        if (*cursor == '.') {
            memcpy(out, "%2E", 3);
            out += 3;
        } else {
            *out++ = *cursor;
        }
    }
    *out = '\0';
    free(encoded);
    return expanded;
}

char *restart_url_for(const char *url_template, const char *workspace_id)
{
    char *encoded = encode_path_segment(workspace_id != NULL ? workspace_id : "");
    if (encoded == NULL) {
        return NULL;
    }
    size_t encoded_length = strlen(encoded);
    size_t occurrences = 0;
    for (const char *cursor = url_template; (cursor = strstr(cursor, "{id}")) != NULL;
         cursor += 4) {
        occurrences++;
    }
    /* Each "{id}" (4 bytes) becomes encoded_length bytes; the ids are bounded by the codec,
     * so this cannot overflow in practice, but the check costs nothing. */
    size_t template_length = strlen(url_template);
    if (occurrences > 0 && encoded_length > (SIZE_MAX - template_length - 1) / occurrences) {
        free(encoded);
        return NULL;
    }
    char *url = malloc(template_length + occurrences * encoded_length + 1);
    if (url == NULL) {
        free(encoded);
        return NULL;
    }
    char *out = url;
    const char *cursor = url_template;
    const char *next;
    while ((next = strstr(cursor, "{id}")) != NULL) {
        memcpy(out, cursor, (size_t)(next - cursor));
        out += next - cursor;
        memcpy(out, encoded, encoded_length);
        out += encoded_length;
        cursor = next + 4;
    }
    strcpy(out, cursor);
    free(encoded);
    return url;
}
