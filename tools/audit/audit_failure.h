/* audit_failure.h — the closed set of reasons a run of reconciler-audit can fail.
 *
 * For: naming every failure of the I/O edges (Kafka, PostgreSQL, the output) with a stable
 * string that appears in the "error" field of the final log line, so an operator can tell
 * "the topic does not exist" from "the broker did not answer" without reading the message.
 * Not for: findings of --verify (audit_verify.h), which are results, not failures. */
#ifndef RECONCILER_AUDIT_FAILURE_H
#define RECONCILER_AUDIT_FAILURE_H

typedef enum {
    AUDIT_FAILURE_NONE = 0,
    AUDIT_FAILURE_KAFKA_CLIENT,            /* the consumer could not be created or configured */
    AUDIT_FAILURE_KAFKA_METADATA,          /* the broker did not answer a metadata request */
    AUDIT_FAILURE_TOPIC_MISSING,           /* a topic to read does not exist */
    AUDIT_FAILURE_KAFKA_WATERMARKS,        /* a partition's watermarks could not be read */
    AUDIT_FAILURE_KAFKA_OFFSETS_FOR_TIMES, /* --from/--to time could not be resolved */
    AUDIT_FAILURE_NO_SUCH_PARTITION,       /* --from/--to names a partition the topic lacks */
    AUDIT_FAILURE_KAFKA_ASSIGN,            /* the partitions could not be assigned */
    AUDIT_FAILURE_KAFKA_CONSUME,           /* a fetch failed (e.g. offset out of range) */
    AUDIT_FAILURE_READ_STALLED,            /* no progress within AUDIT_READ_TIMEOUT */
    AUDIT_FAILURE_OUTPUT,                  /* the output could not be opened or written */
    AUDIT_FAILURE_DATABASE_CONNECT,        /* --database-url: no connection */
    AUDIT_FAILURE_DATABASE_QUERY,          /* --database-url: a query failed */
    AUDIT_FAILURE_OUT_OF_MEMORY,
    AUDIT_FAILURE_INTERRUPTED, /* SIGINT/SIGTERM before the read finished */
} audit_failure;

/* "topic_missing", "read_stalled", ... */
const char *audit_failure_name(audit_failure failure);

#endif
