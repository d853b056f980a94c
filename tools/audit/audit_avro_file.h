/* audit_avro_file.h — --format avro: an Avro object container file of the records read.
 *
 * One file holds both record types: each file record is an AuditRecord (namespace
 * reconciler.audit.v1) with the Kafka coordinates (topic, partition, offset, timestamp, key)
 * and a `value` that is a union of reconciler.v1.Verdict, reconciler.v1.Action (the schemas
 * from the .avsc files in schemas/, verbatim) and Undecodable (error name + the raw bytes). Why one
 * file with a union rather than one file per type: Actions point at verdicts by Kafka coordinates,
 * so an auditor needs both, with their coordinates, in one place; a union keeps the file
 * self-describing for any Avro reader (fastavro, avro-tools tojson, avro-c).
 *
 * The datum of a decoded record is copied byte for byte from the Kafka value (after its
 * 10-byte single-object header): the file holds exactly what was on the topic, not a
 * re-encoding. Blocks are uncompressed (avro.codec "null"), flushed every 64 KiB.
 * Not for: reading containers (the tests use fastavro and avro-c for that). */
#ifndef RECONCILER_AUDIT_AVRO_FILE_H
#define RECONCILER_AUDIT_AVRO_FILE_H

#include "audit_records.h"
#include "codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct audit_avro_file audit_avro_file;

#define AUDIT_AVRO_SYNC_LENGTH 16

/* The file's schema (JSON text, malloc'd), built from the embedded .avsc texts; NULL on
 * failure. codec_init must have run. */
char *audit_avro_file_schema(void);

/* Writes the header (magic, metadata with avro.schema and avro.codec, the sync marker) to
 * `out`, which stays the caller's. NULL on failure with the reason in error. */
audit_avro_file *audit_avro_file_open(FILE *out, const uint8_t sync[AUDIT_AVRO_SYNC_LENGTH],
                                      char *error, size_t error_size);

/* Appends a decoded record; `value` is the whole Kafka value (single-object encoding) that
 * decoded as `type` (CODEC_RECORD_VERDICT or CODEC_RECORD_ACTION). false on a write error or
 * a value too short to hold a datum. */
bool audit_avro_file_append(audit_avro_file *file, const char *topic,
                            const audit_position *position, codec_record_type type,
                            const void *value, size_t length);

/* Appends an undecodable record with the codec's error name and the raw value (NULL = none). */
bool audit_avro_file_append_undecodable(audit_avro_file *file, const char *topic,
                                        const audit_position *position, const char *error_name,
                                        const void *value, size_t length);

/* Writes the last block and frees the writer (not the FILE). false if any write failed. */
bool audit_avro_file_close(audit_avro_file *file);

#endif
