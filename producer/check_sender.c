/* check_sender.c — the idempotent Kafka producer of CheckRequests, with delivery reports
 * counted per batch.
 *
 * For: configuring and creating the producer, enqueueing messages, waiting for reports,
 * shutting down with a bounded flush. Not for: deciding what to send (sweep.c). Every
 * librdkafka call that can fail is checked and its failure named with the call and
 * rd_kafka_err2str. */
#include "check_sender.h"

#include "kafka_client.h"

#include "kafka_config.h"
#include "log.h"
#include "timeutil.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long one wait step blocks: short, so SIGTERM is seen within ~100 ms. */
#define WAIT_STEP_MS 100

struct check_sender {
    rd_kafka_t *kafka;
    char *topic;
    const volatile sig_atomic_t *stop_requested;
    void (*idle)(void *context);
    void *idle_context;

    uint64_t batch; /* current batch number; messages carry it as their opaque */
    int64_t sent;
    int64_t delivered;
    int64_t failed;
    rd_kafka_resp_err_t first_error;

    int64_t message_timeout_ms; /* effective message.timeout.ms */
    bool fatal;
    char fatal_reason[512];
};

static bool stop_requested(const check_sender *sender)
{
    return sender->stop_requested != NULL && *sender->stop_requested;
}

static void idle(check_sender *sender)
{
    if (sender->idle != NULL) {
        sender->idle(sender->idle_context);
    }
}

/* Delivery report: the only proof that a message was written (acks=all). */
static void on_delivery(rd_kafka_t *kafka, const rd_kafka_message_t *message, void *opaque)
{
    (void)kafka;
    check_sender *sender = opaque;
    uint64_t batch = (uint64_t)(uintptr_t)message->_private;
    if (batch != sender->batch) {
        /* A batch the sweep already gave up on; it was counted as failed then. */
        return;
    }
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (sender->failed == 0) {
            sender->first_error = message->err;
        }
        sender->failed++;
        return;
    }
    sender->delivered++;
}

/* Client-level errors: mostly transient (a broker down, reconnecting), logged for operators;
 * the sweep learns about them through its delivery reports. A fatal error makes the
 * instance unusable, which the loop handles by replacing it. */
static void on_error(rd_kafka_t *kafka, int error, const char *reason, void *opaque)
{
    check_sender *sender = opaque;
    if (error == RD_KAFKA_RESP_ERR__FATAL) {
        char detail[400];
        rd_kafka_resp_err_t original = rd_kafka_fatal_error(kafka, detail, sizeof detail);
        snprintf(sender->fatal_reason, sizeof sender->fatal_reason, "%s: %s",
                 rd_kafka_err2name(original), detail);
        sender->fatal = true;
        log_error("kafka fatal error", "{s:s, s:s}", "error", rd_kafka_err2name(original), "detail",
                  detail);
        return;
    }
    log_warn("kafka error", "{s:s, s:s}", "error", rd_kafka_err2name((rd_kafka_resp_err_t)error),
             "detail", reason != NULL ? reason : "");
}

/* Builds the conf in layers: common base + producer defaults (idempotent, acks=all, linger),
 * then the bounds below, then the operator's properties so that they win over ours. Returns
 * the conf or NULL with the reason. */
static rd_kafka_conf_t *build_conf(const check_sender_options *options, char *error_buffer,
                                   size_t error_size)
{
    rd_kafka_conf_t *conf = kafka_config_new_producer(options->common, NULL, options->client_id,
                                                      error_buffer, error_size);
    if (conf == NULL) {
        return NULL;
    }
    char timeout_text[32];
    snprintf(timeout_text, sizeof timeout_text, "%" PRId64, options->message_timeout_ms);
    const kafka_config_default ours[] = {
        /* Memory stays flat whatever the fleet size: at most 20000 messages or 16 MiB wait
         * in the local queue (about 150 bytes each); a sweep beyond that waits for the
         * broker (QUEUE_FULL is waited out), it does not grow. */
        {"queue.buffering.max.messages", "20000"},
        {"queue.buffering.max.kbytes", "16384"},
        /* A CheckRequest not delivered by its deadline is worthless: fail it then. */
        {"message.timeout.ms", timeout_text},
    };
    bool ok = true;
    for (size_t i = 0; ok && i < sizeof ours / sizeof ours[0]; i++) {
        ok = kafka_config_set(conf, ours[i].name, ours[i].value, error_buffer, error_size);
    }
    ok = ok &&
         kafka_config_apply_properties(conf, options->kafka_properties, error_buffer, error_size) &&
         kafka_config_verify_locked(conf, CONFIG_KAFKA_ROLE_PRODUCER, error_buffer, error_size);
    if (!ok) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

check_sender *check_sender_new(const check_sender_options *options, char *error_buffer,
                               size_t error_size)
{
    rd_kafka_conf_t *conf = NULL;
    check_sender *sender = calloc(1, sizeof *sender);
    if (sender == NULL || (sender->topic = strdup(options->common->topic_checks)) == NULL) {
        snprintf(error_buffer, error_size, "check_sender_new: out of memory");
        goto fail;
    }
    sender->stop_requested = options->stop_requested;
    sender->idle = options->idle;
    sender->idle_context = options->idle_context;

    conf = build_conf(options, error_buffer, error_size);
    if (conf == NULL) {
        goto fail;
    }
    /* Read back the effective value: the operator may have overridden ours. */
    char effective[32];
    size_t effective_size = sizeof effective;
    if (rd_kafka_conf_get(conf, "message.timeout.ms", effective, &effective_size) !=
        RD_KAFKA_CONF_OK) {
        snprintf(error_buffer, error_size, "rd_kafka_conf_get(message.timeout.ms): unknown");
        goto fail;
    }
    sender->message_timeout_ms = strtoll(effective, NULL, 10);
    rd_kafka_conf_set_opaque(conf, sender);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);

    char reason[512];
    sender->kafka = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason);
    if (sender->kafka == NULL) {
        snprintf(error_buffer, error_size, "rd_kafka_new: %s", reason);
        goto fail; /* the conf is not taken over on failure */
    }
    conf = NULL; /* now owned by sender->kafka */
    kafka_client_learn_topic(sender->kafka, sender->topic);
    return sender;

fail:
    if (conf != NULL) {
        rd_kafka_conf_destroy(conf);
    }
    if (sender != NULL) {
        free(sender->topic);
        free(sender);
    }
    return NULL;
}

int check_sender_flush(check_sender *sender, int64_t flush_timeout_ms)
{
    int64_t deadline = time_now_monotonic_ms() + flush_timeout_ms;
    while (rd_kafka_outq_len(sender->kafka) > 0 && time_now_monotonic_ms() < deadline) {
        /* RD_KAFKA_RESP_ERR__TIMED_OUT here only means "not yet": the loop bounds it. */
        (void)rd_kafka_flush(sender->kafka, WAIT_STEP_MS);
    }
    return rd_kafka_outq_len(sender->kafka);
}

void check_sender_free(check_sender *sender)
{
    if (sender == NULL) {
        return;
    }
    int left = rd_kafka_outq_len(sender->kafka);
    if (left > 0) {
        log_warn("purging undelivered messages", "{s:i}", "outstanding", left);
        rd_kafka_resp_err_t error =
            rd_kafka_purge(sender->kafka, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
            log_warn("kafka purge failed", "{s:s, s:s}", "call", "rd_kafka_purge", "error",
                     rd_kafka_err2str(error));
        }
        /* Serve the purged messages' reports so destroy finds nothing waiting. */
        (void)rd_kafka_poll(sender->kafka, 0);
    }
    rd_kafka_destroy(sender->kafka);
    free(sender->topic);
    free(sender);
}

int64_t check_sender_message_timeout_ms(const check_sender *sender)
{
    return sender->message_timeout_ms;
}

void check_sender_wait(check_sender *sender, int timeout_ms)
{
    (void)rd_kafka_poll(sender->kafka, timeout_ms);
}

void check_sender_begin_batch(check_sender *sender)
{
    sender->batch++;
    sender->sent = 0;
    sender->delivered = 0;
    sender->failed = 0;
    sender->first_error = RD_KAFKA_RESP_ERR_NO_ERROR;
}

bool check_sender_batch_failed(const check_sender *sender)
{
    return sender->failed > 0;
}

check_sender_counts check_sender_batch_counts(const check_sender *sender)
{
    return (check_sender_counts){
        .sent = sender->sent, .delivered = sender->delivered, .failed = sender->failed};
}

bool check_sender_is_fatal(const check_sender *sender, char *error_buffer, size_t error_size)
{
    if (sender->fatal) {
        snprintf(error_buffer, error_size, "%s", sender->fatal_reason);
    }
    return sender->fatal;
}

static void describe_delivery_failure(const check_sender *sender, char *error_buffer,
                                      size_t error_size)
{
    snprintf(error_buffer, error_size,
             "delivery report: %s (%" PRId64 " of %" PRId64 " messages failed)",
             rd_kafka_err2str(sender->first_error), sender->failed, sender->sent);
}

sweep_result check_sender_send(check_sender *sender, const char *key, const void *value,
                               size_t length, char *error_buffer, size_t error_size)
{
    for (;;) {
        rd_kafka_resp_err_t error = rd_kafka_producev(
            sender->kafka, RD_KAFKA_V_TOPIC(sender->topic), RD_KAFKA_V_KEY(key, strlen(key)),
            RD_KAFKA_V_VALUE((void *)value, length), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_OPAQUE((void *)(uintptr_t)sender->batch), RD_KAFKA_V_END);
        if (error == RD_KAFKA_RESP_ERR_NO_ERROR) {
            sender->sent++;
            /* Serve reports as we go so the queue drains and failures surface early. */
            (void)rd_kafka_poll(sender->kafka, 0);
            return SWEEP_OK;
        }
        if (error != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            snprintf(error_buffer, error_size, "rd_kafka_producev: %s", rd_kafka_err2str(error));
            return SWEEP_ERROR_KAFKA_PRODUCE;
        }
        /* The local queue is at its bound: wait for the broker to take some. If reports are
         * failing meanwhile, the broker is not taking any; stop the sweep instead. */
        if (check_sender_batch_failed(sender)) {
            describe_delivery_failure(sender, error_buffer, error_size);
            return SWEEP_ERROR_KAFKA_DELIVERY;
        }
        if (stop_requested(sender)) {
            snprintf(error_buffer, error_size, "stop requested while the queue was full");
            return SWEEP_INTERRUPTED;
        }
        (void)rd_kafka_poll(sender->kafka, WAIT_STEP_MS);
        idle(sender);
    }
}

sweep_result check_sender_finish_batch(check_sender *sender, int64_t timeout_ms, char *error_buffer,
                                       size_t error_size)
{
    int64_t deadline = time_now_monotonic_ms() + timeout_ms;
    while (sender->delivered + sender->failed < sender->sent) {
        if (stop_requested(sender)) {
            snprintf(error_buffer, error_size,
                     "stop requested with %" PRId64 " delivery reports outstanding",
                     sender->sent - sender->delivered - sender->failed);
            return SWEEP_INTERRUPTED;
        }
        if (time_now_monotonic_ms() >= deadline) {
            snprintf(error_buffer, error_size,
                     "rd_kafka_flush: %" PRId64 " of %" PRId64
                     " delivery reports still missing after %" PRId64 " ms",
                     sender->sent - sender->delivered - sender->failed, sender->sent, timeout_ms);
            return SWEEP_ERROR_KAFKA_FLUSH_TIMEOUT;
        }
        /* flush sends lingering batches at once and serves the reports; its
         * RD_KAFKA_RESP_ERR__TIMED_OUT only means "more to come": the loop decides. */
        (void)rd_kafka_flush(sender->kafka, WAIT_STEP_MS);
        idle(sender);
    }
    if (sender->failed > 0) {
        describe_delivery_failure(sender, error_buffer, error_size);
        return SWEEP_ERROR_KAFKA_DELIVERY;
    }
    return SWEEP_OK;
}
