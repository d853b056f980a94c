/* test_kafka_config.c — librdkafka configuration layers and their errors. No broker needed:
 * the tests read the built rd_kafka_conf_t back with rd_kafka_conf_get. */
#include "kafka_config.h"

#include "log.h"

#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static common_settings common = {.kafka_bootstrap_servers = "k1:9092,k2:9092"};
static char error[512];

/* rd_kafka_conf_get into a static buffer; "(not set)" when it has no value. */
static const char *get(const rd_kafka_conf_t *conf, const char *name)
{
    static char value[512];
    size_t size = sizeof value;
    if (rd_kafka_conf_get(conf, name, value, &size) != RD_KAFKA_CONF_OK) {
        return "(not set)";
    }
    return value;
}

START_TEST(test_kafka_config_producer_is_idempotent_with_acks_all)
{
    rd_kafka_conf_t *conf =
        kafka_config_new_producer(&common, NULL, "reconciler-producer", error, sizeof error);
    ck_assert_msg(conf != NULL, "%s", error);
    ck_assert_str_eq(get(conf, "bootstrap.servers"), "k1:9092,k2:9092");
    ck_assert_str_eq(get(conf, "client.id"), "reconciler-producer");
    ck_assert_str_eq(get(conf, "enable.idempotence"), "true");
    ck_assert_str_eq(get(conf, "acks"), "-1"); /* librdkafka spells all as -1 */
    ck_assert_str_eq(get(conf, "linger.ms"), "50");
    rd_kafka_conf_destroy(conf);
}
END_TEST

START_TEST(test_kafka_config_consumer_stores_offsets_only_when_told)
{
    rd_kafka_conf_t *conf = kafka_config_new_consumer(&common, NULL, "reconciler-checker",
                                                      "reconciler-checker", error, sizeof error);
    ck_assert_msg(conf != NULL, "%s", error);
    ck_assert_str_eq(get(conf, "group.id"), "reconciler-checker");
    ck_assert_str_eq(get(conf, "enable.auto.commit"), "true");
    ck_assert_str_eq(get(conf, "enable.auto.offset.store"), "false");
    ck_assert_str_eq(get(conf, "auto.offset.reset"), "smallest"); /* = earliest */
    ck_assert_ptr_null(strstr(get(conf, "partition.assignment.strategy"), "cooperative"));
    rd_kafka_conf_destroy(conf);
}
END_TEST

START_TEST(test_kafka_config_consumer_without_group_is_refused)
{
    ck_assert_ptr_null(kafka_config_new_consumer(&common, NULL, NULL, "", error, sizeof error));
    ck_assert_ptr_nonnull(strstr(error, "group.id"));
}
END_TEST

START_TEST(test_kafka_config_operator_properties_override_our_defaults)
{
    config_kafka_property items[] = {
        {.name = "linger.ms", .value = "75"},
        {.name = "bootstrap.servers", .value = "override:9093"},
        {.name = "security.protocol", .value = "SASL_SSL"},
    };
    config_kafka_properties properties = {items, 3};
    rd_kafka_conf_t *conf =
        kafka_config_new_producer(&common, &properties, NULL, error, sizeof error);
    ck_assert_msg(conf != NULL, "%s", error);
    ck_assert_str_eq(get(conf, "linger.ms"), "75");
    ck_assert_str_eq(get(conf, "bootstrap.servers"), "override:9093");
    ck_assert_str_eq(get(conf, "security.protocol"), "sasl_ssl");
    rd_kafka_conf_destroy(conf);
}
END_TEST

START_TEST(test_kafka_config_bad_property_is_named_error)
{
    config_kafka_property items[] = {{.name = "no.such.property", .value = "1"}};
    config_kafka_properties properties = {items, 1};
    ck_assert_ptr_null(kafka_config_new(&common, &properties, NULL, error, sizeof error));
    ck_assert_msg(strncmp(error, "kafka property 'no.such.property': ", 35) == 0, "%s", error);

    items[0] = (config_kafka_property){.name = "acks", .value = "sometimes"};
    ck_assert_ptr_null(kafka_config_new(&common, &properties, NULL, error, sizeof error));
    ck_assert_msg(strncmp(error, "kafka property 'acks': ", 23) == 0, "%s", error);
}
END_TEST

/* Issue 13 item 7: one table of locked properties per role. Each case is one operator
 * property given to a program playing `roles`; refused cases must name the property. */
START_TEST(test_kafka_config_locked_properties_table)
{
    enum { P = CONFIG_KAFKA_ROLE_PRODUCER, C = CONFIG_KAFKA_ROLE_CONSUMER, PC = P | C };
    static const struct {
        unsigned roles;
        const char *name, *value;
        bool refused;
        const char *locked; /* the locked property named in the error */
    } cases[] = {
        /* producer */
        {P, "enable.idempotence", "false", true, "enable.idempotence"},
        {P, "enable.idempotence", "true", false, NULL},
        {P, "acks", "1", true, "acks"},
        {P, "acks", "0", true, "acks"},
        {P, "acks", "all", false, NULL},
        {P, "acks", "-1", false, NULL},
        {P, "request.required.acks", "1", true, "acks"}, /* an alias is no way around it */
        {P, "max.in.flight.requests.per.connection", "6", true,
         "max.in.flight.requests.per.connection"},
        {P, "max.in.flight", "100", true, "max.in.flight.requests.per.connection"},
        {P, "max.in.flight.requests.per.connection", "5", false, NULL},
        {P, "max.in.flight.requests.per.connection", "1", false, NULL},
        {P, "linger.ms", "100", false, NULL},
        {P, "enable.auto.offset.store", "true", false, NULL}, /* a consumer lock only */
        /* consumer */
        {C, "enable.auto.offset.store", "true", true, "enable.auto.offset.store"},
        {C, "enable.auto.offset.store", "false", false, NULL},
        {C, "enable.auto.commit", "false", true, "enable.auto.commit"},
        {C, "enable.auto.commit", "true", false, NULL},
        {C, "auto.offset.reset", "latest", true, "auto.offset.reset"},
        {C, "auto.offset.reset", "largest", true, "auto.offset.reset"},
        {C, "auto.offset.reset", "smallest", false, NULL}, /* = earliest */
        {C, "auto.offset.reset", "earliest", false, NULL},
        {C, "isolation.level", "read_uncommitted", false, NULL},
        {C, "session.timeout.ms", "6000", false, NULL},
        {C, "acks", "1", false, NULL}, /* a producer lock only */
        /* both */
        {PC, "acks", "1", true, "acks"},
        {PC, "enable.auto.offset.store", "true", true, "enable.auto.offset.store"},
        {PC, "security.protocol", "SASL_SSL", false, NULL},
        /* no roles: nothing locked (the audit tool, fleet-sim) */
        {0, "enable.auto.commit", "false", false, NULL},
        /* a property librdkafka rejects is its own validation's business */
        {PC, "no.such.property", "1", false, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        config_kafka_property item = {.name = (char *)cases[i].name,
                                      .value = (char *)cases[i].value,
                                      .source = CONFIG_KAFKA_FROM_FLAG};
        config_kafka_properties properties = {&item, 1};
        error[0] = '\0';
        bool accepted = kafka_config_check_locked(cases[i].roles, &properties, error, sizeof error);
        ck_assert_msg(accepted == !cases[i].refused, "case %zu %s=%s: %s", i, cases[i].name,
                      cases[i].value, error);
        if (cases[i].refused) {
            char named[160];
            snprintf(named, sizeof named, "kafka property '%s' (from --kafka-prop)", cases[i].name);
            ck_assert_msg(strstr(error, named) == error, "case %zu: %s", i, error);
            snprintf(named, sizeof named, "'%s'", cases[i].locked);
            ck_assert_msg(strstr(error, named) != NULL, "case %zu: %s", i, error);
            ck_assert_ptr_null(strchr(error, '\n'));
        }
    }
}
END_TEST

START_TEST(test_kafka_config_locked_error_names_the_environment_variable)
{
    config_kafka_property items[] = {
        {.name = "linger.ms", .value = "1", .source = CONFIG_KAFKA_FROM_ENVIRONMENT},
        {.name = "enable.auto.offset.store",
         .value = "true",
         .source = CONFIG_KAFKA_FROM_ENVIRONMENT},
    };
    config_kafka_properties properties = {items, 2};
    ck_assert(
        !kafka_config_check_locked(CONFIG_KAFKA_ROLE_CONSUMER, &properties, error, sizeof error));
    ck_assert_msg(strstr(error,
                         "kafka property 'enable.auto.offset.store' (from "
                         "RECONCILER_KAFKA_ENABLE_AUTO_OFFSET_STORE) is locked to false") == error,
                  "%s", error);
}
END_TEST

/* The role defaults satisfy their own locks, and a conf that an operator's list changed is
 * refused where the client is built too (the checker applies its properties itself). */
START_TEST(test_kafka_config_constructors_enforce_the_locks)
{
    rd_kafka_conf_t *conf = kafka_config_new_producer(&common, NULL, NULL, error, sizeof error);
    ck_assert_msg(conf != NULL, "%s", error);
    ck_assert(kafka_config_verify_locked(conf, CONFIG_KAFKA_ROLE_PRODUCER, error, sizeof error));
    ck_assert(kafka_config_set(conf, "acks", "1", error, sizeof error));
    ck_assert(!kafka_config_verify_locked(conf, CONFIG_KAFKA_ROLE_PRODUCER, error, sizeof error));
    ck_assert_ptr_nonnull(strstr(error, "kafka property 'acks' must be all"));
    rd_kafka_conf_destroy(conf);

    conf = kafka_config_new_consumer(&common, NULL, NULL, "g", error, sizeof error);
    ck_assert_msg(conf != NULL, "%s", error);
    ck_assert(kafka_config_verify_locked(conf, CONFIG_KAFKA_ROLE_CONSUMER, error, sizeof error));
    rd_kafka_conf_destroy(conf);

    config_kafka_property items[] = {{.name = "enable.idempotence", .value = "false"}};
    config_kafka_properties properties = {items, 1};
    ck_assert_ptr_null(kafka_config_new_producer(&common, &properties, NULL, error, sizeof error));
    ck_assert_ptr_nonnull(strstr(error, "'enable.idempotence' must be true"));
    items[0] = (config_kafka_property){.name = "enable.auto.commit", .value = "false"};
    ck_assert_ptr_null(
        kafka_config_new_consumer(&common, &properties, NULL, "g", error, sizeof error));
    ck_assert_ptr_nonnull(strstr(error, "'enable.auto.commit' must be true"));
}
END_TEST

START_TEST(test_kafka_config_error_never_echoes_a_secret_value)
{
    /* librdkafka quotes rejected values ("Invalid value \"x\" for ..."); for a property whose
     * name looks secret the value is masked in our message, for others it helps debugging. */
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert(!kafka_config_set(conf, "ssl.key.password.typo", "hunter2", error, sizeof error));
    ck_assert_ptr_nonnull(strstr(error, "kafka property 'ssl.key.password.typo'"));
    ck_assert_ptr_null(strstr(error, "hunter2"));
    ck_assert(
        !kafka_config_set(conf, "sasl.oauthbearer.method", "bogus-method", error, sizeof error));
    ck_assert_ptr_nonnull(strstr(error, "kafka property 'sasl.oauthbearer.method'"));
    ck_assert(kafka_config_set(conf, "sasl.password", "hunter2", error, sizeof error));
    rd_kafka_conf_destroy(conf);
}
END_TEST

START_TEST(test_kafka_config_without_bootstrap_leaves_it_to_properties)
{
    common_settings empty = {0};
    rd_kafka_conf_t *conf = kafka_config_new(&empty, NULL, NULL, error, sizeof error);
    ck_assert_ptr_nonnull(conf);
    ck_assert_str_eq(get(conf, "bootstrap.servers"), "(not set)");
    rd_kafka_conf_destroy(conf);
}
END_TEST

START_TEST(test_kafka_config_log_lines_become_json_log_lines)
{
    log_init("test", LOG_LEVEL_DEBUG);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[1]);
    kafka_config_log(NULL, 3, "FAIL", "k1:9092/bootstrap: Connect to ipv4#127.0.0.1:9092 failed");
    kafka_config_log(NULL, 4, "REQTMOUT", "timed out");
    kafka_config_log(NULL, 7, "BROKER", "debug chatter");
    dup2(saved, STDERR_FILENO);
    close(saved);
    char text[4096] = "";
    ssize_t got = read(fds[0], text, sizeof text - 1);
    close(fds[0]);
    ck_assert_int_gt(got, 0);
    text[got] = '\0';

    const char *expected_levels[] = {"error", "warn", "debug"};
    char *save = NULL;
    size_t lines = 0;
    for (char *row = strtok_r(text, "\n", &save); row != NULL; row = strtok_r(NULL, "\n", &save)) {
        json_t *line = json_loads(row, 0, NULL);
        ck_assert_msg(line != NULL, "not JSON: %s", row);
        ck_assert_uint_lt(lines, 3);
        ck_assert_str_eq(json_string_value(json_object_get(line, "level")), expected_levels[lines]);
        ck_assert_str_eq(json_string_value(json_object_get(line, "msg")), "librdkafka");
        ck_assert(json_is_string(json_object_get(line, "facility")));
        ck_assert(json_is_string(json_object_get(line, "detail")));
        json_decref(line);
        lines++;
    }
    ck_assert_uint_eq(lines, 3);
}
END_TEST

static Suite *kafka_config_suite(void)
{
    Suite *suite = suite_create("kafka_config");
    TCase *tcase = tcase_create("core");
    tcase_add_test(tcase, test_kafka_config_producer_is_idempotent_with_acks_all);
    tcase_add_test(tcase, test_kafka_config_consumer_stores_offsets_only_when_told);
    tcase_add_test(tcase, test_kafka_config_consumer_without_group_is_refused);
    tcase_add_test(tcase, test_kafka_config_operator_properties_override_our_defaults);
    tcase_add_test(tcase, test_kafka_config_bad_property_is_named_error);
    tcase_add_test(tcase, test_kafka_config_error_never_echoes_a_secret_value);
    tcase_add_test(tcase, test_kafka_config_locked_properties_table);
    tcase_add_test(tcase, test_kafka_config_locked_error_names_the_environment_variable);
    tcase_add_test(tcase, test_kafka_config_constructors_enforce_the_locks);
    tcase_add_test(tcase, test_kafka_config_without_bootstrap_leaves_it_to_properties);
    tcase_add_test(tcase, test_kafka_config_log_lines_become_json_log_lines);
    suite_add_tcase(suite, tcase);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(kafka_config_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
