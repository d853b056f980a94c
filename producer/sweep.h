/* sweep.h — one sweep: enumerate the in-scope rows and enqueue one CheckRequest per row.
 *
 * For: the steps of a sweep in order — record its start, count, walk the keyset pages,
 * encode and send, wait for every delivery report, advance the round-robin cursor — and the
 * outcome the loop logs and counts. Not for: the schedule, the lock, or metrics
 * (producer_loop.c); the decisions themselves are in sweep_plan.c. */
#ifndef RECONCILER_PRODUCER_SWEEP_H
#define RECONCILER_PRODUCER_SWEEP_H

#include "check_sender.h"
#include "scope_store.h"
#include "sweep_plan.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    scope_store *store;
    check_sender *sender;
    int64_t lock_key;
    int64_t page_size;
    int64_t max_per_sweep; /* 0 = no cap */
    int64_t deadline_ms;
    int64_t delivery_timeout_ms; /* bound on waiting for the batch's reports */
    const char *producer_id;
    const volatile sig_atomic_t *stop_requested;
    void (*idle)(void *context); /* called once per page, e.g. the liveness heartbeat */
    void *idle_context;
} sweep_context;

typedef struct {
    sweep_result result;
    char sweep_id[SWEEP_ID_TEXT_SIZE];
    int64_t in_scope;   /* rows in scope at sweep start */
    int64_t sweep_size; /* the sweep_size field of its CheckRequests */
    int64_t sent;       /* handed to librdkafka */
    int64_t delivered;  /* confirmed by the broker */
    int64_t skipped;    /* rows whose CheckRequest could not be encoded (logged each) */
    bool wrapped;       /* a capped sweep went past the end and continued at the start */
    char detail[640];   /* what failed: the call and its error; "" on success */
} sweep_outcome;

/* Runs one sweep to its end. Never exits the process; every failure is in the outcome. The
 * round-robin cursor advances only when every message was confirmed, so a failed sweep's
 * rows are taken again by the next one (at-least-once). */
void sweep_run(const sweep_context *context, sweep_outcome *outcome);

#endif
