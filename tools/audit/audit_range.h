/* audit_range.h — what --from and --to mean, and which offsets of which partitions that reads.
 *
 * For: parsing a bound (beginning, end, an RFC 3339 time, a relative time such as -2h, or
 * partition offsets such as 0:120,verdicts:1:300), and turning two bounds plus the facts read
 * from Kafka (watermarks, offsets for a time) into a per-partition plan [start, end). Pure: the
 * caller passes `now` and the Kafka facts in. Not for: asking Kafka (audit_kafka.c). */
#ifndef RECONCILER_AUDIT_RANGE_H
#define RECONCILER_AUDIT_RANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The two topics the audit reads. */
typedef enum { AUDIT_TOPIC_VERDICTS = 0, AUDIT_TOPIC_ACTIONS = 1, AUDIT_TOPIC_COUNT } audit_topic;

/* "verdicts", "actions" (also the prefixes of topic-qualified partition offsets). */
const char *audit_topic_name(audit_topic topic);

typedef enum {
    AUDIT_BOUND_BEGINNING, /* each partition's low watermark */
    AUDIT_BOUND_END,       /* each partition's high watermark when the run starts */
    AUDIT_BOUND_TIMESTAMP, /* the first offset whose Kafka timestamp is >= the time */
    AUDIT_BOUND_OFFSETS,   /* explicit partition:offset entries */
} audit_bound_kind;

/* One partition:offset entry; topic -1 applies to both topics. */
typedef struct {
    int topic; /* -1, or an audit_topic */
    int32_t partition;
    int64_t offset;
} audit_offset_entry;

typedef struct {
    audit_bound_kind kind;
    int64_t timestamp_ms; /* AUDIT_BOUND_TIMESTAMP; a relative time is resolved against now */
    bool relative;        /* it was written as "-2h" (for messages only) */
    audit_offset_entry *entries; /* AUDIT_BOUND_OFFSETS; owned */
    size_t entry_count;
} audit_bound;

typedef enum {
    AUDIT_RANGE_OK = 0,
    AUDIT_RANGE_ERROR_EMPTY,               /* nothing given */
    AUDIT_RANGE_ERROR_BAD_TIMESTAMP,       /* looks like a date but is not RFC 3339 */
    AUDIT_RANGE_ERROR_BAD_RELATIVE,        /* "-" not followed by a duration */
    AUDIT_RANGE_ERROR_BAD_OFFSETS,         /* an entry is not [verdicts:|actions:]P:O */
    AUDIT_RANGE_ERROR_DUPLICATE_PARTITION, /* the same topic and partition twice */
    AUDIT_RANGE_ERROR_UNRECOGNISED,        /* none of the forms */
    AUDIT_RANGE_ERROR_NO_SUCH_PARTITION,   /* an entry names a partition the topic lacks */
    AUDIT_RANGE_ERROR_OUT_OF_MEMORY,
} audit_range_error;

/* Stable snake_case names: "bad_timestamp", "no_such_partition", ... */
const char *audit_range_error_name(audit_range_error error);

/* The forms a bound may take, for error messages and --help. */
#define AUDIT_BOUND_FORMS                                                                          \
    "beginning, end, an RFC 3339 time (2026-11-27T03:12:00Z), a relative time (-2h, -30m) or "     \
    "partition offsets (0:120,1:300 or verdicts:0:120,actions:0:40)"

/* Parses one bound. `now_ms` resolves relative times. On error *out is left empty (nothing to
 * free); on success free it with audit_bound_free. */
audit_range_error audit_bound_parse(const char *text, int64_t now_ms, audit_bound *out);
void audit_bound_free(audit_bound *bound);

/* RFC 3339 date-time ("2026-11-27T03:12:00Z", "2026-11-27t03:12:00.5+01:00", 'T', 't' or a
 * space between date and time) to milliseconds since the epoch; fractions beyond milliseconds
 * are truncated. A leap second (:60) reads as the next second. false for anything else. */
bool audit_parse_rfc3339_ms(const char *text, int64_t *out_ms);

/* What Kafka said about one partition before the read. */
typedef struct {
    int64_t low;              /* low watermark: first offset still stored */
    int64_t high;             /* high watermark: offset the next record will get */
    int64_t from_time_offset; /* for a TIMESTAMP --from: offsets_for_times, -1 = none at/after */
    int64_t to_time_offset;   /* the same for a TIMESTAMP --to */
} audit_partition_facts;

/* What the audit reads from one partition: offsets [start, end). */
typedef struct {
    bool read; /* false: the partition is not part of the range at all */
    int64_t start;
    int64_t end;
    bool start_below_low_watermark; /* an explicit offset already deleted: start raised */
    bool end_beyond_high_watermark; /* an explicit offset not written yet: end lowered */
} audit_partition_plan;

/* Plans one topic's partitions (plan has partition_count entries):
 * - a bound of partition offsets restricts the read to the partitions its entries name for
 *   this topic (entries without a topic name both); a bound with no entry for this topic
 *   reads every partition, like beginning (--from) or end (--to);
 * - a partition named only in --from reads to its end, one named only in --to from its start;
 * - a TIMESTAMP bound without an offset at or after the time means the partition's end;
 * - only_partition >= 0 (--workspace) reads that partition alone, if it is in the range;
 * - offsets are clamped into [low, high], with the clamps flagged; end < start reads nothing.
 * AUDIT_RANGE_ERROR_NO_SUCH_PARTITION when an entry names a partition >= partition_count. */
audit_range_error audit_plan_topic(const audit_bound *from, const audit_bound *to,
                                   audit_topic topic, int32_t partition_count,
                                   const audit_partition_facts *facts, int32_t only_partition,
                                   audit_partition_plan *plan);

/* Does the bound list any partition of this topic (so it restricts which partitions are read)? */
bool audit_bound_names_topic(const audit_bound *bound, audit_topic topic);

/* Is offset inside the planned range of partition? (partition outside [0, count): false) */
bool audit_plan_covers(const audit_partition_plan *plan, int32_t partition_count, int32_t partition,
                       int64_t offset);

/* Total offsets the plan spans (for progress). */
int64_t audit_plan_span(const audit_partition_plan *plan, int32_t partition_count);

#endif
