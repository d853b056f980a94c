/* hint_parse.c — see hint_parse.h. */
#include "hint_parse.h"

#include <jansson.h>
#include <string.h>

#define EC2_STATE_CHANGE "EC2 Instance State-change Notification"
#define EC2_SPOT_WARNING "EC2 Spot Instance Interruption Warning"

const char *hint_parse_result_name(hint_parse_result result)
{
    switch (result) {
    case HINT_PARSE_OK:
        return "ok";
    case HINT_PARSE_NOT_A_TERMINATION:
        return "not_a_termination";
    case HINT_PARSE_UNSUPPORTED_EVENT:
        return "unsupported_event";
    case HINT_PARSE_BODY_NOT_JSON:
        return "body_not_json";
    case HINT_PARSE_BODY_NOT_OBJECT:
        return "body_not_object";
    case HINT_PARSE_INSTANCE_ID_MISSING:
        return "instance_id_missing";
    case HINT_PARSE_INSTANCE_ID_INVALID:
        return "instance_id_invalid";
    case HINT_PARSE_RESULT_COUNT:
        break;
    }
    return "unknown";
}

static hint_parse_result copy_instance_id(const json_t *value,
                                          char instance_id[HINT_INSTANCE_ID_MAX + 1])
{
    if (value == NULL)
        return HINT_PARSE_INSTANCE_ID_MISSING;
    if (!json_is_string(value))
        return HINT_PARSE_INSTANCE_ID_INVALID;
    size_t length = json_string_length(value);
    const char *text = json_string_value(value);
    if (length == 0 || length > HINT_INSTANCE_ID_MAX)
        return HINT_PARSE_INSTANCE_ID_INVALID;
    /* Ids are printable: a control character (or an embedded NUL) is a forged or broken body,
     * and would only make the log line and the database lookup harder to read. */
    for (size_t index = 0; index < length; index++) {
        if ((unsigned char)text[index] < 0x20 || text[index] == 0x7f)
            return HINT_PARSE_INSTANCE_ID_INVALID;
    }
    memcpy(instance_id, text, length + 1);
    return HINT_PARSE_OK;
}

/* The states after which an instance cannot be running (EC2's names). "pending" and
 * "running" are no hint: nothing died. */
static int is_termination_state(const char *state)
{
    static const char *const states[] = {"stopping", "stopped", "shutting-down", "terminated"};
    for (size_t index = 0; index < sizeof states / sizeof states[0]; index++) {
        if (strcmp(state, states[index]) == 0)
            return 1;
    }
    return 0;
}

static hint_parse_result parse_envelope(const json_t *root, const char *detail_type,
                                        char instance_id[HINT_INSTANCE_ID_MAX + 1])
{
    int state_change = strcmp(detail_type, EC2_STATE_CHANGE) == 0;
    if (!state_change && strcmp(detail_type, EC2_SPOT_WARNING) != 0)
        return HINT_PARSE_UNSUPPORTED_EVENT;
    const json_t *detail = json_object_get(root, "detail");
    if (!json_is_object(detail))
        return HINT_PARSE_INSTANCE_ID_MISSING;
    hint_parse_result result =
        copy_instance_id(json_object_get(detail, "instance-id"), instance_id);
    if (result != HINT_PARSE_OK || !state_change)
        return result;
    const json_t *state = json_object_get(detail, "state");
    if (!json_is_string(state) || !is_termination_state(json_string_value(state)))
        return HINT_PARSE_NOT_A_TERMINATION;
    return HINT_PARSE_OK;
}

hint_parse_result hint_parse(const char *body, size_t length,
                             char instance_id[HINT_INSTANCE_ID_MAX + 1])
{
    json_error_t error;
    /* Duplicate keys are refused as in the CP's answers: an ambiguous body is no hint. */
    json_t *root = json_loadb(body, length, JSON_REJECT_DUPLICATES, &error);
    if (root == NULL)
        return HINT_PARSE_BODY_NOT_JSON;
    hint_parse_result result;
    if (!json_is_object(root)) {
        result = HINT_PARSE_BODY_NOT_OBJECT;
    } else {
        const json_t *detail_type = json_object_get(root, "detail-type");
        if (json_is_string(detail_type))
            result = parse_envelope(root, json_string_value(detail_type), instance_id);
        else
            result = copy_instance_id(json_object_get(root, "instance_id"), instance_id);
    }
    json_decref(root);
    return result;
}
