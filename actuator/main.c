/* main.c — reconciler-actuator: the process (common/process.c) around actuator_loop.c, or one
 * of the operator's one-shot commands, --retry-failed-restarts (restart_retry.c) and
 * --pause/--resume (actuator_pause.c); the rest is the actuator_logic library. */
#include "actuator_loop.h"
#include "actuator_pause.h"
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

/* The operator's commands: each needs no RESTART_URL and no Kafka, only the group's rows. */
static bool command_requested(int argc, char **argv)
{
    return restart_retry_requested(argc, argv) || actuator_pause_requested(argc, argv);
}

static int command_main(int argc, char **argv)
{
    return restart_retry_requested(argc, argv) ? restart_retry_main(argc, argv)
                                               : actuator_pause_main(argc, argv);
}

int main(int argc, char **argv)
{
    process_declaration actuator =
        PROCESS_DECLARATION(actuator_settings, actuator_program, actuator_id, "actuator", run);
    actuator.command_requested = command_requested;
    actuator.command_main = command_main;
    static const codec_record_type writes = CODEC_RECORD_ACTION;
    actuator.writes = &writes;
    return process_main(argc, argv, &actuator);
}
