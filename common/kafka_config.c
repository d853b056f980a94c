/* kafka_config.c — rd_kafka_conf_t from our settings, with a reason for every property.
 *
 * For: the producer and consumer defaults every program shares, the operator's pass-through
 * properties, and routing librdkafka's logs into our JSON log. Not for: creating clients,
 * topics, or the delivery/rebalance logic of any program. */
#include "kafka_config.h"

#include "log.h"

#include <stdio.h>
#include <string.h>

/* Copies `text` into `buffer`, replacing every occurrence of `secret` with <masked>. Used on
 * librdkafka's error strings, which may quote the value they rejected. */
static void copy_masked(const char *text, const char *secret, char *buffer, size_t size)
{
    size_t secret_length = secret != NULL ? strlen(secret) : 0;
    size_t used = 0;
    while (*text != '\0' && used + 1 < size) {
        if (secret_length > 0 && strncmp(text, secret, secret_length) == 0) {
            int written = snprintf(buffer + used, size - used, "<masked>");
            if (written < 0 || (size_t)written >= size - used) {
                used = size - 1;
                break;
            }
            used += (size_t)written;
            text += secret_length;
        } else {
            buffer[used++] = *text++;
        }
    }
    buffer[used] = '\0';
}

bool kafka_config_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                      char *error_buffer, size_t error_size)
{
    char reason[512];
    if (rd_kafka_conf_set(conf, name, value, reason, sizeof reason) == RD_KAFKA_CONF_OK) {
        return true;
    }
    if (error_buffer != NULL && error_size > 0) {
        char safe_reason[512];
        copy_masked(reason, config_kafka_property_is_secret(name) ? value : NULL, safe_reason,
                    sizeof safe_reason);
        snprintf(error_buffer, error_size, "kafka property '%s': %s", name, safe_reason);
    }
    return false;
}

bool kafka_config_apply_properties(rd_kafka_conf_t *conf, const config_kafka_properties *properties,
                                   char *error_buffer, size_t error_size)
{
    if (properties == NULL) {
        return true;
    }
    for (size_t i = 0; i < properties->count; i++) {
        if (!kafka_config_set(conf, properties->items[i].name, properties->items[i].value,
                              error_buffer, error_size)) {
            return false;
        }
    }
    return true;
}

void kafka_config_log(const rd_kafka_t *kafka, int level, const char *facility, const char *message)
{
    log_level ours = level <= 3   ? LOG_LEVEL_ERROR
                     : level == 4 ? LOG_LEVEL_WARN
                     : level <= 6 ? LOG_LEVEL_INFO
                                  : LOG_LEVEL_DEBUG;
    if (!log_enabled(ours)) {
        return;
    }
    log_at(ours, "librdkafka", "{s:s, s:s, s:s, s:i}", "kafka_client",
           kafka != NULL ? rd_kafka_name(kafka) : "", "facility", facility != NULL ? facility : "",
           "detail", message != NULL ? message : "", "syslog_level", level);
}

rd_kafka_conf_t *kafka_config_new_with_defaults(const common_settings *common,
                                                const config_kafka_properties *properties,
                                                const char *client_id,
                                                const kafka_config_default *defaults,
                                                size_t default_count, char *error_buffer,
                                                size_t error_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (conf == NULL) {
        snprintf(error_buffer, error_size, "kafka configuration: out of memory");
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, kafka_config_log);

    bool ok = true;
    if (common != NULL && common->kafka_bootstrap_servers != NULL &&
        common->kafka_bootstrap_servers[0] != '\0') {
        ok = kafka_config_set(conf, "bootstrap.servers", common->kafka_bootstrap_servers,
                              error_buffer, error_size);
    }
    if (ok && client_id != NULL && client_id[0] != '\0') {
        ok = kafka_config_set(conf, "client.id", client_id, error_buffer, error_size);
    }
    for (size_t i = 0; ok && defaults != NULL && i < default_count; i++) {
        ok = kafka_config_set(conf, defaults[i].name, defaults[i].value, error_buffer, error_size);
    }
    /* Last, so that an operator can override every choice above. */
    ok = ok && kafka_config_apply_properties(conf, properties, error_buffer, error_size);
    if (!ok) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

rd_kafka_conf_t *kafka_config_new(const common_settings *common,
                                  const config_kafka_properties *properties, const char *client_id,
                                  char *error_buffer, size_t error_size)
{
    return kafka_config_new_with_defaults(common, properties, client_id, NULL, 0, error_buffer,
                                          error_size);
}

rd_kafka_conf_t *kafka_config_new_producer(const common_settings *common,
                                           const config_kafka_properties *properties,
                                           const char *client_id, char *error_buffer,
                                           size_t error_size)
{
    static const kafka_config_default producer_defaults[] = {
        /* Retries after a lost ack neither duplicate nor reorder messages in a partition. */
        {"enable.idempotence", "true"},
        /* A delivery report means every in-sync replica has the message, so it survives a
         * broker loss; we count nothing done before that report. (Idempotence needs it.) */
        {"acks", "all"},
        /* Wait up to 5 ms to fill batches: invisible next to a CP round trip, and a sweep of
         * thousands of CheckRequests goes out in few requests. */
        {"linger.ms", "5"},
    };
    return kafka_config_new_with_defaults(common, properties, client_id, producer_defaults,
                                          sizeof producer_defaults / sizeof producer_defaults[0],
                                          error_buffer, error_size);
}

rd_kafka_conf_t *kafka_config_new_consumer(const common_settings *common,
                                           const config_kafka_properties *properties,
                                           const char *client_id, const char *group_id,
                                           char *error_buffer, size_t error_size)
{
    if (group_id == NULL || group_id[0] == '\0') {
        snprintf(error_buffer, error_size, "kafka property 'group.id': must not be empty");
        return NULL;
    }
    const kafka_config_default consumer_defaults[] = {
        /* All instances of a program share the partitions of their topic. */
        {"group.id", group_id},
        /* Commit in the background whatever offsets the program has stored... */
        {"enable.auto.commit", "true"},
        /* ...and store none automatically: the program stores a message's offset only after
         * its output is durable (delivery report, DB commit). That is at-least-once. */
        {"enable.auto.offset.store", "false"},
        /* A new group starts at the beginning of each partition, so nothing enqueued before
         * the first deployment is skipped. */
        {"auto.offset.reset", "earliest"},
        /* partition.assignment.strategy stays librdkafka's default (range,roundrobin: eager
         * rebalancing): simple to reason about, and our work items are short. */
    };
    return kafka_config_new_with_defaults(common, properties, client_id, consumer_defaults,
                                          sizeof consumer_defaults / sizeof consumer_defaults[0],
                                          error_buffer, error_size);
}
