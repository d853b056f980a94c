/* dlq.h — sending undecodable input to the dead-letter topic (docs/contracts.md §5).
 *
 * The DLQ record keeps the original key and value byte for byte and adds headers an
 * operator can read without our code:
 *   reconciler.source.topic      original topic
 *   reconciler.source.partition  decimal
 *   reconciler.source.offset     decimal
 *   reconciler.error             stable error name (e.g. codec "bad_magic")
 *   reconciler.error.detail      one human sentence, never a secret or a body echo
 *   reconciler.program           which program rejected it
 * The caller must not commit (store) the source offset until the DLQ record's delivery
 * report says it is written: the opaque passed here comes back in the producer's delivery
 * report callback (rd_kafka_message_t._private) so the caller can do exactly that. */
#ifndef RECONCILER_DLQ_H
#define RECONCILER_DLQ_H

#include <librdkafka/rdkafka.h>

/* Enqueues the DLQ record on `producer`. Returns RD_KAFKA_RESP_ERR_NO_ERROR or the
 * librdkafka error of rd_kafka_producev (the caller logs it and retries later). */
rd_kafka_resp_err_t dlq_send(rd_kafka_t *producer, const char *dlq_topic,
                             const rd_kafka_message_t *source, const char *program,
                             const char *error_name, const char *error_detail,
                             void *delivery_opaque);

#endif
