/* main.c — reconciler-actuator: the process (common/process.c) around actuator_loop.c, or the
 * one-shot --retry-failed-restarts (restart_retry.c); the rest is the actuator_logic library. */
#include "actuator_loop.h"
#include "log.h"
#include "process.h"
#include "restart_retry.h"

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
    static const process_declaration actuator = {
        .program = &actuator_program,
        .settings_size = sizeof(actuator_settings),
        .common_offset = offsetof(actuator_settings, common),
        .instance_id_offset = offsetof(actuator_settings, actuator_id),
        .instance_id_fallback = "actuator",
        .run = run,
        /* Its own command: needs no RESTART_URL and no Kafka, only the group's rows. */
        .command_requested = restart_retry_requested,
        .command_main = restart_retry_main,
    };
    return process_main(argc, argv, &actuator);
}
