/* kafka_lag.h — how far a group consumer is behind on the partitions it owns.
 *
 * For: the consumer-lag gauges of the checker and the actuator. Uses librdkafka's cached
 * watermarks (updated by fetch responses), so it costs no broker round trip and never blocks
 * the loop that calls it. Not for: exact figures on a paused partition, which is not fetched:
 * its high watermark stays where the last fetch left it (the programs export whether they are
 * paused separately). */
#ifndef RECONCILER_KAFKA_LAG_H
#define RECONCILER_KAFKA_LAG_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

/* Sum over the assigned partitions of (high watermark - position); a partition not fetched
 * yet counts from its low watermark, one without a known watermark counts 0. false (and
 * *lag untouched) when librdkafka cannot list the assignment or positions. */
bool kafka_consumer_lag(rd_kafka_t *consumer, int64_t *lag);

#endif
