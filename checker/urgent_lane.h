/* urgent_lane.h — the checker's second input: hinted CheckRequests, served first.
 *
 * For: a consumer of RECONCILER_TOPIC_URGENT_CHECKS in its own group (CHECKER_GROUP_ID +
 * "-urgent"), which the engine polls before the sweep's consumer on every turn of its loop and
 * whose requests go to the front of the start queue, ahead of any sweep backlog
 * (docs/checker.md, "The urgent lane"). Why a second consumer, not a second topic in the same
 * one: librdkafka hands out one consumer's messages in fetch order, with no priority between
 * topics, and the sweep's consumer tracks offsets per partition of one topic; a separate group
 * also keeps a hint from ever triggering a rebalance of the sweep's partitions.
 *
 * Delivery: an urgent request's offset is stored when it is taken, not when its verdict is
 * delivered: a hint lost in a crash is caught by the next sweep, exactly like a hint that never
 * arrived, and the sweep's at-least-once bookkeeping stays untouched. Not for: asking the CP or
 * deciding anything (the engine does, the same way for both lanes). */
#ifndef RECONCILER_CHECKER_URGENT_LANE_H
#define RECONCILER_CHECKER_URGENT_LANE_H

#include "checker_settings.h"
#include "metrics.h"

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>

/* Urgent requests the checker holds beyond CHECKER_CONCURRENCY: a full sweep backlog never
 * keeps a hint out, and a flood of hints stays bounded. */
#define URGENT_LANE_EXTRA_SLOTS 64

typedef struct urgent_lane urgent_lane;

/* Creates the consumer, makes librdkafka write a byte to wake_fd when a message arrives, and
 * subscribes. NULL with the reason in error_buffer (*usage_error for a refused property). */
urgent_lane *urgent_lane_new(const checker_settings *settings,
                             const config_kafka_properties *kafka_properties,
                             metrics_registry *registry, int wake_fd, char *error_buffer,
                             size_t error_size, bool *usage_error);

/* The next urgent message (its offset already stored), or NULL when none is waiting. Errors
 * are logged and skipped; a fatal one sets *fatal. */
rd_kafka_message_t *urgent_lane_poll(urgent_lane *lane, bool *fatal);

/* Leaves the group (commits the stored offsets) and destroys the consumer. NULL is harmless. */
void urgent_lane_free(urgent_lane *lane);

#endif
