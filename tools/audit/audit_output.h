/* audit_output.h — everything reconciler-audit writes to its output (stdout or --output).
 *
 * For: the three formats of the record dump (table for people, jsonl for jq, avro for Avro
 * tools) and the table/jsonl forms of the timeline, summary and verify reports.
 *
 * jsonl: one JSON object per line. A record line is
 *   {"type":"verdict"|"action","topic":..,"partition":..,"offset":..,"timestamp":..,
 *    "key":..,"value":{...}}
 * where "value" holds the record's Avro fields by their schema names with the values a
 * standard Avro decoder gives (fastavro's schemaless_reader): enums as their symbol, a
 * ["null", X] union as null or the X value, timestamp-millis as integer milliseconds since the
 * epoch (the Avro long itself). An undecodable record is {"type":"undecodable",...,"error":..}.
 * Report lines carry "report": "timeline", "summary", "summary_total", "finding", "verify",
 * "undecodable".
 * Not for: log lines (stderr, log.h) or deciding anything. */
#ifndef RECONCILER_AUDIT_OUTPUT_H
#define RECONCILER_AUDIT_OUTPUT_H

#include "audit_range.h"
#include "audit_records.h"
#include "audit_summary.h"
#include "audit_timeline.h"
#include "audit_verify.h"
#include "codec.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { AUDIT_FORMAT_TABLE = 0, AUDIT_FORMAT_JSONL, AUDIT_FORMAT_AVRO } audit_format;

/* "table", "jsonl", "avro"; false for anything else. */
bool audit_format_parse(const char *text, audit_format *out);
const char *audit_format_name(audit_format format);

/* The record's Avro fields as JSON (see above). NULL on allocation failure. */
json_t *audit_json_verdict_value(const verdict *record);
json_t *audit_json_action_value(const action *record);

/* ---- the record dump (streamed) ----------------------------------------------------------- */

typedef struct audit_record_writer audit_record_writer;

/* topic_names: the verdicts and actions topic names, indexed by audit_topic. `sync` is the
 * Avro container's sync marker (used by AUDIT_FORMAT_AVRO only). NULL on failure. */
audit_record_writer *audit_record_writer_open(audit_format format, FILE *out,
                                              const char *const topic_names[AUDIT_TOPIC_COUNT],
                                              const uint8_t sync[16], char *error,
                                              size_t error_size);
/* Each writes one record; `raw` is the Kafka value it was decoded from (the avro format
 * copies its datum). false on a write error. */
bool audit_record_writer_verdict(audit_record_writer *writer, const audit_position *position,
                                 const verdict *record, const void *raw, size_t raw_length);
bool audit_record_writer_action(audit_record_writer *writer, const audit_position *position,
                                const action *record, const void *raw, size_t raw_length);
bool audit_record_writer_undecodable(audit_record_writer *writer, audit_topic topic,
                                     const audit_position *position, codec_error error,
                                     const void *raw, size_t raw_length);
/* Finishes the output (the avro format's last block) and frees the writer. false if any
 * write failed. */
bool audit_record_writer_close(audit_record_writer *writer);

/* ---- reports (table or jsonl) --------------------------------------------------------------- */

/* Each returns false when writing failed (or allocation did). */
bool audit_print_timeline(FILE *out, audit_format format, const audit_timeline *timeline,
                          const char *const topic_names[AUDIT_TOPIC_COUNT]);
bool audit_print_summary(FILE *out, audit_format format, const audit_summary *summary);
bool audit_print_findings(FILE *out, audit_format format, const audit_findings *findings,
                          const char *verdict_topic);
/* The undecodable records of a report run (they were skipped): a table section or
 * "undecodable" lines. Nothing when there are none. */
bool audit_print_undecodable(FILE *out, audit_format format, const audit_record_set *records,
                             const char *const topic_names[AUDIT_TOPIC_COUNT]);

#endif
