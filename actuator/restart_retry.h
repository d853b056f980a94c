/* restart_retry.h — reconciler-actuator --retry-failed-restarts[=WORKSPACE_ID]: the
 * operator's one command for restarts that ran out of attempts.
 *
 * For: a one-shot run that sets the group's failed restarts (or one workspace's) back to
 * pending with their attempts reset, writes a RESTART_RETRIED Action for each (the group's
 * running actuators publish it), prints how many and exits. The live actuators of the group
 * then send them through the same pre-check as every restart, so a workspace fixed by hand
 * meanwhile is closed as skipped instead of restarted. Not for: sending anything itself
 * (it needs no RESTART_URL and no Kafka; only DATABASE_URL and ACTUATOR_GROUP_ID). */
#ifndef RECONCILER_ACTUATOR_RESTART_RETRY_H
#define RECONCILER_ACTUATOR_RESTART_RETRY_H

#include <stdbool.h>

/* Whether any argument is --retry-failed-restarts or --retry-failed-restarts=...: main then
 * runs restart_retry_main instead of the actuator. */
bool restart_retry_requested(int argc, char **argv);

/* The whole command. Exit codes: 0 done (also when nothing matched; the count says so) or
 * --help/--check-config, 2 bad input (a value that is not a uuid, the flag twice, a bad
 * setting or an unknown flag), 1 the database failed. The retry's Actions name it
 * "retry-failed-restarts@<hostname>-<pid>" in their actuator_id. */
int restart_retry_main(int argc, char **argv);

#endif
