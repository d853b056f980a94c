/* codec.h — Avro single-object encoding of CheckRequest, Verdict and Action.
 *
 * Wire format (Avro spec 1.8+, docs/contracts.md §6): 0xC3 0x01, then the 8-byte little-endian
 * CRC-64-AVRO fingerprint of the writer schema's Parsing Canonical Form, then the Avro binary
 * datum. The schemas come from the .avsc files in schemas/, embedded at build time; fingerprints
 * are computed from them at start-up (codec_init), never pasted in.
 *
 * Decoding is strict and never trusts the input: every rejection has a name
 * (codec_error_name) that goes to logs, metrics and DLQ headers. A decoded record owns its
 * strings; free it with the matching _free function (also safe after a failed decode). */
#ifndef RECONCILER_CODEC_H
#define RECONCILER_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    CODEC_OK = 0,
    CODEC_ERROR_TOO_SHORT,           /* fewer than 10 bytes: no room for the header */
    CODEC_ERROR_BAD_MAGIC,           /* does not start with C3 01 */
    CODEC_ERROR_UNKNOWN_FINGERPRINT, /* not one of our schemas (or another record type's) */
    CODEC_ERROR_TRUNCATED,           /* datum ends before the record does (incl. a string
                                      * whose length is fine but runs past the input) */
    CODEC_ERROR_TRAILING_BYTES,      /* bytes left after the record */
    CODEC_ERROR_BAD_VARINT,          /* varint longer than 10 bytes or overflowing */
    CODEC_ERROR_NEGATIVE_LENGTH,     /* string length below zero */
    CODEC_ERROR_OVERSIZED_LENGTH,    /* string longer than CODEC_MAX_STRING */
    CODEC_ERROR_BAD_ENUM_INDEX,      /* enum index outside the symbols */
    CODEC_ERROR_BAD_UNION_INDEX,     /* union branch index outside the union */
    CODEC_ERROR_INVALID_UTF8,        /* a string is not valid UTF-8 */
    CODEC_ERROR_BAD_VALUE,           /* out-of-range int, boolean byte not 0/1, empty
                                      * workspace_id, a NUL inside a string ... */
    CODEC_ERROR_SCHEMA_UNAVAILABLE,  /* Confluent framing, and the schema registry could not
                                      * say what the schema id is (yet): not the record's
                                      * fault, so never a reason to dead-letter it */
    CODEC_ERROR_INTERNAL,            /* allocation failure, NULL argument, or codec_init
                                      * not called */
} codec_error;

/* Stable snake_case names: "bad_magic", "unknown_fingerprint", ... */
const char *codec_error_name(codec_error error);

/* Longest string a decoder accepts (ids, reasons); longer is CODEC_ERROR_OVERSIZED_LENGTH. */
#define CODEC_MAX_STRING (16 * 1024)

typedef enum { LIVENESS_UNKNOWN = 0, LIVENESS_RUNNING = 1, LIVENESS_NOT_RUNNING = 2 } liveness;
/* "UNKNOWN", "RUNNING", "NOT_RUNNING"; "INVALID" for a value outside the enum. */
const char *liveness_name(liveness value);

/* Same order as the ActionOutcome symbols in schemas/action.avsc. */
typedef enum {
    ACTION_OUTCOME_UNSPECIFIED = 0,
    ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED,
    ACTION_OUTCOME_RESTART_ACCEPTED,
    ACTION_OUTCOME_RESTART_RETRIED,
    ACTION_OUTCOME_RESTART_FAILED,
    ACTION_OUTCOME_SKIPPED_STALE,
    ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED,
    ACTION_OUTCOME_SKIPPED_NOT_ONLINE,
    ACTION_OUTCOME_SKIPPED_OUT_OF_SCOPE,
    ACTION_OUTCOME_SKIPPED_ROW_MISSING,
    ACTION_OUTCOME_SKIPPED_BREAKER_OPEN,
    ACTION_OUTCOME_SKIPPED_DRY_RUN,
    ACTION_OUTCOME_SKIPPED_STATUS_CHANGED, /* a queued restart's workspace changed status */
    ACTION_OUTCOME_COUNT
} action_outcome;
const char *action_outcome_name(action_outcome value); /* the Avro symbol, or "INVALID" */
bool action_outcome_parse(const char *symbol, action_outcome *out);

typedef struct {
    char *workspace_id;
    char *instance_id;
    char *sweep_id;
    int64_t sweep_size;
    int64_t enqueued_at; /* ms since epoch */
    int64_t deadline;    /* ms since epoch */
    char *producer_id;
} check_request;

typedef struct {
    char *workspace_id;
    char *instance_id;
    char *sweep_id;
    int64_t sweep_size;
    liveness liveness;
    char *cp_state; /* NULL = null */
    bool has_http_status;
    int32_t http_status;
    char *reason; /* NULL = null */
    int64_t checked_at;
    int64_t latency_ms;
    char *checker_id;
    int64_t enqueued_at;
} verdict;

typedef struct {
    char *workspace_id;
    char *instance_id;
    char *verdict_topic;
    int32_t verdict_partition;
    int64_t verdict_offset;
    action_outcome outcome;
    char *reason; /* NULL = null */
    int64_t acted_at;
    bool dry_run;
    char *sweep_id;
    int64_t verdict_checked_at;
    int32_t attempt;
    char *actuator_id;
} action;

typedef enum {
    CODEC_RECORD_CHECK_REQUEST,
    CODEC_RECORD_VERDICT,
    CODEC_RECORD_ACTION
} codec_record_type;

/* Parses the embedded schemas and computes their fingerprints. Call once before anything
 * else (idempotent, not thread-safe on first call). false, with an error line logged, if a
 * schema does not parse or does not match the field layout the codec encodes (see
 * codec_schema_matches_layout). */
bool codec_init(void);
void codec_shutdown(void);

/* Schema versions (docs/schemas.md). Every version in schemas/history/ is embedded and read;
 * the structs follow schemas/<name>.avsc (the reader schema), and records of any other known
 * version are decoded by Avro schema resolution. */
typedef struct {
    /* SCHEMA_DIR: more versions to read, <dir>/<RecordName>/v<N>.avsc (the layout of
     * schemas/history/); NULL or "" = none. How a running release learns a version published
     * after it was built, before any writer uses it. */
    const char *schema_dir;
    /* SCHEMA_WRITE_VERSIONS: "Verdict=2,CheckRequest=1"; a record type not named is written
     * with codec_select_write_version's default. NULL or "" = all of them. */
    const char *write_versions;
} codec_options;
/* codec_init with options; false, with an error line logged, on a schema that does not
 * resolve against the structs, a version conflict, or a write version this process cannot
 * write. codec_init() is codec_init_with(NULL). */
bool codec_init_with(const codec_options *options);
/* The version number the encoder of `type` writes; 0 before codec_init. */
int codec_write_version(codec_record_type type);

/* Why a record type is written with the version it is (docs/schemas.md, "Upgrade order"). */
typedef enum {
    CODEC_WRITE_DEFAULT_FIRST_VERSION, /* no version before the built-in one is known */
    CODEC_WRITE_DEFAULT_PREVIOUS,      /* built-in N, N-1 known: what the previous release reads */
    CODEC_WRITE_EXPLICIT,              /* SCHEMA_WRITE_VERSIONS named a known version */
    CODEC_WRITE_UNKNOWN_VERSION,       /* error: SCHEMA_WRITE_VERSIONS named a version not known */
} codec_write_choice;
/* Which version to write, stored in *chosen (left alone on CODEC_WRITE_UNKNOWN_VERSION).
 * Pure. `known`: every version number of the record type this process reads; `built_in`: the
 * reader schema's (the structs'); `explicit_version`: SCHEMA_WRITE_VERSIONS's, 0 = not named.
 * By default a build writes the newest version the PREVIOUS release could already read
 * (N-1), so a release can reach writers before readers: writing N takes an explicit setting,
 * made once every reader runs a release that knows N. */
codec_write_choice codec_select_write_version(const int *known, size_t known_count, int built_in,
                                              int explicit_version, int *chosen);
/* "default-first-version", "default-previous", "explicit", "unknown-version". */
const char *codec_write_choice_name(codec_write_choice choice);
/* "Verdict", "CheckRequest", "Action": the name SCHEMA_WRITE_VERSIONS and schemas/history/ use;
 * NULL for a type that is none of them. */
const char *codec_record_name(codec_record_type type);
/* Why codec_init chose codec_write_version(type); CODEC_WRITE_UNKNOWN_VERSION before. */
codec_write_choice codec_write_reason(codec_record_type type);
/* The schema version a record's header names; 0 if none this process knows. */
int codec_peek_version(const void *data, size_t length);

/* Schema registry mode (docs/schemas.md, "Schema registry"). Decoders always accept both
 * framings: single-object (C3 01 + fingerprint) and Confluent (00 + 4-byte big-endian schema
 * id). An id not seen before is looked up once through the fetcher and cached; an id whose
 * schema resolves is decoded like any known version.
 *
 * The fetcher returns the writer schema's JSON (malloc'd), or NULL: with *unavailable true
 * when the registry could not answer (the decode fails with CODEC_ERROR_SCHEMA_UNAVAILABLE
 * and nothing is cached), false when it answered that the id does not exist. It may block
 * (retrying) and is called from any decoding thread. Set once after codec_init; release (may
 * be NULL) is called with context by codec_shutdown. */
typedef char *(*codec_schema_fetcher)(void *context, uint32_t schema_id, bool *unavailable);
void codec_set_registry(codec_schema_fetcher fetch, void *context, void (*release)(void *));
/* From now on the encoder of `type` writes the Confluent framing with this schema id (the
 * registry's id of codec_write_schema_json(type)). Call before any thread encodes. */
void codec_set_confluent_id(codec_record_type type, uint32_t schema_id);
/* The text of the schema version the encoder of `type` writes. */
const char *codec_write_schema_json(codec_record_type type);

uint64_t codec_fingerprint(codec_record_type type);    /* CRC-64-AVRO of the PCF */
const char *codec_schema_json(codec_record_type type); /* the embedded .avsc text */
/* The Parsing Canonical Form, malloc'd; NULL on failure. Exposed for tests. */
char *codec_parsing_canonical_form(const char *schema_json);
uint64_t codec_crc64_avro(const void *data, size_t length);
/* Does schema_json describe exactly the record the codec encodes for `type`: full name, field
 * names and order, field types, enum names and symbols, timestamp-millis logical types?
 * codec_init runs this on each embedded schema; exposed so tests can prove an edited schema
 * is refused. On false, a one-line reason is written to error (if not NULL). */
bool codec_schema_matches_layout(codec_record_type type, const char *schema_json, char *error,
                                 size_t error_size);

/* Encoders: *out is malloc'd (caller frees), *out_length its size. A NULL required string
 * is encoded as "". The encoder refuses what the decoder would refuse: CODEC_ERROR_INVALID_UTF8,
 * CODEC_ERROR_OVERSIZED_LENGTH (a string over CODEC_MAX_STRING), CODEC_ERROR_BAD_VALUE (empty
 * or NULL workspace_id, enum value outside the schema's symbols); CODEC_ERROR_INTERNAL for
 * allocation failure or codec_init not called. On error *out is NULL and *out_length 0. */
codec_error codec_encode_check_request(const check_request *record, uint8_t **out,
                                       size_t *out_length);
codec_error codec_encode_verdict(const verdict *record, uint8_t **out, size_t *out_length);
codec_error codec_encode_action(const action *record, uint8_t **out, size_t *out_length);

/* Decoders: *record is overwritten (whatever it held is not freed); on success it owns its
 * strings, on error it is left zeroed with nothing to free. */
codec_error codec_decode_check_request(const void *data, size_t length, check_request *record);
codec_error codec_decode_verdict(const void *data, size_t length, verdict *record);
codec_error codec_decode_action(const void *data, size_t length, action *record);
/* Which record type the header names; CODEC_ERROR_* if none of ours. */
codec_error codec_peek_type(const void *data, size_t length, codec_record_type *type);

void check_request_free(check_request *record);
void verdict_free(verdict *record);
void action_free(action *record);

#endif
