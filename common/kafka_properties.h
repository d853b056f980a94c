/* kafka_properties.h — the operator's Kafka properties as the settings parser sees them:
 * checked and shown without a librdkafka type in sight.
 *
 * For: what config.c needs to accept or refuse --kafka-prop and RECONCILER_KAFKA_* at parse
 * time (so a run and --check-config refuse the same), and to mask them in its output. The
 * implementation is in kafka_config.c, the one file of the settings layer that talks to
 * librdkafka, so config.c does not depend on it. Not for: building a client configuration
 * (kafka_config.h). */
#ifndef RECONCILER_KAFKA_PROPERTIES_H
#define RECONCILER_KAFKA_PROPERTIES_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>

/* True when a librdkafka property's name suggests a secret (contains password, secret,
 * token, key or jaas; case-insensitive): such values are masked wherever they are shown. */
bool config_kafka_property_is_secret(const char *name);

/* librdkafka is the authority on its own properties: each one is tried on a scratch
 * configuration, so a misspelt name or a bad value is a usage error (exit 2) at start-up and
 * in --check-config, not a failure later when the client is built. false with "kafka
 * property '<name>': <librdkafka's reason>" in error_buffer; a secret-looking property's
 * error leaves out the reason, which may quote the value. */
bool kafka_config_validate_properties(const config_kafka_properties *properties, char *error_buffer,
                                      size_t error_size);

/* ---- locked properties -------------------------------------------------------------------
 *
 * The properties our delivery guarantees rest on (docs/operations.md, "Locked Kafka
 * properties"): an operator can tune any other librdkafka property, but not these, for the
 * roles a program plays (config_kafka_role). One table for every program, so the producer, the
 * checker and the actuator refuse exactly the same things. */
typedef enum {
    KAFKA_LOCK_EQUALS,  /* the value must be `value` (compared as librdkafka reads it back,
                           so aliases such as acks=-1 for all are accepted) */
    KAFKA_LOCK_AT_MOST, /* an integer no greater than `value` */
} kafka_lock_kind;

typedef struct {
    unsigned roles; /* config_kafka_role bits it applies to */
    const char *name;
    kafka_lock_kind kind;
    const char *value;
    const char *why; /* one clause, for the error line */
} kafka_locked_property;

/* The table, `*count` rows. */
const kafka_locked_property *kafka_config_locked_properties(size_t *count);

/* Checks each of the operator's properties, one at a time, against the locked properties of
 * `roles`: a property fails when applying it (to a configuration holding the locked values)
 * changes a locked one, so an alias (request.required.acks for acks) is caught too. false
 * with a one-line error naming the property, its source (--kafka-prop or the
 * RECONCILER_KAFKA_* variable), the locked value and why. Properties librdkafka itself
 * rejects are left to its own validation. Pure of I/O. */
bool kafka_config_check_locked(unsigned roles, const config_kafka_properties *properties,
                               char *error_buffer, size_t error_size);

#endif
