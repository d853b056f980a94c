/* delay_queue.c — the indexed min-heap of deadlines and the timer thread that fires them.
 *
 * For: holding thousands of delayed requests with one thread (see delay_queue.h).
 * Not for: deciding delays (faults.c) or resuming connections (the callback does that). */
#include "delay_queue.h"

#include "timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

/* --- heap ------------------------------------------------------------------------------ */

static void heap_place(delay_heap *heap, size_t index, delay_entry *entry)
{
    heap->items[index] = entry;
    entry->heap_index = index;
}

static void heap_sift_up(delay_heap *heap, size_t index)
{
    delay_entry *entry = heap->items[index];
    while (index > 0) {
        size_t parent = (index - 1) / 2;
        if (heap->items[parent]->due_ms <= entry->due_ms) {
            break;
        }
        heap_place(heap, index, heap->items[parent]);
        index = parent;
    }
    heap_place(heap, index, entry);
}

static void heap_sift_down(delay_heap *heap, size_t index)
{
    delay_entry *entry = heap->items[index];
    for (;;) {
        size_t child = 2 * index + 1;
        if (child >= heap->count) {
            break;
        }
        if (child + 1 < heap->count &&
            heap->items[child + 1]->due_ms < heap->items[child]->due_ms) {
            child++;
        }
        if (entry->due_ms <= heap->items[child]->due_ms) {
            break;
        }
        heap_place(heap, index, heap->items[child]);
        index = child;
    }
    heap_place(heap, index, entry);
}

bool delay_heap_push(delay_heap *heap, delay_entry *entry)
{
    if (heap->count == heap->capacity) {
        size_t capacity = heap->capacity == 0 ? 256 : heap->capacity * 2;
        delay_entry **items = realloc(heap->items, capacity * sizeof *items);
        if (items == NULL) {
            return false;
        }
        heap->items = items;
        heap->capacity = capacity;
    }
    heap->items[heap->count] = entry;
    entry->heap_index = heap->count;
    heap->count++;
    heap_sift_up(heap, heap->count - 1);
    return true;
}

delay_entry *delay_heap_peek(const delay_heap *heap)
{
    return heap->count == 0 ? NULL : heap->items[0];
}

void delay_heap_remove(delay_heap *heap, delay_entry *entry)
{
    size_t index = entry->heap_index;
    heap->count--;
    if (index != heap->count) {
        /* The last entry takes the hole and moves whichever way restores the order. */
        heap_place(heap, index, heap->items[heap->count]);
        heap_sift_down(heap, index);
        heap_sift_up(heap, heap->items[index]->heap_index);
    }
    entry->heap_index = SIZE_MAX;
}

delay_entry *delay_heap_pop(delay_heap *heap)
{
    delay_entry *first = delay_heap_peek(heap);
    if (first != NULL) {
        delay_heap_remove(heap, first);
    }
    return first;
}

void delay_heap_release(delay_heap *heap)
{
    free(heap->items);
    heap->items = NULL;
    heap->count = 0;
    heap->capacity = 0;
}

/* --- timer ----------------------------------------------------------------------------- */

typedef struct {
    delay_entry *entry;
    delay_reason reason;
} fired_entry;

struct delay_timer {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    delay_heap heap;
    delay_callback callback;
    void *context;
    int64_t watch_interval_ms;
    bool releasing; /* no new entries; everything queued fires as shutdown */
    bool stopping;  /* the thread exits */
    /* Entries taken out under the lock, fired after it is released. */
    fired_entry *batch;
    size_t batch_count;
    size_t batch_capacity;
};

bool delay_socket_peer_gone(int fd)
{
    char byte;
    ssize_t received = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (received == 0) {
        return true; /* orderly close (FIN) */
    }
    if (received < 0) {
        return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    }
    return false; /* bytes waiting: a pipelined request; the client is still there */
}

static bool batch_add(delay_timer *timer, delay_entry *entry, delay_reason reason)
{
    if (timer->batch_count == timer->batch_capacity) {
        size_t capacity = timer->batch_capacity == 0 ? 256 : timer->batch_capacity * 2;
        fired_entry *batch = realloc(timer->batch, capacity * sizeof *batch);
        if (batch == NULL) {
            return false;
        }
        timer->batch = batch;
        timer->batch_capacity = capacity;
    }
    timer->batch[timer->batch_count].entry = entry;
    timer->batch[timer->batch_count].reason = reason;
    timer->batch_count++;
    return true;
}

/* Fires the batch without the lock: a callback resumes a connection, which takes
 * libmicrohttpd's locks, and must never wait on ours while the server thread waits on it. */
static void fire_batch(delay_timer *timer)
{
    size_t count = timer->batch_count;
    timer->batch_count = 0;
    pthread_mutex_unlock(&timer->lock);
    for (size_t i = 0; i < count; i++) {
        timer->callback(timer->batch[i].entry, timer->batch[i].reason, timer->context);
    }
    pthread_mutex_lock(&timer->lock);
}

/* Moves every due (or, when releasing, every) entry into the batch. Stops early if the batch
 * cannot grow; the rest is taken on the next round. */
static void collect_due(delay_timer *timer, int64_t now_ms)
{
    delay_entry *first;
    while ((first = delay_heap_peek(&timer->heap)) != NULL &&
           (timer->releasing || first->due_ms <= now_ms)) {
        if (!batch_add(timer, first, timer->releasing ? DELAY_FIRED_SHUTDOWN : DELAY_FIRED_DUE)) {
            return;
        }
        delay_heap_pop(&timer->heap);
    }
}

static void collect_gone(delay_timer *timer)
{
    size_t index = 0;
    while (index < timer->heap.count) {
        delay_entry *entry = timer->heap.items[index];
        if (entry->watch_fd >= 0 && delay_socket_peer_gone(entry->watch_fd)) {
            if (!batch_add(timer, entry, DELAY_FIRED_CLIENT_GONE)) {
                return;
            }
            /* Removal moves another entry into this index: look at it next. */
            delay_heap_remove(&timer->heap, entry);
            continue;
        }
        index++;
    }
}

static struct timespec deadline_after(int64_t wait_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)(wait_ms / 1000);
    deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    return deadline;
}

static void *timer_main(void *argument)
{
    delay_timer *timer = argument;
    int64_t next_watch_ms = time_now_monotonic_ms() + timer->watch_interval_ms;
    pthread_mutex_lock(&timer->lock);
    while (!timer->stopping || timer->heap.count > 0) {
        int64_t now_ms = time_now_monotonic_ms();
        collect_due(timer, now_ms);
        if (now_ms >= next_watch_ms) {
            collect_gone(timer);
            next_watch_ms = now_ms + timer->watch_interval_ms;
        }
        if (timer->batch_count > 0) {
            fire_batch(timer);
            continue;
        }
        if (timer->stopping && timer->heap.count == 0) {
            break;
        }
        int64_t wait_ms = next_watch_ms - now_ms;
        const delay_entry *first = delay_heap_peek(&timer->heap);
        if (first != NULL && first->due_ms - now_ms < wait_ms) {
            wait_ms = first->due_ms - now_ms;
        }
        if (wait_ms > 0) {
            struct timespec deadline = deadline_after(wait_ms);
            pthread_cond_timedwait(&timer->wake, &timer->lock, &deadline);
        }
    }
    pthread_mutex_unlock(&timer->lock);
    return NULL;
}

delay_timer *delay_timer_start(delay_callback callback, void *context, int64_t watch_interval_ms)
{
    delay_timer *timer = calloc(1, sizeof *timer);
    if (timer == NULL) {
        return NULL;
    }
    timer->callback = callback;
    timer->context = context;
    timer->watch_interval_ms = watch_interval_ms > 0 ? watch_interval_ms : 1000;
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    /* Deadlines are monotonic: a wall-clock step must not fire or stall held requests. */
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    bool cond_ready = pthread_cond_init(&timer->wake, &attributes) == 0;
    pthread_condattr_destroy(&attributes);
    if (!cond_ready) {
        free(timer);
        return NULL;
    }
    if (pthread_mutex_init(&timer->lock, NULL) != 0) {
        pthread_cond_destroy(&timer->wake);
        free(timer);
        return NULL;
    }
    if (pthread_create(&timer->thread, NULL, timer_main, timer) != 0) {
        pthread_mutex_destroy(&timer->lock);
        pthread_cond_destroy(&timer->wake);
        free(timer);
        return NULL;
    }
    return timer;
}

bool delay_timer_add(delay_timer *timer, delay_entry *entry)
{
    pthread_mutex_lock(&timer->lock);
    bool added = false;
    if (!timer->releasing) {
        const delay_entry *first = delay_heap_peek(&timer->heap);
        added = delay_heap_push(&timer->heap, entry);
        /* Wake the thread only when the new entry is the earliest: otherwise it already
         * sleeps until something sooner. */
        if (added && (first == NULL || entry->due_ms < first->due_ms)) {
            pthread_cond_signal(&timer->wake);
        }
    }
    pthread_mutex_unlock(&timer->lock);
    return added;
}

size_t delay_timer_pending(delay_timer *timer)
{
    pthread_mutex_lock(&timer->lock);
    size_t count = timer->heap.count;
    pthread_mutex_unlock(&timer->lock);
    return count;
}

void delay_timer_release_all(delay_timer *timer)
{
    pthread_mutex_lock(&timer->lock);
    timer->releasing = true;
    pthread_cond_signal(&timer->wake);
    pthread_mutex_unlock(&timer->lock);
}

void delay_timer_stop(delay_timer *timer)
{
    if (timer == NULL) {
        return;
    }
    pthread_mutex_lock(&timer->lock);
    timer->releasing = true;
    timer->stopping = true;
    pthread_cond_signal(&timer->wake);
    pthread_mutex_unlock(&timer->lock);
    pthread_join(timer->thread, NULL);
    delay_heap_release(&timer->heap);
    free(timer->batch);
    pthread_mutex_destroy(&timer->lock);
    pthread_cond_destroy(&timer->wake);
    free(timer);
}
