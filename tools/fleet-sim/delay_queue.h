/* delay_queue.h — held requests: an indexed min-heap of deadlines and the one timer thread
 * that fires them.
 *
 * For: latency and hang faults. A delayed request is a suspended libmicrohttpd connection
 * plus one delay_entry here, never a thread: thousands can wait at once at the cost of a
 * socket and well under a kilobyte each. The timer thread also notices clients that gave up
 * (the peer closed the socket) and fires their entries early, because libmicrohttpd does not
 * watch suspended connections and a hang would otherwise hold a dead socket until its cap.
 * Not for: the reprovision schedule (reprovision.c reuses only the heap). */
#ifndef FLEET_SIM_DELAY_QUEUE_H
#define FLEET_SIM_DELAY_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t due_ms;    /* monotonic clock */
    size_t heap_index; /* position while queued, maintained by the heap */
    int watch_fd;      /* a client socket to watch for the peer going away; -1 = none */
} delay_entry;

/* --- the heap (pure, not thread-safe) --------------------------------------------------- */

typedef struct {
    delay_entry **items;
    size_t count;
    size_t capacity;
} delay_heap;

/* false on allocation failure (the heap is unchanged). */
bool delay_heap_push(delay_heap *heap, delay_entry *entry);
/* The earliest entry or NULL. */
delay_entry *delay_heap_peek(const delay_heap *heap);
delay_entry *delay_heap_pop(delay_heap *heap);
/* Removes an entry that is in the heap (by its heap_index). */
void delay_heap_remove(delay_heap *heap, delay_entry *entry);
void delay_heap_release(delay_heap *heap);

/* --- the timer ------------------------------------------------------------------------ */

typedef enum {
    DELAY_FIRED_DUE = 0,     /* the deadline passed */
    DELAY_FIRED_CLIENT_GONE, /* the watched socket was closed by the peer */
    DELAY_FIRED_SHUTDOWN,    /* the timer is stopping */
} delay_reason;

/* Called on the timer thread, without the timer's lock, once per entry; the entry is no
 * longer in the queue, and the callback owns what happens next (it resumes the connection). */
typedef void (*delay_callback)(delay_entry *entry, delay_reason reason, void *context);

typedef struct delay_timer delay_timer;

/* Starts the thread. watch_interval_ms: how often watched sockets are checked. NULL if the
 * thread could not start. */
delay_timer *delay_timer_start(delay_callback callback, void *context, int64_t watch_interval_ms);
/* Queues an entry (entry->due_ms set by the caller). false on allocation failure or when the
 * timer is stopping; the caller then handles the request itself. */
bool delay_timer_add(delay_timer *timer, delay_entry *entry);
size_t delay_timer_pending(delay_timer *timer);
/* Fires every entry still queued with DELAY_FIRED_SHUTDOWN, then stops and frees the timer. */
void delay_timer_stop(delay_timer *timer);
/* The same first half: fires all queued entries with DELAY_FIRED_SHUTDOWN and refuses new
 * ones, keeping the thread (used before the HTTP server stops). */
void delay_timer_release_all(delay_timer *timer);

/* Whether the peer closed or reset a connected socket (a non-blocking peek, no data taken). */
bool delay_socket_peer_gone(int fd);

#endif
