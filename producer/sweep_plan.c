/* sweep_plan.c — the producer's pure decisions: sweep size, the keyset walk with its
 * round-robin cursor, deadlines, the schedule and the sweep error names.
 *
 * For: everything about a sweep that can be decided from numbers and ids alone, so the unit
 * tests call it directly with tables of cases. Not for: I/O of any kind, or reading a clock
 * (callers pass times in). See sweep_plan.h for the contract of each function. */
#include "sweep_plan.h"

#include <string.h>

/* Why 5 s: a standby takes over within one interval of the active producer's death even
 * for short intervals, and with the 60 s default a lock query every 5 s costs nothing. */
#define SWEEP_LOCK_RETRY_MAX_MS 5000
/* Bounds of message.timeout.ms; see sweep_message_timeout_ms in sweep_plan.h for why. */
#define SWEEP_MESSAGE_TIMEOUT_MIN_MS 5000
#define SWEEP_MESSAGE_TIMEOUT_MAX_MS 300000

int64_t sweep_plan_size(int64_t in_scope_count, int64_t max_per_sweep)
{
    if (in_scope_count <= 0) {
        return 0;
    }
    if (max_per_sweep > 0 && max_per_sweep < in_scope_count) {
        return max_per_sweep;
    }
    return in_scope_count;
}

int64_t sweep_plan_take_limit(int64_t max_per_sweep)
{
    return max_per_sweep > 0 ? max_per_sweep : SWEEP_NO_TAKE_LIMIT;
}

static void copy_id(char destination[SWEEP_ID_TEXT_SIZE], const char *source)
{
    /* Anything but a full canonical id means "no position": starting over from the first
     * row is always safe, a truncated id would silently skip or repeat rows. */
    if (source == NULL || strlen(source) != SWEEP_ID_TEXT_SIZE - 1) {
        destination[0] = '\0';
        return;
    }
    memcpy(destination, source, SWEEP_ID_TEXT_SIZE);
}

void sweep_walk_begin(sweep_walk *walk, int64_t take_limit, bool capped, const char *cursor)
{
    memset(walk, 0, sizeof *walk);
    walk->take_limit = take_limit > 0 ? take_limit : 0;
    walk->capped = capped;
    if (capped) {
        copy_id(walk->start_cursor, cursor);
        memcpy(walk->position, walk->start_cursor, SWEEP_ID_TEXT_SIZE);
    }
    walk->finished = walk->take_limit == 0;
}

int64_t sweep_walk_page_limit(const sweep_walk *walk, int64_t page_size)
{
    if (walk->finished) {
        return 0;
    }
    if (page_size < 1) {
        page_size = 1;
    }
    int64_t remaining = walk->take_limit - walk->taken;
    return remaining < page_size ? remaining : page_size;
}

const char *sweep_walk_after(const sweep_walk *walk)
{
    return walk->position[0] != '\0' ? walk->position : NULL;
}

bool sweep_walk_take(sweep_walk *walk, const char *row_id)
{
    if (walk->finished || row_id == NULL) {
        return false;
    }
    /* After wrapping, rows up to and including the start cursor were not taken yet this
     * sweep (the first part began after it); a row past it was. */
    if (walk->wrapped && walk->start_cursor[0] != '\0' && strcmp(row_id, walk->start_cursor) > 0) {
        walk->finished = true;
        return false;
    }
    copy_id(walk->position, row_id);
    copy_id(walk->last_taken, row_id);
    walk->taken++;
    if (walk->taken >= walk->take_limit) {
        walk->finished = true;
    }
    return true;
}

void sweep_walk_page_done(sweep_walk *walk, int64_t rows_returned, int64_t limit)
{
    if (walk->finished || rows_returned >= limit) {
        return;
    }
    /* The end of the table. Wrap once, and only when the walk began in the middle: a walk
     * that began at the first row has now seen every row. */
    if (walk->capped && !walk->wrapped && walk->start_cursor[0] != '\0') {
        walk->wrapped = true;
        walk->position[0] = '\0';
        return;
    }
    walk->finished = true;
}

const char *sweep_walk_cursor(const sweep_walk *walk)
{
    if (walk->last_taken[0] != '\0') {
        return walk->last_taken;
    }
    if (walk->start_cursor[0] != '\0') {
        return walk->start_cursor;
    }
    return NULL;
}

int64_t sweep_deadline_ms(int64_t enqueued_at_ms, int64_t deadline_ms)
{
    if (deadline_ms < 0) {
        deadline_ms = 0;
    }
    if (enqueued_at_ms > INT64_MAX - deadline_ms) {
        return INT64_MAX;
    }
    return enqueued_at_ms + deadline_ms;
}

int64_t sweep_message_timeout_ms(int64_t deadline_ms)
{
    if (deadline_ms < SWEEP_MESSAGE_TIMEOUT_MIN_MS) {
        return SWEEP_MESSAGE_TIMEOUT_MIN_MS;
    }
    if (deadline_ms > SWEEP_MESSAGE_TIMEOUT_MAX_MS) {
        return SWEEP_MESSAGE_TIMEOUT_MAX_MS;
    }
    return deadline_ms;
}

sweep_schedule sweep_schedule_next(int64_t started_ms, int64_t finished_ms, int64_t interval_ms)
{
    sweep_schedule schedule = {.next_start_ms = started_ms + interval_ms, .overran = false};
    if (finished_ms > schedule.next_start_ms) {
        schedule.next_start_ms = finished_ms;
        schedule.overran = true;
    }
    return schedule;
}

int64_t sweep_schedule_first_delay(bool has_previous, int64_t elapsed_ms, int64_t interval_ms)
{
    if (interval_ms <= 0 || !has_previous) {
        return 0;
    }
    /* A negative elapsed time (the database clock stepped back) counts as "just now": wait
     * one interval at most, never longer. */
    if (elapsed_ms < 0) {
        elapsed_ms = 0;
    }
    if (elapsed_ms >= interval_ms) {
        return 0;
    }
    return interval_ms - elapsed_ms;
}

int64_t sweep_lock_retry_ms(int64_t interval_ms)
{
    if (interval_ms <= 0) {
        return SWEEP_LOCK_RETRY_MAX_MS;
    }
    return interval_ms < SWEEP_LOCK_RETRY_MAX_MS ? interval_ms : SWEEP_LOCK_RETRY_MAX_MS;
}

const char *sweep_result_name(sweep_result result)
{
    switch (result) {
    case SWEEP_OK:
        return "ok";
    case SWEEP_ERROR_DATABASE_UNAVAILABLE:
        return "database_unavailable";
    case SWEEP_ERROR_DATABASE_QUERY:
        return "database_query_failed";
    case SWEEP_ERROR_KAFKA_PRODUCE:
        return "kafka_produce_failed";
    case SWEEP_ERROR_KAFKA_DELIVERY:
        return "kafka_delivery_failed";
    case SWEEP_ERROR_KAFKA_FLUSH_TIMEOUT:
        return "kafka_flush_timeout";
    case SWEEP_INTERRUPTED:
        return "interrupted";
    case SWEEP_RESULT_COUNT:
        break;
    }
    return "unknown";
}

const char *sweep_result_label(sweep_result result)
{
    switch (result) {
    case SWEEP_OK:
        return "ok";
    case SWEEP_ERROR_DATABASE_UNAVAILABLE:
    case SWEEP_ERROR_DATABASE_QUERY:
        return "database_error";
    case SWEEP_ERROR_KAFKA_PRODUCE:
    case SWEEP_ERROR_KAFKA_DELIVERY:
    case SWEEP_ERROR_KAFKA_FLUSH_TIMEOUT:
        return "kafka_error";
    case SWEEP_INTERRUPTED:
        return "interrupted";
    case SWEEP_RESULT_COUNT:
        break;
    }
    return "unknown";
}
