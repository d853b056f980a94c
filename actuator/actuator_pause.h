/* actuator_pause.h — reconciler-actuator --pause "REASON" / --resume: the operator's switch
 * that stops every actuator of a group from acting, without a restart.
 *
 * For: a one-shot command that sets or clears the group's row in reconciler_actuator_pause
 * (migrations/007_actuator_pause.sql), prints what it did and exits. The running actuators read
 * the row at every decision (guard 7, docs/actuator.md "Pause") and before every restart claim.
 * Not for: deciding anything (actuator_decide.c) or talking to Kafka; it needs only
 * DATABASE_URL and ACTUATOR_GROUP_ID. */
#ifndef RECONCILER_ACTUATOR_PAUSE_H
#define RECONCILER_ACTUATOR_PAUSE_H

#include <stdbool.h>
#include <stddef.h>

#define ACTUATOR_PAUSE_FLAG "--pause"
#define ACTUATOR_RESUME_FLAG "--resume"
/* The reason is copied into the Action of every verdict the pause holds back; bounded so the
 * Action's reason keeps its own words around it. */
#define ACTUATOR_PAUSE_REASON_MAX 160

typedef enum {
    ACTUATOR_PAUSE_ABSENT = 0, /* neither flag: run the actuator */
    ACTUATOR_PAUSE_SET,        /* --pause REASON or --pause=REASON */
    ACTUATOR_PAUSE_CLEAR,      /* --resume */
    ACTUATOR_PAUSE_INVALID,    /* a flag twice, both, or a missing, empty or too long reason */
} actuator_pause_command;

typedef struct {
    actuator_pause_command command;
    const char *reason;  /* ACTUATOR_PAUSE_SET: points into argv */
    const char *problem; /* ACTUATOR_PAUSE_INVALID: a sentence for the operator */
    int rest_count;      /* argv without the command's own arguments (argv[0] kept) */
} actuator_pause_request;

/* Reads the command line. `rest` (argc + 1 entries) gets every other argument, for the
 * settings parser. Pure. */
actuator_pause_request actuator_pause_parse(int argc, char **argv, char **rest);

/* Whether argv holds --pause or --resume: main then runs actuator_pause_main. */
bool actuator_pause_requested(int argc, char **argv);

/* The whole command. Exit codes: 0 done (also a --resume of a group that was not paused; the
 * output says so) or --help/--check-config, 2 bad input, 1 the database failed. The row names
 * who paused as "$USER@<hostname>". */
int actuator_pause_main(int argc, char **argv);

#endif
