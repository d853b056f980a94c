/* codec_bench.c — what schema resolution costs per decoded record (docs/schemas.md).
 *
 * For: the decode cost of a Verdict written with the reader's own schema (the default, the
 * one the pipeline pays today) against one written with another version (the test-only
 * version 2 of tests/schemas/v2, one optional field more), which goes through the resolution
 * plan. Not for: the pipeline's throughput (bench/run.sh measures that).
 *
 * Usage: codec-bench SOURCE_DIR [RESULT_FILE]; prints one line per case, and writes the same
 * lines to RESULT_FILE when given. Single-threaded; run it on an idle core for stable figures. */
#include "codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_ROUNDS 5
#define BENCH_DECODES 400000

static const verdict bench_verdict = {
    .workspace_id = "553dedb2-e98e-4d1e-a767-a1c312e2dceb",
    .instance_id = "i-0123456789abcdef0",
    .sweep_id = "b8ee8756-1d3c-4e55-9a7a-0f6b1c2d3e4f",
    .sweep_size = 100000,
    .liveness = LIVENESS_NOT_RUNNING,
    .cp_state = "terminated",
    .has_http_status = true,
    .http_status = 200,
    .checked_at = 1700000000123,
    .latency_ms = 12,
    .checker_id = "checker-host-1234",
    .enqueued_at = 1700000000000,
};

static double bench_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec * 1e9 + (double)now.tv_nsec;
}

/* The best of BENCH_ROUNDS rounds: the least disturbed by the other processes on the host. */
static double bench_decode_ns(const uint8_t *bytes, size_t length)
{
    double best = 0;
    for (int round = 0; round < BENCH_ROUNDS; round++) {
        double start = bench_now_ns();
        for (int index = 0; index < BENCH_DECODES; index++) {
            verdict decoded;
            if (codec_decode_verdict(bytes, length, &decoded) != CODEC_OK) {
                fprintf(stderr, "codec-bench: decode failed\n");
                exit(1);
            }
            verdict_free(&decoded);
        }
        double per_decode = (bench_now_ns() - start) / BENCH_DECODES;
        best = round == 0 || per_decode < best ? per_decode : best;
    }
    return best;
}

/* Registry mode without the network: id 1 is our version 1, id 2 version 2 (read from the
 * v2 directory); each is fetched once and then served from the codec's cache, which is what
 * the figures measure. */
static char bench_v2_path[4200];

static char *bench_fetch(void *context, uint32_t schema_id, bool *unavailable)
{
    (void)context;
    *unavailable = false;
    if (schema_id == 1) {
        return strdup(codec_schema_json(CODEC_RECORD_VERDICT));
    }
    FILE *file = fopen(bench_v2_path, "r");
    char *text = calloc(1, 16384);
    if (file && text) {
        size_t length = fread(text, 1, 16383, file);
        text[length] = '\0';
    }
    if (file) {
        fclose(file);
    }
    return text;
}

/* The single-object record re-framed as 00 + big-endian schema id + the same datum. */
static uint8_t *bench_confluent(const uint8_t *single_object, size_t length, uint32_t schema_id,
                                size_t *out_length)
{
    uint8_t *framed = malloc(length - 5);
    if (!framed) {
        exit(1);
    }
    framed[0] = 0;
    framed[1] = (uint8_t)(schema_id >> 24);
    framed[2] = (uint8_t)(schema_id >> 16);
    framed[3] = (uint8_t)(schema_id >> 8);
    framed[4] = (uint8_t)schema_id;
    memcpy(framed + 5, single_object + 10, length - 10);
    *out_length = length - 5;
    return framed;
}

static uint8_t *bench_encode(const char *schema_dir, const char *write_versions, size_t *length)
{
    codec_options options = {schema_dir, write_versions};
    uint8_t *bytes = NULL;
    if (!codec_init_with(&options) || codec_encode_verdict(&bench_verdict, &bytes, length)) {
        fprintf(stderr, "codec-bench: encoding with %s failed\n", write_versions);
        exit(1);
    }
    codec_shutdown();
    return bytes;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: codec-bench SOURCE_DIR [RESULT_FILE]\n");
        return 2;
    }
    char schema_dir[4096];
    snprintf(schema_dir, sizeof schema_dir, "%s/tests/schemas/v2", argv[1]);
    size_t v1_length = 0;
    size_t v2_length = 0;
    uint8_t *v1 = bench_encode(schema_dir, "Verdict=1", &v1_length);
    uint8_t *v2 = bench_encode(schema_dir, "Verdict=2", &v2_length);

    /* The reader: schema version 1 built in, version 2 learned, as during an upgrade. */
    codec_options reader = {schema_dir, NULL};
    if (!codec_init_with(&reader)) {
        return 1;
    }
    double same_version = bench_decode_ns(v1, v1_length);
    double resolved = bench_decode_ns(v2, v2_length);
    snprintf(bench_v2_path, sizeof bench_v2_path, "%s/Verdict/v2.avsc", schema_dir);
    codec_set_registry(bench_fetch, NULL, NULL);
    size_t confluent_v1_length = 0;
    size_t confluent_v2_length = 0;
    uint8_t *confluent_v1 = bench_confluent(v1, v1_length, 1, &confluent_v1_length);
    uint8_t *confluent_v2 = bench_confluent(v2, v2_length, 2, &confluent_v2_length);
    double registry_same = bench_decode_ns(confluent_v1, confluent_v1_length);
    double registry_resolved = bench_decode_ns(confluent_v2, confluent_v2_length);
    codec_shutdown();
    free(confluent_v1);
    free(confluent_v2);

    char report[1024];
    snprintf(report, sizeof report,
             "codec decode, Verdict, best of %d rounds of %d decodes\n"
             "single-object, same version (v1 record, v1 reader)   %7.1f ns/decode\n"
             "single-object, resolved     (v2 record, v1 reader)   %7.1f ns/decode  (%+.1f%%)\n"
             "registry id,   same version (cached id of v1)        %7.1f ns/decode  (%+.1f%%)\n"
             "registry id,   resolved     (cached id of v2)        %7.1f ns/decode  (%+.1f%%)\n",
             BENCH_ROUNDS, BENCH_DECODES, same_version, resolved,
             100.0 * (resolved - same_version) / same_version, registry_same,
             100.0 * (registry_same - same_version) / same_version, registry_resolved,
             100.0 * (registry_resolved - same_version) / same_version);
    fputs(report, stdout);
    if (argc > 2) {
        FILE *file = fopen(argv[2], "w");
        if (!file || fputs(report, file) < 0 || fclose(file) != 0) {
            fprintf(stderr, "codec-bench: cannot write %s\n", argv[2]);
            return 1;
        }
    }
    free(v1);
    free(v2);
    return 0;
}
