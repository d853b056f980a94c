/* seed_command.c — `fleet-sim seed --count N [--url URL] [--runtime R] [--batch-size B]`.
 * See seed_command.h. */
#include "seed_command.h"

#include "http_client.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define SEED_DEFAULT_URL "http://127.0.0.1:8090"
/* Seeding a million rows takes tens of seconds; the client waits well beyond that. */
#define SEED_TIMEOUT_MS (15 * 60 * 1000)

static const char seed_usage[] =
    "Usage: fleet-sim seed --count N [--url URL] [--runtime R] [--batch-size B]\n"
    "\n"
    "Asks a running fleet-sim to create N workspaces in PostgreSQL (status online, runtime R,\n"
    "one running instance each) and the matching simulated instances (POST /admin/seed).\n"
    "  --count N        1..1000000, required\n"
    "  --url URL        the simulator, default " SEED_DEFAULT_URL "\n"
    "  --runtime R      workspaces.runtime, default the simulator's (docker)\n"
    "  --batch-size B   rows per COPY, default the simulator's FLEETSIM_SEED_BATCH\n"
    "FLEETSIM_ADMIN_TOKEN, when set, is sent as the bearer token.\n"
    "Exit codes: 0 seeded (the JSON answer on stdout), 1 the request failed, 2 usage.\n";

static bool parse_count(const char *text, int64_t minimum, int64_t maximum, int64_t *out)
{
    if (text == NULL || text[0] < '0' || text[0] > '9') {
        return false;
    }
    errno = 0;
    char *end = NULL;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < minimum || value > maximum) {
        return false;
    }
    *out = value;
    return true;
}

bool seed_command_parse(int argc, char **argv, seed_command_options *out, char *error_buffer,
                        size_t error_size)
{
    memset(out, 0, sizeof *out);
    out->url = SEED_DEFAULT_URL;
    for (int i = 1; i < argc; i++) {
        const char *argument = argv[i];
        if (strcmp(argument, "--help") == 0 || strcmp(argument, "-h") == 0) {
            out->help = true;
            return true;
        }
        const char *names[] = {"--count", "--url", "--runtime", "--batch-size"};
        const char *value = NULL;
        size_t which = 0;
        for (; which < sizeof names / sizeof names[0]; which++) {
            size_t length = strlen(names[which]);
            if (strcmp(argument, names[which]) == 0) {
                if (i + 1 >= argc) {
                    snprintf(error_buffer, error_size, "seed: %s needs a value", names[which]);
                    return false;
                }
                value = argv[++i];
                break;
            }
            if (strncmp(argument, names[which], length) == 0 && argument[length] == '=') {
                value = argument + length + 1;
                break;
            }
        }
        if (value == NULL) {
            snprintf(error_buffer, error_size, "seed: unknown argument '%.64s' (see --help)",
                     argument);
            return false;
        }
        switch (which) {
        case 0:
            if (!parse_count(value, 1, 1000000, &out->count)) {
                snprintf(error_buffer, error_size,
                         "seed: --count: expected an integer in [1, 1000000], got '%.64s'", value);
                return false;
            }
            break;
        case 1:
            out->url = value;
            break;
        case 2:
            out->runtime = value;
            break;
        default:
            if (!parse_count(value, 1, 100000, &out->batch_size)) {
                snprintf(error_buffer, error_size,
                         "seed: --batch-size: expected an integer in [1, 100000], got '%.64s'",
                         value);
                return false;
            }
            break;
        }
    }
    if (out->count == 0) {
        snprintf(error_buffer, error_size, "seed: --count is required (see --help)");
        return false;
    }
    return true;
}

char *seed_command_body(const seed_command_options *options)
{
    json_t *body = json_pack("{s:I}", "count", (json_int_t)options->count);
    if (body == NULL) {
        return NULL;
    }
    if (options->runtime != NULL) {
        json_object_set_new(body, "runtime", json_string(options->runtime));
    }
    if (options->batch_size > 0) {
        json_object_set_new(body, "batch_size", json_integer((json_int_t)options->batch_size));
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

int seed_command_main(int argc, char **argv)
{
    seed_command_options options;
    char error[256];
    if (!seed_command_parse(argc, argv, &options, error, sizeof error)) {
        fprintf(stderr, "fleet-sim: %s\n", error);
        return 2;
    }
    if (options.help) {
        fputs(seed_usage, stdout);
        return 0;
    }
    char *body = seed_command_body(&options);
    size_t url_length = strlen(options.url) + sizeof "/admin/seed";
    char *url = malloc(url_length);
    if (body == NULL || url == NULL) {
        fprintf(stderr, "fleet-sim: seed: out of memory\n");
        free(body);
        free(url);
        return 1;
    }
    /* A trailing slash on the base URL must not make "//admin/seed". */
    snprintf(url, url_length, "%s", options.url);
    size_t base_length = strlen(url);
    while (base_length > 0 && url[base_length - 1] == '/') {
        url[--base_length] = '\0';
    }
    snprintf(url + base_length, url_length - base_length, "/admin/seed");
    http_request_options request = {
        .method = "POST",
        .url = url,
        .bearer_token = getenv("FLEETSIM_ADMIN_TOKEN"),
        .body = body,
        .timeout_ms = SEED_TIMEOUT_MS,
    };
    http_response response;
    memset(&response, 0, sizeof response);
    http_client_perform(&request, &response);
    int exit_code = 1;
    if (response.error != HTTP_CLIENT_OK) {
        fprintf(stderr, "fleet-sim: seed: POST %s failed: %s\n", url,
                http_client_error_name(response.error));
    } else {
        fwrite(response.body != NULL ? response.body : "", 1, response.body_length, stdout);
        fputc('\n', stdout);
        if (response.status >= 200 && response.status < 300) {
            exit_code = 0;
        } else {
            fprintf(stderr, "fleet-sim: seed: POST %s answered %ld\n", url, response.status);
        }
    }
    http_response_free(&response);
    free(body);
    free(url);
    return exit_code;
}
