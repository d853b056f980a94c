/* checker_settings.c — the settings table of reconciler-checker and its validation.
 *
 * For: what an operator can set, with the reason for each default (it is the --help text and
 * the configuration table in docs/checker.md). Not for: parsing (common/config.c) or acting
 * on the values (checker_engine.c). */
#include "checker_settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static bool validate_parsed(void *settings, const config_kafka_properties *kafka_properties,
                            char *error_buffer, size_t error_size);

static const config_setting checker_table[] = {
    COMMON_SETTING_KAFKA_BOOTSTRAP_SERVERS(checker_settings, common),
    COMMON_SETTING_TOPIC_CHECKS(checker_settings, common),
    SETTING_TOPIC_URGENT_CHECKS(checker_settings, topic_urgent_checks),
    COMMON_SETTING_TOPIC_VERDICTS(checker_settings, common),
    COMMON_SETTING_TOPIC_DLQ(checker_settings, common),
    COMMON_SETTING_LOG_LEVEL(checker_settings, common),
    COMMON_SETTINGS_SCHEMA_VERSIONS(checker_settings, common),
    COMMON_SETTING_METRICS_ADDR(checker_settings, common, CONFIG_METRICS_ADDR_CHECKER),
    CP_CLIENT_SETTINGS(checker_settings, cp, true,
                       "the checker asks "
                       "{CP_URL}/cp/workspaces/{id}/status?instance_id={instance}"),
    {
        .env_name = "CHECKER_GROUP_ID",
        .type = CONFIG_TYPE_STRING,
        .offset = offsetof(checker_settings, group_id),
        .default_text = "reconciler-checker",
        .required = true,
        .help = "Kafka consumer group of all checkers: checkers in one group share the "
                "partitions of the checks topic, each request is answered by one of them",
    },
    {
        .env_name = "CHECKER_CONCURRENCY",
        .type = CONFIG_TYPE_INTEGER,
        .offset = offsetof(checker_settings, concurrency),
        .default_text = "64",
        .minimum = 1,
        .maximum = 4096,
        .help = "CP requests in flight per process (and so connections to the CP); 64 keeps a "
                "10k-workspace fleet within seconds at typical CP latency without flooding it. "
                "No new request is taken from Kafka while this many are open, which bounds "
                "memory",
    },
    {
        .env_name = "CHECKER_TIMEOUT",
        .type = CONFIG_TYPE_DURATION,
        .offset = offsetof(checker_settings, timeout_ms),
        .default_text = "10s",
        .minimum = 100,
        .maximum = 5LL * 60 * 1000,
        .help = "Total time allowed for one CP request (connect, TLS, answer); a slow or "
                "hanging CP costs each request at most this, then it is UNKNOWN "
                "(transport_timeout). docs/contracts.md §3 fixes the default at 10s",
    },
    {
        .env_name = "CHECKER_MAX_RPS",
        .type = CONFIG_TYPE_INTEGER,
        .offset = offsetof(checker_settings, max_rps),
        .default_text = "0",
        .minimum = 0,
        .maximum = 1000000,
        .help = "Cap on CP requests started per second by this process (a token bucket with "
                "100ms of burst); 0 = no cap, CHECKER_CONCURRENCY alone bounds the load",
    },
    CONFIG_SETTING_INSTANCE_ID(checker_settings, checker_id, "CHECKER_ID", "checker",
                               "logs, its Kafka client.id and each Verdict's checker_id"),
    {
        .env_name = "CHECKER_SHUTDOWN_TIMEOUT",
        .type = CONFIG_TYPE_DURATION,
        .offset = offsetof(checker_settings, shutdown_timeout_ms),
        .default_text = "10s",
        .minimum = 0,
        .maximum = 10LL * 60 * 1000,
        .help = "On SIGTERM, how long in-flight requests may finish and their verdicts be "
                "delivered before the rest is handed back uncommitted; 10s covers one default "
                "CHECKER_TIMEOUT and leaves room in a 15s stop budget",
    },
};

const config_program checker_program = {
    .program_name = "reconciler-checker",
    .summary =
        "Consumes CheckRequests from RECONCILER_TOPIC_CHECKS as one member of the consumer "
        "group CHECKER_GROUP_ID, asks the control plane whether each instance runs "
        "(GET {CP_URL}/cp/workspaces/{id}/status?instance_id={instance}) with up to "
        "CHECKER_CONCURRENCY requests in flight, and produces one Verdict per request to "
        "RECONCILER_TOPIC_VERDICTS, keyed by workspace id. Only a 2xx JSON object whose state "
        "is exactly a configured not-running state gives NOT_RUNNING; everything else that is "
        "not exactly 'running' is UNKNOWN, with a reason. A request taken after its deadline "
        "is not sent (the next sweep asks again). Offsets are committed only after the "
        "verdict is delivered, so a crash or rebalance loses nothing (a request may be "
        "answered twice). Undecodable messages go to RECONCILER_TOPIC_DLQ. Run any number "
        "side by side.",
    .examples = "Examples:\n"
                "  CP_URL=https://cp.internal reconciler-checker --check-config\n"
                "  CP_URL=http://127.0.0.1:8080 CP_SHARED_SECRET=... reconciler-checker \\\n"
                "    --checker-concurrency 128 --checker-max-rps 200\n"
                "  reconciler-checker --cp-url https://cp --kafka-prop security.protocol=SSL\n",
    .settings = checker_table,
    .setting_count = sizeof checker_table / sizeof checker_table[0],
    .accepts_kafka_properties = true,
    .kafka_roles = CONFIG_KAFKA_ROLE_CONSUMER | CONFIG_KAFKA_ROLE_PRODUCER,
    .validate = validate_parsed,
};

bool checker_settings_validate(const checker_settings *settings, cp_not_running_states *states,
                               char *error_buffer, size_t error_size)
{
    return cp_client_settings_validate(&settings->cp, checker_program.program_name, states,
                                       error_buffer, error_size);
}

/* checker_program's validate hook: checker_settings_validate on the parsed struct. */
static bool validate_parsed(void *settings, const config_kafka_properties *kafka_properties,
                            char *error_buffer, size_t error_size)
{
    (void)kafka_properties; /* the checker checks none of its own */
    checker_settings *checker = settings;
    /* The parsed list is a value derived from the table, kept in the struct (no allocation). */
    return checker_settings_validate(checker, &checker->not_running_states, error_buffer,
                                     error_size);
}

config_result checker_settings_load(checker_settings *settings,
                                    config_kafka_properties *kafka_properties,
                                    cp_not_running_states *states, int argc, char **argv,
                                    char **environment, FILE *out, FILE *err)
{
    if (environment == NULL) {
        environment = environ;
    }
    if (out == NULL) {
        out = stdout;
    }
    if (err == NULL) {
        err = stderr;
    }
    char error[1024];
    config_result result =
        config_parse_with_output(&checker_program, settings, kafka_properties, argc, argv,
                                 environment, out, error, sizeof error, NULL);
    if (result == CONFIG_RESULT_EXIT_USAGE) {
        fprintf(err, "%s\n", error);
    }
    if (result == CONFIG_RESULT_RUN) {
        *states = settings->not_running_states; /* derived by the validate hook */
    }
    return result;
}
