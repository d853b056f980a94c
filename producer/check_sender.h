/* check_sender.h — the producer's Kafka side: an idempotent producer whose delivery reports
 * are counted per batch (one batch per sweep).
 *
 * For: enqueueing encoded CheckRequests keyed by workspace id, waiting out a full local queue,
 * and telling the sweep whether every message of its batch was confirmed by the broker —
 * a delivery report is the only proof a message was written. Not for: encoding (codec.h) or
 * choosing rows (sweep.c).
 *
 * Batches: each message carries its batch number as its opaque, so a late report of a batch
 * the sweep already gave up on (failed, interrupted) never counts towards the next one.
 * All callbacks run on the caller's thread, inside rd_kafka_poll / rd_kafka_flush. */
#ifndef RECONCILER_PRODUCER_CHECK_SENDER_H
#define RECONCILER_PRODUCER_CHECK_SENDER_H

#include "config.h"
#include "sweep_plan.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const common_settings *common;                   /* bootstrap servers and topic_checks */
    const config_kafka_properties *kafka_properties; /* operator's, applied last */
    const char *client_id;                           /* PRODUCER_ID */
    int64_t message_timeout_ms;                      /* sweep_message_timeout_ms() */
    /* Set by the signal handler; every wait loop here checks it at least every 100 ms. */
    const volatile sig_atomic_t *stop_requested;
    /* Called about every 100 ms while waiting (queue full, flush), e.g. for the liveness
     * heartbeat. May be NULL. */
    void (*idle)(void *context);
    void *idle_context;
} check_sender_options;

typedef struct check_sender check_sender;

/* Builds the librdkafka conf (common/kafka_config: idempotent, acks=all; then the bounds
 * below; then the operator's --kafka-prop) and creates the producer. NULL with
 * "<call or property>: <reason>" in error_buffer. */
check_sender *check_sender_new(const check_sender_options *options, char *error_buffer,
                               size_t error_size);

/* Shutdown, step one: waits up to flush_timeout_ms (checking nothing else: the stop was
 * already requested) for every outstanding message's report. Returns how many are left. */
int check_sender_flush(check_sender *sender, int64_t flush_timeout_ms);

/* Shutdown, last step: purges what is still queued (logged with its count) and destroys the
 * producer. NULL is harmless. */
void check_sender_free(check_sender *sender);

/* The effective message.timeout.ms (ours, or the operator's --kafka-prop): every message has
 * its report by then, so it bounds how long a sweep waits for its batch. */
int64_t check_sender_message_timeout_ms(const check_sender *sender);

/* Serves callbacks for up to timeout_ms: the loop's sleep between events. */
void check_sender_wait(check_sender *sender, int timeout_ms);

/* Starts a new batch: counts restart at zero. */
void check_sender_begin_batch(check_sender *sender);

/* Enqueues one message of the current batch (librdkafka copies key and value). A full local
 * queue is waited out (serving reports). SWEEP_OK; SWEEP_ERROR_KAFKA_PRODUCE (librdkafka
 * refused it); SWEEP_ERROR_KAFKA_DELIVERY (a report of this batch failed while waiting: the
 * broker is not taking messages, sending more is pointless); SWEEP_INTERRUPTED. */
sweep_result check_sender_send(check_sender *sender, const char *key, const void *value,
                               size_t length, char *error_buffer, size_t error_size);

/* True once a report of the current batch carried an error. */
bool check_sender_batch_failed(const check_sender *sender);

/* Waits (up to timeout_ms) until every message of the batch has its report. SWEEP_OK only
 * when all arrived without error; SWEEP_ERROR_KAFKA_DELIVERY (first error named in
 * error_buffer), SWEEP_ERROR_KAFKA_FLUSH_TIMEOUT, or SWEEP_INTERRUPTED. */
sweep_result check_sender_finish_batch(check_sender *sender, int64_t timeout_ms, char *error_buffer,
                                       size_t error_size);

typedef struct {
    int64_t sent;      /* accepted by librdkafka */
    int64_t delivered; /* confirmed by the broker */
    int64_t failed;    /* reported with an error */
} check_sender_counts;
check_sender_counts check_sender_batch_counts(const check_sender *sender);

/* True after librdkafka raised a fatal error (the idempotent producer can no longer
 * guarantee ordering): the instance is unusable and must be replaced. The reason is copied
 * into error_buffer. */
bool check_sender_is_fatal(const check_sender *sender, char *error_buffer, size_t error_size);

#endif
