/* Unit tests of the producer's pure decisions (producer/sweep_plan.c): sweep size, the keyset
 * walk with its round-robin cursor and wrap-around, deadlines, the schedule, lock retry
 * timing and the named sweep results. The walk is driven against an in-memory "table" of
 * sorted ids that answers page queries the way the SQL does (id > after ORDER BY id LIMIT). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep_plan.h"

#define MAX_ROWS 64

/* Canonical uuid text whose order follows n (0 < 1 < ... as PostgreSQL orders them). */
static void row_id(int n, char out[SWEEP_ID_TEXT_SIZE])
{
    snprintf(out, SWEEP_ID_TEXT_SIZE, "00000000-0000-4000-8000-%012d", n);
}

typedef struct {
    char ids[MAX_ROWS][SWEEP_ID_TEXT_SIZE];
    int count;
} fake_table;

/* A table holding rows numbered first, first+step, ... (count rows). */
static fake_table table_of(int count, int first, int step)
{
    fake_table table = {.count = count};
    for (int i = 0; i < count; i++) {
        row_id(first + i * step, table.ids[i]);
    }
    return table;
}

typedef struct {
    char ids[2 * MAX_ROWS][SWEEP_ID_TEXT_SIZE];
    int count;
    int pages;
    bool wrapped;
    char cursor[SWEEP_ID_TEXT_SIZE]; /* sweep_walk_cursor(), "" for NULL */
} walk_result;

/* Runs a whole walk, as sweep.c does against PostgreSQL, against `before` for the first
 * change_after_pages pages and against `changed` from then on: a table that changes while the
 * walk runs (0 = changed between the count and the first page). */
static walk_result run_walk_changing(const fake_table *before, const fake_table *changed,
                                     int change_after_pages, int64_t take_limit, bool capped,
                                     const char *cursor, int64_t page_size)
{
    walk_result result;
    memset(&result, 0, sizeof result);
    sweep_walk walk;
    sweep_walk_begin(&walk, take_limit, capped, cursor);
    while (!walk.finished) {
        ck_assert_int_lt(result.pages, 1000); /* the walk must end */
        const fake_table *table = result.pages < change_after_pages ? before : changed;
        int64_t limit = sweep_walk_page_limit(&walk, page_size);
        ck_assert_int_gt(limit, 0);
        const char *after = sweep_walk_after(&walk);
        char after_copy[SWEEP_ID_TEXT_SIZE] = "";
        if (after != NULL) {
            strcpy(after_copy, after);
        }
        int returned = 0;
        bool stopped = false;
        for (int i = 0; i < table->count && returned < limit; i++) {
            if (after != NULL && strcmp(table->ids[i], after_copy) <= 0) {
                continue;
            }
            returned++;
            if (!stopped) {
                if (sweep_walk_take(&walk, table->ids[i])) {
                    ck_assert_int_lt(result.count, 2 * MAX_ROWS);
                    strcpy(result.ids[result.count++], table->ids[i]);
                } else {
                    stopped = true;
                }
            }
        }
        sweep_walk_page_done(&walk, returned, limit);
        result.pages++;
    }
    ck_assert_int_eq(sweep_walk_page_limit(&walk, page_size), 0);
    result.wrapped = walk.wrapped;
    const char *final_cursor = sweep_walk_cursor(&walk);
    if (final_cursor != NULL) {
        strcpy(result.cursor, final_cursor);
    }
    return result;
}

/* Runs a whole walk against a table that does not change. */
static walk_result run_walk(const fake_table *table, int64_t take_limit, bool capped,
                            const char *cursor, int64_t page_size)
{
    return run_walk_changing(table, table, 0, take_limit, capped, cursor, page_size);
}

/* A table of the rows of `left` and `right` together (sorted, no duplicates). */
static fake_table table_union(const fake_table *left, const fake_table *right)
{
    fake_table merged = {.count = 0};
    int i = 0, j = 0;
    while (i < left->count || j < right->count) {
        const char *next;
        if (j >= right->count || (i < left->count && strcmp(left->ids[i], right->ids[j]) < 0)) {
            next = left->ids[i++];
        } else if (i < left->count && strcmp(left->ids[i], right->ids[j]) == 0) {
            next = left->ids[i++];
            j++;
        } else {
            next = right->ids[j++];
        }
        ck_assert_int_lt(merged.count, MAX_ROWS);
        strcpy(merged.ids[merged.count++], next);
    }
    return merged;
}

/* True when the walk took row n. */
static bool took(const walk_result *result, int n)
{
    char id[SWEEP_ID_TEXT_SIZE];
    row_id(n, id);
    for (int i = 0; i < result->count; i++) {
        if (strcmp(result->ids[i], id) == 0) {
            return true;
        }
    }
    return false;
}

static void assert_taken(const walk_result *result, const int *expected, int expected_count)
{
    ck_assert_int_eq(result->count, expected_count);
    for (int i = 0; i < expected_count; i++) {
        char id[SWEEP_ID_TEXT_SIZE];
        row_id(expected[i], id);
        ck_assert_str_eq(result->ids[i], id);
    }
}

static void assert_no_duplicates(const walk_result *result)
{
    for (int i = 0; i < result->count; i++) {
        for (int j = i + 1; j < result->count; j++) {
            ck_assert_str_ne(result->ids[i], result->ids[j]);
        }
    }
}

START_TEST(test_producer_plan_size_is_fleet_or_cap)
{
    static const struct {
        int64_t in_scope, cap, expected;
    } cases[] = {
        {0, 0, 0},          {0, 10, 0},       {-5, 0, 0},         {1, 0, 1}, {5000, 0, 5000},
        {5000, 1000, 1000}, {999, 1000, 999}, {1000, 1000, 1000}, {7, 1, 1}, {7, -3, 7},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(sweep_plan_size(cases[i].in_scope, cases[i].cap), cases[i].expected);
    }
}
END_TEST

START_TEST(test_producer_walk_uncapped_takes_every_row_once_across_pages)
{
    fake_table table = table_of(10, 1, 1);
    walk_result result = run_walk(&table, 10, false, NULL, 3);
    const int expected[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    assert_taken(&result, expected, 10);
    ck_assert(!result.wrapped);
    ck_assert_int_eq(result.pages, 4); /* 3 + 3 + 3 + 1 */
}
END_TEST

START_TEST(test_producer_walk_uncapped_ignores_cursor)
{
    fake_table table = table_of(5, 1, 1);
    char cursor[SWEEP_ID_TEXT_SIZE];
    row_id(3, cursor);
    walk_result result = run_walk(&table, 5, false, cursor, 1000);
    const int expected[] = {1, 2, 3, 4, 5};
    assert_taken(&result, expected, 5);
}
END_TEST

START_TEST(test_producer_walk_page_limit_never_exceeds_remaining)
{
    sweep_walk walk;
    sweep_walk_begin(&walk, 5, true, NULL);
    ck_assert_int_eq(sweep_walk_page_limit(&walk, 1000), 5);
    ck_assert_int_eq(sweep_walk_page_limit(&walk, 2), 2);
    ck_assert_int_eq(sweep_walk_page_limit(&walk, 0), 1);
    ck_assert_ptr_null(sweep_walk_after(&walk));
}
END_TEST

START_TEST(test_producer_walk_capped_first_sweep_takes_cap_rows_from_start)
{
    fake_table table = table_of(10, 1, 1);
    walk_result result = run_walk(&table, 4, true, NULL, 3);
    const int expected[] = {1, 2, 3, 4};
    assert_taken(&result, expected, 4);
    char cursor[SWEEP_ID_TEXT_SIZE];
    row_id(4, cursor);
    ck_assert_str_eq(result.cursor, cursor);
}
END_TEST

START_TEST(test_producer_walk_capped_continues_after_cursor)
{
    fake_table table = table_of(10, 1, 1);
    char cursor[SWEEP_ID_TEXT_SIZE];
    row_id(4, cursor);
    walk_result result = run_walk(&table, 4, true, cursor, 1000);
    const int expected[] = {5, 6, 7, 8};
    assert_taken(&result, expected, 4);
    ck_assert(!result.wrapped);
}
END_TEST

START_TEST(test_producer_walk_capped_wraps_to_start_within_the_sweep)
{
    fake_table table = table_of(10, 1, 1);
    char cursor[SWEEP_ID_TEXT_SIZE];
    row_id(8, cursor);
    walk_result result = run_walk(&table, 5, true, cursor, 2);
    const int expected[] = {9, 10, 1, 2, 3};
    assert_taken(&result, expected, 5);
    ck_assert(result.wrapped);
    char last[SWEEP_ID_TEXT_SIZE];
    row_id(3, last);
    ck_assert_str_eq(result.cursor, last);
}
END_TEST

START_TEST(test_producer_walk_cap_above_fleet_covers_each_row_once_from_cursor)
{
    fake_table table = table_of(6, 1, 1);
    char cursor[SWEEP_ID_TEXT_SIZE];
    row_id(4, cursor);
    /* sweep_size = min(N, cap) = 6 */
    walk_result result = run_walk(&table, sweep_plan_size(6, 100), true, cursor, 4);
    const int expected[] = {5, 6, 1, 2, 3, 4};
    assert_taken(&result, expected, 6);
}
END_TEST

START_TEST(test_producer_walk_cursor_past_last_row_wraps_at_once)
{
    fake_table table = table_of(5, 1, 1);
    char cursor[SWEEP_ID_TEXT_SIZE];
    row_id(99, cursor);
    walk_result result = run_walk(&table, 3, true, cursor, 1000);
    const int expected[] = {1, 2, 3};
    assert_taken(&result, expected, 3);
    ck_assert(result.wrapped);
}
END_TEST

START_TEST(test_producer_walk_deleted_cursor_row_continues_at_next_id)
{
    fake_table table = table_of(5, 10, 10); /* 10, 20, 30, 40, 50 */
    char cursor[SWEEP_ID_TEXT_SIZE];
    row_id(25, cursor); /* a row that no longer exists */
    walk_result result = run_walk(&table, 2, true, cursor, 1000);
    const int expected[] = {30, 40};
    assert_taken(&result, expected, 2);
}
END_TEST

START_TEST(test_producer_walk_rows_gone_mid_sweep_never_repeat_a_row)
{
    /* Counted 10 at sweep start, only 6 remain while walking. */
    fake_table table = table_of(6, 1, 1);
    walk_result uncapped = run_walk(&table, 10, false, NULL, 4);
    ck_assert_int_eq(uncapped.count, 6);
    assert_no_duplicates(&uncapped);

    char cursor[SWEEP_ID_TEXT_SIZE];
    row_id(3, cursor);
    walk_result capped = run_walk(&table, 10, true, cursor, 4);
    const int expected[] = {4, 5, 6, 1, 2, 3};
    assert_taken(&capped, expected, 6);
    assert_no_duplicates(&capped);
}
END_TEST

START_TEST(test_producer_walk_after_wrap_stops_past_start_cursor)
{
    sweep_walk walk;
    char cursor[SWEEP_ID_TEXT_SIZE], row[SWEEP_ID_TEXT_SIZE];
    row_id(5, cursor);
    sweep_walk_begin(&walk, 100, true, cursor);
    sweep_walk_page_done(&walk, 0, 100); /* nothing after the cursor: wrap */
    ck_assert(walk.wrapped);
    ck_assert_ptr_null(sweep_walk_after(&walk));
    row_id(5, row);
    ck_assert(sweep_walk_take(&walk, row)); /* the cursor row itself is not taken yet */
    row_id(6, row);
    ck_assert(!sweep_walk_take(&walk, row)); /* taken in the first part of this sweep */
    ck_assert(walk.finished);
}
END_TEST

START_TEST(test_producer_walk_second_end_finishes)
{
    sweep_walk walk;
    char cursor[SWEEP_ID_TEXT_SIZE];
    row_id(5, cursor);
    sweep_walk_begin(&walk, 100, true, cursor);
    sweep_walk_page_done(&walk, 0, 100);
    ck_assert(!walk.finished);
    sweep_walk_page_done(&walk, 0, 100);
    ck_assert(walk.finished);
}
END_TEST

START_TEST(test_producer_walk_empty_fleet_keeps_cursor)
{
    char cursor[SWEEP_ID_TEXT_SIZE];
    row_id(7, cursor);
    sweep_walk walk;
    sweep_walk_begin(&walk, 0, true, cursor);
    ck_assert(walk.finished);
    ck_assert_int_eq(sweep_walk_page_limit(&walk, 1000), 0);
    ck_assert_str_eq(sweep_walk_cursor(&walk), cursor);

    sweep_walk_begin(&walk, 0, true, NULL);
    ck_assert_ptr_null(sweep_walk_cursor(&walk));
}
END_TEST

START_TEST(test_producer_walk_malformed_cursor_starts_at_first_row)
{
    fake_table table = table_of(4, 1, 1);
    walk_result result = run_walk(&table, 2, true, "00000000-0000", 1000);
    const int expected[] = {1, 2};
    assert_taken(&result, expected, 2);
    result = run_walk(&table, 2, true, "", 1000);
    assert_taken(&result, expected, 2);
}
END_TEST

/* The promise: with a cap, every row is checked within ceil(N/cap) sweeps, whatever
 * the starting cursor, each sweep taking each row at most once. */
START_TEST(test_producer_round_robin_covers_fleet_within_ceil_n_over_cap_sweeps)
{
    for (int rows = 1; rows <= 40; rows += 3) {
        for (int cap = 1; cap <= 13; cap += 2) {
            for (int start = -1; start <= rows; start += 7) {
                fake_table table = table_of(rows, 1, 2); /* 1, 3, 5, ... */
                char cursor[SWEEP_ID_TEXT_SIZE] = "";
                if (start >= 0) {
                    row_id(start * 2, cursor); /* between rows, or past the end */
                }
                bool seen[MAX_ROWS] = {false};
                int sweeps = (rows + cap - 1) / cap;
                for (int sweep = 0; sweep < sweeps; sweep++) {
                    walk_result result =
                        run_walk(&table, sweep_plan_size(rows, cap), true, cursor, 4);
                    ck_assert_int_eq(result.count, cap < rows ? cap : rows);
                    assert_no_duplicates(&result);
                    for (int i = 0; i < result.count; i++) {
                        for (int j = 0; j < rows; j++) {
                            if (strcmp(result.ids[i], table.ids[j]) == 0) {
                                seen[j] = true;
                            }
                        }
                    }
                    strcpy(cursor, result.cursor);
                }
                for (int j = 0; j < rows; j++) {
                    ck_assert_msg(seen[j], "rows=%d cap=%d start=%d: row %d never taken", rows, cap,
                                  start, j);
                }
            }
        }
    }
}
END_TEST

/* Issue 13 item 6: rows entering scope ahead of the walk must not push the highest ids out
 * of an uncapped sweep. The count at start (10) is the sweep_size, not a limit. */
START_TEST(test_producer_walk_uncapped_reaches_end_when_rows_enter_ahead)
{
    fake_table fleet = table_of(10, 100, 10); /* 100, 110, ..., 190: counted at start */
    fake_table entering = table_of(5, 1, 1);  /* 1..5: ids before every counted row */
    fake_table grown = table_union(&fleet, &entering);
    int64_t sweep_size = sweep_plan_size(fleet.count, 0);
    ck_assert_int_eq(sweep_size, 10);
    static const struct {
        int change_after_pages;
        int64_t page_size;
    } cases[] = {{0, 3}, {0, 1000}, {1, 3}, {2, 2}, {3, 1}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        walk_result result =
            run_walk_changing(&fleet, &grown, cases[c].change_after_pages, sweep_plan_take_limit(0),
                              false, NULL, cases[c].page_size);
        for (int n = 100; n <= 190; n += 10) {
            ck_assert_msg(took(&result, n), "case %zu: counted row %d left out", c, n);
        }
        assert_no_duplicates(&result);
    }
    /* Entering before the first page: the walk sees them all, 15 rows, more than sweep_size. */
    walk_result early =
        run_walk_changing(&fleet, &grown, 0, sweep_plan_take_limit(0), false, NULL, 4);
    ck_assert_int_eq(early.count, 15);
}
END_TEST

/* Rows inserted mid-walk between the position and the end, rows leaving scope and rows
 * re-entering it: every row in scope for the whole walk is taken exactly once, including
 * the last one. */
START_TEST(test_producer_walk_uncapped_takes_every_row_in_scope_throughout)
{
    fake_table before = table_of(12, 10, 10); /* 10..120 */
    /* After two pages of 3 (10..60 taken): 70 and 90 left scope, 65, 75 and 125 entered. */
    fake_table after = {.count = 0};
    static const int after_rows[] = {5, 10, 20, 30, 40, 50, 60, 65, 75, 80, 100, 110, 120, 125};
    for (size_t i = 0; i < sizeof after_rows / sizeof after_rows[0]; i++) {
        row_id(after_rows[i], after.ids[after.count++]);
    }
    walk_result result =
        run_walk_changing(&before, &after, 2, sweep_plan_take_limit(0), false, NULL, 3);
    const int expected[] = {10, 20, 30, 40, 50, 60, 65, 75, 80, 100, 110, 120, 125};
    assert_taken(&result, expected, 13);
}
END_TEST

/* A cap above the fleet: the wrapped part reaches the cursor row even when rows entered
 * ahead of it, so the round-robin misses no row (the cap, not the count, limits it). */
START_TEST(test_producer_walk_capped_above_fleet_reaches_cursor_when_rows_enter)
{
    fake_table fleet = table_of(6, 10, 10);  /* 10..60 */
    fake_table entering = table_of(3, 1, 1); /* 1..3 */
    fake_table grown = table_union(&fleet, &entering);
    char cursor[SWEEP_ID_TEXT_SIZE];
    row_id(40, cursor);
    walk_result result =
        run_walk_changing(&fleet, &grown, 1, sweep_plan_take_limit(100), true, cursor, 2);
    const int expected[] = {50, 60, 1, 2, 3, 10, 20, 30, 40};
    assert_taken(&result, expected, 9);
    ck_assert(result.wrapped);
}
END_TEST

/* A binding cap still takes exactly the cap, whatever enters scope. */
START_TEST(test_producer_walk_binding_cap_takes_cap_rows_when_rows_enter)
{
    fake_table fleet = table_of(10, 10, 10);
    fake_table entering = table_of(4, 1, 1);
    fake_table grown = table_union(&fleet, &entering);
    char cursor[SWEEP_ID_TEXT_SIZE];
    row_id(80, cursor);
    walk_result result =
        run_walk_changing(&fleet, &grown, 1, sweep_plan_take_limit(4), true, cursor, 1);
    const int expected[] = {90, 100, 1, 2};
    assert_taken(&result, expected, 4);
    ck_assert_int_eq(sweep_plan_take_limit(4), 4);
    ck_assert_int_eq(sweep_plan_take_limit(0), SWEEP_NO_TAKE_LIMIT);
    ck_assert_int_eq(sweep_plan_take_limit(-1), SWEEP_NO_TAKE_LIMIT);
}
END_TEST

/* An uncapped sweep that counted nothing still walks: rows that entered since the count
 * are checked now, not one interval later. */
START_TEST(test_producer_walk_uncapped_walks_after_empty_count)
{
    fake_table empty = {.count = 0};
    fake_table arrived = table_of(3, 1, 1);
    ck_assert_int_eq(sweep_plan_size(0, 0), 0);
    walk_result result =
        run_walk_changing(&empty, &arrived, 0, sweep_plan_take_limit(0), false, NULL, 1000);
    const int expected[] = {1, 2, 3};
    assert_taken(&result, expected, 3);
}
END_TEST

START_TEST(test_producer_deadline_is_enqueued_at_plus_deadline)
{
    ck_assert_int_eq(sweep_deadline_ms(1700000000000LL, 60000), 1700000060000LL);
    ck_assert_int_eq(sweep_deadline_ms(1700000000000LL, 0), 1700000000000LL);
    ck_assert_int_eq(sweep_deadline_ms(1700000000000LL, -5), 1700000000000LL);
    ck_assert_int_eq(sweep_deadline_ms(INT64_MAX - 10, 60000), INT64_MAX);
}
END_TEST

START_TEST(test_producer_message_timeout_follows_deadline_within_bounds)
{
    ck_assert_int_eq(sweep_message_timeout_ms(60000), 60000);
    ck_assert_int_eq(sweep_message_timeout_ms(1000), 5000);
    ck_assert_int_eq(sweep_message_timeout_ms(3600000), 300000);
}
END_TEST

START_TEST(test_producer_schedule_measures_interval_from_sweep_start)
{
    sweep_schedule schedule = sweep_schedule_next(10000, 12500, 60000);
    ck_assert_int_eq(schedule.next_start_ms, 70000);
    ck_assert(!schedule.overran);
}
END_TEST

START_TEST(test_producer_schedule_overrun_starts_next_at_once)
{
    sweep_schedule schedule = sweep_schedule_next(10000, 75000, 60000);
    ck_assert_int_eq(schedule.next_start_ms, 75000);
    ck_assert(schedule.overran);
    schedule = sweep_schedule_next(10000, 70000, 60000); /* exactly one interval */
    ck_assert_int_eq(schedule.next_start_ms, 70000);
    ck_assert(!schedule.overran);
}
END_TEST

START_TEST(test_producer_first_sweep_waits_rest_of_group_interval)
{
    ck_assert_int_eq(sweep_schedule_first_delay(false, 0, 60000), 0);
    ck_assert_int_eq(sweep_schedule_first_delay(true, 20000, 60000), 40000);
    ck_assert_int_eq(sweep_schedule_first_delay(true, 60000, 60000), 0);
    ck_assert_int_eq(sweep_schedule_first_delay(true, 3600000, 60000), 0);
    /* Database clock stepped back: wait one interval at most. */
    ck_assert_int_eq(sweep_schedule_first_delay(true, -99999, 60000), 60000);
}
END_TEST

START_TEST(test_producer_lock_retry_is_min_of_interval_and_5s)
{
    ck_assert_int_eq(sweep_lock_retry_ms(60000), 5000);
    ck_assert_int_eq(sweep_lock_retry_ms(1000), 1000);
    ck_assert_int_eq(sweep_lock_retry_ms(5000), 5000);
    ck_assert_int_eq(sweep_lock_retry_ms(0), 5000);
}
END_TEST

START_TEST(test_producer_sweep_results_have_stable_distinct_names_and_labels)
{
    ck_assert_str_eq(sweep_result_name(SWEEP_OK), "ok");
    ck_assert_str_eq(sweep_result_name(SWEEP_ERROR_DATABASE_UNAVAILABLE), "database_unavailable");
    ck_assert_str_eq(sweep_result_name(SWEEP_ERROR_KAFKA_DELIVERY), "kafka_delivery_failed");
    ck_assert_str_eq(sweep_result_label(SWEEP_OK), "ok");
    ck_assert_str_eq(sweep_result_label(SWEEP_ERROR_DATABASE_UNAVAILABLE), "database_error");
    ck_assert_str_eq(sweep_result_label(SWEEP_ERROR_DATABASE_QUERY), "database_error");
    ck_assert_str_eq(sweep_result_label(SWEEP_ERROR_KAFKA_PRODUCE), "kafka_error");
    ck_assert_str_eq(sweep_result_label(SWEEP_ERROR_KAFKA_DELIVERY), "kafka_error");
    ck_assert_str_eq(sweep_result_label(SWEEP_ERROR_KAFKA_FLUSH_TIMEOUT), "kafka_error");
    ck_assert_str_eq(sweep_result_label(SWEEP_INTERRUPTED), "interrupted");
    for (int i = 0; i < SWEEP_RESULT_COUNT; i++) {
        ck_assert_str_ne(sweep_result_name((sweep_result)i), "unknown");
        for (int j = i + 1; j < SWEEP_RESULT_COUNT; j++) {
            ck_assert_str_ne(sweep_result_name((sweep_result)i),
                             sweep_result_name((sweep_result)j));
        }
    }
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("producer_plan");
    TCase *walk = tcase_create("walk");
    tcase_add_test(walk, test_producer_plan_size_is_fleet_or_cap);
    tcase_add_test(walk, test_producer_walk_uncapped_takes_every_row_once_across_pages);
    tcase_add_test(walk, test_producer_walk_uncapped_ignores_cursor);
    tcase_add_test(walk, test_producer_walk_page_limit_never_exceeds_remaining);
    tcase_add_test(walk, test_producer_walk_capped_first_sweep_takes_cap_rows_from_start);
    tcase_add_test(walk, test_producer_walk_capped_continues_after_cursor);
    tcase_add_test(walk, test_producer_walk_capped_wraps_to_start_within_the_sweep);
    tcase_add_test(walk, test_producer_walk_cap_above_fleet_covers_each_row_once_from_cursor);
    tcase_add_test(walk, test_producer_walk_cursor_past_last_row_wraps_at_once);
    tcase_add_test(walk, test_producer_walk_deleted_cursor_row_continues_at_next_id);
    tcase_add_test(walk, test_producer_walk_rows_gone_mid_sweep_never_repeat_a_row);
    tcase_add_test(walk, test_producer_walk_after_wrap_stops_past_start_cursor);
    tcase_add_test(walk, test_producer_walk_second_end_finishes);
    tcase_add_test(walk, test_producer_walk_empty_fleet_keeps_cursor);
    tcase_add_test(walk, test_producer_walk_malformed_cursor_starts_at_first_row);
    tcase_add_test(walk, test_producer_round_robin_covers_fleet_within_ceil_n_over_cap_sweeps);
    tcase_add_test(walk, test_producer_walk_uncapped_reaches_end_when_rows_enter_ahead);
    tcase_add_test(walk, test_producer_walk_uncapped_takes_every_row_in_scope_throughout);
    tcase_add_test(walk, test_producer_walk_capped_above_fleet_reaches_cursor_when_rows_enter);
    tcase_add_test(walk, test_producer_walk_binding_cap_takes_cap_rows_when_rows_enter);
    tcase_add_test(walk, test_producer_walk_uncapped_walks_after_empty_count);
    suite_add_tcase(suite, walk);

    TCase *timing = tcase_create("timing");
    tcase_add_test(timing, test_producer_deadline_is_enqueued_at_plus_deadline);
    tcase_add_test(timing, test_producer_message_timeout_follows_deadline_within_bounds);
    tcase_add_test(timing, test_producer_schedule_measures_interval_from_sweep_start);
    tcase_add_test(timing, test_producer_schedule_overrun_starts_next_at_once);
    tcase_add_test(timing, test_producer_first_sweep_waits_rest_of_group_interval);
    tcase_add_test(timing, test_producer_lock_retry_is_min_of_interval_and_5s);
    tcase_add_test(timing, test_producer_sweep_results_have_stable_distinct_names_and_labels);
    suite_add_tcase(suite, timing);

    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
