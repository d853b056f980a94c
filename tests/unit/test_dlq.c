/* test_dlq.c — dlq_send against librdkafka's in-process mock cluster: the DLQ record keeps
 * the original key, value and headers byte for byte, names its source and error in headers
 * that cannot be forged by the original, and hands the caller's opaque to the delivery
 * report. Needs no broker: rdkafka_mock runs inside the test process. */
#include "dlq.h"

#include <check.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rd_kafka_t *mock_host;
static rd_kafka_mock_cluster_t *cluster;
static char bootstraps[256];

static void *delivered_opaque;
static rd_kafka_resp_err_t delivered_error;
static int delivery_count;

static void on_delivery(rd_kafka_t *producer, const rd_kafka_message_t *message, void *opaque)
{
    (void)producer;
    (void)opaque;
    delivered_opaque = message->_private;
    delivered_error = message->err;
    delivery_count++;
}

static rd_kafka_t *new_client(rd_kafka_type_t type)
{
    char error[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert_int_eq(rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, error, sizeof error),
                     RD_KAFKA_CONF_OK);
    if (type == RD_KAFKA_PRODUCER) {
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    } else {
        ck_assert_int_eq(rd_kafka_conf_set(conf, "group.id", "test-dlq", error, sizeof error),
                         RD_KAFKA_CONF_OK);
        ck_assert_int_eq(
            rd_kafka_conf_set(conf, "enable.auto.commit", "false", error, sizeof error),
            RD_KAFKA_CONF_OK);
    }
    rd_kafka_t *client = rd_kafka_new(type, conf, error, sizeof error);
    ck_assert_msg(client != NULL, "rd_kafka_new: %s", error);
    return client;
}

static void set_up(void)
{
    char error[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* The host only runs the mock cluster: its "no bootstrap.servers" notice is noise. */
    ck_assert_int_eq(rd_kafka_conf_set(conf, "log_level", "4", error, sizeof error),
                     RD_KAFKA_CONF_OK);
    mock_host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    ck_assert_ptr_nonnull(mock_host);
    cluster = rd_kafka_mock_cluster_new(mock_host, 1);
    ck_assert_ptr_nonnull(cluster);
    snprintf(bootstraps, sizeof bootstraps, "%s", rd_kafka_mock_cluster_bootstraps(cluster));
    ck_assert_int_eq(rd_kafka_mock_topic_create(cluster, "source", 1, 1),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    ck_assert_int_eq(rd_kafka_mock_topic_create(cluster, "dlq", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    delivered_opaque = NULL;
    delivered_error = RD_KAFKA_RESP_ERR_NO_ERROR;
    delivery_count = 0;
}

static void tear_down(void)
{
    rd_kafka_mock_cluster_destroy(cluster);
    rd_kafka_destroy(mock_host);
}

/* Reads the message at `offset` of `topic` partition 0. */
static rd_kafka_message_t *read_one(rd_kafka_t *consumer, const char *topic, int64_t offset)
{
    rd_kafka_topic_partition_list_t *assignment = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(assignment, topic, 0)->offset = offset;
    ck_assert_int_eq(rd_kafka_assign(consumer, assignment), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(assignment);
    for (int attempt = 0; attempt < 100; attempt++) {
        rd_kafka_message_t *message = rd_kafka_consumer_poll(consumer, 100);
        if (message == NULL)
            continue;
        if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR)
            return message;
        rd_kafka_message_destroy(message);
    }
    ck_abort_msg("no message on %s", topic);
    return NULL;
}

static const char *header(const rd_kafka_message_t *message, const char *name, size_t *count)
{
    rd_kafka_headers_t *headers = NULL;
    ck_assert_int_eq(rd_kafka_message_headers(message, &headers), RD_KAFKA_RESP_ERR_NO_ERROR);
    const void *value = NULL;
    size_t size = 0;
    *count = 0;
    const char *first = NULL;
    static char buffer[256]; /* the first value, NUL-terminated */
    while (rd_kafka_header_get(headers, *count, name, &value, &size) ==
           RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (*count == 0) {
            snprintf(buffer, sizeof buffer, "%.*s", (int)size, (const char *)value);
            first = buffer;
        }
        (*count)++;
    }
    return first;
}

static void produce_source(rd_kafka_t *producer, const void *key, size_t key_length,
                           const void *value, size_t value_length)
{
    rd_kafka_headers_t *headers = rd_kafka_headers_new(2);
    ck_assert_int_eq(rd_kafka_header_add(headers, "trace-id", -1, "abc-123", -1),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    ck_assert_int_eq(rd_kafka_header_add(headers, "reconciler.error", -1, "forged", -1),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    ck_assert_int_eq(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC("source"),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                       RD_KAFKA_V_KEY(key, key_length),
                                       /* copied (F_COPY): the cast drops const only */
                                       RD_KAFKA_V_VALUE((void *)value, value_length),
                                       RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    ck_assert_int_eq(rd_kafka_flush(producer, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    delivery_count = 0;
}

START_TEST(test_dlq_record_keeps_bytes_and_names_source_and_error)
{
    rd_kafka_t *producer = new_client(RD_KAFKA_PRODUCER);
    rd_kafka_t *consumer = new_client(RD_KAFKA_CONSUMER);
    static const char value[] = "\xc3\x01\x00garbage\xff";
    produce_source(producer, "ws-key", 6, value, sizeof value - 1);

    rd_kafka_message_t *source = read_one(consumer, "source", 0);
    int marker = 0;
    ck_assert_int_eq(dlq_send(producer, "dlq", source, "reconciler-checker", "bad_magic",
                              "does not start with C3 01", &marker),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    int64_t source_offset = source->offset;
    rd_kafka_message_destroy(source); /* dlq_send copied what it needs */
    ck_assert_int_eq(rd_kafka_flush(producer, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    ck_assert_int_eq(delivery_count, 1);
    ck_assert_ptr_eq(delivered_opaque, &marker);
    ck_assert_int_eq(delivered_error, RD_KAFKA_RESP_ERR_NO_ERROR);

    rd_kafka_message_t *record = read_one(consumer, "dlq", 0);
    ck_assert_int_eq(record->key_len, 6);
    ck_assert_int_eq(memcmp(record->key, "ws-key", 6), 0);
    ck_assert_int_eq(record->len, sizeof value - 1);
    ck_assert_int_eq(memcmp(record->payload, value, sizeof value - 1), 0);
    size_t count = 0;
    ck_assert_str_eq(header(record, "reconciler.source.topic", &count), "source");
    ck_assert_str_eq(header(record, "reconciler.source.partition", &count), "0");
    char offset_text[32];
    snprintf(offset_text, sizeof offset_text, "%lld", (long long)source_offset);
    ck_assert_str_eq(header(record, "reconciler.source.offset", &count), offset_text);
    ck_assert_str_eq(header(record, "reconciler.error.detail", &count),
                     "does not start with C3 01");
    ck_assert_str_eq(header(record, "reconciler.program", &count), "reconciler-checker");
    ck_assert_str_eq(header(record, "trace-id", &count), "abc-123");
    /* The original's forged error header is gone: ours is the only one. */
    ck_assert_str_eq(header(record, "reconciler.error", &count), "bad_magic");
    ck_assert_int_eq(count, 1);
    rd_kafka_message_destroy(record);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    rd_kafka_destroy(producer);
}
END_TEST

START_TEST(test_dlq_keeps_a_tombstone_a_tombstone)
{
    rd_kafka_t *producer = new_client(RD_KAFKA_PRODUCER);
    rd_kafka_t *consumer = new_client(RD_KAFKA_CONSUMER);
    produce_source(producer, NULL, 0, NULL, 0);
    rd_kafka_message_t *source = read_one(consumer, "source", 0);
    ck_assert_ptr_null(source->payload);
    ck_assert_int_eq(dlq_send(producer, "dlq", source, "p", "too_short", "", NULL),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_message_destroy(source);
    ck_assert_int_eq(rd_kafka_flush(producer, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_message_t *record = read_one(consumer, "dlq", 0);
    ck_assert_ptr_null(record->payload);
    ck_assert_ptr_null(record->key);
    size_t count = 0;
    ck_assert_str_eq(header(record, "reconciler.error", &count), "too_short");
    rd_kafka_message_destroy(record);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    rd_kafka_destroy(producer);
}
END_TEST

START_TEST(test_dlq_rejects_missing_arguments)
{
    ck_assert_int_eq(dlq_send(NULL, "dlq", NULL, "p", "e", "d", NULL),
                     RD_KAFKA_RESP_ERR__INVALID_ARG);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("dlq");
    TCase *cases = tcase_create("mock_cluster");
    tcase_add_checked_fixture(cases, set_up, tear_down);
    tcase_set_timeout(cases, 60);
    tcase_add_test(cases, test_dlq_record_keeps_bytes_and_names_source_and_error);
    tcase_add_test(cases, test_dlq_keeps_a_tombstone_a_tombstone);
    tcase_add_test(cases, test_dlq_rejects_missing_arguments);
    suite_add_tcase(suite, cases);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
