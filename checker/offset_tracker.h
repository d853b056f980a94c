/* offset_tracker.h — which consumed offsets of reconciler.checks may be committed.
 *
 * For: at-least-once without loss (docs/contracts.md §5). The checker works on many requests of one
 * partition at once and they finish in any order, but Kafka commits one position per
 * partition: "everything before this offset is done". The tracker keeps, per assigned
 * partition, the offsets taken in consumption order with a done flag each, and releases a new
 * position only when the oldest outstanding offset is done — so a committed position never
 * passes an offset whose verdict (or DLQ record) has not been delivered.
 *
 * Rebalances: each assignment of a partition gets a new generation number. A work item
 * remembers the generation it was taken under; once the partition is revoked (or reassigned,
 * which starts a new generation) completions carrying the old generation are stale and
 * release nothing. That is how late completions of orphaned work never store an offset for
 * a partition this process no longer owns, or owns again from an earlier position.
 *
 * Not for: talking to Kafka (the caller stores the released positions with
 * rd_kafka_offsets_store) or thread safety (the checker uses it from its one loop thread).
 * Pure: no I/O, no clock. */
#ifndef RECONCILER_CHECKER_OFFSET_TRACKER_H
#define RECONCILER_CHECKER_OFFSET_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct offset_tracker offset_tracker;

/* Partitions numbered 0 .. OFFSET_TRACKER_MAX_PARTITION are tracked; Kafka topics in
 * practice have far fewer. */
#define OFFSET_TRACKER_MAX_PARTITION 65535

/* NULL on allocation failure. */
offset_tracker *offset_tracker_new(void);
void offset_tracker_free(offset_tracker *tracker);

/* Starts tracking a newly assigned partition and returns its generation (never 0). Assigning
 * a partition that is already assigned drops its entries and starts a new generation.
 * Returns 0 for a partition number out of range or on allocation failure. */
uint64_t offset_tracker_assign(offset_tracker *tracker, int32_t partition);

/* Forgets a revoked or lost partition: its entries are dropped, later completions of its
 * work are stale. Returns the number of entries dropped (work that the next owner redoes). */
size_t offset_tracker_revoke(offset_tracker *tracker, int32_t partition);

/* The partition's current generation, 0 when it is not assigned. */
uint64_t offset_tracker_generation(const offset_tracker *tracker, int32_t partition);

typedef enum {
    OFFSET_TRACKER_ADDED = 0,
    OFFSET_TRACKER_NOT_ASSIGNED, /* the partition is not assigned (or out of range) */
    OFFSET_TRACKER_OUT_OF_ORDER, /* not above the last offset added in this generation */
    OFFSET_TRACKER_NO_MEMORY,
} offset_tracker_add_result;

/* Records that `offset` was taken from `partition`; its position cannot be released until it
 * is completed. On OFFSET_TRACKER_ADDED, *generation is the generation to complete it with. */
offset_tracker_add_result offset_tracker_add(offset_tracker *tracker, int32_t partition,
                                             int64_t offset, uint64_t *generation);

typedef enum {
    OFFSET_TRACKER_ADVANCED = 0, /* *store_offset is the new position to store */
    OFFSET_TRACKER_WAITING,      /* done, but an older offset is still outstanding */
    OFFSET_TRACKER_STALE,        /* revoked, reassigned, never added or completed twice */
} offset_tracker_complete_result;

/* Marks `offset` of `partition` done. When that makes the oldest outstanding entries done,
 * they are released and *store_offset is set to the last released offset + 1 (Kafka's
 * "next offset to read" convention). */
offset_tracker_complete_result offset_tracker_complete(offset_tracker *tracker, int32_t partition,
                                                       int64_t offset, uint64_t generation,
                                                       int64_t *store_offset);

/* Entries not yet released (outstanding, or done behind an outstanding one) in one
 * partition / in all partitions. */
size_t offset_tracker_pending(const offset_tracker *tracker, int32_t partition);
size_t offset_tracker_total_pending(const offset_tracker *tracker);

#endif
