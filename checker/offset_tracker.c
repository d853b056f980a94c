/* offset_tracker.c — see offset_tracker.h.
 *
 * Per partition: a vector of {offset, done} in consumption (= ascending offset) order with a
 * head index. Completing looks the offset up by binary search; releasing pops done entries
 * from the head. The vector compacts (moves the live part to the front) instead of growing
 * when the head has consumed half of it, so memory stays proportional to the entries not yet
 * released, which the checker bounds by its capacity. */
#include "offset_tracker.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t offset;
    bool done;
} offset_entry;

typedef struct {
    uint64_t generation; /* 0 = not assigned */
    offset_entry *entries;
    size_t head;     /* first entry not yet released */
    size_t count;    /* entries in use, from index 0: [head, count) are pending */
    size_t capacity; /* allocated entries */
} partition_state;

struct offset_tracker {
    partition_state *partitions;
    size_t partition_capacity; /* partitions[0 .. partition_capacity) exist */
    uint64_t last_generation;
    size_t total_pending;
};

offset_tracker *offset_tracker_new(void)
{
    return calloc(1, sizeof(offset_tracker));
}

void offset_tracker_free(offset_tracker *tracker)
{
    if (tracker == NULL)
        return;
    for (size_t index = 0; index < tracker->partition_capacity; index++)
        free(tracker->partitions[index].entries);
    free(tracker->partitions);
    free(tracker);
}

static partition_state *find_partition(const offset_tracker *tracker, int32_t partition)
{
    if (partition < 0 || (size_t)partition >= tracker->partition_capacity)
        return NULL;
    partition_state *state = &tracker->partitions[partition];
    return state->generation != 0 ? state : NULL;
}

static void clear_entries(offset_tracker *tracker, partition_state *state)
{
    tracker->total_pending -= state->count - state->head;
    state->head = 0;
    state->count = 0;
}

uint64_t offset_tracker_assign(offset_tracker *tracker, int32_t partition)
{
    if (partition < 0 || partition > OFFSET_TRACKER_MAX_PARTITION)
        return 0;
    if ((size_t)partition >= tracker->partition_capacity) {
        size_t capacity = tracker->partition_capacity ? tracker->partition_capacity : 16;
        while (capacity <= (size_t)partition)
            capacity *= 2;
        partition_state *grown = realloc(tracker->partitions, capacity * sizeof *grown);
        if (grown == NULL)
            return 0;
        memset(grown + tracker->partition_capacity, 0,
               (capacity - tracker->partition_capacity) * sizeof *grown);
        tracker->partitions = grown;
        tracker->partition_capacity = capacity;
    }
    partition_state *state = &tracker->partitions[partition];
    clear_entries(tracker, state);
    state->generation = ++tracker->last_generation;
    return state->generation;
}

size_t offset_tracker_revoke(offset_tracker *tracker, int32_t partition)
{
    partition_state *state = find_partition(tracker, partition);
    if (state == NULL)
        return 0;
    size_t dropped = state->count - state->head;
    clear_entries(tracker, state);
    state->generation = 0;
    /* Free the entries: a revoked partition may never come back to this process. */
    free(state->entries);
    state->entries = NULL;
    state->capacity = 0;
    return dropped;
}

uint64_t offset_tracker_generation(const offset_tracker *tracker, int32_t partition)
{
    const partition_state *state = find_partition(tracker, partition);
    return state != NULL ? state->generation : 0;
}

offset_tracker_add_result offset_tracker_add(offset_tracker *tracker, int32_t partition,
                                             int64_t offset, uint64_t *generation)
{
    partition_state *state = find_partition(tracker, partition);
    if (state == NULL)
        return OFFSET_TRACKER_NOT_ASSIGNED;
    /* Within one generation librdkafka hands out a partition's messages in ascending order;
     * anything else would make "everything before this offset" meaningless. The last entry
     * may already be released (head == count), so compare with the last one ever added. */
    if (state->count > 0 && offset <= state->entries[state->count - 1].offset)
        return OFFSET_TRACKER_OUT_OF_ORDER;
    if (state->count == state->capacity) {
        if (state->head > 0 && state->head >= state->capacity / 2) {
            /* Compact: the released half is reused instead of growing. The last entry is
             * kept even when released, for the ordering check above. */
            size_t keep_from = state->head < state->count ? state->head : state->count - 1;
            memmove(state->entries, state->entries + keep_from,
                    (state->count - keep_from) * sizeof *state->entries);
            state->count -= keep_from;
            state->head -= keep_from;
        } else {
            size_t capacity = state->capacity ? state->capacity * 2 : 64;
            offset_entry *grown = realloc(state->entries, capacity * sizeof *grown);
            if (grown == NULL)
                return OFFSET_TRACKER_NO_MEMORY;
            state->entries = grown;
            state->capacity = capacity;
        }
    }
    state->entries[state->count].offset = offset;
    state->entries[state->count].done = false;
    state->count++;
    tracker->total_pending++;
    *generation = state->generation;
    return OFFSET_TRACKER_ADDED;
}

offset_tracker_complete_result offset_tracker_complete(offset_tracker *tracker, int32_t partition,
                                                       int64_t offset, uint64_t generation,
                                                       int64_t *store_offset)
{
    partition_state *state = find_partition(tracker, partition);
    if (state == NULL || state->generation != generation)
        return OFFSET_TRACKER_STALE;
    size_t low = state->head, high = state->count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (state->entries[middle].offset < offset)
            low = middle + 1;
        else
            high = middle;
    }
    if (low == state->count || state->entries[low].offset != offset || state->entries[low].done)
        return OFFSET_TRACKER_STALE;
    state->entries[low].done = true;
    if (low != state->head)
        return OFFSET_TRACKER_WAITING;
    while (state->head < state->count && state->entries[state->head].done) {
        state->head++;
        tracker->total_pending--;
    }
    *store_offset = state->entries[state->head - 1].offset + 1;
    return OFFSET_TRACKER_ADVANCED;
}

size_t offset_tracker_pending(const offset_tracker *tracker, int32_t partition)
{
    const partition_state *state = find_partition(tracker, partition);
    return state != NULL ? state->count - state->head : 0;
}

size_t offset_tracker_total_pending(const offset_tracker *tracker)
{
    return tracker->total_pending;
}
