/* cp_classify.c — see cp_classify.h. The whole of docs/contracts.md §3's tri-state, as one pure
 * function. The order of the checks is the order of the table below: the first rule that
 * fails names the reason, so a response with several faults always gets the same reason.
 *
 *   1. transport error reported                 -> UNKNOWN transport_timeout, connect_failed,
 *                                                  dns_failed, tls_failed, body_too_large,
 *                                                  protocol_error, internal_error
 *   2. no status at all                         -> UNKNOWN no_response
 *   3. status 3xx / 4xx / 5xx / anything else   -> UNKNOWN http_redirect, http_client_error,
 *      outside 2xx                                 http_server_error, http_status_unexpected
 *   4. Content-Type missing / not JSON / a      -> UNKNOWN content_type_missing,
 *      charset other than UTF-8                    content_type_not_json,
 *                                                  content_type_bad_charset
 *   5. body over 64 KiB / empty / has NUL       -> UNKNOWN body_too_large, body_empty,
 *                                                  body_contains_nul
 *   6. body is not exactly one JSON value       -> UNKNOWN body_not_json, body_invalid_utf8,
 *      (duplicate key in any object, trailing      duplicate_keys, body_trailing_data
 *      bytes, bad UTF-8, \u0000, bad syntax)
 *   7. the value is not an object               -> UNKNOWN body_not_object
 *   8. "state" missing / null / not a string /  -> UNKNOWN state_missing, state_null,
 *      ""                                          state_not_string, state_empty
 *   9. state == "running"                       -> RUNNING state_running
 *  10. state is a configured not-running state  -> NOT_RUNNING state_not_running
 *  11. any other string                         -> UNKNOWN state_unrecognized
 *
 * Why Content-Type matters (rule 4): §3 promises a JSON object, and a 2xx whose body is
 * HTML or text comes from something that is not the CP (a captive portal, a misrouted
 * proxy, a maintenance page). The fail-safe reading is that such an answer is not clean, so
 * it is UNKNOWN even when the bytes happen to parse. A missing Content-Type is treated the
 * same way: a real API always labels its JSON, and guessing is what the fail-safe rule
 * forbids. */
#include "cp_classify.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const cp_reason_names[CP_REASON_COUNT] = {
    [CP_REASON_STATE_RUNNING] = "state_running",
    [CP_REASON_STATE_NOT_RUNNING] = "state_not_running",
    [CP_REASON_TRANSPORT_TIMEOUT] = "transport_timeout",
    [CP_REASON_CONNECT_FAILED] = "connect_failed",
    [CP_REASON_DNS_FAILED] = "dns_failed",
    [CP_REASON_TLS_FAILED] = "tls_failed",
    [CP_REASON_BODY_TOO_LARGE] = "body_too_large",
    [CP_REASON_PROTOCOL_ERROR] = "protocol_error",
    [CP_REASON_INTERNAL_ERROR] = "internal_error",
    [CP_REASON_NO_RESPONSE] = "no_response",
    [CP_REASON_HTTP_REDIRECT] = "http_redirect",
    [CP_REASON_HTTP_CLIENT_ERROR] = "http_client_error",
    [CP_REASON_HTTP_SERVER_ERROR] = "http_server_error",
    [CP_REASON_HTTP_STATUS_UNEXPECTED] = "http_status_unexpected",
    [CP_REASON_CONTENT_TYPE_MISSING] = "content_type_missing",
    [CP_REASON_CONTENT_TYPE_NOT_JSON] = "content_type_not_json",
    [CP_REASON_CONTENT_TYPE_BAD_CHARSET] = "content_type_bad_charset",
    [CP_REASON_BODY_EMPTY] = "body_empty",
    [CP_REASON_BODY_NOT_JSON] = "body_not_json",
    [CP_REASON_BODY_INVALID_UTF8] = "body_invalid_utf8",
    [CP_REASON_BODY_CONTAINS_NUL] = "body_contains_nul",
    [CP_REASON_BODY_TRAILING_DATA] = "body_trailing_data",
    [CP_REASON_BODY_NOT_OBJECT] = "body_not_object",
    [CP_REASON_DUPLICATE_KEYS] = "duplicate_keys",
    [CP_REASON_STATE_MISSING] = "state_missing",
    [CP_REASON_STATE_NULL] = "state_null",
    [CP_REASON_STATE_NOT_STRING] = "state_not_string",
    [CP_REASON_STATE_EMPTY] = "state_empty",
    [CP_REASON_STATE_UNRECOGNIZED] = "state_unrecognized",
};

const char *cp_reason_name(cp_reason reason)
{
    if ((int)reason < 0 || reason >= CP_REASON_COUNT || cp_reason_names[reason] == NULL)
        return "invalid";
    return cp_reason_names[reason];
}

/* ---- configured not-running states ----------------------------------------------------- */

static bool is_printable_ascii(const char *text, size_t length)
{
    for (size_t index = 0; index < length; index++) {
        unsigned char byte = (unsigned char)text[index];
        if (byte < 0x20 || byte > 0x7e)
            return false;
    }
    return true;
}

static bool is_blank(char character)
{
    return character == ' ' || character == '\t';
}

bool cp_not_running_states_parse(const char *text, cp_not_running_states *out, char *error_buffer,
                                 size_t error_size)
{
    memset(out, 0, sizeof *out);
    if (text == NULL)
        text = "";
    const char *cursor = text;
    for (;;) {
        const char *comma = strchr(cursor, ',');
        const char *end = comma != NULL ? comma : cursor + strlen(cursor);
        const char *start = cursor;
        while (start < end && is_blank(*start))
            start++;
        const char *stop = end;
        while (stop > start && is_blank(stop[-1]))
            stop--;
        size_t length = (size_t)(stop - start);
        if (length == 0) {
            snprintf(error_buffer, error_size,
                     "expected a comma-separated list of states, got an empty item");
            return false;
        }
        if (length > CP_STATE_MAX_LENGTH || !is_printable_ascii(start, length) ||
            memchr(start, ' ', length) != NULL) {
            snprintf(error_buffer, error_size,
                     "each state must be 1..%d printable ASCII characters without spaces",
                     CP_STATE_MAX_LENGTH);
            return false;
        }
        if (length == strlen("running") && memcmp(start, "running", length) == 0) {
            snprintf(error_buffer, error_size, "'running' cannot be a not-running state");
            return false;
        }
        if (cp_not_running_states_contains(out, start, length)) {
            snprintf(error_buffer, error_size, "state '%.*s' is listed twice", (int)length, start);
            return false;
        }
        if (out->count == CP_NOT_RUNNING_STATES_MAX) {
            snprintf(error_buffer, error_size, "at most %d states", CP_NOT_RUNNING_STATES_MAX);
            return false;
        }
        memcpy(out->states[out->count], start, length);
        out->states[out->count][length] = '\0';
        out->count++;
        if (comma == NULL)
            break;
        cursor = comma + 1;
    }
    return true;
}

bool cp_not_running_states_contains(const cp_not_running_states *states, const char *state,
                                    size_t state_length)
{
    for (size_t index = 0; index < states->count; index++) {
        if (strlen(states->states[index]) == state_length &&
            memcmp(states->states[index], state, state_length) == 0)
            return true;
    }
    return false;
}

/* ---- Content-Type (RFC 9110 §8.3: type "/" subtype *( OWS ";" OWS parameter )) --------- */

static bool is_token_character(char character)
{
    if ((character >= 'a' && character <= 'z') || (character >= 'A' && character <= 'Z') ||
        (character >= '0' && character <= '9'))
        return true;
    return character != '\0' && strchr("!#$%&'*+-.^_`|~", character) != NULL;
}

/* Advances *cursor over a token; returns its length (0 = none there). */
static size_t read_token(const char **cursor)
{
    const char *start = *cursor;
    while (is_token_character(**cursor))
        (*cursor)++;
    return (size_t)(*cursor - start);
}

static void skip_blanks(const char **cursor)
{
    while (is_blank(**cursor))
        (*cursor)++;
}

static bool token_equals(const char *token, size_t length, const char *expected)
{
    return strlen(expected) == length && strncasecmp(token, expected, length) == 0;
}

/* Reads a parameter value (token or quoted-string) into value (unescaped, truncated to
 * value_size - 1). false on a syntax error. */
static bool read_parameter_value(const char **cursor, char *value, size_t value_size)
{
    size_t used = 0;
    if (**cursor == '"') {
        (*cursor)++;
        for (;;) {
            char character = **cursor;
            if (character == '\0')
                return false; /* unterminated quoted-string */
            (*cursor)++;
            if (character == '"')
                break;
            if (character == '\\') {
                character = **cursor;
                if (character == '\0')
                    return false;
                (*cursor)++;
            }
            if (used + 1 < value_size)
                value[used++] = character;
        }
    } else {
        const char *start = *cursor;
        size_t length = read_token(cursor);
        if (length == 0)
            return false;
        used = length < value_size - 1 ? length : value_size - 1;
        memcpy(value, start, used);
    }
    value[used] = '\0';
    return true;
}

bool cp_content_type_is_json(const char *content_type, cp_reason *reason)
{
    const char *cursor = content_type != NULL ? content_type : "";
    skip_blanks(&cursor);
    if (*cursor == '\0') {
        *reason = CP_REASON_CONTENT_TYPE_MISSING;
        return false;
    }
    *reason = CP_REASON_CONTENT_TYPE_NOT_JSON;
    const char *type = cursor;
    size_t type_length = read_token(&cursor);
    if (type_length == 0 || *cursor != '/')
        return false;
    cursor++;
    const char *subtype = cursor;
    size_t subtype_length = read_token(&cursor);
    if (!token_equals(type, type_length, "application"))
        return false;
    /* application/json, or a structured-syntax suffix (RFC 6839) such as
     * application/vnd.cp.status+json, which is JSON too. */
    bool json =
        token_equals(subtype, subtype_length, "json") ||
        (subtype_length > strlen("+json") &&
         strncasecmp(subtype + subtype_length - strlen("+json"), "+json", strlen("+json")) == 0);
    if (!json)
        return false;
    int charset_count = 0;
    bool charset_acceptable = true;
    for (;;) {
        skip_blanks(&cursor);
        if (*cursor == '\0')
            break;
        if (*cursor != ';')
            return false;
        cursor++;
        skip_blanks(&cursor);
        if (*cursor == '\0' || *cursor == ';')
            continue; /* an empty parameter is allowed by the grammar */
        const char *name = cursor;
        size_t name_length = read_token(&cursor);
        if (name_length == 0 || *cursor != '=')
            return false;
        cursor++;
        char value[64];
        if (!read_parameter_value(&cursor, value, sizeof value))
            return false;
        if (token_equals(name, name_length, "charset")) {
            charset_count++;
            /* JSON is UTF-8 (RFC 8259 §8.1); US-ASCII is a subset of it. */
            if (strcasecmp(value, "utf-8") != 0 && strcasecmp(value, "utf8") != 0 &&
                strcasecmp(value, "us-ascii") != 0)
                charset_acceptable = false;
        }
    }
    /* Two charset parameters are ambiguous, whatever they say. */
    if (charset_count > 1 || !charset_acceptable) {
        *reason = CP_REASON_CONTENT_TYPE_BAD_CHARSET;
        return false;
    }
    return true;
}

/* ---- the classifier -------------------------------------------------------------------- */

static cp_classification classified(liveness value, cp_reason reason)
{
    cp_classification result;
    memset(&result, 0, sizeof result);
    result.liveness = value;
    result.reason = reason;
    return result;
}

static cp_classification unknown(cp_reason reason)
{
    return classified(LIVENESS_UNKNOWN, reason);
}

static cp_reason transport_reason(http_client_error error)
{
    switch (error) {
    case HTTP_CLIENT_ERROR_TIMEOUT:
        return CP_REASON_TRANSPORT_TIMEOUT;
    case HTTP_CLIENT_ERROR_CONNECT:
        return CP_REASON_CONNECT_FAILED;
    case HTTP_CLIENT_ERROR_DNS:
        return CP_REASON_DNS_FAILED;
    case HTTP_CLIENT_ERROR_TLS:
        return CP_REASON_TLS_FAILED;
    case HTTP_CLIENT_ERROR_BODY_TOO_LARGE:
        return CP_REASON_BODY_TOO_LARGE;
    case HTTP_CLIENT_ERROR_PROTOCOL:
        return CP_REASON_PROTOCOL_ERROR;
    case HTTP_CLIENT_OK:
    case HTTP_CLIENT_ERROR_INTERNAL:
    default:
        /* HTTP_CLIENT_OK never reaches here; an unknown value is our own fault. */
        return CP_REASON_INTERNAL_ERROR;
    }
}

static cp_reason status_reason(long http_status)
{
    if (http_status >= 300 && http_status <= 399)
        return CP_REASON_HTTP_REDIRECT;
    if (http_status >= 400 && http_status <= 499)
        return CP_REASON_HTTP_CLIENT_ERROR;
    if (http_status >= 500 && http_status <= 599)
        return CP_REASON_HTTP_SERVER_ERROR;
    return CP_REASON_HTTP_STATUS_UNEXPECTED;
}

static cp_reason parse_error_reason(const json_error_t *error)
{
    switch (json_error_code(error)) {
    case json_error_duplicate_key:
        return CP_REASON_DUPLICATE_KEYS;
    case json_error_end_of_input_expected:
        return CP_REASON_BODY_TRAILING_DATA;
    case json_error_invalid_utf8:
        return CP_REASON_BODY_INVALID_UTF8;
    case json_error_null_character:
    case json_error_null_byte_in_key:
        return CP_REASON_BODY_CONTAINS_NUL;
    default:
        /* Syntax errors, premature end, nesting deeper than jansson's limit, numbers out of
         * range: none of them is one clean JSON object. */
        return CP_REASON_BODY_NOT_JSON;
    }
}

cp_classification cp_classify(long http_status, http_client_error transport_error, const char *body,
                              size_t body_length, const char *content_type,
                              const cp_not_running_states *not_running_states)
{
    if (transport_error != HTTP_CLIENT_OK)
        return unknown(transport_reason(transport_error));
    if (http_status <= 0)
        return unknown(CP_REASON_NO_RESPONSE);
    if (http_status < 200 || http_status > 299)
        return unknown(status_reason(http_status));

    cp_reason content_type_reason;
    if (!cp_content_type_is_json(content_type, &content_type_reason))
        return unknown(content_type_reason);

    /* The HTTP client already aborts past the limit; checked again so the function is
     * correct on its own, whatever the caller hands in. */
    if (body_length > HTTP_CLIENT_BODY_LIMIT)
        return unknown(CP_REASON_BODY_TOO_LARGE);
    if (body_length == 0 || body == NULL)
        return unknown(CP_REASON_BODY_EMPTY);
    /* jansson would reject a raw NUL too, but as a generic syntax error; a NUL in an HTTP
     * body is worth its own name. */
    if (memchr(body, '\0', body_length) != NULL)
        return unknown(CP_REASON_BODY_CONTAINS_NUL);

    /* JSON_DECODE_ANY: parse scalars too, so "a string" is reported as body_not_object rather
     * than as a syntax error. JSON_REJECT_DUPLICATES: a duplicate key in any object is
     * ambiguous (which "state" is meant?). Not JSON_DISABLE_EOF_CHECK: bytes after the value
     * are an error. Not JSON_ALLOW_NUL: "\u0000" is an error. */
    json_error_t error;
    json_t *root = json_loadb(body, body_length, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &error);
    if (root == NULL)
        return unknown(parse_error_reason(&error));

    cp_classification result;
    if (!json_is_object(root)) {
        result = unknown(CP_REASON_BODY_NOT_OBJECT);
    } else {
        json_t *state = json_object_get(root, "state");
        if (state == NULL) {
            result = unknown(CP_REASON_STATE_MISSING);
        } else if (json_is_null(state)) {
            result = unknown(CP_REASON_STATE_NULL);
        } else if (!json_is_string(state)) {
            result = unknown(CP_REASON_STATE_NOT_STRING);
        } else {
            const char *text = json_string_value(state);
            size_t length = json_string_length(state);
            if (length == 0) {
                result = unknown(CP_REASON_STATE_EMPTY);
            } else {
                if (length == strlen("running") && memcmp(text, "running", length) == 0) {
                    result = classified(LIVENESS_RUNNING, CP_REASON_STATE_RUNNING);
                } else if (not_running_states != NULL &&
                           cp_not_running_states_contains(not_running_states, text, length)) {
                    result = classified(LIVENESS_NOT_RUNNING, CP_REASON_STATE_NOT_RUNNING);
                } else {
                    result = unknown(CP_REASON_STATE_UNRECOGNIZED);
                }
                /* Only a short, printable state is echoed into the verdict: it goes to logs
                 * and dashboards, where control characters and megabytes do harm. */
                if (length <= CP_STATE_MAX_LENGTH && is_printable_ascii(text, length)) {
                    memcpy(result.cp_state, text, length);
                    result.cp_state[length] = '\0';
                    result.has_cp_state = true;
                }
            }
        }
    }
    json_decref(root);
    return result;
}
