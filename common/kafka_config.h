/* kafka_config.h — librdkafka configuration from our settings.
 *
 * Builds an rd_kafka_conf_t in three layers, later layers winning:
 *   1. base: bootstrap.servers from common_settings, client.id, and a log callback that turns
 *      librdkafka's log lines into our JSON log lines;
 *   2. the role's defaults (kafka_config_new_producer / _consumer, or the caller's own list);
 *   3. the operator's properties (--kafka-prop, RECONCILER_KAFKA_*), applied last so an
 *      operator can override anything, including our defaults — except the locked properties
 *      below, which a program refuses at start (exit 2) rather than lose messages.
 * Every failure names the property: "kafka property 'acks': Invalid value ..." — with the value
 * masked when the property's name suggests a secret.
 *
 * Not for: creating the rd_kafka_t, topics or callbacks other than logging; programs add their
 * delivery-report, rebalance and error callbacks to the returned conf. */
#ifndef RECONCILER_KAFKA_CONFIG_H
#define RECONCILER_KAFKA_CONFIG_H

#include "config.h"
#include "kafka_properties.h"

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *name;
    const char *value;
} kafka_config_default;

/* Sets one property. false with "kafka property '<name>': <librdkafka's reason>" in
 * error_buffer (a secret-looking property's value is never echoed). */
bool kafka_config_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                      char *error_buffer, size_t error_size);

/* Applies the operator's properties in order; stops at the first failure. */
bool kafka_config_apply_properties(rd_kafka_conf_t *conf, const config_kafka_properties *properties,
                                   char *error_buffer, size_t error_size);

/* Layers 1, then `defaults` (default_count rows; may be NULL/0), then `properties` (may be
 * NULL). client_id may be NULL (librdkafka's default). Returns a new conf owned by the caller
 * (rd_kafka_new takes it over), or NULL with the reason in error_buffer. */
rd_kafka_conf_t *kafka_config_new_with_defaults(const common_settings *common,
                                                const config_kafka_properties *properties,
                                                const char *client_id,
                                                const kafka_config_default *defaults,
                                                size_t default_count, char *error_buffer,
                                                size_t error_size);

/* Base and operator properties only, for clients with no role defaults. */
rd_kafka_conf_t *kafka_config_new(const common_settings *common,
                                  const config_kafka_properties *properties, const char *client_id,
                                  char *error_buffer, size_t error_size);

/* An idempotent, acks=all producer (see kafka_config.c for why each default). Refuses (NULL
 * with the reason) a configuration that changes a locked producer property. */
rd_kafka_conf_t *kafka_config_new_producer(const common_settings *common,
                                           const config_kafka_properties *properties,
                                           const char *client_id, char *error_buffer,
                                           size_t error_size);

/* An at-least-once group consumer: offsets are stored only by the program, after a message's
 * output is durable (rd_kafka_offsets_store), and committed in the background. Refuses (NULL
 * with the reason) a configuration that changes a locked consumer property. */
rd_kafka_conf_t *kafka_config_new_consumer(const common_settings *common,
                                           const config_kafka_properties *properties,
                                           const char *client_id, const char *group_id,
                                           char *error_buffer, size_t error_size);

/* Checks a finished configuration (after every layer) against the locked properties of
 * `roles`: the same rule enforced where the client is built, whoever assembled the conf.
 * false with "kafka property '<name>' must be <value>: <why>". */
bool kafka_config_verify_locked(const rd_kafka_conf_t *conf, unsigned roles, char *error_buffer,
                                size_t error_size);

/* The log callback installed by every constructor above (exposed for tests and for confs
 * built elsewhere): syslog levels 0-3 -> error, 4 -> warn, 5-6 -> info, 7 -> debug. */
void kafka_config_log(const rd_kafka_t *kafka, int level, const char *facility,
                      const char *message);

#endif
