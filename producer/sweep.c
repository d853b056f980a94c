/* sweep.c — one sweep of the producer, start to end.
 *
 * For: the I/O of a sweep in order: record the start (and read the round-robin cursor),
 * count the in-scope rows, walk them page by page (sweep_plan.c decides which rows), encode
 * one CheckRequest per row and hand it to Kafka, wait until every delivery report arrived,
 * then record success and the new cursor. Memory stays flat: one page of rows and a bounded
 * Kafka queue, whatever the fleet size. Not for: when sweeps run, or who may run them
 * (producer_loop.c). */
#include "sweep.h"

#include "codec.h"
#include "log.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

static sweep_result from_store_status(scope_store_status status)
{
    return status == SCOPE_STORE_UNAVAILABLE ? SWEEP_ERROR_DATABASE_UNAVAILABLE
                                             : SWEEP_ERROR_DATABASE_QUERY;
}

static bool stop_requested(const sweep_context *context)
{
    return context->stop_requested != NULL && *context->stop_requested;
}

/* Encodes and sends one row's CheckRequest. A row that cannot be encoded (e.g. an
 * instance_id that is not valid UTF-8) is skipped and logged, not fatal to the sweep: one odd
 * row must not starve the rest of the fleet of checks. */
static sweep_result send_row(const sweep_context *context, check_request *request,
                             sweep_outcome *outcome)
{
    uint8_t *bytes = NULL;
    size_t length = 0;
    codec_error encoded = codec_encode_check_request(request, &bytes, &length);
    if (encoded != CODEC_OK) {
        free(bytes);
        outcome->skipped++;
        log_warn("row skipped: CheckRequest not encodable", "{s:s, s:s, s:s}", "sweep_id",
                 outcome->sweep_id, "workspace_id", request->workspace_id, "error",
                 codec_error_name(encoded));
        return SWEEP_OK;
    }
    sweep_result result = check_sender_send(context->sender, request->workspace_id, bytes, length,
                                            outcome->detail, sizeof outcome->detail);
    free(bytes); /* librdkafka copied it (RD_KAFKA_MSG_F_COPY) */
    return result;
}

/* Walks the pages and sends; returns how the walk ended. */
static sweep_result walk_and_send(const sweep_context *context, sweep_walk *walk,
                                  sweep_outcome *outcome)
{
    check_request request = {
        .sweep_id = outcome->sweep_id,
        .sweep_size = outcome->sweep_size,
        .producer_id = (char *)context->producer_id,
    };
    while (!walk->finished) {
        if (stop_requested(context)) {
            snprintf(outcome->detail, sizeof outcome->detail, "stop requested mid-sweep");
            return SWEEP_INTERRUPTED;
        }
        int64_t limit = sweep_walk_page_limit(walk, context->page_size);
        scope_page page;
        scope_store_status status =
            scope_store_page(context->store, sweep_walk_after(walk), limit, &page, outcome->detail,
                             sizeof outcome->detail);
        if (status != SCOPE_STORE_OK) {
            return from_store_status(status);
        }
        /* One clock read per page: enqueued_at is when the page's requests were handed to
         * Kafka, within milliseconds for a page. */
        request.enqueued_at = time_now_wall_ms();
        request.deadline = sweep_deadline_ms(request.enqueued_at, context->deadline_ms);
        sweep_result result = SWEEP_OK;
        for (int row = 0; row < page.rows && result == SWEEP_OK; row++) {
            const char *workspace_id = scope_page_workspace_id(&page, row);
            if (!sweep_walk_take(walk, workspace_id)) {
                break;
            }
            request.workspace_id = (char *)workspace_id;
            request.instance_id = (char *)scope_page_instance_id(&page, row);
            result = send_row(context, &request, outcome);
        }
        sweep_walk_page_done(walk, page.rows, limit);
        scope_page_clear(&page);
        if (result != SWEEP_OK) {
            return result;
        }
        /* Reports failing already (broker down): stop reading rows we cannot deliver. */
        if (check_sender_batch_failed(context->sender)) {
            check_sender_counts counts = check_sender_batch_counts(context->sender);
            snprintf(outcome->detail, sizeof outcome->detail,
                     "delivery reports failing mid-sweep (%lld failed so far)",
                     (long long)counts.failed);
            return SWEEP_ERROR_KAFKA_DELIVERY;
        }
        if (context->idle != NULL) {
            context->idle(context->idle_context);
        }
    }
    return SWEEP_OK;
}

void sweep_run(const sweep_context *context, sweep_outcome *outcome)
{
    memset(outcome, 0, sizeof *outcome);
    uuid_t sweep_uuid;
    uuid_generate_random(sweep_uuid);
    uuid_unparse_lower(sweep_uuid, outcome->sweep_id);

    char cursor[SWEEP_ID_TEXT_SIZE];
    scope_store_status status = scope_store_begin_sweep(
        context->store, context->lock_key, outcome->sweep_id, context->producer_id, cursor,
        outcome->detail, sizeof outcome->detail);
    if (status == SCOPE_STORE_OK) {
        status = scope_store_count(context->store, &outcome->in_scope, outcome->detail,
                                   sizeof outcome->detail);
    }
    if (status != SCOPE_STORE_OK) {
        outcome->result = from_store_status(status);
        return;
    }

    bool capped = context->max_per_sweep > 0;
    /* sweep_size (the breaker's denominator) is the count at start; the walk is not bounded
     * by it: an uncapped sweep goes to the end of the in-scope rows, so rows entering scope
     * during the walk cannot push the highest ids out of it (sweep_plan.h). */
    outcome->sweep_size = sweep_plan_size(outcome->in_scope, context->max_per_sweep);
    sweep_walk walk;
    sweep_walk_begin(&walk, sweep_plan_take_limit(context->max_per_sweep), capped, cursor);

    check_sender_begin_batch(context->sender);
    sweep_result result = walk_and_send(context, &walk, outcome);
    if (result == SWEEP_OK) {
        result = check_sender_finish_batch(context->sender, context->delivery_timeout_ms,
                                           outcome->detail, sizeof outcome->detail);
    }
    check_sender_counts counts = check_sender_batch_counts(context->sender);
    outcome->sent = counts.sent;
    outcome->delivered = counts.delivered;
    outcome->wrapped = walk.wrapped;

    if (result == SWEEP_OK) {
        /* Every message confirmed: only now may the round-robin move on. An uncapped sweep
         * leaves the cursor where it is (it always starts at the first row). */
        status = scope_store_finish_sweep(context->store, context->lock_key,
                                          capped ? sweep_walk_cursor(&walk) : NULL, outcome->detail,
                                          sizeof outcome->detail);
        if (status != SCOPE_STORE_OK) {
            result = from_store_status(status);
        }
    }
    outcome->result = result;
}
