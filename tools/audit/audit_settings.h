/* audit_settings.h — reconciler-audit's settings: the table config_parse reads (the format and
 * the partitioner are choices of the table) and the checks config.c cannot make on its own
 * (range forms, avro only for the record dump, the read-only Kafka properties).
 *
 * For: naming every setting once (variable, flag, default, why); the audit's own flags are
 * short (--from, --verify) through config_setting.flag, their variables AUDIT_*. Not for:
 * acting on them (audit_run.c). */
#ifndef RECONCILER_AUDIT_SETTINGS_H
#define RECONCILER_AUDIT_SETTINGS_H

#include "audit_output.h"
#include "audit_partitioner.h"
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    common_settings common;        /* bootstrap servers, topics, log level */
    char *database_url;            /* DATABASE_URL: optional here, secret */
    char *from;                    /* AUDIT_FROM */
    char *to;                      /* AUDIT_TO */
    char *workspace;               /* AUDIT_WORKSPACE, NULL or "" = every workspace */
    bool full_scan;                /* AUDIT_FULL_SCAN */
    audit_partitioner partitioner; /* AUDIT_PARTITIONER, a choice */
    audit_format format;           /* AUDIT_FORMAT, a choice */
    char *output;                  /* AUDIT_OUTPUT, NULL or "" or "-" = stdout */
    bool timeline;                 /* AUDIT_TIMELINE */
    bool summary;                  /* AUDIT_SUMMARY */
    bool verify;                   /* AUDIT_VERIFY */
    bool strict;                   /* AUDIT_STRICT */
    int64_t max_verdict_age_ms;    /* AUDIT_MAX_VERDICT_AGE */
    int64_t restart_grace_ms;      /* AUDIT_RESTART_GRACE */
    int64_t database_retention_ms; /* AUDIT_DATABASE_RETENTION */
    int64_t read_timeout_ms;       /* AUDIT_READ_TIMEOUT */
    bool quiet;                    /* AUDIT_QUIET */
} audit_settings;

extern const config_program audit_program;

/* librdkafka properties the audit sets itself and refuses from --kafka-prop /
 * RECONCILER_KAFKA_*: they are what keeps it out of every consumer group. */
bool audit_kafka_property_is_fixed(const char *name);

/* Checks what the table cannot express: --from/--to forms, avro only for the plain record
 * dump, the fixed Kafka properties; now_ms resolves relative times (for validation only).
 * true when fine, else false with "reconciler-audit: NAME: ..." in error_buffer.
 * audit_program runs it as its validate hook (now = the wall clock), so config_parse rejects
 * the same values for a run and for --check-config. */
bool audit_settings_validate(audit_settings *settings,
                             const config_kafka_properties *kafka_properties, int64_t now_ms,
                             char *error_buffer, size_t error_size);

/* True when the run prints reports (--timeline, --summary or --verify) rather than streaming
 * the records themselves. */
bool audit_settings_reports(const audit_settings *settings);

#endif
