/* cp_confirm.c — see cp_confirm.h. */
#include "cp_confirm.h"

#include "http_client.h"

#include <stdlib.h>

actuator_cp_answer actuator_cp_confirm(const cp_client_settings *cp,
                                       const cp_not_running_states *not_running_states,
                                       int64_t timeout_ms, const char *workspace_id,
                                       const char *instance_id)
{
    actuator_cp_answer answer = {.confirmation = ACTUATOR_CP_CONFIRMATION_UNKNOWN,
                                 .reason = CP_REASON_INTERNAL_ERROR};
    http_request_options options;
    char *url = cp_status_request(cp, workspace_id, instance_id, timeout_ms, &options);
    if (url == NULL) {
        return answer;
    }
    http_response response;
    http_client_perform(&options, &response);
    free(url);
    cp_classification classification = cp_classify_response(&response, not_running_states);
    answer.elapsed_ms = response.elapsed_ms;
    http_response_free(&response);
    answer.confirmation = actuator_cp_confirmation_from_liveness(classification.liveness);
    answer.reason = classification.reason;
    return answer;
}
