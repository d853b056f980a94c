/* main.c — reconciler-audit: read the verdict and action topics over a range, read-only, and
 * report (see audit_run.h; the manual is --help). */
#include "audit_run.h"
#include "audit_settings.h"
#include "codec.h"
#include "log.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t stop_requested = 0;

static void on_stop_signal(int signal_number)
{
    (void)signal_number;
    stop_requested = 1;
}

int main(int argc, char **argv)
{
    audit_settings settings;
    memset(&settings, 0, sizeof settings);
    config_kafka_properties kafka_properties = {NULL, 0};
    config_result parsed = audit_settings_load(&settings, &kafka_properties, argc, argv);
    if (parsed == CONFIG_RESULT_EXIT_OK) {
        return AUDIT_EXIT_OK;
    }
    if (parsed != CONFIG_RESULT_RUN) {
        return AUDIT_EXIT_USAGE;
    }
    log_level level = (log_level)settings.common.log_level;
    /* --quiet keeps warnings (undecodable records, clamped offsets) and errors. */
    log_init("reconciler-audit", settings.quiet && level < LOG_LEVEL_WARN ? LOG_LEVEL_WARN : level);

    if (!codec_init()) {
        config_free(&audit_program, &settings, &kafka_properties);
        return AUDIT_EXIT_FAILURE;
    }
    struct sigaction stop_action;
    memset(&stop_action, 0, sizeof stop_action);
    stop_action.sa_handler = on_stop_signal;
    sigemptyset(&stop_action.sa_mask);
    sigaction(SIGINT, &stop_action, NULL);
    sigaction(SIGTERM, &stop_action, NULL);
    /* A closed pipe (`| head`) becomes a write error the run reports, not a silent death. */
    signal(SIGPIPE, SIG_IGN);

    int code = audit_run(&settings, &kafka_properties, &stop_requested);
    config_free(&audit_program, &settings, &kafka_properties);
    codec_shutdown();
    return code;
}
