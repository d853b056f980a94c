/* audit_settings.c — the settings table of reconciler-audit, its extra validation, and the
 * manual (--help) with an example per mode.
 *
 * For: what an operator can set, with the reason for each default. Not for: parsing
 * (common/config.c) or acting on the values (audit_run.c). */
#include "audit_settings.h"

#include "audit_range.h"
#include "timeutil.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool validate_parsed(void *settings, const config_kafka_properties *kafka_properties,
                            char *error_buffer, size_t error_size);

/* The names an operator writes for --partitioner and --format, spelt as audit_partitioner_name
 * and audit_format_name print them (test_audit_settings.c holds the two to each other). */
static const config_choice partitioner_choices[] = {
    {"consistent_random", AUDIT_PARTITIONER_CONSISTENT_RANDOM},
    {"consistent", AUDIT_PARTITIONER_CONSISTENT},
    {"murmur2", AUDIT_PARTITIONER_MURMUR2},
    {"murmur2_random", AUDIT_PARTITIONER_MURMUR2_RANDOM},
    {"fnv1a", AUDIT_PARTITIONER_FNV1A},
    {"fnv1a_random", AUDIT_PARTITIONER_FNV1A_RANDOM},
    {NULL, 0},
};
_Static_assert(sizeof partitioner_choices / sizeof partitioner_choices[0] ==
                   AUDIT_PARTITIONER_COUNT + 1,
               "one choice per partitioner");
CONFIG_CHOICE_FIELD_CHECK(audit_settings, partitioner);

static const config_choice format_choices[] = {
    {"table", AUDIT_FORMAT_TABLE},
    {"jsonl", AUDIT_FORMAT_JSONL},
    {"avro", AUDIT_FORMAT_AVRO},
    {NULL, 0},
};
CONFIG_CHOICE_FIELD_CHECK(audit_settings, format);

static const config_setting audit_table[] = {
    COMMON_SETTING_KAFKA_BOOTSTRAP_SERVERS(audit_settings, common),
    COMMON_SETTING_TOPIC_VERDICTS(audit_settings, common),
    COMMON_SETTING_TOPIC_ACTIONS(audit_settings, common),
    COMMON_SETTING_LOG_LEVEL(audit_settings, common),
    COMMON_SETTINGS_SCHEMA_VERSIONS(audit_settings, common),
    {
        .env_name = "DATABASE_URL",
        .type = CONFIG_TYPE_STRING,
        .offset = offsetof(audit_settings, database_url),
        .secret = true,
        .help = "With --verify, also cross-check the actuator's reconciler_actuator_* tables "
                "against the actions topic, in a read-only session; unset or empty = no "
                "cross-check (a value in the environment counts: --database-url '' turns it "
                "off). Secret: may hold a password",
    },
    {
        .env_name = "AUDIT_FROM",
        .flag = "from",
        .type = CONFIG_TYPE_STRING,
        .offset = offsetof(audit_settings, from),
        .default_text = "beginning",
        .required = true,
        .help = "Start of the range, inclusive: " AUDIT_BOUND_FORMS ". Times are Kafka "
                "message timestamps, resolved per partition with offsets_for_times",
    },
    {
        .env_name = "AUDIT_TO",
        .flag = "to",
        .type = CONFIG_TYPE_STRING,
        .offset = offsetof(audit_settings, to),
        .default_text = "end",
        .required = true,
        .help = "End of the range, exclusive, in the same forms; end is each partition's high "
                "watermark when the run starts, so a run always terminates",
    },
    {
        .env_name = "AUDIT_WORKSPACE",
        .flag = "workspace",
        .type = CONFIG_TYPE_STRING,
        .offset = offsetof(audit_settings, workspace),
        .help = "Only this workspace's records. Reads just the partition its key hashes to "
                "(see --partitioner) in each topic; unset = every workspace",
    },
    {
        .env_name = "AUDIT_FULL_SCAN",
        .flag = "full-scan",
        .type = CONFIG_TYPE_BOOL,
        .offset = offsetof(audit_settings, full_scan),
        .default_text = "false",
        .help = "With --workspace, read every partition and filter (for topics written with "
                "another partitioner, or keyless records)",
    },
    {
        .env_name = "AUDIT_PARTITIONER",
        .flag = "partitioner",
        .type = CONFIG_TYPE_CHOICE,
        .offset = offsetof(audit_settings, partitioner),
        .choices = partitioner_choices,
        .default_text = "consistent_random",
        .required = true,
        .help = "How producers chose partitions, for --workspace: consistent_random "
                "(librdkafka's default, which every reconciler program uses), consistent, "
                "murmur2 or murmur2_random (the Java client's), fnv1a or fnv1a_random",
    },
    {
        .env_name = "AUDIT_FORMAT",
        .flag = "format",
        .type = CONFIG_TYPE_CHOICE,
        .offset = offsetof(audit_settings, format),
        .choices = format_choices,
        .default_text = "table",
        .required = true,
        .help = "table (for people), jsonl (one JSON object per line, for jq) or avro (an Avro "
                "object container file of the records, for Avro tools; record dump only)",
    },
    {
        .env_name = "AUDIT_OUTPUT",
        .flag = "output",
        .type = CONFIG_TYPE_STRING,
        .offset = offsetof(audit_settings, output),
        .help = "Write the output to this file instead of stdout (created or truncated); "
                "unset or - = stdout. Logs and progress always go to stderr",
    },
    {
        .env_name = "AUDIT_TIMELINE",
        .flag = "timeline",
        .type = CONFIG_TYPE_BOOL,
        .offset = offsetof(audit_settings, timeline),
        .default_text = "false",
        .help = "Report per workspace its verdicts and actions in time order, with the reason "
                "of each decision (why was it restarted at 03:12?)",
    },
    {
        .env_name = "AUDIT_SUMMARY",
        .flag = "summary",
        .type = CONFIG_TYPE_BOOL,
        .offset = offsetof(audit_settings, summary),
        .default_text = "false",
        .help = "Report per sweep: checked, RUNNING / NOT_RUNNING / UNKNOWN (by reason), flips, "
                "restarts, skips, breaker trips, checker latency p50/p90/p99/max",
    },
    {
        .env_name = "AUDIT_VERIFY",
        .flag = "verify",
        .type = CONFIG_TYPE_BOOL,
        .offset = offsetof(audit_settings, verify),
        .default_text = "false",
        .help = "Check the invariants (every flip on a fresh NOT_RUNNING verdict, no action on "
                "RUNNING or UNKNOWN, no verdict flipped twice, every flip with a restart "
                "outcome) and exit 1 listing each violation",
    },
    {
        .env_name = "AUDIT_STRICT",
        .flag = "strict",
        .type = CONFIG_TYPE_BOOL,
        .offset = offsetof(audit_settings, strict),
        .default_text = "false",
        .help = "With --verify, also fail on what could not be verified (a flip whose verdict "
                "is outside the range) and on restarts still pending",
    },
    {
        .env_name = "AUDIT_MAX_VERDICT_AGE",
        .flag = "max-verdict-age",
        .type = CONFIG_TYPE_DURATION,
        .offset = offsetof(audit_settings, max_verdict_age_ms),
        .default_text = "5m",
        .minimum = 1000,
        .maximum = 24LL * 3600 * 1000,
        .help = "A flip's verdict must have been checked at most this long before (or after) "
                "the flip; keep it equal to the actuator's ACTUATOR_MAX_VERDICT_AGE (default 5m)",
    },
    {
        .env_name = "AUDIT_RESTART_GRACE",
        .flag = "restart-grace",
        .type = CONFIG_TYPE_DURATION,
        .offset = offsetof(audit_settings, restart_grace_ms),
        .default_text = "1h",
        .minimum = 1000,
        .maximum = 30LL * 24 * 3600 * 1000,
        .help = "A flip with no restart outcome at all is pending for this long, a violation "
                "after; 1h covers a breaker-sized wave through the actuator's restart rate "
                "limit (60/min by default)",
    },
    {
        .env_name = "AUDIT_DATABASE_RETENTION",
        .flag = "database-retention",
        .type = CONFIG_TYPE_DURATION,
        .offset = offsetof(audit_settings, database_retention_ms),
        .default_text = "168h",
        .minimum = 3600000,
        .maximum = 3650LL * 24 * 3600 * 1000,
        .help = "The actuator's ACTUATOR_RETENTION: flips older than this are not expected in "
                "its tables any more (pruned), so the cross-check does not miss them",
    },
    {
        .env_name = "AUDIT_READ_TIMEOUT",
        .flag = "read-timeout",
        .type = CONFIG_TYPE_DURATION,
        .offset = offsetof(audit_settings, read_timeout_ms),
        .default_text = "60s",
        .minimum = 1000,
        .maximum = 3600000,
        .help = "Give up (exit 3) when the read makes no progress for this long, e.g. a "
                "partition without a leader; also bounds each metadata request",
    },
    {
        .env_name = "AUDIT_QUIET",
        .flag = "quiet",
        .type = CONFIG_TYPE_BOOL,
        .offset = offsetof(audit_settings, quiet),
        .default_text = "false",
        .help = "No progress lines (records read, position, rate) and no info logs on stderr; "
                "warnings and errors still appear",
    },
};

const config_program audit_program = {
    .program_name = "reconciler-audit",
    .summary =
        "Reads RECONCILER_TOPIC_VERDICTS and RECONCILER_TOPIC_ACTIONS over a range and "
        "reports. Strictly read-only, so it can run against production: it assigns partitions "
        "itself (no consumer-group membership), never commits an offset (its group id is a "
        "random throw-away that no broker ever records), writes to no topic, and reads the "
        "database, if at all, in a read-only session. Without a report flag it prints the "
        "records (--format table, jsonl or avro); --timeline, --summary and --verify print "
        "reports instead (combinable, in that order). Undecodable records are reported "
        "(partition, offset, error) and skipped. Exit codes: 0 done (and --verify found no "
        "violation), 1 --verify found violations, 2 bad configuration or usage, 3 a failure "
        "(Kafka, database, output), 130 interrupted.",
    .examples =
        "  # every record of the last two hours, as a table\n"
        "  reconciler-audit --from -2h\n"
        "  # why was this workspace restarted at 03:12? its story around the incident\n"
        "  reconciler-audit --workspace 8d3f5a2e-1c4b-4e8f-9a7d-2b6c0e1f3a45 --timeline \\\n"
        "    --from 2026-11-27T02:00:00Z --to 2026-11-27T04:00:00Z\n"
        "  # per sweep: checked, liveness by reason, flips, restarts, breaker, latency\n"
        "  reconciler-audit --summary --from -24h\n"
        "  # check the invariants (exit 1 listing each violation), with the actuator's tables\n"
        "  reconciler-audit --verify --from -24h --database-url \"$DATABASE_URL\"\n"
        "  # for jq: the flips of the last hour\n"
        "  reconciler-audit --format jsonl --from -1h --quiet |\n"
        "    jq 'select(.value.outcome == \"FLIPPED_RESTART_REQUESTED\")'\n"
        "  # an Avro object container file, for any Avro tool\n"
        "  reconciler-audit --format avro --output audit.avro --from 2026-11-27T00:00:00Z\n"
        "  # partition offsets: verdicts partition 3, offsets 1200 up to (not incl.) 1300\n"
        "  reconciler-audit --from verdicts:3:1200 --to verdicts:3:1300\n",
    .settings = audit_table,
    .setting_count = sizeof audit_table / sizeof audit_table[0],
    .accepts_kafka_properties = true,
    .validate = validate_parsed,
};

bool audit_kafka_property_is_fixed(const char *name)
{
    static const char *const fixed[] = {
        "group.id",
        "group.instance.id",
        "enable.auto.commit",
        "auto.commit.enable",
        "enable.auto.offset.store",
        "auto.offset.reset",
        "enable.partition.eof",
    };
    for (size_t index = 0; name != NULL && index < sizeof fixed / sizeof fixed[0]; index++) {
        if (strcasecmp(name, fixed[index]) == 0) {
            return true;
        }
    }
    return false;
}

bool audit_settings_reports(const audit_settings *settings)
{
    return settings->timeline || settings->summary || settings->verify;
}

static bool check_bound(const char *env_name, const char *text, int64_t now_ms, char *error_buffer,
                        size_t error_size)
{
    audit_bound bound;
    audit_range_error error = audit_bound_parse(text, now_ms, &bound);
    audit_bound_free(&bound);
    if (error == AUDIT_RANGE_OK) {
        return true;
    }
    const char *why = "";
    switch (error) {
    case AUDIT_RANGE_ERROR_BAD_TIMESTAMP:
        why = " (an RFC 3339 time needs a zone: Z or +01:00)";
        break;
    case AUDIT_RANGE_ERROR_DUPLICATE_PARTITION:
        why = " (a partition is named twice)";
        break;
    case AUDIT_RANGE_ERROR_BAD_RELATIVE:
        why = " (a relative time is - and a duration: -2h, -30m, -90s)";
        break;
    default:
        break;
    }
    char echo[96];
    snprintf(echo, sizeof echo, "%.80s%s", text, strlen(text) > 80 ? "..." : "");
    for (char *cursor = echo; *cursor != '\0'; cursor++) {
        if ((unsigned char)*cursor < 0x20) {
            *cursor = '?';
        }
    }
    snprintf(error_buffer, error_size, "%s: %s: expected %s, got '%s'%s",
             audit_program.program_name, env_name, AUDIT_BOUND_FORMS, echo, why);
    return false;
}

bool audit_settings_validate(audit_settings *settings,
                             const config_kafka_properties *kafka_properties, int64_t now_ms,
                             char *error_buffer, size_t error_size)
{
    const char *program = audit_program.program_name;
    if (!check_bound("AUDIT_FROM", settings->from, now_ms, error_buffer, error_size) ||
        !check_bound("AUDIT_TO", settings->to, now_ms, error_buffer, error_size)) {
        return false;
    }
    if (settings->format == AUDIT_FORMAT_AVRO && audit_settings_reports(settings)) {
        snprintf(error_buffer, error_size,
                 "%s: AUDIT_FORMAT: avro is for the record dump; --timeline, --summary and "
                 "--verify print table or jsonl",
                 program);
        return false;
    }
    for (size_t index = 0; kafka_properties != NULL && index < kafka_properties->count; index++) {
        const char *name = kafka_properties->items[index].name;
        if (audit_kafka_property_is_fixed(name)) {
            snprintf(error_buffer, error_size,
                     "%s: --kafka-prop %.60s: set by reconciler-audit itself, which never joins "
                     "or commits in a consumer group",
                     program, name);
            return false;
        }
    }
    return true;
}

/* audit_program's validate hook: audit_settings_validate with the wall clock as `now`. Reading
 * the clock here keeps audit_settings_validate pure (the tests pass a fixed now); the run
 * resolves the range again with its own now (audit_run.c), so this one only validates. */
static bool validate_parsed(void *settings, const config_kafka_properties *kafka_properties,
                            char *error_buffer, size_t error_size)
{
    return audit_settings_validate(settings, kafka_properties, time_now_wall_ms(), error_buffer,
                                   error_size);
}
