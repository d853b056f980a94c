/* kafka_client.h — the Kafka clients the checker and the actuator both build: an
 * at-least-once producer and a group consumer, with their callbacks, and the rebalance
 * plumbing that does not depend on what the program holds.
 *
 * For: one way to create each client (configuration layers from kafka_config.h, the program's
 * callbacks, the consumer's main queue routed through rd_kafka_consumer_poll), to subscribe,
 * to apply a rebalance under either protocol, and to ask whether a revoked list holds a
 * partition. Not for: what a program does on a rebalance (its own callback decides that and
 * calls kafka_rebalance_apply), nor the producer's sweep (producer/check_sender.c). */
#ifndef RECONCILER_KAFKA_CLIENT_H
#define RECONCILER_KAFKA_CLIENT_H

#include "config.h"
#include "kafka_config.h"

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void kafka_delivery_callback(rd_kafka_t *producer, const rd_kafka_message_t *message,
                                     void *opaque);
typedef void kafka_error_callback(rd_kafka_t *kafka, int error, const char *reason, void *opaque);
typedef void kafka_rebalance_callback(rd_kafka_t *consumer, rd_kafka_resp_err_t event,
                                      rd_kafka_topic_partition_list_t *partitions, void *opaque);

/* What a program asks for. Fields of the other role are ignored. */
typedef struct {
    const common_settings *common;             /* bootstrap servers */
    const config_kafka_properties *properties; /* the operator's, applied last; may be NULL */
    const char *client_id;                     /* the program's instance id */
    void *opaque;                              /* handed to every callback */
    kafka_error_callback *on_error;            /* NULL = librdkafka logs errors itself */
    /* producer */
    kafka_delivery_callback *on_delivery; /* NULL = no delivery reports */
    /* consumer */
    const char *group_id;
    /* The program's own tuning, between the shared consumer defaults and the operator's
     * properties (so an operator can still change every one): tuning_count rows. */
    const kafka_config_default *tuning;
    size_t tuning_count;
    kafka_rebalance_callback *on_rebalance; /* NULL = librdkafka assigns by itself */
} kafka_client_spec;

/* An idempotent, acks=all producer (kafka_config_new_producer) with the spec's callbacks.
 * NULL with the reason in error_buffer; *bad_configuration (may be NULL) then says whether a
 * property was refused (a usage error, exit 2) rather than the client failing to start. */
rd_kafka_t *kafka_client_new_producer(const kafka_client_spec *spec, char *error_buffer,
                                      size_t error_size, bool *bad_configuration);

/* An at-least-once group consumer (kafka_config_new_consumer, then spec->tuning, then the
 * operator's properties, the locked ones verified last) whose main queue (rebalances, errors)
 * is served by rd_kafka_consumer_poll. Same failure contract as kafka_client_new_producer. */
rd_kafka_t *kafka_client_new_consumer(const kafka_client_spec *spec, char *error_buffer,
                                      size_t error_size, bool *bad_configuration);

/* Asks the brokers for `topic`'s partitions now, waiting at most
 * KAFKA_LEARN_TOPIC_TIMEOUT_MS, so that the first message produced to it goes out at once.
 * librdkafka otherwise learns a topic first produced by name only at its next one-second
 * topic scan, and the first sweep's messages (or the first verdicts, the first hint) waited
 * up to a second for it (issue #15). A failure (broker down, topic missing) is a warning, not
 * an error: librdkafka still learns the topic later by itself. */
#define KAFKA_LEARN_TOPIC_TIMEOUT_MS 2000
void kafka_client_learn_topic(rd_kafka_t *client, const char *topic);

/* Subscribes the consumer to one topic. false with the reason in error_buffer. */
bool kafka_client_subscribe(rd_kafka_t *consumer, const char *topic, char *error_buffer,
                            size_t error_size);

/* Whether `partitions` lists `partition` of `topic` (NULL = of any topic, for a consumer of
 * one topic). */
bool kafka_partition_listed(const rd_kafka_topic_partition_list_t *partitions, const char *topic,
                            int32_t partition);

/* Applies a rebalance event to the consumer's assignment under the protocol in effect (eager
 * or cooperative: whichever partition.assignment.strategy an operator chose): assigns on
 * ASSIGN_PARTITIONS, unassigns on REVOKE_PARTITIONS, and drops the whole assignment on an
 * error event ("rebalance error"). A failed call is logged ("rebalance call failed", naming
 * the call). true when the assignment changed as asked. Call it from the program's rebalance
 * callback, after or before its own work as that work requires. */
bool kafka_rebalance_apply(rd_kafka_t *consumer, rd_kafka_resp_err_t event,
                           rd_kafka_topic_partition_list_t *partitions);

#endif
