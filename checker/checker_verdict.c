/* checker_verdict.c — see checker_verdict.h. */
#include "checker_verdict.h"

#include <string.h>

/* A state shorter than this that happens to occur inside a random token is coincidence, not
 * an echo ("stopped" inside a base64 secret); longer ones are treated as a leak. */
#define CHECKER_SECRET_FRAGMENT_MINIMUM 8

bool checker_request_expired(int64_t deadline_ms, int64_t now_wall_ms)
{
    return deadline_ms <= 0 || now_wall_ms >= deadline_ms;
}

bool checker_state_is_publishable(const char *state, const checker_secrets *secrets)
{
    if (secrets == NULL)
        return true;
    size_t state_length = strlen(state);
    for (size_t index = 0; index < sizeof secrets->values / sizeof secrets->values[0]; index++) {
        const char *secret = secrets->values[index];
        if (secret == NULL || secret[0] == '\0')
            continue;
        if (strstr(state, secret) != NULL)
            return false;
        if (state_length >= CHECKER_SECRET_FRAGMENT_MINIMUM && strstr(secret, state) != NULL)
            return false;
    }
    return true;
}

void checker_verdict_make(verdict *out, const check_request *request,
                          const cp_classification *classification, long http_status,
                          int64_t checked_at_ms, int64_t latency_ms, const char *checker_id,
                          const checker_secrets *secrets)
{
    memset(out, 0, sizeof *out);
    out->workspace_id = request->workspace_id;
    out->instance_id = request->instance_id;
    out->sweep_id = request->sweep_id;
    out->sweep_size = request->sweep_size;
    out->enqueued_at = request->enqueued_at;
    out->liveness = classification->liveness;
    if (classification->has_cp_state &&
        checker_state_is_publishable(classification->cp_state, secrets))
        out->cp_state = (char *)classification->cp_state;
    /* An HTTP status is 100..999 when a response arrived; anything else is "no answer". */
    if (http_status >= 100 && http_status <= 999) {
        out->has_http_status = true;
        out->http_status = (int32_t)http_status;
    }
    /* The reason is set for every verdict, also RUNNING and NOT_RUNNING ("state_running",
     * "state_not_running"), so a consumer never has to infer it. */
    out->reason = (char *)cp_reason_name(classification->reason);
    out->checked_at = checked_at_ms;
    out->latency_ms = latency_ms >= 0 ? latency_ms : 0;
    out->checker_id = (char *)checker_id;
}
