/* audit_partitioner.c — the partition a producer put a key in, computed by librdkafka itself.
 *
 * For: audit_partition_for_key, so --workspace can go straight to the one partition that
 * holds a workspace's records. The functions are the ones librdkafka exports and our producers
 * run, so the audit cannot drift from them; tests/unit/test_audit_partitioner.c pins them to
 * the Java client's and Sarama's vectors, since a mismatch would make --workspace read the
 * wrong partition and silently find nothing. */
#include "audit_partitioner.h"

#include <librdkafka/rdkafka.h>
#include <string.h>

static const char *const audit_partitioner_names[] = {
    "consistent_random", "consistent", "murmur2", "murmur2_random", "fnv1a", "fnv1a_random",
};

_Static_assert(sizeof audit_partitioner_names / sizeof audit_partitioner_names[0] ==
                   AUDIT_PARTITIONER_COUNT,
               "one name per partitioner");

bool audit_partitioner_parse(const char *name, audit_partitioner *out)
{
    if (name == NULL) {
        return false;
    }
    for (size_t index = 0; index < AUDIT_PARTITIONER_COUNT; index++) {
        if (strcmp(name, audit_partitioner_names[index]) == 0) {
            *out = (audit_partitioner)index;
            return true;
        }
    }
    return false;
}

const char *audit_partitioner_name(audit_partitioner partitioner)
{
    if ((unsigned)partitioner >= AUDIT_PARTITIONER_COUNT) {
        return "invalid";
    }
    return audit_partitioner_names[partitioner];
}

/* librdkafka's own partitioners, in the enum's order. Called with no topic handle: the hash
 * ones never look at it, and only a key of length 0 (consistent_random) or a NULL key (the
 * other _random ones) would reach the random partitioner, which does. */
typedef int32_t (*librdkafka_partitioner)(const rd_kafka_topic_t *topic, const void *key,
                                          size_t length, int32_t partition_count,
                                          void *topic_opaque, void *message_opaque);

static const librdkafka_partitioner audit_partitioner_functions[] = {
    rd_kafka_msg_partitioner_consistent_random,
    rd_kafka_msg_partitioner_consistent,
    rd_kafka_msg_partitioner_murmur2,
    rd_kafka_msg_partitioner_murmur2_random,
    rd_kafka_msg_partitioner_fnv1a,
    rd_kafka_msg_partitioner_fnv1a_random,
};

_Static_assert(sizeof audit_partitioner_functions / sizeof audit_partitioner_functions[0] ==
                   AUDIT_PARTITIONER_COUNT,
               "one librdkafka function per partitioner");

int32_t audit_partition_for_key(audit_partitioner partitioner, const void *key, size_t length,
                                int32_t partition_count)
{
    if (partition_count < 1 || key == NULL || length == 0 ||
        (unsigned)partitioner >= AUDIT_PARTITIONER_COUNT) {
        return -1;
    }
    return audit_partitioner_functions[partitioner](NULL, key, length, partition_count, NULL, NULL);
}
