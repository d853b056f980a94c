/* config.h — settings from environment variables and --long-flags, one table per program.
 *
 * Every setting has an environment variable (CHECKER_CONCURRENCY) and a flag derived from it
 * (--checker-concurrency); a flag wins over the environment, the environment over the
 * default. Each program describes its settings as a table of config_setting rows pointing
 * (by offset) into its own settings struct, then calls config_parse(), which also handles
 * --help, --version and --check-config for it.
 *
 * Value formats (docs/contracts.md §7): durations "500ms", "10s", "5m", "1h" or a bare integer of
 * seconds; booleans true/false/1/0; thresholds "50" (absolute) or "20%".
 *
 * librdkafka pass-through: --kafka-prop name=value (repeatable) and RECONCILER_KAFKA_<NAME>
 * environment variables (dots written as underscores, e.g. RECONCILER_KAFKA_SASL_MECHANISM
 * -> sasl.mechanism) are collected into a config_kafka_properties list, flags last so they
 * win. Properties whose name suggests a secret (password, secret, key, token, jaas) are
 * masked in --check-config output. What librdkafka accepts, what is locked and what is
 * masked is kafka_properties.h's business (implemented in kafka_config.c), so this parser
 * does not depend on librdkafka. */
#ifndef RECONCILER_CONFIG_H
#define RECONCILER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    CONFIG_TYPE_STRING,    /* char * (owned by the settings struct; freed by config_free) */
    CONFIG_TYPE_DURATION,  /* int64_t milliseconds */
    CONFIG_TYPE_BOOL,      /* bool */
    CONFIG_TYPE_INTEGER,   /* int64_t within [minimum, maximum] */
    CONFIG_TYPE_THRESHOLD, /* config_threshold */
    CONFIG_TYPE_LOG_LEVEL, /* log_level (from log.h), stored as int */
    CONFIG_TYPE_CHOICE,    /* int: the value of the row's `choices` entry named exactly */
} config_type;

/* One allowed value of a CONFIG_TYPE_CHOICE setting (a lookup table, as pgbouncer's config
 * has): the name an operator writes and the int the program reads. A row's table ends with
 * {NULL, 0}. Names match exactly (case-sensitive), and --help, --check-config and the error
 * line all list them from this one table, so the choices cannot drift from their parser. */
typedef struct {
    const char *name;
    int value;
} config_choice;

/* "50" is an absolute count, "20%" a share of some total the caller knows. */
typedef struct {
    bool is_percent;
    double value; /* count, or percent in [0, 100] */
} config_threshold;

/* The largest count a threshold holds: 2^53, the last integer a double represents exactly
 * (a table's maximum for a threshold may not exceed it). */
#define CONFIG_THRESHOLD_COUNT_MAX (INT64_C(1) << 53)

/* Resolves a threshold against a total: an absolute count as is; a percentage rounded
 * down (20% of 7 = 1). Pure. */
int64_t config_threshold_resolve(config_threshold threshold, int64_t total);

typedef struct {
    const char *env_name; /* e.g. "CHECKER_CONCURRENCY"; the flag is derived from it */
    config_type type;
    size_t offset;            /* offsetof(program_settings, field) */
    const char *default_text; /* parsed like user input; NULL = unset (strings only) */
    bool required;            /* an unset or empty value is an error */
    bool secret;              /* masked in --check-config and never logged */
    /* The allowed range, checked at parse time, named in the error line and in --help: for
     * CONFIG_TYPE_INTEGER the value, DURATION its milliseconds, THRESHOLD its count (a
     * percentage is always within [0, 100]). 0,0 = the widest range the type holds safely
     * (any int64; a non-negative duration; a count up to CONFIG_THRESHOLD_COUNT_MAX). A new
     * numeric setting states its range with these two fields, nothing else. */
    int64_t minimum, maximum;
    const char *help; /* one line, says why the default is what it is */
    /* The flag without its leading "--" when it is not the one derived from env_name, for
     * tools whose flags read better short (reconciler-audit: AUDIT_FROM is --from). NULL =
     * derived. */
    const char *flag;
    /* How --check-config shows an unset or empty string (CP_PROXY: "none", so that "no proxy"
     * is stated rather than implied). NULL = an empty value. */
    const char *unset_display;
    /* The value is a URL whose userinfo (user:password@) is masked in --check-config while the
     * rest stays visible: which proxy is used must show, its password must not. */
    bool mask_url_userinfo;
    /* CONFIG_TYPE_CHOICE only: the allowed names and their values, {NULL, 0}-terminated. The
     * field is an int (an enum of the program's is one: see CONFIG_CHOICE_FIELD_CHECK). */
    const config_choice *choices;
} config_setting;

/* Compile-time proof that an enum field can hold a CONFIG_TYPE_CHOICE value (the parser
 * stores an int there). */
#define CONFIG_CHOICE_FIELD_CHECK(settings_type, field)                                            \
    _Static_assert(sizeof(((settings_type *)0)->field) == sizeof(int),                             \
                   #settings_type "." #field " must be int-sized to hold a choice")

/* Where an operator's Kafka property came from, so an error can point at it. */
typedef enum {
    CONFIG_KAFKA_FROM_CODE = 0,    /* built by a program or a test, not by an operator */
    CONFIG_KAFKA_FROM_ENVIRONMENT, /* RECONCILER_KAFKA_<NAME> */
    CONFIG_KAFKA_FROM_FLAG,        /* --kafka-prop name=value */
} config_kafka_source;

typedef struct {
    char *name;
    char *value;
    config_kafka_source source; /* of the value kept (a flag replaces a variable's) */
} config_kafka_property;

/* The Kafka clients a program builds, each with properties no operator may change
 * (kafka_properties.h: kafka_config_check_locked). A bit set for config_program.kafka_roles. */
typedef enum {
    CONFIG_KAFKA_ROLE_PRODUCER = 1u << 0, /* at-least-once, idempotent producer */
    CONFIG_KAFKA_ROLE_CONSUMER = 1u << 1, /* group consumer storing offsets after output */
} config_kafka_role;

typedef struct {
    config_kafka_property *items;
    size_t count;
} config_kafka_properties;

typedef struct {
    const char *program_name; /* "reconciler-checker" */
    const char *summary;      /* one paragraph for --help */
    const char *examples;     /* text appended to --help, may be NULL */
    const config_setting *settings;
    size_t setting_count;
    bool accepts_kafka_properties;
    /* config_kafka_role bits: the operator's Kafka properties are checked against the locked
     * properties of these roles at parse time (so also by --check-config), and a property that
     * would change one is a usage error naming it and its source. 0 = none locked. */
    unsigned kafka_roles;
    /* The program's own checks, for what a table row cannot say (a URL's shape, one value
     * not above another, a Kafka property the program sets itself). NULL = none.
     *
     * Called by config_parse, config_parse_from and config_parse_with_output once every value
     * and Kafka property has been parsed, and before --check-config prints: so a run and
     * --check-config reject the same configurations. `settings` is the program's struct, which
     * the hook may complete with values derived from the parsed ones (it must not allocate
     * into it: config_free releases only the table's strings); `kafka_properties` is the
     * collected list, or NULL when the caller asked for none. On a problem it writes the
     * one-line error "<program>: <VARIABLE>: <problem>" into error_buffer and returns false;
     * the result is then CONFIG_RESULT_EXIT_USAGE with the settings freed, exactly as for a
     * bad value in the table. */
    bool (*validate)(void *settings, const config_kafka_properties *kafka_properties,
                     char *error_buffer, size_t error_size);
} config_program;

typedef enum {
    CONFIG_RESULT_RUN = 0,    /* settings are valid: run the program */
    CONFIG_RESULT_EXIT_OK,    /* --help, --version or a valid --check-config: exit 0 */
    CONFIG_RESULT_EXIT_USAGE, /* bad value or flag: a one-line error was printed: exit 2 */
} config_result;

/* Fills settings (a zeroed struct of the program's type) from defaults, the environment,
 * then argv. Prints --help/--version/--check-config output on stdout and errors as one line
 * on stderr ("reconciler-checker: CHECKER_CONCURRENCY: expected an integer in [1, 4096],
 * got 'abc'"). Positional arguments are rejected unless positional_out is non-NULL, in which
 * case the index of the first one is stored there (for sub-commands such as fleet-sim's). */
config_result config_parse(const config_program *program, void *settings,
                           config_kafka_properties *kafka_properties, int argc, char **argv,
                           int *positional_out);

/* Same parsing without printing or exiting, for tests and fuzzing: returns the result and
 * writes the error line (if any) into error_buffer. Reads variables from `environment`
 * (NULL-terminated "NAME=value" array) instead of the process environment. */
config_result config_parse_from(const config_program *program, void *settings,
                                config_kafka_properties *kafka_properties, int argc, char **argv,
                                char **environment, char *error_buffer, size_t error_size,
                                int *positional_out);

/* config_parse_from, with the --help, --version and --check-config output written to `out`
 * (NULL = discarded). config_parse is this with the process environment and stdout, plus the
 * error line on stderr.
 *
 * Common to all three entry points:
 * - argv is read in order; --help/-h and --version act when reached; parsing stops at the
 *   first positional argument (or after "--"). With positional_out, its index is stored there,
 *   or argc when there is none (getopt's optind convention); without it, one is an error.
 * - A boolean flag given bare (--dry-run) means true; it takes the next argument as its value
 *   only if that is true, false, 1 or 0.
 * - An empty environment variable is an empty value: kept for strings, an error otherwise.
 * - The program's validate hook, if any, runs after the values and before --check-config
 *   prints; its error is reported like any other.
 * - On any result other than CONFIG_RESULT_RUN the settings and kafka_properties have already
 *   been freed and zeroed (calling config_free again is harmless). */
config_result config_parse_with_output(const config_program *program, void *settings,
                                       config_kafka_properties *kafka_properties, int argc,
                                       char **argv, char **environment, FILE *out,
                                       char *error_buffer, size_t error_size, int *positional_out);

/* The --help manual: summary, every setting (variable, flag, default, help), the Kafka
 * pass-through, the other flags, value formats, exit codes, examples. */
void config_print_help(const config_program *program, FILE *out);

/* Writes the effective configuration, one "NAME=value" line per setting, secrets shown as
 * "<masked>" when set, followed by kafka properties ("kafka:name=value"). */
void config_print_effective(const config_program *program, const void *settings,
                            const config_kafka_properties *kafka_properties, FILE *out);

/* Copies url into buffer with the userinfo of its authority ("user:secret@") replaced by
 * "<masked>" ("http://<masked>@proxy:3128"); a URL without userinfo is copied as is. Pure. */
void config_mask_url_userinfo(const char *url, char *buffer, size_t size);

void config_free(const config_program *program, void *settings,
                 config_kafka_properties *kafka_properties);

/* ---- the instance id ----------------------------------------------------------------------
 *
 * Every long-running program names itself (logs, Kafka client.id, the records it writes) by
 * a setting that defaults to "<hostname>-<pid>", unique per process. One row macro and one
 * resolver for all of them:
 *
 *     CONFIG_SETTING_INSTANCE_ID(producer_settings, producer_id, "PRODUCER_ID", "producer",
 *                                "logs and in each CheckRequest's producer_id"),
 *
 * reads "Name of this producer in logs and in each CheckRequest's producer_id; unset =
 * <hostname>-<pid>, unique per process" in --help. process_main resolves it after parsing
 * (so --check-config shows what the operator set, not the derived value). */
#define CONFIG_SETTING_INSTANCE_ID(settings_type, field, env, who, where)                          \
    {                                                                                              \
        .env_name = (env), .type = CONFIG_TYPE_STRING, .offset = offsetof(settings_type, field),   \
        .default_text = NULL,                                                                      \
        .help = "Name of this " who " in " where "; unset = <hostname>-<pid>, unique per process"  \
    }

/* This host's name into buffer, "" when gethostname fails (always terminated). */
void config_hostname(char *buffer, size_t size);

/* Writes "<hostname>-<pid>" into buffer, "<fallback>-<pid>" when hostname is NULL or "".
 * Pure. */
void config_instance_id_format(const char *hostname, long pid, const char *fallback, char *buffer,
                               size_t size);

/* Fills *id with config_instance_id_format's text when it is NULL or "" (freeing the empty
 * one); keeps an id the operator set. false on allocation failure (*id unchanged). */
bool config_instance_id_resolve(char **id, const char *hostname, long pid, const char *fallback);

/* The variables every long-running program shares (docs/contracts.md §7). Programs embed this
 * struct and list COMMON_SETTINGS(their_struct, common_member) in their table. */
typedef struct {
    char *kafka_bootstrap_servers;
    char *database_url; /* secret: may carry a password */
    int64_t database_call_timeout_ms;
    char *topic_checks;
    char *topic_verdicts;
    char *topic_actions;
    char *topic_dlq;
    int log_level;
    char *metrics_address;
    char *schema_dir;            /* codec_options.schema_dir */
    char *schema_write_versions; /* codec_options.write_versions */
    char *schema_registry_url;   /* "" = single-object encoding, no registry */
    char *schema_registry_bearer_token;
    char *schema_registry_ca_file;
} common_settings;

/* One config_setting row per shared variable, each a macro so a program lists exactly the
 * ones it reads (the audit tool needs no METRICS_ADDR, the producer no verdicts topic):
 *
 *     typedef struct { common_settings common; int64_t interval_ms; } producer_settings;
 *     static const config_setting producer_table[] = {
 *         COMMON_SETTING_KAFKA_BOOTSTRAP_SERVERS(producer_settings, common),
 *         COMMON_SETTING_DATABASE_URL(producer_settings, common),
 *         COMMON_SETTING_TOPIC_CHECKS(producer_settings, common),
 *         COMMON_SETTING_LOG_LEVEL(producer_settings, common),
 *         COMMON_SETTING_METRICS_ADDR(producer_settings, common, CONFIG_METRICS_ADDR_PRODUCER),
 *         {.env_name = "PRODUCER_INTERVAL", ...},
 *     };
 *
 * COMMON_SETTINGS(type, member) is all of them except METRICS_ADDR, whose default differs per
 * program (so that the dev stack can run every program on one host): add
 * COMMON_SETTING_METRICS_ADDR next to it. */
#define CONFIG_METRICS_ADDR_PRODUCER "127.0.0.1:9101"
#define CONFIG_METRICS_ADDR_CHECKER "127.0.0.1:9102"
#define CONFIG_METRICS_ADDR_ACTUATOR "127.0.0.1:9103"
#define CONFIG_METRICS_ADDR_FLEET_SIM "127.0.0.1:9104"

#define CONFIG_COMMON_ROW_(settings_type, common_member, field, env, kind, default_value,          \
                           is_secret, help_text)                                                   \
    {                                                                                              \
        .env_name = (env), .type = (kind), .offset = offsetof(settings_type, common_member.field), \
        .default_text = (default_value), .required = true, .secret = (is_secret), .minimum = 0,    \
        .maximum = 0, .help = (help_text)                                                          \
    }

#define COMMON_SETTING_KAFKA_BOOTSTRAP_SERVERS(settings_type, common_member)                       \
    CONFIG_COMMON_ROW_(settings_type, common_member, kafka_bootstrap_servers,                      \
                       "KAFKA_BOOTSTRAP_SERVERS", CONFIG_TYPE_STRING, "127.0.0.1:9092", false,     \
                       "Kafka brokers, host:port[,host:port...]; the default is the local "        \
                       "dev stack")
#define COMMON_SETTING_DATABASE_URL(settings_type, common_member)                                  \
    CONFIG_COMMON_ROW_(settings_type, common_member, database_url, "DATABASE_URL",                 \
                       CONFIG_TYPE_STRING, "postgresql://reconciler@127.0.0.1:5432/reconciler",    \
                       true,                                                                       \
                       "PostgreSQL libpq URI or conninfo (may hold a password); the default "      \
                       "is the local dev stack")
/* Why 45 s: pg_bounded.h (PG_BOUNDED_DEFAULT_CALL_TIMEOUT_MS). */
#define COMMON_SETTING_DATABASE_CALL_TIMEOUT(settings_type, common_member)                         \
    {                                                                                              \
        .env_name = "DATABASE_CALL_TIMEOUT", .type = CONFIG_TYPE_DURATION,                         \
        .offset = offsetof(settings_type, common_member.database_call_timeout_ms),                 \
        .default_text = "45s", .required = true, .secret = false, .minimum = 1000,                 \
        .maximum = 3600000,                                                                        \
        .help = "bound on one PostgreSQL statement (and its result) when the server or the "       \
                "network goes silent: the session is abandoned and opened anew; a connect gets "   \
                "at most 10s of it. 45s: longer than the 30s statement_timeout, so a slow query "  \
                "gets the server's own error first; shorter than the 60s /healthz liveness "       \
                "window"                                                                           \
    }
#define COMMON_SETTING_TOPIC_CHECKS(settings_type, common_member)                                  \
    CONFIG_COMMON_ROW_(settings_type, common_member, topic_checks, "RECONCILER_TOPIC_CHECKS",      \
                       CONFIG_TYPE_STRING, "reconciler.checks", false,                             \
                       "Topic of CheckRequests (producer -> checkers)")
#define COMMON_SETTING_TOPIC_VERDICTS(settings_type, common_member)                                \
    CONFIG_COMMON_ROW_(settings_type, common_member, topic_verdicts, "RECONCILER_TOPIC_VERDICTS",  \
                       CONFIG_TYPE_STRING, "reconciler.verdicts", false,                           \
                       "Topic of Verdicts (checkers -> actuator, audit)")
#define COMMON_SETTING_TOPIC_ACTIONS(settings_type, common_member)                                 \
    CONFIG_COMMON_ROW_(settings_type, common_member, topic_actions, "RECONCILER_TOPIC_ACTIONS",    \
                       CONFIG_TYPE_STRING, "reconciler.actions", false,                            \
                       "Topic of Actions (actuator -> audit)")
#define COMMON_SETTING_TOPIC_DLQ(settings_type, common_member)                                     \
    CONFIG_COMMON_ROW_(settings_type, common_member, topic_dlq, "RECONCILER_TOPIC_DLQ",            \
                       CONFIG_TYPE_STRING, "reconciler.dlq", false,                                \
                       "Dead-letter topic for undecodable input, kept for operators")
/* The urgent lane (docs/contracts.md §5): hinted CheckRequests, which checkers serve ahead of
 * the sweep's topic. Not in common_settings: only the producer and the checker read it. */
#define SETTING_TOPIC_URGENT_CHECKS(settings_type, field)                                          \
    {                                                                                              \
        .env_name = "RECONCILER_TOPIC_URGENT_CHECKS", .type = CONFIG_TYPE_STRING,                  \
        .offset = offsetof(settings_type, field), .default_text = "reconciler.checks.urgent",      \
        .required = true,                                                                          \
        .help = "Topic of hinted CheckRequests (producer -> checkers), the urgent lane that "      \
                "checkers serve before RECONCILER_TOPIC_CHECKS"                                    \
    }
#define COMMON_SETTING_LOG_LEVEL(settings_type, common_member)                                     \
    CONFIG_COMMON_ROW_(settings_type, common_member, log_level, "LOG_LEVEL",                       \
                       CONFIG_TYPE_LOG_LEVEL, "info", false,                                       \
                       "minimum level of the JSON log lines on stderr: debug, info, warn or "      \
                       "error")
#define COMMON_SETTING_METRICS_ADDR(settings_type, common_member, default_address)                 \
    CONFIG_COMMON_ROW_(settings_type, common_member, metrics_address, "METRICS_ADDR",              \
                       CONFIG_TYPE_STRING, default_address, false,                                 \
                       "host:port of /metrics, /healthz, /readyz: IPv4, localhost or [IPv6]; "     \
                       "loopback unless chosen otherwise; port 0 picks a free port")

/* The schema versions a program reads and writes, and the optional schema registry
 * (docs/schemas.md): every program that encodes or decodes records lists them all. */
#define COMMON_SETTINGS_SCHEMA_VERSIONS(settings_type, common_member)                              \
    {.env_name = "SCHEMA_DIR",                                                                     \
     .type = CONFIG_TYPE_STRING,                                                                   \
     .offset = offsetof(settings_type, common_member.schema_dir),                                  \
     .unset_display = "none",                                                                      \
     .help = "more schema versions to read, <dir>/<Record>/v<N>.avsc; how a running release "      \
             "learns a version before any writer uses it (docs/schemas.md)"},                      \
        {.env_name = "SCHEMA_WRITE_VERSIONS",                                                      \
         .type = CONFIG_TYPE_STRING,                                                               \
         .offset = offsetof(settings_type, common_member.schema_write_versions),                   \
         .unset_display = "built-in N-1 (N when N is the first)",                                  \
         .help = "Record=version,... to write, e.g. Verdict=2; unset writes the newest version "   \
                 "the previous release reads (built-in N-1): set N once every reader knows N"},    \
        {.env_name = "SCHEMA_REGISTRY_URL",                                                        \
         .type = CONFIG_TYPE_STRING,                                                               \
         .offset = offsetof(settings_type, common_member.schema_registry_url),                     \
         .unset_display = "none (mode: single-object encoding)",                                   \
         .mask_url_userinfo = true,                                                                \
         .help = "Confluent-API schema registry (e.g. http://host:8081 or Apicurio's "             \
                 ".../apis/ccompat/v7; user:password@ for basic auth): writers register "          \
                 "<topic>-value and write 00 + schema id; unset = single-object encoding"},        \
        {.env_name = "SCHEMA_REGISTRY_BEARER_TOKEN",                                               \
         .type = CONFIG_TYPE_STRING,                                                               \
         .offset = offsetof(settings_type, common_member.schema_registry_bearer_token),            \
         .secret = true,                                                                           \
         .unset_display = "none",                                                                  \
         .help = "Authorization: Bearer token for the schema registry"},                           \
    {                                                                                              \
        .env_name = "SCHEMA_REGISTRY_CA_FILE", .type = CONFIG_TYPE_STRING,                         \
        .offset = offsetof(settings_type, common_member.schema_registry_ca_file),                  \
        .unset_display = "the system's CAs",                                                       \
        .help = "CA bundle that verifies the schema registry's TLS certificate"                    \
    }

#define COMMON_SETTINGS(settings_type, common_member)                                              \
    COMMON_SETTING_KAFKA_BOOTSTRAP_SERVERS(settings_type, common_member),                          \
        COMMON_SETTING_DATABASE_URL(settings_type, common_member),                                 \
        COMMON_SETTING_DATABASE_CALL_TIMEOUT(settings_type, common_member),                        \
        COMMON_SETTING_TOPIC_CHECKS(settings_type, common_member),                                 \
        COMMON_SETTING_TOPIC_VERDICTS(settings_type, common_member),                               \
        COMMON_SETTING_TOPIC_ACTIONS(settings_type, common_member),                                \
        COMMON_SETTING_TOPIC_DLQ(settings_type, common_member),                                    \
        COMMON_SETTING_LOG_LEVEL(settings_type, common_member)

#endif
