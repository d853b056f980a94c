/* fuzz_codec.c — libFuzzer target for the Avro decoders (common/codec.c).
 *
 * For: proving that no byte string makes codec_peek_type or any of the three decoders read
 * out of bounds, leak, hit undefined behaviour or accept something the encoder would refuse.
 * Not for: checking the wire format against the Avro spec (test_codec_fastavro.py does that).
 *
 * Each input is decoded twice per record type:
 *   1. as is, so the header checks (length, magic, fingerprint) are fuzzed too;
 *   2. behind a valid header for the type chosen by the first byte, so the fuzzer spends its
 *      time in the datum parser instead of searching for an 8-byte fingerprint.
 * Whatever a decoder accepts must survive a round trip: the encoder accepts the decoded
 * record (the header promises it refuses exactly what the decoder refuses), the result
 * decodes again, and encoding that gives the same bytes. A violation aborts, which libFuzzer
 * reports as a crash with the input saved. */
#include "codec.h"
#include "log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_HEADER_LENGTH 10

/* Aborts with a message naming the broken property; libFuzzer keeps the input. */
#define FUZZ_REQUIRE(condition)                                                                    \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            fprintf(stderr, "fuzz_codec: property failed: %s (%s:%d)\n", #condition, __FILE__,     \
                    __LINE__);                                                                     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef codec_error (*decode_function)(const void *data, size_t length, void *record);
typedef codec_error (*encode_function)(const void *record, uint8_t **out, size_t *out_length);
typedef void (*free_function)(void *record);

/* Thin adapters so one loop serves the three record types without casting function
 * pointers to incompatible types (which UBSan's -fsanitize=function would flag). */
static codec_error decode_check_request(const void *data, size_t length, void *record)
{
    return codec_decode_check_request(data, length, record);
}
static codec_error decode_verdict(const void *data, size_t length, void *record)
{
    return codec_decode_verdict(data, length, record);
}
static codec_error decode_action(const void *data, size_t length, void *record)
{
    return codec_decode_action(data, length, record);
}
static codec_error encode_check_request(const void *record, uint8_t **out, size_t *out_length)
{
    return codec_encode_check_request(record, out, out_length);
}
static codec_error encode_verdict(const void *record, uint8_t **out, size_t *out_length)
{
    return codec_encode_verdict(record, out, out_length);
}
static codec_error encode_action(const void *record, uint8_t **out, size_t *out_length)
{
    return codec_encode_action(record, out, out_length);
}
static void free_check_request(void *record)
{
    check_request_free(record);
}
static void free_verdict(void *record)
{
    verdict_free(record);
}
static void free_action(void *record)
{
    action_free(record);
}

typedef struct {
    codec_record_type type;
    size_t size;
    decode_function decode;
    encode_function encode;
    free_function release;
} record_kind;

static const record_kind record_kinds[] = {
    {CODEC_RECORD_CHECK_REQUEST, sizeof(check_request), decode_check_request, encode_check_request,
     free_check_request},
    {CODEC_RECORD_VERDICT, sizeof(verdict), decode_verdict, encode_verdict, free_verdict},
    {CODEC_RECORD_ACTION, sizeof(action), decode_action, encode_action, free_action},
};
#define RECORD_KIND_COUNT (sizeof record_kinds / sizeof record_kinds[0])

/* A decoded record's required workspace_id: non-empty by the decoder's promise. Every record
 * type has it as its first member. */
static const char *workspace_id_of(const void *record)
{
    return *(char *const *)record;
}

/* Decodes data as `kind`; when that succeeds, checks the round-trip properties. */
static void decode_and_round_trip(const record_kind *kind, const uint8_t *data, size_t length)
{
    /* Records are a few pointers and integers; 256 bytes hold any of them. */
    _Alignas(max_align_t) unsigned char record[256];
    _Alignas(max_align_t) unsigned char again[256];
    FUZZ_REQUIRE(kind->size <= sizeof record);
    memset(record, 0xA5, sizeof record); /* the decoder must not rely on a zeroed record */

    codec_error error = kind->decode(data, length, record);
    FUZZ_REQUIRE(strcmp(codec_error_name(error), "unknown_codec_error") != 0);
    if (error != CODEC_OK) {
        /* "left zeroed with nothing to free": freeing must be harmless. */
        kind->release(record);
        return;
    }
    codec_record_type peeked;
    FUZZ_REQUIRE(codec_peek_type(data, length, &peeked) == CODEC_OK && peeked == kind->type);
    FUZZ_REQUIRE(workspace_id_of(record) != NULL && workspace_id_of(record)[0] != '\0');

    uint8_t *encoded = NULL;
    size_t encoded_length = 0;
    FUZZ_REQUIRE(kind->encode(record, &encoded, &encoded_length) == CODEC_OK);
    FUZZ_REQUIRE(encoded != NULL && encoded_length >= FUZZ_HEADER_LENGTH);
    /* The header is copied verbatim; only the datum may be written more compactly (Avro
     * varints have non-minimal spellings the decoder accepts). */
    FUZZ_REQUIRE(memcmp(encoded, data, FUZZ_HEADER_LENGTH) == 0);
    FUZZ_REQUIRE(encoded_length <= length);

    memset(again, 0x5A, sizeof again);
    FUZZ_REQUIRE(kind->decode(encoded, encoded_length, again) == CODEC_OK);
    uint8_t *reencoded = NULL;
    size_t reencoded_length = 0;
    FUZZ_REQUIRE(kind->encode(again, &reencoded, &reencoded_length) == CODEC_OK);
    FUZZ_REQUIRE(reencoded_length == encoded_length &&
                 memcmp(reencoded, encoded, encoded_length) == 0);

    free(reencoded);
    free(encoded);
    kind->release(again);
    kind->release(record);
}

/* The 10-byte header of `type`: magic, then the fingerprint little-endian. */
static void write_header(codec_record_type type, uint8_t *header)
{
    uint64_t fingerprint = codec_fingerprint(type);
    header[0] = 0xC3;
    header[1] = 0x01;
    for (int index = 0; index < 8; index++) {
        header[2 + index] = (uint8_t)(fingerprint >> (8 * index));
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_init("fuzz_codec", LOG_LEVEL_ERROR);
    if (!codec_init()) {
        fprintf(stderr, "fuzz_codec: codec_init failed\n");
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* 1. The input as it would arrive from Kafka. */
    codec_record_type peeked;
    codec_error peek_error = codec_peek_type(data, size, &peeked);
    FUZZ_REQUIRE(peek_error != CODEC_OK || (unsigned)peeked < RECORD_KIND_COUNT);
    for (size_t index = 0; index < RECORD_KIND_COUNT; index++) {
        decode_and_round_trip(&record_kinds[index], data, size);
    }

    /* 2. The rest of the input behind a valid header for the type the first byte picks. An
     * exactly sized heap copy, so AddressSanitizer sees any read past its end. */
    if (size == 0) {
        return 0;
    }
    const record_kind *kind = &record_kinds[data[0] % RECORD_KIND_COUNT];
    size_t length = FUZZ_HEADER_LENGTH + size - 1;
    uint8_t *framed = malloc(length);
    if (framed == NULL) {
        return 0;
    }
    write_header(kind->type, framed);
    memcpy(framed + FUZZ_HEADER_LENGTH, data + 1, size - 1);
    decode_and_round_trip(kind, framed, length);
    free(framed);
    return 0;
}
