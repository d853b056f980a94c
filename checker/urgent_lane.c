/* urgent_lane.c — see urgent_lane.h. */
#include "urgent_lane.h"

#include "kafka_client.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct urgent_lane {
    rd_kafka_t *consumer;
    char *group_id;
    metrics_counter *taken;
};

static void on_kafka_error(rd_kafka_t *kafka, int error, const char *reason, void *opaque)
{
    (void)opaque;
    log_warn("kafka error", "{s:s, s:s, s:s}", "client", rd_kafka_name(kafka), "error",
             rd_kafka_err2str((rd_kafka_resp_err_t)error), "detail", reason);
}

urgent_lane *urgent_lane_new(const checker_settings *settings,
                             const config_kafka_properties *kafka_properties,
                             metrics_registry *registry, int wake_fd, char *error_buffer,
                             size_t error_size, bool *usage_error)
{
    urgent_lane *lane = calloc(1, sizeof *lane);
    size_t group_length = strlen(settings->group_id) + sizeof "-urgent";
    if (lane != NULL)
        lane->group_id = malloc(group_length);
    if (lane == NULL || lane->group_id == NULL) {
        snprintf(error_buffer, error_size, "out of memory");
        urgent_lane_free(lane);
        return NULL;
    }
    snprintf(lane->group_id, group_length, "%s-urgent", settings->group_id);
    lane->taken = metrics_counter_get(
        registry, "reconciler_checker_urgent_requests_total",
        "CheckRequests taken from the urgent lane (hints), served ahead of the sweep's", 0, NULL,
        NULL);
    /* Hints are rare and small: a tiny prefetch, and offsets committed often. The fetch wait
     * stays librdkafka's: the broker answers a long poll as soon as a hint arrives. */
    static const kafka_config_default urgent_tuning[] = {
        {"auto.commit.interval.ms", "1000"},
        {"queued.max.messages.kbytes", "256"},
    };
    kafka_client_spec spec = {
        .common = &settings->common,
        .properties = kafka_properties,
        .client_id = settings->checker_id,
        .group_id = lane->group_id,
        .tuning = urgent_tuning,
        .tuning_count = sizeof urgent_tuning / sizeof urgent_tuning[0],
        .on_error = on_kafka_error,
    };
    lane->consumer = kafka_client_new_consumer(&spec, error_buffer, error_size, usage_error);
    if (lane->taken == NULL || lane->consumer == NULL) {
        urgent_lane_free(lane);
        return NULL;
    }
    rd_kafka_queue_t *queue = rd_kafka_queue_get_consumer(lane->consumer);
    if (queue == NULL) {
        snprintf(error_buffer, error_size, "rd_kafka_queue_get_consumer failed");
        urgent_lane_free(lane);
        return NULL;
    }
    static const char wake_byte[] = "u";
    rd_kafka_queue_io_event_enable(queue, wake_fd, wake_byte, 1);
    rd_kafka_queue_destroy(queue); /* the handle only */
    if (!kafka_client_subscribe(lane->consumer, settings->topic_urgent_checks, error_buffer,
                                error_size)) {
        urgent_lane_free(lane);
        return NULL;
    }
    log_info("urgent lane subscribed", "{s:s, s:s}", "topic", settings->topic_urgent_checks,
             "group_id", lane->group_id);
    return lane;
}

rd_kafka_message_t *urgent_lane_poll(urgent_lane *lane, bool *fatal)
{
    rd_kafka_message_t *message;
    while ((message = rd_kafka_consumer_poll(lane->consumer, 0)) != NULL) {
        if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
        if (message->err == RD_KAFKA_RESP_ERR__FATAL) {
            char reason[256];
            rd_kafka_fatal_error(lane->consumer, reason, sizeof reason);
            log_error("urgent lane fatal error", "{s:s}", "error", reason);
            *fatal = true;
        } else if (message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            log_warn("urgent lane consumer error", "{s:s, s:s}", "error",
                     rd_kafka_err2str(message->err), "detail", rd_kafka_message_errstr(message));
        }
        rd_kafka_message_destroy(message);
    }
    if (message == NULL)
        return NULL;
    /* Stored at once (see urgent_lane.h, "Delivery"): the sweep is the backstop. */
    rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR__FAIL;
    rd_kafka_topic_partition_list_t *position = rd_kafka_topic_partition_list_new(1);
    if (position != NULL) {
        rd_kafka_topic_partition_list_add(position, rd_kafka_topic_name(message->rkt),
                                          message->partition)
            ->offset = message->offset + 1;
        error = rd_kafka_offsets_store(lane->consumer, position);
        if (error == RD_KAFKA_RESP_ERR_NO_ERROR)
            error = position->elems[0].err;
        rd_kafka_topic_partition_list_destroy(position);
    }
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR)
        log_warn("urgent lane offset store failed", "{s:s}", "error", rd_kafka_err2str(error));
    metrics_counter_add(lane->taken, 1);
    return message;
}

void urgent_lane_free(urgent_lane *lane)
{
    if (lane == NULL)
        return;
    if (lane->consumer != NULL) {
        rd_kafka_resp_err_t error = rd_kafka_consumer_close(lane->consumer);
        if (error != RD_KAFKA_RESP_ERR_NO_ERROR)
            log_warn("urgent lane close failed", "{s:s}", "error", rd_kafka_err2str(error));
        rd_kafka_destroy(lane->consumer);
    }
    free(lane->group_id);
    free(lane);
}
