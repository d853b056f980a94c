/* dlq.c — see dlq.h. One producev call per rejected message: the original key and value
 * copied byte for byte, the provenance and the error in headers.
 *
 * For: any program that meets input it cannot decode (the checker on reconciler.checks, the
 * actuator on reconciler.verdicts). Not for: deciding what is undecodable, or retrying: the
 * caller keeps the source message until the delivery report arrives and sends it again on
 * failure. */
#include "dlq.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

rd_kafka_resp_err_t dlq_send(rd_kafka_t *producer, const char *dlq_topic,
                             const rd_kafka_message_t *source, const char *program,
                             const char *error_name, const char *error_detail,
                             void *delivery_opaque)
{
    if (producer == NULL || dlq_topic == NULL || source == NULL)
        return RD_KAFKA_RESP_ERR__INVALID_ARG;

    /* The original headers are kept (an operator may need them to replay the record), minus
     * any that pose as ours: ours must be the only ones with those names. */
    rd_kafka_headers_t *headers = NULL;
    rd_kafka_headers_t *source_headers = NULL; /* still owned by the source message */
    if (rd_kafka_message_headers(source, &source_headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        source_headers != NULL)
        headers = rd_kafka_headers_copy(source_headers);
    else
        headers = rd_kafka_headers_new(6);
    if (headers == NULL)
        return RD_KAFKA_RESP_ERR__FAIL;

    const char *source_topic = source->rkt != NULL ? rd_kafka_topic_name(source->rkt) : "";
    char partition_text[16];
    char offset_text[24];
    snprintf(partition_text, sizeof partition_text, "%" PRId32, source->partition);
    snprintf(offset_text, sizeof offset_text, "%" PRId64, source->offset);

    const struct {
        const char *name;
        const char *value;
    } header_values[] = {
        {"reconciler.source.topic", source_topic},
        {"reconciler.source.partition", partition_text},
        {"reconciler.source.offset", offset_text},
        {"reconciler.error", error_name != NULL ? error_name : "unknown"},
        {"reconciler.error.detail", error_detail != NULL ? error_detail : ""},
        {"reconciler.program", program != NULL ? program : ""},
    };
    for (size_t index = 0; index < sizeof header_values / sizeof header_values[0]; index++)
        (void)rd_kafka_header_remove(headers, header_values[index].name); /* absent is fine */
    for (size_t index = 0; index < sizeof header_values / sizeof header_values[0]; index++) {
        /* -1: the value is a NUL-terminated string. */
        rd_kafka_resp_err_t error = rd_kafka_header_add(headers, header_values[index].name, -1,
                                                        header_values[index].value, -1);
        if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_headers_destroy(headers);
            return error;
        }
    }

    /* RD_KAFKA_MSG_F_COPY: the source message may be destroyed as soon as this returns.
     * A NULL value (tombstone) stays NULL, an empty key stays empty: byte for byte. No
     * partition is named: the DLQ is usually one partition, and the original key decides
     * otherwise. */
    rd_kafka_resp_err_t error = rd_kafka_producev(
        producer, RD_KAFKA_V_TOPIC(dlq_topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(source->key, source->key_len),
        RD_KAFKA_V_VALUE(source->payload, source->len), RD_KAFKA_V_HEADERS(headers),
        RD_KAFKA_V_OPAQUE(delivery_opaque), RD_KAFKA_V_END);
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
        /* On failure the headers were not taken over by librdkafka. */
        rd_kafka_headers_destroy(headers);
    }
    /* On success the headers now belong to the message: headers = NULL in spirit. */
    return error;
}
