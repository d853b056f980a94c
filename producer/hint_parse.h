/* hint_parse.h — what a lifecycle-event hint says, from the bytes of its HTTP body.
 *
 * For: turning one POSTed body into "look at instance X" or a stable reason why not. Accepted
 * shapes (docs/producer.md, "Hints"):
 *   - an EventBridge event as an API destination delivers it: "detail-type"
 *     "EC2 Instance State-change Notification" (a hint only when detail.state is one of
 *     stopping, stopped, shutting-down, terminated) or "EC2 Spot Instance Interruption
 *     Warning", the instance in detail.instance-id;
 *   - the generic form {"instance_id": "..."} for a CP webhook or another cloud's relay.
 * Not for: deciding anything. A hint only makes a checker ask the CP sooner; the CP's answer
 * is the only thing that can lead to a flip (docs/contracts.md §1). Pure: no I/O. */
#ifndef RECONCILER_PRODUCER_HINT_PARSE_H
#define RECONCILER_PRODUCER_HINT_PARSE_H

#include <stddef.h>

/* The longest instance id a hint may name (EC2's are 19 characters; room for other clouds). */
#define HINT_INSTANCE_ID_MAX 256

typedef enum {
    HINT_PARSE_OK = 0,              /* instance_id names an instance to look at */
    HINT_PARSE_NOT_A_TERMINATION,   /* a well-formed state change to a state that is no hint */
    HINT_PARSE_UNSUPPORTED_EVENT,   /* an envelope with another detail-type */
    HINT_PARSE_BODY_NOT_JSON,       /* not exactly one JSON value (duplicate keys included) */
    HINT_PARSE_BODY_NOT_OBJECT,     /* JSON, but not an object */
    HINT_PARSE_INSTANCE_ID_MISSING, /* no instance_id / detail.instance-id */
    HINT_PARSE_INSTANCE_ID_INVALID, /* not a string, empty, too long, or with control characters */
    HINT_PARSE_RESULT_COUNT
} hint_parse_result;

/* "ok", "not_a_termination", "unsupported_event", "body_not_json", ...: metric labels and the
 * "error" of a 400 answer. */
const char *hint_parse_result_name(hint_parse_result result);

/* Parses `length` bytes. On HINT_PARSE_OK the instance id is copied into instance_id. */
hint_parse_result hint_parse(const char *body, size_t length,
                             char instance_id[HINT_INSTANCE_ID_MAX + 1]);

#endif
