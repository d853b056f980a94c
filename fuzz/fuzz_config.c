/* fuzz_config.c — libFuzzer target for the configuration parser (common/config.c).
 *
 * For: proving that no command line and no environment crash config_parse_from, leak, break
 * its promises (a bad value is one line naming the variable; a secret is never echoed nor
 * printed unmasked; after any result but RUN nothing is left to free) or produce a value
 * outside its declared bounds. Not for: the documented formats (tests/unit/test_config.c).
 *
 * The settings table below is representative, not a program's: the shared rows every
 * program lists (COMMON_SETTINGS + METRICS_ADDR) and one row of every type, bounded and
 * unbounded, required and optional, secret and not, with a derived and an explicit flag.
 *
 * Input layout: byte 0 holds options (bit 0: accept a positional argument, as fleet-sim
 * does; bit 1: collect the --help/--check-config output and check it). The rest is split at
 * NUL bytes into tokens; a token starting with 0x01 is an environment entry (the rest of it,
 * "NAME=value"), any other an argv element. fuzz/config.dict lists the names and flags so the
 * fuzzer finds them quickly. */
#include "config.h"
#include "kafka_properties.h"
#include "log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_REQUIRE(condition)                                                                    \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            fprintf(stderr, "fuzz_config: property failed: %s (%s:%d)\n", #condition, __FILE__,    \
                    __LINE__);                                                                     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define FUZZ_MAX_TOKENS 64

typedef struct {
    common_settings common;
    char *base_url;             /* required string, no default */
    char *secret;               /* secret string, optional */
    char *ca_file;              /* optional string, no default */
    char *from;                 /* explicit flag --from */
    int64_t timeout_ms;         /* bounded duration */
    int64_t interval_ms;        /* unbounded duration */
    bool dry_run;               /* boolean */
    int64_t concurrency;        /* bounded integer */
    int64_t offset;             /* unbounded integer */
    int64_t pin;                /* secret integer: an invalid one must not be echoed */
    config_threshold unhealthy; /* threshold */
    int format;                 /* choice */
} fuzz_settings;

static const config_choice fuzz_formats[] = {{"table", 0}, {"jsonl", 1}, {"avro", 2}, {NULL, 0}};

static const config_setting fuzz_table[] = {
    COMMON_SETTINGS(fuzz_settings, common),
    COMMON_SETTING_METRICS_ADDR(fuzz_settings, common, CONFIG_METRICS_ADDR_CHECKER),
    {.env_name = "FUZZ_BASE_URL",
     .type = CONFIG_TYPE_STRING,
     .offset = offsetof(fuzz_settings, base_url),
     .required = true,
     .help = "required, no default"},
    {.env_name = "FUZZ_SECRET",
     .type = CONFIG_TYPE_STRING,
     .offset = offsetof(fuzz_settings, secret),
     .secret = true,
     .help = "secret string"},
    {.env_name = "FUZZ_CA_FILE",
     .type = CONFIG_TYPE_STRING,
     .offset = offsetof(fuzz_settings, ca_file),
     .help = "optional string"},
    {.env_name = "FUZZ_FROM",
     .type = CONFIG_TYPE_STRING,
     .offset = offsetof(fuzz_settings, from),
     .default_text = "earliest",
     .flag = "from",
     .help = "explicit flag"},
    {.env_name = "FUZZ_TIMEOUT",
     .type = CONFIG_TYPE_DURATION,
     .offset = offsetof(fuzz_settings, timeout_ms),
     .default_text = "10s",
     .minimum = 1,
     .maximum = 3600 * 1000,
     .help = "bounded duration"},
    {.env_name = "FUZZ_INTERVAL",
     .type = CONFIG_TYPE_DURATION,
     .offset = offsetof(fuzz_settings, interval_ms),
     .default_text = "60s",
     .help = "unbounded duration"},
    {.env_name = "FUZZ_DRY_RUN",
     .type = CONFIG_TYPE_BOOL,
     .offset = offsetof(fuzz_settings, dry_run),
     .default_text = "false",
     .help = "boolean"},
    {.env_name = "FUZZ_CONCURRENCY",
     .type = CONFIG_TYPE_INTEGER,
     .offset = offsetof(fuzz_settings, concurrency),
     .default_text = "64",
     .minimum = 1,
     .maximum = 4096,
     .help = "bounded integer"},
    {.env_name = "FUZZ_OFFSET",
     .type = CONFIG_TYPE_INTEGER,
     .offset = offsetof(fuzz_settings, offset),
     .default_text = "0",
     .help = "unbounded integer"},
    {.env_name = "FUZZ_PIN",
     .type = CONFIG_TYPE_INTEGER,
     .offset = offsetof(fuzz_settings, pin),
     .secret = true,
     .minimum = 1000,
     .maximum = 9999,
     .help = "secret integer"},
    {.env_name = "FUZZ_MAX_UNHEALTHY",
     .type = CONFIG_TYPE_THRESHOLD,
     .offset = offsetof(fuzz_settings, unhealthy),
     .default_text = "20%",
     .help = "threshold"},
    {.env_name = "FUZZ_FORMAT",
     .type = CONFIG_TYPE_CHOICE,
     .offset = offsetof(fuzz_settings, format),
     .choices = fuzz_formats,
     .default_text = "table",
     .help = "choice"},
};

static const config_program fuzz_program = {
    .program_name = "fuzz-config",
    .summary = "a representative settings table for fuzzing",
    .examples = "  fuzz-config --fuzz-base-url http://x\n",
    .settings = fuzz_table,
    .setting_count = sizeof fuzz_table / sizeof fuzz_table[0],
    .accepts_kafka_properties = true,
    /* Both roles, so the locked-property check sees every fuzzed Kafka property too. */
    .kafka_roles = CONFIG_KAFKA_ROLE_CONSUMER | CONFIG_KAFKA_ROLE_PRODUCER,
};

/* Collects the addresses of every string member of fuzz_settings (at most `capacity`), to
 * check they are all NULL after a result other than RUN. Returns how many there are. */
static size_t string_members(fuzz_settings *settings, char **members[], size_t capacity)
{
    size_t used = 0;
    for (size_t index = 0; index < fuzz_program.setting_count && used < capacity; index++) {
        if (fuzz_table[index].type == CONFIG_TYPE_STRING) {
            members[used++] = (char **)((char *)settings + fuzz_table[index].offset);
        }
    }
    return used;
}

/* In --check-config output, the line of a secret setting is "NAME=<masked>" or "NAME=" (unset
 * or empty); a secret-looking Kafka property's is "kafka:name=<masked>". */
static void check_output_masks_secrets(const char *output)
{
    static const char *const secret_names[] = {"DATABASE_URL=", "FUZZ_SECRET=", "FUZZ_PIN="};
    for (const char *line = output; *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t length = end != NULL ? (size_t)(end - line) : strlen(line);
        for (size_t index = 0; index < sizeof secret_names / sizeof secret_names[0]; index++) {
            size_t name_length = strlen(secret_names[index]);
            if (length >= name_length && memcmp(line, secret_names[index], name_length) == 0) {
                size_t value_length = length - name_length;
                FUZZ_REQUIRE(value_length == 0 ||
                             (value_length == strlen("<masked>") &&
                              memcmp(line + name_length, "<masked>", value_length) == 0));
            }
        }
        if (length > 6 && memcmp(line, "kafka:", 6) == 0) {
            const char *equals = memchr(line, '=', length);
            if (equals != NULL) {
                char name[256];
                size_t name_length = (size_t)(equals - line - 6);
                if (name_length < sizeof name) {
                    memcpy(name, line + 6, name_length);
                    name[name_length] = '\0';
                    size_t value_length = length - (size_t)(equals + 1 - line);
                    if (config_kafka_property_is_secret(name)) {
                        FUZZ_REQUIRE(value_length == strlen("<masked>") &&
                                     memcmp(equals + 1, "<masked>", value_length) == 0);
                    }
                }
            }
        }
        line = end != NULL ? end + 1 : line + length;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_init("fuzz_config", LOG_LEVEL_ERROR);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    bool want_positional = (data[0] & 1) != 0;
    bool want_output = (data[0] & 2) != 0;

    /* One NUL-terminated copy to cut into tokens in place. */
    char *text = malloc(size);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    bool has_newline = memchr(text, '\n', size - 1) != NULL;

    char *argv[FUZZ_MAX_TOKENS + 2];
    char *environment[FUZZ_MAX_TOKENS + 1];
    int argc = 0;
    size_t environment_count = 0;
    argv[argc++] = "fuzz-config";
    for (char *token = text; token < text + size - 1; token += strlen(token) + 1) {
        if (token[0] == '\x01') {
            if (environment_count < FUZZ_MAX_TOKENS) {
                environment[environment_count++] = token + 1;
            }
        } else if (argc <= FUZZ_MAX_TOKENS) {
            argv[argc++] = token;
        }
    }
    argv[argc] = NULL;
    environment[environment_count] = NULL;

    char *output = NULL;
    size_t output_length = 0;
    FILE *out = want_output ? open_memstream(&output, &output_length) : NULL;

    fuzz_settings settings;
    memset(&settings, 0, sizeof settings);
    config_kafka_properties kafka = {NULL, 0};
    char error[512];
    int positional = -1;
    config_result result =
        config_parse_with_output(&fuzz_program, &settings, &kafka, argc, argv, environment, out,
                                 error, sizeof error, want_positional ? &positional : NULL);

    FUZZ_REQUIRE(result == CONFIG_RESULT_RUN || result == CONFIG_RESULT_EXIT_OK ||
                 result == CONFIG_RESULT_EXIT_USAGE);
    FUZZ_REQUIRE(memchr(error, '\0', sizeof error) != NULL);
    if (want_positional) {
        FUZZ_REQUIRE(positional >= 1 && positional <= argc);
    }
    if (result == CONFIG_RESULT_EXIT_USAGE) {
        /* "a bad value is a one-line error naming the variable" */
        FUZZ_REQUIRE(error[0] != '\0');
        FUZZ_REQUIRE(strchr(error, '\n') == NULL && strchr(error, '\r') == NULL);
        /* A secret's invalid value is never quoted back ("<program>: <VARIABLE>: ..."). */
        static const char about_pin[] = "fuzz-config: FUZZ_PIN: ";
        FUZZ_REQUIRE(strncmp(error, about_pin, strlen(about_pin)) != 0 ||
                     strstr(error, "got '") == NULL);
    }
    if (result != CONFIG_RESULT_RUN) {
        char **members[FUZZ_MAX_TOKENS];
        size_t count = string_members(&settings, members, FUZZ_MAX_TOKENS);
        for (size_t index = 0; index < count; index++) {
            FUZZ_REQUIRE(*members[index] == NULL);
        }
        FUZZ_REQUIRE(kafka.items == NULL && kafka.count == 0);
    } else {
        FUZZ_REQUIRE(settings.base_url != NULL && settings.base_url[0] != '\0');
        FUZZ_REQUIRE(settings.common.kafka_bootstrap_servers != NULL &&
                     settings.common.database_url != NULL);
        FUZZ_REQUIRE(settings.timeout_ms >= 1 && settings.timeout_ms <= 3600 * 1000);
        FUZZ_REQUIRE(settings.concurrency >= 1 && settings.concurrency <= 4096);
        FUZZ_REQUIRE(settings.pin == 0 || (settings.pin >= 1000 && settings.pin <= 9999));
        FUZZ_REQUIRE(settings.unhealthy.value >= 0.0 &&
                     (!settings.unhealthy.is_percent || settings.unhealthy.value <= 100.0));
        FUZZ_REQUIRE(settings.format >= 0 && settings.format <= 2); /* only a listed choice */
        FUZZ_REQUIRE(settings.common.log_level >= LOG_LEVEL_DEBUG &&
                     settings.common.log_level <= LOG_LEVEL_ERROR);
        for (size_t index = 0; index < kafka.count; index++) {
            FUZZ_REQUIRE(kafka.items[index].name != NULL && kafka.items[index].name[0] != '\0');
            FUZZ_REQUIRE(kafka.items[index].value != NULL);
        }
        if (out != NULL) {
            config_print_effective(&fuzz_program, &settings, &kafka, out);
        }
        config_free(&fuzz_program, &settings, &kafka);
    }
    config_free(&fuzz_program, &settings, &kafka); /* "calling config_free again is harmless" */

    if (out != NULL) {
        fclose(out);
        if (!has_newline) {
            check_output_masks_secrets(output);
        }
        free(output);
    }
    free(text);
    return 0;
}
