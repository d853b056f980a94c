/* hint_service.h — the fast path: hints in, urgent CheckRequests out.
 *
 * For: the hint endpoint (POST /hints on PRODUCER_HINT_ADDR, bearer token: hint_endpoint.h)
 * and one worker thread that maps each hinted instance to its in-scope rows
 * (docs/contracts.md §2, the same scope as the sweep) and enqueues one CheckRequest per row to
 * the urgent lane (RECONCILER_TOPIC_URGENT_CHECKS), which checkers serve ahead of any sweep
 * backlog. While this producer is active, the worker also sends rows whose agent heartbeat went
 * stale (PRODUCER_HEARTBEAT_STALE_AFTER). Not for: deciding anything — a hint only makes a
 * checker ask the CP sooner; the verdict goes through the same classification and the same
 * actuator guards as a sweep's.
 *
 * Every hint is counted by outcome (reconciler_producer_hints_total{outcome}): queued,
 * unauthorized, too_large, body_not_json, ..., duplicate, unknown_instance, checked,
 * database_error, kafka_error, queue_full. The worker has its own database session and Kafka
 * producer, so a hint is served within milliseconds even while a sweep is being enqueued. */
#ifndef RECONCILER_PRODUCER_HINT_SERVICE_H
#define RECONCILER_PRODUCER_HINT_SERVICE_H

#include "config.h"
#include "metrics.h"
#include "producer_settings.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct hint_service hint_service;

/* Starts the endpoint (when PRODUCER_HINT_ADDR is set) and the worker (when the endpoint or
 * the heartbeat scan is on). Returns NULL with *error_buffer == '\0' when neither is
 * configured; NULL with the reason otherwise. */
hint_service *hint_service_start(const producer_settings *settings,
                                 const config_kafka_properties *kafka_properties,
                                 metrics_registry *registry, char *error_buffer, size_t error_size);

/* The port the endpoint listens on (PRODUCER_HINT_ADDR's port 0 picks one), or 0. */
int hint_service_port(const hint_service *service);

/* Whether this producer holds the lock: only the active one scans heartbeats (hints are
 * served by every producer, so a load balancer may send them to any). NULL is harmless. */
void hint_service_set_active(hint_service *service, bool active);

/* Stops the endpoint, then the worker (it flushes its producer, bounded); NULL is harmless. */
void hint_service_stop(hint_service *service);

#endif
