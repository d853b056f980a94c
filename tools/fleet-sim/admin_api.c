/* admin_api.c — parsing of admin API requests into commands, and the admin error names.
 *
 * For: validating every byte a client sends to /admin/... before anything changes.
 * Not for: executing commands (server.c). Pure: no I/O, no clock. */
#include "admin_api.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *admin_error_name(admin_error_code code)
{
    switch (code) {
    case ADMIN_ERROR_NONE:
        return "none";
    case ADMIN_ERROR_INVALID_JSON:
        return "invalid_json";
    case ADMIN_ERROR_NOT_AN_OBJECT:
        return "not_an_object";
    case ADMIN_ERROR_MISSING_FIELD:
        return "missing_field";
    case ADMIN_ERROR_WRONG_TYPE:
        return "wrong_type";
    case ADMIN_ERROR_OUT_OF_RANGE:
        return "out_of_range";
    case ADMIN_ERROR_UNKNOWN_FIELD:
        return "unknown_field";
    case ADMIN_ERROR_FIELD_NOT_APPLICABLE:
        return "field_not_applicable";
    case ADMIN_ERROR_CONFLICTING_FIELDS:
        return "conflicting_fields";
    case ADMIN_ERROR_UNKNOWN_MODE:
        return "unknown_mode";
    case ADMIN_ERROR_UNKNOWN_STATE:
        return "unknown_state";
    case ADMIN_ERROR_UNKNOWN_ENDPOINT:
        return "unknown_endpoint";
    case ADMIN_ERROR_INVALID_TARGET:
        return "invalid_target";
    case ADMIN_ERROR_INVALID_ID:
        return "invalid_id";
    case ADMIN_ERROR_INVALID_PARAMETER:
        return "invalid_parameter";
    case ADMIN_ERROR_NOT_ENOUGH_RUNNING:
        return "not_enough_running_instances";
    case ADMIN_ERROR_DATABASE_NOT_CONFIGURED:
        return "database_not_configured";
    case ADMIN_ERROR_BODY_TOO_LARGE:
        return "body_too_large";
    case ADMIN_ERROR_UNAUTHORIZED:
        return "unauthorized";
    case ADMIN_ERROR_NOT_FOUND:
        return "not_found";
    case ADMIN_ERROR_WORKSPACE_NOT_FOUND:
        return "workspace_not_found";
    case ADMIN_ERROR_FAULT_NOT_FOUND:
        return "fault_not_found";
    case ADMIN_ERROR_METHOD_NOT_ALLOWED:
        return "method_not_allowed";
    case ADMIN_ERROR_DATABASE_ERROR:
        return "database_error";
    case ADMIN_ERROR_INTERNAL:
        return "internal_error";
    case ADMIN_ERROR_SHUTTING_DOWN:
        return "shutting_down";
    case ADMIN_ERROR_COUNT:
        break;
    }
    return "unknown_error";
}

unsigned int admin_error_http_status(admin_error_code code)
{
    switch (code) {
    case ADMIN_ERROR_NONE:
        return 200;
    case ADMIN_ERROR_BODY_TOO_LARGE:
        return 413;
    case ADMIN_ERROR_UNAUTHORIZED:
        return 401;
    case ADMIN_ERROR_NOT_FOUND:
    case ADMIN_ERROR_WORKSPACE_NOT_FOUND:
    case ADMIN_ERROR_FAULT_NOT_FOUND:
        return 404;
    case ADMIN_ERROR_METHOD_NOT_ALLOWED:
        return 405;
    case ADMIN_ERROR_DATABASE_ERROR:
    case ADMIN_ERROR_INTERNAL:
        return 500;
    case ADMIN_ERROR_SHUTTING_DOWN:
        return 503;
    default:
        return 400;
    }
}

/* Length of the valid UTF-8 sequence (RFC 3629: no overlong form, no surrogate, nothing above
 * U+10FFFF) starting at text, or 0 if there is none. */
static size_t utf8_sequence_length(const unsigned char *text)
{
    unsigned char lead = text[0];
    size_t length;
    unsigned char low = 0x80, high = 0xBF; /* allowed range of the second byte */
    if (lead < 0x80) {
        return 1;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        low = lead == 0xE0 ? 0xA0 : 0x80;
        high = lead == 0xED ? 0x9F : 0xBF;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        low = lead == 0xF0 ? 0x90 : 0x80;
        high = lead == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (text[1] < low || text[1] > high) {
        return 0; /* also stops at the terminating NUL */
    }
    for (size_t i = 2; i < length; i++) {
        if (text[i] < 0x80 || text[i] > 0xBF) {
            return 0;
        }
    }
    return length;
}

void admin_error_set(admin_error *error, admin_error_code code, const char *format, ...)
{
    error->code = code;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error->message, sizeof error->message, format, arguments);
    va_end(arguments);
    /* The message quotes request bytes (a query parameter, a field name cut at the buffer's
     * end) and becomes a JSON answer: json_pack refuses invalid UTF-8, and the server would
     * then drop the connection instead of answering 400. Each byte outside a valid sequence
     * becomes '?'. */
    unsigned char *cursor = (unsigned char *)error->message;
    while (*cursor != '\0') {
        size_t length = utf8_sequence_length(cursor);
        if (length == 0) {
            *cursor++ = '?';
        } else {
            cursor += length;
        }
    }
}

json_t *admin_error_json(const admin_error *error)
{
    return json_pack("{s:s, s:s}", "error", admin_error_name(error->code), "message",
                     error->message);
}

/* --- field readers --------------------------------------------------------------------- */

/* Parses the body; an empty body reads as {}. Returns a new reference or NULL (error set). */
static json_t *load_body(const char *body, size_t length, admin_error *error)
{
    if (length == 0) {
        return json_object();
    }
    json_error_t json_error;
    json_t *root = json_loadb(body, length, JSON_REJECT_DUPLICATES, &json_error);
    if (root == NULL) {
        admin_error_set(error, ADMIN_ERROR_INVALID_JSON, "body is not valid JSON: %s (column %d)",
                        json_error.text, json_error.column);
    }
    return root;
}

static json_t *load_object(const char *body, size_t length, admin_error *error)
{
    json_t *root = load_body(body, length, error);
    if (root != NULL && !json_is_object(root)) {
        admin_error_set(error, ADMIN_ERROR_NOT_AN_OBJECT, "body must be a JSON object");
        json_decref(root);
        return NULL;
    }
    return root;
}

static bool name_in(const char *name, const char *const *names)
{
    for (size_t i = 0; names[i] != NULL; i++) {
        if (strcmp(name, names[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* Every key of `object` must be in `allowed`; `context` prefixes messages ("target."). */
static bool only_fields(json_t *object, const char *const *allowed, const char *context,
                        admin_error *error)
{
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value)
    {
        (void)value;
        if (!name_in(key, allowed)) {
            admin_error_set(error, ADMIN_ERROR_UNKNOWN_FIELD, "unknown field '%s%s'", context, key);
            return false;
        }
    }
    return true;
}

/* Reads an optional (or required) integer in [minimum, maximum]. *present tells if it was
 * there (may be NULL). The value is left alone when absent. */
static bool read_integer(json_t *object, const char *name, bool required, int64_t minimum,
                         int64_t maximum, int64_t *value, bool *present, admin_error *error)
{
    json_t *field = json_object_get(object, name);
    if (present != NULL) {
        *present = field != NULL;
    }
    if (field == NULL) {
        if (required) {
            admin_error_set(error, ADMIN_ERROR_MISSING_FIELD, "field '%s' is required", name);
            return false;
        }
        return true;
    }
    if (!json_is_integer(field)) {
        admin_error_set(error, ADMIN_ERROR_WRONG_TYPE, "field '%s' must be an integer", name);
        return false;
    }
    json_int_t number = json_integer_value(field);
    if (number < minimum || number > maximum) {
        admin_error_set(error, ADMIN_ERROR_OUT_OF_RANGE,
                        "field '%s' must be in [%lld, %lld], got %lld", name, (long long)minimum,
                        (long long)maximum, (long long)number);
        return false;
    }
    *value = (int64_t)number;
    return true;
}

static bool read_number(json_t *object, const char *name, bool required, double minimum,
                        double maximum, double *value, bool *present, admin_error *error)
{
    json_t *field = json_object_get(object, name);
    if (present != NULL) {
        *present = field != NULL;
    }
    if (field == NULL) {
        if (required) {
            admin_error_set(error, ADMIN_ERROR_MISSING_FIELD, "field '%s' is required", name);
            return false;
        }
        return true;
    }
    if (!json_is_number(field)) {
        admin_error_set(error, ADMIN_ERROR_WRONG_TYPE, "field '%s' must be a number", name);
        return false;
    }
    double number = json_number_value(field);
    if (!(number >= minimum && number <= maximum)) {
        admin_error_set(error, ADMIN_ERROR_OUT_OF_RANGE, "field '%s' must be in [%g, %g], got %g",
                        name, minimum, maximum, number);
        return false;
    }
    *value = number;
    return true;
}

/* Reads a string of at most size-1 bytes into buffer. */
static bool read_string(json_t *object, const char *name, bool required, char *buffer, size_t size,
                        bool *present, admin_error *error)
{
    json_t *field = json_object_get(object, name);
    if (present != NULL) {
        *present = field != NULL;
    }
    if (field == NULL) {
        if (required) {
            admin_error_set(error, ADMIN_ERROR_MISSING_FIELD, "field '%s' is required", name);
            return false;
        }
        return true;
    }
    if (!json_is_string(field)) {
        admin_error_set(error, ADMIN_ERROR_WRONG_TYPE, "field '%s' must be a string", name);
        return false;
    }
    size_t length = json_string_length(field);
    const char *text = json_string_value(field);
    if (length >= size || memchr(text, '\0', length) != NULL) {
        admin_error_set(error, ADMIN_ERROR_OUT_OF_RANGE,
                        "field '%s' must be at most %zu bytes without NUL", name, size - 1);
        return false;
    }
    memcpy(buffer, text, length);
    buffer[length] = '\0';
    return true;
}

static bool read_bool(json_t *object, const char *name, bool *value, bool *present,
                      admin_error *error)
{
    json_t *field = json_object_get(object, name);
    if (present != NULL) {
        *present = field != NULL;
    }
    if (field == NULL) {
        return true;
    }
    if (!json_is_boolean(field)) {
        admin_error_set(error, ADMIN_ERROR_WRONG_TYPE, "field '%s' must be true or false", name);
        return false;
    }
    *value = json_is_true(field);
    return true;
}

static bool read_id(json_t *object, const char *name, bool required, char *buffer, bool *present,
                    const char *context, admin_error *error)
{
    bool found = false;
    if (!read_string(object, name, required, buffer, FLEET_ID_MAX + 1, &found, error)) {
        if (error->code == ADMIN_ERROR_OUT_OF_RANGE) {
            admin_error_set(error, ADMIN_ERROR_INVALID_ID,
                            "%s%s must be 1..%d characters of [A-Za-z0-9._:-]", context, name,
                            FLEET_ID_MAX);
        }
        return false;
    }
    if (present != NULL) {
        *present = found;
    }
    if (found && !fleet_id_is_valid(buffer)) {
        admin_error_set(error, ADMIN_ERROR_INVALID_ID,
                        "%s%s must be 1..%d characters of [A-Za-z0-9._:-]", context, name,
                        FLEET_ID_MAX);
        return false;
    }
    return true;
}

static bool read_state(json_t *object, const char *name, bool required, instance_state *state,
                       bool *present, admin_error *error)
{
    char text[32];
    bool found = false;
    if (!read_string(object, name, required, text, sizeof text, &found, error)) {
        if (error->code == ADMIN_ERROR_OUT_OF_RANGE) {
            admin_error_set(error, ADMIN_ERROR_UNKNOWN_STATE, "unknown state in '%s'", name);
        }
        return false;
    }
    if (present != NULL) {
        *present = found;
    }
    if (found && !instance_state_parse(text, state)) {
        admin_error_set(error, ADMIN_ERROR_UNKNOWN_STATE,
                        "unknown state '%s' (pending, running, stopping, stopped, shutting-down, "
                        "terminated)",
                        text);
        return false;
    }
    return true;
}

/* --- faults ---------------------------------------------------------------------------- */

/* Fields that only some modes have, with the modes that have them. */
typedef struct {
    const char *name;
    unsigned int modes; /* bit set of fault_mode */
} mode_field;

#define MODE_BIT(mode) (1u << (mode))

static const mode_field mode_fields[] = {
    {"hang_ms", MODE_BIT(FAULT_MODE_HANG)},
    {"code", MODE_BIT(FAULT_MODE_STATUS) | MODE_BIT(FAULT_MODE_REDIRECT)},
    {"location", MODE_BIT(FAULT_MODE_REDIRECT)},
    {"state", MODE_BIT(FAULT_MODE_ODD_STATE)},
    {"first_state", MODE_BIT(FAULT_MODE_DUPLICATE_STATE_KEYS)},
    {"second_state", MODE_BIT(FAULT_MODE_DUPLICATE_STATE_KEYS)},
    {"content_type", MODE_BIT(FAULT_MODE_CONTENT_TYPE)},
    {"bytes", MODE_BIT(FAULT_MODE_OVERSIZED)},
    {"cut", MODE_BIT(FAULT_MODE_TRUNCATED)},
};

static const char *const common_fault_fields[] = {
    "mode",     "endpoint",  "target",          "probability", "times",
    "fixed_ms", "jitter_ms", "perform_restart", NULL,
};

static bool check_fault_fields(json_t *root, fault_mode mode, admin_error *error)
{
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value)
    {
        (void)value;
        if (name_in(key, common_fault_fields)) {
            continue;
        }
        bool known = false;
        for (size_t i = 0; i < sizeof mode_fields / sizeof mode_fields[0]; i++) {
            if (strcmp(key, mode_fields[i].name) != 0) {
                continue;
            }
            known = true;
            if ((mode_fields[i].modes & MODE_BIT(mode)) == 0) {
                admin_error_set(error, ADMIN_ERROR_FIELD_NOT_APPLICABLE,
                                "field '%s' does not apply to mode '%s'", key,
                                fault_mode_name(mode));
                return false;
            }
        }
        if (!known) {
            admin_error_set(error, ADMIN_ERROR_UNKNOWN_FIELD, "unknown field '%s'", key);
            return false;
        }
    }
    return true;
}

static bool parse_target(json_t *target, fault_spec *spec, admin_error *error)
{
    static const char *const allowed[] = {"all",     "workspace_id", "instance_id", "share",
                                          "percent", "salt",         NULL};
    if (!json_is_object(target)) {
        admin_error_set(error, ADMIN_ERROR_INVALID_TARGET,
                        "target must be an object: {\"all\":true}, {\"workspace_id\":...}, "
                        "{\"instance_id\":...}, {\"share\":0..1} or {\"percent\":0..100}");
        return false;
    }
    if (!only_fields(target, allowed, "target.", error)) {
        return false;
    }
    const char *kinds[] = {"all", "workspace_id", "instance_id", "share", "percent"};
    int given = 0;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        given += json_object_get(target, kinds[i]) != NULL;
    }
    if (given != 1) {
        admin_error_set(error, ADMIN_ERROR_INVALID_TARGET,
                        "target must name exactly one of all, workspace_id, instance_id, share, "
                        "percent (got %d)",
                        given);
        return false;
    }
    json_t *all = json_object_get(target, "all");
    bool salt_allowed = false;
    if (all != NULL) {
        if (!json_is_true(all)) {
            admin_error_set(error, ADMIN_ERROR_INVALID_TARGET, "target.all must be true");
            return false;
        }
        spec->target_kind = FAULT_TARGET_ALL;
    } else if (json_object_get(target, "workspace_id") != NULL) {
        spec->target_kind = FAULT_TARGET_WORKSPACE;
        if (!read_id(target, "workspace_id", true, spec->target_id, NULL, "target.", error)) {
            return false;
        }
    } else if (json_object_get(target, "instance_id") != NULL) {
        spec->target_kind = FAULT_TARGET_INSTANCE;
        if (!read_id(target, "instance_id", true, spec->target_id, NULL, "target.", error)) {
            return false;
        }
    } else if (json_object_get(target, "share") != NULL) {
        spec->target_kind = FAULT_TARGET_SHARE;
        salt_allowed = true;
        if (!read_number(target, "share", true, 0.0, 1.0, &spec->share, NULL, error)) {
            return false;
        }
    } else {
        spec->target_kind = FAULT_TARGET_SHARE;
        salt_allowed = true;
        double percent = 0;
        if (!read_number(target, "percent", true, 0.0, 100.0, &percent, NULL, error)) {
            return false;
        }
        spec->share = percent / 100.0;
    }
    if (json_object_get(target, "salt") != NULL) {
        if (!salt_allowed) {
            admin_error_set(error, ADMIN_ERROR_FIELD_NOT_APPLICABLE,
                            "target.salt only applies to share and percent targets");
            return false;
        }
        if (!read_string(target, "salt", false, spec->salt, sizeof spec->salt, NULL, error)) {
            return false;
        }
    }
    return true;
}

bool admin_parse_fault(const char *body, size_t length, int64_t hang_cap_ms, fault_spec *out,
                       admin_error *error)
{
    error->code = ADMIN_ERROR_NONE;
    json_t *root = load_object(body, length, error);
    if (root == NULL) {
        return false;
    }
    bool ok = false;
    char text[FAULT_TEXT_MAX + 1];
    fault_mode mode;
    if (!read_string(root, "mode", true, text, sizeof text, NULL, error)) {
        goto done;
    }
    if (!fault_mode_parse(text, &mode)) {
        admin_error_set(error, ADMIN_ERROR_UNKNOWN_MODE, "unknown fault mode '%s'", text);
        goto done;
    }
    fault_spec_defaults(out, mode);
    if (!check_fault_fields(root, mode, error)) {
        goto done;
    }
    bool present = false;
    if (!read_string(root, "endpoint", false, text, sizeof text, &present, error)) {
        goto done;
    }
    if (present && !fault_endpoint_parse(text, &out->endpoint)) {
        admin_error_set(error, ADMIN_ERROR_UNKNOWN_ENDPOINT,
                        "unknown endpoint '%s' (status, restart, any)", text);
        goto done;
    }
    json_t *target = json_object_get(root, "target");
    if (target != NULL && !parse_target(target, out, error)) {
        goto done;
    }
    if (!read_number(root, "probability", false, 0.0, 1.0, &out->probability, NULL, error) ||
        !read_integer(root, "times", false, 1, INT64_MAX / 2, &out->times, NULL, error) ||
        !read_integer(root, "fixed_ms", false, 0, ADMIN_MAX_DELAY_MS, &out->fixed_ms, NULL,
                      error) ||
        !read_integer(root, "jitter_ms", false, 0, ADMIN_MAX_DELAY_MS, &out->jitter_ms, NULL,
                      error)) {
        goto done;
    }
    bool perform = false;
    if (!read_bool(root, "perform_restart", &perform, &present, error)) {
        goto done;
    }
    if (present) {
        if ((out->endpoint & FAULT_ENDPOINT_RESTART) == 0) {
            admin_error_set(error, ADMIN_ERROR_FIELD_NOT_APPLICABLE,
                            "field 'perform_restart' needs endpoint 'restart' or 'any'");
            goto done;
        }
        out->perform_restart = perform ? FAULT_PERFORM_YES : FAULT_PERFORM_NO;
    }

    int64_t code = out->http_status;
    switch (mode) {
    case FAULT_MODE_HANG:
        if (!read_integer(root, "hang_ms", false, 1, hang_cap_ms, &out->hang_ms, NULL, error)) {
            goto done;
        }
        break;
    case FAULT_MODE_STATUS:
        if (!read_integer(root, "code", true, 400, 599, &code, NULL, error)) {
            goto done;
        }
        out->http_status = (unsigned int)code;
        break;
    case FAULT_MODE_REDIRECT:
        if (!read_integer(root, "code", false, 300, 308, &code, NULL, error) ||
            !read_string(root, "location", false, out->location, sizeof out->location, NULL,
                         error)) {
            goto done;
        }
        out->http_status = (unsigned int)code;
        break;
    case FAULT_MODE_ODD_STATE:
        if (!read_string(root, "state", false, out->state_text, sizeof out->state_text, NULL,
                         error)) {
            goto done;
        }
        break;
    case FAULT_MODE_DUPLICATE_STATE_KEYS:
        if (!read_string(root, "first_state", false, out->first_state, sizeof out->first_state,
                         NULL, error) ||
            !read_string(root, "second_state", false, out->second_state, sizeof out->second_state,
                         NULL, error)) {
            goto done;
        }
        break;
    case FAULT_MODE_CONTENT_TYPE:
        if (!read_string(root, "content_type", false, out->content_type, sizeof out->content_type,
                         NULL, error)) {
            goto done;
        }
        break;
    case FAULT_MODE_OVERSIZED:
        if (!read_integer(root, "bytes", false, 64 * 1024 + 1, ADMIN_MAX_OVERSIZED_BYTES,
                          &out->body_bytes, NULL, error)) {
            goto done;
        }
        break;
    case FAULT_MODE_TRUNCATED:
        if (!read_string(root, "cut", false, text, sizeof text, &present, error)) {
            goto done;
        }
        if (present) {
            if (strcmp(text, "body") == 0) {
                out->cut_transfer = false;
            } else if (strcmp(text, "transfer") == 0) {
                out->cut_transfer = true;
            } else {
                admin_error_set(error, ADMIN_ERROR_OUT_OF_RANGE,
                                "field 'cut' must be 'body' or 'transfer', got '%s'", text);
                goto done;
            }
        }
        break;
    default:
        break;
    }
    /* Header values must not carry line breaks (they would split the response). */
    if (strpbrk(out->location, "\r\n") != NULL || strpbrk(out->content_type, "\r\n") != NULL) {
        admin_error_set(error, ADMIN_ERROR_OUT_OF_RANGE,
                        "location and content_type must not contain line breaks");
        goto done;
    }
    ok = true;
done:
    json_decref(root);
    return ok;
}

/* --- terminate, state, instances ------------------------------------------------------- */

bool admin_parse_terminate(const char *body, size_t length, admin_terminate_command *out,
                           admin_error *error)
{
    static const char *const allowed[] = {"count",
                                          "percent",
                                          "state",
                                          "seed",
                                          "hint_drop_percent",
                                          "hint_duplicate_percent",
                                          "hint_forge_percent",
                                          "hint_delay_ms",
                                          NULL};
    error->code = ADMIN_ERROR_NONE;
    memset(out, 0, sizeof *out);
    out->state = INSTANCE_STATE_TERMINATED;
    out->hints = (hint_knobs){-1, -1, -1, -1};
    json_t *root = load_object(body, length, error);
    if (root == NULL) {
        return false;
    }
    bool ok = false;
    bool has_count = false;
    bool has_percent = false;
    bool has_seed = false;
    int64_t seed = 0;
    if (!only_fields(root, allowed, "", error) ||
        !read_integer(root, "count", false, 0, INT64_MAX / 2, &out->count, &has_count, error) ||
        !read_number(root, "percent", false, 0.0, 100.0, &out->percent, &has_percent, error) ||
        !read_state(root, "state", false, &out->state, NULL, error) ||
        !read_integer(root, "seed", false, 0, INT64_MAX, &seed, &has_seed, error) ||
        !read_integer(root, "hint_drop_percent", false, 0, 100, &out->hints.drop_percent, NULL,
                      error) ||
        !read_integer(root, "hint_duplicate_percent", false, 0, 100, &out->hints.duplicate_percent,
                      NULL, error) ||
        !read_integer(root, "hint_forge_percent", false, 0, 100, &out->hints.forge_percent, NULL,
                      error) ||
        !read_integer(root, "hint_delay_ms", false, 0, ADMIN_MAX_DELAY_MS, &out->hints.delay_ms,
                      NULL, error)) {
        goto done;
    }
    if (has_count == has_percent) {
        admin_error_set(error,
                        has_count ? ADMIN_ERROR_CONFLICTING_FIELDS : ADMIN_ERROR_MISSING_FIELD,
                        "give exactly one of 'count' and 'percent'");
        goto done;
    }
    if (out->state == INSTANCE_STATE_RUNNING) {
        admin_error_set(error, ADMIN_ERROR_UNKNOWN_STATE,
                        "terminate needs a not-running state, not 'running'");
        goto done;
    }
    out->is_percent = has_percent;
    out->has_seed = has_seed;
    out->seed = (uint64_t)seed;
    ok = true;
done:
    json_decref(root);
    return ok;
}

size_t admin_terminate_resolve(const admin_terminate_command *command, size_t running)
{
    if (!command->is_percent) {
        return (size_t)command->count;
    }
    /* Rounded down, with a nudge so that 10 % of 1000 is 100 even if 0.1 * 1000 is
     * 99.99999999999999 in binary. */
    double exact = (double)running * command->percent / 100.0;
    size_t count = (size_t)floor(exact + 1e-9);
    return count > running ? running : count;
}

bool admin_parse_set_state(const char *body, size_t length, admin_set_state_command *out,
                           admin_error *error)
{
    static const char *const allowed[] = {"state", "instance_id", NULL};
    error->code = ADMIN_ERROR_NONE;
    memset(out, 0, sizeof *out);
    json_t *root = load_object(body, length, error);
    if (root == NULL) {
        return false;
    }
    bool ok =
        only_fields(root, allowed, "", error) &&
        read_state(root, "state", true, &out->state, NULL, error) &&
        read_id(root, "instance_id", false, out->instance_id, &out->has_instance_id, "", error);
    json_decref(root);
    return ok;
}

bool admin_parse_instances(const char *body, size_t length, admin_instances_command *out,
                           admin_error *error)
{
    static const char *const top_allowed[] = {"instances", NULL};
    static const char *const entry_allowed[] = {"workspace_id", "instance_id", "state", NULL};
    error->code = ADMIN_ERROR_NONE;
    memset(out, 0, sizeof *out);
    json_t *root = load_body(body, length, error);
    if (root == NULL) {
        return false;
    }
    bool ok = false;
    json_t *list = root;
    if (json_is_object(root)) {
        if (!only_fields(root, top_allowed, "", error)) {
            goto done;
        }
        list = json_object_get(root, "instances");
        if (list == NULL) {
            admin_error_set(error, ADMIN_ERROR_MISSING_FIELD, "field 'instances' is required");
            goto done;
        }
    }
    if (!json_is_array(list)) {
        admin_error_set(error, ADMIN_ERROR_WRONG_TYPE,
                        "body must be {\"instances\": [...]} or an array of instances");
        goto done;
    }
    size_t count = json_array_size(list);
    out->entries = calloc(count > 0 ? count : 1, sizeof *out->entries);
    if (out->entries == NULL) {
        admin_error_set(error, ADMIN_ERROR_INTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        json_t *item = json_array_get(list, i);
        admin_instance_entry *entry = &out->entries[i];
        entry->state = INSTANCE_STATE_RUNNING;
        char context[48];
        snprintf(context, sizeof context, "instances[%zu].", i);
        if (!json_is_object(item)) {
            admin_error_set(error, ADMIN_ERROR_NOT_AN_OBJECT, "instances[%zu] must be an object",
                            i);
            goto done;
        }
        if (!only_fields(item, entry_allowed, context, error) ||
            !read_id(item, "workspace_id", true, entry->workspace_id, NULL, context, error) ||
            !read_id(item, "instance_id", true, entry->instance_id, NULL, context, error) ||
            !read_state(item, "state", false, &entry->state, NULL, error)) {
            /* Name the element in the message: a bulk request needs to say which one. */
            char message[sizeof error->message];
            snprintf(message, sizeof message, "%s", error->message);
            if (strncmp(message, context, strlen(context)) != 0) {
                /* Through admin_error_set: %.200s may cut a UTF-8 sequence in two. */
                admin_error_set(error, error->code, "instances[%zu]: %.200s", i, message);
            }
            goto done;
        }
    }
    out->count = count;
    ok = true;
done:
    if (!ok) {
        admin_instances_release(out);
    }
    json_decref(root);
    return ok;
}

void admin_instances_release(admin_instances_command *command)
{
    free(command->entries);
    command->entries = NULL;
    command->count = 0;
}

/* --- seed, config, empty --------------------------------------------------------------- */

static const char *const workspace_statuses[] = {
    "provisioning", "online", "offline",    "degraded",       "failed",
    "removed",      "paused", "hibernated", "awaiting_agent", NULL,
};

bool admin_parse_seed(const char *body, size_t length, admin_seed_command *out, admin_error *error)
{
    static const char *const allowed[] = {"count",      "runtime",    "status", "state",
                                          "batch_size", "return_ids", NULL};
    error->code = ADMIN_ERROR_NONE;
    memset(out, 0, sizeof *out);
    snprintf(out->runtime, sizeof out->runtime, "docker");
    snprintf(out->status, sizeof out->status, "online");
    out->state = INSTANCE_STATE_RUNNING;
    json_t *root = load_object(body, length, error);
    if (root == NULL) {
        return false;
    }
    bool ok = false;
    if (!only_fields(root, allowed, "", error) ||
        !read_integer(root, "count", true, 1, ADMIN_MAX_SEED_COUNT, &out->count, NULL, error) ||
        !read_integer(root, "batch_size", false, 1, ADMIN_MAX_SEED_BATCH, &out->batch_size, NULL,
                      error) ||
        !read_bool(root, "return_ids", &out->return_ids, NULL, error) ||
        !read_state(root, "state", false, &out->state, NULL, error) ||
        !read_string(root, "status", false, out->status, sizeof out->status, NULL, error)) {
        goto done;
    }
    if (!name_in(out->status, workspace_statuses)) {
        admin_error_set(error, ADMIN_ERROR_OUT_OF_RANGE,
                        "field 'status' must be a workspace_status value, got '%s'", out->status);
        goto done;
    }
    json_t *runtime = json_object_get(root, "runtime");
    if (json_is_null(runtime)) {
        out->runtime_is_null = true;
        out->runtime[0] = '\0';
    } else if (!read_id(root, "runtime", false, out->runtime, NULL, "", error)) {
        goto done;
    }
    ok = true;
done:
    json_decref(root);
    return ok;
}

bool admin_parse_config(const char *body, size_t length, admin_config_command *out,
                        admin_error *error)
{
    static const char *const allowed[] = {"reprovision_delay_ms", NULL};
    error->code = ADMIN_ERROR_NONE;
    memset(out, 0, sizeof *out);
    json_t *root = load_object(body, length, error);
    if (root == NULL) {
        return false;
    }
    bool ok = only_fields(root, allowed, "", error) &&
              read_integer(root, "reprovision_delay_ms", false, 0, ADMIN_MAX_DELAY_MS,
                           &out->reprovision_delay_ms, &out->has_reprovision_delay, error);
    json_decref(root);
    return ok;
}

bool admin_parse_empty(const char *body, size_t length, admin_error *error)
{
    static const char *const allowed[] = {NULL};
    error->code = ADMIN_ERROR_NONE;
    json_t *root = load_object(body, length, error);
    if (root == NULL) {
        return false;
    }
    bool ok = only_fields(root, allowed, "", error);
    json_decref(root);
    return ok;
}

/* --- query strings and path ids -------------------------------------------------------- */

/* A decimal integer in [minimum, maximum] and nothing else. */
static bool parse_decimal(const char *text, uint64_t minimum, uint64_t maximum, uint64_t *out)
{
    if (text == NULL || text[0] < '0' || text[0] > '9') {
        return false;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < minimum || value > maximum) {
        return false;
    }
    *out = (uint64_t)value;
    return true;
}

bool admin_parse_list_query(const char *state, const char *limit, const char *offset,
                            admin_list_query *out, admin_error *error)
{
    error->code = ADMIN_ERROR_NONE;
    memset(out, 0, sizeof *out);
    out->limit = 1000;
    if (state != NULL) {
        if (!instance_state_parse(state, &out->state)) {
            admin_error_set(error, ADMIN_ERROR_INVALID_PARAMETER,
                            "query parameter 'state' is not an instance state: '%.64s'", state);
            return false;
        }
        out->has_state = true;
    }
    uint64_t value = 0;
    if (limit != NULL) {
        if (!parse_decimal(limit, 0, 1000000, &value)) {
            admin_error_set(error, ADMIN_ERROR_INVALID_PARAMETER,
                            "query parameter 'limit' must be an integer in [0, 1000000]");
            return false;
        }
        out->limit = (size_t)value;
    }
    if (offset != NULL) {
        if (!parse_decimal(offset, 0, UINT32_MAX, &value)) {
            admin_error_set(error, ADMIN_ERROR_INVALID_PARAMETER,
                            "query parameter 'offset' must be a non-negative integer");
            return false;
        }
        out->offset = (size_t)value;
    }
    return true;
}

bool admin_parse_fault_id(const char *text, uint64_t *out, admin_error *error)
{
    error->code = ADMIN_ERROR_NONE;
    if (!parse_decimal(text, 1, UINT64_MAX, out)) {
        admin_error_set(error, ADMIN_ERROR_INVALID_PARAMETER,
                        "a fault id is a positive decimal integer, got '%.64s'",
                        text != NULL ? text : "");
        return false;
    }
    return true;
}
