/* action_publisher.c — the action outbox's publisher (see action_publisher.h).
 *
 * States: idle -> (claim) in flight -> (all delivery reports) finished -> (mark) idle. A
 * delivery failure releases that row's claim so the next claim sends it again; a marking
 * failure (database down) keeps the finished batch and retries the marking on the next tick
 * before claiming anything new. A claim names the database backend that made it: once that
 * backend is gone (the actuator died, or lost the connection) any actuator of the group takes
 * the rows over at its next scan. Otherwise a claim lasts PUBLISHER_CLAIM_MS, which only
 * matters for a claimer that is alive but unreachable; a duplicate Action is harmless
 * (at-least-once, docs/contracts.md §5). */
#include "action_publisher.h"

#include "codec.h"
#include "log.h"

#include <jansson.h>

#include <stdlib.h>
#include <string.h>

#define PUBLISHER_BATCH 500
#define PUBLISHER_CLAIM_MS 60000
/* Scan interval without a nudge: picks up rows of a crashed actuator of the group, and rows
 * the restart worker wrote when its nudge was missed. */
#define PUBLISHER_SCAN_INTERVAL_MS 1000

typedef struct {
    delivery_tag tag; /* first member: the opaque points here */
    int64_t id;
    bool reported;
    bool delivered;
} batch_entry;

struct action_publisher {
    rd_kafka_t *producer;
    char *topic;
    actuator_store *database;
    char *claimer;
    actuator_metrics *metrics;
    batch_entry *batch; /* the batch in flight or finished; NULL when idle */
    size_t batch_count;
    size_t outstanding; /* entries without a delivery report yet */
    int64_t next_scan_ms;
    bool drained;
};

action_publisher *action_publisher_new(rd_kafka_t *producer, const char *topic,
                                       actuator_store *database, const char *claimer,
                                       actuator_metrics *metrics)
{
    action_publisher *publisher = calloc(1, sizeof *publisher);
    if (publisher == NULL) {
        return NULL;
    }
    publisher->producer = producer;
    publisher->database = database;
    publisher->metrics = metrics;
    publisher->topic = strdup(topic);
    publisher->claimer = strdup(claimer);
    if (publisher->topic == NULL || publisher->claimer == NULL) {
        action_publisher_free(publisher);
        return NULL;
    }
    return publisher;
}

void action_publisher_free(action_publisher *publisher)
{
    if (publisher == NULL) {
        return;
    }
    /* A batch still in flight keeps its entries alive only as long as the producer may call
     * back; the caller destroys the producer (after flushing) before freeing us. */
    free(publisher->batch);
    free(publisher->topic);
    free(publisher->claimer);
    free(publisher);
}

bool action_publisher_idle(const action_publisher *publisher)
{
    return publisher->batch == NULL;
}

bool action_publisher_drained(const action_publisher *publisher)
{
    return publisher->drained && publisher->batch == NULL;
}

void action_publisher_on_delivery(action_publisher *publisher, void *opaque,
                                  rd_kafka_resp_err_t error)
{
    batch_entry *entry = opaque;
    if (entry == NULL || entry->reported) {
        return;
    }
    entry->reported = true;
    entry->delivered = error == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (publisher->outstanding > 0) {
        publisher->outstanding--;
    }
    if (entry->delivered) {
        metrics_counter_add(publisher->metrics->actions_published, 1);
    } else {
        metrics_counter_add(publisher->metrics->action_publish_errors, 1);
        log_warn("action delivery failed; it will be sent again", "{s:I, s:s}", "action_id",
                 (json_int_t)entry->id, "error", rd_kafka_err2str(error));
    }
}

/* Marks the delivered rows published and releases the failed ones; frees the batch when both
 * are recorded. */
static actuator_store_status finish_batch(action_publisher *publisher)
{
    int64_t *delivered = malloc(publisher->batch_count * sizeof *delivered);
    int64_t *failed = malloc(publisher->batch_count * sizeof *failed);
    if (delivered == NULL || failed == NULL) {
        free(delivered);
        free(failed);
        return ACTUATOR_STORE_ERROR_QUERY;
    }
    size_t delivered_count = 0;
    size_t failed_count = 0;
    for (size_t i = 0; i < publisher->batch_count; i++) {
        if (publisher->batch[i].delivered) {
            delivered[delivered_count++] = publisher->batch[i].id;
        } else {
            failed[failed_count++] = publisher->batch[i].id;
        }
    }
    actuator_store_status status =
        actuator_store_mark_published(publisher->database, delivered, delivered_count);
    if (status == ACTUATOR_STORE_OK) {
        status = actuator_store_release_claims(publisher->database, failed, failed_count);
    }
    free(delivered);
    free(failed);
    if (status == ACTUATOR_STORE_OK) {
        free(publisher->batch);
        publisher->batch = NULL;
        publisher->batch_count = 0;
    }
    return status;
}

/* Produces one claimed row. false when librdkafka refused it (the entry is then reported as
 * failed right away, so its claim is released with the batch). */
static bool produce_row(action_publisher *publisher, actuator_store_action_row *row,
                        batch_entry *entry)
{
    uint8_t *bytes = NULL;
    size_t length = 0;
    codec_error encoded = codec_encode_action(&row->record, &bytes, &length);
    if (encoded != CODEC_OK) {
        log_error("action encoding failed; it stays unpublished", "{s:I, s:s}", "action_id",
                  (json_int_t)row->id, "error", codec_error_name(encoded));
        return false;
    }
    const char *key = row->record.workspace_id;
    /* RD_KAFKA_MSG_F_FREE: librdkafka frees the encoded bytes after delivery. */
    rd_kafka_resp_err_t error = rd_kafka_producev(
        publisher->producer, RD_KAFKA_V_TOPIC(publisher->topic),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_KEY(key, strlen(key)),
        RD_KAFKA_V_VALUE(bytes, length), RD_KAFKA_V_OPAQUE(entry), RD_KAFKA_V_END);
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
        free(bytes); /* not taken over on failure */
        log_warn("rd_kafka_producev(actions) failed; the action will be sent again", "{s:I, s:s}",
                 "action_id", (json_int_t)row->id, "error", rd_kafka_err2str(error));
        return false;
    }
    return true;
}

actuator_store_status action_publisher_tick(action_publisher *publisher, int64_t now_ms,
                                            bool nudged)
{
    if (publisher->batch != NULL) {
        if (publisher->outstanding > 0) {
            return ACTUATOR_STORE_OK; /* waiting for delivery reports */
        }
        actuator_store_status status = finish_batch(publisher);
        if (status != ACTUATOR_STORE_OK) {
            return status;
        }
        /* A full batch suggests more rows wait: claim the next at once. */
        nudged = nudged || !publisher->drained;
    }
    if (!nudged && now_ms < publisher->next_scan_ms) {
        return ACTUATOR_STORE_OK;
    }
    publisher->next_scan_ms = now_ms + PUBLISHER_SCAN_INTERVAL_MS;

    actuator_store_action_row *rows = NULL;
    size_t count = 0;
    actuator_store_status status =
        actuator_store_claim_unpublished(publisher->database, publisher->claimer,
                                         PUBLISHER_CLAIM_MS, PUBLISHER_BATCH, &rows, &count);
    if (status != ACTUATOR_STORE_OK) {
        return status;
    }
    publisher->drained = count < PUBLISHER_BATCH;
    if (count == 0) {
        return ACTUATOR_STORE_OK;
    }
    batch_entry *batch = calloc(count, sizeof *batch);
    if (batch == NULL) {
        actuator_store_action_rows_free(rows, count);
        return ACTUATOR_STORE_ERROR_QUERY; /* the claims expire on their own */
    }
    publisher->batch = batch;
    publisher->batch_count = count;
    publisher->outstanding = 0;
    for (size_t i = 0; i < count; i++) {
        batch[i].tag.kind = DELIVERY_ACTION;
        batch[i].id = rows[i].id;
        if (produce_row(publisher, &rows[i], &batch[i])) {
            publisher->outstanding++;
        } else {
            batch[i].reported = true;
            batch[i].delivered = false;
        }
    }
    actuator_store_action_rows_free(rows, count);
    return ACTUATOR_STORE_OK;
}
