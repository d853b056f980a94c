/* audit_failure.c — stable names of audit_failure (see audit_failure.h). */
#include "audit_failure.h"

const char *audit_failure_name(audit_failure failure)
{
    switch (failure) {
    case AUDIT_FAILURE_NONE:
        return "none";
    case AUDIT_FAILURE_KAFKA_CLIENT:
        return "kafka_client";
    case AUDIT_FAILURE_KAFKA_METADATA:
        return "kafka_metadata";
    case AUDIT_FAILURE_TOPIC_MISSING:
        return "topic_missing";
    case AUDIT_FAILURE_KAFKA_WATERMARKS:
        return "kafka_watermarks";
    case AUDIT_FAILURE_KAFKA_OFFSETS_FOR_TIMES:
        return "kafka_offsets_for_times";
    case AUDIT_FAILURE_NO_SUCH_PARTITION:
        return "no_such_partition";
    case AUDIT_FAILURE_KAFKA_ASSIGN:
        return "kafka_assign";
    case AUDIT_FAILURE_KAFKA_CONSUME:
        return "kafka_consume";
    case AUDIT_FAILURE_READ_STALLED:
        return "read_stalled";
    case AUDIT_FAILURE_OUTPUT:
        return "output";
    case AUDIT_FAILURE_DATABASE_CONNECT:
        return "database_connect";
    case AUDIT_FAILURE_DATABASE_QUERY:
        return "database_query";
    case AUDIT_FAILURE_OUT_OF_MEMORY:
        return "out_of_memory";
    case AUDIT_FAILURE_INTERRUPTED:
        return "interrupted";
    }
    return "unknown_failure";
}
