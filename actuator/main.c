/* main.c — reconciler-actuator: the process (common/process.c) around actuator_loop.c, or the
 * one-shot --retry-failed-restarts (restart_retry.c); the rest is the actuator_logic library. */
#include "actuator_loop.h"
#include "log.h"
#include "process.h"
#include "restart_retry.h"

/* Its series live in the process's registry, registered before the loop reads them. */
static int run(const process_context *process)
{
    actuator_metrics metrics;
    if (!actuator_metrics_init(&metrics, process->registry)) {
        log_error("start-up failed", "{s:s}", "detail", "metrics registration: out of memory");
        return 1;
    }
    actuator_loop_options options = {
        .settings = process->settings,
        .kafka_properties = process->kafka_properties,
        .metrics = &metrics,
        .server = process->server,
        .stop_requested = process->stop_requested,
    };
    return actuator_loop_run(&options);
}

int main(int argc, char **argv)
{
    process_declaration actuator =
        PROCESS_DECLARATION(actuator_settings, actuator_program, actuator_id, "actuator", run);
    /* Its own command: needs no RESTART_URL and no Kafka, only the group's rows. */
    actuator.command_requested = restart_retry_requested;
    actuator.command_main = restart_retry_main;
    static const codec_record_type writes = CODEC_RECORD_ACTION;
    actuator.writes = &writes;
    return process_main(argc, argv, &actuator);
}
