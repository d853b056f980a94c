/* cp_settings.h — how this project asks the control plane about an instance: the settings
 * (CP_URL, CP_SHARED_SECRET, CP_ADMIN_TOKEN, CP_CA_FILE, CP_PROXY,
 * CHECKER_NOT_RUNNING_STATES), their checks, and the one request built from them.
 *
 * For: the checker's status requests and the actuator's confirmation before a flip, which
 * must send the same request with the same credentials through the same proxy (or none) and
 * read the answer with the same classification (cp_classify.h): a confirmation that differed
 * from the checker in any of these could contradict it for reasons of its own. Not for:
 * sending (http_client.h) or timing (each program has its own timeout setting: a checker's
 * request and the actuator's confirmation block different things). */
#ifndef RECONCILER_CP_SETTINGS_H
#define RECONCILER_CP_SETTINGS_H

#include "config.h"
#include "cp_classify.h"
#include "http_client.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *url;                     /* CP_URL */
    char *shared_secret;           /* CP_SHARED_SECRET, secret, NULL/"" = not sent */
    char *admin_token;             /* CP_ADMIN_TOKEN, secret, NULL/"" = not sent */
    char *ca_file;                 /* CP_CA_FILE, NULL/"" = system trust only */
    char *proxy;                   /* CP_PROXY, NULL/"" = no proxy at all */
    char *not_running_states_text; /* CHECKER_NOT_RUNNING_STATES */
} cp_client_settings;

/* The config_setting rows of a cp_client_settings embedded as `member` in a program's
 * settings struct. CP_URL is required when url_required; otherwise the program decides in its
 * validate hook (the actuator needs it only while ACTUATOR_CP_CONFIRM is on). url_help ends
 * the CP_URL help line with what this program does with the URL. */
#define CP_CLIENT_SETTINGS(settings_type, member, url_required, url_help)                          \
    {                                                                                              \
        .env_name = "CP_URL",                                                                      \
        .type = CONFIG_TYPE_STRING,                                                                \
        .offset = offsetof(settings_type, member.url),                                             \
        .required = (url_required),                                                                \
        .help = "Base URL of the control plane (http:// or https://, optional path prefix, no "    \
                "credentials, query or fragment); " url_help,                                      \
    },                                                                                             \
        {                                                                                          \
            .env_name = "CP_SHARED_SECRET",                                                        \
            .type = CONFIG_TYPE_STRING,                                                            \
            .offset = offsetof(settings_type, member.shared_secret),                               \
            .secret = true,                                                                        \
            .help = "Sent to the CP as 'Authorization: Bearer <secret>' when set; secret: never "  \
                    "logged, never in metrics, verdicts or actions",                               \
        },                                                                                         \
        {                                                                                          \
            .env_name = "CP_ADMIN_TOKEN",                                                          \
            .type = CONFIG_TYPE_STRING,                                                            \
            .offset = offsetof(settings_type, member.admin_token),                                 \
            .secret = true,                                                                        \
            .help = "Sent to the CP as 'X-Molecule-Admin-Token' when set; secret like "            \
                    "CP_SHARED_SECRET",                                                            \
        },                                                                                         \
        {                                                                                          \
            .env_name = "CP_CA_FILE",                                                              \
            .type = CONFIG_TYPE_STRING,                                                            \
            .offset = offsetof(settings_type, member.ca_file),                                     \
            .help = "PEM file of extra CA certificates trusted for an https CP_URL (e.g. a "       \
                    "private CA); certificate and host name verification stay on either way",      \
        },                                                                                         \
        {                                                                                          \
            .env_name = "CP_PROXY",                                                                \
            .type = CONFIG_TYPE_STRING,                                                            \
            .offset = offsetof(settings_type, member.proxy),                                       \
            .unset_display = "none",                                                               \
            .mask_url_userinfo = true,                                                             \
            .help = "Proxy for CP requests (http://, https://, socks5h://... host:port); unset = " \
                    "none. http_proxy, https_proxy, all_proxy and no_proxy are ignored on "        \
                    "purpose: every request carries the CP tokens and its answer can take a "      \
                    "workspace offline, so a proxy must be chosen, not inherited",                 \
        },                                                                                         \
    {                                                                                              \
        .env_name = "CHECKER_NOT_RUNNING_STATES", .type = CONFIG_TYPE_STRING,                      \
        .offset = offsetof(settings_type, member.not_running_states_text),                         \
        .default_text = CP_NOT_RUNNING_STATES_DEFAULT, .required = true,                           \
        .help = "Comma-separated CP states that mean NOT_RUNNING (exact, case-sensitive); any "    \
                "state not listed and not 'running' is UNKNOWN, which never acts. The checker "    \
                "and the actuator's confirmation must use the same list",                          \
    }

/* Checks what the rows cannot: CP_URL's shape (when set), CP_CA_FILE readable, CP_PROXY's
 * shape, the not-running states (parsed into *states). Returns false with the one-line error
 * "<program_name>: NAME: ..." in error_buffer; no value is echoed (a proxy URL may hold a
 * password). */
bool cp_client_settings_validate(const cp_client_settings *settings, const char *program_name,
                                 cp_not_running_states *states, char *error_buffer,
                                 size_t error_size);

/* The status request of docs/contracts.md §3 for one instance: GET
 * {CP_URL}/cp/workspaces/{workspace_id}/status?instance_id={instance_id} with both tokens,
 * the CA file and the proxy. Fills *options (whose url points at the returned string) and
 * returns the URL, malloc'd: the caller frees it after http_request_prepare or
 * http_client_perform. NULL on allocation failure. */
char *cp_status_request(const cp_client_settings *settings, const char *workspace_id,
                        const char *instance_id, int64_t timeout_ms, http_request_options *options);

/* cp_classify of a finished response. */
cp_classification cp_classify_response(const http_response *response,
                                       const cp_not_running_states *states);

#endif
