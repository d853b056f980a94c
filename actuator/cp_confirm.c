/* cp_confirm.c — see cp_confirm.h. */
#include "cp_confirm.h"

#include "http_client.h"
#include "log.h"
#include "timeutil.h"

#include <curl/curl.h>
#include <stdlib.h>

/* How long one curl_multi_poll may sleep: short, so that a transfer's own timeout is noticed
 * promptly even if libcurl's timer hint is coarse. */
#define POLL_SLICE_MS 100

struct actuator_cp_confirmer {
    const cp_client_settings *cp;
    const cp_not_running_states *not_running_states;
    int64_t timeout_ms;
    size_t max_in_flight;
    CURLM *multi;
};

actuator_cp_confirmer *actuator_cp_confirmer_new(const cp_client_settings *cp,
                                                 const cp_not_running_states *not_running_states,
                                                 int64_t timeout_ms, size_t max_in_flight)
{
    actuator_cp_confirmer *confirmer = calloc(1, sizeof *confirmer);
    if (confirmer == NULL) {
        return NULL;
    }
    confirmer->cp = cp;
    confirmer->not_running_states = not_running_states;
    confirmer->timeout_ms = timeout_ms;
    confirmer->max_in_flight = max_in_flight > 0 ? max_in_flight : 1;
    confirmer->multi = curl_multi_init();
    if (confirmer->multi == NULL) {
        free(confirmer);
        return NULL;
    }
    /* One connection per concurrent request, kept alive between batches. */
    long connections = (long)confirmer->max_in_flight;
    curl_multi_setopt(confirmer->multi, CURLMOPT_MAX_HOST_CONNECTIONS, connections);
    curl_multi_setopt(confirmer->multi, CURLMOPT_MAXCONNECTS, connections);
    return confirmer;
}

void actuator_cp_confirmer_free(actuator_cp_confirmer *confirmer)
{
    if (confirmer == NULL) {
        return;
    }
    curl_multi_cleanup(confirmer->multi);
    free(confirmer);
}

static void answer_from_response(const actuator_cp_confirmer *confirmer,
                                 actuator_cp_question *question, http_response *response)
{
    cp_classification classification =
        cp_classify_response(response, confirmer->not_running_states);
    question->answer.confirmation = actuator_cp_confirmation_from_liveness(classification.liveness);
    question->answer.reason = classification.reason;
    question->answer.elapsed_ms = response->elapsed_ms;
    question->answered_at_monotonic_ms = time_now_monotonic_ms();
    http_response_free(response);
}

/* Starts the request of `question` on the multi handle. false when it could not be set up:
 * the question is then answered UNKNOWN (internal error) at once. */
static bool start_question(actuator_cp_confirmer *confirmer, actuator_cp_question *question)
{
    http_request_options options;
    char *url = cp_status_request(confirmer->cp, question->workspace_id, question->instance_id,
                                  confirmer->timeout_ms, &options);
    http_request *request = url != NULL ? http_request_prepare(&options, question) : NULL;
    free(url); /* the easy handle keeps its own copy of the URL */
    if (request == NULL) {
        return false;
    }
    CURLMcode code = curl_multi_add_handle(confirmer->multi, http_request_handle(request));
    if (code != CURLM_OK) {
        log_error("curl_multi_add_handle failed", "{s:s}", "error", curl_multi_strerror(code));
        http_response response;
        http_request_finish(request, CURLE_FAILED_INIT, &response);
        http_response_free(&response);
        return false;
    }
    question->in_flight_ = request;
    return true;
}

/* Collects every finished transfer. Returns how many finished. */
static size_t collect_finished(actuator_cp_confirmer *confirmer)
{
    size_t finished = 0;
    CURLMsg *message;
    int remaining = 0;
    while ((message = curl_multi_info_read(confirmer->multi, &remaining)) != NULL) {
        if (message->msg != CURLMSG_DONE) {
            continue;
        }
        CURL *easy = message->easy_handle;
        CURLcode result = message->data.result;
        http_request *request = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&request);
        curl_multi_remove_handle(confirmer->multi, easy);
        actuator_cp_question *question = http_request_user_data(request);
        question->in_flight_ = NULL;
        http_response response;
        http_request_finish(request, result, &response);
        answer_from_response(confirmer, question, &response);
        finished++;
    }
    return finished;
}

void actuator_cp_confirm_all(actuator_cp_confirmer *confirmer, actuator_cp_question *questions,
                             size_t count)
{
    for (size_t i = 0; i < count; i++) {
        questions[i].answer = (actuator_cp_answer){.confirmation = ACTUATOR_CP_CONFIRMATION_UNKNOWN,
                                                   .reason = CP_REASON_INTERNAL_ERROR};
        questions[i].answered_at_monotonic_ms = 0;
        questions[i].in_flight_ = NULL;
    }
    size_t next = 0, in_flight = 0, answered = 0;
    while (answered < count) {
        while (next < count && in_flight < confirmer->max_in_flight) {
            actuator_cp_question *question = &questions[next++];
            if (start_question(confirmer, question)) {
                in_flight++;
            } else {
                question->answered_at_monotonic_ms = time_now_monotonic_ms();
                answered++;
            }
        }
        if (in_flight == 0) {
            continue; /* everything left failed to start, or all is answered */
        }
        int running = 0;
        CURLMcode code = curl_multi_perform(confirmer->multi, &running);
        size_t finished = collect_finished(confirmer);
        in_flight -= finished;
        answered += finished;
        if (code != CURLM_OK) {
            /* The multi handle itself is broken (no memory): end every transfer still running
             * as UNKNOWN rather than wait on a handle that will not progress. */
            log_error("curl_multi_perform failed", "{s:s}", "error", curl_multi_strerror(code));
            break;
        }
        if (finished == 0 && running > 0) {
            code = curl_multi_poll(confirmer->multi, NULL, 0, POLL_SLICE_MS, NULL);
            if (code != CURLM_OK) {
                log_error("curl_multi_poll failed", "{s:s}", "error", curl_multi_strerror(code));
                break;
            }
        }
    }
    /* Only after a broken multi handle: abandon what still runs (its answer stays UNKNOWN). */
    for (size_t i = 0; i < count; i++) {
        http_request *request = questions[i].in_flight_;
        if (request == NULL) {
            continue;
        }
        questions[i].in_flight_ = NULL;
        curl_multi_remove_handle(confirmer->multi, http_request_handle(request));
        http_response response;
        http_request_finish(request, CURLE_ABORTED_BY_CALLBACK, &response);
        http_response_free(&response);
        questions[i].answered_at_monotonic_ms = time_now_monotonic_ms();
    }
}
