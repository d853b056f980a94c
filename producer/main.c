/* main.c — reconciler-producer: the process (common/process.c) around the loop
 * (producer_loop.c). Everything the producer does is in the producer_logic library, so the
 * tests reach it without this file. */
#include "process.h"
#include "producer_loop.h"

int main(int argc, char **argv)
{
    process_declaration producer = PROCESS_DECLARATION(producer_settings, producer_program,
                                                       producer_id, "producer", producer_loop_run);
    static const codec_record_type writes = CODEC_RECORD_CHECK_REQUEST;
    producer.writes = &writes;
    return process_main(argc, argv, &producer);
}
