/* audit_cross_check.h — --verify --database-url: the actuator's tables against the topics.
 *
 * For: comparing the flips on the actions topic with the rows of reconciler_actuator_actions
 * and reconciler_actuator_restarts (migrations/003_actuator.sql), both ways:
 *   - topic -> database: every flip read, recent enough not to have been pruned (the
 *     actuator deletes published actions and finished restarts after ACTUATOR_RETENTION), has
 *     its action row and its restart outbox row;
 *   - database -> topic: every published flip row whose publication falls inside the time
 *     window the read covers was read from the topic (unpublished rows are pending).
 * Pure: the rows come in as data (audit_database.c reads them). */
#ifndef RECONCILER_AUDIT_CROSS_CHECK_H
#define RECONCILER_AUDIT_CROSS_CHECK_H

#include "audit_records.h"
#include "audit_verify.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One FLIPPED_RESTART_REQUESTED row of reconciler_actuator_actions. */
typedef struct {
    char *consumer_group;
    char *workspace_id;
    int32_t verdict_partition;
    int64_t verdict_offset;
    int64_t acted_at_ms;
    bool published;
    int64_t published_at_ms; /* when published */
} audit_database_flip;

/* One row of reconciler_actuator_restarts. */
typedef struct {
    int32_t verdict_partition;
    int64_t verdict_offset;
    char state[16]; /* pending, accepted, failed, skipped */
} audit_database_restart;

typedef struct {
    /* Read BEFORE the topics' end offsets were taken, so that every row published by then is
     * below them: the database -> topic direction. */
    audit_database_flip *published_flips;
    size_t published_flip_count;
    /* Read AFTER the topics were read, so that every flip read was committed before: the
     * topic -> database direction. */
    audit_database_flip *flips;
    size_t flip_count;
    audit_database_restart *restarts;
    size_t restart_count;
    int64_t database_now_ms; /* the database's clock at the second read */
} audit_database_snapshot;

typedef struct {
    int64_t retention_ms; /* the actuator's ACTUATOR_RETENTION */
    /* database -> topic only when the actions read covers every partition. */
    bool compare_database_to_topic;
    int64_t window_start_ms;  /* published rows strictly after this... (INT64_MIN: no bound) */
    int64_t window_end_ms;    /* ...and at or before this (INT64_MAX: no bound) */
    const char *workspace_id; /* --workspace, NULL = all */
    bool strict;
} audit_cross_check_options;

/* How much a clock may differ between the actuator's host and the database, for the pruning
 * horizon and the window's end. */
#define AUDIT_CLOCK_SKEW_MARGIN_MS (60 * 1000)
/* How long before its publication an Action may have been produced: librdkafka's default
 * message.timeout.ms (5m) plus the skew margin; a row published less than this after the
 * window's start may belong to a record before it. */
#define AUDIT_PUBLICATION_MARGIN_MS (6 * 60 * 1000)

/* Appends the cross-check's findings. The record set must be finished. false only on
 * allocation failure. */
bool audit_cross_check(const audit_record_set *records, const char *verdict_topic,
                       const audit_database_snapshot *snapshot,
                       const audit_cross_check_options *options, audit_findings *findings);

void audit_database_snapshot_free(audit_database_snapshot *snapshot);

#endif
