/* group_command.h — the frame of the actuator's one-shot operator commands
 * (--retry-failed-restarts, --pause/--resume): read DATABASE_URL and ACTUATOR_GROUP_ID,
 * connect, run one store call, print its failure, exit.
 *
 * For: what every such command does alike, so each command's file holds only its own flags,
 * its store call and its output. Not for: the actuator itself (actuator_settings.c). */
#ifndef RECONCILER_ACTUATOR_GROUP_COMMAND_H
#define RECONCILER_ACTUATOR_GROUP_COMMAND_H

#include "actuator_store.h"

/* The command's work on the group's rows; prints its own result on success. */
typedef actuator_store_status (*group_command_run)(actuator_store *database, const char *group_id,
                                                   void *context);

typedef struct {
    const char *program_name; /* "reconciler-actuator --pause|--resume", for --help and errors */
    const char *summary;
    const char *examples;
} group_command;

/* Parses argv (the command's own flags already taken out, argv[0] kept) for DATABASE_URL and
 * ACTUATOR_GROUP_ID (--help and --check-config included), connects and runs `run`. Exit
 * codes: 0 done or --help/--check-config, 2 a bad setting, 1 the database failed (one line on
 * stderr naming the failed operation; libpq's first line never holds the password). */
int group_command_main(const group_command *command, int argc, char **argv, group_command_run run,
                       void *context);

#endif
