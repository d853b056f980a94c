/* main.c — reconciler-audit: read the verdict and action topics over a range, read-only, and
 * report (see audit_run.h; the manual is --help).
 *
 * For: offline reading by people and by tests of what the reconciler saw and did — a
 * workspace's timeline, per-sweep summaries, the invariant check (--verify, also against the
 * database) — and exporting the records for other tools (jsonl, Avro).
 * Not for: monitoring or alerting (the programs' /metrics and the alert rules do that; the audit
 * runs once over a bounded range and exits), nor for changing anything: it never writes to a
 * topic or the database. A secondary tool: a new view only when a test or a user needs it. */
#include "audit_run.h"
#include "audit_settings.h"
#include "codec.h"
#include "schema_registry.h"
#include "log.h"
#include "signals.h"

#include <string.h>

int main(int argc, char **argv)
{
    audit_settings settings;
    memset(&settings, 0, sizeof settings);
    config_kafka_properties kafka_properties = {NULL, 0};
    config_result parsed =
        config_parse(&audit_program, &settings, &kafka_properties, argc, argv, NULL);
    if (parsed == CONFIG_RESULT_EXIT_OK) {
        return AUDIT_EXIT_OK;
    }
    if (parsed != CONFIG_RESULT_RUN) {
        return AUDIT_EXIT_USAGE;
    }
    log_level level = (log_level)settings.common.log_level;
    /* --quiet keeps warnings (undecodable records, clamped offsets) and errors. */
    log_init("reconciler-audit", settings.quiet && level < LOG_LEVEL_WARN ? LOG_LEVEL_WARN : level);

    if (!schema_setup(&settings.common, NULL)) {
        config_free(&audit_program, &settings, &kafka_properties);
        return AUDIT_EXIT_FAILURE;
    }
    /* SIGPIPE ignored: a closed pipe (`| head`) becomes a write error the run reports, not a
     * silent death. */
    if (!signals_install_stop_handlers()) {
        log_error("start-up failed", "{s:s}", "detail", "sigaction failed");
        config_free(&audit_program, &settings, &kafka_properties);
        codec_shutdown();
        return AUDIT_EXIT_FAILURE;
    }

    int code = audit_run(&settings, &kafka_properties, &signals_stop_requested);
    config_free(&audit_program, &settings, &kafka_properties);
    codec_shutdown();
    return code;
}
