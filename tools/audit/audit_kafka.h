/* audit_kafka.h — reconciler-audit's only contact with Kafka: a consumer that can read but
 * cannot commit.
 *
 * Read-only by construction:
 *   - partitions are assigned with rd_kafka_assign (librdkafka requires a group.id for that,
 *     even without subscribing); the group id is a fresh random "reconciler-audit-<uuid>" that
 *     is never joined (no subscribe: no JoinGroup, no membership, no rebalance of anyone
 *     else's group) and never committed to (enable.auto.commit=false, no commit call, no
 *     offset store), so no broker ever records it;
 *   - every start offset is explicit, so no committed offset is ever fetched or needed;
 *   - allow.auto.create.topics=false: asking about a missing topic never creates it;
 *   - auto.offset.reset=error: an offset that vanished (retention) fails loudly instead of
 *     silently jumping.
 * Those properties are applied after the operator's --kafka-prop, and audit_settings refuses
 * --kafka-prop for them, so no configuration can turn them off.
 * Not for: decoding or judging records (the handler does that). */
#ifndef RECONCILER_AUDIT_KAFKA_H
#define RECONCILER_AUDIT_KAFKA_H

#include "audit_failure.h"
#include "audit_range.h"
#include "config.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct audit_reader audit_reader;

/* A consumer for `common`'s brokers with the operator's properties; request_timeout_ms bounds
 * each metadata / watermark / offsets-for-times request. NULL with the reason in error. */
audit_reader *audit_reader_new(const common_settings *common,
                               const config_kafka_properties *properties,
                               int64_t request_timeout_ms, char *error, size_t error_size);
/* Closes the consumer (nothing to commit, no group to leave) and frees it. */
void audit_reader_free(audit_reader *reader);

/* The throw-away group id (for tests and logs). */
const char *audit_reader_group_id(const audit_reader *reader);

/* Partition count of a topic; AUDIT_FAILURE_TOPIC_MISSING when it does not exist. */
audit_failure audit_reader_partition_count(audit_reader *reader, const char *topic, int32_t *count,
                                           char *error, size_t error_size);
audit_failure audit_reader_watermarks(audit_reader *reader, const char *topic, int32_t partition,
                                      int64_t *low, int64_t *high, char *error, size_t error_size);
/* For each partition [0, partition_count), the first offset whose timestamp is >= time_ms,
 * or -1 when there is none. */
audit_failure audit_reader_offsets_for_time(audit_reader *reader, const char *topic,
                                            int32_t partition_count, int64_t time_ms,
                                            int64_t *offsets, char *error, size_t error_size);

/* One partition to read: offsets [start, end). */
typedef struct {
    audit_topic topic;
    const char *topic_name;
    int32_t partition;
    int64_t start;
    int64_t end;
} audit_read_assignment;

/* One record as read; the pointers are valid during the handler call only. */
typedef struct {
    audit_topic topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms; /* -1 when none */
    const void *key;      /* NULL when absent */
    size_t key_length;
    const void *value; /* NULL for a tombstone */
    size_t value_length;
} audit_message;

/* Called once per record in range, in offset order within a partition. false stops the read
 * with AUDIT_FAILURE_OUTPUT (the handler failed to write) or, if it set *failure, that. */
typedef bool (*audit_message_handler)(void *context, const audit_message *message,
                                      audit_failure *failure);

typedef struct {
    bool progress; /* log a progress line every progress_interval_ms */
    int64_t progress_interval_ms;
    int64_t stall_timeout_ms;    /* AUDIT_FAILURE_READ_STALLED after this without progress */
    volatile sig_atomic_t *stop; /* set by a signal handler: AUDIT_FAILURE_INTERRUPTED */
} audit_read_options;

/* Reads every assignment to its end, calling handler per record. *records_read counts the
 * records handed to it. Leaves nothing assigned when it returns. */
audit_failure audit_reader_read(audit_reader *reader, const audit_read_assignment *assignments,
                                size_t count, const audit_read_options *options,
                                audit_message_handler handler, void *context, int64_t *records_read,
                                char *error, size_t error_size);

#endif
