/* config.c — settings from defaults, environment variables and --long-flags.
 *
 * For: turning a program's config_setting table plus its environment and argv into a filled
 * settings struct, and the --help / --version / --check-config behaviour every program shares
 * (docs/contracts.md §7). Not for: deciding what a program does with a value, or talking to Kafka
 * (kafka_config.c turns the collected properties into an rd_kafka_conf_t).
 *
 * Each setting's text is resolved first (flag, else variable, else default) and parsed once,
 * so an invalid variable that a flag overrides is never looked at, and every error names the
 * variable in one line: "<program>: <ENV_NAME>: <what was wrong>". */
#include "config.h"

#include "kafka_properties.h"
#include "log.h"
#include "timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifndef RECONCILER_VERSION
#define RECONCILER_VERSION "unknown"
#endif

#define KAFKA_ENV_PREFIX "RECONCILER_KAFKA_"
#define KAFKA_FLAG "kafka-prop"
/* Longest flag we derive; env names beyond this are a table bug caught by the tests. */
#define FLAG_NAME_MAX 128
/* How much of a bad value an error line echoes. */
#define ECHO_MAX 80

extern char **environ;

typedef struct {
    const config_program *program;
    char *error_buffer;
    size_t error_size;
} parse_context;

static void report(parse_context *context, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Replaces control characters with '?', in place. */
static void make_one_line(char *text)
{
    for (char *cursor = text; *cursor != '\0'; cursor++) {
        if ((unsigned char)*cursor < 0x20 || (unsigned char)*cursor == 0x7f) {
            *cursor = '?';
        }
    }
}

/* Writes "<program>: <formatted>" into the context's error buffer, control characters as '?':
 * the error is one line whatever text it quotes (a --kafka-prop name, librdkafka's reason
 * echoing a value), so it can neither split nor forge a line of the log stream. */
static void report(parse_context *context, const char *format, ...)
{
    if (context->error_buffer == NULL || context->error_size == 0) {
        return;
    }
    int prefix = snprintf(context->error_buffer, context->error_size,
                          "%s: ", context->program->program_name);
    if (prefix < 0 || (size_t)prefix >= context->error_size) {
        return;
    }
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(context->error_buffer + prefix, context->error_size - (size_t)prefix, format,
              arguments);
    va_end(arguments);
    make_one_line(context->error_buffer);
}

/* A bad value quoted for an error line: at most ECHO_MAX bytes, control characters as '?', so
 * the error stays one line whatever the operator typed. */
static void quote_for_echo(const char *value, char *buffer, size_t size)
{
    size_t length = 0;
    for (const char *cursor = value; *cursor != '\0' && length + 4 < size; cursor++) {
        if (cursor - value >= ECHO_MAX) {
            memcpy(buffer + length, "...", 3);
            length += 3;
            break;
        }
        unsigned char byte = (unsigned char)*cursor;
        buffer[length++] = (byte < 0x20 || byte == 0x7f) ? '?' : (char)byte;
    }
    buffer[length] = '\0';
}

/* "CHECKER_CONCURRENCY" -> "--checker-concurrency". */
static void flag_for_env(const char *env_name, char *buffer, size_t size)
{
    snprintf(buffer, size, "--");
    size_t length = 2;
    for (const char *cursor = env_name; *cursor != '\0' && length + 1 < size; cursor++) {
        buffer[length++] = *cursor == '_' ? '-' : (char)tolower((unsigned char)*cursor);
    }
    buffer[length] = '\0';
}

/* The setting's flag: its explicit one ("from" -> "--from") or the one derived from its
 * variable. */
static void flag_of(const config_setting *setting, char *buffer, size_t size)
{
    if (setting->flag != NULL) {
        snprintf(buffer, size, "--%s", setting->flag);
    } else {
        flag_for_env(setting->env_name, buffer, size);
    }
}

int64_t config_threshold_resolve(config_threshold threshold, int64_t total)
{
    /* The parser keeps values within range, but a struct filled by code could hold anything:
     * a double -> int64 conversion of NaN or of a value beyond int64 is undefined behaviour,
     * so such values saturate instead. */
    if (!(threshold.value > 0.0)) {
        return 0; /* zero, negative or NaN */
    }
    if (!threshold.is_percent) {
        return threshold.value >= 0x1p63 ? INT64_MAX : (int64_t)threshold.value;
    }
    if (total <= 0) {
        return 0;
    }
    /* Multiply first: value * total is exact for the counts we see, so 10% of 30 is 3, not
     * 2.9999... rounded down to 2. */
    double share = floor(threshold.value * (double)total / 100.0);
    return share >= 0x1p63 ? INT64_MAX : (int64_t)share;
}

/* ---- value parsers: each returns false on bad text and leaves *out untouched ---- */

static bool parse_bool(const char *text, bool *out)
{
    if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0) {
        *out = true;
        return true;
    }
    if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0) {
        *out = false;
        return true;
    }
    return false;
}

/* A decimal integer with an optional '-', nothing else (no '+', spaces, hex or suffix). */
static bool parse_integer(const char *text, int64_t *out)
{
    const char *digits = text[0] == '-' ? text + 1 : text;
    if (*digits < '0' || *digits > '9') {
        return false;
    }
    errno = 0;
    char *end = NULL;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0') {
        return false;
    }
    *out = (int64_t)value;
    return true;
}

/* "50" (a non-negative integer count) or "20%" / "12.5%" (a percentage in [0, 100]). */
static bool parse_threshold(const char *text, config_threshold *out)
{
    size_t length = strlen(text);
    if (length == 0 || *text < '0' || *text > '9') {
        return false; /* also rejects signs, spaces and ".5" */
    }
    if (text[length - 1] == '%') {
        char *end = NULL;
        errno = 0;
        double percent = strtod(text, &end);
        if (errno != 0 || end != text + length - 1 || !isfinite(percent) || percent < 0.0 ||
            percent > 100.0) {
            return false;
        }
        /* strtod also reads hex floats and exponents; a percentage is plain digits and '.' */
        for (const char *cursor = text; cursor < end; cursor++) {
            if (!(isdigit((unsigned char)*cursor) || *cursor == '.')) {
                return false;
            }
        }
        out->is_percent = true;
        out->value = percent;
        return true;
    }
    int64_t count;
    /* Checked while still an int64: beyond 2^53 a double no longer holds every count, and
     * near 2^63 its conversion back to int64 is undefined behaviour. */
    if (!parse_integer(text, &count) || count < 0 || count > CONFIG_THRESHOLD_COUNT_MAX) {
        return false;
    }
    out->is_percent = false;
    out->value = (double)count;
    return true;
}

static bool has_bounds(const config_setting *setting)
{
    return setting->minimum != 0 || setting->maximum != 0;
}

/* The range a numeric value must fall in: the table's [minimum, maximum], or when a row
 * gives none (0, 0) the widest range its type holds without undefined behaviour anywhere
 * downstream: any int64 for an integer, any non-negative int64 of ms for a duration, and
 * counts up to 2^53 for a threshold (a double holds them exactly, and the conversion back
 * to int64 cannot overflow). Every numeric error line names this range. */
static void numeric_bounds(const config_setting *setting, int64_t *minimum, int64_t *maximum)
{
    if (has_bounds(setting)) {
        *minimum = setting->minimum;
        *maximum = setting->maximum;
        return;
    }
    switch (setting->type) {
    case CONFIG_TYPE_INTEGER:
        *minimum = INT64_MIN;
        *maximum = INT64_MAX;
        return;
    case CONFIG_TYPE_DURATION:
        *minimum = 0;
        *maximum = INT64_MAX;
        return;
    case CONFIG_TYPE_THRESHOLD:
        *minimum = 0;
        *maximum = CONFIG_THRESHOLD_COUNT_MAX;
        return;
    case CONFIG_TYPE_STRING:
    case CONFIG_TYPE_BOOL:
    case CONFIG_TYPE_LOG_LEVEL:
    case CONFIG_TYPE_CHOICE:
        break;
    }
    *minimum = 0;
    *maximum = 0;
}

static bool within(int64_t value, const config_setting *setting)
{
    int64_t minimum, maximum;
    numeric_bounds(setting, &minimum, &maximum);
    return value >= minimum && value <= maximum;
}

/* A row whose bounds cannot hold any value is a bug in the program's table, reported as one
 * (rather than as "expected an integer in [10, 5]" to an operator who did nothing wrong). */
static bool bounds_are_sane(const config_setting *setting)
{
    switch (setting->type) {
    case CONFIG_TYPE_INTEGER:
        return setting->minimum <= setting->maximum;
    case CONFIG_TYPE_DURATION:
    case CONFIG_TYPE_THRESHOLD:
        return !has_bounds(setting) ||
               (setting->minimum >= 0 && setting->minimum <= setting->maximum &&
                (setting->type == CONFIG_TYPE_DURATION ||
                 setting->maximum <= CONFIG_THRESHOLD_COUNT_MAX));
    case CONFIG_TYPE_STRING:
    case CONFIG_TYPE_BOOL:
    case CONFIG_TYPE_LOG_LEVEL:
        break;
    case CONFIG_TYPE_CHOICE:
        return setting->choices != NULL && setting->choices[0].name != NULL;
    }
    return true;
}

static void *field_of(void *settings, const config_setting *setting)
{
    return (char *)settings + setting->offset;
}

static const void *const_field_of(const void *settings, const config_setting *setting)
{
    return (const char *)settings + setting->offset;
}

/* A choice row's names joined for people: "table, jsonl or avro" (last_separator " or ") or
 * "table|jsonl|avro" (both separators "|"). Truncated, never overflowing, on a huge table. */
static void list_choices(const config_setting *setting, const char *separator,
                         const char *last_separator, char *buffer, size_t size)
{
    size_t used = 0;
    if (size == 0) {
        return;
    }
    buffer[0] = '\0';
    for (size_t i = 0; setting->choices[i].name != NULL && used < size; i++) {
        const char *joint = i == 0                                 ? ""
                            : setting->choices[i + 1].name == NULL ? last_separator
                                                                   : separator;
        int written = snprintf(buffer + used, size - used, "%s%s", joint, setting->choices[i].name);
        if (written < 0) {
            return;
        }
        used += (size_t)written;
    }
}

/* The choice named exactly `text`, or NULL. */
static const config_choice *find_choice(const config_setting *setting, const char *text)
{
    for (const config_choice *choice = setting->choices; choice->name != NULL; choice++) {
        if (strcmp(choice->name, text) == 0) {
            return choice;
        }
    }
    return NULL;
}

/* What a setting expects, for errors: "an integer in [1, 4096]". Numeric settings always
 * name their range, choices every allowed name. */
static void describe_expectation(const config_setting *setting, char *buffer, size_t size)
{
    char low[32], high[32];
    int64_t minimum, maximum;
    numeric_bounds(setting, &minimum, &maximum);
    switch (setting->type) {
    case CONFIG_TYPE_STRING:
        snprintf(buffer, size, "a non-empty value");
        break;
    case CONFIG_TYPE_DURATION:
        time_format_duration(minimum, low, sizeof low);
        time_format_duration(maximum, high, sizeof high);
        snprintf(buffer, size, "a duration in [%s, %s] such as 500ms, 10s, 5m or 1h", low, high);
        break;
    case CONFIG_TYPE_BOOL:
        snprintf(buffer, size, "true, false, 1 or 0");
        break;
    case CONFIG_TYPE_INTEGER:
        snprintf(buffer, size, "an integer in [%" PRId64 ", %" PRId64 "]", minimum, maximum);
        break;
    case CONFIG_TYPE_THRESHOLD:
        snprintf(buffer, size,
                 "a count in [%" PRId64 ", %" PRId64
                 "] such as 50 or a percentage in [0%%, 100%%] such as 20%%",
                 minimum, maximum);
        break;
    case CONFIG_TYPE_LOG_LEVEL:
        snprintf(buffer, size, "debug, info, warn or error");
        break;
    case CONFIG_TYPE_CHOICE:
        list_choices(setting, ", ", " or ", buffer, size);
        break;
    }
}

/* Parses `text` into the setting's field. On failure reports the error (naming the variable,
 * echoing the value unless the setting is secret) and returns false. */
static bool apply_value(parse_context *context, const config_setting *setting, void *settings,
                        const char *text, bool from_default)
{
    void *field = field_of(settings, setting);
    bool valid = true;
    if (!bounds_are_sane(setting)) {
        if (setting->type == CONFIG_TYPE_CHOICE) {
            report(context, "%s: a choice setting without choices (a bug in the table)",
                   setting->env_name);
        } else {
            report(context,
                   "%s: the table's range [%" PRId64 ", %" PRId64 "] holds no valid value "
                   "(a bug in the table)",
                   setting->env_name, setting->minimum, setting->maximum);
        }
        return false;
    }
    switch (setting->type) {
    case CONFIG_TYPE_STRING: {
        char **slot = field;
        free(*slot);
        *slot = strdup(text);
        if (*slot == NULL) {
            report(context, "%s: out of memory", setting->env_name);
            return false;
        }
        return true;
    }
    case CONFIG_TYPE_DURATION: {
        int64_t ms;
        valid = time_parse_duration_ms(text, &ms) && within(ms, setting);
        if (valid) {
            *(int64_t *)field = ms;
        }
        break;
    }
    case CONFIG_TYPE_BOOL:
        valid = parse_bool(text, field);
        break;
    case CONFIG_TYPE_INTEGER: {
        int64_t value;
        valid = parse_integer(text, &value) && within(value, setting);
        if (valid) {
            *(int64_t *)field = value;
        }
        break;
    }
    case CONFIG_TYPE_THRESHOLD: {
        config_threshold threshold;
        /* A count is an int64 first, range-checked before it becomes a double, so no count
         * can lose precision or overflow on its way back to an integer. */
        valid = parse_threshold(text, &threshold) &&
                (threshold.is_percent || within((int64_t)threshold.value, setting));
        if (valid) {
            *(config_threshold *)field = threshold;
        }
        break;
    }
    case CONFIG_TYPE_LOG_LEVEL: {
        log_level level;
        valid = log_level_parse(text, &level);
        if (valid) {
            *(int *)field = (int)level;
        }
        break;
    }
    case CONFIG_TYPE_CHOICE: {
        const config_choice *choice = find_choice(setting, text);
        valid = choice != NULL;
        if (valid) {
            *(int *)field = choice->value;
        }
        break;
    }
    }
    if (valid) {
        return true;
    }
    char expectation[256];
    describe_expectation(setting, expectation, sizeof expectation);
    if (from_default) {
        report(context, "%s: the built-in default does not parse as %s (a bug in the table)",
               setting->env_name, expectation);
    } else if (setting->secret) {
        /* Never echo a secret, not even a mistyped one: it is probably almost right. */
        report(context, "%s: invalid value, expected %s", setting->env_name, expectation);
    } else {
        char echo[ECHO_MAX + 8];
        quote_for_echo(text, echo, sizeof echo);
        report(context, "%s: expected %s, got '%s'", setting->env_name, expectation, echo);
    }
    return false;
}

/* Looks NAME up in a "NAME=value" array; the first occurrence wins, as with getenv(). */
static const char *environment_lookup(char **environment, const char *name)
{
    size_t name_length = strlen(name);
    for (char **entry = environment; entry != NULL && *entry != NULL; entry++) {
        if (strncmp(*entry, name, name_length) == 0 && (*entry)[name_length] == '=') {
            return *entry + name_length + 1;
        }
    }
    return NULL;
}

/* ---- kafka properties ---- */

/* Adds or replaces name=value; a later value for the same name replaces the earlier one in
 * place, so the list shows what librdkafka will actually get. false on allocation failure. */
static bool kafka_property_put(config_kafka_properties *list, const char *name, size_t name_length,
                               const char *value, config_kafka_source source)
{
    for (size_t i = 0; i < list->count; i++) {
        if (strlen(list->items[i].name) == name_length &&
            strncmp(list->items[i].name, name, name_length) == 0) {
            char *copy = strdup(value);
            if (copy == NULL) {
                return false;
            }
            free(list->items[i].value);
            list->items[i].value = copy;
            list->items[i].source = source;
            return true;
        }
    }
    config_kafka_property *grown = realloc(list->items, (list->count + 1) * sizeof *grown);
    if (grown == NULL) {
        return false;
    }
    list->items = grown;
    config_kafka_property *item = &list->items[list->count];
    item->name = strndup(name, name_length);
    item->value = strdup(value);
    item->source = source;
    if (item->name == NULL || item->value == NULL) {
        free(item->name);
        free(item->value);
        return false;
    }
    list->count++;
    return true;
}

static int compare_strings(const void *left, const void *right)
{
    return strcmp(*(const char *const *)left, *(const char *const *)right);
}

/* RECONCILER_KAFKA_SASL_MECHANISM=PLAIN -> sasl.mechanism=PLAIN. Variables are taken in
 * name order so --check-config output does not depend on the environment's order. */
static bool collect_kafka_environment(parse_context *context, char **environment,
                                      config_kafka_properties *list)
{
    size_t prefix_length = strlen(KAFKA_ENV_PREFIX);
    size_t matches = 0;
    for (char **entry = environment; entry != NULL && *entry != NULL; entry++) {
        if (strncmp(*entry, KAFKA_ENV_PREFIX, prefix_length) == 0) {
            matches++;
        }
    }
    if (matches == 0) {
        return true;
    }
    const char **sorted = calloc(matches, sizeof *sorted);
    if (sorted == NULL) {
        report(context, "kafka properties: out of memory");
        return false;
    }
    size_t count = 0;
    for (char **entry = environment; entry != NULL && *entry != NULL; entry++) {
        if (strncmp(*entry, KAFKA_ENV_PREFIX, prefix_length) == 0) {
            sorted[count++] = *entry;
        }
    }
    qsort(sorted, count, sizeof *sorted, compare_strings);

    bool ok = true;
    for (size_t i = 0; i < count && ok; i++) {
        const char *entry = sorted[i];
        const char *equals = strchr(entry, '=');
        if (equals == NULL) {
            continue; /* not a variable */
        }
        const char *raw_name = entry + prefix_length;
        size_t name_length = (size_t)(equals - raw_name);
        if (name_length == 0) {
            report(context, "%s: no property name after the prefix", KAFKA_ENV_PREFIX);
            ok = false;
            break;
        }
        char *name = strndup(raw_name, name_length);
        if (name == NULL) {
            report(context, "kafka properties: out of memory");
            ok = false;
            break;
        }
        for (char *cursor = name; *cursor != '\0'; cursor++) {
            *cursor = *cursor == '_' ? '.' : (char)tolower((unsigned char)*cursor);
        }
        if (!kafka_property_put(list, name, name_length, equals + 1,
                                CONFIG_KAFKA_FROM_ENVIRONMENT)) {
            report(context, "kafka properties: out of memory");
            ok = false;
        }
        free(name);
    }
    free(sorted);
    return ok;
}

/* --kafka-prop name=value. The value may itself contain '='; the name may not be empty. */
static bool add_kafka_flag(parse_context *context, const char *argument,
                           config_kafka_properties *list)
{
    const char *equals = strchr(argument, '=');
    if (equals == NULL || equals == argument) {
        if (config_kafka_property_is_secret(argument)) {
            report(context, "--%s: expected name=value", KAFKA_FLAG);
        } else {
            char echo[ECHO_MAX + 8];
            quote_for_echo(argument, echo, sizeof echo);
            report(context, "--%s: expected name=value, got '%s'", KAFKA_FLAG, echo);
        }
        return false;
    }
    if (!kafka_property_put(list, argument, (size_t)(equals - argument), equals + 1,
                            CONFIG_KAFKA_FROM_FLAG)) {
        report(context, "--%s: out of memory", KAFKA_FLAG);
        return false;
    }
    return true;
}

/* ---- output ---- */

static void format_value(const config_setting *setting, const void *settings, char *buffer,
                         size_t size)
{
    const void *field = const_field_of(settings, setting);
    switch (setting->type) {
    case CONFIG_TYPE_STRING: {
        const char *text = *(char *const *)field;
        snprintf(buffer, size, "%s", text != NULL ? text : "");
        return;
    }
    case CONFIG_TYPE_DURATION:
        time_format_duration(*(const int64_t *)field, buffer, size);
        return;
    case CONFIG_TYPE_BOOL:
        snprintf(buffer, size, "%s", *(const bool *)field ? "true" : "false");
        return;
    case CONFIG_TYPE_INTEGER:
        snprintf(buffer, size, "%" PRId64, *(const int64_t *)field);
        return;
    case CONFIG_TYPE_THRESHOLD: {
        const config_threshold *threshold = field;
        if (threshold->is_percent) {
            snprintf(buffer, size, "%g%%", threshold->value);
        } else {
            snprintf(buffer, size, "%" PRId64, (int64_t)threshold->value);
        }
        return;
    }
    case CONFIG_TYPE_LOG_LEVEL:
        snprintf(buffer, size, "%s", log_level_name((log_level) * (const int *)field));
        return;
    case CONFIG_TYPE_CHOICE:
        for (const config_choice *choice = setting->choices; choice != NULL && choice->name != NULL;
             choice++) {
            if (choice->value == *(const int *)field) {
                snprintf(buffer, size, "%s", choice->name);
                return;
            }
        }
        break; /* only a struct filled by code can hold a value without a name */
    }
    buffer[0] = '\0';
}

void config_mask_url_userinfo(const char *url, char *buffer, size_t size)
{
    /* The authority starts after "scheme://" (or at the start without one) and ends at the
     * first '/', '?' or '#'; its last '@' ends the userinfo. */
    const char *scheme_end = strstr(url, "://");
    const char *authority = scheme_end != NULL ? scheme_end + 3 : url;
    size_t authority_length = strcspn(authority, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < authority_length; i++) {
        if (authority[i] == '@') {
            at = authority + i;
        }
    }
    if (at == NULL) {
        snprintf(buffer, size, "%s", url);
        return;
    }
    snprintf(buffer, size, "%.*s<masked>%s", (int)(authority - url), url, at);
}

void config_print_effective(const config_program *program, const void *settings,
                            const config_kafka_properties *kafka_properties, FILE *out)
{
    for (size_t i = 0; i < program->setting_count; i++) {
        const config_setting *setting = &program->settings[i];
        char value[1024];
        format_value(setting, settings, value, sizeof value);
        /* Secrets: the whole value is masked (a URI's user and host included) — simpler than
         * recognising every conninfo and URI spelling of a password, and never wrong. */
        bool masked = setting->secret && value[0] != '\0';
        if (value[0] == '\0' && setting->unset_display != NULL) {
            fprintf(out, "%s=%s\n", setting->env_name, setting->unset_display);
        } else if (!masked && setting->mask_url_userinfo) {
            char shown[1024 + 16];
            config_mask_url_userinfo(value, shown, sizeof shown);
            fprintf(out, "%s=%s\n", setting->env_name, shown);
        } else {
            fprintf(out, "%s=%s\n", setting->env_name, masked ? "<masked>" : value);
        }
    }
    if (kafka_properties == NULL) {
        return;
    }
    for (size_t i = 0; i < kafka_properties->count; i++) {
        const config_kafka_property *property = &kafka_properties->items[i];
        bool masked = config_kafka_property_is_secret(property->name);
        fprintf(out, "kafka:%s=%s\n", property->name, masked ? "<masked>" : property->value);
    }
}

static const char *type_hint(const config_setting *setting, char *buffer, size_t size)
{
    char low[32], high[32];
    switch (setting->type) {
    case CONFIG_TYPE_STRING:
        return "<text>";
    case CONFIG_TYPE_DURATION:
        if (!has_bounds(setting)) {
            return "<duration>";
        }
        time_format_duration(setting->minimum, low, sizeof low);
        time_format_duration(setting->maximum, high, sizeof high);
        snprintf(buffer, size, "<duration %s..%s>", low, high);
        return buffer;
    case CONFIG_TYPE_BOOL:
        return "<true|false>";
    case CONFIG_TYPE_INTEGER:
        if (!has_bounds(setting)) {
            return "<integer>";
        }
        snprintf(buffer, size, "<integer %" PRId64 "..%" PRId64 ">", setting->minimum,
                 setting->maximum);
        return buffer;
    case CONFIG_TYPE_THRESHOLD:
        if (!has_bounds(setting)) {
            return "<count|percent%>";
        }
        snprintf(buffer, size, "<count %" PRId64 "..%" PRId64 "|percent%%>", setting->minimum,
                 setting->maximum);
        return buffer;
    case CONFIG_TYPE_LOG_LEVEL:
        return "<debug|info|warn|error>";
    case CONFIG_TYPE_CHOICE:
        if (setting->choices == NULL) {
            return "<value>";
        }
        snprintf(buffer, size, "<");
        list_choices(setting, "|", "|", buffer + 1, size > 2 ? size - 2 : 0);
        strncat(buffer, ">", size - strlen(buffer) - 1);
        return buffer;
    }
    return "<value>";
}

/* The locked Kafka properties of the program's roles, for --help: an operator learns what
 * is refused before trying it. */
static void print_locked_properties(const config_program *program, FILE *out)
{
    if (program->kafka_roles == 0) {
        return;
    }
    fprintf(out, "  Locked (a different value is refused at start, exit 2), because the\n"
                 "  at-least-once delivery rests on them:\n");
    size_t count = 0;
    const kafka_locked_property *locked = kafka_config_locked_properties(&count);
    for (size_t i = 0; i < count; i++) {
        if ((locked[i].roles & program->kafka_roles) != 0) {
            fprintf(out, "    %s %s %s\n", locked[i].name,
                    locked[i].kind == KAFKA_LOCK_AT_MOST ? "<=" : "=", locked[i].value);
        }
    }
}

void config_print_help(const config_program *program, FILE *out)
{
    fprintf(out, "%s %s\n\n", program->program_name, RECONCILER_VERSION);
    if (program->summary != NULL) {
        fprintf(out, "%s\n\n", program->summary);
    }
    fprintf(out, "Usage: %s [--flag value | --flag=value]...\n\n", program->program_name);
    fprintf(out, "Settings: each is an environment variable and a flag; a flag wins over the\n"
                 "variable, the variable over the default.\n\n");
    for (size_t i = 0; i < program->setting_count; i++) {
        const config_setting *setting = &program->settings[i];
        char flag[FLAG_NAME_MAX], hint[256];
        flag_of(setting, flag, sizeof flag);
        fprintf(out, "  %s, %s %s\n", setting->env_name, flag,
                type_hint(setting, hint, sizeof hint));
        fprintf(out, "      default: %s%s%s%s\n",
                setting->default_text != NULL ? setting->default_text : "(unset)",
                setting->required ? "; required" : "", setting->secret ? "; secret" : "",
                setting->type == CONFIG_TYPE_BOOL ? "; a bare flag means true" : "");
        if (setting->help != NULL) {
            fprintf(out, "      %s\n", setting->help);
        }
    }
    if (program->accepts_kafka_properties) {
        fprintf(out,
                "\nKafka client properties (any librdkafka property, see its CONFIGURATION.md),\n"
                "applied after the program's own choices, so they override them (except the\n"
                "locked ones below):\n"
                "  --%s name=value\n"
                "      repeatable, e.g. --%s security.protocol=SASL_SSL\n"
                "  %s<NAME>=value\n"
                "      the same from the environment: NAME is the property upper-cased with dots\n"
                "      as underscores, e.g. %sSASL_MECHANISM=PLAIN sets sasl.mechanism;\n"
                "      a --%s flag wins over the variable.\n"
                "  Values of properties whose name contains password, secret, token, key or\n"
                "  jaas are masked in --check-config output.\n",
                KAFKA_FLAG, KAFKA_FLAG, KAFKA_ENV_PREFIX, KAFKA_ENV_PREFIX, KAFKA_FLAG);
        print_locked_properties(program, out);
    }
    fprintf(out,
            "\nOther flags:\n"
            "  --check-config  validate, print the effective configuration (secrets\n"
            "                  masked) and exit 0, or print the error and exit 2\n"
            "  --help, -h      this manual\n"
            "  --version       print \"%s %s\"\n",
            program->program_name, RECONCILER_VERSION);
    fprintf(out, "\nValue formats: durations 500ms, 10s, 5m, 1h (a bare integer is seconds);\n"
                 "booleans true, false, 1, 0; thresholds 50 (a count) or 20%% (a share).\n"
                 "Exit codes: 0 success, 2 invalid configuration or usage.\n");
    if (program->examples != NULL) {
        fprintf(out, "\nExamples:\n%s", program->examples);
        size_t length = strlen(program->examples);
        if (length > 0 && program->examples[length - 1] != '\n') {
            fputc('\n', out);
        }
    }
}

/* ---- parsing ---- */

void config_free(const config_program *program, void *settings,
                 config_kafka_properties *kafka_properties)
{
    if (program != NULL && settings != NULL) {
        for (size_t i = 0; i < program->setting_count; i++) {
            const config_setting *setting = &program->settings[i];
            if (setting->type == CONFIG_TYPE_STRING) {
                char **slot = field_of(settings, setting);
                free(*slot);
                *slot = NULL;
            }
        }
    }
    if (kafka_properties != NULL) {
        for (size_t i = 0; i < kafka_properties->count; i++) {
            free(kafka_properties->items[i].name);
            free(kafka_properties->items[i].value);
        }
        free(kafka_properties->items);
        kafka_properties->items = NULL;
        kafka_properties->count = 0;
    }
}

static const config_setting *find_setting_by_flag(const config_program *program, const char *flag,
                                                  size_t flag_length)
{
    for (size_t i = 0; i < program->setting_count; i++) {
        char candidate[FLAG_NAME_MAX];
        flag_of(&program->settings[i], candidate, sizeof candidate);
        if (strlen(candidate) == flag_length && strncmp(candidate, flag, flag_length) == 0) {
            return &program->settings[i];
        }
    }
    return NULL;
}

static bool is_bool_literal(const char *text)
{
    bool ignored;
    return text != NULL && parse_bool(text, &ignored);
}

/* Reads argv. Fills flag_values (indexed like the table; pointers into argv) and the kafka
 * flags. Returns RUN to go on, EXIT_OK after --help/--version, EXIT_USAGE after an error. */
static config_result read_arguments(parse_context *context, int argc, char **argv,
                                    const char **flag_values, config_kafka_properties *kafka_flags,
                                    bool *check_config, FILE *out, int *positional_out)
{
    const config_program *program = context->program;
    if (positional_out != NULL) {
        *positional_out = argc;
    }
    for (int i = 1; i < argc; i++) {
        const char *argument = argv[i];
        if (strcmp(argument, "--") == 0) {
            if (i + 1 < argc) {
                if (positional_out == NULL) {
                    char echo[ECHO_MAX + 8];
                    quote_for_echo(argv[i + 1], echo, sizeof echo);
                    report(context, "unexpected argument '%s' (see --help)", echo);
                    return CONFIG_RESULT_EXIT_USAGE;
                }
                *positional_out = i + 1;
            }
            return CONFIG_RESULT_RUN;
        }
        if (argument[0] != '-' || argument[1] == '\0') {
            if (positional_out == NULL) {
                char echo[ECHO_MAX + 8];
                quote_for_echo(argument, echo, sizeof echo);
                report(context, "unexpected argument '%s' (see --help)", echo);
                return CONFIG_RESULT_EXIT_USAGE;
            }
            *positional_out = i;
            return CONFIG_RESULT_RUN;
        }
        if (strcmp(argument, "--help") == 0 || strcmp(argument, "-h") == 0) {
            if (out != NULL) {
                config_print_help(program, out);
            }
            return CONFIG_RESULT_EXIT_OK;
        }
        if (strcmp(argument, "--version") == 0) {
            if (out != NULL) {
                fprintf(out, "%s %s\n", program->program_name, RECONCILER_VERSION);
            }
            return CONFIG_RESULT_EXIT_OK;
        }
        if (strcmp(argument, "--check-config") == 0) {
            *check_config = true;
            continue;
        }

        char echo[ECHO_MAX + 8];
        quote_for_echo(argument, echo, sizeof echo);
        if (argument[1] != '-') {
            report(context, "%s: unknown flag (see --help)", echo);
            return CONFIG_RESULT_EXIT_USAGE;
        }
        const char *equals = strchr(argument, '=');
        size_t flag_length = equals != NULL ? (size_t)(equals - argument) : strlen(argument);
        const char *inline_value = equals != NULL ? equals + 1 : NULL;

        if (program->accepts_kafka_properties && flag_length == 2 + strlen(KAFKA_FLAG) &&
            strncmp(argument + 2, KAFKA_FLAG, strlen(KAFKA_FLAG)) == 0) {
            const char *value = inline_value;
            if (value == NULL) {
                if (i + 1 >= argc) {
                    report(context, "--%s: needs a value name=value", KAFKA_FLAG);
                    return CONFIG_RESULT_EXIT_USAGE;
                }
                value = argv[++i];
            }
            if (!add_kafka_flag(context, value, kafka_flags)) {
                return CONFIG_RESULT_EXIT_USAGE;
            }
            continue;
        }

        const config_setting *setting = find_setting_by_flag(program, argument, flag_length);
        if (setting == NULL) {
            /* Echo only the flag's name: "--cp-shared-secret=..." must not print its value. */
            char name[ECHO_MAX + 8];
            snprintf(name, sizeof name, "%.*s",
                     (int)(flag_length < ECHO_MAX ? flag_length : ECHO_MAX), echo);
            report(context, "%s: unknown flag (see --help)", name);
            return CONFIG_RESULT_EXIT_USAGE;
        }
        const char *value = inline_value;
        if (value == NULL) {
            if (setting->type == CONFIG_TYPE_BOOL) {
                /* Bare "--dry-run" means true; "--dry-run false" still reads naturally. */
                if (i + 1 < argc && is_bool_literal(argv[i + 1])) {
                    value = argv[++i];
                } else {
                    value = "true";
                }
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                char flag[FLAG_NAME_MAX];
                flag_of(setting, flag, sizeof flag);
                report(context, "%s: %s needs a value", setting->env_name, flag);
                return CONFIG_RESULT_EXIT_USAGE;
            }
        }
        flag_values[setting - program->settings] = value;
    }
    return CONFIG_RESULT_RUN;
}

/* The program's validate hook, when it has one: true when there is none or it accepts. Its
 * error line goes into the context's buffer like report()'s (one line, control characters as
 * '?'), or a generic one when the hook gave none. */
static bool run_validate_hook(parse_context *context, void *settings,
                              const config_kafka_properties *kafka_properties)
{
    if (context->program->validate == NULL) {
        return true;
    }
    char line[1024] = "";
    if (context->program->validate(settings, kafka_properties, line, sizeof line)) {
        return true;
    }
    if (line[0] == '\0') {
        report(context, "invalid configuration (the program gave no reason)");
    } else if (context->error_buffer != NULL && context->error_size > 0) {
        snprintf(context->error_buffer, context->error_size, "%s", line);
        make_one_line(context->error_buffer);
    }
    return false;
}

config_result config_parse_with_output(const config_program *program, void *settings,
                                       config_kafka_properties *kafka_properties, int argc,
                                       char **argv, char **environment, FILE *out,
                                       char *error_buffer, size_t error_size, int *positional_out)
{
    parse_context context = {program, error_buffer, error_size};
    if (error_buffer != NULL && error_size > 0) {
        error_buffer[0] = '\0';
    }
    config_kafka_properties kafka_flags = {NULL, 0};
    bool check_config = false;
    config_result result = CONFIG_RESULT_EXIT_USAGE;

    /* calloc(0) may return NULL; one spare slot keeps that case uniform. */
    const char **flag_values = calloc(program->setting_count + 1, sizeof *flag_values);
    if (flag_values == NULL) {
        report(&context, "out of memory");
        goto done;
    }
    result = read_arguments(&context, argc, argv, flag_values, &kafka_flags, &check_config, out,
                            positional_out);
    if (result != CONFIG_RESULT_RUN) {
        goto done;
    }
    result = CONFIG_RESULT_EXIT_USAGE;

    for (size_t i = 0; i < program->setting_count; i++) {
        const config_setting *setting = &program->settings[i];
        const char *text = flag_values[i];
        if (text == NULL) {
            text = environment_lookup(environment, setting->env_name);
        }
        bool from_default = false;
        if (text == NULL) {
            text = setting->default_text;
            from_default = true;
        }
        if (text == NULL) {
            if (setting->required) {
                report(&context, "%s: required but not set", setting->env_name);
                goto done;
            }
            continue; /* unset and optional: the field keeps its zero value */
        }
        if (text[0] == '\0' && (setting->required || setting->type != CONFIG_TYPE_STRING)) {
            report(&context, "%s: %s", setting->env_name,
                   setting->required ? "required but empty" : "empty value");
            goto done;
        }
        if (!apply_value(&context, setting, settings, text, from_default)) {
            goto done;
        }
    }

    if (kafka_properties != NULL) {
        if (!program->accepts_kafka_properties) {
            kafka_properties->items = NULL;
            kafka_properties->count = 0;
        } else {
            if (!collect_kafka_environment(&context, environment, kafka_properties)) {
                goto done;
            }
            /* Flags after the environment, so a flag wins over a variable of the same name. */
            for (size_t i = 0; i < kafka_flags.count; i++) {
                const config_kafka_property *flag = &kafka_flags.items[i];
                if (!kafka_property_put(kafka_properties, flag->name, strlen(flag->name),
                                        flag->value, flag->source)) {
                    report(&context, "kafka properties: out of memory");
                    goto done;
                }
            }
            char invalid[512];
            if (!kafka_config_validate_properties(kafka_properties, invalid, sizeof invalid)) {
                report(&context, "%s", invalid);
                goto done;
            }
            /* After librdkafka accepted each property: a property that would break the
             * program's delivery guarantees is refused here, so a run and --check-config
             * refuse the same ones, before any client exists. */
            char locked[512];
            if (!kafka_config_check_locked(program->kafka_roles, kafka_properties, locked,
                                           sizeof locked)) {
                report(&context, "%s", locked);
                goto done;
            }
        }
    }

    if (!run_validate_hook(&context, settings, kafka_properties)) {
        goto done;
    }

    if (check_config) {
        if (out != NULL) {
            config_print_effective(program, settings, kafka_properties, out);
        }
        result = CONFIG_RESULT_EXIT_OK;
    } else {
        result = CONFIG_RESULT_RUN;
    }

done:
    free(flag_values);
    config_free(NULL, NULL, &kafka_flags);
    if (result != CONFIG_RESULT_RUN) {
        config_free(program, settings, kafka_properties);
    }
    return result;
}

config_result config_parse_from(const config_program *program, void *settings,
                                config_kafka_properties *kafka_properties, int argc, char **argv,
                                char **environment, char *error_buffer, size_t error_size,
                                int *positional_out)
{
    return config_parse_with_output(program, settings, kafka_properties, argc, argv, environment,
                                    NULL, error_buffer, error_size, positional_out);
}

config_result config_parse(const config_program *program, void *settings,
                           config_kafka_properties *kafka_properties, int argc, char **argv,
                           int *positional_out)
{
    char error[1024];
    config_result result =
        config_parse_with_output(program, settings, kafka_properties, argc, argv, environ, stdout,
                                 error, sizeof error, positional_out);
    fflush(stdout);
    if (result == CONFIG_RESULT_EXIT_USAGE) {
        fprintf(stderr, "%s\n", error);
        fflush(stderr);
    }
    return result;
}

/* ---- the instance id ---- */

void config_hostname(char *buffer, size_t size)
{
    if (size == 0) {
        return;
    }
    if (gethostname(buffer, size) != 0) {
        buffer[0] = '\0'; /* the id falls back to <program>-<pid> */
    }
    buffer[size - 1] = '\0'; /* POSIX leaves a truncated name unterminated */
}

void config_instance_id_format(const char *hostname, long pid, const char *fallback, char *buffer,
                               size_t size)
{
    snprintf(buffer, size, "%s-%ld", hostname != NULL && hostname[0] != '\0' ? hostname : fallback,
             pid);
}

bool config_instance_id_resolve(char **id, const char *hostname, long pid, const char *fallback)
{
    if (*id != NULL && (*id)[0] != '\0') {
        return true;
    }
    char buffer[320];
    config_instance_id_format(hostname, pid, fallback, buffer, sizeof buffer);
    char *copy = strdup(buffer);
    if (copy == NULL) {
        return false;
    }
    free(*id);
    *id = copy;
    return true;
}
