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
    codec_shutdown();

    char report[512];
    snprintf(report, sizeof report,
             "codec decode, Verdict, best of %d rounds of %d decodes\n"
             "same version (v1 record, v1 reader)   %7.1f ns/decode\n"
             "resolved     (v2 record, v1 reader)   %7.1f ns/decode  (%+.1f%%)\n",
             BENCH_ROUNDS, BENCH_DECODES, same_version, resolved,
             100.0 * (resolved - same_version) / same_version);
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
