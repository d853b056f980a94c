/* restart_policy.c — backoff, give-up rule, URL templating and pre-check of the restart
 * outbox (see restart_policy.h). Pure: no clock, no randomness of its own, no I/O. */
#include "restart_policy.h"

#include "http_client.h"

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

action_outcome restart_precheck(bool row_found, const char *row_instance_id,
                                const char *flipped_instance_id)
{
    if (!row_found) {
        return ACTION_OUTCOME_SKIPPED_ROW_MISSING;
    }
    if (row_instance_id == NULL || flipped_instance_id == NULL ||
        strcmp(row_instance_id, flipped_instance_id) != 0) {
        return ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED;
    }
    return ACTION_OUTCOME_UNSPECIFIED;
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
