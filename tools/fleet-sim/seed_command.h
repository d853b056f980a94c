/* seed_command.h — `fleet-sim seed`: asks a running simulator to seed workspaces.
 *
 * For: the demo and benchmarks (`fleet-sim seed --count 100000`), as a thin client of
 * POST /admin/seed so the rows and the simulated instances are created by the one process
 * that serves them.
 * Not for: seeding without a running simulator. */
#ifndef FLEET_SIM_SEED_COMMAND_H
#define FLEET_SIM_SEED_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t count;
    const char *url;     /* simulator base URL */
    const char *runtime; /* NULL = the simulator's default */
    int64_t batch_size;  /* 0 = the simulator's default */
    bool help;
} seed_command_options;

/* Parses the sub-command's arguments (argv[0] is "seed"). Pure: on error writes one line to
 * error_buffer and returns false. */
bool seed_command_parse(int argc, char **argv, seed_command_options *out, char *error_buffer,
                        size_t error_size);

/* The JSON body for POST /admin/seed (malloc'd), NULL on allocation failure. */
char *seed_command_body(const seed_command_options *options);

/* Runs the sub-command: exit code 0 (seeded; the answer printed on stdout), 1 (the request
 * failed) or 2 (usage). */
int seed_command_main(int argc, char **argv);

#endif
