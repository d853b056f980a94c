/* kafka_lag.c — see kafka_lag.h. */
#include "kafka_lag.h"

#include "log.h"

bool kafka_consumer_lag(rd_kafka_t *consumer, int64_t *lag)
{
    rd_kafka_topic_partition_list_t *assignment = NULL;
    rd_kafka_resp_err_t error = rd_kafka_assignment(consumer, &assignment);
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_debug("rd_kafka_assignment failed", "{s:s}", "error", rd_kafka_err2str(error));
        return false;
    }
    error = rd_kafka_position(consumer, assignment);
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_debug("rd_kafka_position failed", "{s:s}", "error", rd_kafka_err2str(error));
        rd_kafka_topic_partition_list_destroy(assignment);
        return false;
    }
    int64_t total = 0;
    for (int index = 0; index < assignment->cnt; index++) {
        const rd_kafka_topic_partition_t *element = &assignment->elems[index];
        int64_t low = 0, high = 0;
        if (rd_kafka_get_watermark_offsets(consumer, element->topic, element->partition, &low,
                                           &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
            high < 0) {
            continue;
        }
        int64_t position = element->offset >= 0 ? element->offset : low;
        if (position >= 0 && high > position) {
            total += high - position;
        }
    }
    rd_kafka_topic_partition_list_destroy(assignment);
    *lag = total;
    return true;
}
