/* hint_endpoint.h — POST /hints: the producer's door for lifecycle events (libmicrohttpd).
 *
 * For: authenticating (Authorization: Bearer <PRODUCER_HINT_TOKEN>, compared in constant time),
 * bounding (64 KiB) and parsing (hint_parse.h) each hint, answering with a named error, and
 * handing the instance id to a sink (the hint worker's queue). Not for: looking anything up
 * (hint_service.c) — the answer is 202 as soon as the id is queued. Runs on libmicrohttpd's
 * own thread; the sink's functions are called from it. */
#ifndef RECONCILER_PRODUCER_HINT_ENDPOINT_H
#define RECONCILER_PRODUCER_HINT_ENDPOINT_H

#include "hint_parse.h"

#include <stdbool.h>
#include <stddef.h>

/* Every outcome a hint can have (metric label). The parse results come first, in order. */
typedef enum {
    HINT_OUTCOME_QUEUED = HINT_PARSE_RESULT_COUNT, /* HINT_PARSE_OK is never counted as such */
    HINT_OUTCOME_UNAUTHORIZED,
    HINT_OUTCOME_TOO_LARGE,
    HINT_OUTCOME_QUEUE_FULL,
    HINT_OUTCOME_DUPLICATE,
    HINT_OUTCOME_UNKNOWN_INSTANCE,
    HINT_OUTCOME_CHECKED,
    HINT_OUTCOME_DATABASE_ERROR,
    HINT_OUTCOME_KAFKA_ERROR,
    HINT_OUTCOME_COUNT
} hint_outcome;

/* "queued", "unauthorized", ..., or hint_parse_result_name for the parse results. */
const char *hint_outcome_name(hint_outcome outcome);

typedef struct {
    bool (*enqueue)(void *context, const char *instance_id); /* false: the queue is full */
    void (*count)(void *context, hint_outcome outcome);
    void *context;
} hint_endpoint_sink;

typedef struct hint_endpoint hint_endpoint;

/* Listens on `address` (listener.h syntax) and serves until stopped. NULL with the reason. */
hint_endpoint *hint_endpoint_start(const char *address, const char *token, hint_endpoint_sink sink,
                                   char *error_buffer, size_t error_size);
/* The port bound (the kernel's choice for port 0); 0 for NULL. */
int hint_endpoint_port(const hint_endpoint *endpoint);
/* No hint is accepted after it returns. NULL is harmless. */
void hint_endpoint_stop(hint_endpoint *endpoint);

#endif
