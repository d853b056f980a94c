/* Unit tests of reconciler-audit's partitioners: --workspace reads the one partition a key
 * hashes to, so each must place keys as the producers do (vectors from librdkafka's own unit
 * tests, rdmurmur2.c and rdfnv1a.c, which match the Java client and Sarama, and the CRC-32
 * check value). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "audit_partitioner.h"

/* With INT32_MAX partitions the partition is the hash itself (sign bit cleared, as every
 * partitioner does, modulo 2^31-1), so the hash vectors can be checked through the partitioner. */
#define WHOLE_HASH_PARTITIONS INT32_MAX

static int32_t whole_hash(uint32_t hash)
{
    return (int32_t)((hash & 0x7FFFFFFFu) % (uint32_t)WHOLE_HASH_PARTITIONS);
}

START_TEST(test_audit_consistent_hashes_with_the_standard_crc32)
{
    /* CRC-32 check value of "123456789": 0xCBF43926, taken modulo the partition count. */
    ck_assert_int_eq(audit_partition_for_key(AUDIT_PARTITIONER_CONSISTENT, "123456789", 9,
                                             WHOLE_HASH_PARTITIONS),
                     (int32_t)(0xCBF43926u % (uint32_t)WHOLE_HASH_PARTITIONS));
}
END_TEST

/* librdkafka's own unit-test keys (rdmurmur2.c, rdfnv1a.c), without the empty one. */
static const char *const hash_keys[] = {
    "kafka",
    "giberish123456789",
    "1234",
    "234",
    "34",
    "4",
    "PreAmbleWillBeRemoved,ThePrePartThatIs",
    "reAmbleWillBeRemoved,ThePrePartThatIs",
    "eAmbleWillBeRemoved,ThePrePartThatIs",
    "AmbleWillBeRemoved,ThePrePartThatIs",
};

START_TEST(test_audit_murmur2_matches_java_client_vectors)
{
    static const uint32_t expected[] = {
        0xd067cf64, 0x8f552b0c, 0x9fc97b14, 0xe7c009ca, 0x873930da,
        0x5a4b5ca1, 0x78424f1c, 0x4a62b377, 0xe0e4e09e, 0x62b8b43f,
    };
    for (size_t index = 0; index < sizeof expected / sizeof expected[0]; index++) {
        ck_assert_msg(audit_partition_for_key(AUDIT_PARTITIONER_MURMUR2, hash_keys[index],
                                              strlen(hash_keys[index]),
                                              WHOLE_HASH_PARTITIONS) == whole_hash(expected[index]),
                      "murmur2(\"%s\")", hash_keys[index]);
    }
}
END_TEST

START_TEST(test_audit_murmur2_reads_unaligned_keys_like_aligned_ones)
{
    /* The same bytes at every alignment land alike (librdkafka has two code paths). */
    char buffer[64];
    const char *key = "PreAmbleWillBeRemoved";
    int32_t reference =
        audit_partition_for_key(AUDIT_PARTITIONER_MURMUR2, key, strlen(key), WHOLE_HASH_PARTITIONS);
    for (size_t shift = 1; shift < 4; shift++) {
        memcpy(buffer + shift, key, strlen(key));
        ck_assert_int_eq(audit_partition_for_key(AUDIT_PARTITIONER_MURMUR2, buffer + shift,
                                                 strlen(key), WHOLE_HASH_PARTITIONS),
                         reference);
    }
}
END_TEST

START_TEST(test_audit_fnv1a_matches_sarama_vectors)
{
    static const uint32_t expected[] = {
        0xd33c4e1,  0x77a58295, 0x23bdd03,  0x2dea3cd2, 0x740fa83e,
        0x310ca263, 0x65cbd69c, 0x6e49c79a, 0x69eed356, 0x6abcc023,
    };
    for (size_t index = 0; index < sizeof expected / sizeof expected[0]; index++) {
        ck_assert_msg(audit_partition_for_key(AUDIT_PARTITIONER_FNV1A, hash_keys[index],
                                              strlen(hash_keys[index]),
                                              WHOLE_HASH_PARTITIONS) == whole_hash(expected[index]),
                      "fnv1a(\"%s\")", hash_keys[index]);
    }
}
END_TEST

START_TEST(test_audit_consistent_partition_is_crc32_modulo_count)
{
    const char *workspace = "8d3f5a2e-1c4b-4e8f-9a7d-2b6c0e1f3a45";
    /* zlib.crc32(workspace) = 623602492; 623602492 % 12 = 4 */
    ck_assert_int_eq(audit_partition_for_key(AUDIT_PARTITIONER_CONSISTENT_RANDOM, workspace,
                                             strlen(workspace), 12),
                     4);
    ck_assert_int_eq(
        audit_partition_for_key(AUDIT_PARTITIONER_CONSISTENT, workspace, strlen(workspace), 12), 4);
}
END_TEST

START_TEST(test_audit_murmur2_partition_clears_the_sign_bit_like_the_java_client)
{
    /* murmur2("kafka") = 0xd067cf64 has the top bit set: toPositive() gives 0x5067cf64, and
     * 0x5067cf64 % 12 = 4 (negating instead would give another partition). */
    ck_assert_int_eq(audit_partition_for_key(AUDIT_PARTITIONER_MURMUR2, "kafka", 5, 12), 4);
    ck_assert_int_eq(audit_partition_for_key(AUDIT_PARTITIONER_MURMUR2_RANDOM, "kafka", 5, 12), 4);
}
END_TEST

START_TEST(test_audit_partition_for_key_refuses_an_empty_topic_or_key)
{
    ck_assert_int_eq(audit_partition_for_key(AUDIT_PARTITIONER_CONSISTENT_RANDOM, "k", 1, 0), -1);
    /* An empty key goes to librdkafka's random partitioner, which needs a topic handle: the
     * audit cannot know where such a record went and reads every partition instead. */
    for (int partitioner = 0; partitioner < AUDIT_PARTITIONER_COUNT; partitioner++) {
        ck_assert_int_eq(audit_partition_for_key((audit_partitioner)partitioner, "", 0, 12), -1);
        ck_assert_int_eq(audit_partition_for_key((audit_partitioner)partitioner, NULL, 0, 12), -1);
    }
}
END_TEST

START_TEST(test_audit_partition_is_always_inside_the_topic)
{
    char key[32];
    for (int value = 0; value < 2000; value++) {
        snprintf(key, sizeof key, "workspace-%d", value);
        for (int partitioner = 0; partitioner < AUDIT_PARTITIONER_COUNT; partitioner++) {
            int32_t partition =
                audit_partition_for_key((audit_partitioner)partitioner, key, strlen(key), 7);
            ck_assert_int_ge(partition, 0);
            ck_assert_int_lt(partition, 7);
        }
    }
}
END_TEST

START_TEST(test_audit_partitioner_names_round_trip_and_unknown_is_refused)
{
    for (int partitioner = 0; partitioner < AUDIT_PARTITIONER_COUNT; partitioner++) {
        audit_partitioner parsed;
        ck_assert(audit_partitioner_parse(audit_partitioner_name((audit_partitioner)partitioner),
                                          &parsed));
        ck_assert_int_eq(parsed, partitioner);
    }
    audit_partitioner ignored;
    ck_assert(!audit_partitioner_parse("random", &ignored));
    ck_assert(!audit_partitioner_parse("Murmur2", &ignored));
    ck_assert(!audit_partitioner_parse(NULL, &ignored));
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("audit_partitioner");
    TCase *tcase = tcase_create("core");
    tcase_add_test(tcase, test_audit_consistent_hashes_with_the_standard_crc32);
    tcase_add_test(tcase, test_audit_murmur2_matches_java_client_vectors);
    tcase_add_test(tcase, test_audit_murmur2_reads_unaligned_keys_like_aligned_ones);
    tcase_add_test(tcase, test_audit_fnv1a_matches_sarama_vectors);
    tcase_add_test(tcase, test_audit_consistent_partition_is_crc32_modulo_count);
    tcase_add_test(tcase, test_audit_murmur2_partition_clears_the_sign_bit_like_the_java_client);
    tcase_add_test(tcase, test_audit_partition_for_key_refuses_an_empty_topic_or_key);
    tcase_add_test(tcase, test_audit_partition_is_always_inside_the_topic);
    tcase_add_test(tcase, test_audit_partitioner_names_round_trip_and_unknown_is_refused);
    suite_add_tcase(suite, tcase);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
