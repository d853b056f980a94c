/* signals.c — SIGTERM/SIGINT as a stop flag, SIGPIPE ignored.
 *
 * For: the one signal set-up the producer, checker, actuator, audit and fleet-sim share. Not
 * for: anything a handler would have to do beyond setting the flag (only async-signal-safe
 * work is allowed there; everything else happens in the loop that reads the flag). */
#include "signals.h"

#include <string.h>

volatile sig_atomic_t signals_stop_requested = 0;

static void on_stop_signal(int signal_number)
{
    (void)signal_number;
    signals_stop_requested = 1;
}

bool signals_install_stop_handlers(void)
{
    struct sigaction stop_action;
    memset(&stop_action, 0, sizeof stop_action);
    stop_action.sa_handler = on_stop_signal;
    sigemptyset(&stop_action.sa_mask);
    /* No SA_RESTART: a blocking call (poll, nanosleep, a socket read) returns early with EINTR,
     * so the loop sees the flag now rather than at its next timeout. */
    if (sigaction(SIGTERM, &stop_action, NULL) != 0 || sigaction(SIGINT, &stop_action, NULL) != 0) {
        return false;
    }
    /* A peer closing a socket (Kafka, the CP, a workspace server, an HTTP client, `| head`)
     * must be an error return from write(), never the process killed by SIGPIPE. */
    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    return sigaction(SIGPIPE, &ignore, NULL) == 0;
}
