/* sweep_plan.h — the producer's decisions, as pure functions: no I/O, no clock read.
 *
 * For: how many CheckRequests a sweep enqueues, which rows it takes in which order (the
 * keyset walk with its round-robin cursor and wrap-around), each request's deadline, when
 * the next sweep starts, how long a standby waits between lock attempts, and the closed set
 * of sweep errors with their stable names. Not for: talking to PostgreSQL or Kafka
 * (scope_store.c, check_sender.c) or running the loop (producer_loop.c).
 *
 * Row ids are the canonical text form of a uuid (PostgreSQL's uuid::text: 36 lowercase
 * characters with hyphens at fixed places), whose byte order equals uuid order, so the walk
 * compares them with strcmp exactly as PostgreSQL orders `id`. */
#ifndef RECONCILER_PRODUCER_SWEEP_PLAN_H
#define RECONCILER_PRODUCER_SWEEP_PLAN_H

#include <stdbool.h>
#include <stdint.h>

/* 36 characters of a canonical uuid plus the terminating NUL. */
#define SWEEP_ID_TEXT_SIZE 37

/* The sweep_size field of a sweep's CheckRequests: the in-scope rows counted at sweep start,
 * or max_per_sweep when a cap is set (max_per_sweep > 0) and lower. Never negative.
 *
 * It is the denominator of the actuator's percentage breaker, so it is fixed before the
 * first message goes out (every message of a sweep carries the same value). It is not a
 * limit on the walk: rows that enter scope during the walk are taken too (see sweep_walk),
 * so a sweep of a growing fleet may enqueue a few more than sweep_size, and one of a
 * shrinking fleet a few fewer. */
int64_t sweep_plan_size(int64_t in_scope_count, int64_t max_per_sweep);

/* How many rows the walk may take: max_per_sweep when a cap is set, else SWEEP_NO_TAKE_LIMIT
 * (the walk ends only at the end of the in-scope rows). Deliberately not the count: a count
 * taken before the walk goes stale as rows enter or leave scope, and stopping after `count`
 * rows would leave out the highest ids whenever rows entered ahead of the cursor. */
#define SWEEP_NO_TAKE_LIMIT INT64_MAX
int64_t sweep_plan_take_limit(int64_t max_per_sweep);

/* The keyset walk of one sweep over the in-scope rows, ordered by id.
 *
 * Uncapped (a whole sweep): from the first row to the end of the in-scope rows as they are
 * when the walk reaches the end, however many that is: rows added, removed, entering or
 * leaving scope during the walk change neither where it ends nor which later rows it takes.
 * Every row in scope for the whole walk is taken exactly once.
 * Capped (round-robin): from just after `cursor` (the last row the previous sweep took) to
 * the end; if the end comes before take_limit rows were taken, the walk wraps to the first
 * row and continues up to and including the cursor row, never further, so one sweep takes
 * each row at most once. The caller persists sweep_walk_cursor() after a successful sweep.
 *
 * Use: begin; then while !finished: query a page of rows with id > sweep_walk_after()
 * (NULL = from the first row) limited to sweep_walk_page_limit(); offer each row to
 * sweep_walk_take() until it returns false; then report the page with
 * sweep_walk_page_done(). The walk always ends: each page moves the position forward
 * by at least one id or reaches the end, and the end is reached at most twice (an uncapped
 * walk is longer than the count only by the rows inserted ahead of it while it ran). */
typedef struct {
    int64_t take_limit;                    /* rows to take at most (SWEEP_NO_TAKE_LIMIT) */
    int64_t taken;                         /* rows taken so far */
    bool capped;                           /* round-robin from the cursor, wrapping */
    bool wrapped;                          /* the walk went past the end once */
    bool finished;                         /* nothing more to take */
    char start_cursor[SWEEP_ID_TEXT_SIZE]; /* where this sweep began; "" = first row */
    char position[SWEEP_ID_TEXT_SIZE];     /* last row read; "" = before the first row */
    char last_taken[SWEEP_ID_TEXT_SIZE];   /* last row taken; "" = none yet */
} sweep_walk;

/* Starts a walk taking at most take_limit rows (sweep_plan_take_limit; 0 or less takes
 * nothing). cursor may be NULL or "" (start at the first row); it is ignored when the walk is
 * not capped. A cursor that is not a 36-character id is treated as "". */
void sweep_walk_begin(sweep_walk *walk, int64_t take_limit, bool capped, const char *cursor);

/* LIMIT of the next page query: min(page_size, rows still to take); 0 when finished.
 * page_size below 1 is treated as 1. */
int64_t sweep_walk_page_limit(const sweep_walk *walk, int64_t page_size);

/* The id the next page starts after, or NULL to start at the first row. */
const char *sweep_walk_after(const sweep_walk *walk);

/* Offers the next row of the current page (rows arrive in id order). Returns true when the
 * sweep takes it (the caller enqueues it); false when the walk is finished, which also
 * happens for a row past the start cursor after wrapping (already taken this sweep). */
bool sweep_walk_take(sweep_walk *walk, const char *row_id);

/* Reports the end of a page: rows_returned rows came back for a query limited to `limit`.
 * Fewer than asked means the end of the table: a capped walk with a start cursor wraps to
 * the first row once; otherwise the walk is finished. */
void sweep_walk_page_done(sweep_walk *walk, int64_t rows_returned, int64_t limit);

/* The round-robin cursor to persist after a successful walk: the last row taken, or the
 * start cursor when nothing was taken (empty fleet), or NULL when there is neither. */
const char *sweep_walk_cursor(const sweep_walk *walk);

/* A CheckRequest's deadline: enqueued_at + deadline_ms, saturating instead of overflowing.
 * A checker that picks the request up after it does not ask the CP: by then the next sweep
 * has enqueued a fresher one. */
int64_t sweep_deadline_ms(int64_t enqueued_at_ms, int64_t deadline_ms);

/* librdkafka's message.timeout.ms for CheckRequests: the deadline, within [5 s, 5 min].
 * A message not delivered by its deadline is worthless (checkers skip it), so waiting longer
 * only delays the failed sweep's report; at least 5 s so a short test interval does not
 * fail on one slow broker round trip, at most 5 min (librdkafka's default) so a broker
 * outage fails the sweep in bounded time. An operator's --kafka-prop still wins. */
int64_t sweep_message_timeout_ms(int64_t deadline_ms);

/* When the sweep after one that started at started_ms and finished at finished_ms (both
 * monotonic) starts. The interval is measured from sweep start, so a long sweep does not
 * drift the schedule; a sweep that ran past the next start makes the next one start at
 * once, and `overran` says so (the loop logs a warning). */
typedef struct {
    int64_t next_start_ms;
    bool overran;
} sweep_schedule;
sweep_schedule sweep_schedule_next(int64_t started_ms, int64_t finished_ms, int64_t interval_ms);

/* How long a producer that just became active waits before its first sweep. has_previous:
 * the shared state records the start of an earlier sweep (by any producer), elapsed_ms ago
 * by the database's clock. No earlier sweep, or one at least an interval ago: 0 (sweep now).
 * Otherwise the rest of that interval, so a restart or failover neither doubles nor skips a
 * sweep. Always within [0, interval_ms], also when the database clock went backwards. */
int64_t sweep_schedule_first_delay(bool has_previous, int64_t elapsed_ms, int64_t interval_ms);

/* How often a standby retries the advisory lock, and how often the active producer checks
 * that its lock session still lives: min(interval, 5 s), so a takeover happens within one
 * interval and a short interval does not cost more than one lock query per interval. */
int64_t sweep_lock_retry_ms(int64_t interval_ms);

/* Why a sweep ended: a closed set with stable names (logs, the `error` field) grouped into
 * the result label of reconciler_producer_sweeps_total. */
typedef enum {
    SWEEP_OK = 0,
    SWEEP_ERROR_DATABASE_UNAVAILABLE, /* could not connect, or the connection broke */
    SWEEP_ERROR_DATABASE_QUERY,       /* a statement failed on a live connection */
    SWEEP_ERROR_KAFKA_PRODUCE,        /* librdkafka refused a message (not a full queue) */
    SWEEP_ERROR_KAFKA_DELIVERY,       /* a delivery report carried an error */
    SWEEP_ERROR_KAFKA_FLUSH_TIMEOUT,  /* reports still missing when the flush bound ran out */
    SWEEP_INTERRUPTED,                /* SIGTERM/SIGINT arrived during the sweep */
    SWEEP_RESULT_COUNT
} sweep_result;

/* "ok", "database_unavailable", "database_query_failed", "kafka_produce_failed",
 * "kafka_delivery_failed", "kafka_flush_timeout", "interrupted". */
const char *sweep_result_name(sweep_result result);
/* The metric label: "ok", "database_error", "kafka_error" or "interrupted". */
const char *sweep_result_label(sweep_result result);

#endif
