/* actuator_loop.c — the main loop of reconciler-actuator (see actuator_loop.h).
 *
 * Each iteration: serve the producer's delivery reports; retry a held verdict if one waits;
 * otherwise handle the next message of the current batch, or consume a new batch (up to
 * ACTUATOR_CP_CONFIRM_CONCURRENCY messages already fetched) and ask the CP about all its
 * NOT_RUNNING verdicts at once; publish the action outbox; housekeeping. Messages are still
 * decided one at a time, in order: only the CP's answers are gathered ahead. A
 * verdict's offset is stored (for the background commit) only once its outcome is durable:
 * RUNNING/UNKNOWN at once (nothing to do), NOT_RUNNING after its transaction commits, an
 * undecodable one after the DLQ's delivery report.
 *
 * Holding: when a NOT_RUNNING verdict's transaction fails (database down), it would flip but
 * the group's flip rate has no token for it yet (ACTUATOR_MAX_FLIPS_PER_MIN), or a DLQ record
 * cannot be written yet, the message is kept, every assigned partition is paused (librdkafka
 * then fetches nothing and resumes at the held message's successor), and it is retried with
 * backoff while rd_kafka_consumer_poll keeps serving the group. No verdict after it is looked
 * at, so none is skipped. A rebalance that takes the held message's partition away drops it:
 * its offset was never stored, so the partition's next owner gets it again. */
#include "actuator_loop.h"

#include "action_publisher.h"
#include "codec.h"
#include "actuator_decide.h"
#include "cp_confirm.h"
#include "dlq.h"
#include "kafka_client.h"
#include "kafka_lag.h"
#include "log.h"
#include "restart_worker.h"
#include "actuator_store.h"
#include "timeutil.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONSUMER_POLL_MS 100
#define HOLD_BACKOFF_MIN_MS 250
#define HOLD_BACKOFF_MAX_MS 15000
#define GAUGE_INTERVAL_MS 5000
/* The lag gauge reads librdkafka's cached watermarks only: cheap enough to refresh often. */
#define LAG_INTERVAL_MS 1000
#define PRUNE_INTERVAL_MS (3600 * 1000)
/* Shutdown budget (the whole must stay under 15 s): publishing the outbox, then the
 * producer's flush. The consumer's close takes a round trip or two. */
#define SHUTDOWN_PUBLISH_MS 3000
#define SHUTDOWN_FLUSH_MS 5000

typedef enum {
    HOLD_NONE = 0,
    HOLD_DECISION,   /* a NOT_RUNNING verdict waits for the database */
    HOLD_FLIP_TOKEN, /* a NOT_RUNNING verdict that would flip waits for the group's flip rate */
    HOLD_DLQ_SEND,   /* an undecodable message waits to be handed to the producer */
    HOLD_DLQ_SENT,   /* ... and then for its delivery report */
} hold_state;

/* What was learned about a NOT_RUNNING verdict ahead of its decision: the unlocked read
 * (peek) saying whether the CP must be asked, and the CP's answer when it was. It stands in
 * for peeking and asking at decision time only while it is at most this old: a verdict that
 * waited behind a held one is looked at again, so a flip always rests on an answer seconds
 * old. */
#define CONFIRMATION_AHEAD_MAX_AGE_MS 5000

/* How many messages one batch takes from what the consumer has already fetched. NOT_RUNNING
 * verdicts are sparse in a sweep (1 % of the fleet dying is a lot), so the batch must be far
 * larger than the number of confirmations asked at once for a wave of terminations to be
 * confirmed together. */
#define BATCH_CAPACITY 1024

typedef struct {
    bool peeked;   /* the read was done: `asked` says whether the CP was needed */
    bool asked;    /* ... and then the CP was asked: `answer` */
    int64_t at_ms; /* monotonic: when the answer (or the read, when not asked) came */
    actuator_cp_answer answer;
} confirmation_ahead;

/* One consumed message of the current batch. */
typedef struct {
    rd_kafka_message_t *message; /* NULL once handled, or dropped by a revoke */
    codec_error decoded;         /* meaningful when message->err is 0 */
    verdict record;              /* when decoded == CODEC_OK */
    confirmation_ahead ahead;
} batch_entry;

/* The opaque of a DLQ record: freed by the delivery-report callback. */
typedef struct {
    delivery_tag tag; /* first member */
    uint64_t generation;
} dlq_ticket;

typedef struct {
    const actuator_settings *settings;
    actuator_metrics *metrics;
    metrics_server *server;
    rd_kafka_t *consumer;
    rd_kafka_t *producer;
    actuator_store *database;
    action_publisher *publisher;
    restart_worker *worker;
    actuator_cp_confirmer *confirmer; /* NULL when ACTUATOR_CP_CONFIRM=false */
    batch_entry *batch;               /* ACTUATOR_CP_CONFIRM_CONCURRENCY entries */
    size_t batch_capacity, batch_count, batch_next;
    atomic_uint actions_written; /* bumped by the restart worker */
    unsigned actions_seen;
    bool publish_nudge;

    hold_state hold;
    bool consumption_paused; /* every assigned partition paused (sync_consumption) */
    rd_kafka_message_t *held;
    verdict held_verdict; /* decoded, for HOLD_DECISION */
    confirmation_ahead held_ahead;
    const char *dlq_error_name;
    const char *dlq_detail;
    metrics_counter *dlq_counter;
    uint64_t hold_generation; /* a DLQ report for an older hold is ignored */
    bool dlq_reported;
    rd_kafka_resp_err_t dlq_result;
    int64_t hold_retry_at_ms;
    int64_t hold_backoff_ms;
    int64_t flip_token_wait_ms; /* set by decide() when the flip rate held the verdict back */

    bool database_ok;
    bool fatal;
    bool stopping;
    int64_t next_gauges_ms;
    int64_t dry_run_pending_reported; /* pending restarts a dry run last logged as left */
    bool pause_seen;                  /* the group's pause switch as last read */
    int64_t next_lag_ms;
    int64_t next_prune_ms;
} actuator_loop;

/* ---- readiness and the database's state --------------------------------------------------- */

static void update_readiness(actuator_loop *loop)
{
    if (loop->stopping) {
        metrics_server_set_ready(loop->server, false, "shutting down");
    } else if (loop->fatal) {
        metrics_server_set_ready(loop->server, false, "kafka client failed");
    } else if (!loop->database_ok) {
        metrics_server_set_ready(loop->server, false, "database unavailable");
    } else if (loop->hold == HOLD_DECISION) {
        /* A query keeps failing (a lock held elsewhere, a timeout): the partition is stalled
         * even though the connection works. */
        metrics_server_set_ready(loop->server, false, "verdict held: its transaction fails");
    } else {
        metrics_server_set_ready(loop->server, true, NULL);
    }
}

/* Records the outcome of a database operation of `component`: a failure counts, turns the
 * actuator unready and logs once per outage (a query error logs every time: it is news). */
static void note_database(actuator_loop *loop, actuator_component component,
                          actuator_store_status status)
{
    if (status == ACTUATOR_STORE_OK) {
        if (!loop->database_ok) {
            log_info("database reachable again", NULL);
            loop->database_ok = true;
            metrics_gauge_set(loop->metrics->database_up, 1);
            update_readiness(loop);
        }
        return;
    }
    actuator_metrics_db_error(loop->metrics, component, status);
    if (loop->database_ok || status == ACTUATOR_STORE_ERROR_QUERY) {
        log_error("database operation failed", "{s:s, s:s, s:s}", "kind",
                  actuator_store_status_name(status), "operation",
                  actuator_store_last_operation(loop->database), "error",
                  actuator_store_last_error(loop->database));
    }
    if (status == ACTUATOR_STORE_ERROR_CONNECTION && loop->database_ok) {
        loop->database_ok = false;
        metrics_gauge_set(loop->metrics->database_up, 0);
        update_readiness(loop);
    }
}

/* ---- Kafka plumbing ----------------------------------------------------------------------- */

/* Stores `message`'s offset + 1 for the background commit. A failure (the partition was
 * revoked meanwhile) is harmless: the next owner redelivers and the decision key dedupes. */
static void mark_offset_done(actuator_loop *loop, const rd_kafka_message_t *message)
{
    rd_kafka_topic_partition_list_t *offsets = rd_kafka_topic_partition_list_new(1);
    if (offsets == NULL) {
        log_error("rd_kafka_topic_partition_list_new failed", NULL);
        return;
    }
    rd_kafka_topic_partition_t *entry = rd_kafka_topic_partition_list_add(
        offsets, rd_kafka_topic_name(message->rkt), message->partition);
    entry->offset = message->offset + 1;
    rd_kafka_resp_err_t error = rd_kafka_offsets_store(loop->consumer, offsets);
    if (error == RD_KAFKA_RESP_ERR_NO_ERROR && entry->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        error = entry->err;
    }
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_warn("rd_kafka_offsets_store failed; the verdict may be redelivered", "{s:i, s:I, s:s}",
                 "partition", (int)message->partition, "offset", (json_int_t)message->offset,
                 "error", rd_kafka_err2str(error));
    }
    rd_kafka_topic_partition_list_destroy(offsets);
}

/* Pauses or resumes every partition currently assigned. */
static void set_consumption_paused(actuator_loop *loop, bool paused)
{
    rd_kafka_topic_partition_list_t *assignment = NULL;
    rd_kafka_resp_err_t error = rd_kafka_assignment(loop->consumer, &assignment);
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_error("rd_kafka_assignment failed", "{s:s}", "error", rd_kafka_err2str(error));
        return;
    }
    if (assignment->cnt > 0) {
        error = paused ? rd_kafka_pause_partitions(loop->consumer, assignment)
                       : rd_kafka_resume_partitions(loop->consumer, assignment);
        if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
            log_error(paused ? "rd_kafka_pause_partitions failed"
                             : "rd_kafka_resume_partitions failed",
                      "{s:s}", "error", rd_kafka_err2str(error));
        }
    }
    rd_kafka_topic_partition_list_destroy(assignment);
    loop->consumption_paused = paused;
    metrics_gauge_set(loop->metrics->paused, paused ? 1 : 0);
}

static bool batch_pending(const actuator_loop *loop)
{
    for (size_t i = loop->batch_next; i < loop->batch_count; i++) {
        if (loop->batch[i].message != NULL) {
            return true;
        }
    }
    return false;
}

/* Consumption is paused from the moment a verdict is held until the hold is over AND the
 * batch it interrupted is handled. Resuming in between would only make librdkafka fetch
 * again what it purged at the pause, while the batch still holds the next messages: with the
 * flip rate holding one verdict after another for a few milliseconds each, every flip would
 * cost a pause, a resume and a refetch. */
static void sync_consumption(actuator_loop *loop)
{
    bool paused = loop->hold != HOLD_NONE || (loop->consumption_paused && batch_pending(loop));
    if (paused != loop->consumption_paused) {
        set_consumption_paused(loop, paused);
    }
}

static void enter_hold(actuator_loop *loop, hold_state state, rd_kafka_message_t *message)
{
    loop->hold = state;
    loop->held = message;
    loop->hold_generation++;
    loop->hold_backoff_ms = HOLD_BACKOFF_MIN_MS;
    loop->hold_retry_at_ms = time_now_monotonic_ms();
    loop->dlq_reported = false;
    sync_consumption(loop);
    update_readiness(loop);
}

/* Ends the hold. `completed`: the held message's outcome is durable, store its offset. */
static void leave_hold(actuator_loop *loop, bool completed, bool resume)
{
    if (loop->held != NULL) {
        if (completed) {
            mark_offset_done(loop, loop->held);
        }
        rd_kafka_message_destroy(loop->held);
        loop->held = NULL;
    }
    verdict_free(&loop->held_verdict);
    memset(&loop->held_verdict, 0, sizeof loop->held_verdict);
    memset(&loop->held_ahead, 0, sizeof loop->held_ahead);
    loop->hold = HOLD_NONE;
    loop->hold_generation++;
    if (resume) {
        sync_consumption(loop);
    }
    update_readiness(loop);
}

static void schedule_hold_retry(actuator_loop *loop)
{
    loop->hold_retry_at_ms = time_now_monotonic_ms() + loop->hold_backoff_ms;
    loop->hold_backoff_ms = loop->hold_backoff_ms * 2 > HOLD_BACKOFF_MAX_MS
                                ? HOLD_BACKOFF_MAX_MS
                                : loop->hold_backoff_ms * 2;
}

static bool partition_listed(const rd_kafka_topic_partition_list_t *partitions,
                             const rd_kafka_message_t *message)
{
    return kafka_partition_listed(partitions, rd_kafka_topic_name(message->rkt),
                                  message->partition);
}

static void batch_entry_release(batch_entry *entry)
{
    if (entry->message != NULL) {
        rd_kafka_message_destroy(entry->message);
        entry->message = NULL;
    }
    if (entry->decoded == CODEC_OK) {
        verdict_free(&entry->record);
    }
    memset(entry, 0, sizeof *entry);
}

/* The batch's messages not handled yet whose partition goes away are dropped with it: their
 * offsets were never stored, so the partition's next owner gets them again. */
static void drop_revoked_batch_entries(actuator_loop *loop,
                                       const rd_kafka_topic_partition_list_t *partitions)
{
    size_t dropped = 0;
    for (size_t i = loop->batch_next; i < loop->batch_count; i++) {
        batch_entry *entry = &loop->batch[i];
        if (entry->message != NULL && partition_listed(partitions, entry->message)) {
            batch_entry_release(entry);
            dropped++;
        }
    }
    if (dropped > 0) {
        log_info("consumed verdicts dropped with their revoked partitions; the next owner gets "
                 "them",
                 "{s:I}", "count", (json_int_t)dropped);
    }
}

/* Handles both eager and cooperative protocols (whichever partition.assignment.strategy an
 * operator passes), and keeps the hold consistent: newly assigned partitions stay paused
 * while a verdict is held, and a held message whose partition goes away is dropped. */
static void on_rebalance(rd_kafka_t *consumer, rd_kafka_resp_err_t reason,
                         rd_kafka_topic_partition_list_t *partitions, void *opaque)
{
    actuator_loop *loop = opaque;
    if (reason == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        log_info("partitions assigned", "{s:i, s:b}", "count", partitions->cnt, "paused",
                 loop->consumption_paused);
        if (kafka_rebalance_apply(consumer, reason, partitions) && partitions->cnt > 0) {
            /* Resume explicitly otherwise: a partition paused before a rebalance may come
             * back still paused. */
            rd_kafka_resp_err_t pause_error =
                loop->consumption_paused ? rd_kafka_pause_partitions(consumer, partitions)
                                         : rd_kafka_resume_partitions(consumer, partitions);
            if (pause_error != RD_KAFKA_RESP_ERR_NO_ERROR) {
                log_error("pausing or resuming assigned partitions failed", "{s:s}", "error",
                          rd_kafka_err2str(pause_error));
            }
        }
        return;
    }
    bool dropped = false;
    if (reason == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        log_info("partitions revoked", "{s:i}", "count", partitions->cnt);
        if (loop->hold != HOLD_NONE && loop->held != NULL &&
            partition_listed(partitions, loop->held)) {
            log_warn("held verdict dropped: its partition was revoked, the next owner gets it",
                     "{s:i, s:I}", "partition", (int)loop->held->partition, "offset",
                     (json_int_t)loop->held->offset);
            leave_hold(loop, false, false);
            dropped = true;
        }
        drop_revoked_batch_entries(loop, partitions);
    }
    kafka_rebalance_apply(consumer, reason, partitions); /* an error event gives all up */
    if (dropped) {
        sync_consumption(loop); /* what remains assigned, if anything */
    }
}

/* The producer's delivery reports (actions and DLQ records), served by rd_kafka_poll on the
 * main thread. */
static void on_delivery(rd_kafka_t *producer, const rd_kafka_message_t *message, void *opaque)
{
    (void)producer;
    actuator_loop *loop = opaque;
    delivery_tag *tag = message->_private;
    if (tag == NULL) {
        return;
    }
    if (tag->kind == DELIVERY_ACTION) {
        if (loop->publisher != NULL) {
            action_publisher_on_delivery(loop->publisher, tag, message->err);
        }
        return;
    }
    dlq_ticket *ticket = (dlq_ticket *)tag;
    if (loop->hold == HOLD_DLQ_SENT && ticket->generation == loop->hold_generation) {
        loop->dlq_reported = true;
        loop->dlq_result = message->err;
    }
    free(ticket);
}

/* ---- the verdict's path ------------------------------------------------------------------ */

/* The group's pause switch as just read (by a decision or the gauges' refresh): the gauge, and
 * one line per change, so the log says when this actuator noticed the pause and the resume.
 * `state` is NULL when only the flag is known (a decision reads no more). */
static void note_pause(actuator_loop *loop, bool paused, const actuator_store_pause_state *state)
{
    metrics_gauge_set(loop->metrics->pause_switch, paused ? 1 : 0);
    if (paused == loop->pause_seen) {
        return;
    }
    loop->pause_seen = paused;
    if (paused) {
        log_warn("actuator paused: NOT_RUNNING verdicts are recorded as skipped "
                 "(actuator_paused) and no restart is sent until reconciler-actuator --resume",
                 "{s:s, s:s}", "paused_by", state != NULL ? state->paused_by : "see the Actions",
                 "reason", state != NULL ? state->reason : "see the Actions");
    } else {
        log_warn("actuator resumed: verdicts act again from the next sweep", NULL);
    }
}

static void log_decision(actuator_loop *loop, const verdict *record,
                         const rd_kafka_message_t *message,
                         const actuator_store_decision_result *result)
{
    action_outcome outcome = result->decision.outcome;
    if (result->breaker_tripped) {
        /* The loud line of the breaker (level error): an operator must look at the CP. */
        log_error("breaker open: the group would act on more workspaces within the breaker "
                  "window than ACTUATOR_MAX_UNHEALTHY allows; acting on none until the window "
                  "holds fewer",
                  "{s:s, s:I, s:I, s:I, s:I, s:s}", "sweep_id", record->sweep_id, "sweep_size",
                  (json_int_t)record->sweep_size, "limit", (json_int_t)result->breaker.limit,
                  "window_count", (json_int_t)result->breaker.window_count, "window_ms",
                  (json_int_t)result->breaker.window_ms, "max_unhealthy_setting",
                  loop->settings->max_unhealthy.is_percent ? "percent" : "absolute");
    }
    if (result->breaker_closed) {
        log_warn("breaker closed: the breaker window holds fewer workspaces than the limit "
                 "again; acting resumes",
                 "{s:s, s:I, s:I}", "sweep_id", record->sweep_id, "limit",
                 (json_int_t)result->breaker.limit, "window_count",
                 (json_int_t)result->breaker.window_count);
    }
    if (outcome == ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED) {
        log_info("workspace flipped offline, restart queued", "{s:s, s:s, s:s, s:i, s:I}",
                 "workspace_id", record->workspace_id, "instance_id", record->instance_id,
                 "sweep_id", record->sweep_id, "partition", (int)message->partition, "offset",
                 (json_int_t)message->offset);
        return;
    }
    /* Breaker skips can number in the thousands for one sweep: the trip line above says it
     * once, each skip is a debug line (and an Action record). */
    log_at(outcome == ACTION_OUTCOME_SKIPPED_BREAKER_OPEN ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO,
           "verdict not acted on", "{s:s, s:s, s:s, s:s, s:b}", "workspace_id",
           record->workspace_id, "instance_id", record->instance_id, "outcome",
           action_outcome_name(outcome), "reason", result->reason, "dry_run",
           loop->settings->dry_run);
}

static actuator_store_decision_input
decision_input(const actuator_loop *loop, const rd_kafka_message_t *message, const verdict *record)
{
    const actuator_settings *settings = loop->settings;
    return (actuator_store_decision_input){
        .record = record,
        .topic = rd_kafka_topic_name(message->rkt),
        .partition = message->partition,
        .offset = message->offset,
        .max_unhealthy = settings->max_unhealthy,
        .breaker_window_ms = settings->breaker_window_ms,
        .max_flips_per_minute = settings->max_flips_per_minute,
        .policy = {.max_verdict_age_ms = settings->max_verdict_age_ms,
                   .dry_run = settings->dry_run,
                   .cp_confirm = settings->cp_confirm},
        .now_ms = time_now_wall_ms(),
        .actuator_id = settings->actuator_id,
    };
}

/* Whether the CP is worth asking about `record` now: a cheap unlocked read of what the
 * decision will find. A redelivered verdict (decided before), a moot one (row gone, changed,
 * not online, out of scope) or a stale one costs no call. */
static actuator_store_status
needs_confirmation(actuator_loop *loop, const actuator_store_decision_input *input, bool *ask)
{
    *ask = false;
    actuator_store_peek peek;
    actuator_store_status status = actuator_store_peek_verdict(loop->database, input, &peek);
    note_database(loop, ACTUATOR_COMPONENT_DECISION, status);
    if (status != ACTUATOR_STORE_OK) {
        return status;
    }
    const verdict *record = input->record;
    actuator_verdict_facts facts = {
        .liveness = record->liveness,
        .instance_id = record->instance_id,
        .checked_at_ms = record->checked_at,
    };
    /* A paused group asks the CP nothing; the decision's transaction reads the switch again. */
    actuator_policy policy = input->policy;
    policy.paused = peek.paused;
    *ask =
        !peek.decided && actuator_needs_cp_confirmation(&facts, &peek.row, input->now_ms, &policy);
    actuator_store_peek_free(&peek);
    return ACTUATOR_STORE_OK;
}

static void count_confirmation(actuator_loop *loop, const verdict *record,
                               const actuator_cp_answer *answer)
{
    metrics_counter_add(loop->metrics->cp_confirmations[answer->confirmation], 1);
    metrics_histogram_observe(loop->metrics->cp_confirmation_seconds,
                              (double)answer->elapsed_ms / 1000.0);
    log_at(answer->confirmation == ACTUATOR_CP_CONFIRMATION_NOT_RUNNING ? LOG_LEVEL_DEBUG
                                                                        : LOG_LEVEL_INFO,
           "CP confirmation", "{s:s, s:s, s:s, s:s, s:I}", "workspace_id", record->workspace_id,
           "instance_id", record->instance_id, "result",
           actuator_cp_confirmation_name(answer->confirmation), "cp_reason",
           cp_reason_name(answer->reason), "elapsed_ms", (json_int_t)answer->elapsed_ms);
}

/* The CP confirmation (docs/actuator.md "CP confirmation"): the answer asked ahead with the
 * batch when it is fresh, else, only for a verdict that would otherwise act, the CP asked
 * about the same instance now, with no transaction open. Its answer goes into
 * input->cp_confirmation and the decision's transaction treats it as one more fact. Returns
 * the peek's status (a failure holds the verdict like any database failure). */
static actuator_store_status confirm_with_cp(actuator_loop *loop, const verdict *record,
                                             const confirmation_ahead *ahead,
                                             actuator_store_decision_input *input)
{
    if (ahead != NULL && ahead->peeked &&
        time_now_monotonic_ms() - ahead->at_ms <= CONFIRMATION_AHEAD_MAX_AGE_MS) {
        /* Not asked: the read found the verdict moot or decided. Should the row have changed
         * since so that it would act, the decision skips it (cp_confirmation_missing). */
        input->cp_confirmation =
            ahead->asked ? ahead->answer.confirmation : ACTUATOR_CP_CONFIRMATION_NOT_ASKED;
        return ACTUATOR_STORE_OK;
    }
    bool ask = false;
    actuator_store_status status = needs_confirmation(loop, input, &ask);
    if (status != ACTUATOR_STORE_OK || !ask) {
        return status;
    }
    actuator_cp_question question = {.workspace_id = record->workspace_id,
                                     .instance_id = record->instance_id};
    actuator_cp_confirm_all(loop->confirmer, &question, 1);
    input->cp_confirmation = question.answer.confirmation;
    /* The decision's clock is read after the call: freshness and acted_at describe the moment
     * of the decision, not the moment before a wait of up to ACTUATOR_CP_CONFIRM_TIMEOUT. */
    input->now_ms = time_now_wall_ms();
    count_confirmation(loop, record, &question.answer);
    return ACTUATOR_STORE_OK;
}

/* Runs the decision transaction for a NOT_RUNNING verdict. true when its outcome is durable
 * (or it was a duplicate) and its offset stored; false when the database failed or the
 * group's flip rate had no token yet (then loop->flip_token_wait_ms > 0): the caller holds
 * the message. */
static bool decide(actuator_loop *loop, const rd_kafka_message_t *message, const verdict *record,
                   const confirmation_ahead *ahead)
{
    loop->flip_token_wait_ms = 0;
    actuator_store_status status = actuator_store_connect(loop->database);
    if (status != ACTUATOR_STORE_OK) {
        note_database(loop, ACTUATOR_COMPONENT_DECISION, status);
        return false;
    }
    actuator_store_decision_input input = decision_input(loop, message, record);
    if (loop->settings->cp_confirm) {
        status = confirm_with_cp(loop, record, ahead, &input);
        if (status != ACTUATOR_STORE_OK) {
            return false;
        }
    }
    actuator_store_decision_result result;
    int64_t started = time_now_monotonic_ms();
    status = actuator_store_decide_verdict(loop->database, &input, &result);
    note_database(loop, ACTUATOR_COMPONENT_DECISION, status);
    if (status != ACTUATOR_STORE_OK) {
        return false;
    }
    if (result.rate_limited) {
        /* Nothing was decided: the verdict is decided again once a token is due. */
        metrics_counter_add(loop->metrics->flips_rate_limited, 1);
        log_debug("flip waits for the group's flip rate", "{s:s, s:I}", "workspace_id",
                  record->workspace_id, "retry_in_ms", (json_int_t)result.retry_in_ms);
        loop->flip_token_wait_ms = result.retry_in_ms;
        return false;
    }
    metrics_histogram_observe(loop->metrics->decision_seconds,
                              (double)(time_now_monotonic_ms() - started) / 1000.0);
    if (result.duplicate) {
        metrics_counter_add(loop->metrics->duplicates, 1);
        log_debug("verdict already decided; nothing done", "{s:s, s:i, s:I}", "workspace_id",
                  record->workspace_id, "partition", (int)message->partition, "offset",
                  (json_int_t)message->offset);
    } else {
        metrics_counter_add(loop->metrics->actions[result.decision.outcome], 1);
        if (result.breaker_counted) {
            metrics_gauge_set(loop->metrics->breaker_open, result.breaker_open ? 1 : 0);
        }
        if (result.breaker_tripped) {
            metrics_counter_add(loop->metrics->breaker_trips, 1);
        }
        if (result.decision.detail == ACTUATOR_DETAIL_ACTUATOR_PAUSED) {
            metrics_counter_add(loop->metrics->paused_verdicts, 1);
        }
        if (result.pause_read) {
            note_pause(loop, result.paused, NULL);
        }
        log_decision(loop, record, message, &result);
        if (result.decision.outcome == ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED) {
            restart_worker_nudge(loop->worker);
        }
        loop->publish_nudge = true;
    }
    mark_offset_done(loop, message);
    return true;
}

static void start_dlq(actuator_loop *loop, rd_kafka_message_t *message, const char *error_name,
                      const char *detail, metrics_counter *counter)
{
    log_warn("undecodable verdict; sending it to the DLQ", "{s:s, s:s, s:i, s:I}", "error",
             error_name, "detail", detail, "partition", (int)message->partition, "offset",
             (json_int_t)message->offset);
    enter_hold(loop, HOLD_DLQ_SEND, message);
    loop->dlq_error_name = error_name;
    loop->dlq_detail = detail;
    loop->dlq_counter = counter;
}

/* The verdict waits for the group's flip rate: retried exactly when a token is due, not with
 * the database's backoff. The actuator stays ready: pacing is not a fault. */
static void hold_for_flip_token(actuator_loop *loop)
{
    loop->hold = HOLD_FLIP_TOKEN;
    loop->hold_backoff_ms = HOLD_BACKOFF_MIN_MS;
    loop->hold_retry_at_ms = time_now_monotonic_ms() + loop->flip_token_wait_ms;
    update_readiness(loop);
}

/* How long the loop's poll may wait while a verdict is held: it only serves the group
 * (paused partitions deliver nothing), so it wakes when a flip token is due, often within a
 * few milliseconds at a high flip rate, and otherwise every 20 ms. */
static int hold_poll_ms(const actuator_loop *loop)
{
    if (loop->hold != HOLD_FLIP_TOKEN) {
        return 20;
    }
    int64_t wait_ms = loop->hold_retry_at_ms - time_now_monotonic_ms();
    return wait_ms <= 0 ? 0 : wait_ms > 20 ? 20 : (int)wait_ms;
}

/* Advances a held message: retries the decision, (re)sends the DLQ record, or completes
 * once the DLQ's delivery report arrived. */
static void advance_hold(actuator_loop *loop, int64_t now_ms)
{
    if (loop->hold == HOLD_DLQ_SENT) {
        if (!loop->dlq_reported) {
            return;
        }
        if (loop->dlq_result == RD_KAFKA_RESP_ERR_NO_ERROR) {
            metrics_counter_add(loop->dlq_counter, 1);
            leave_hold(loop, true, true);
            return;
        }
        log_warn("DLQ delivery failed; retrying", "{s:s}", "error",
                 rd_kafka_err2str(loop->dlq_result));
        loop->hold = HOLD_DLQ_SEND;
        schedule_hold_retry(loop);
        return;
    }
    if (now_ms < loop->hold_retry_at_ms) {
        return;
    }
    if (loop->hold == HOLD_DECISION || loop->hold == HOLD_FLIP_TOKEN) {
        bool waited_for_token = loop->hold == HOLD_FLIP_TOKEN;
        if (decide(loop, loop->held, &loop->held_verdict, &loop->held_ahead)) {
            log_at(waited_for_token ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO,
                   "held verdict decided; consumption resumes", "{s:s}", "workspace_id",
                   loop->held_verdict.workspace_id);
            leave_hold(loop, false, true); /* decide() stored the offset */
        } else if (loop->flip_token_wait_ms > 0) {
            hold_for_flip_token(loop);
        } else {
            loop->hold = HOLD_DECISION;
            update_readiness(loop);
            schedule_hold_retry(loop);
        }
        return;
    }
    /* HOLD_DLQ_SEND */
    dlq_ticket *ticket = calloc(1, sizeof *ticket);
    if (ticket == NULL) {
        schedule_hold_retry(loop);
        return;
    }
    ticket->tag.kind = DELIVERY_DLQ;
    ticket->generation = loop->hold_generation;
    rd_kafka_resp_err_t error =
        dlq_send(loop->producer, loop->settings->common.topic_dlq, loop->held,
                 "reconciler-actuator", loop->dlq_error_name, loop->dlq_detail, ticket);
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
        free(ticket);
        log_warn("dlq_send failed; retrying", "{s:s}", "error", rd_kafka_err2str(error));
        schedule_hold_retry(loop);
        return;
    }
    /* A previous attempt's failed report must not stand in for this one's. */
    loop->dlq_reported = false;
    loop->hold = HOLD_DLQ_SENT;
}

/* A message consumed while a verdict is held: paused partitions deliver nothing; should one
 * slip through, give it back by seeking its partition to it rather than acting out of order.
 * Takes ownership of it. */
static void give_back(actuator_loop *loop, rd_kafka_message_t *message)
{
    log_error("message received while consumption is paused; seeking back", "{s:i, s:I}",
              "partition", (int)message->partition, "offset", (json_int_t)message->offset);
    rd_kafka_topic_partition_list_t *position = rd_kafka_topic_partition_list_new(1);
    if (position != NULL) {
        rd_kafka_topic_partition_list_add(position, rd_kafka_topic_name(message->rkt),
                                          message->partition)
            ->offset = message->offset;
        rd_kafka_error_t *error = rd_kafka_seek_partitions(loop->consumer, position, 5000);
        if (error != NULL) {
            log_error("rd_kafka_seek_partitions failed", "{s:s}", "error",
                      rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
        }
        rd_kafka_topic_partition_list_destroy(position);
    }
    rd_kafka_message_destroy(message);
}

static void handle_consumer_error(actuator_loop *loop, const rd_kafka_message_t *message)
{
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        return;
    }
    log_warn("consumer error", "{s:s, s:s}", "error", rd_kafka_err2str(message->err), "detail",
             rd_kafka_message_errstr(message));
    char reason[256];
    if (rd_kafka_fatal_error(loop->consumer, reason, sizeof reason) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_error("consumer failed fatally", "{s:s}", "error", reason);
        loop->fatal = true;
        update_readiness(loop);
    }
}

/* One message of the batch, decoded when the batch was prepared. Takes ownership of the
 * entry's message and verdict (the entry is left empty). */
static void handle_message(actuator_loop *loop, batch_entry *entry)
{
    rd_kafka_message_t *message = entry->message;
    entry->message = NULL;
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        handle_consumer_error(loop, message);
        rd_kafka_message_destroy(message);
        return;
    }
    if (entry->decoded == CODEC_ERROR_SCHEMA_UNAVAILABLE) {
        /* The schema registry could not answer until we were asked to stop: not the record's
         * fault, so no DLQ (docs/schemas.md); left uncommitted, it is read again. */
        log_error("verdict left unprocessed: schema registry unavailable", "{s:i, s:I}",
                  "partition", (int)message->partition, "offset", (json_int_t)message->offset);
        rd_kafka_message_destroy(message);
        loop->fatal = true;
        return;
    }
    if (entry->decoded != CODEC_OK) {
        start_dlq(loop, message, codec_error_name(entry->decoded),
                  "the value is not a Verdict in Avro single-object encoding",
                  loop->metrics->dlq_codec[entry->decoded]);
        return;
    }
    verdict record = entry->record;
    confirmation_ahead ahead = entry->ahead;
    memset(entry, 0, sizeof *entry); /* the verdict's ownership moves here */
    metrics_counter_add(loop->metrics->verdicts[record.liveness], 1);
    if (record.liveness != LIVENESS_NOT_RUNNING) {
        /* RUNNING and UNKNOWN never act (docs/contracts.md §1): counted, no database round trip. */
        verdict_free(&record);
        mark_offset_done(loop, message);
        rd_kafka_message_destroy(message);
        return;
    }
    const char *detail = NULL;
    const char *invalid = actuator_verdict_invalid_reason(&record, &detail);
    if (invalid != NULL) {
        verdict_free(&record);
        start_dlq(loop, message, invalid, detail,
                  loop->metrics->dlq_extra[strcmp(invalid, "invalid_sweep_id") == 0
                                               ? ACTUATOR_DLQ_INVALID_SWEEP_ID
                                               : ACTUATOR_DLQ_INVALID_INSTANCE_ID]);
        return;
    }
    /* During an outage, don't wait for a connection timeout per message: hold at once and
     * let the hold's backoff pace the retries. */
    loop->flip_token_wait_ms = 0;
    if (loop->database_ok && decide(loop, message, &record, &ahead)) {
        verdict_free(&record);
        rd_kafka_message_destroy(message);
        return;
    }
    if (loop->flip_token_wait_ms > 0) {
        /* Consumption pauses until the token is due; rd_kafka_consumer_poll keeps serving
         * the group meanwhile, and the verdicts after this one wait in order. */
        enter_hold(loop, HOLD_FLIP_TOKEN, message);
        loop->held_verdict = record; /* ownership moves to the hold */
        loop->held_ahead = ahead;
        hold_for_flip_token(loop);
        return;
    }
    log_warn("database unavailable; holding the verdict and pausing consumption", "{s:s, s:i, s:I}",
             "workspace_id", record.workspace_id, "partition", (int)message->partition, "offset",
             (json_int_t)message->offset);
    enter_hold(loop, HOLD_DECISION, message);
    loop->held_verdict = record; /* ownership moves to the hold */
    loop->held_ahead = ahead;
    if (loop->database_ok) {
        schedule_hold_retry(loop);
    } else {
        loop->hold_retry_at_ms = time_now_monotonic_ms() + HOLD_BACKOFF_MIN_MS;
    }
}

/* Decodes the batch's messages once, for handle_message and ask_ahead. */
static void decode_batch(actuator_loop *loop)
{
    for (size_t i = 0; i < loop->batch_count; i++) {
        batch_entry *entry = &loop->batch[i];
        const rd_kafka_message_t *message = entry->message;
        if (message == NULL || message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            continue; /* dropped by a revoke while the batch was taken, or an error event */
        }
        entry->decoded =
            codec_decode_verdict(message->payload != NULL ? message->payload : "",
                                 message->payload != NULL ? message->len : 0, &entry->record);
    }
}

/* A NOT_RUNNING verdict that can be decided (not bound for the DLQ). */
static bool confirmation_candidate(const batch_entry *entry)
{
    const char *detail = NULL;
    return entry->message != NULL && entry->message->err == RD_KAFKA_RESP_ERR_NO_ERROR &&
           entry->decoded == CODEC_OK && entry->record.liveness == LIVENESS_NOT_RUNNING &&
           actuator_verdict_invalid_reason(&entry->record, &detail) == NULL;
}

static bool ahead_is_fresh(const confirmation_ahead *ahead, int64_t now_ms)
{
    return ahead->peeked && now_ms - ahead->at_ms <= CONFIRMATION_AHEAD_MAX_AGE_MS;
}

/* Looks ahead from the batch's entry `from`: for the next NOT_RUNNING verdicts, the unlocked
 * read, then the CP asked about all that need it at once. It stops after as many questions
 * as the group's flip rate can decide while the answers are fresh (and at most
 * ACTUATOR_CP_CONFIRM_CONCURRENCY): at 60 flips a minute, asking about a hundred instances
 * would only ask most of them twice. A database failure stops looking ahead: the verdict's
 * own decision then peeks and asks, or holds. */
static void ask_ahead(actuator_loop *loop, size_t from)
{
    int64_t decidable =
        loop->settings->max_flips_per_minute * CONFIRMATION_AHEAD_MAX_AGE_MS / 60000;
    size_t limit = (size_t)loop->settings->cp_confirm_concurrency;
    if (decidable < (int64_t)limit) {
        limit = decidable < 1 ? 1 : (size_t)decidable;
    }
    actuator_cp_question *questions = calloc(limit, sizeof *questions);
    size_t *question_entry = calloc(limit, sizeof *question_entry);
    if (questions == NULL || question_entry == NULL ||
        actuator_store_connect(loop->database) != ACTUATOR_STORE_OK) {
        free(questions);
        free(question_entry);
        return;
    }
    size_t count = 0;
    int64_t now_ms = time_now_monotonic_ms();
    for (size_t i = from; i < loop->batch_count && count < limit; i++) {
        batch_entry *entry = &loop->batch[i];
        if (!confirmation_candidate(entry) || ahead_is_fresh(&entry->ahead, now_ms)) {
            continue;
        }
        actuator_store_decision_input input = decision_input(loop, entry->message, &entry->record);
        bool ask = false;
        if (needs_confirmation(loop, &input, &ask) != ACTUATOR_STORE_OK) {
            break;
        }
        entry->ahead = (confirmation_ahead){.peeked = true, .asked = ask, .at_ms = now_ms};
        if (ask) {
            questions[count] = (actuator_cp_question){.workspace_id = entry->record.workspace_id,
                                                      .instance_id = entry->record.instance_id};
            question_entry[count++] = i;
        }
    }
    if (count > 0) {
        actuator_cp_confirm_all(loop->confirmer, questions, count);
        for (size_t q = 0; q < count; q++) {
            batch_entry *entry = &loop->batch[question_entry[q]];
            entry->ahead.answer = questions[q].answer;
            entry->ahead.at_ms = questions[q].answered_at_monotonic_ms;
            count_confirmation(loop, &entry->record, &questions[q].answer);
        }
    }
    free(questions);
    free(question_entry);
}

/* Takes what the consumer has fetched: waits up to timeout_ms for a first message, then takes
 * the ones already there without waiting, up to the batch's capacity. */
static void consume_batch(actuator_loop *loop, int timeout_ms)
{
    loop->batch_count = 0;
    loop->batch_next = 0;
    sync_consumption(loop); /* the batch is done: resume, unless a verdict is held */
    rd_kafka_message_t *message = rd_kafka_consumer_poll(loop->consumer, timeout_ms);
    while (message != NULL) {
        if (loop->hold != HOLD_NONE) {
            give_back(loop, message);
            return;
        }
        memset(&loop->batch[loop->batch_count], 0, sizeof loop->batch[0]);
        loop->batch[loop->batch_count++].message = message;
        if (loop->batch_count == loop->batch_capacity) {
            break;
        }
        message = rd_kafka_consumer_poll(loop->consumer, 0);
    }
    decode_batch(loop);
}

/* Handles the batch's next message still there (a revoke may have dropped some). */
static void handle_next_in_batch(actuator_loop *loop)
{
    while (loop->batch_next < loop->batch_count) {
        size_t index = loop->batch_next++;
        batch_entry *entry = &loop->batch[index];
        if (entry->message == NULL) {
            continue;
        }
        if (loop->confirmer != NULL && loop->database_ok && confirmation_candidate(entry) &&
            !ahead_is_fresh(&entry->ahead, time_now_monotonic_ms())) {
            ask_ahead(loop, index);
        }
        handle_message(loop, entry);
        return;
    }
}

/* Releases what the batch still holds (at shutdown): not handled, so not committed either. */
static void release_batch(actuator_loop *loop)
{
    for (size_t i = loop->batch_next; i < loop->batch_count; i++) {
        batch_entry_release(&loop->batch[i]);
    }
    loop->batch_count = loop->batch_next = 0;
}

/* ---- housekeeping ------------------------------------------------------------------------ */

static void housekeeping(actuator_loop *loop, int64_t now_ms)
{
    if (now_ms >= loop->next_lag_ms) {
        loop->next_lag_ms = now_ms + LAG_INTERVAL_MS;
        int64_t lag = 0;
        if (kafka_consumer_lag(loop->consumer, &lag)) {
            /* Consumed is not handled: the batch's messages still to decide wait too. */
            for (size_t i = loop->batch_next; i < loop->batch_count; i++) {
                lag += loop->batch[i].message != NULL ? 1 : 0;
            }
            metrics_gauge_set(loop->metrics->consumer_lag, (double)lag);
        }
    }
    if (now_ms >= loop->next_gauges_ms) {
        loop->next_gauges_ms = now_ms + GAUGE_INTERVAL_MS;
        /* The periodic reconnect too: it is how an outage ends when no verdict needs the
         * database (and how readiness returns). While a verdict is held, its retries do it. */
        actuator_store_status status = loop->hold == HOLD_DECISION
                                           ? ACTUATOR_STORE_OK
                                           : actuator_store_connect(loop->database);
        if (status == ACTUATOR_STORE_OK && actuator_store_connected(loop->database)) {
            int64_t pending = 0, unpublished = 0, failed = 0, overdue_ms = 0;
            status = actuator_store_read_gauges(loop->database, &pending, &unpublished, &failed,
                                                &overdue_ms);
            if (status == ACTUATOR_STORE_OK) {
                metrics_gauge_set(loop->metrics->restarts_pending, (double)pending);
                metrics_gauge_set(loop->metrics->unpublished_actions, (double)unpublished);
                metrics_gauge_set(loop->metrics->restarts_failed_rows, (double)failed);
                restart_outbox_observed(loop->metrics, loop->settings->dry_run, pending, overdue_ms,
                                        &loop->dry_run_pending_reported);
                actuator_store_pause_state pause;
                status = actuator_store_read_pause(loop->database, &pause);
                if (status == ACTUATOR_STORE_OK) {
                    note_pause(loop, pause.paused, &pause);
                }
            }
        }
        if (loop->hold != HOLD_DECISION) {
            note_database(loop, ACTUATOR_COMPONENT_HOUSEKEEPING, status);
        }
    }
    if (now_ms >= loop->next_prune_ms && loop->database_ok) {
        loop->next_prune_ms = now_ms + PRUNE_INTERVAL_MS;
        int64_t deleted = 0;
        actuator_store_status status =
            actuator_store_prune(loop->database, loop->settings->retention_ms, &deleted);
        note_database(loop, ACTUATOR_COMPONENT_HOUSEKEEPING, status);
        if (status == ACTUATOR_STORE_OK && deleted > 0) {
            log_info("pruned old bookkeeping rows", "{s:I}", "rows", (json_int_t)deleted);
        }
    }
}

static void publish(actuator_loop *loop, int64_t now_ms)
{
    unsigned written = atomic_load(&loop->actions_written);
    bool nudged = loop->publish_nudge || written != loop->actions_seen;
    loop->actions_seen = written;
    loop->publish_nudge = false;
    if (!loop->database_ok || !actuator_store_connected(loop->database)) {
        loop->publish_nudge = nudged; /* remember it for when the database is back */
        return;
    }
    actuator_store_status status = action_publisher_tick(loop->publisher, now_ms, nudged);
    if (status != ACTUATOR_STORE_OK) {
        note_database(loop, ACTUATOR_COMPONENT_PUBLISHER, status);
    }
}

/* ---- set-up and shutdown ----------------------------------------------------------------- */

/* The actuator's clients (kafka_client.c); a failure is logged and stops the start-up. The
 * consumer prefetches at most 2 MiB (librdkafka's default is 64 MiB): while the actuator
 * paces flips it falls behind the checkers, and a full default queue was most of its
 * memory (80 MiB peak in the benchmark); 2 MiB is still over ten thousand verdicts, far
 * more than one batch (BATCH_CAPACITY). */
static kafka_client_spec client_spec(actuator_loop *loop, const actuator_loop_options *options)
{
    static const kafka_config_default actuator_tuning[] = {
        {"queued.max.messages.kbytes", "2048"},
    };
    return (kafka_client_spec){
        .tuning = actuator_tuning,
        .tuning_count = sizeof actuator_tuning / sizeof actuator_tuning[0],
        .common = &options->settings->common,
        .properties = options->kafka_properties,
        .client_id = options->settings->actuator_id,
        .opaque = loop,
        .on_delivery = on_delivery,
        .group_id = options->settings->group_id,
        .on_rebalance = on_rebalance,
    };
}

static rd_kafka_t *create_producer(actuator_loop *loop, const actuator_loop_options *options)
{
    char error[512];
    kafka_client_spec spec = client_spec(loop, options);
    rd_kafka_t *producer = kafka_client_new_producer(&spec, error, sizeof error, NULL);
    if (producer == NULL) {
        log_error("kafka set-up failed", "{s:s}", "detail", error);
    }
    return producer;
}

static rd_kafka_t *create_consumer(actuator_loop *loop, const actuator_loop_options *options)
{
    char error[512];
    kafka_client_spec spec = client_spec(loop, options);
    rd_kafka_t *consumer = kafka_client_new_consumer(&spec, error, sizeof error, NULL);
    if (consumer != NULL &&
        !kafka_client_subscribe(consumer, options->settings->common.topic_verdicts, error,
                                sizeof error)) {
        rd_kafka_destroy(consumer);
        consumer = NULL;
    }
    if (consumer == NULL) {
        log_error("kafka set-up failed", "{s:s}", "detail", error);
    }
    return consumer;
}

/* Publishes what the outbox holds, within the shutdown budget. */
static void drain_outbox(actuator_loop *loop)
{
    if (loop->publisher == NULL || loop->producer == NULL) {
        return;
    }
    int64_t deadline = time_now_monotonic_ms() + SHUTDOWN_PUBLISH_MS;
    while (time_now_monotonic_ms() < deadline) {
        rd_kafka_poll(loop->producer, 50);
        int64_t now = time_now_monotonic_ms();
        if (!loop->database_ok || !actuator_store_connected(loop->database)) {
            break;
        }
        actuator_store_status status = action_publisher_tick(loop->publisher, now, true);
        if (status != ACTUATOR_STORE_OK) {
            note_database(loop, ACTUATOR_COMPONENT_PUBLISHER, status);
            break;
        }
        if (action_publisher_drained(loop->publisher)) {
            break;
        }
    }
    if (!action_publisher_drained(loop->publisher)) {
        log_warn("shutdown: some actions remain unpublished; the next start publishes them", NULL);
    }
}

static void shutdown_clients(actuator_loop *loop)
{
    if (loop->hold != HOLD_NONE) {
        log_info("shutdown: the held verdict is left for redelivery", NULL);
        leave_hold(loop, false, false);
    }
    release_batch(loop);
    if (loop->worker != NULL) {
        restart_worker_stop(loop->worker); /* aborts an in-flight call; its row stays pending */
        loop->worker = NULL;
    }
    drain_outbox(loop);
    if (loop->consumer != NULL) {
        /* Commits the stored offsets and leaves the group, so a peer takes over at once. */
        rd_kafka_resp_err_t error = rd_kafka_consumer_close(loop->consumer);
        if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
            log_warn("rd_kafka_consumer_close failed", "{s:s}", "error", rd_kafka_err2str(error));
        }
        rd_kafka_destroy(loop->consumer);
        loop->consumer = NULL;
    }
    if (loop->producer != NULL) {
        rd_kafka_resp_err_t error = rd_kafka_flush(loop->producer, SHUTDOWN_FLUSH_MS);
        if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
            log_warn("rd_kafka_flush did not finish; unconfirmed actions are sent at next start",
                     "{s:s, s:i}", "error", rd_kafka_err2str(error), "outstanding",
                     rd_kafka_outq_len(loop->producer));
            /* Purged messages get their delivery reports (freeing the DLQ tickets) on this
             * last poll. */
            error =
                rd_kafka_purge(loop->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
                log_warn("rd_kafka_purge failed", "{s:s}", "error", rd_kafka_err2str(error));
            }
            rd_kafka_poll(loop->producer, 100);
        }
        rd_kafka_destroy(loop->producer);
        loop->producer = NULL;
    }
}

int actuator_loop_run(const actuator_loop_options *options)
{
    const actuator_settings *settings = options->settings;
    actuator_loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL) {
        log_error("start-up failed", "{s:s}", "detail", "out of memory");
        return 1;
    }
    loop->settings = settings;
    loop->metrics = options->metrics;
    loop->server = options->server;
    atomic_init(&loop->actions_written, 0);
    int exit_code = 1;
    metrics_gauge_set(loop->metrics->dry_run, settings->dry_run ? 1 : 0);

    loop->database = actuator_store_new(settings->common.database_url, settings->group_id,
                                        settings->common.database_call_timeout_ms);
    if (loop->database == NULL) {
        log_error("start-up failed", "{s:s}", "detail", "out of memory");
        goto done;
    }
    /* Not being able to reach the database at start-up is an outage like any other: the
     * actuator still consumes (RUNNING/UNKNOWN need no database) and holds the first
     * NOT_RUNNING verdict until it can decide it. */
    loop->database_ok = true;
    note_database(loop, ACTUATOR_COMPONENT_HOUSEKEEPING, actuator_store_connect(loop->database));
    metrics_gauge_set(loop->metrics->database_up, loop->database_ok ? 1 : 0);

    loop->producer = create_producer(loop, options);
    if (loop->producer == NULL) {
        goto done;
    }
    loop->publisher = action_publisher_new(loop->producer, settings->common.topic_actions,
                                           loop->database, settings->actuator_id, loop->metrics);
    if (loop->publisher == NULL) {
        log_error("start-up failed", "{s:s}", "detail", "out of memory");
        goto done;
    }
    loop->batch_capacity = BATCH_CAPACITY;
    loop->batch = calloc(loop->batch_capacity, sizeof *loop->batch);
    if (loop->batch == NULL) {
        log_error("start-up failed", "{s:s}", "detail", "out of memory");
        goto done;
    }
    if (settings->cp_confirm) {
        loop->confirmer = actuator_cp_confirmer_new(&settings->cp, &settings->cp_not_running_states,
                                                    settings->cp_confirm_timeout_ms,
                                                    (size_t)settings->cp_confirm_concurrency);
        if (loop->confirmer == NULL) {
            log_error("start-up failed", "{s:s}", "detail", "curl_multi_init failed");
            goto done;
        }
    }
    loop->consumer = create_consumer(loop, options);
    if (loop->consumer == NULL) {
        goto done;
    }
    if (!settings->dry_run) {
        char error[256];
        loop->worker = restart_worker_start(settings, loop->metrics, &loop->actions_written, error,
                                            sizeof error);
        if (loop->worker == NULL) {
            log_error("start-up failed", "{s:s}", "detail", error);
            goto done;
        }
    }
    update_readiness(loop);
    log_info("actuator started", "{s:s, s:s, s:s, s:s, s:b, s:I, s:s, s:I, s:I, s:b, s:I, s:I}",
             "actuator_id", settings->actuator_id, "group_id", settings->group_id, "verdicts_topic",
             settings->common.topic_verdicts, "actions_topic", settings->common.topic_actions,
             "dry_run", settings->dry_run, "max_verdict_age_ms",
             (json_int_t)settings->max_verdict_age_ms, "max_unhealthy",
             settings->max_unhealthy.is_percent ? "percent" : "absolute", "max_unhealthy_value",
             (json_int_t)settings->max_unhealthy.value, "max_restarts_per_min",
             (json_int_t)settings->max_restarts_per_minute, "cp_confirm", settings->cp_confirm,
             "cp_confirm_timeout_ms", (json_int_t)settings->cp_confirm_timeout_ms,
             "cp_confirm_concurrency", (json_int_t)settings->cp_confirm_concurrency);
    log_info("actuator limits (group-wide)", "{s:I, s:I, s:I}", "breaker_window_ms",
             (json_int_t)settings->breaker_window_ms, "max_flips_per_min",
             (json_int_t)settings->max_flips_per_minute, "max_restarts_per_min",
             (json_int_t)settings->max_restarts_per_minute);
    if (getenv("ACTUATOR_BREAKER_CARRY_OVER") != NULL) {
        /* Replaced by the rolling window; say so rather than ignore it silently. */
        log_warn("ACTUATOR_BREAKER_CARRY_OVER is no longer read: the breaker counts a rolling "
                 "window across sweeps (ACTUATOR_BREAKER_WINDOW)",
                 NULL);
    }

    while (!*options->stop_requested && !loop->fatal) {
        metrics_server_heartbeat(loop->server);
        rd_kafka_poll(loop->producer, 0); /* delivery reports */
        int64_t now = time_now_monotonic_ms();
        if (loop->hold != HOLD_NONE) {
            advance_hold(loop, now);
        }
        if (loop->hold == HOLD_NONE && loop->batch_next < loop->batch_count) {
            handle_next_in_batch(loop);
        } else if (loop->batch_next < loop->batch_count) {
            /* Held with the batch's rest waiting: polled only so that the group's heartbeats
             * and rebalances go on (paused partitions deliver nothing). */
            rd_kafka_message_t *message =
                rd_kafka_consumer_poll(loop->consumer, hold_poll_ms(loop));
            if (message != NULL) {
                give_back(loop, message);
            }
        } else {
            /* Polled also while holding, for the same reason. */
            consume_batch(loop, loop->hold != HOLD_NONE ? hold_poll_ms(loop) : CONSUMER_POLL_MS);
        }
        now = time_now_monotonic_ms();
        publish(loop, now);
        housekeeping(loop, now);
        char reason[256];
        if (rd_kafka_fatal_error(loop->producer, reason, sizeof reason) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
            log_error("producer failed fatally", "{s:s}", "error", reason);
            loop->fatal = true;
        }
    }
    exit_code = loop->fatal ? 1 : 0;
    log_info("shutting down", "{s:b}", "fatal", loop->fatal);

done:
    loop->stopping = true;
    update_readiness(loop);
    shutdown_clients(loop);
    action_publisher_free(loop->publisher);
    actuator_cp_confirmer_free(loop->confirmer);
    free(loop->batch);
    actuator_store_free(loop->database);
    log_info("actuator stopped", "{s:i}", "exit_code", exit_code);
    free(loop);
    return exit_code;
}
