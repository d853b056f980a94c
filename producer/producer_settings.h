/* producer_settings.h — reconciler-producer's settings: the table config_parse reads and the
 * values derived from it.
 *
 * For: naming every setting once (variable, flag, default, bounds, why), and filling in the
 * default that depends on another value (the deadline follows the interval). Not for: acting on
 * them (producer_loop.c). */
#ifndef RECONCILER_PRODUCER_SETTINGS_H
#define RECONCILER_PRODUCER_SETTINGS_H

#include "config.h"

#include <stdint.h>

/* 'reconcil' in ASCII as a big-endian bigint: a distinctive advisory lock id, unlikely to
 * collide with another application's lock in a shared database. */
#define PRODUCER_DEFAULT_LOCK_KEY "8243104023216089452"

typedef struct {
    common_settings common;
    int64_t interval_ms;   /* PRODUCER_INTERVAL */
    int64_t page_size;     /* PRODUCER_PAGE_SIZE */
    int64_t max_per_sweep; /* PRODUCER_MAX_PER_SWEEP, 0 = no cap */
    int64_t deadline_ms;   /* PRODUCER_DEADLINE, 0 (unset) = the interval */
    int64_t lock_key;      /* PRODUCER_LOCK_KEY */
    char *producer_id;     /* PRODUCER_ID, NULL or "" = hostname-pid */
    /* Hints (hint_service.h): the urgent lane, fed by lifecycle events and stale heartbeats. */
    char *topic_urgent_checks;    /* RECONCILER_TOPIC_URGENT_CHECKS */
    char *hint_address;           /* PRODUCER_HINT_ADDR, "" = no endpoint */
    char *hint_token;             /* PRODUCER_HINT_TOKEN, secret */
    int64_t hint_dedup_ms;        /* PRODUCER_HINT_DEDUP_WINDOW */
    int64_t heartbeat_stale_ms;   /* PRODUCER_HEARTBEAT_STALE_AFTER, 0 = off */
    int64_t heartbeat_scan_limit; /* PRODUCER_HEARTBEAT_SCAN_LIMIT */
} producer_settings;

/* The table and program description handed to config_parse (also used by the unit tests
 * through config_parse_from). */
extern const config_program producer_program;

/* Fills the derived default after a successful parse: deadline_ms = interval_ms when unset.
 * (producer_id is the shared instance id: process_main fills it.) Pure. */
void producer_settings_resolve(producer_settings *settings);

#endif
