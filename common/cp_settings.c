/* cp_settings.c — see cp_settings.h. */
#include "cp_settings.h"

#include "cp_url.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static bool is_set(const char *text)
{
    return text != NULL && text[0] != '\0';
}

bool cp_client_settings_validate(const cp_client_settings *settings, const char *program_name,
                                 cp_not_running_states *states, char *error_buffer,
                                 size_t error_size)
{
    char reason[256];
    if (is_set(settings->url) && !cp_base_url_validate(settings->url, reason, sizeof reason)) {
        snprintf(error_buffer, error_size, "%s: CP_URL: %s", program_name, reason);
        return false;
    }
    if (is_set(settings->ca_file) && access(settings->ca_file, R_OK) != 0) {
        snprintf(error_buffer, error_size, "%s: CP_CA_FILE: cannot read the file", program_name);
        return false;
    }
    if (is_set(settings->proxy)) {
        const char *problem = http_proxy_url_problem(settings->proxy);
        if (problem != NULL) {
            snprintf(error_buffer, error_size, "%s: CP_PROXY: %s", program_name, problem);
            return false;
        }
    }
    if (!cp_not_running_states_parse(settings->not_running_states_text, states, reason,
                                     sizeof reason)) {
        snprintf(error_buffer, error_size, "%s: CHECKER_NOT_RUNNING_STATES: %s", program_name,
                 reason);
        return false;
    }
    return true;
}

char *cp_status_request(const cp_client_settings *settings, const char *workspace_id,
                        const char *instance_id, int64_t timeout_ms, http_request_options *options)
{
    char *url = cp_status_url(settings->url, workspace_id, instance_id);
    if (url == NULL) {
        return NULL;
    }
    http_request_options filled = {
        .method = "GET",
        .url = url,
        .bearer_token = settings->shared_secret,
        .admin_token = settings->admin_token,
        .timeout_ms = timeout_ms,
        .ca_file = settings->ca_file,
        .proxy = settings->proxy,
    };
    *options = filled;
    return url;
}

cp_classification cp_classify_response(const http_response *response,
                                       const cp_not_running_states *states)
{
    return cp_classify(response->status, response->error, response->body, response->body_length,
                       response->content_type, states);
}
