/* main.c — reconciler-checker: the process (common/process.c) around the engine
 * (checker_engine.c). Everything with a decision in it lives in the checker_logic library, so
 * the tests exercise the same code the binary runs. */
#include "checker_engine.h"
#include "process.h"

static int run(const process_context *process)
{
    const checker_settings *settings = process->settings;
    checker_engine_options options = {
        .settings = settings,
        .kafka_properties = process->kafka_properties,
        .not_running_states = &settings->not_running_states,
        .metrics = process->registry,
        .server = process->server,
        .stop_requested = process->stop_requested,
    };
    return checker_engine_run(&options);
}

int main(int argc, char **argv)
{
    static const process_declaration checker = {
        .program = &checker_program,
        .settings_size = sizeof(checker_settings),
        .common_offset = offsetof(checker_settings, common),
        .instance_id_offset = offsetof(checker_settings, checker_id),
        .instance_id_fallback = "checker",
        .run = run,
    };
    return process_main(argc, argv, &checker);
}
