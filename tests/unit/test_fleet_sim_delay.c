/* Unit tests of fleet-sim's held-request queue: the indexed heap keeps deadline order through
 * pushes and arbitrary removals, the timer fires entries in deadline order, releases them all
 * at stop, and notices a client that closed its socket. No assertion on elapsed time. */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "delay_queue.h"
#include "fleet_state.h"
#include "timeutil.h"

START_TEST(test_delay_heap_pops_in_deadline_order_after_removals)
{
    enum { COUNT = 2000 };
    delay_entry *entries = calloc(COUNT, sizeof *entries);
    delay_heap heap = {0};
    fleet_random random = fleet_random_make(11);
    for (size_t i = 0; i < COUNT; i++) {
        entries[i].due_ms = (int64_t)fleet_random_below(&random, 100000);
        ck_assert(delay_heap_push(&heap, &entries[i]));
    }
    /* Remove every third entry from wherever it sits. */
    size_t removed = 0;
    for (size_t i = 0; i < COUNT; i += 3) {
        delay_heap_remove(&heap, &entries[i]);
        removed++;
    }
    ck_assert_uint_eq(heap.count, COUNT - removed);
    int64_t previous = -1;
    size_t popped = 0;
    delay_entry *entry;
    while ((entry = delay_heap_pop(&heap)) != NULL) {
        ck_assert_int_ge(entry->due_ms, previous);
        ck_assert_uint_ne((size_t)(entry - entries) % 3, 0);
        previous = entry->due_ms;
        popped++;
    }
    ck_assert_uint_eq(popped, COUNT - removed);
    delay_heap_release(&heap);
    free(entries);
}
END_TEST

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    delay_entry *order[16];
    delay_reason reasons[16];
    size_t count;
} fired_log;

static void record_fired(delay_entry *entry, delay_reason reason, void *context)
{
    fired_log *log = context;
    pthread_mutex_lock(&log->lock);
    if (log->count < 16) {
        log->order[log->count] = entry;
        log->reasons[log->count] = reason;
        log->count++;
    }
    pthread_cond_broadcast(&log->changed);
    pthread_mutex_unlock(&log->lock);
}

static void wait_for_fired(fired_log *log, size_t count)
{
    pthread_mutex_lock(&log->lock);
    while (log->count < count) {
        pthread_cond_wait(&log->changed, &log->lock);
    }
    pthread_mutex_unlock(&log->lock);
}

START_TEST(test_delay_timer_fires_in_deadline_order)
{
    fired_log log = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};
    delay_timer *timer = delay_timer_start(record_fired, &log, 1000);
    ck_assert_ptr_nonnull(timer);
    delay_entry entries[3];
    memset(entries, 0, sizeof entries);
    int64_t now = time_now_monotonic_ms();
    /* Added out of order; fired in deadline order. */
    entries[0].due_ms = now + 60;
    entries[1].due_ms = now + 20;
    entries[2].due_ms = now + 40;
    for (int i = 0; i < 3; i++) {
        entries[i].watch_fd = -1;
        ck_assert(delay_timer_add(timer, &entries[i]));
    }
    wait_for_fired(&log, 3);
    ck_assert_ptr_eq(log.order[0], &entries[1]);
    ck_assert_ptr_eq(log.order[1], &entries[2]);
    ck_assert_ptr_eq(log.order[2], &entries[0]);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(log.reasons[i], DELAY_FIRED_DUE);
        ck_assert_int_ge(time_now_monotonic_ms(), log.order[i]->due_ms);
    }
    delay_timer_stop(timer);
}
END_TEST

START_TEST(test_delay_timer_releases_everything_at_stop)
{
    fired_log log = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};
    delay_timer *timer = delay_timer_start(record_fired, &log, 1000);
    delay_entry entries[4];
    memset(entries, 0, sizeof entries);
    for (int i = 0; i < 4; i++) {
        entries[i].due_ms = time_now_monotonic_ms() + 3600 * 1000;
        entries[i].watch_fd = -1;
        ck_assert(delay_timer_add(timer, &entries[i]));
    }
    ck_assert_uint_eq(delay_timer_pending(timer), 4);
    delay_timer_release_all(timer);
    wait_for_fired(&log, 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(log.reasons[i], DELAY_FIRED_SHUTDOWN);
    }
    /* Once releasing, new entries are refused: the caller answers them itself. */
    delay_entry late = {.due_ms = 0, .watch_fd = -1};
    ck_assert(!delay_timer_add(timer, &late));
    delay_timer_stop(timer);
}
END_TEST

START_TEST(test_delay_timer_notices_a_client_that_left)
{
    int sockets[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sockets), 0);
    ck_assert(!delay_socket_peer_gone(sockets[0]));
    fired_log log = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};
    delay_timer *timer = delay_timer_start(record_fired, &log, 20);
    delay_entry held = {.due_ms = time_now_monotonic_ms() + 3600 * 1000, .watch_fd = sockets[0]};
    ck_assert(delay_timer_add(timer, &held));
    close(sockets[1]); /* the client gives up */
    wait_for_fired(&log, 1);
    ck_assert_ptr_eq(log.order[0], &held);
    ck_assert_int_eq(log.reasons[0], DELAY_FIRED_CLIENT_GONE);
    ck_assert_uint_eq(delay_timer_pending(timer), 0);
    delay_timer_stop(timer);
    close(sockets[0]);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("fleet_sim_delay");
    TCase *heap = tcase_create("heap");
    tcase_add_test(heap, test_delay_heap_pops_in_deadline_order_after_removals);
    suite_add_tcase(suite, heap);
    TCase *timer = tcase_create("timer");
    tcase_add_test(timer, test_delay_timer_fires_in_deadline_order);
    tcase_add_test(timer, test_delay_timer_releases_everything_at_stop);
    tcase_add_test(timer, test_delay_timer_notices_a_client_that_left);
    suite_add_tcase(suite, timer);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
