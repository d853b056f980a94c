/* cp_confirm.h — the actuator's confirmation: asking the CP about a verdict's instance right
 * before deciding whether to flip it (ACTUATOR_CP_CONFIRM, docs/actuator.md "CP
 * confirmation").
 *
 * For: status requests built and classified exactly as the checker's (cp_settings.h,
 * cp_classify.h), asked concurrently for the verdicts of one consumed batch, each turned into
 * an actuator_cp_confirmation. Not for: deciding (actuator_decide.c takes the answer as one
 * more fact) or retrying (a confirmation that is not a clean not-running skips; the next
 * sweep asks again). Never called inside a database transaction: no transaction may wait on
 * an HTTP call.
 *
 * Why concurrent: a wave of terminations puts hundreds of NOT_RUNNING verdicts in the topic
 * within a second; asked one after another at a CP's ~25 ms each they would queue for tens
 * of seconds before the first flip of the wave's tail. The confirmer keeps one libcurl multi
 * handle for the program's life, so the requests share keep-alive connections (no connect,
 * no name resolution thread per request). */
#ifndef RECONCILER_ACTUATOR_CP_CONFIRM_H
#define RECONCILER_ACTUATOR_CP_CONFIRM_H

#include "actuator_decide.h"
#include "cp_settings.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    actuator_cp_confirmation confirmation;
    cp_reason reason;   /* the classification's reason, for the log line */
    int64_t elapsed_ms; /* the request's duration */
} actuator_cp_answer;

/* One question of a batch: which instance, and (filled by actuator_cp_confirm_all) its
 * answer and the monotonic moment it arrived. */
typedef struct {
    const char *workspace_id;
    const char *instance_id;
    actuator_cp_answer answer;
    int64_t answered_at_monotonic_ms;
    void *in_flight_; /* the confirmer's own: the running request, NULL otherwise */
} actuator_cp_question;

typedef struct actuator_cp_confirmer actuator_cp_confirmer;

/* Keeps pointers to `cp` and `not_running_states` (the settings outlive the confirmer).
 * At most `max_in_flight` requests run at once, each given at most timeout_ms. NULL when
 * libcurl cannot make a multi handle (no memory). */
actuator_cp_confirmer *actuator_cp_confirmer_new(const cp_client_settings *cp,
                                                 const cp_not_running_states *not_running_states,
                                                 int64_t timeout_ms, size_t max_in_flight);
void actuator_cp_confirmer_free(actuator_cp_confirmer *confirmer);

/* Asks GET {CP_URL}/cp/workspaces/{workspace_id}/status?instance_id={instance_id} for every
 * question (CP credentials, CA file, proxy only if CP_PROXY) and returns once each has its
 * answer: at most about timeout_ms per max_in_flight questions. Anything unclean, including
 * a set-up failure on our side (no memory, a token with a newline), is UNKNOWN. */
void actuator_cp_confirm_all(actuator_cp_confirmer *confirmer, actuator_cp_question *questions,
                             size_t count);

#endif
