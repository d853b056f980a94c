/* audit_partitioner.h — which partition a producer put a key in, so that --workspace reads one
 * partition instead of scanning the topic.
 *
 * For: the keyed partitioners of librdkafka (our programs produce with its default,
 * consistent_random) and Kafka's Java client (murmur2, which librdkafka reproduces), computed
 * by librdkafka's exported partitioner functions.
 * Not for: keyless records (every random partitioner scatters those; --full-scan finds them). */
#ifndef RECONCILER_AUDIT_PARTITIONER_H
#define RECONCILER_AUDIT_PARTITIONER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Named like librdkafka's `partitioner` property values. The _random variants differ from
 * their plain twins only for a NULL or empty key, which --workspace never asks about. */
typedef enum {
    AUDIT_PARTITIONER_CONSISTENT_RANDOM = 0, /* librdkafka's default: CRC-32 of the key */
    AUDIT_PARTITIONER_CONSISTENT,
    AUDIT_PARTITIONER_MURMUR2, /* the Java client's default */
    AUDIT_PARTITIONER_MURMUR2_RANDOM,
    AUDIT_PARTITIONER_FNV1A, /* Sarama's (Go) default hash partitioner */
    AUDIT_PARTITIONER_FNV1A_RANDOM,
    AUDIT_PARTITIONER_COUNT
} audit_partitioner;

/* "consistent_random", "murmur2", ... as librdkafka spells them. false for anything else. */
bool audit_partitioner_parse(const char *name, audit_partitioner *out);
const char *audit_partitioner_name(audit_partitioner partitioner);

/* The partition a producer using `partitioner` picks for this key in a topic of
 * partition_count partitions (librdkafka's rd_kafka_msg_partitioner_* computes it); -1 when
 * partition_count < 1 or the key is empty (a random partitioner places an empty key). */
int32_t audit_partition_for_key(audit_partitioner partitioner, const void *key, size_t length,
                                int32_t partition_count);

#endif
