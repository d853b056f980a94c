/* audit_avro_file.c — a hand-written Avro object container writer (spec 1.11, "Object
 * Container Files"): header, then blocks of (record count, byte size, data, sync marker).
 *
 * Why not avro-c's avro_file_writer: it writes avro_value_t datums, which would mean decoding
 * each Kafka value into avro-c's object model just to encode it again. The container format is
 * small, and writing the topic's datum bytes through unchanged is both simpler and a stronger
 * promise (the file holds what was on the topic). tests/unit/test_audit_avro_file.c reads the
 * result back with avro-c's reader to keep this honest. */
#include "audit_avro_file.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define AVRO_BLOCK_FLUSH_BYTES (64 * 1024)
#define SINGLE_OBJECT_HEADER_LENGTH 10

/* Union branches of AuditRecord.value, in the schema's order. */
enum { VALUE_BRANCH_VERDICT = 0, VALUE_BRANCH_ACTION = 1, VALUE_BRANCH_UNDECODABLE = 2 };

struct audit_avro_file {
    FILE *out;
    uint8_t sync[AUDIT_AVRO_SYNC_LENGTH];
    uint8_t *block;
    size_t block_length, block_capacity;
    int64_t block_records;
    bool failed;
};

char *audit_avro_file_schema(void)
{
    const char *verdict_text = codec_schema_json(CODEC_RECORD_VERDICT);
    const char *action_text = codec_schema_json(CODEC_RECORD_ACTION);
    if (verdict_text == NULL || action_text == NULL) {
        return NULL;
    }
    json_error_t error;
    json_t *verdict_schema = json_loads(verdict_text, 0, &error);
    json_t *action_schema = json_loads(action_text, 0, &error);
    if (verdict_schema == NULL || action_schema == NULL) {
        json_decref(verdict_schema);
        json_decref(action_schema);
        return NULL;
    }
    /* "o" steals the references: no decref of the two schemas after this. */
    json_t *schema = json_pack(
        "{s:s, s:s, s:s, s:s, s:["
        "{s:s, s:s},"
        "{s:s, s:s},"
        "{s:s, s:s},"
        "{s:s, s:{s:s, s:s}, s:s},"
        "{s:s, s:[s, s], s:s},"
        "{s:s, s:[o, o, {s:s, s:s, s:s, s:[{s:s, s:s}, {s:s, s:s}]}]}"
        "]}",
        "type", "record", "name", "AuditRecord", "namespace", "reconciler.audit.v1", "doc",
        "One record of the verdicts or actions topic as reconciler-audit read it: where it was "
        "in Kafka and its value, decoded with the schema it was written with, or why it did "
        "not decode.",
        "fields", "name", "topic", "type", "string", "name", "partition", "type", "int", "name",
        "offset", "type", "long", "name", "timestamp", "type", "type", "long", "logicalType",
        "timestamp-millis", "doc", "the Kafka message timestamp (-1: none)", "name", "key", "type",
        "null", "string", "doc",
        "the Kafka key as text (invalid UTF-8 replaced by U+FFFD); null when absent", "name",
        "value", "type", verdict_schema, action_schema, "type", "record", "name", "Undecodable",
        "doc", "a record the audit could not decode; it was skipped", "fields", "name", "error",
        "type", "string", "name", "raw", "type", "bytes");
    if (schema == NULL) {
        return NULL;
    }
    char *text = json_dumps(schema, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(schema);
    return text;
}

/* ---- encoding into the current block ------------------------------------------------------ */

static bool reserve(audit_avro_file *file, size_t extra)
{
    if (file->block_length + extra <= file->block_capacity) {
        return true;
    }
    size_t wanted = file->block_capacity == 0 ? AVRO_BLOCK_FLUSH_BYTES * 2 : file->block_capacity;
    while (wanted < file->block_length + extra) {
        wanted *= 2;
    }
    uint8_t *grown = realloc(file->block, wanted);
    if (grown == NULL) {
        return false;
    }
    file->block = grown;
    file->block_capacity = wanted;
    return true;
}

static void put_bytes(audit_avro_file *file, const void *bytes, size_t length)
{
    if (file->failed || !reserve(file, length)) {
        file->failed = true;
        return;
    }
    if (length > 0) {
        memcpy(file->block + file->block_length, bytes, length);
    }
    file->block_length += length;
}

/* Avro long: zig-zag, then base-128 varint, low group first. */
static size_t encode_long(int64_t value, uint8_t bytes[10])
{
    uint64_t encoded = ((uint64_t)value << 1) ^ (value < 0 ? UINT64_MAX : 0);
    size_t count = 0;
    while (encoded >= 0x80) {
        bytes[count++] = (uint8_t)(encoded | 0x80);
        encoded >>= 7;
    }
    bytes[count++] = (uint8_t)encoded;
    return count;
}

static void put_long(audit_avro_file *file, int64_t value)
{
    uint8_t bytes[10];
    put_bytes(file, bytes, encode_long(value, bytes));
}

static void put_string(audit_avro_file *file, const char *text)
{
    size_t length = text != NULL ? strlen(text) : 0;
    put_long(file, (int64_t)length);
    put_bytes(file, text, length);
}

static void put_blob(audit_avro_file *file, const void *bytes, size_t length)
{
    put_long(file, (int64_t)length);
    put_bytes(file, bytes, length);
}

static void put_envelope(audit_avro_file *file, const char *topic, const audit_position *position)
{
    put_string(file, topic);
    put_long(file, position->partition);
    put_long(file, position->offset);
    put_long(file, position->timestamp_ms);
    if (position->key == NULL) {
        put_long(file, 0); /* union branch "null" */
    } else {
        put_long(file, 1); /* union branch "string" */
        put_string(file, position->key);
    }
}

/* ---- blocks -------------------------------------------------------------------------------- */

static bool write_out(audit_avro_file *file, const void *bytes, size_t length)
{
    if (length > 0 && fwrite(bytes, 1, length, file->out) != length) {
        file->failed = true;
    }
    return !file->failed;
}

static bool flush_block(audit_avro_file *file)
{
    if (file->failed) {
        return false;
    }
    if (file->block_records == 0) {
        return true;
    }
    uint8_t count[10], size[10];
    size_t count_length = encode_long(file->block_records, count);
    size_t size_length = encode_long((int64_t)file->block_length, size);
    write_out(file, count, count_length);
    write_out(file, size, size_length);
    write_out(file, file->block, file->block_length);
    write_out(file, file->sync, sizeof file->sync);
    file->block_length = 0;
    file->block_records = 0;
    return !file->failed;
}

static bool finish_record(audit_avro_file *file)
{
    if (file->failed) {
        return false;
    }
    file->block_records++;
    return file->block_length < AVRO_BLOCK_FLUSH_BYTES || flush_block(file);
}

audit_avro_file *audit_avro_file_open(FILE *out, const uint8_t sync[AUDIT_AVRO_SYNC_LENGTH],
                                      char *error, size_t error_size)
{
    char *schema = audit_avro_file_schema();
    if (schema == NULL) {
        snprintf(error, error_size, "could not build the container's schema");
        return NULL;
    }
    audit_avro_file *file = calloc(1, sizeof *file);
    if (file == NULL) {
        free(schema);
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    file->out = out;
    memcpy(file->sync, sync, sizeof file->sync);

    /* The header is built in the block buffer, written, and the buffer reset. */
    static const uint8_t magic[4] = {'O', 'b', 'j', 1};
    put_bytes(file, magic, sizeof magic);
    put_long(file, 2); /* one map block of two entries */
    put_string(file, "avro.schema");
    put_blob(file, schema, strlen(schema));
    put_string(file, "avro.codec");
    put_blob(file, "null", 4);
    put_long(file, 0); /* end of the map */
    put_bytes(file, file->sync, sizeof file->sync);
    free(schema);
    if (!file->failed) {
        write_out(file, file->block, file->block_length);
    }
    file->block_length = 0;
    if (file->failed) {
        snprintf(error, error_size, "could not write the container's header");
        free(file->block);
        free(file);
        return NULL;
    }
    return file;
}

bool audit_avro_file_append(audit_avro_file *file, const char *topic,
                            const audit_position *position, codec_record_type type,
                            const void *value, size_t length)
{
    if (length < SINGLE_OBJECT_HEADER_LENGTH ||
        (type != CODEC_RECORD_VERDICT && type != CODEC_RECORD_ACTION)) {
        return false;
    }
    put_envelope(file, topic, position);
    put_long(file, type == CODEC_RECORD_VERDICT ? VALUE_BRANCH_VERDICT : VALUE_BRANCH_ACTION);
    put_bytes(file, (const uint8_t *)value + SINGLE_OBJECT_HEADER_LENGTH,
              length - SINGLE_OBJECT_HEADER_LENGTH);
    return finish_record(file);
}

bool audit_avro_file_append_undecodable(audit_avro_file *file, const char *topic,
                                        const audit_position *position, const char *error_name,
                                        const void *value, size_t length)
{
    put_envelope(file, topic, position);
    put_long(file, VALUE_BRANCH_UNDECODABLE);
    put_string(file, error_name);
    put_blob(file, value, value != NULL ? length : 0);
    return finish_record(file);
}

bool audit_avro_file_close(audit_avro_file *file)
{
    if (file == NULL) {
        return false;
    }
    bool ok = flush_block(file) && fflush(file->out) == 0;
    free(file->block);
    free(file);
    return ok;
}
