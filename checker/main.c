/* main.c — reconciler-checker: the process (common/process.c) around the engine
 * (checker_engine.c). Everything with a decision in it lives in the checker_logic library, so
 * the tests exercise the same code the binary runs. */
#include "checker_engine.h"
#include "process.h"

int main(int argc, char **argv)
{
    process_declaration checker = PROCESS_DECLARATION(checker_settings, checker_program, checker_id,
                                                      "checker", checker_engine_run);
    static const codec_record_type writes = CODEC_RECORD_VERDICT;
    checker.writes = &writes;
    return process_main(argc, argv, &checker);
}
