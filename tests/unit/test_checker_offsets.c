/* test_checker_offsets.c — the offset tracker: a committed position never passes an offset
 * whose output is not delivered, whatever order work finishes in, and revoked or reassigned
 * partitions never release positions for work of an earlier assignment. */
#include "offset_tracker.h"

#include <check.h>
#include <stdlib.h>

static offset_tracker *tracker;

static void set_up(void)
{
    tracker = offset_tracker_new();
    ck_assert_ptr_nonnull(tracker);
}

static void tear_down(void)
{
    offset_tracker_free(tracker);
    tracker = NULL;
}

static uint64_t add(int32_t partition, int64_t offset)
{
    uint64_t generation = 0;
    ck_assert_int_eq(offset_tracker_add(tracker, partition, offset, &generation),
                     OFFSET_TRACKER_ADDED);
    ck_assert_uint_ne(generation, 0);
    return generation;
}

START_TEST(test_checker_offsets_in_order_completion_stores_each_next_offset)
{
    uint64_t generation = offset_tracker_assign(tracker, 0);
    ck_assert_uint_ne(generation, 0);
    for (int64_t offset = 100; offset < 105; offset++)
        add(0, offset);
    for (int64_t offset = 100; offset < 105; offset++) {
        int64_t store = -1;
        ck_assert_int_eq(offset_tracker_complete(tracker, 0, offset, generation, &store),
                         OFFSET_TRACKER_ADVANCED);
        ck_assert_int_eq(store, offset + 1);
    }
    ck_assert_uint_eq(offset_tracker_pending(tracker, 0), 0);
}
END_TEST

START_TEST(test_checker_offsets_out_of_order_completion_stores_only_contiguous)
{
    uint64_t generation = offset_tracker_assign(tracker, 3);
    add(3, 10);
    add(3, 11);
    add(3, 12);
    add(3, 13);
    int64_t store = -1;
    ck_assert_int_eq(offset_tracker_complete(tracker, 3, 12, generation, &store),
                     OFFSET_TRACKER_WAITING);
    ck_assert_int_eq(offset_tracker_complete(tracker, 3, 11, generation, &store),
                     OFFSET_TRACKER_WAITING);
    ck_assert_int_eq(store, -1); /* nothing released while 10 is outstanding */
    ck_assert_uint_eq(offset_tracker_pending(tracker, 3), 4);
    ck_assert_int_eq(offset_tracker_complete(tracker, 3, 10, generation, &store),
                     OFFSET_TRACKER_ADVANCED);
    ck_assert_int_eq(store, 13); /* 10, 11, 12 done: the next to read is 13 */
    ck_assert_uint_eq(offset_tracker_pending(tracker, 3), 1);
    ck_assert_int_eq(offset_tracker_complete(tracker, 3, 13, generation, &store),
                     OFFSET_TRACKER_ADVANCED);
    ck_assert_int_eq(store, 14);
}
END_TEST

START_TEST(test_checker_offsets_gaps_between_offsets_are_not_waited_for)
{
    /* Compacted topics and transaction markers leave gaps: contiguity is in consumption
     * order, not in offset arithmetic. */
    uint64_t generation = offset_tracker_assign(tracker, 0);
    add(0, 5);
    add(0, 9);
    add(0, 20);
    int64_t store = -1;
    ck_assert_int_eq(offset_tracker_complete(tracker, 0, 5, generation, &store),
                     OFFSET_TRACKER_ADVANCED);
    ck_assert_int_eq(store, 6);
    ck_assert_int_eq(offset_tracker_complete(tracker, 0, 20, generation, &store),
                     OFFSET_TRACKER_WAITING);
    ck_assert_int_eq(offset_tracker_complete(tracker, 0, 9, generation, &store),
                     OFFSET_TRACKER_ADVANCED);
    ck_assert_int_eq(store, 21);
}
END_TEST

START_TEST(test_checker_offsets_revoked_partition_completions_are_stale)
{
    uint64_t generation = offset_tracker_assign(tracker, 1);
    add(1, 0);
    add(1, 1);
    ck_assert_uint_eq(offset_tracker_revoke(tracker, 1), 2);
    ck_assert_uint_eq(offset_tracker_generation(tracker, 1), 0);
    int64_t store = -1;
    ck_assert_int_eq(offset_tracker_complete(tracker, 1, 0, generation, &store),
                     OFFSET_TRACKER_STALE);
    ck_assert_int_eq(store, -1);
    uint64_t ignored;
    ck_assert_int_eq(offset_tracker_add(tracker, 1, 2, &ignored), OFFSET_TRACKER_NOT_ASSIGNED);
    ck_assert_uint_eq(offset_tracker_total_pending(tracker), 0);
}
END_TEST

START_TEST(test_checker_offsets_reassigned_partition_ignores_old_generation)
{
    /* Revoked and assigned back: the consumer restarts at the committed offset, so the same
     * offsets come again under a new generation; completions of the old work must not store
     * anything for the new assignment. */
    uint64_t old_generation = offset_tracker_assign(tracker, 2);
    add(2, 50);
    add(2, 51);
    offset_tracker_revoke(tracker, 2);
    uint64_t new_generation = offset_tracker_assign(tracker, 2);
    ck_assert_uint_ne(new_generation, old_generation);
    add(2, 50);
    int64_t store = -1;
    ck_assert_int_eq(offset_tracker_complete(tracker, 2, 50, old_generation, &store),
                     OFFSET_TRACKER_STALE);
    ck_assert_int_eq(offset_tracker_complete(tracker, 2, 50, new_generation, &store),
                     OFFSET_TRACKER_ADVANCED);
    ck_assert_int_eq(store, 51);
}
END_TEST

START_TEST(test_checker_offsets_assign_twice_starts_a_new_generation)
{
    uint64_t first = offset_tracker_assign(tracker, 0);
    add(0, 7);
    uint64_t second = offset_tracker_assign(tracker, 0);
    ck_assert_uint_ne(first, second);
    ck_assert_uint_eq(offset_tracker_pending(tracker, 0), 0);
    int64_t store;
    ck_assert_int_eq(offset_tracker_complete(tracker, 0, 7, first, &store), OFFSET_TRACKER_STALE);
}
END_TEST

START_TEST(test_checker_offsets_unassigned_partition_is_refused)
{
    uint64_t generation;
    ck_assert_int_eq(offset_tracker_add(tracker, 0, 0, &generation), OFFSET_TRACKER_NOT_ASSIGNED);
    ck_assert_int_eq(offset_tracker_add(tracker, -1, 0, &generation), OFFSET_TRACKER_NOT_ASSIGNED);
    ck_assert_uint_eq(offset_tracker_assign(tracker, -1), 0);
    ck_assert_uint_eq(offset_tracker_assign(tracker, OFFSET_TRACKER_MAX_PARTITION + 1), 0);
    ck_assert_uint_eq(offset_tracker_revoke(tracker, 5), 0);
}
END_TEST

START_TEST(test_checker_offsets_non_increasing_offset_is_refused)
{
    uint64_t generation = offset_tracker_assign(tracker, 0);
    add(0, 10);
    uint64_t ignored;
    ck_assert_int_eq(offset_tracker_add(tracker, 0, 10, &ignored), OFFSET_TRACKER_OUT_OF_ORDER);
    ck_assert_int_eq(offset_tracker_add(tracker, 0, 9, &ignored), OFFSET_TRACKER_OUT_OF_ORDER);
    int64_t store;
    ck_assert_int_eq(offset_tracker_complete(tracker, 0, 10, generation, &store),
                     OFFSET_TRACKER_ADVANCED);
    /* Also after the entry has been released. */
    ck_assert_int_eq(offset_tracker_add(tracker, 0, 10, &ignored), OFFSET_TRACKER_OUT_OF_ORDER);
    add(0, 11);
}
END_TEST

START_TEST(test_checker_offsets_double_completion_is_stale)
{
    uint64_t generation = offset_tracker_assign(tracker, 0);
    add(0, 1);
    add(0, 2);
    int64_t store;
    ck_assert_int_eq(offset_tracker_complete(tracker, 0, 2, generation, &store),
                     OFFSET_TRACKER_WAITING);
    ck_assert_int_eq(offset_tracker_complete(tracker, 0, 2, generation, &store),
                     OFFSET_TRACKER_STALE);
    ck_assert_int_eq(offset_tracker_complete(tracker, 0, 1, generation, &store),
                     OFFSET_TRACKER_ADVANCED);
    ck_assert_int_eq(offset_tracker_complete(tracker, 0, 1, generation, &store),
                     OFFSET_TRACKER_STALE);
    ck_assert_int_eq(offset_tracker_complete(tracker, 0, 99, generation, &store),
                     OFFSET_TRACKER_STALE);
}
END_TEST

START_TEST(test_checker_offsets_partitions_are_independent)
{
    uint64_t generation_a = offset_tracker_assign(tracker, 0);
    uint64_t generation_b = offset_tracker_assign(tracker, 40);
    add(0, 1);
    add(40, 1);
    add(0, 2);
    int64_t store;
    ck_assert_int_eq(offset_tracker_complete(tracker, 40, 1, generation_b, &store),
                     OFFSET_TRACKER_ADVANCED);
    ck_assert_int_eq(store, 2);
    ck_assert_int_eq(offset_tracker_complete(tracker, 0, 2, generation_a, &store),
                     OFFSET_TRACKER_WAITING);
    ck_assert_uint_eq(offset_tracker_total_pending(tracker), 2);
    offset_tracker_revoke(tracker, 40);
    ck_assert_uint_eq(offset_tracker_total_pending(tracker), 2);
    ck_assert_int_eq(offset_tracker_complete(tracker, 0, 1, generation_a, &store),
                     OFFSET_TRACKER_ADVANCED);
    ck_assert_int_eq(store, 3);
    ck_assert_uint_eq(offset_tracker_total_pending(tracker), 0);
}
END_TEST

START_TEST(test_checker_offsets_random_completion_order_never_passes_an_outstanding_offset)
{
    /* 100 000 offsets completed in a pseudo-random order, 64 outstanding at a time (as with
     * CHECKER_CONCURRENCY 64): every released position must be at or below the lowest
     * outstanding offset, and the last one must be the end. Exercises compaction too. */
    enum { TOTAL = 100000, WINDOW = 64 };
    uint64_t generation = offset_tracker_assign(tracker, 0);
    int64_t outstanding[WINDOW];
    size_t outstanding_count = 0;
    int64_t next = 0;
    int64_t last_store = 0;
    uint32_t random_state = 12345;
    while (next < TOTAL || outstanding_count > 0) {
        while (next < TOTAL && outstanding_count < WINDOW) {
            add(0, next);
            outstanding[outstanding_count++] = next++;
        }
        random_state = random_state * 1103515245u + 12345u;
        size_t pick = (random_state >> 16) % outstanding_count;
        int64_t offset = outstanding[pick];
        outstanding[pick] = outstanding[--outstanding_count];
        int64_t store = -1;
        offset_tracker_complete_result result =
            offset_tracker_complete(tracker, 0, offset, generation, &store);
        ck_assert_int_ne(result, OFFSET_TRACKER_STALE);
        if (result == OFFSET_TRACKER_ADVANCED) {
            ck_assert_int_gt(store, last_store);
            for (size_t index = 0; index < outstanding_count; index++)
                ck_assert_int_le(store, outstanding[index]);
            last_store = store;
        }
    }
    ck_assert_int_eq(last_store, TOTAL);
    ck_assert_uint_eq(offset_tracker_pending(tracker, 0), 0);
}
END_TEST

int main(void)
{
    const TTest *tests[] = {
        test_checker_offsets_in_order_completion_stores_each_next_offset,
        test_checker_offsets_out_of_order_completion_stores_only_contiguous,
        test_checker_offsets_gaps_between_offsets_are_not_waited_for,
        test_checker_offsets_revoked_partition_completions_are_stale,
        test_checker_offsets_reassigned_partition_ignores_old_generation,
        test_checker_offsets_assign_twice_starts_a_new_generation,
        test_checker_offsets_unassigned_partition_is_refused,
        test_checker_offsets_non_increasing_offset_is_refused,
        test_checker_offsets_double_completion_is_stale,
        test_checker_offsets_partitions_are_independent,
        test_checker_offsets_random_completion_order_never_passes_an_outstanding_offset,
    };
    Suite *suite = suite_create("checker_offsets");
    TCase *cases = tcase_create("core");
    tcase_add_checked_fixture(cases, set_up, tear_down);
    for (size_t index = 0; index < sizeof tests / sizeof tests[0]; index++)
        tcase_add_test(cases, tests[index]);
    suite_add_tcase(suite, cases);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
