/* audit_kafka.c — the read-only consumer of reconciler-audit (see audit_kafka.h for why it
 * cannot commit): metadata, watermarks, offsets for a time, and the read loop that stops when
 * every assigned partition reaches its planned end. */
#include "audit_kafka.h"

#include "kafka_config.h"
#include "log.h"
#include "timeutil.h"

#include <inttypes.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>

#define POLL_TIMEOUT_MS 200

struct audit_reader {
    rd_kafka_t *kafka;
    char group_id[64];
    int request_timeout_ms;
};

const char *audit_reader_group_id(const audit_reader *reader)
{
    return reader->group_id;
}

audit_reader *audit_reader_new(const common_settings *common,
                               const config_kafka_properties *properties,
                               int64_t request_timeout_ms, char *error, size_t error_size)
{
    audit_reader *reader = calloc(1, sizeof *reader);
    if (reader == NULL) {
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    reader->request_timeout_ms = (int)request_timeout_ms;
    uuid_t random_id;
    char text[37];
    uuid_generate_random(random_id);
    uuid_unparse_lower(random_id, text);
    snprintf(reader->group_id, sizeof reader->group_id, "reconciler-audit-%s", text);

    rd_kafka_conf_t *conf =
        kafka_config_new(common, properties, "reconciler-audit", error, error_size);
    if (conf == NULL) {
        free(reader);
        return NULL;
    }
    /* After the operator's properties (and refused from them by audit_settings): these are
     * what make the reader read-only, see audit_kafka.h. */
    const struct {
        const char *name;
        const char *value;
    } fixed[] = {
        {"group.id", reader->group_id},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "error"},
        {"allow.auto.create.topics", "false"},
        /* An end-of-partition event tells the loop a partition is exhausted even when its
         * last offsets hold no record (a transaction marker). */
        {"enable.partition.eof", "true"},
    };
    for (size_t index = 0; index < sizeof fixed / sizeof fixed[0]; index++) {
        if (!kafka_config_set(conf, fixed[index].name, fixed[index].value, error, error_size)) {
            rd_kafka_conf_destroy(conf);
            free(reader);
            return NULL;
        }
    }
    char reason[512];
    reader->kafka = rd_kafka_new(RD_KAFKA_CONSUMER, conf, reason, sizeof reason);
    if (reader->kafka == NULL) {
        snprintf(error, error_size, "rd_kafka_new: %s", reason);
        rd_kafka_conf_destroy(conf);
        free(reader);
        return NULL;
    }
    conf = NULL; /* now owned by reader->kafka */
    return reader;
}

void audit_reader_free(audit_reader *reader)
{
    if (reader == NULL) {
        return;
    }
    if (reader->kafka != NULL) {
        /* Nothing is stored or auto-committed, and no group was joined: close only releases
         * the assignment. Its error (if any) is moot for a reader. */
        rd_kafka_consumer_close(reader->kafka);
        rd_kafka_destroy(reader->kafka);
    }
    free(reader);
}

audit_failure audit_reader_partition_count(audit_reader *reader, const char *topic, int32_t *count,
                                           char *error, size_t error_size)
{
    rd_kafka_topic_t *handle = rd_kafka_topic_new(reader->kafka, topic, NULL);
    if (handle == NULL) {
        snprintf(error, error_size, "rd_kafka_topic_new(%s): %s", topic,
                 rd_kafka_err2str(rd_kafka_last_error()));
        return AUDIT_FAILURE_KAFKA_CLIENT;
    }
    const struct rd_kafka_metadata *metadata = NULL;
    rd_kafka_resp_err_t result =
        rd_kafka_metadata(reader->kafka, 0, handle, &metadata, reader->request_timeout_ms);
    rd_kafka_topic_destroy(handle);
    if (result != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(error, error_size, "metadata for topic %s: %s", topic, rd_kafka_err2str(result));
        return AUDIT_FAILURE_KAFKA_METADATA;
    }
    audit_failure failure = AUDIT_FAILURE_NONE;
    if (metadata->topic_cnt != 1 || metadata->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_resp_err_t topic_error = metadata->topic_cnt == 1
                                              ? metadata->topics[0].err
                                              : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
        snprintf(error, error_size, "topic %s: %s", topic, rd_kafka_err2str(topic_error));
        failure = topic_error == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
                      ? AUDIT_FAILURE_TOPIC_MISSING
                      : AUDIT_FAILURE_KAFKA_METADATA;
    } else if (metadata->topics[0].partition_cnt < 1) {
        snprintf(error, error_size, "topic %s: no partitions", topic);
        failure = AUDIT_FAILURE_TOPIC_MISSING;
    } else {
        *count = metadata->topics[0].partition_cnt;
    }
    rd_kafka_metadata_destroy(metadata);
    return failure;
}

/* Errors a request may meet while leadership moves (a topic just created, a broker
 * restarting): asked again, they pass. */
static bool is_transient_error(rd_kafka_resp_err_t error)
{
    switch (error) {
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART: /* metadata not propagated yet */
    case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
        return true;
    default:
        return false;
    }
}

/* Waits before the next try (100 ms, doubling to 1 s); false once the deadline has passed. */
static bool wait_to_retry(int64_t deadline_ms, int *attempt)
{
    int64_t pause = 100LL << (*attempt < 4 ? *attempt : 4);
    pause = pause > 1000 ? 1000 : pause;
    if (time_now_monotonic_ms() + pause > deadline_ms) {
        return false;
    }
    (*attempt)++;
    struct timespec delay = {(time_t)(pause / 1000), (long)(pause % 1000) * 1000000L};
    nanosleep(&delay, NULL);
    return true;
}

audit_failure audit_reader_watermarks(audit_reader *reader, const char *topic, int32_t partition,
                                      int64_t *low, int64_t *high, char *error, size_t error_size)
{
    int64_t deadline = time_now_monotonic_ms() + reader->request_timeout_ms;
    int attempt = 0;
    rd_kafka_resp_err_t result;
    do {
        result = rd_kafka_query_watermark_offsets(reader->kafka, topic, partition, low, high,
                                                  reader->request_timeout_ms);
    } while (is_transient_error(result) && wait_to_retry(deadline, &attempt));
    if (result != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(error, error_size, "watermarks of %s [%d]: %s", topic, (int)partition,
                 rd_kafka_err2str(result));
        return AUDIT_FAILURE_KAFKA_WATERMARKS;
    }
    return AUDIT_FAILURE_NONE;
}

audit_failure audit_reader_offsets_for_time(audit_reader *reader, const char *topic,
                                            int32_t partition_count, int64_t time_ms,
                                            int64_t *offsets, char *error, size_t error_size)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(partition_count);
    if (list == NULL) {
        snprintf(error, error_size, "out of memory");
        return AUDIT_FAILURE_OUT_OF_MEMORY;
    }
    for (int32_t partition = 0; partition < partition_count; partition++) {
        rd_kafka_topic_partition_list_add(list, topic, partition);
    }
    int64_t deadline = time_now_monotonic_ms() + reader->request_timeout_ms;
    int attempt = 0;
    rd_kafka_resp_err_t result;
    while (true) {
        for (int index = 0; index < list->cnt; index++) {
            /* offsets_for_times reads the timestamp from the offset field, and overwrites it
             * with the answer: set it again for every try. */
            list->elems[index].offset = time_ms;
            list->elems[index].err = RD_KAFKA_RESP_ERR_NO_ERROR;
        }
        result = rd_kafka_offsets_for_times(reader->kafka, list, reader->request_timeout_ms);
        rd_kafka_resp_err_t first = result;
        for (int index = 0; first == RD_KAFKA_RESP_ERR_NO_ERROR && index < list->cnt; index++) {
            first = list->elems[index].err;
        }
        if (!is_transient_error(first) || !wait_to_retry(deadline, &attempt)) {
            break;
        }
    }
    audit_failure failure = AUDIT_FAILURE_NONE;
    if (result != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(error, error_size, "offsets_for_times on %s: %s", topic, rd_kafka_err2str(result));
        failure = AUDIT_FAILURE_KAFKA_OFFSETS_FOR_TIMES;
    }
    for (int index = 0; failure == AUDIT_FAILURE_NONE && index < list->cnt; index++) {
        const rd_kafka_topic_partition_t *element = &list->elems[index];
        if (element->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(error, error_size, "offsets_for_times on %s [%d]: %s", topic,
                     (int)element->partition, rd_kafka_err2str(element->err));
            failure = AUDIT_FAILURE_KAFKA_OFFSETS_FOR_TIMES;
        } else if (element->partition >= 0 && element->partition < partition_count) {
            /* RD_KAFKA_OFFSET_END (-1): no record at or after the time. */
            offsets[element->partition] = element->offset < 0 ? -1 : element->offset;
        }
    }
    rd_kafka_topic_partition_list_destroy(list);
    return failure;
}

/* ---- the read loop ------------------------------------------------------------------------ */

typedef struct {
    const audit_read_assignment *assignment;
    int64_t next; /* next offset expected */
    bool done;
} read_state;

/* The state of (topic name, partition), NULL if not one of ours. Linear: a run reads at most
 * a few dozen partitions. */
static read_state *find_state(read_state *states, size_t count, const char *topic,
                              int32_t partition)
{
    for (size_t index = 0; index < count; index++) {
        if (states[index].assignment->partition == partition &&
            strcmp(states[index].assignment->topic_name, topic) == 0) {
            return &states[index];
        }
    }
    return NULL;
}

/* Errors after which the read cannot finish; others (a broker going away, a retriable
 * fetch error) are logged and ridden out by librdkafka, bounded by the stall timeout. */
static bool is_fatal_consumer_error(rd_kafka_resp_err_t error)
{
    switch (error) {
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__SSL:
        return true;
    default:
        return false;
    }
}

static void log_progress(int64_t read, int64_t remaining, int64_t total, int64_t started_ms,
                         int64_t now_ms, const read_state *states, size_t count)
{
    double seconds = (double)(now_ms - started_ms) / 1000.0;
    double rate = seconds > 0 ? (double)read / seconds : 0.0;
    /* The partition furthest from its end, as the position an operator can watch move. */
    const read_state *slowest = NULL;
    for (size_t index = 0; index < count; index++) {
        if (!states[index].done &&
            (slowest == NULL || states[index].assignment->end - states[index].next >
                                    slowest->assignment->end - slowest->next)) {
            slowest = &states[index];
        }
    }
    char position[128] = "";
    if (slowest != NULL) {
        snprintf(position, sizeof position, "%s %d at %" PRId64 " of %" PRId64,
                 audit_topic_name(slowest->assignment->topic), (int)slowest->assignment->partition,
                 slowest->next, slowest->assignment->end);
    }
    log_info("progress", "{s:I, s:I, s:I, s:f, s:s, s:f}", "records_read", (json_int_t)read,
             "offsets_remaining", (json_int_t)remaining, "offsets_total", (json_int_t)total,
             "percent", total > 0 ? 100.0 * (double)(total - remaining) / (double)total : 100.0,
             "position", position, "records_per_second", rate);
}

audit_failure audit_reader_read(audit_reader *reader, const audit_read_assignment *assignments,
                                size_t count, const audit_read_options *options,
                                audit_message_handler handler, void *context, int64_t *records_read,
                                char *error, size_t error_size)
{
    *records_read = 0;
    read_state *states = calloc(count + 1, sizeof *states);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)count + 1);
    if (states == NULL || list == NULL) {
        free(states);
        if (list != NULL) {
            rd_kafka_topic_partition_list_destroy(list);
        }
        snprintf(error, error_size, "out of memory");
        return AUDIT_FAILURE_OUT_OF_MEMORY;
    }
    size_t pending = 0;
    int64_t total = 0;
    for (size_t index = 0; index < count; index++) {
        states[index].assignment = &assignments[index];
        states[index].next = assignments[index].start;
        states[index].done = assignments[index].start >= assignments[index].end;
        if (!states[index].done) {
            rd_kafka_topic_partition_list_add(list, assignments[index].topic_name,
                                              assignments[index].partition)
                ->offset = assignments[index].start;
            pending++;
            total += assignments[index].end - assignments[index].start;
        }
    }
    audit_failure failure = AUDIT_FAILURE_NONE;
    if (pending > 0) {
        rd_kafka_resp_err_t result = rd_kafka_assign(reader->kafka, list);
        if (result != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(error, error_size, "rd_kafka_assign: %s", rd_kafka_err2str(result));
            failure = AUDIT_FAILURE_KAFKA_ASSIGN;
        }
    }
    rd_kafka_topic_partition_list_destroy(list);

    int64_t started = time_now_monotonic_ms();
    int64_t last_progress = started, last_report = started;
    int64_t remaining = total;
    while (failure == AUDIT_FAILURE_NONE && pending > 0) {
        if (options->stop != NULL && *options->stop) {
            snprintf(error, error_size, "interrupted by a signal");
            failure = AUDIT_FAILURE_INTERRUPTED;
            break;
        }
        rd_kafka_message_t *message = rd_kafka_consumer_poll(reader->kafka, POLL_TIMEOUT_MS);
        int64_t now = time_now_monotonic_ms();
        if (options->progress && now - last_report >= options->progress_interval_ms) {
            log_progress(*records_read, remaining, total, started, now, states, count);
            last_report = now;
        }
        if (message == NULL) {
            if (now - last_progress > options->stall_timeout_ms) {
                const read_state *stuck = NULL;
                for (size_t index = 0; index < count && stuck == NULL; index++) {
                    stuck = states[index].done ? NULL : &states[index];
                }
                snprintf(error, error_size,
                         "no progress for %" PRId64 " ms; %zu partition(s) unfinished, e.g. %s "
                         "[%d] at %" PRId64 " of %" PRId64,
                         options->stall_timeout_ms, pending,
                         stuck != NULL ? stuck->assignment->topic_name : "?",
                         stuck != NULL ? (int)stuck->assignment->partition : -1,
                         stuck != NULL ? stuck->next : -1,
                         stuck != NULL ? stuck->assignment->end : -1);
                failure = AUDIT_FAILURE_READ_STALLED;
            }
            continue;
        }
        const char *topic = message->rkt != NULL ? rd_kafka_topic_name(message->rkt) : "";
        read_state *state = find_state(states, count, topic, message->partition);
        if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (state != NULL && !state->done) {
                if (message->offset < state->assignment->end) {
                    /* The end moved back (a truncated log) or sits behind an open
                     * transaction: nothing more will come, so stop here rather than hang. */
                    log_warn("partition ended before the planned end", "{s:s, s:i, s:I, s:I}",
                             "topic", topic, "partition", (int)message->partition, "ended_at",
                             (json_int_t)message->offset, "planned_end",
                             (json_int_t)state->assignment->end);
                }
                remaining -= state->assignment->end - state->next;
                state->done = true;
                pending--;
                last_progress = now;
            }
        } else if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (is_fatal_consumer_error(message->err)) {
                snprintf(error, error_size, "reading %s [%d]: %s", topic, (int)message->partition,
                         rd_kafka_message_errstr(message));
                failure = AUDIT_FAILURE_KAFKA_CONSUME;
            } else {
                log_warn("kafka consumer error (retried by librdkafka)", "{s:s, s:s}", "error",
                         rd_kafka_err2name(message->err), "detail",
                         rd_kafka_message_errstr(message));
            }
        } else if (state != NULL && !state->done) {
            last_progress = now;
            if (message->offset < state->assignment->end) {
                rd_kafka_timestamp_type_t timestamp_type;
                int64_t timestamp = rd_kafka_message_timestamp(message, &timestamp_type);
                audit_message record = {
                    .topic = state->assignment->topic,
                    .partition = message->partition,
                    .offset = message->offset,
                    .timestamp_ms =
                        timestamp_type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : timestamp,
                    .key = message->key,
                    .key_length = message->key_len,
                    .value = message->payload,
                    .value_length = message->len,
                };
                audit_failure handler_failure = AUDIT_FAILURE_OUTPUT;
                if (!handler(context, &record, &handler_failure)) {
                    snprintf(error, error_size, "handling %s [%d] offset %" PRId64 " failed", topic,
                             (int)message->partition, message->offset);
                    failure = handler_failure;
                }
                (*records_read)++;
            }
            int64_t next = message->offset + 1;
            if (next > state->next) {
                int64_t counted = next < state->assignment->end ? next : state->assignment->end;
                remaining -= counted > state->next ? counted - state->next : 0;
                state->next = next;
            }
            if (next >= state->assignment->end) {
                state->done = true;
                pending--;
            }
        }
        rd_kafka_message_destroy(message);
    }
    if (options->progress && failure == AUDIT_FAILURE_NONE && total > 0) {
        log_progress(*records_read, 0, total, started, time_now_monotonic_ms(), states, count);
    }
    /* Unassign: no fetcher keeps running while the caller prints reports. */
    rd_kafka_assign(reader->kafka, NULL);
    free(states);
    return failure;
}
