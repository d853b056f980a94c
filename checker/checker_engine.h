/* checker_engine.h — the checker's event loop: consume CheckRequests, ask the CP, produce
 * Verdicts, commit.
 *
 * For: the I/O of reconciler-checker — one Kafka consumer in the checker group, one
 * idempotent producer, one libcurl multi handle — driven from a single thread, so the
 * offset bookkeeping needs no locks. The decisions it applies are pure and live elsewhere:
 * cp_classify (what an answer means), checker_verdict (deadline, verdict record),
 * offset_tracker (which offsets may be committed). Not for: parsing settings (main.c,
 * checker_settings.c, common/process.c). */
#ifndef RECONCILER_CHECKER_ENGINE_H
#define RECONCILER_CHECKER_ENGINE_H

#include "checker_settings.h"
#include "process.h"

/* The checker as process_main runs it: `process->settings` is a checker_settings (checker_id
 * and the not-running states resolved), `process->server` may be NULL (no /readyz to report
 * to). Runs until *stop_requested is set, then shuts down in order: take no new request, let the
 * CP requests in flight finish and their verdicts be delivered (within
 * CHECKER_SHUTDOWN_TIMEOUT), store and commit offsets, leave the group, flush, destroy.
 * Returns the process exit code: 0 after a clean shutdown, 1 when start-up failed or Kafka
 * reported a fatal error (the work not committed is redone by the next owner), 2 when the
 * Kafka properties are invalid. */
int checker_engine_run(const process_context *process);

#endif
