/* cp_confirm.h — the actuator's confirmation: asking the CP about a verdict's instance right
 * before deciding whether to flip it (ACTUATOR_CP_CONFIRM, docs/actuator.md "CP
 * confirmation").
 *
 * For: one blocking status request, built and classified exactly as the checker's
 * (cp_settings.h, cp_classify.h), turned into an actuator_cp_confirmation. Not for: deciding
 * (actuator_decide.c takes the answer as one more fact) or retrying (a confirmation that is
 * not a clean not-running skips; the next sweep asks again). Never called inside a database
 * transaction: no transaction may wait on an HTTP call. */
#ifndef RECONCILER_ACTUATOR_CP_CONFIRM_H
#define RECONCILER_ACTUATOR_CP_CONFIRM_H

#include "actuator_decide.h"
#include "cp_settings.h"

#include <stdint.h>

typedef struct {
    actuator_cp_confirmation confirmation;
    cp_reason reason;   /* the classification's reason, for the log line */
    int64_t elapsed_ms; /* the request's duration */
} actuator_cp_answer;

/* Asks GET {CP_URL}/cp/workspaces/{workspace_id}/status?instance_id={instance_id} with the CP
 * credentials, CA file and proxy (none unless CP_PROXY), waiting at most timeout_ms.
 * A set-up failure (no memory, a token with a newline) is UNKNOWN, like any unclean answer. */
actuator_cp_answer actuator_cp_confirm(const cp_client_settings *cp,
                                       const cp_not_running_states *not_running_states,
                                       int64_t timeout_ms, const char *workspace_id,
                                       const char *instance_id);

#endif
