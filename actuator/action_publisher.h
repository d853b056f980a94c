/* action_publisher.h — sends the action outbox (reconciler_actuator_actions) to the actions
 * topic.
 *
 * For: claiming unpublished Action rows in id order, producing them (key = workspace id), and
 * marking them published only when Kafka's delivery report confirms each one. One batch is in
 * flight at a time, so a publisher sends rows in id order. Runs on the main thread, which owns
 * the producer and polls its delivery reports. Not for: writing Action rows (they are written
 * in the transaction of what they report) or the DLQ.
 *
 * Delivery reports reach the publisher through delivery_tag: the producer's dr_msg_cb passes
 * every message's opaque to action_publisher_on_delivery when its tag says so. */
#ifndef RECONCILER_ACTUATOR_ACTION_PUBLISHER_H
#define RECONCILER_ACTUATOR_ACTION_PUBLISHER_H

#include "actuator_metrics.h"
#include "actuator_store.h"

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

/* The first member of every message opaque this program passes to its producer, so the
 * delivery-report callback knows whose message it was. */
typedef enum { DELIVERY_ACTION = 1, DELIVERY_DLQ = 2 } delivery_kind;
typedef struct {
    delivery_kind kind;
} delivery_tag;

typedef struct action_publisher action_publisher;

/* The publisher uses `database` only from the calling (main) thread. claimer names this process
 * in publish_claimed_by. NULL on allocation failure. */
action_publisher *action_publisher_new(rd_kafka_t *producer, const char *topic,
                                       actuator_store *database, const char *claimer,
                                       actuator_metrics *metrics);
void action_publisher_free(action_publisher *publisher);

/* Does the next step if there is one: mark a finished batch, or claim and produce the next.
 * `nudged` = new rows were just committed (look now rather than at the next periodic scan).
 * Returns the database status of what it did (ACTUATOR_STORE_OK when it had nothing to do). */
actuator_store_status action_publisher_tick(action_publisher *publisher, int64_t now_ms,
                                            bool nudged);

/* From the producer's delivery-report callback, for an opaque tagged DELIVERY_ACTION. */
void action_publisher_on_delivery(action_publisher *publisher, void *opaque,
                                  rd_kafka_resp_err_t error);

/* No batch in flight and no finished batch left to mark. */
bool action_publisher_idle(const action_publisher *publisher);
/* The last claim found nothing to publish. */
bool action_publisher_drained(const action_publisher *publisher);

#endif
