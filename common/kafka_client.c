/* kafka_client.c — the producer and group consumer the checker and the actuator share (see
 * kafka_client.h). */
#include "kafka_client.h"

#include "log.h"

#include <stdio.h>
#include <string.h>

static void note_bad_configuration(bool *bad_configuration, bool value)
{
    if (bad_configuration != NULL) {
        *bad_configuration = value;
    }
}

/* The spec's callbacks on conf, then rd_kafka_new, which takes conf over on success; conf is
 * destroyed on failure. */
static rd_kafka_t *create(rd_kafka_type_t type, rd_kafka_conf_t *conf,
                          const kafka_client_spec *spec, char *error_buffer, size_t error_size)
{
    rd_kafka_conf_set_opaque(conf, spec->opaque);
    if (spec->on_error != NULL) {
        rd_kafka_conf_set_error_cb(conf, spec->on_error);
    }
    if (type == RD_KAFKA_PRODUCER && spec->on_delivery != NULL) {
        rd_kafka_conf_set_dr_msg_cb(conf, spec->on_delivery);
    }
    if (type == RD_KAFKA_CONSUMER && spec->on_rebalance != NULL) {
        rd_kafka_conf_set_rebalance_cb(conf, spec->on_rebalance);
    }
    char reason[256]; /* shorter than error_buffer, so the message is never cut */
    rd_kafka_t *client = rd_kafka_new(type, conf, reason, sizeof reason);
    if (client == NULL) {
        snprintf(error_buffer, error_size, "rd_kafka_new(%s) failed: %s",
                 type == RD_KAFKA_PRODUCER ? "producer" : "consumer", reason);
        rd_kafka_conf_destroy(conf);
    }
    return client;
}

rd_kafka_t *kafka_client_new_producer(const kafka_client_spec *spec, char *error_buffer,
                                      size_t error_size, bool *bad_configuration)
{
    rd_kafka_conf_t *conf = kafka_config_new_producer(spec->common, spec->properties,
                                                      spec->client_id, error_buffer, error_size);
    note_bad_configuration(bad_configuration, conf == NULL);
    return conf != NULL ? create(RD_KAFKA_PRODUCER, conf, spec, error_buffer, error_size) : NULL;
}

rd_kafka_t *kafka_client_new_consumer(const kafka_client_spec *spec, char *error_buffer,
                                      size_t error_size, bool *bad_configuration)
{
    /* Layers: base and the shared consumer defaults, then the program's own tuning, then the
     * operator's properties (so an operator can still tune every one of them), and the locked
     * properties checked on the result. */
    rd_kafka_conf_t *conf = kafka_config_new_consumer(spec->common, NULL, spec->client_id,
                                                      spec->group_id, error_buffer, error_size);
    bool ok = conf != NULL;
    for (size_t index = 0; ok && index < spec->tuning_count; index++) {
        ok = kafka_config_set(conf, spec->tuning[index].name, spec->tuning[index].value,
                              error_buffer, error_size);
    }
    ok = ok && kafka_config_apply_properties(conf, spec->properties, error_buffer, error_size) &&
         kafka_config_verify_locked(conf, CONFIG_KAFKA_ROLE_CONSUMER, error_buffer, error_size);
    note_bad_configuration(bad_configuration, !ok);
    if (!ok) {
        if (conf != NULL) {
            rd_kafka_conf_destroy(conf);
        }
        return NULL;
    }
    rd_kafka_t *consumer = create(RD_KAFKA_CONSUMER, conf, spec, error_buffer, error_size);
    if (consumer == NULL) {
        return NULL;
    }
    /* Route the main queue (rebalances, errors) through rd_kafka_consumer_poll, so one poll
     * serves messages and the group alike. */
    rd_kafka_resp_err_t error = rd_kafka_poll_set_consumer(consumer);
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(error_buffer, error_size, "rd_kafka_poll_set_consumer failed: %s",
                 rd_kafka_err2str(error));
        rd_kafka_destroy(consumer);
        return NULL;
    }
    return consumer;
}

bool kafka_client_subscribe(rd_kafka_t *consumer, const char *topic, char *error_buffer,
                            size_t error_size)
{
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    if (topics == NULL) {
        snprintf(error_buffer, error_size, "rd_kafka_topic_partition_list_new: out of memory");
        return false;
    }
    rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t error = rd_kafka_subscribe(consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(error_buffer, error_size, "rd_kafka_subscribe(%s) failed: %s", topic,
                 rd_kafka_err2str(error));
        return false;
    }
    return true;
}

bool kafka_partition_listed(const rd_kafka_topic_partition_list_t *partitions, const char *topic,
                            int32_t partition)
{
    for (int index = 0; index < partitions->cnt; index++) {
        const rd_kafka_topic_partition_t *listed = &partitions->elems[index];
        if (listed->partition == partition &&
            (topic == NULL || strcmp(listed->topic, topic) == 0)) {
            return true;
        }
    }
    return false;
}

/* Logs a failed rebalance call; true when there was none. */
static bool call_succeeded(const char *call, rd_kafka_resp_err_t error,
                           rd_kafka_error_t *incremental_error)
{
    if (incremental_error != NULL) {
        log_error("rebalance call failed", "{s:s, s:s}", "call", call, "detail",
                  rd_kafka_error_string(incremental_error));
        rd_kafka_error_destroy(incremental_error);
        return false;
    }
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_error("rebalance call failed", "{s:s, s:s}", "call", call, "detail",
                  rd_kafka_err2str(error));
        return false;
    }
    return true;
}

bool kafka_rebalance_apply(rd_kafka_t *consumer, rd_kafka_resp_err_t event,
                           rd_kafka_topic_partition_list_t *partitions)
{
    bool cooperative = strcmp(rd_kafka_rebalance_protocol(consumer), "COOPERATIVE") == 0;
    if (event == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        return cooperative
                   ? call_succeeded("rd_kafka_incremental_assign", RD_KAFKA_RESP_ERR_NO_ERROR,
                                    rd_kafka_incremental_assign(consumer, partitions))
                   : call_succeeded("rd_kafka_assign", rd_kafka_assign(consumer, partitions), NULL);
    }
    if (event == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        return cooperative
                   ? call_succeeded("rd_kafka_incremental_unassign", RD_KAFKA_RESP_ERR_NO_ERROR,
                                    rd_kafka_incremental_unassign(consumer, partitions))
                   : call_succeeded("rd_kafka_assign(NULL)", rd_kafka_assign(consumer, NULL), NULL);
    }
    /* An error event: the assignment is in doubt, so give it all up; the group hands it out
     * again at the next rebalance. */
    log_error("rebalance error", "{s:s}", "detail", rd_kafka_err2str(event));
    call_succeeded("rd_kafka_assign(NULL)", rd_kafka_assign(consumer, NULL), NULL);
    return false;
}

void kafka_client_learn_topic(rd_kafka_t *client, const char *topic)
{
    rd_kafka_topic_t *handle = rd_kafka_topic_new(client, topic, NULL);
    rd_kafka_resp_err_t error = rd_kafka_last_error();
    if (handle != NULL) {
        const struct rd_kafka_metadata *metadata = NULL;
        error = rd_kafka_metadata(client, 0, handle, &metadata, KAFKA_LEARN_TOPIC_TIMEOUT_MS);
        if (error == RD_KAFKA_RESP_ERR_NO_ERROR)
            error = metadata->topic_cnt == 1 ? metadata->topics[0].err
                                             : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
        if (metadata != NULL)
            rd_kafka_metadata_destroy(metadata);
        rd_kafka_topic_destroy(handle); /* librdkafka keeps the topic and what it learned */
    }
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR)
        log_warn("topic not known yet; the first messages to it wait for librdkafka to learn it",
                 "{s:s, s:s}", "topic", topic, "error", rd_kafka_err2str(error));
}
