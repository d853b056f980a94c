/* hint_sender.h — fleet-sim announces its terminations, as a cloud would.
 *
 * For: after POST /admin/terminate, POSTing one EventBridge "EC2 Instance State-change
 * Notification" per terminated instance to FLEETSIM_HINT_URL (the producer's hint endpoint,
 * docs/producer.md "Hints") with Authorization: Bearer FLEETSIM_HINT_TOKEN, from its own
 * thread, so the demo, the tests and the benchmark exercise the fast path. Knobs, each a
 * setting and overridable per terminate command, make it imperfect like a real event bus:
 * drop some, duplicate some, delay all, and forge some (an event naming a *running* instance,
 * which must never lead to a flip). Not for: anything the reconciler relies on: the sweep
 * catches every dropped hint. */
#ifndef FLEET_SIM_HINT_SENDER_H
#define FLEET_SIM_HINT_SENDER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int64_t drop_percent;      /* of terminations, announced never */
    int64_t duplicate_percent; /* of announced terminations, announced twice */
    int64_t forge_percent;     /* of terminations, also announce a random running instance */
    int64_t delay_ms;          /* every announcement waits this long */
} hint_knobs;

typedef struct hint_sender hint_sender;

/* NULL url (or "") = announce nothing; hint_sender_* are then harmless no-ops. NULL on
 * allocation or thread failure with url set. */
hint_sender *hint_sender_start(const char *url, const char *token);
bool hint_sender_enabled(const hint_sender *sender);

/* Queues one announcement of `instance_id` now in `state`, due after delay_ms. */
void hint_sender_queue(hint_sender *sender, const char *instance_id, const char *state,
                       int64_t delay_ms);

/* Stops the thread; announcements still queued are dropped (logged with their count). */
void hint_sender_stop(hint_sender *sender);

#endif
