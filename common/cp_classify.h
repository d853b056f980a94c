/* cp_classify.h — the tri-state answer to "does this instance run?" from one CP response
 * (docs/contracts.md §3).
 *
 * For: turning what the HTTP client saw (transport error, status, content type, body) into a
 * liveness, a stable reason and, when the CP sent a well-formed one, its state string.
 * Not for: I/O, clocks, logging or allocation that outlives the call — it is a pure function
 * so that every row of §3 is a unit test (tests/unit/test_checker_classify.c).
 *
 * The fail-safe rule: only a clean, unambiguous "not running" may yield NOT_RUNNING. The
 * classifier therefore accepts exactly one shape and calls everything else UNKNOWN:
 *
 *   RUNNING      no transport error, status 200..299, Content-Type application/json (or
 *                application/<anything>+json) with no charset or a UTF-8/US-ASCII one, a body
 *                of 1..65536 bytes that is exactly one JSON object (whitespace around it is
 *                allowed; nothing else), with no duplicate key in any object, valid UTF-8, no
 *                NUL, and whose "state" member (case-sensitive key) is the string "running"
 *                (case-sensitive, compared byte for byte, no trimming).
 *   NOT_RUNNING  the same, with "state" exactly one of the configured not-running states.
 *   UNKNOWN      everything else, each with its own cp_reason (see the table in cp_classify.c
 *                and docs/checker.md).
 *
 * The reason never carries any part of the body: it is an enum with a fixed name. */
#ifndef RECONCILER_CP_CLASSIFY_H
#define RECONCILER_CP_CLASSIFY_H

#include "codec.h"
#include "http_client.h"

#include <stdbool.h>
#include <stddef.h>

/* Why a CP answer was classified the way it was. Stable names (cp_reason_name) appear in
 * verdicts, logs and the reconciler_checker_unknown_total{reason} label; append new values,
 * never rename. */
typedef enum {
    /* The two reasons of a definite answer. */
    CP_REASON_STATE_RUNNING = 0, /* "state_running" */
    CP_REASON_STATE_NOT_RUNNING, /* "state_not_running" */
    /* Transport: no usable response arrived. */
    CP_REASON_TRANSPORT_TIMEOUT, /* per-request timeout (CHECKER_TIMEOUT) elapsed */
    CP_REASON_CONNECT_FAILED,    /* refused, reset, unreachable */
    CP_REASON_DNS_FAILED,        /* the CP host name did not resolve */
    CP_REASON_TLS_FAILED,        /* handshake or certificate verification failed */
    CP_REASON_BODY_TOO_LARGE,    /* more than HTTP_CLIENT_BODY_LIMIT (64 KiB) bytes */
    CP_REASON_PROTOCOL_ERROR,    /* malformed response or transfer cut short */
    CP_REASON_INTERNAL_ERROR,    /* our side failed to set the request up */
    CP_REASON_NO_RESPONSE,       /* no transport error reported, yet no status either */
    /* Status line. */
    CP_REASON_HTTP_REDIRECT,          /* 3xx: never followed */
    CP_REASON_HTTP_CLIENT_ERROR,      /* 4xx */
    CP_REASON_HTTP_SERVER_ERROR,      /* 5xx */
    CP_REASON_HTTP_STATUS_UNEXPECTED, /* 1xx or outside 100..599 */
    /* Headers. */
    CP_REASON_CONTENT_TYPE_MISSING,     /* a 2xx without Content-Type */
    CP_REASON_CONTENT_TYPE_NOT_JSON,    /* a 2xx whose media type is not JSON */
    CP_REASON_CONTENT_TYPE_BAD_CHARSET, /* JSON declared in a charset other than UTF-8 */
    /* Body. */
    CP_REASON_BODY_EMPTY,         /* a 2xx with zero bytes of body */
    CP_REASON_BODY_NOT_JSON,      /* does not parse as JSON */
    CP_REASON_BODY_INVALID_UTF8,  /* not valid UTF-8 */
    CP_REASON_BODY_CONTAINS_NUL,  /* a NUL byte or a \u0000 escape */
    CP_REASON_BODY_TRAILING_DATA, /* a JSON value followed by more than whitespace */
    CP_REASON_BODY_NOT_OBJECT,    /* JSON, but an array, string, number, ... */
    CP_REASON_DUPLICATE_KEYS,     /* some object has a key twice */
    /* The state member. */
    CP_REASON_STATE_MISSING,      /* no "state" key */
    CP_REASON_STATE_NULL,         /* "state": null */
    CP_REASON_STATE_NOT_STRING,   /* number, boolean, array or object */
    CP_REASON_STATE_EMPTY,        /* "state": "" */
    CP_REASON_STATE_UNRECOGNIZED, /* any other string: "pending", "Running", " running" */
    CP_REASON_COUNT
} cp_reason;

/* "state_running", "transport_timeout", ...; "invalid" for a value outside the enum. */
const char *cp_reason_name(cp_reason reason);

/* The longest state string a verdict carries in cp_state; longer ones are classified the
 * same way but reported as null (a verdict is no place for a CP's essay). */
#define CP_STATE_MAX_LENGTH 64
/* At most this many configured not-running states. */
#define CP_NOT_RUNNING_STATES_MAX 32

/* The configured not-running states (CHECKER_NOT_RUNNING_STATES), parsed once at start-up
 * and passed to every classification. */
typedef struct {
    size_t count;
    char states[CP_NOT_RUNNING_STATES_MAX][CP_STATE_MAX_LENGTH + 1];
} cp_not_running_states;

#define CP_NOT_RUNNING_STATES_DEFAULT "terminated,stopped,stopping,shutting-down"

/* Parses a comma-separated list ("terminated, stopped"): whitespace around each item is
 * ignored; each item must be 1..64 printable ASCII characters without spaces or commas, and
 * none may be "running" (a state cannot mean both). Duplicates are an error too, as they
 * betray a typo. Returns false with a one-line explanation in error_buffer. */
bool cp_not_running_states_parse(const char *text, cp_not_running_states *out, char *error_buffer,
                                 size_t error_size);

/* True when `state` (NUL-terminated) is exactly one of the configured states. */
bool cp_not_running_states_contains(const cp_not_running_states *states, const char *state,
                                    size_t state_length);

typedef struct {
    liveness liveness;
    cp_reason reason;
    /* The CP's state string when the body was a JSON object whose "state" was a string of
     * 1..CP_STATE_MAX_LENGTH printable ASCII characters; has_cp_state false otherwise. */
    bool has_cp_state;
    char cp_state[CP_STATE_MAX_LENGTH + 1];
} cp_classification;

/* Classifies one CP answer. http_status is 0 when no response arrived; transport_error is
 * the HTTP client's outcome; body (may be NULL when body_length is 0) need not be
 * NUL-terminated; content_type is the raw header value or NULL. Pure: no I/O, no clock,
 * nothing allocated that survives the call. */
cp_classification cp_classify(long http_status, http_client_error transport_error, const char *body,
                              size_t body_length, const char *content_type,
                              const cp_not_running_states *not_running_states);

/* Pure helper of cp_classify, exposed for tests: true when a Content-Type header value names
 * JSON (application/json or application/<subtype>+json, case-insensitive, parameters
 * allowed) with no charset parameter or exactly one naming UTF-8 or US-ASCII. Otherwise false
 * with *reason set to CP_REASON_CONTENT_TYPE_MISSING (NULL, empty or blank),
 * CP_REASON_CONTENT_TYPE_BAD_CHARSET, or CP_REASON_CONTENT_TYPE_NOT_JSON (any other media
 * type, or a value that does not follow the RFC 9110 syntax). */
bool cp_content_type_is_json(const char *content_type, cp_reason *reason);

#endif
