/* actuator_settings.c — the settings table of reconciler-actuator, its extra validation and
 * derived defaults.
 *
 * For: what an operator can set, with the reason for each default (this is the --help text
 * and the configuration table in docs/actuator.md). Not for: parsing (common/config.c) or
 * acting on the values. */
#include "actuator_settings.h"

#include "http_client.h"
#include "restart_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool validate_parsed(void *settings, const config_kafka_properties *kafka_properties,
                            char *error_buffer, size_t error_size);

static const config_setting actuator_table[] = {
    COMMON_SETTING_KAFKA_BOOTSTRAP_SERVERS(actuator_settings, common),
    COMMON_SETTING_DATABASE_URL(actuator_settings, common),
    COMMON_SETTING_DATABASE_CALL_TIMEOUT(actuator_settings, common),
    COMMON_SETTING_TOPIC_VERDICTS(actuator_settings, common),
    COMMON_SETTING_TOPIC_ACTIONS(actuator_settings, common),
    COMMON_SETTING_TOPIC_DLQ(actuator_settings, common),
    COMMON_SETTING_LOG_LEVEL(actuator_settings, common),
    COMMON_SETTINGS_SCHEMA_VERSIONS(actuator_settings, common),
    COMMON_SETTING_METRICS_ADDR(actuator_settings, common, CONFIG_METRICS_ADDR_ACTUATOR),
    {
        .env_name = "RESTART_URL",
        .type = CONFIG_TYPE_STRING,
        .offset = offsetof(actuator_settings, restart_url),
        .required = true,
        .help = "Workspace-server restart endpoint, POSTed with body {}; {id} is replaced by "
                "the url-encoded workspace id, e.g. "
                "http://workspace-server:8080/workspaces/{id}/restart. No default: where "
                "restarts go is a deliberate choice",
    },
    {
        .env_name = "RESTART_TOKEN",
        .type = CONFIG_TYPE_STRING,
        .offset = offsetof(actuator_settings, restart_token),
        .secret = true,
        .help = "Sent as Authorization: Bearer <token> on restart requests when set; secret, "
                "never logged",
    },
    {
        .env_name = "RESTART_CA_FILE",
        .type = CONFIG_TYPE_STRING,
        .offset = offsetof(actuator_settings, restart_ca_file),
        .help = "Extra CA bundle (PEM) trusted for an https RESTART_URL, e.g. a private CA; "
                "adds trust, never turns verification off",
    },
    {
        .env_name = "RESTART_PROXY",
        .type = CONFIG_TYPE_STRING,
        .offset = offsetof(actuator_settings, restart_proxy),
        .unset_display = "none",
        .mask_url_userinfo = true,
        .help = "Proxy for restart requests (http://, https://, socks5h://... host:port); unset "
                "= none. http_proxy, https_proxy, all_proxy and no_proxy are ignored on "
                "purpose: a restart carries RESTART_TOKEN, so a proxy must be chosen, not "
                "inherited",
    },
    CP_CLIENT_SETTINGS(actuator_settings, cp, false,
                       "the actuator asks {CP_URL}/cp/workspaces/{id}/status?instance_id="
                       "{instance}, as the checker does, right before each flip. Required "
                       "unless ACTUATOR_CP_CONFIRM=false"),
    {
        .env_name = "ACTUATOR_CP_CONFIRM",
        .type = CONFIG_TYPE_BOOL,
        .offset = offsetof(actuator_settings, cp_confirm),
        .default_text = "true",
        .help = "Ask the CP again right before flipping (same request, credentials and "
                "classification as the checker); anything but a clean not-running answer skips "
                "(SKIPPED_STALE, cp_confirmation_*). On by default: a verdict can be overtaken "
                "by a newer observation (reordered verdicts, an instance started again under "
                "its id), and only a seconds-old answer shows that. false = act on the verdict "
                "alone (then CP_URL is not needed)",
    },
    {
        .env_name = "ACTUATOR_CP_CONFIRM_TIMEOUT",
        .type = CONFIG_TYPE_DURATION,
        .offset = offsetof(actuator_settings, cp_confirm_timeout_ms),
        .default_text = "5s",
        .minimum = 100,
        .maximum = 10000,
        .help = "Total time for one confirmation request; past it the confirmation is unknown "
                "and the verdict skipped (the next sweep asks again). The actuator's loop waits "
                "for the answer, so 5s (half the checker's 10s) bounds that pause while a "
                "healthy CP answers in milliseconds; Kafka heartbeats go on meanwhile. At most "
                "10s, so that a stop still fits its 15s budget",
    },
    {
        .env_name = "ACTUATOR_CP_CONFIRM_CONCURRENCY",
        .type = CONFIG_TYPE_INTEGER,
        .offset = offsetof(actuator_settings, cp_confirm_concurrency),
        .default_text = "64",
        .minimum = 1,
        .maximum = 1024,
        .help = "How many CP confirmations the actuator asks at once (one keep-alive "
                "connection each): it looks ahead in what the consumer has fetched and asks "
                "about the next NOT_RUNNING verdicts together (no more than the flip rate can "
                "decide within 5s); the verdicts are still decided one by one, in order. 64: a "
                "wave of terminations is confirmed in a few CP round trips instead of one per "
                "verdict (at ~25 ms each, 1,000 verdicts would wait 25 s), while a CP sees no "
                "more than a modest burst from one actuator",
    },
    ACTUATOR_SETTING_GROUP_ID(actuator_settings, group_id,
                              "Kafka consumer group; actuators sharing it share the verdict "
                              "partitions, the idempotency records and the breaker count. A "
                              "dry-run shadow needs its own"),
    {
        .env_name = "ACTUATOR_MAX_VERDICT_AGE",
        .type = CONFIG_TYPE_DURATION,
        .offset = offsetof(actuator_settings, max_verdict_age_ms),
        .default_text = "5m",
        .minimum = 1000,
        .maximum = 24LL * 3600 * 1000,
        .help = "Verdicts checked longer ago than this are skipped (SKIPPED_STALE): a stopped "
                "instance can be started again under the same id. 5m covers a sweep plus an "
                "actuator restart's lag; replaying an old topic flips nothing",
    },
    {
        .env_name = "ACTUATOR_MAX_UNHEALTHY",
        .type = CONFIG_TYPE_THRESHOLD,
        .offset = offsetof(actuator_settings, max_unhealthy),
        .default_text = "20%",
        .minimum = 0,
        .maximum = 1000000000,
        .help = "Mass-failure breaker, one per consumer group: the group acts on at most this "
                "many workspaces per ACTUATOR_BREAKER_WINDOW (a count, or a % of the in-scope "
                "fleet, the sweep_size the verdicts carry; a percentage at least 1); while that "
                "many would have been acted on (flipped, or held back by the breaker) within "
                "the window, every further NOT_RUNNING verdict is SKIPPED_BREAKER_OPEN. 20% is "
                "far above normal attrition and far below a CP bug reporting the fleet dead; 0 "
                "acts on nothing",
    },
    {
        .env_name = "ACTUATOR_BREAKER_WINDOW",
        .type = CONFIG_TYPE_DURATION,
        .offset = offsetof(actuator_settings, breaker_window_ms),
        .default_text = "10m",
        .minimum = 1000,
        /* Not above ACTUATOR_RETENTION's minimum, so pruning never removes a row still in
         * the window. */
        .maximum = 3600 * 1000,
        .help = "Length of the breaker's rolling window: ACTUATOR_MAX_UNHEALTHY counts the "
                "distinct workspaces the whole group would have acted on within this time "
                "before each decision, across overlapping sweeps and every actuator of the "
                "group (shared in PostgreSQL). A workspace held back keeps counting while it "
                "is reported, so a CP bug keeps the breaker open as long as it lasts; the "
                "breaker closes by itself one window after it stops. 10m spans several sweeps "
                "at the producer's 60s interval (a sweep under backlog overlaps the next) and "
                "is short enough that a real failure beyond the limit heals in steps of 10m. "
                "At most 1h",
    },
    {
        .env_name = "ACTUATOR_MAX_FLIPS_PER_MIN",
        .type = CONFIG_TYPE_INTEGER,
        .offset = offsetof(actuator_settings, max_flips_per_minute),
        .default_text = "60",
        .minimum = 1,
        .maximum = 600000,
        .help = "Workspaces flipped offline per minute by the whole consumer group (a token "
                "bucket in PostgreSQL, burst one second's worth, at least 1), however many "
                "actuators share it; a verdict "
                "that finds no token waits (consumption pauses briefly), none is dropped. 60 "
                "matches ACTUATOR_MAX_RESTARTS_PER_MIN's default: keep the two equal, or rows "
                "flipped faster than restarts go out sit offline waiting for their restart",
    },
    {
        .env_name = "ACTUATOR_MAX_RESTARTS_PER_MIN",
        .type = CONFIG_TYPE_INTEGER,
        .offset = offsetof(actuator_settings, max_restarts_per_minute),
        .default_text = "60",
        .minimum = 1,
        .maximum = 600000,
        .help = "Restart requests per minute sent by the whole consumer group (a token bucket "
                "in PostgreSQL, burst one second's worth, at least 1: evenly spaced at the "
                "default), however many actuators share it; the "
                "rest wait, none are dropped. 60 (one a second) keeps a breaker-sized wave "
                "from hitting the provisioner at once; keep it equal to "
                "ACTUATOR_MAX_FLIPS_PER_MIN",
    },
    {
        .env_name = "ACTUATOR_RESTART_MAX_ATTEMPTS",
        .type = CONFIG_TYPE_INTEGER,
        .offset = offsetof(actuator_settings, restart_max_attempts),
        .default_text = "15",
        .minimum = 1,
        .maximum = 1000,
        .help = "Restart attempts before giving up (RESTART_FAILED). 15 with the default "
                "backoff spans ~40 minutes at most (~20 on average): rides out a "
                "workspace-server deploy or outage",
    },
    {
        .env_name = "ACTUATOR_RESTART_TIMEOUT",
        .type = CONFIG_TYPE_DURATION,
        .offset = offsetof(actuator_settings, restart_timeout_ms),
        .default_text = "10s",
        .minimum = 100,
        .maximum = 120000,
        .help = "Per-request timeout of a restart call; a timeout counts as a failed attempt "
                "(retried). Also bounds how long shutdown waits for an in-flight call",
    },
    {
        .env_name = "ACTUATOR_RESTART_BACKOFF_BASE",
        .type = CONFIG_TYPE_DURATION,
        .offset = offsetof(actuator_settings, restart_backoff_base_ms),
        .default_text = "1s",
        .minimum = 1,
        .maximum = 3600000,
        .help = "Retry wait after the first failed attempt (upper bound, full jitter); doubles "
                "per attempt",
    },
    {
        .env_name = "ACTUATOR_RESTART_BACKOFF_MAX",
        .type = CONFIG_TYPE_DURATION,
        .offset = offsetof(actuator_settings, restart_backoff_max_ms),
        .default_text = "5m",
        .minimum = 1,
        .maximum = 24LL * 3600 * 1000,
        .help = "Cap of the retry wait; 5m keeps a recovered workspace server from waiting "
                "long for the retry",
    },
    {
        .env_name = "ACTUATOR_DRY_RUN",
        .type = CONFIG_TYPE_BOOL,
        .offset = offsetof(actuator_settings, dry_run),
        .default_text = "false",
        .help = "Decide and record every Action (dry_run=true, SKIPPED_DRY_RUN where it would "
                "flip) but change no row and send no restart: shadow production verdicts "
                "before enabling action",
    },
    CONFIG_SETTING_INSTANCE_ID(actuator_settings, actuator_id, "ACTUATOR_ID", "actuator",
                               "logs and in each Action's actuator_id"),
    {
        .env_name = "ACTUATOR_RETENTION",
        .type = CONFIG_TYPE_DURATION,
        .offset = offsetof(actuator_settings, retention_ms),
        .default_text = "168h",
        .minimum = 3600000,
        .maximum = 3650LL * 24 * 3600 * 1000,
        .help = "How long the actuator's own bookkeeping rows (decisions, breaker counts, "
                "published actions, accepted and skipped restarts) are kept; 168h (7 days) matches "
                "Kafka's default retention, and a verdict older than this is stale anyway. Failed "
                "restarts are kept until retried (--retry-failed-restarts)",
    },
};

const config_program actuator_program = {
    .program_name = "reconciler-actuator",
    .summary =
        "Consumes Verdicts from RECONCILER_TOPIC_VERDICTS and heals dead workspaces. RUNNING "
        "and UNKNOWN verdicts are only counted. A NOT_RUNNING verdict that passes every guard "
        "(fresh, row still online on the same instance and in scope, the group's "
        "mass-failure breaker closed, not a dry run) flips the workspaces row offline with a "
        "compare-and-swap and queues a restart in the same transaction as the idempotency "
        "record, at most ACTUATOR_MAX_FLIPS_PER_MIN per group; the restart is POSTed to "
        "RESTART_URL afterwards, rate-limited and retried with backoff, also across crashes. "
        "Right before a flip the actuator asks the CP again (ACTUATOR_CP_CONFIRM, on by "
        "default; CP_URL is then required) and skips unless the answer is a clean not-running "
        "for the same instance. Every NOT_RUNNING verdict yields an Action record "
        "on RECONCILER_TOPIC_ACTIONS saying what happened and why. Offsets are stored only "
        "after the decision is committed; a database outage pauses consumption.",
    .examples = "Examples:\n"
                "  CP_URL=https://cp.internal reconciler-actuator --check-config\n"
                "  CP_URL=https://cp.internal "
                "RESTART_URL='http://workspace-server:8080/workspaces/{id}/restart' \\\n"
                "    RESTART_TOKEN=... reconciler-actuator --actuator-dry-run\n"
                "  reconciler-actuator --actuator-max-unhealthy 50 \\\n"
                "    --kafka-prop security.protocol=SASL_SSL\n"
                "  reconciler-actuator --retry-failed-restarts[=WORKSPACE_ID]\n"
                "    one-shot: sets the group's failed restarts (RESTART_FAILED, attempts used "
                "up)\n"
                "    back to pending for the running actuators to send, prints how many, exits "
                "0;\n"
                "    needs only DATABASE_URL and ACTUATOR_GROUP_ID (see "
                "--retry-failed-restarts --help)\n"
                "  reconciler-actuator --pause \"REASON\"   /   reconciler-actuator --resume\n"
                "    one-shot: every actuator of the group stops (resumes) flipping and "
                "restarting\n"
                "    at its next decision, no restart needed (see --resume --help)\n",
    .settings = actuator_table,
    .setting_count = sizeof actuator_table / sizeof actuator_table[0],
    .accepts_kafka_properties = true,
    .kafka_roles = CONFIG_KAFKA_ROLE_CONSUMER | CONFIG_KAFKA_ROLE_PRODUCER,
    .validate = validate_parsed,
};

bool actuator_settings_validate(const actuator_settings *settings,
                                cp_not_running_states *not_running_states, char *error_buffer,
                                size_t error_size)
{
    cp_not_running_states scratch;
    if (not_running_states == NULL) {
        not_running_states = &scratch;
    }
    const char *problem = restart_url_template_problem(settings->restart_url);
    if (problem != NULL) {
        /* The URL itself is not echoed: it may carry credentials in its userinfo part. */
        snprintf(error_buffer, error_size, "%s: RESTART_URL: %s", actuator_program.program_name,
                 problem);
        return false;
    }
    if (settings->restart_backoff_base_ms > settings->restart_backoff_max_ms) {
        snprintf(error_buffer, error_size,
                 "%s: ACTUATOR_RESTART_BACKOFF_BASE: must not exceed ACTUATOR_RESTART_BACKOFF_MAX",
                 actuator_program.program_name);
        return false;
    }
    if (settings->max_unhealthy.value < 0) {
        snprintf(error_buffer, error_size, "%s: ACTUATOR_MAX_UNHEALTHY: must not be negative",
                 actuator_program.program_name);
        return false;
    }
    if (settings->restart_proxy != NULL && settings->restart_proxy[0] != '\0') {
        problem = http_proxy_url_problem(settings->restart_proxy);
        if (problem != NULL) {
            snprintf(error_buffer, error_size, "%s: RESTART_PROXY: %s",
                     actuator_program.program_name, problem);
            return false;
        }
    }
    if (settings->cp_confirm && (settings->cp.url == NULL || settings->cp.url[0] == '\0')) {
        /* Refusing is the safe reading of a forgotten CP_URL: running without the confirmation
         * must be a choice someone wrote down. */
        snprintf(error_buffer, error_size,
                 "%s: CP_URL: required while ACTUATOR_CP_CONFIRM is true (every flip is "
                 "confirmed with the CP first); set ACTUATOR_CP_CONFIRM=false to act on verdicts "
                 "alone",
                 actuator_program.program_name);
        return false;
    }
    return cp_client_settings_validate(&settings->cp, actuator_program.program_name,
                                       not_running_states, error_buffer, error_size);
}

/* actuator_program's validate hook: actuator_settings_validate on the parsed struct. */
static bool validate_parsed(void *settings, const config_kafka_properties *kafka_properties,
                            char *error_buffer, size_t error_size)
{
    (void)kafka_properties; /* the actuator checks none of its own */
    actuator_settings *actuator = settings;
    /* The parsed list is a value derived from the table, kept in the struct (no allocation). */
    return actuator_settings_validate(actuator, &actuator->cp_not_running_states, error_buffer,
                                      error_size);
}
