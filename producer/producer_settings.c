/* producer_settings.c — the settings table of reconciler-producer and its derived defaults.
 *
 * For: what an operator can set, with the reason for each default (it is the --help text and
 * the configuration table in docs/producer.md). Not for: parsing (common/config.c) or
 * acting on the values (producer_loop.c). */
#include "producer_settings.h"

#include <stdio.h>
#include <string.h>

/* Shorter than this, a bearer token is guessable by anyone who can reach the port. */
#define HINT_TOKEN_MIN_LENGTH 16

static const config_setting producer_table[] = {
    COMMON_SETTING_KAFKA_BOOTSTRAP_SERVERS(producer_settings, common),
    COMMON_SETTING_DATABASE_URL(producer_settings, common),
    COMMON_SETTING_DATABASE_CALL_TIMEOUT(producer_settings, common),
    COMMON_SETTING_TOPIC_CHECKS(producer_settings, common),
    COMMON_SETTING_LOG_LEVEL(producer_settings, common),
    COMMON_SETTINGS_SCHEMA_VERSIONS(producer_settings, common),
    COMMON_SETTING_METRICS_ADDR(producer_settings, common, CONFIG_METRICS_ADDR_PRODUCER),
    {
        .env_name = "PRODUCER_INTERVAL",
        .type = CONFIG_TYPE_DURATION,
        .offset = offsetof(producer_settings, interval_ms),
        .default_text = "60s",
        .minimum = 1000,
        .maximum = 24LL * 3600 * 1000,
        .help = "Time between sweep starts (the first sweep runs when a producer becomes "
                "active); 60s checks every online workspace once a minute, a dead instance "
                "is found within about a minute plus the checkers' time",
    },
    {
        .env_name = "PRODUCER_PAGE_SIZE",
        .type = CONFIG_TYPE_INTEGER,
        .offset = offsetof(producer_settings, page_size),
        .default_text = "1000",
        .minimum = 1,
        .maximum = 100000,
        .help = "Rows read per keyset page; memory is bounded by one page whatever the fleet "
                "size, 1000 keeps each query short",
    },
    {
        .env_name = "PRODUCER_MAX_PER_SWEEP",
        .type = CONFIG_TYPE_INTEGER,
        .offset = offsetof(producer_settings, max_per_sweep),
        .default_text = "0",
        .minimum = 0,
        .maximum = 1000000000,
        .help = "Cap on CheckRequests per sweep, to protect a fragile control plane; 0 = no "
                "cap (the whole fleet every sweep). With a cap, sweeps continue round-robin "
                "where the last one stopped, so every row is checked within ceil(N/cap) sweeps",
    },
    {
        .env_name = "PRODUCER_DEADLINE",
        .type = CONFIG_TYPE_DURATION,
        .offset = offsetof(producer_settings, deadline_ms),
        .default_text = NULL,
        .minimum = 1000,
        .maximum = 7LL * 24 * 3600 * 1000,
        .help =
            "How long a CheckRequest stays worth answering after it is enqueued (its "
            "deadline field); unset = PRODUCER_INTERVAL, since by then the next sweep has "
            "enqueued a fresher one. Also Kafka's message.timeout.ms (within 5s..5m): a message "
            "not delivered by its deadline fails the sweep instead of arriving useless",
    },
    {
        .env_name = "PRODUCER_LOCK_KEY",
        .type = CONFIG_TYPE_INTEGER,
        .offset = offsetof(producer_settings, lock_key),
        .default_text = PRODUCER_DEFAULT_LOCK_KEY,
        .minimum = INT64_MIN, /* any bigint: pg_advisory_lock's key */
        .maximum = INT64_MAX,
        .help = "PostgreSQL advisory lock id (bigint) that makes exactly one producer active; "
                "producers sharing it form one group and share the round-robin cursor. The "
                "default is 'reconcil' in ASCII, unlikely to clash with another application",
    },
    CONFIG_SETTING_INSTANCE_ID(producer_settings, producer_id, "PRODUCER_ID", "producer",
                               "logs and in each CheckRequest's producer_id"),
    SETTING_TOPIC_URGENT_CHECKS(producer_settings, topic_urgent_checks),
    {
        .env_name = "PRODUCER_HINT_ADDR",
        .type = CONFIG_TYPE_STRING,
        .offset = offsetof(producer_settings, hint_address),
        .default_text = "",
        .help = "host:port of the hint endpoint (POST /hints: EventBridge EC2 state-change and "
                "spot-interruption events, or {\"instance_id\": ...}); empty = no endpoint. A "
                "hint only makes a checker ask the CP now, on the urgent lane; it never acts "
                "by itself. Same address syntax as METRICS_ADDR",
    },
    {
        .env_name = "PRODUCER_HINT_TOKEN",
        .type = CONFIG_TYPE_STRING,
        .offset = offsetof(producer_settings, hint_token),
        .default_text = "",
        .secret = true,
        .help = "Bearer token every hint must carry (Authorization: Bearer ...); required, at "
                "least 16 characters, when PRODUCER_HINT_ADDR is set",
    },
    {
        .env_name = "PRODUCER_HINT_DEDUP_WINDOW",
        .type = CONFIG_TYPE_DURATION,
        .offset = offsetof(producer_settings, hint_dedup_ms),
        .default_text = "30s",
        .minimum = 0,
        .maximum = 3600LL * 1000,
        .help = "A second hint about the same instance within this window is counted as a "
                "duplicate and dropped (EventBridge delivers at least once, and a termination "
                "sends several state changes); 0 = no deduplication",
    },
    {
        .env_name = "PRODUCER_HEARTBEAT_STALE_AFTER",
        .type = CONFIG_TYPE_DURATION,
        .offset = offsetof(producer_settings, heartbeat_stale_ms),
        .default_text = "0",
        .minimum = 0,
        .maximum = 24LL * 3600 * 1000,
        .help = "The active producer sends in-scope rows whose last_heartbeat_at is older than "
                "this to the urgent lane (each at most once per PRODUCER_INTERVAL); 0 = off, "
                "for tables without the column (docs/contracts.md §2)",
    },
    {
        .env_name = "PRODUCER_HEARTBEAT_SCAN_LIMIT",
        .type = CONFIG_TYPE_INTEGER,
        .offset = offsetof(producer_settings, heartbeat_scan_limit),
        .default_text = "100",
        .minimum = 1,
        .maximum = 10000,
        .help = "Most stale-heartbeat rows sent per scan (one scan every 5s): a platform-wide "
                "heartbeat outage must not turn the urgent lane into a second sweep",
    },
};

/* What the table cannot say: a hint endpoint needs a real token. */
static bool validate_parsed(void *settings_pointer, const config_kafka_properties *properties,
                            char *error_buffer, size_t error_size)
{
    (void)properties;
    const producer_settings *settings = settings_pointer;
    if (settings->hint_address == NULL || settings->hint_address[0] == '\0')
        return true;
    if (settings->hint_token == NULL || strlen(settings->hint_token) < HINT_TOKEN_MIN_LENGTH) {
        snprintf(error_buffer, error_size,
                 "reconciler-producer: PRODUCER_HINT_TOKEN: required, at least %d characters, "
                 "when PRODUCER_HINT_ADDR is set",
                 HINT_TOKEN_MIN_LENGTH);
        return false;
    }
    return true;
}

const config_program producer_program = {
    .program_name = "reconciler-producer",
    .summary =
        "Every PRODUCER_INTERVAL, enumerates the in-scope workspaces (status = 'online' with a "
        "non-empty instance_id and a runtime other than 'external') by keyset pagination and "
        "enqueues one CheckRequest per row to RECONCILER_TOPIC_CHECKS, keyed by workspace id. "
        "Run two or more for availability: a PostgreSQL advisory lock makes exactly one "
        "active, the others stand by and take over within one interval. A sweep counts as done "
        "only when Kafka confirmed the delivery of every message; a database or broker outage "
        "fails the sweep (logged and counted), and the next interval retries.",
    .examples = "Examples:\n"
                "  reconciler-producer --check-config\n"
                "  DATABASE_URL=postgresql://reconciler@db/app KAFKA_BOOTSTRAP_SERVERS=k1:9092 \\\n"
                "    reconciler-producer --producer-max-per-sweep 5000\n"
                "  reconciler-producer --kafka-prop security.protocol=SASL_SSL \\\n"
                "    --kafka-prop sasl.mechanism=SCRAM-SHA-512\n",
    .settings = producer_table,
    .setting_count = sizeof producer_table / sizeof producer_table[0],
    .accepts_kafka_properties = true,
    .kafka_roles = CONFIG_KAFKA_ROLE_PRODUCER,
    .validate = validate_parsed,
};

void producer_settings_resolve(producer_settings *settings)
{
    if (settings->deadline_ms <= 0) {
        settings->deadline_ms = settings->interval_ms;
    }
}
