/* signals.h — the stop signals every long-running program handles the same way.
 *
 * For: turning SIGTERM/SIGINT into a flag the main loop polls, and keeping SIGPIPE from
 * killing the process. Not for: the shutdown itself — each program's loop sees the flag and
 * stops in its own order (librdkafka's examples do the same). */
#ifndef RECONCILER_SIGNALS_H
#define RECONCILER_SIGNALS_H

#include <signal.h>
#include <stdbool.h>

/* 0 until SIGTERM or SIGINT arrives after signals_install_stop_handlers, then 1. Loops take its
 * address (their tests pass a flag of their own) and check it at least every poll timeout. */
extern volatile sig_atomic_t signals_stop_requested;

/* SIGTERM and SIGINT set signals_stop_requested; SIGPIPE is ignored. Call once from main
 * before the loop starts. Dispositions are process-wide, so the handler may run on any thread:
 * it only sets the flag. false when sigaction failed (errno says why); the dispositions
 * installed so far stay. */
bool signals_install_stop_handlers(void);

#endif
