/* checker_engine.c — see checker_engine.h.
 *
 * One thread runs this loop, which reads like the architecture diagram:
 *
 *   take    poll the consumer for CheckRequests while there is capacity; undecodable ones
 *           go to the DLQ, expired ones are counted and released without a CP request
 *   ask     start a libcurl transfer per request, up to CHECKER_CONCURRENCY at once and at
 *           most CHECKER_MAX_RPS per second
 *   wait    epoll on the CP sockets plus a pipe that librdkafka writes to when a message,
 *           rebalance or delivery report is queued (rd_kafka_queue_io_event_enable); only
 *           the transfers of ready sockets run (cp_sockets.h)
 *   decide  each finished transfer is classified (cp_classify) into a Verdict
 *   emit    produce the Verdict keyed by workspace id
 *   commit  a delivery report marks the request's offset done in the offset tracker, which
 *           releases the highest offset below which everything is done; that is stored
 *           (rd_kafka_offsets_store) and librdkafka commits stored offsets every second
 *
 * Work items. Every consumed message becomes one work_item that lives until its output (a
 * verdict or a DLQ record) is delivered, or until it is released without output (expired),
 * or until shutdown hands it back uncommitted. An item is in exactly one place (item_place):
 * waiting behind another request for its workspace, the start queue, a libcurl transfer,
 * the produce-retry queue, or librdkafka's producer queue (awaiting its delivery report).
 * All items are also on one list so a revoke or shutdown can find them wherever they are.
 *
 * Order per workspace (docs/checker.md "Order"). A request holds its workspace in the
 * workspace_gate from the moment it is taken until its verdict is delivered; a later request
 * for the same workspace waits until then. So a workspace is asked about at most once at a
 * time, its verdicts are produced and delivered in the order its questions were asked, and a
 * produce retry cannot put an older verdict behind a newer one. Each verdict's checked_at is
 * the wall clock when its CP request was started.
 *
 * Capacity. No message is taken while CHECKER_CONCURRENCY requests are queued or in flight,
 * or while too many outputs await delivery, so memory stays bounded whatever the backlog;
 * librdkafka's own prefetch is capped by queued.max.messages.kbytes. A consequence: a
 * rebalance is served at the next poll, at the latest when one request finishes (bounded by
 * CHECKER_TIMEOUT).
 *
 * Rebalances. On revoke the checker first waits (bounded) for the delivery of verdicts of the
 * revoked partitions that the producer already holds, then drops every other request of
 * those partitions — waiting, unsent, in flight (the CP request is aborted) or waiting for a
 * produce retry — without a verdict, commits the stored offsets synchronously and lets the
 * tracker forget the partitions. The next owner asks again; since it cannot start before
 * this callback returns, no verdict of this checker lands after one of the next owner's
 * (except when the wait runs out, or the assignment was lost, which is logged and counted).
 * A lost assignment commits nothing. */
#include "checker_engine.h"

#include "checker_verdict.h"
#include "codec.h"
#include "cp_sockets.h"
#include "cp_settings.h"
#include "dlq.h"
#include "http_client.h"
#include "kafka_client.h"
#include "kafka_lag.h"
#include "log.h"
#include "offset_tracker.h"
#include "timeutil.h"
#include "token_bucket.h"
#include "urgent_lane.h"
#include "workspace_gate.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The longest the loop sleeps when nothing happens: bounds how late a stop request, a
 * heartbeat or the lag gauge is noticed. */
#define CHECKER_IDLE_WAIT_MS 100
/* How often the consumer-lag gauge is recomputed from librdkafka's cached watermarks. */
#define CHECKER_LAG_INTERVAL_MS 5000
/* Outputs (verdicts, DLQ records) awaiting delivery, per unit of concurrency, before the
 * checker stops taking messages: a Kafka outage must not turn into unbounded memory. */
#define CHECKER_UNDELIVERED_PER_SLOT 4
/* After the shutdown drain, how long a last flush and the purge of what is left may take. */
#define CHECKER_FINAL_FLUSH_MS 2000
/* /healthz fails when the loop has not checked in for this long. */
#define CHECKER_LIVENESS_WINDOW_MS 30000
/* At a revoke, the longest the checker waits for outputs of the revoked partitions that the
 * producer already holds (normally milliseconds); capped further by CHECKER_TIMEOUT. Bounded
 * well below the 30 s liveness window and the group's rebalance timeout. */
#define CHECKER_REVOKE_DELIVERY_WAIT_MAX_MS 10000

typedef enum { WORK_CHECK, WORK_DLQ } work_kind;

/* Where an item is; exactly one place at a time (see "Work items" above). */
typedef enum {
    PLACE_NONE = 0,      /* being moved between places, or its transfer was aborted */
    PLACE_WAITING,       /* behind another request for its workspace (workspace_gate) */
    PLACE_START_QUEUE,   /* taken, not sent yet */
    PLACE_HTTP,          /* the CP request runs */
    PLACE_PRODUCE_QUEUE, /* its output waits to be produced (again) */
    PLACE_PRODUCER,      /* librdkafka holds its output, awaiting the delivery report */
} item_place;

/* An item's part in its workspace's gate (WORK_CHECK only). */
typedef enum { GATE_NONE = 0, GATE_HOLDER, GATE_WAITING } gate_role;

/* What became of a request of a revoked partition, by where it was (metric label and log
 * field; docs/checker.md "Order"). The first four are dropped without a verdict and left
 * uncommitted for the next owner. */
typedef enum {
    REVOKE_STAGE_WAITING = 0,   /* behind another request for its workspace */
    REVOKE_STAGE_UNSENT,        /* taken, not sent to the CP yet */
    REVOKE_STAGE_IN_FLIGHT,     /* its CP request was aborted */
    REVOKE_STAGE_PRODUCE_RETRY, /* its output waited to be produced again */
    REVOKE_STAGE_DELIVERED,     /* already produced: its delivery was awaited before the revoke */
    REVOKE_STAGE_UNDELIVERED,   /* already produced, not delivered in time (or the assignment
                                   was lost): it may land after the next owner's verdicts */
    REVOKE_STAGE_COUNT
} revoke_stage;

static const char *revoke_stage_name(revoke_stage stage)
{
    switch (stage) {
    case REVOKE_STAGE_WAITING:
        return "waiting";
    case REVOKE_STAGE_UNSENT:
        return "unsent";
    case REVOKE_STAGE_IN_FLIGHT:
        return "in_flight";
    case REVOKE_STAGE_PRODUCE_RETRY:
        return "produce_retry";
    case REVOKE_STAGE_DELIVERED:
        return "delivered";
    case REVOKE_STAGE_UNDELIVERED:
        return "undelivered";
    case REVOKE_STAGE_COUNT:
        break;
    }
    return "unknown";
}

typedef struct work_item {
    work_kind kind;
    int32_t partition;
    int64_t offset;
    uint64_t generation;        /* offset_tracker generation the message was taken under */
    check_request request;      /* WORK_CHECK: the decoded request */
    rd_kafka_message_t *source; /* WORK_DLQ: the original message, kept until delivered */
    codec_error decode_error;   /* WORK_DLQ: why it could not be decoded */
    http_request *http;         /* WORK_CHECK: the transfer while it runs */
    int64_t started_ms;         /* monotonic start of the transfer */
    int64_t asked_at_ms;        /* wall clock when the CP was asked: the verdict's checked_at */
    item_place place;
    gate_role gate;
    bool urgent; /* from the urgent lane: asked first, no offset to track (urgent_lane.h) */
    liveness verdict_liveness; /* WORK_CHECK: for the metrics counted at delivery */
    cp_reason verdict_reason;
    uint8_t *output; /* WORK_CHECK: the encoded verdict, kept for retries */
    size_t output_length;
    struct work_item *queue_next;              /* start or produce-retry queue */
    struct work_item *all_previous, *all_next; /* the list of every live item */
} work_item;

typedef struct {
    work_item *head, *tail;
    size_t count;
} work_queue;

typedef struct {
    metrics_counter *verdicts[3]; /* by liveness */
    metrics_counter *unknown[CP_REASON_COUNT];
    metrics_histogram *cp_latency;
    metrics_gauge *in_flight;
    metrics_counter *expired;
    metrics_counter *dlq[CODEC_ERROR_INTERNAL + 1];
    metrics_gauge *consumer_lag;
    metrics_counter *delivery_failures;
    metrics_counter *revoked_work;
    metrics_counter *revoked_requests[REVOKE_STAGE_COUNT];
    metrics_gauge *waiting_for_workspace;
} checker_metrics;

typedef struct {
    const process_context *options;
    const checker_settings *settings;
    rd_kafka_t *consumer;
    urgent_lane *urgent; /* hinted requests, taken before the consumer's */
    rd_kafka_t *producer;
    CURLM *multi;
    cp_sockets *sockets;          /* runs the transfers of ready sockets only */
    http_request **idle_requests; /* finished requests, kept for the next checks (http_client.h) */
    size_t idle_count;
    offset_tracker *tracker;
    token_bucket rate_limit;
    checker_secrets secrets;
    workspace_gate *gate; /* one WORK_CHECK per workspace from take to delivery */
    work_queue start_queue;
    work_queue produce_queue;
    work_item *all_items;
    size_t in_http;
    size_t awaiting_delivery;
    size_t undelivered_limit;
    int wake_pipe[2];
    bool stopping;
    bool fatal;
    bool ready;
    int64_t next_lag_update_ms;
    checker_metrics metrics;
} checker_engine;

/* ---- work items and queues ------------------------------------------------------------- */

static work_item *item_new(checker_engine *engine, work_kind kind, int32_t partition,
                           int64_t offset)
{
    work_item *item = calloc(1, sizeof *item);
    if (item == NULL)
        return NULL;
    item->kind = kind;
    item->partition = partition;
    item->offset = offset;
    item->all_next = engine->all_items;
    if (engine->all_items != NULL)
        engine->all_items->all_previous = item;
    engine->all_items = item;
    return item;
}

static void item_destroy(checker_engine *engine, work_item *item)
{
    if (item->all_previous != NULL)
        item->all_previous->all_next = item->all_next;
    else
        engine->all_items = item->all_next;
    if (item->all_next != NULL)
        item->all_next->all_previous = item->all_previous;
    check_request_free(&item->request);
    if (item->source != NULL)
        rd_kafka_message_destroy(item->source);
    free(item->output);
    free(item);
}

/* Urgent requests jump the line (docs/checker.md, "The urgent lane"). */
static void queue_push_front(work_queue *queue, work_item *item)
{
    item->queue_next = queue->head;
    queue->head = item;
    if (queue->tail == NULL)
        queue->tail = item;
    queue->count++;
}

static void queue_push(work_queue *queue, work_item *item)
{
    item->queue_next = NULL;
    if (queue->tail != NULL)
        queue->tail->queue_next = item;
    else
        queue->head = item;
    queue->tail = item;
    queue->count++;
}

static work_item *queue_pop(work_queue *queue)
{
    work_item *item = queue->head;
    if (item == NULL)
        return NULL;
    queue->head = item->queue_next;
    if (queue->head == NULL)
        queue->tail = NULL;
    queue->count--;
    item->queue_next = NULL;
    item->place = PLACE_NONE;
    return item;
}

static void push_start(checker_engine *engine, work_item *item)
{
    if (item->urgent)
        queue_push_front(&engine->start_queue, item);
    else
        queue_push(&engine->start_queue, item);
    item->place = PLACE_START_QUEUE;
}

static void push_produce_retry(checker_engine *engine, work_item *item)
{
    queue_push(&engine->produce_queue, item);
    item->place = PLACE_PRODUCE_QUEUE;
}

/* Frees an item wherever it is, and keeps its workspace's gate exact: a waiter leaves the
 * line; a holder hands the workspace to the oldest waiter, which is queued to be asked next —
 * or, while stopping, handed back uncommitted like every request not yet sent. The item must
 * already be out of the start and produce queues and out of libcurl. */
static void item_free(checker_engine *engine, work_item *item)
{
    work_item *next = NULL;
    if (item->gate == GATE_WAITING)
        workspace_gate_withdraw(engine->gate, item->request.workspace_id, item);
    else if (item->gate == GATE_HOLDER)
        next = workspace_gate_leave(engine->gate, item->request.workspace_id);
    item_destroy(engine, item);
    while (next != NULL) {
        next->gate = GATE_HOLDER;
        if (!engine->stopping) {
            push_start(engine, next);
            return;
        }
        work_item *after = workspace_gate_leave(engine->gate, next->request.workspace_id);
        item_destroy(engine, next);
        next = after;
    }
}

/* A decoded, unexpired request enters its workspace's gate: asked now if no other request
 * for the workspace is in the checker, else after the one before it has its verdict
 * delivered (docs/checker.md "Order"). */
static void admit_check(checker_engine *engine, work_item *item)
{
    switch (workspace_gate_enter(engine->gate, item->request.workspace_id, item)) {
    case WORKSPACE_GATE_ACQUIRED:
        item->gate = GATE_HOLDER;
        push_start(engine, item);
        return;
    case WORKSPACE_GATE_QUEUED:
        item->gate = GATE_WAITING;
        item->place = PLACE_WAITING;
        log_debug("request waits for the one before it for the same workspace", "{s:s, s:i, s:I}",
                  "workspace_id", item->request.workspace_id, "partition", (int)item->partition,
                  "offset", (json_int_t)item->offset);
        return;
    case WORKSPACE_GATE_NO_MEMORY:
        break;
    }
    log_error("out of memory entering the workspace gate", NULL);
    engine->fatal = true;
    item_free(engine, item); /* uncommitted: redone after a restart */
}

/* ---- offsets --------------------------------------------------------------------------- */

/* Stores `next_offset` as the position to commit for `partition`. A failure is logged and
 * otherwise harmless: the offset is stored again, higher, by a later completion, and until
 * then the next owner merely redoes some requests. */
static void store_offset(checker_engine *engine, int32_t partition, int64_t next_offset)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    if (list == NULL) {
        log_error("offset store failed", "{s:s}", "error", "out of memory");
        return;
    }
    rd_kafka_topic_partition_list_add(list, engine->settings->common.topic_checks, partition)
        ->offset = next_offset;
    rd_kafka_resp_err_t error = rd_kafka_offsets_store(engine->consumer, list);
    if (error == RD_KAFKA_RESP_ERR_NO_ERROR)
        error = list->elems[0].err;
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR)
        log_warn("rd_kafka_offsets_store failed", "{s:i, s:I, s:s}", "partition", (int)partition,
                 "offset", (json_int_t)next_offset, "error", rd_kafka_err2str(error));
    rd_kafka_topic_partition_list_destroy(list);
}

/* The item's output is durable (or it needs none): mark its offset done and store whatever
 * that releases. */
static void release_offset(checker_engine *engine, const work_item *item)
{
    if (item->urgent)
        return; /* stored when taken (urgent_lane.h) */
    int64_t next_offset = 0;
    offset_tracker_complete_result result = offset_tracker_complete(
        engine->tracker, item->partition, item->offset, item->generation, &next_offset);
    if (result == OFFSET_TRACKER_ADVANCED)
        store_offset(engine, item->partition, next_offset);
    else if (result == OFFSET_TRACKER_STALE)
        log_debug("completion of revoked work, offset not stored", "{s:i, s:I}", "partition",
                  (int)item->partition, "offset", (json_int_t)item->offset);
}

/* ---- output ---------------------------------------------------------------------------- */

/* Hands the item's output to the producer; on a local refusal (queue full, ...) the item
 * waits in the produce queue and is offered again next iteration. */
static void produce_output(checker_engine *engine, work_item *item)
{
    rd_kafka_resp_err_t error;
    if (item->kind == WORK_CHECK) {
        error = rd_kafka_producev(
            engine->producer, RD_KAFKA_V_TOPIC(engine->settings->common.topic_verdicts),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(item->request.workspace_id, strlen(item->request.workspace_id)),
            RD_KAFKA_V_VALUE(item->output, item->output_length), RD_KAFKA_V_OPAQUE(item),
            RD_KAFKA_V_END);
    } else {
        char detail[160];
        snprintf(detail, sizeof detail, "not a CheckRequest this checker can decode: %s",
                 codec_error_name(item->decode_error));
        error = dlq_send(engine->producer, engine->settings->common.topic_dlq, item->source,
                         checker_program.program_name, codec_error_name(item->decode_error), detail,
                         item);
    }
    if (error == RD_KAFKA_RESP_ERR_NO_ERROR) {
        engine->awaiting_delivery++;
        item->place = PLACE_PRODUCER;
        return;
    }
    if (error == RD_KAFKA_RESP_ERR__FATAL) {
        engine->fatal = true;
    } else if (error != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        log_warn(item->kind == WORK_CHECK ? "rd_kafka_producev of a verdict failed"
                                          : "dlq_send failed",
                 "{s:s}", "error", rd_kafka_err2str(error));
    }
    push_produce_retry(engine, item);
}

static void retry_produce(checker_engine *engine)
{
    size_t attempts = engine->produce_queue.count;
    while (attempts-- > 0 && !engine->fatal) {
        work_item *item = queue_pop(&engine->produce_queue);
        produce_output(engine, item);
    }
}

/* librdkafka's delivery report: the only proof that an output is written. Runs inside
 * rd_kafka_poll / rd_kafka_flush on the loop thread. */
static void on_delivery(rd_kafka_t *producer, const rd_kafka_message_t *message, void *opaque)
{
    (void)producer;
    checker_engine *engine = opaque;
    work_item *item = message->_private;
    if (item == NULL)
        return;
    engine->awaiting_delivery--;
    item->place = PLACE_NONE;
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        metrics_counter_add(engine->metrics.delivery_failures, 1);
        log_warn(item->kind == WORK_CHECK ? "verdict delivery failed" : "DLQ delivery failed",
                 "{s:s, s:i, s:I, s:b}", "error", rd_kafka_err2str(message->err), "partition",
                 (int)item->partition, "offset", (json_int_t)item->offset, "retrying",
                 !engine->stopping);
        /* Never counted done without a report: produce again, or, when shutting down, hand
         * it back. The item keeps holding its workspace's gate meanwhile, so no newer
         * verdict for the workspace is even asked for before this one is delivered: a retry
         * cannot land behind a newer verdict (docs/checker.md "Order"). */
        if (engine->stopping)
            item_free(engine, item);
        else
            push_produce_retry(engine, item);
        return;
    }
    if (item->kind == WORK_CHECK) {
        metrics_counter_add(engine->metrics.verdicts[item->verdict_liveness], 1);
        if (item->verdict_liveness == LIVENESS_UNKNOWN)
            metrics_counter_add(engine->metrics.unknown[item->verdict_reason], 1);
    } else {
        metrics_counter_add(engine->metrics.dlq[item->decode_error], 1);
    }
    release_offset(engine, item);
    item_free(engine, item);
}

/* ---- asking the CP --------------------------------------------------------------------- */

/* Turns a classification into the encoded verdict and produces it. */
static void emit_verdict(checker_engine *engine, work_item *item,
                         const cp_classification *classification, long http_status,
                         int64_t latency_ms)
{
    verdict record;
    /* checked_at is when the CP was asked, not when it answered: two verdicts for one
     * workspace order by the moment each observation could have been true at the CP. */
    checker_verdict_make(&record, &item->request, classification, http_status, item->asked_at_ms,
                         latency_ms, engine->settings->checker_id, &engine->secrets);
    item->verdict_liveness = record.liveness;
    item->verdict_reason = classification->reason;
    codec_error error = codec_encode_verdict(&record, &item->output, &item->output_length);
    if (error != CODEC_OK) {
        /* Only allocation failure or invalid UTF-8 in an id that the decoder accepted: a bug
         * or memory exhaustion. The request stays uncommitted and is redone after a
         * restart. */
        log_error("codec_encode_verdict failed", "{s:s, s:s}", "error", codec_error_name(error),
                  "workspace_id", item->request.workspace_id);
        engine->fatal = true;
        item_free(engine, item);
        return;
    }
    log_at(record.liveness == LIVENESS_NOT_RUNNING ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG, "verdict",
           "{s:s, s:s, s:s, s:s, s:s?, s:i, s:I}", "workspace_id", item->request.workspace_id,
           "instance_id", item->request.instance_id, "liveness", liveness_name(record.liveness),
           "reason", record.reason, "cp_state", record.cp_state, "http_status",
           record.has_http_status ? (int)record.http_status : 0, "latency_ms",
           (json_int_t)record.latency_ms);
    produce_output(engine, item);
}

/* A request taken after its deadline: counted, released without a CP request or verdict
 * (the next sweep enqueues a fresh one), so a backlog after an outage never stampedes the
 * CP. */
static void expire_request(checker_engine *engine, work_item *item)
{
    metrics_counter_add(engine->metrics.expired, 1);
    log_debug("request expired before it was sent", "{s:s, s:s, s:I}", "workspace_id",
              item->request.workspace_id, "sweep_id", item->request.sweep_id, "deadline",
              (json_int_t)item->request.deadline);
    release_offset(engine, item);
    item_free(engine, item);
}

static void fail_before_sending(checker_engine *engine, work_item *item, const char *what)
{
    log_error(what, "{s:s}", "workspace_id", item->request.workspace_id);
    item->asked_at_ms = time_now_wall_ms(); /* the attempt, though nothing reached the CP */
    cp_classification classification = cp_classify(0, HTTP_CLIENT_ERROR_INTERNAL, NULL, 0, NULL,
                                                   &engine->settings->not_running_states);
    emit_verdict(engine, item, &classification, 0, 0);
}

static void start_transfers(checker_engine *engine)
{
    const checker_settings *settings = engine->settings;
    while (engine->start_queue.count > 0 && engine->in_http < (size_t)settings->concurrency &&
           !engine->fatal) {
        work_item *item = engine->start_queue.head;
        /* Checked again here: the request may have waited for a rate-limit token. */
        if (checker_request_expired(item->request.deadline, time_now_wall_ms())) {
            expire_request(engine, queue_pop(&engine->start_queue));
            continue;
        }
        if (!token_bucket_take(&engine->rate_limit, time_now_monotonic_ms()))
            return;
        queue_pop(&engine->start_queue);
        http_request_options request_options;
        char *url =
            cp_status_request(&settings->cp, item->request.workspace_id, item->request.instance_id,
                              settings->timeout_ms, &request_options);
        if (url == NULL) {
            fail_before_sending(engine, item, "cp_status_url failed: out of memory");
            continue;
        }
        if (engine->idle_count > 0) {
            item->http = engine->idle_requests[--engine->idle_count];
            if (!http_request_reuse(item->http, url, item)) {
                http_request_free(item->http);
                item->http = NULL;
            }
        } else {
            item->http = http_request_prepare(&request_options, item);
        }
        free(url);
        if (item->http == NULL) {
            fail_before_sending(engine, item, "http_request_prepare failed");
            continue;
        }
        item->asked_at_ms = time_now_wall_ms();
        CURLMcode code = curl_multi_add_handle(engine->multi, http_request_handle(item->http));
        if (code != CURLM_OK) {
            log_error("curl_multi_add_handle failed", "{s:s}", "error", curl_multi_strerror(code));
            http_response ignored;
            http_request_finish(item->http, CURLE_FAILED_INIT, &ignored);
            http_response_free(&ignored);
            item->http = NULL;
            fail_before_sending(engine, item, "could not start the CP request");
            continue;
        }
        item->started_ms = time_now_monotonic_ms();
        item->place = PLACE_HTTP;
        engine->in_http++;
    }
}

/* At most CHECKER_CONCURRENCY idle requests are kept: as many as can be busy at once. */
static void keep_idle_request(checker_engine *engine, http_request *request)
{
    if (engine->idle_count < (size_t)engine->settings->concurrency)
        engine->idle_requests[engine->idle_count++] = request;
    else
        http_request_free(request);
}

static void collect_finished(checker_engine *engine)
{
    int remaining = 0;
    CURLMsg *message;
    while ((message = curl_multi_info_read(engine->multi, &remaining)) != NULL) {
        if (message->msg != CURLMSG_DONE)
            continue;
        /* The message is invalid once the handle is removed: copy what is needed first. */
        CURL *easy = message->easy_handle;
        CURLcode result = message->data.result;
        char *private_pointer = NULL;
        if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, &private_pointer) != CURLE_OK ||
            private_pointer == NULL) {
            /* Cannot happen with http_client's handles; nothing can be attributed. */
            log_error("curl_easy_getinfo(CURLINFO_PRIVATE) failed", NULL);
            engine->fatal = true;
            continue;
        }
        http_request *request = (http_request *)private_pointer;
        CURLMcode code = curl_multi_remove_handle(engine->multi, easy);
        if (code != CURLM_OK)
            log_warn("curl_multi_remove_handle failed", "{s:s}", "error",
                     curl_multi_strerror(code));
        work_item *item = http_request_user_data(request);
        http_response response; /* borrowed from `request`: used before it is reused */
        http_request_finish_reusable(request, result, &response);
        item->http = NULL;
        engine->in_http--;
        int64_t latency_ms = time_now_monotonic_ms() - item->started_ms;
        metrics_histogram_observe(engine->metrics.cp_latency, (double)latency_ms / 1000.0);
        cp_classification classification =
            cp_classify_response(&response, &engine->settings->not_running_states);
        long status = response.status;
        keep_idle_request(engine, request);
        emit_verdict(engine, item, &classification, status, latency_ms);
    }
}

/* ---- taking messages ------------------------------------------------------------------- */

static bool has_capacity(const checker_engine *engine)
{
    /* Requests waiting behind another for their workspace count too: they are held in
     * memory like queued ones. */
    return !engine->stopping && !engine->fatal &&
           engine->start_queue.count + engine->in_http + workspace_gate_waiting(engine->gate) <
               (size_t)engine->settings->concurrency &&
           engine->produce_queue.count + engine->awaiting_delivery < engine->undelivered_limit;
}

static void handle_message(checker_engine *engine, rd_kafka_message_t *message)
{
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (message->err == RD_KAFKA_RESP_ERR__FATAL) {
            char reason[256];
            rd_kafka_fatal_error(engine->consumer, reason, sizeof reason);
            log_error("consumer fatal error", "{s:s}", "error", reason);
            engine->fatal = true;
        } else if (message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            log_warn("consumer error", "{s:s, s:s}", "error", rd_kafka_err2str(message->err),
                     "detail", rd_kafka_message_errstr(message));
        }
        rd_kafka_message_destroy(message);
        return;
    }
    uint64_t generation = 0;
    offset_tracker_add_result added =
        offset_tracker_add(engine->tracker, message->partition, message->offset, &generation);
    if (added != OFFSET_TRACKER_ADDED) {
        /* Not assigned: fetched just before a revoke, the new owner reads it. Out of order:
         * already taken in this generation. Either way it is not ours to answer now. */
        if (added == OFFSET_TRACKER_NO_MEMORY)
            engine->fatal = true;
        log_debug("message skipped", "{s:i, s:I, s:s}", "partition", (int)message->partition,
                  "offset", (json_int_t)message->offset, "why",
                  added == OFFSET_TRACKER_NOT_ASSIGNED   ? "partition not assigned"
                  : added == OFFSET_TRACKER_OUT_OF_ORDER ? "offset already taken"
                                                         : "out of memory");
        rd_kafka_message_destroy(message);
        return;
    }
    check_request request;
    codec_error error = codec_decode_check_request(message->payload, message->len, &request);
    if (error == CODEC_ERROR_INTERNAL || error == CODEC_ERROR_SCHEMA_UNAVAILABLE) {
        /* Our failure (memory), or the schema registry's (asked to stop while waiting for it),
         * not the message's: it must not go to the DLQ. Stopping leaves it uncommitted. */
        log_error("codec_decode_check_request failed internally", "{s:i, s:I}", "partition",
                  (int)message->partition, "offset", (json_int_t)message->offset);
        rd_kafka_message_destroy(message);
        engine->fatal = true;
        return;
    }
    work_item *item = item_new(engine, error == CODEC_OK ? WORK_CHECK : WORK_DLQ,
                               message->partition, message->offset);
    if (item == NULL) {
        log_error("out of memory taking a message", NULL);
        check_request_free(&request);
        rd_kafka_message_destroy(message);
        engine->fatal = true;
        return;
    }
    item->generation = generation;
    if (error != CODEC_OK) {
        log_warn("undecodable CheckRequest sent to the DLQ", "{s:i, s:I, s:s, s:I}", "partition",
                 (int)message->partition, "offset", (json_int_t)message->offset, "error",
                 codec_error_name(error), "length", (json_int_t)message->len);
        item->decode_error = error;
        item->source = message; /* kept until the DLQ record is delivered */
        produce_output(engine, item);
        return;
    }
    rd_kafka_message_destroy(message);
    item->request = request;
    if (checker_request_expired(request.deadline, time_now_wall_ms())) {
        expire_request(engine, item);
        return;
    }
    admit_check(engine, item);
}

/* A hinted request: decoded and admitted like a sweep's, at the front of the line, with room
 * beyond CHECKER_CONCURRENCY so that a full sweep backlog never keeps it out. */
static void take_urgent(checker_engine *engine)
{
    while (engine->urgent != NULL && !engine->stopping && !engine->fatal &&
           engine->start_queue.count + engine->in_http + workspace_gate_waiting(engine->gate) <
               (size_t)engine->settings->concurrency + URGENT_LANE_EXTRA_SLOTS) {
        rd_kafka_message_t *message = urgent_lane_poll(engine->urgent, &engine->fatal);
        if (message == NULL)
            return;
        check_request request;
        codec_error error = codec_decode_check_request(message->payload, message->len, &request);
        work_item *item =
            item_new(engine, error == CODEC_OK ? WORK_CHECK : WORK_DLQ, -1, message->offset);
        if (item == NULL || error == CODEC_ERROR_INTERNAL) {
            log_error("out of memory taking an urgent message", NULL);
            if (error == CODEC_OK)
                check_request_free(&request);
            rd_kafka_message_destroy(message);
            if (item != NULL)
                item_destroy(engine, item);
            engine->fatal = true;
            return;
        }
        item->urgent = true;
        if (error != CODEC_OK) {
            log_warn("undecodable urgent CheckRequest sent to the DLQ", "{s:s}", "error",
                     codec_error_name(error));
            item->decode_error = error;
            item->source = message;
            produce_output(engine, item);
            continue;
        }
        rd_kafka_message_destroy(message);
        item->request = request;
        log_info("urgent request taken", "{s:s, s:s}", "workspace_id", request.workspace_id,
                 "instance_id", request.instance_id);
        if (checker_request_expired(request.deadline, time_now_wall_ms()))
            expire_request(engine, item);
        else
            admit_check(engine, item);
    }
}

static void take_messages(checker_engine *engine)
{
    take_urgent(engine);
    while (has_capacity(engine)) {
        rd_kafka_message_t *message = rd_kafka_consumer_poll(engine->consumer, 0);
        if (message == NULL)
            return;
        handle_message(engine, message);
    }
}

/* ---- rebalancing ----------------------------------------------------------------------- */

/* Cancels a running CP request; its item gets no verdict. */
static void abort_transfer(checker_engine *engine, work_item *item)
{
    CURLMcode code = curl_multi_remove_handle(engine->multi, http_request_handle(item->http));
    if (code != CURLM_OK)
        log_warn("curl_multi_remove_handle failed", "{s:s}", "error", curl_multi_strerror(code));
    http_response ignored;
    http_request_finish(item->http, CURLE_ABORTED_BY_CALLBACK, &ignored);
    http_response_free(&ignored);
    item->http = NULL;
    item->place = PLACE_NONE;
    engine->in_http--;
}

static size_t revoked_in_place(const checker_engine *engine,
                               const rd_kafka_topic_partition_list_t *partitions, item_place place)
{
    size_t count = 0;
    for (const work_item *item = engine->all_items; item != NULL; item = item->all_next) {
        if (item->place == place && kafka_partition_listed(partitions, NULL, item->partition))
            count++;
    }
    return count;
}

/* Outputs of the revoked partitions that librdkafka already holds cannot be recalled: wait
 * for their delivery reports before letting the partitions go, so that nothing this checker
 * asked lands after the next owner's first verdicts (it cannot have started: the group
 * hands the partitions on only after this callback returns, with the eager and the
 * cooperative protocol alike). Normally milliseconds; bounded by CHECKER_TIMEOUT and
 * CHECKER_REVOKE_DELIVERY_WAIT_MAX_MS. Their delivery reports also store their offsets, so
 * the commit below covers them. Returns how many are still undelivered. */
static size_t await_revoked_deliveries(checker_engine *engine,
                                       const rd_kafka_topic_partition_list_t *partitions)
{
    int64_t wait_ms = engine->settings->timeout_ms < CHECKER_REVOKE_DELIVERY_WAIT_MAX_MS
                          ? engine->settings->timeout_ms
                          : CHECKER_REVOKE_DELIVERY_WAIT_MAX_MS;
    int64_t deadline_ms = time_now_monotonic_ms() + wait_ms;
    size_t left;
    while ((left = revoked_in_place(engine, partitions, PLACE_PRODUCER)) > 0 &&
           time_now_monotonic_ms() < deadline_ms && !engine->fatal) {
        rd_kafka_poll(engine->producer, 10);
        if (engine->options->server != NULL)
            metrics_server_heartbeat(engine->options->server);
    }
    return left;
}

/* Takes every item of a revoked partition out of the checker, except those librdkafka holds:
 * waiters leave their gate, queued requests and outputs waiting for a retry are dropped, CP
 * requests in flight are aborted. None gets a verdict; all stay uncommitted, so the next
 * owner asks again — with a fresh question, after this checker can no longer answer. Aborting
 * rather than letting them finish is what keeps an old observation from landing after the
 * new owner's newer one; waiting for them instead would hold the whole group's rebalance for
 * up to CHECKER_TIMEOUT. Counts go to `dropped` by stage. */
static void drop_revoked(checker_engine *engine, const rd_kafka_topic_partition_list_t *partitions,
                         size_t dropped[REVOKE_STAGE_COUNT])
{
    work_queue gone = {NULL, NULL, 0};
    work_queue *queues[] = {&engine->start_queue, &engine->produce_queue};
    for (size_t index = 0; index < 2; index++) {
        work_queue kept = {NULL, NULL, 0};
        work_item *item;
        while ((item = queue_pop(queues[index])) != NULL) {
            if (kafka_partition_listed(partitions, NULL, item->partition)) {
                queue_push(&gone, item);
                dropped[index == 0 ? REVOKE_STAGE_UNSENT : REVOKE_STAGE_PRODUCE_RETRY]++;
            } else {
                queue_push(&kept, item);
                item->place = index == 0 ? PLACE_START_QUEUE : PLACE_PRODUCE_QUEUE;
            }
        }
        *queues[index] = kept;
    }
    /* Waiters leave their gates before any holder is freed, so no holder hands its workspace
     * to a request of a revoked partition. */
    for (work_item *item = engine->all_items; item != NULL; item = item->all_next) {
        if (!kafka_partition_listed(partitions, NULL, item->partition))
            continue;
        if (item->place == PLACE_WAITING) {
            workspace_gate_withdraw(engine->gate, item->request.workspace_id, item);
            item->gate = GATE_NONE;
            queue_push(&gone, item);
            dropped[REVOKE_STAGE_WAITING]++;
        } else if (item->place == PLACE_HTTP) {
            abort_transfer(engine, item);
            queue_push(&gone, item);
            dropped[REVOKE_STAGE_IN_FLIGHT]++;
        }
    }
    work_item *item;
    while ((item = queue_pop(&gone)) != NULL)
        item_free(engine, item);
}

static json_t *partition_numbers(const rd_kafka_topic_partition_list_t *partitions)
{
    json_t *numbers = json_array();
    for (int index = 0; numbers != NULL && index < partitions->cnt; index++)
        json_array_append_new(numbers, json_integer(partitions->elems[index].partition));
    return numbers != NULL ? numbers : json_null();
}

static void on_rebalance(rd_kafka_t *consumer, rd_kafka_resp_err_t event,
                         rd_kafka_topic_partition_list_t *partitions, void *opaque)
{
    checker_engine *engine = opaque;
    if (event == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int index = 0; index < partitions->cnt; index++) {
            if (offset_tracker_assign(engine->tracker, partitions->elems[index].partition) == 0) {
                log_error("offset_tracker_assign failed", "{s:i}", "partition",
                          (int)partitions->elems[index].partition);
                engine->fatal = true;
            }
        }
        kafka_rebalance_apply(consumer, event, partitions);
        log_info("partitions assigned", "{s:i, s:o, s:s}", "count", partitions->cnt, "partitions",
                 partition_numbers(partitions), "protocol", rd_kafka_rebalance_protocol(consumer));
        if (!engine->ready && !engine->stopping && engine->options->server != NULL)
            metrics_server_set_ready(engine->options->server, true, NULL);
        engine->ready = true;
        return;
    }
    if (event == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        bool lost = rd_kafka_assignment_lost(consumer);
        size_t counts[REVOKE_STAGE_COUNT] = {0};
        /* A lost assignment may already be someone else's: waiting helps nothing there. */
        size_t produced = revoked_in_place(engine, partitions, PLACE_PRODUCER);
        size_t retrying = revoked_in_place(engine, partitions, PLACE_PRODUCE_QUEUE);
        if (!lost)
            counts[REVOKE_STAGE_UNDELIVERED] = await_revoked_deliveries(engine, partitions);
        else
            counts[REVOKE_STAGE_UNDELIVERED] = produced;
        drop_revoked(engine, partitions, counts);
        /* What left the producer during the wait either was delivered or failed and joined
         * the retry queue, which drop_revoked counted. */
        size_t failed_while_waiting = counts[REVOKE_STAGE_PRODUCE_RETRY] - retrying;
        counts[REVOKE_STAGE_DELIVERED] =
            produced - counts[REVOKE_STAGE_UNDELIVERED] - failed_while_waiting;
        if (!lost) {
            /* Offsets were stored as work completed; commit them now, synchronously, so the
             * next owner starts right after the last delivered verdict. */
            rd_kafka_resp_err_t error = rd_kafka_commit(consumer, NULL, 0);
            if (error != RD_KAFKA_RESP_ERR_NO_ERROR && error != RD_KAFKA_RESP_ERR__NO_OFFSET)
                log_warn("rd_kafka_commit on revoke failed", "{s:s}", "error",
                         rd_kafka_err2str(error));
        }
        size_t orphaned = 0;
        for (int index = 0; index < partitions->cnt; index++)
            orphaned += offset_tracker_revoke(engine->tracker, partitions->elems[index].partition);
        metrics_counter_add(engine->metrics.revoked_work, orphaned);
        for (int stage = 0; stage < REVOKE_STAGE_COUNT; stage++)
            metrics_counter_add(engine->metrics.revoked_requests[stage], counts[stage]);
        if (counts[REVOKE_STAGE_UNDELIVERED] > 0)
            log_warn("verdicts of revoked partitions still undelivered; they may land after the "
                     "next owner's",
                     "{s:I, s:b}", revoke_stage_name(REVOKE_STAGE_UNDELIVERED),
                     (json_int_t)counts[REVOKE_STAGE_UNDELIVERED], "lost", lost);
        kafka_rebalance_apply(consumer, event, partitions);
        log_info("partitions revoked", "{s:i, s:o, s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "count",
                 partitions->cnt, "partitions", partition_numbers(partitions), "lost", lost,
                 "uncommitted_work", (json_int_t)orphaned, revoke_stage_name(REVOKE_STAGE_WAITING),
                 (json_int_t)counts[REVOKE_STAGE_WAITING], revoke_stage_name(REVOKE_STAGE_UNSENT),
                 (json_int_t)counts[REVOKE_STAGE_UNSENT], revoke_stage_name(REVOKE_STAGE_IN_FLIGHT),
                 (json_int_t)counts[REVOKE_STAGE_IN_FLIGHT],
                 revoke_stage_name(REVOKE_STAGE_PRODUCE_RETRY),
                 (json_int_t)counts[REVOKE_STAGE_PRODUCE_RETRY],
                 revoke_stage_name(REVOKE_STAGE_DELIVERED),
                 (json_int_t)counts[REVOKE_STAGE_DELIVERED]);
        return;
    }
    kafka_rebalance_apply(consumer, event, partitions); /* an error: gives the assignment up */
}

static void on_kafka_error(rd_kafka_t *kafka, int error, const char *reason, void *opaque)
{
    checker_engine *engine = opaque;
    if (error == RD_KAFKA_RESP_ERR__FATAL) {
        char fatal_reason[512];
        rd_kafka_fatal_error(kafka, fatal_reason, sizeof fatal_reason);
        log_error("kafka fatal error", "{s:s, s:s}", "client", rd_kafka_name(kafka), "error",
                  fatal_reason);
        engine->fatal = true;
        return;
    }
    /* Transient (broker down, all brokers down, ...): librdkafka retries on its own. */
    log_warn("kafka error", "{s:s, s:s, s:s}", "client", rd_kafka_name(kafka), "error",
             rd_kafka_err2str((rd_kafka_resp_err_t)error), "detail", reason);
}

/* ---- metrics --------------------------------------------------------------------------- */

static bool register_metrics(checker_engine *engine, metrics_registry *registry)
{
    checker_metrics *metrics = &engine->metrics;
    static const char *const liveness_label[] = {"liveness"};
    for (int value = LIVENESS_UNKNOWN; value <= LIVENESS_NOT_RUNNING; value++) {
        const char *label_value = liveness_name((liveness)value);
        metrics->verdicts[value] =
            metrics_counter_get(registry, "reconciler_checker_verdicts_total",
                                "Verdicts delivered to the verdicts topic, by liveness", 1,
                                liveness_label, &label_value);
        if (metrics->verdicts[value] == NULL)
            return false;
    }
    static const char *const reason_label[] = {"reason"};
    for (int reason = 0; reason < CP_REASON_COUNT; reason++) {
        if (reason == CP_REASON_STATE_RUNNING || reason == CP_REASON_STATE_NOT_RUNNING)
            continue;
        const char *label_value = cp_reason_name((cp_reason)reason);
        metrics->unknown[reason] = metrics_counter_get(registry, "reconciler_checker_unknown_total",
                                                       "UNKNOWN verdicts delivered, by reason", 1,
                                                       reason_label, &label_value);
        if (metrics->unknown[reason] == NULL)
            return false;
    }
    static const double latency_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                            0.5,   1,    2.5,   5,    10,  30};
    metrics->cp_latency = metrics_histogram_get(
        registry, "reconciler_checker_cp_latency_seconds",
        "Time from starting a CP request to its end (answer, error or timeout)", latency_bounds,
        sizeof latency_bounds / sizeof latency_bounds[0], 0, NULL, NULL);
    metrics->in_flight = metrics_gauge_get(registry, "reconciler_checker_in_flight",
                                           "CP requests in flight now", 0, NULL, NULL);
    metrics->expired = metrics_counter_get(
        registry, "reconciler_checker_expired_total",
        "Requests taken after their deadline and therefore not sent to the CP", 0, NULL, NULL);
    static const char *const error_label[] = {"error"};
    for (int error = CODEC_ERROR_TOO_SHORT; error <= CODEC_ERROR_INTERNAL; error++) {
        const char *label_value = codec_error_name((codec_error)error);
        metrics->dlq[error] =
            metrics_counter_get(registry, "reconciler_checker_dlq_total",
                                "Undecodable CheckRequests delivered to the DLQ, by decoder error",
                                1, error_label, &label_value);
        if (metrics->dlq[error] == NULL)
            return false;
    }
    metrics->consumer_lag = metrics_gauge_get(
        registry, "reconciler_checker_consumer_lag",
        "Messages on this checker's assigned partitions not yet taken (high watermark minus "
        "position, from librdkafka's cached watermarks)",
        0, NULL, NULL);
    metrics->delivery_failures = metrics_counter_get(
        registry, "reconciler_checker_delivery_failures_total",
        "Verdict or DLQ records whose delivery failed and was retried", 0, NULL, NULL);
    metrics->revoked_work = metrics_counter_get(
        registry, "reconciler_checker_revoked_work_total",
        "Requests left uncommitted for the next owner when their partition was revoked", 0, NULL,
        NULL);
    static const char *const stage_label[] = {"stage"};
    for (int stage = 0; stage < REVOKE_STAGE_COUNT; stage++) {
        const char *label_value = revoke_stage_name((revoke_stage)stage);
        metrics->revoked_requests[stage] = metrics_counter_get(
            registry, "reconciler_checker_revoked_requests_total",
            "Requests of a revoked partition, by where they were: dropped without a verdict "
            "(waiting, unsent, in_flight, produce_retry) or already produced (delivered, "
            "undelivered)",
            1, stage_label, &label_value);
        if (metrics->revoked_requests[stage] == NULL)
            return false;
    }
    metrics->waiting_for_workspace = metrics_gauge_get(
        registry, "reconciler_checker_waiting_for_workspace",
        "Requests waiting until the verdict of an earlier request for the same workspace is "
        "delivered",
        0, NULL, NULL);
    return metrics->waiting_for_workspace != NULL && metrics->cp_latency != NULL &&
           metrics->in_flight != NULL && metrics->expired != NULL &&
           metrics->consumer_lag != NULL && metrics->delivery_failures != NULL &&
           metrics->revoked_work != NULL;
}

static void update_lag(checker_engine *engine)
{
    int64_t lag = 0;
    if (kafka_consumer_lag(engine->consumer, &lag)) {
        metrics_gauge_set(engine->metrics.consumer_lag, (double)lag);
    }
}

/* ---- set-up and tear-down -------------------------------------------------------------- */

/* The checker's clients: both report errors to on_kafka_error; the consumer commits stored
 * offsets every second (librdkafka's default is 5 s: after a crash at most about a second of
 * answered requests is asked again) and prefetches at most 1 MiB per partition (default
 * 64 MiB: the checker holds at most CHECKER_CONCURRENCY requests anyway, and a small queue
 * keeps memory flat). */
static kafka_client_spec client_spec(checker_engine *engine)
{
    static const kafka_config_default checker_tuning[] = {
        {"auto.commit.interval.ms", "1000"},
        {"queued.max.messages.kbytes", "1024"},
    };
    const checker_settings *settings = engine->settings;
    return (kafka_client_spec){
        .common = &settings->common,
        .properties = engine->options->kafka_properties,
        .client_id = settings->checker_id,
        .opaque = engine,
        .on_error = on_kafka_error,
        .on_delivery = on_delivery,
        .group_id = settings->group_id,
        .tuning = checker_tuning,
        .tuning_count = sizeof checker_tuning / sizeof checker_tuning[0],
        .on_rebalance = on_rebalance,
    };
}

/* Makes librdkafka write a byte to the wake pipe whenever `queue` goes from empty to
 * non-empty, so the epoll wait (cp_sockets_wait) wakes up for Kafka events as well as for CP
 * sockets. */
static bool enable_wake_events(checker_engine *engine, rd_kafka_queue_t *queue)
{
    if (queue == NULL)
        return false;
    static const char wake_byte[] = "w";
    rd_kafka_queue_io_event_enable(queue, engine->wake_pipe[1], wake_byte, 1);
    rd_kafka_queue_destroy(queue); /* the handle only; the queue lives in its client */
    return true;
}

static void drain_wake_pipe(checker_engine *engine)
{
    char buffer[256];
    while (read(engine->wake_pipe[0], buffer, sizeof buffer) > 0) {
    }
}

static void begin_shutdown(checker_engine *engine)
{
    engine->stopping = true;
    if (engine->options->server != NULL)
        metrics_server_set_ready(engine->options->server, false, "shutting down");
    /* Requests not yet sent are handed back: the next owner of their partition asks. */
    size_t unsent = 0;
    work_item *item;
    while ((item = queue_pop(&engine->start_queue)) != NULL) {
        item_free(engine, item);
        unsent++;
    }
    log_info("shutting down: finishing requests in flight", "{s:I, s:I, s:I}", "in_flight",
             (json_int_t)engine->in_http, "unsent_handed_back", (json_int_t)unsent,
             "awaiting_delivery",
             (json_int_t)(engine->awaiting_delivery + engine->produce_queue.count));
}

/* Cancels the transfers still running (only after the shutdown drain timed out). */
static void abort_transfers(checker_engine *engine)
{
    for (work_item *item = engine->all_items; item != NULL; item = item->all_next) {
        if (item->http != NULL)
            abort_transfer(engine, item);
    }
}

static void flush_producer(checker_engine *engine, int timeout_ms)
{
    rd_kafka_resp_err_t error = rd_kafka_flush(engine->producer, timeout_ms);
    if (error == RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    log_warn("rd_kafka_flush did not finish; purging undelivered output", "{s:s, s:i}", "error",
             rd_kafka_err2str(error), "outstanding", rd_kafka_outq_len(engine->producer));
    error = rd_kafka_purge(engine->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR)
        log_warn("rd_kafka_purge failed", "{s:s}", "error", rd_kafka_err2str(error));
    /* Serves the purge's delivery reports, which free their items. */
    rd_kafka_poll(engine->producer, 0);
}

/* ---- the loop -------------------------------------------------------------------------- */

static int wait_timeout_ms(checker_engine *engine)
{
    int wait_ms = CHECKER_IDLE_WAIT_MS;
    if (engine->start_queue.count > 0 && engine->in_http < (size_t)engine->settings->concurrency) {
        /* Waiting only for a rate-limit token. */
        int64_t token_wait = token_bucket_wait_ms(&engine->rate_limit, time_now_monotonic_ms());
        wait_ms = token_wait < 1 ? 1 : token_wait < wait_ms ? (int)token_wait : wait_ms;
    }
    if (engine->produce_queue.count > 0 && wait_ms > 10)
        wait_ms = 10; /* the producer queue was full: offer again soon */
    return wait_ms;
}

static void run_loop(checker_engine *engine)
{
    const process_context *options = engine->options;
    int64_t shutdown_deadline_ms = 0;
    for (;;) {
        int64_t now_ms = time_now_monotonic_ms();
        if (*options->stop_requested && !engine->stopping) {
            begin_shutdown(engine);
            shutdown_deadline_ms = now_ms + engine->settings->shutdown_timeout_ms;
        }
        if (engine->fatal)
            return;
        if (engine->stopping) {
            if (engine->in_http == 0 && engine->produce_queue.count == 0 &&
                engine->awaiting_delivery == 0)
                return;
            if (now_ms >= shutdown_deadline_ms) {
                log_warn("shutdown timeout: handing back unfinished work uncommitted", "{s:I, s:I}",
                         "in_flight", (json_int_t)engine->in_http, "awaiting_delivery",
                         (json_int_t)(engine->awaiting_delivery + engine->produce_queue.count));
                return;
            }
        }
        if (options->server != NULL)
            metrics_server_heartbeat(options->server);

        take_messages(engine);
        start_transfers(engine);
        CURLMcode code = cp_sockets_run_due(engine->sockets); /* starts the new transfers */
        if (code != CURLM_OK) {
            log_error("curl_multi_socket_action failed", "{s:s}", "error",
                      curl_multi_strerror(code));
            engine->fatal = true;
            return;
        }
        collect_finished(engine);
        retry_produce(engine);
        rd_kafka_poll(engine->producer, 0); /* delivery reports: store offsets */

        metrics_gauge_set(engine->metrics.in_flight, (double)engine->in_http);
        metrics_gauge_set(engine->metrics.waiting_for_workspace,
                          (double)workspace_gate_waiting(engine->gate));
        if (now_ms >= engine->next_lag_update_ms) {
            update_lag(engine);
            engine->next_lag_update_ms = now_ms + CHECKER_LAG_INTERVAL_MS;
        }

        bool woken = false;
        code = cp_sockets_wait(engine->sockets, wait_timeout_ms(engine), &woken);
        if (code != CURLM_OK) {
            log_error("waiting for the CP sockets failed", "{s:s, s:s}", "error",
                      curl_multi_strerror(code), "errno", strerror(errno));
            engine->fatal = true;
            return;
        }
        if (woken)
            drain_wake_pipe(engine);
        collect_finished(engine); /* frees capacity before the next take */
    }
}

int checker_engine_run(const process_context *options)
{
    checker_engine engine_storage;
    checker_engine *engine = &engine_storage;
    memset(engine, 0, sizeof *engine);
    engine->options = options;
    engine->settings = options->settings;
    engine->wake_pipe[0] = engine->wake_pipe[1] = -1;
    engine->secrets.values[0] = engine->settings->cp.shared_secret;
    engine->secrets.values[1] = engine->settings->cp.admin_token;
    engine->undelivered_limit =
        (size_t)engine->settings->concurrency * CHECKER_UNDELIVERED_PER_SLOT;
    double rate = (double)engine->settings->max_rps;
    /* 100 ms worth of burst: smooth enough for the CP, coarse enough for a 100 ms loop. */
    engine->rate_limit = token_bucket_make(rate, rate / 10.0, time_now_monotonic_ms());
    int exit_code = 1;
    char error[512] = "";
    bool usage_error = false;

    if (!register_metrics(engine, options->registry)) {
        log_error("metrics registration failed", NULL);
        return 1;
    }
    engine->tracker = offset_tracker_new();
    engine->gate = workspace_gate_new();
    if (engine->tracker == NULL || engine->gate == NULL) {
        log_error("out of memory", NULL);
        offset_tracker_free(engine->tracker);
        workspace_gate_free(engine->gate);
        return 1;
    }
    if (pipe2(engine->wake_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        log_error("pipe2 failed", "{s:s}", "error", strerror(errno));
        goto done;
    }
    engine->multi = curl_multi_init();
    if (engine->multi == NULL) {
        log_error("curl_multi_init failed", NULL);
        goto done;
    }
    /* One connection per concurrent request, all kept alive in the multi handle's cache and
     * reused by the next request to the same CP host. */
    long connections = (long)engine->settings->concurrency;
    CURLMcode multi_code =
        curl_multi_setopt(engine->multi, CURLMOPT_MAX_HOST_CONNECTIONS, connections);
    if (multi_code == CURLM_OK)
        multi_code = curl_multi_setopt(engine->multi, CURLMOPT_MAXCONNECTS, connections);
    if (multi_code != CURLM_OK) {
        log_error("curl_multi_setopt failed", "{s:s}", "error", curl_multi_strerror(multi_code));
        goto done;
    }
    engine->idle_requests =
        calloc((size_t)engine->settings->concurrency, sizeof engine->idle_requests[0]);
    if (engine->idle_requests == NULL) {
        log_error("out of memory", NULL);
        goto done;
    }
    engine->sockets = cp_sockets_new(engine->multi, engine->wake_pipe[0], error, sizeof error);
    if (engine->sockets == NULL) {
        log_error("cp_sockets_new failed", "{s:s}", "error", error);
        goto done;
    }

    kafka_client_spec spec = client_spec(engine);
    engine->producer = kafka_client_new_producer(&spec, error, sizeof error, &usage_error);
    if (engine->producer == NULL)
        goto kafka_failed;
    kafka_client_learn_topic(engine->producer, engine->settings->common.topic_verdicts);
    engine->consumer = kafka_client_new_consumer(&spec, error, sizeof error, &usage_error);
    if (engine->consumer == NULL)
        goto kafka_failed;
    if (!enable_wake_events(engine, rd_kafka_queue_get_consumer(engine->consumer)) ||
        !enable_wake_events(engine, rd_kafka_queue_get_main(engine->producer))) {
        log_error("rd_kafka_queue_get failed", NULL);
        goto done;
    }
    if (!kafka_client_subscribe(engine->consumer, engine->settings->common.topic_checks, error,
                                sizeof error))
        goto kafka_failed;
    engine->urgent = urgent_lane_new(engine->settings, options->kafka_properties, options->registry,
                                     engine->wake_pipe[1], error, sizeof error, &usage_error);
    if (engine->urgent == NULL)
        goto kafka_failed;
    if (options->server != NULL) {
        metrics_server_set_liveness_window(options->server, CHECKER_LIVENESS_WINDOW_MS);
        metrics_server_set_ready(options->server, false, "waiting for the consumer group");
    }
    log_info("checker started", "{s:s, s:s, s:s, s:I, s:I, s:I}", "checker_id",
             engine->settings->checker_id, "group_id", engine->settings->group_id, "topic",
             engine->settings->common.topic_checks, "concurrency",
             (json_int_t)engine->settings->concurrency, "timeout_ms",
             (json_int_t)engine->settings->timeout_ms, "max_rps",
             (json_int_t)engine->settings->max_rps);

    run_loop(engine);
    exit_code = engine->fatal ? 1 : 0;
    if (!engine->stopping)
        engine->stopping = true; /* a fatal error: no retries from here on */

    /* Shutdown, in order: stop the CP side, flush what was produced (its delivery reports
     * store offsets), close the consumer (commits the stored offsets, leaves the group),
     * destroy. */
    abort_transfers(engine);
    flush_producer(engine, CHECKER_FINAL_FLUSH_MS);
    rd_kafka_resp_err_t close_error = rd_kafka_consumer_close(engine->consumer);
    if (close_error != RD_KAFKA_RESP_ERR_NO_ERROR)
        log_warn("rd_kafka_consumer_close failed", "{s:s}", "error", rd_kafka_err2str(close_error));
    urgent_lane_free(engine->urgent);
    engine->urgent = NULL;
    log_info("checker stopped", "{s:i}", "exit_code", exit_code);
    goto done;

kafka_failed:
    log_error("kafka set-up failed", "{s:s}", "detail", error);
    exit_code = usage_error ? 2 : 1;

done:
    if (engine->producer != NULL)
        rd_kafka_destroy(engine->producer); /* no delivery report runs after this */
    /* Unfinished work: never committed, so the next owner redoes it. Stopping, so that no
     * freed holder hands its workspace on to a queue that is being torn down. */
    engine->stopping = true;
    abort_transfers(engine);
    while (engine->all_items != NULL)
        item_free(engine, engine->all_items);
    if (engine->consumer != NULL)
        rd_kafka_destroy(engine->consumer);
    urgent_lane_free(engine->urgent);
    for (size_t index = 0; index < engine->idle_count; index++)
        http_request_free(engine->idle_requests[index]);
    free(engine->idle_requests);
    cp_sockets_free(engine->sockets);
    if (engine->multi != NULL)
        curl_multi_cleanup(engine->multi);
    for (int index = 0; index < 2; index++) {
        if (engine->wake_pipe[index] >= 0)
            close(engine->wake_pipe[index]);
    }
    offset_tracker_free(engine->tracker);
    workspace_gate_free(engine->gate);
    return exit_code;
}
