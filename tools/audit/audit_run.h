/* audit_run.h — one run of reconciler-audit, from settings to exit code.
 *
 * For: the edge that reads like the architecture: plan the range (Kafka metadata), read and
 * decode (audit_kafka), then either stream the records out or build the reports, and turn the
 * outcome into an exit code. Not for: parsing settings (audit_settings) or any judgement
 * (audit_verify, audit_summary, audit_timeline, audit_cross_check). */
#ifndef RECONCILER_AUDIT_RUN_H
#define RECONCILER_AUDIT_RUN_H

#include "audit_settings.h"
#include "config.h"

#include <signal.h>

enum {
    AUDIT_EXIT_OK = 0,           /* done; with --verify: no violation */
    AUDIT_EXIT_VIOLATIONS = 1,   /* --verify found at least one violation */
    AUDIT_EXIT_USAGE = 2,        /* bad configuration or usage */
    AUDIT_EXIT_FAILURE = 3,      /* Kafka, database or output failed; see the last log line */
    AUDIT_EXIT_INTERRUPTED = 130 /* SIGINT/SIGTERM: the output is incomplete */
};

/* Runs the audit; `stop` is set by the signal handler. Returns an AUDIT_EXIT_* code. */
int audit_run(const audit_settings *settings, const config_kafka_properties *kafka_properties,
              volatile sig_atomic_t *stop);

#endif
