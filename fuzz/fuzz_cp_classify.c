/* fuzz_cp_classify.c — libFuzzer target for the CP response classifier
 * (common/cp_classify.c) and the CHECKER_NOT_RUNNING_STATES parser next to it.
 *
 * For: proving that no response — status, transport outcome, Content-Type, body — crashes
 * the classifier, reads past the body (which is not NUL-terminated), or yields a definite
 * answer the fail-safe rule (docs/contracts.md §3) forbids. Not for: the table of expected reasons
 * (tests/unit/test_checker_classify.c has that).
 *
 * Input layout (so that mutations move between the parts naturally):
 *   byte 0-1   HTTP status, little-endian, modulo 700 (0 = no response)
 *   byte 2     transport outcome: values below 200 mean HTTP_CLIENT_OK, the rest pick an error
 *   byte 3..   the Content-Type header value up to the first '\n' (absent if there is none:
 *              a NULL header), then the body: every remaining byte, passed without a NUL
 *              terminator, in an exactly sized buffer.
 * The Content-Type text is also fed to cp_not_running_states_parse.
 *
 * The oracle for a definite answer is independent of the classifier's code path: a RUNNING
 * or NOT_RUNNING verdict is only allowed when the transport succeeded, the status is 2xx,
 * the body is at most 64 KiB and parses (by jansson, duplicates rejected, nothing trailing)
 * as one object whose "state" is exactly "running" or one of the configured states. */
#include "cp_classify.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_REQUIRE(condition)                                                                    \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            fprintf(stderr, "fuzz_cp_classify: property failed: %s (%s:%d)\n", #condition,         \
                    __FILE__, __LINE__);                                                           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static cp_not_running_states default_states;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char error[256];
    if (!cp_not_running_states_parse(CP_NOT_RUNNING_STATES_DEFAULT, &default_states, error,
                                     sizeof error)) {
        fprintf(stderr, "fuzz_cp_classify: default states do not parse: %s\n", error);
        abort();
    }
    return 0;
}

static http_client_error transport_of(uint8_t selector)
{
    static const http_client_error errors[] = {
        HTTP_CLIENT_ERROR_TIMEOUT,
        HTTP_CLIENT_ERROR_CONNECT,
        HTTP_CLIENT_ERROR_DNS,
        HTTP_CLIENT_ERROR_TLS,
        HTTP_CLIENT_ERROR_PROTOCOL,
        HTTP_CLIENT_ERROR_INTERNAL,
        HTTP_CLIENT_ERROR_BODY_TOO_LARGE,
    };
    if (selector < 200) {
        return HTTP_CLIENT_OK;
    }
    return errors[(selector - 200) % (sizeof errors / sizeof errors[0])];
}

static bool is_printable_ascii(const char *text, size_t length)
{
    for (size_t index = 0; index < length; index++) {
        if ((unsigned char)text[index] < 0x20 || (unsigned char)text[index] > 0x7e) {
            return false;
        }
    }
    return true;
}

/* The independent oracle: is the body one JSON object whose "state" string is `expected`
 * (running) or, with expected NULL, one of the configured not-running states? */
static bool body_says(const char *body, size_t length, const char *expected)
{
    json_error_t error;
    json_t *root = json_loadb(body, length, JSON_REJECT_DUPLICATES, &error);
    if (root == NULL) {
        return false;
    }
    bool says = false;
    json_t *state = json_object_get(root, "state");
    if (json_is_object(root) && json_is_string(state)) {
        const char *text = json_string_value(state);
        size_t text_length = json_string_length(state);
        if (expected != NULL) {
            says = text_length == strlen(expected) && memcmp(text, expected, text_length) == 0;
        } else {
            says = strlen(text) == text_length &&
                   cp_not_running_states_contains(&default_states, text, text_length);
        }
    }
    json_decref(root);
    return says;
}

static void check_states_parser(const char *text)
{
    cp_not_running_states states;
    char error[128];
    memset(error, 0, sizeof error);
    if (!cp_not_running_states_parse(text, &states, error, sizeof error)) {
        FUZZ_REQUIRE(error[0] != '\0' && memchr(error, '\0', sizeof error) != NULL);
        return;
    }
    FUZZ_REQUIRE(states.count >= 1 && states.count <= CP_NOT_RUNNING_STATES_MAX);
    for (size_t index = 0; index < states.count; index++) {
        const char *state = states.states[index];
        size_t length = strnlen(state, sizeof states.states[index]);
        FUZZ_REQUIRE(length >= 1 && length <= CP_STATE_MAX_LENGTH);
        FUZZ_REQUIRE(is_printable_ascii(state, length) && strchr(state, ' ') == NULL &&
                     strchr(state, ',') == NULL);
        FUZZ_REQUIRE(strcmp(state, "running") != 0);
        FUZZ_REQUIRE(cp_not_running_states_contains(&states, state, length));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) {
        return 0;
    }
    long status = (long)((data[0] | (data[1] << 8)) % 700);
    http_client_error transport = transport_of(data[2]);
    const uint8_t *rest = data + 3;
    size_t rest_length = size - 3;

    const uint8_t *newline = memchr(rest, '\n', rest_length);
    char *content_type = NULL;
    const uint8_t *body_start = rest;
    size_t body_length = rest_length;
    if (newline != NULL) {
        size_t header_length = (size_t)(newline - rest);
        content_type = malloc(header_length + 1);
        if (content_type == NULL) {
            return 0;
        }
        memcpy(content_type, rest, header_length);
        content_type[header_length] = '\0';
        body_start = newline + 1;
        body_length = rest_length - header_length - 1;
        check_states_parser(content_type);
    }
    /* An exactly sized copy: a read past the body's end is an AddressSanitizer report. NULL
     * for an empty body, as the HTTP client may hand over. */
    char *body = NULL;
    if (body_length > 0) {
        body = malloc(body_length);
        if (body == NULL) {
            free(content_type);
            return 0;
        }
        memcpy(body, body_start, body_length);
    }

    cp_classification result =
        cp_classify(status, transport, body, body_length, content_type, &default_states);

    FUZZ_REQUIRE(result.reason < CP_REASON_COUNT);
    FUZZ_REQUIRE(strcmp(cp_reason_name(result.reason), "invalid") != 0);
    FUZZ_REQUIRE(result.liveness == LIVENESS_UNKNOWN || result.liveness == LIVENESS_RUNNING ||
                 result.liveness == LIVENESS_NOT_RUNNING);
    FUZZ_REQUIRE((result.liveness == LIVENESS_RUNNING) ==
                 (result.reason == CP_REASON_STATE_RUNNING));
    FUZZ_REQUIRE((result.liveness == LIVENESS_NOT_RUNNING) ==
                 (result.reason == CP_REASON_STATE_NOT_RUNNING));
    if (result.has_cp_state) {
        size_t length = strnlen(result.cp_state, sizeof result.cp_state);
        FUZZ_REQUIRE(length >= 1 && length <= CP_STATE_MAX_LENGTH);
        FUZZ_REQUIRE(is_printable_ascii(result.cp_state, length));
    }
    if (result.liveness != LIVENESS_UNKNOWN) {
        /* The fail-safe rule: a definite answer only from a clean 2xx JSON object. */
        cp_reason ignored;
        FUZZ_REQUIRE(transport == HTTP_CLIENT_OK);
        FUZZ_REQUIRE(status >= 200 && status <= 299);
        FUZZ_REQUIRE(cp_content_type_is_json(content_type, &ignored));
        FUZZ_REQUIRE(body != NULL && body_length <= HTTP_CLIENT_BODY_LIMIT);
        FUZZ_REQUIRE(memchr(body, '\0', body_length) == NULL);
        FUZZ_REQUIRE(result.has_cp_state);
        FUZZ_REQUIRE(
            body_says(body, body_length, result.liveness == LIVENESS_RUNNING ? "running" : NULL));
    }
    if (transport != HTTP_CLIENT_OK || status < 200 || status > 299) {
        FUZZ_REQUIRE(!result.has_cp_state);
    }

    free(body);
    free(content_type);
    return 0;
}
