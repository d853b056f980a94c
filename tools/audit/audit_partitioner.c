/* audit_partitioner.c — librdkafka's and the Java client's keyed partitioners, reproduced.
 *
 * For: audit_partition_for_key, so --workspace can go straight to the one partition that
 * holds a workspace's records. Each hash follows librdkafka's source (rdcrc32, rdmurmur2,
 * rdfnv1a) and is pinned by the same test vectors in tests/unit/test_audit_partitioner.c; a
 * drift would make --workspace read the wrong partition and silently find nothing. */
#include "audit_partitioner.h"

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

/* CRC-32 as zlib and librdkafka's rd_crc32 compute it: reflected polynomial 0xEDB88320,
 * initial value and final XOR 0xFFFFFFFF. Bitwise rather than table-driven: keys are short and
 * the audit hashes one key per run. */
uint32_t audit_crc32(const void *data, size_t length)
{
    const unsigned char *bytes = data;
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t index = 0; index < length; index++) {
        crc ^= bytes[index];
        for (int bit = 0; bit < 8; bit++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return crc ^ 0xFFFFFFFFu;
}

/* MurmurHash2 with Kafka's seed, reading the key as little-endian 32-bit words whatever the
 * host's byte order or the key's alignment (librdkafka's rd_murmur2 = the Java client's
 * Utils.murmur2). */
uint32_t audit_murmur2(const void *data, size_t length)
{
    const uint32_t seed = 0x9747b28cu;
    const uint32_t multiplier = 0x5bd1e995u;
    const int shift = 24;
    const unsigned char *bytes = data;
    uint32_t hash = seed ^ (uint32_t)length;

    while (length >= 4) {
        uint32_t word = (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8 | (uint32_t)bytes[2] << 16 |
                        (uint32_t)bytes[3] << 24;
        word *= multiplier;
        word ^= word >> shift;
        word *= multiplier;
        hash *= multiplier;
        hash ^= word;
        bytes += 4;
        length -= 4;
    }
    switch (length) {
    case 3:
        hash ^= (uint32_t)bytes[2] << 16;
        /* fall through */
    case 2:
        hash ^= (uint32_t)bytes[1] << 8;
        /* fall through */
    case 1:
        hash ^= bytes[0];
        hash *= multiplier;
        break;
    default:
        break;
    }
    hash ^= hash >> 13;
    hash *= multiplier;
    hash ^= hash >> 15;
    return hash;
}

/* FNV-1a (32-bit), then the absolute value of the result read as a signed integer, as
 * librdkafka does to match Sarama. Computed unsigned: negating INT32_MIN would overflow. */
uint32_t audit_fnv1a(const void *data, size_t length)
{
    const unsigned char *bytes = data;
    uint32_t hash = 0x811C9DC5u;
    for (size_t index = 0; index < length; index++) {
        hash ^= bytes[index];
        hash *= 0x01000193u;
    }
    if (hash & 0x80000000u) {
        hash = 0u - hash;
    }
    return hash;
}

int32_t audit_partition_for_key(audit_partitioner partitioner, const void *key, size_t length,
                                int32_t partition_count)
{
    if (partition_count < 1) {
        return -1;
    }
    uint32_t count = (uint32_t)partition_count;
    switch (partitioner) {
    case AUDIT_PARTITIONER_CONSISTENT_RANDOM:
    case AUDIT_PARTITIONER_CONSISTENT:
        return (int32_t)(audit_crc32(key, length) % count);
    case AUDIT_PARTITIONER_MURMUR2:
    case AUDIT_PARTITIONER_MURMUR2_RANDOM:
        /* The Java client's toPositive(): clear the sign bit rather than negate. */
        return (int32_t)((audit_murmur2(key, length) & 0x7FFFFFFFu) % count);
    case AUDIT_PARTITIONER_FNV1A:
    case AUDIT_PARTITIONER_FNV1A_RANDOM:
        return (int32_t)(audit_fnv1a(key, length) % count);
    case AUDIT_PARTITIONER_COUNT:
        break;
    }
    return -1;
}
