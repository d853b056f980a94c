/* audit_records.h — the records of one audit run, held in memory for the reports.
 *
 * For: collecting decoded Verdicts and Actions (and the coordinates of undecodable records)
 * with their Kafka coordinates, then finding a verdict by the coordinates an Action names,
 * and marking republished copies of one Action. The plain record dump never stores anything
 * (it streams); only --timeline, --summary and --verify need this.
 * Not for: reading Kafka or deciding anything about the records. */
#ifndef RECONCILER_AUDIT_RECORDS_H
#define RECONCILER_AUDIT_RECORDS_H

#include "audit_range.h"
#include "codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where a record sits in Kafka. */
typedef struct {
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms; /* the Kafka message timestamp; -1 when the broker gave none */
    char *key;            /* the key as text (invalid UTF-8 replaced), NULL when absent; owned */
} audit_position;

typedef struct {
    audit_position position;
    verdict record;
} audit_verdict_entry;

typedef struct {
    audit_position position;
    action record;
    /* Set by audit_records_mark_copies: the same Action as an earlier record (an outbox
     * republished after a crash), not a second action. Index of the first copy otherwise. */
    bool copy;
    size_t copy_of;
} audit_action_entry;

typedef struct {
    audit_topic topic;
    audit_position position;
    codec_error error;
} audit_undecodable_entry;

typedef struct {
    audit_verdict_entry *verdicts;
    size_t verdict_count, verdict_capacity;
    audit_action_entry *actions;
    size_t action_count, action_capacity;
    audit_undecodable_entry *undecodable;
    size_t undecodable_count, undecodable_capacity;
} audit_record_set;

/* Each add takes the position's key and the record's strings over (the caller's copies are
 * zeroed); false on allocation failure, in which case they are freed. */
bool audit_records_add_verdict(audit_record_set *set, audit_position *position, verdict *record);
bool audit_records_add_action(audit_record_set *set, audit_position *position, action *record);
bool audit_records_add_undecodable(audit_record_set *set, audit_topic topic,
                                   audit_position *position, codec_error error);

/* Sorts verdicts, actions and undecodable records by (partition, offset) and marks copies. Call
 * once after the read, before any lookup. */
void audit_records_finish(audit_record_set *set);

/* The verdict at verdicts partition/offset, NULL if none was read. Needs audit_records_finish. */
const audit_verdict_entry *audit_records_find_verdict(const audit_record_set *set,
                                                      int32_t partition, int64_t offset);
/* The undecodable record at that place of that topic, NULL if none. */
const audit_undecodable_entry *audit_records_find_undecodable(const audit_record_set *set,
                                                              audit_topic topic, int32_t partition,
                                                              int64_t offset);

/* True when two Actions are the same act: same verdict coordinates, outcome, acted_at,
 * attempt, actuator and dry-run flag. The actuator's outbox republishes an Action unchanged
 * after a crash; a second decision would carry another acted_at. */
bool audit_actions_are_copies(const action *left, const action *right);

/* Orders two actions by verdict coordinates (topic, partition, offset), then acted_at, then
 * their own position: the order --verify and the cross-check walk them in. */
int audit_action_compare_by_verdict(const audit_action_entry *left,
                                    const audit_action_entry *right);

void audit_position_free(audit_position *position);
void audit_records_free(audit_record_set *set);

/* A key as text: a copy of the bytes when they are valid UTF-8 without NUL, else with each
 * offending byte replaced by U+FFFD. NULL key -> NULL. NULL with *failed on allocation failure. */
char *audit_key_text(const void *key, size_t length, bool *failed);

/* An elapsed time for humans: "850ms", "1.9s", "7m12s", "3h05m". Negative values get a '-'. */
void audit_format_elapsed(int64_t ms, char *buffer, size_t size);

#endif
