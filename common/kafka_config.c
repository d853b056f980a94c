/* kafka_config.c — rd_kafka_conf_t from our settings, with a reason for every property.
 *
 * For: the producer and consumer defaults every program shares, the operator's pass-through
 * properties (validated, checked against the locked ones and masked here, for config.c:
 * kafka_properties.h), and routing librdkafka's logs into our JSON log. Not for: creating clients,
 * topics, or the delivery/rebalance logic of any program. */
#include "kafka_config.h"

#include "log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Copies `text` into `buffer`, replacing every occurrence of `secret` with <masked>. Used on
 * librdkafka's error strings, which may quote the value they rejected. */
static void copy_masked(const char *text, const char *secret, char *buffer, size_t size)
{
    size_t secret_length = secret != NULL ? strlen(secret) : 0;
    size_t used = 0;
    while (*text != '\0' && used + 1 < size) {
        if (secret_length > 0 && strncmp(text, secret, secret_length) == 0) {
            int written = snprintf(buffer + used, size - used, "<masked>");
            if (written < 0 || (size_t)written >= size - used) {
                used = size - 1;
                break;
            }
            used += (size_t)written;
            text += secret_length;
        } else {
            buffer[used++] = *text++;
        }
    }
    buffer[used] = '\0';
}

bool config_kafka_property_is_secret(const char *name)
{
    /* "oauthbearer.config" carries a client secret inside a free-form string. */
    static const char *const secret_words[] = {"password", "secret", "token",
                                               "key",      "jaas",   "oauthbearer.config"};
    if (name == NULL) {
        return false;
    }
    for (size_t i = 0; i < sizeof secret_words / sizeof secret_words[0]; i++) {
        if (strcasestr(name, secret_words[i]) != NULL) {
            return true;
        }
    }
    return false;
}

bool kafka_config_validate_properties(const config_kafka_properties *properties, char *error_buffer,
                                      size_t error_size)
{
    rd_kafka_conf_t *scratch = rd_kafka_conf_new();
    bool valid = true;
    for (size_t i = 0; valid && i < properties->count; i++) {
        char reason[256];
        const config_kafka_property *property = &properties->items[i];
        if (rd_kafka_conf_set(scratch, property->name, property->value, reason, sizeof reason) !=
            RD_KAFKA_CONF_OK) {
            if (config_kafka_property_is_secret(property->name)) {
                snprintf(error_buffer, error_size, "kafka property '%s': invalid value",
                         property->name);
            } else {
                snprintf(error_buffer, error_size, "kafka property '%s': %s", property->name,
                         reason);
            }
            valid = false;
        }
    }
    rd_kafka_conf_destroy(scratch);
    return valid;
}

bool kafka_config_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                      char *error_buffer, size_t error_size)
{
    char reason[512];
    if (rd_kafka_conf_set(conf, name, value, reason, sizeof reason) == RD_KAFKA_CONF_OK) {
        return true;
    }
    if (error_buffer != NULL && error_size > 0) {
        char safe_reason[512];
        copy_masked(reason, config_kafka_property_is_secret(name) ? value : NULL, safe_reason,
                    sizeof safe_reason);
        snprintf(error_buffer, error_size, "kafka property '%s': %s", name, safe_reason);
    }
    return false;
}

bool kafka_config_apply_properties(rd_kafka_conf_t *conf, const config_kafka_properties *properties,
                                   char *error_buffer, size_t error_size)
{
    if (properties == NULL) {
        return true;
    }
    for (size_t i = 0; i < properties->count; i++) {
        if (!kafka_config_set(conf, properties->items[i].name, properties->items[i].value,
                              error_buffer, error_size)) {
            return false;
        }
    }
    return true;
}

/* Why each is locked (docs/operations.md, "Locked Kafka properties"): every program counts a
 * message done — commits the input offset, advances the producer's cursor — only on a successful
 * delivery report, and stores a consumed offset only once the message's output is durable. Not
 * locked, on purpose: isolation.level (no program writes transactionally, so read_committed and
 * read_uncommitted read the same records), linger, batching, timeouts, security and every other
 * tuning knob. */
static const kafka_locked_property locked_properties[] = {
    {CONFIG_KAFKA_ROLE_PRODUCER, "enable.idempotence", KAFKA_LOCK_EQUALS, "true",
     "a retried send must neither duplicate nor reorder a partition's messages"},
    {CONFIG_KAFKA_ROLE_PRODUCER, "acks", KAFKA_LOCK_EQUALS, "all",
     "a delivery report must mean every in-sync replica has the message, since the input is "
     "then counted done"},
    {CONFIG_KAFKA_ROLE_PRODUCER, "max.in.flight.requests.per.connection", KAFKA_LOCK_AT_MOST, "5",
     "the idempotent producer keeps a partition's order only up to 5 requests in flight"},
    {CONFIG_KAFKA_ROLE_CONSUMER, "enable.auto.offset.store", KAFKA_LOCK_EQUALS, "false",
     "an offset is stored only after the message's output is durable; storing it on receipt "
     "loses the messages in hand on a crash"},
    {CONFIG_KAFKA_ROLE_CONSUMER, "enable.auto.commit", KAFKA_LOCK_EQUALS, "true",
     "the stored offsets are committed in the background; without it none is, and every "
     "restart replays the partitions"},
    {CONFIG_KAFKA_ROLE_CONSUMER, "auto.offset.reset", KAFKA_LOCK_EQUALS, "earliest",
     "a new group, or one whose offsets expired, must start at the oldest message instead of "
     "skipping the backlog"},
};

const kafka_locked_property *kafka_config_locked_properties(size_t *count)
{
    *count = sizeof locked_properties / sizeof locked_properties[0];
    return locked_properties;
}

/* The property's value as librdkafka reads it back ("" when it has none). */
static void read_back(const rd_kafka_conf_t *conf, const char *name, char *buffer, size_t size)
{
    size_t length = size;
    if (rd_kafka_conf_get(conf, name, buffer, &length) != RD_KAFKA_CONF_OK) {
        buffer[0] = '\0';
    }
}

/* The locked value in librdkafka's spelling (acks "all" reads back as "-1"). */
static void canonical_value(const kafka_locked_property *locked, char *buffer, size_t size)
{
    rd_kafka_conf_t *scratch = rd_kafka_conf_new();
    char ignored[256];
    if (rd_kafka_conf_set(scratch, locked->name, locked->value, ignored, sizeof ignored) ==
        RD_KAFKA_CONF_OK) {
        read_back(scratch, locked->name, buffer, size);
    } else {
        snprintf(buffer, size, "%s", locked->value);
    }
    rd_kafka_conf_destroy(scratch);
}

static bool satisfies(const kafka_locked_property *locked, const rd_kafka_conf_t *conf)
{
    char actual[256];
    read_back(conf, locked->name, actual, sizeof actual);
    if (locked->kind == KAFKA_LOCK_AT_MOST) {
        char *end = NULL;
        long long value = strtoll(actual, &end, 10);
        return end != actual && *end == '\0' && value <= strtoll(locked->value, NULL, 10);
    }
    char expected[256];
    canonical_value(locked, expected, sizeof expected);
    return strcmp(actual, expected) == 0;
}

/* "locked to all" / "locked to at most 5". */
static const char *lock_wording(const kafka_locked_property *locked)
{
    return locked->kind == KAFKA_LOCK_AT_MOST ? "at most " : "";
}

/* Where an operator wrote a property: "--kafka-prop" or its RECONCILER_KAFKA_ variable. */
static void describe_source(const config_kafka_property *property, char *buffer, size_t size)
{
    switch (property->source) {
    case CONFIG_KAFKA_FROM_FLAG:
        snprintf(buffer, size, "--kafka-prop");
        return;
    case CONFIG_KAFKA_FROM_ENVIRONMENT: {
        int used = snprintf(buffer, size, "RECONCILER_KAFKA_");
        for (const char *cursor = property->name;
             *cursor != '\0' && used >= 0 && (size_t)used + 1 < size; cursor++) {
            buffer[used++] = *cursor == '.' ? '_' : (char)toupper((unsigned char)*cursor);
        }
        buffer[used < 0 ? 0 : used] = '\0';
        return;
    }
    case CONFIG_KAFKA_FROM_CODE:
        break;
    }
    snprintf(buffer, size, "the program");
}

bool kafka_config_check_locked(unsigned roles, const config_kafka_properties *properties,
                               char *error_buffer, size_t error_size)
{
    if (roles == 0 || properties == NULL) {
        return true;
    }
    for (size_t index = 0; index < properties->count; index++) {
        const config_kafka_property *property = &properties->items[index];
        /* A configuration holding every locked value; then the operator's property alone. */
        rd_kafka_conf_t *scratch = rd_kafka_conf_new();
        char ignored[256];
        for (size_t row = 0; row < sizeof locked_properties / sizeof locked_properties[0]; row++) {
            if ((locked_properties[row].roles & roles) != 0) {
                rd_kafka_conf_set(scratch, locked_properties[row].name,
                                  locked_properties[row].value, ignored, sizeof ignored);
            }
        }
        if (rd_kafka_conf_set(scratch, property->name, property->value, ignored, sizeof ignored) !=
            RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(scratch); /* librdkafka's own validation reports it */
            continue;
        }
        for (size_t row = 0; row < sizeof locked_properties / sizeof locked_properties[0]; row++) {
            const kafka_locked_property *locked = &locked_properties[row];
            if ((locked->roles & roles) == 0 || satisfies(locked, scratch)) {
                continue;
            }
            char source[160];
            describe_source(property, source, sizeof source);
            if (strcmp(property->name, locked->name) == 0) {
                snprintf(error_buffer, error_size,
                         "kafka property '%s' (from %s) is locked to %s%s: %s", property->name,
                         source, lock_wording(locked), locked->value, locked->why);
            } else {
                snprintf(error_buffer, error_size,
                         "kafka property '%s' (from %s) would change '%s', which is locked to "
                         "%s%s: %s",
                         property->name, source, locked->name, lock_wording(locked), locked->value,
                         locked->why);
            }
            rd_kafka_conf_destroy(scratch);
            return false;
        }
        rd_kafka_conf_destroy(scratch);
    }
    return true;
}

bool kafka_config_verify_locked(const rd_kafka_conf_t *conf, unsigned roles, char *error_buffer,
                                size_t error_size)
{
    for (size_t row = 0; row < sizeof locked_properties / sizeof locked_properties[0]; row++) {
        const kafka_locked_property *locked = &locked_properties[row];
        if ((locked->roles & roles) != 0 && !satisfies(locked, conf)) {
            snprintf(error_buffer, error_size, "kafka property '%s' must be %s%s: %s", locked->name,
                     lock_wording(locked), locked->value, locked->why);
            return false;
        }
    }
    return true;
}

void kafka_config_log(const rd_kafka_t *kafka, int level, const char *facility, const char *message)
{
    log_level ours = level <= 3   ? LOG_LEVEL_ERROR
                     : level == 4 ? LOG_LEVEL_WARN
                     : level <= 6 ? LOG_LEVEL_INFO
                                  : LOG_LEVEL_DEBUG;
    if (!log_enabled(ours)) {
        return;
    }
    log_at(ours, "librdkafka", "{s:s, s:s, s:s, s:i}", "kafka_client",
           kafka != NULL ? rd_kafka_name(kafka) : "", "facility", facility != NULL ? facility : "",
           "detail", message != NULL ? message : "", "syslog_level", level);
}

rd_kafka_conf_t *kafka_config_new_with_defaults(const common_settings *common,
                                                const config_kafka_properties *properties,
                                                const char *client_id,
                                                const kafka_config_default *defaults,
                                                size_t default_count, char *error_buffer,
                                                size_t error_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (conf == NULL) {
        snprintf(error_buffer, error_size, "kafka configuration: out of memory");
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, kafka_config_log);

    bool ok = true;
    if (common != NULL && common->kafka_bootstrap_servers != NULL &&
        common->kafka_bootstrap_servers[0] != '\0') {
        ok = kafka_config_set(conf, "bootstrap.servers", common->kafka_bootstrap_servers,
                              error_buffer, error_size);
    }
    if (ok && client_id != NULL && client_id[0] != '\0') {
        ok = kafka_config_set(conf, "client.id", client_id, error_buffer, error_size);
    }
    for (size_t i = 0; ok && defaults != NULL && i < default_count; i++) {
        ok = kafka_config_set(conf, defaults[i].name, defaults[i].value, error_buffer, error_size);
    }
    /* Last, so that an operator can override every choice above. */
    ok = ok && kafka_config_apply_properties(conf, properties, error_buffer, error_size);
    if (!ok) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

rd_kafka_conf_t *kafka_config_new(const common_settings *common,
                                  const config_kafka_properties *properties, const char *client_id,
                                  char *error_buffer, size_t error_size)
{
    return kafka_config_new_with_defaults(common, properties, client_id, NULL, 0, error_buffer,
                                          error_size);
}

rd_kafka_conf_t *kafka_config_new_producer(const common_settings *common,
                                           const config_kafka_properties *properties,
                                           const char *client_id, char *error_buffer,
                                           size_t error_size)
{
    static const kafka_config_default producer_defaults[] = {
        /* Retries after a lost ack neither duplicate nor reorder messages in a partition. */
        {"enable.idempotence", "true"},
        /* A delivery report means every in-sync replica has the message, so it survives a
         * broker loss; we count nothing done before that report. (Idempotence needs it.) */
        {"acks", "all"},
        /* Wait up to 50 ms to fill batches. The broker's cost is per request and per
         * partition batch, not per message: at 17,000 verdicts/s over 12 partitions, 5 ms
         * made batches of ~7 messages and the broker spent more CPU than both checkers
         * (docs/performance.md); 50 ms cut its CPU by about 40 %. 50 ms is two CP round
         * trips, small next to the fast path's 1 s and a sweep's interval. */
        {"linger.ms", "50"},
        /* What librdkafka would pick for an idempotent producer anyway; written out so the
         * conf reads back within its lock (at most 5) before the client exists. */
        {"max.in.flight.requests.per.connection", "5"},
    };
    rd_kafka_conf_t *conf = kafka_config_new_with_defaults(
        common, properties, client_id, producer_defaults,
        sizeof producer_defaults / sizeof producer_defaults[0], error_buffer, error_size);
    if (conf != NULL &&
        !kafka_config_verify_locked(conf, CONFIG_KAFKA_ROLE_PRODUCER, error_buffer, error_size)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

rd_kafka_conf_t *kafka_config_new_consumer(const common_settings *common,
                                           const config_kafka_properties *properties,
                                           const char *client_id, const char *group_id,
                                           char *error_buffer, size_t error_size)
{
    if (group_id == NULL || group_id[0] == '\0') {
        snprintf(error_buffer, error_size, "kafka property 'group.id': must not be empty");
        return NULL;
    }
    const kafka_config_default consumer_defaults[] = {
        /* All instances of a program share the partitions of their topic. */
        {"group.id", group_id},
        /* Commit in the background whatever offsets the program has stored... */
        {"enable.auto.commit", "true"},
        /* ...and store none automatically: the program stores a message's offset only after
         * its output is durable (delivery report, DB commit). That is at-least-once. */
        {"enable.auto.offset.store", "false"},
        /* A new group starts at the beginning of each partition, so nothing enqueued before
         * the first deployment is skipped. */
        {"auto.offset.reset", "earliest"},
        /* partition.assignment.strategy stays librdkafka's default (range,roundrobin: eager
         * rebalancing): simple to reason about, and our work items are short. */
    };
    rd_kafka_conf_t *conf = kafka_config_new_with_defaults(
        common, properties, client_id, consumer_defaults,
        sizeof consumer_defaults / sizeof consumer_defaults[0], error_buffer, error_size);
    if (conf != NULL &&
        !kafka_config_verify_locked(conf, CONFIG_KAFKA_ROLE_CONSUMER, error_buffer, error_size)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}
