/* main.c — reconciler-producer: the process (common/process.c) around the loop
 * (producer_loop.c). Everything the producer does is in the producer_logic library, so the
 * tests reach it without this file. */
#include "process.h"
#include "producer_loop.h"

static int run(const process_context *process)
{
    producer_settings *settings = process->settings;
    producer_settings_resolve(settings); /* the deadline follows the interval when unset */
    producer_loop_options options = {
        .settings = settings,
        .kafka_properties = process->kafka_properties,
        .registry = process->registry,
        .server = process->server,
        .stop_requested = process->stop_requested,
    };
    return producer_loop_run(&options);
}

int main(int argc, char **argv)
{
    static const process_declaration producer = {
        .program = &producer_program,
        .settings_size = sizeof(producer_settings),
        .common_offset = offsetof(producer_settings, common),
        .instance_id_offset = offsetof(producer_settings, producer_id),
        .instance_id_fallback = "producer",
        .run = run,
    };
    return process_main(argc, argv, &producer);
}
