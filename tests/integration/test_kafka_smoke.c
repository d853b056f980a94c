/* Smoke test through the real Kafka broker of the local stack: a CheckRequest encoded by our
 * codec is produced with our producer configuration (idempotent, acks=all), its delivery
 * report confirmed, then consumed back with our consumer configuration and decoded to the
 * same values. Needs KAFKA_BOOTSTRAP_SERVERS (scripts/test.sh sets it). */
#include <check.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "codec.h"
#include "config.h"
#include "kafka_config.h"
#include "timeutil.h"

static char topic_name[64];
static common_settings common;

static void create_topic(void)
{
    char error[512];
    rd_kafka_conf_t *conf = kafka_config_new(&common, NULL, "smoke-admin", error, sizeof error);
    ck_assert_msg(conf != NULL, "%s", error);
    rd_kafka_t *admin = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    ck_assert_msg(admin != NULL, "rd_kafka_new: %s", error);
    rd_kafka_NewTopic_t *topic = rd_kafka_NewTopic_new(topic_name, 1, 1, error, sizeof error);
    ck_assert_msg(topic != NULL, "%s", error);
    rd_kafka_queue_t *queue = rd_kafka_queue_new(admin);
    rd_kafka_CreateTopics(admin, &topic, 1, NULL, queue);
    rd_kafka_event_t *event = rd_kafka_queue_poll(queue, 30000);
    ck_assert_msg(event != NULL, "CreateTopics: no answer within 30 s");
    const rd_kafka_CreateTopics_result_t *result = rd_kafka_event_CreateTopics_result(event);
    size_t count = 0;
    const rd_kafka_topic_result_t **results = rd_kafka_CreateTopics_result_topics(result, &count);
    ck_assert_int_eq(count, 1);
    ck_assert_msg(rd_kafka_topic_result_error(results[0]) == RD_KAFKA_RESP_ERR_NO_ERROR,
                  "CreateTopics: %s", rd_kafka_topic_result_error_string(results[0]));
    rd_kafka_event_destroy(event);
    rd_kafka_queue_destroy(queue);
    rd_kafka_NewTopic_destroy(topic);
    rd_kafka_destroy(admin);
}

static rd_kafka_resp_err_t delivery_error = RD_KAFKA_RESP_ERR__IN_PROGRESS;

static void on_delivery(rd_kafka_t *kafka, const rd_kafka_message_t *message, void *opaque)
{
    (void)kafka;
    (void)opaque;
    delivery_error = message->err;
}

START_TEST(test_kafka_encoded_check_request_round_trips_through_real_broker)
{
    char error[512];
    uuid_t raw;
    char suffix[37];
    uuid_generate_random(raw);
    uuid_unparse_lower(raw, suffix);
    snprintf(topic_name, sizeof topic_name, "smoke.%s", suffix);
    create_topic();

    check_request sent = {.workspace_id = "5b0c3f7e-8f51-4c43-9d3c-0a3c1f4b2d11",
                          .instance_id = "i-0abc123",
                          .sweep_id = suffix,
                          .sweep_size = 1,
                          .enqueued_at = time_now_wall_ms(),
                          .deadline = time_now_wall_ms() + 60000,
                          .producer_id = "smoke"};
    uint8_t *encoded = NULL;
    size_t encoded_length = 0;
    ck_assert_int_eq(codec_encode_check_request(&sent, &encoded, &encoded_length), CODEC_OK);

    rd_kafka_conf_t *producer_conf =
        kafka_config_new_producer(&common, NULL, "smoke-producer", error, sizeof error);
    ck_assert_msg(producer_conf != NULL, "%s", error);
    rd_kafka_conf_set_dr_msg_cb(producer_conf, on_delivery);
    rd_kafka_t *producer = rd_kafka_new(RD_KAFKA_PRODUCER, producer_conf, error, sizeof error);
    ck_assert_msg(producer != NULL, "rd_kafka_new: %s", error);
    rd_kafka_resp_err_t produce_error =
        rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic_name),
                          RD_KAFKA_V_KEY(sent.workspace_id, strlen(sent.workspace_id)),
                          RD_KAFKA_V_VALUE(encoded, encoded_length),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    ck_assert_msg(produce_error == RD_KAFKA_RESP_ERR_NO_ERROR, "producev: %s",
                  rd_kafka_err2str(produce_error));
    ck_assert_int_eq(rd_kafka_flush(producer, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
    /* The delivery report, not the flush, is the proof the broker has the message. */
    ck_assert_msg(delivery_error == RD_KAFKA_RESP_ERR_NO_ERROR, "delivery: %s",
                  rd_kafka_err2str(delivery_error));
    rd_kafka_destroy(producer);
    free(encoded);

    rd_kafka_conf_t *consumer_conf =
        kafka_config_new_consumer(&common, NULL, "smoke-consumer", suffix, error, sizeof error);
    ck_assert_msg(consumer_conf != NULL, "%s", error);
    rd_kafka_t *consumer = rd_kafka_new(RD_KAFKA_CONSUMER, consumer_conf, error, sizeof error);
    ck_assert_msg(consumer != NULL, "rd_kafka_new: %s", error);
    rd_kafka_poll_set_consumer(consumer);
    rd_kafka_topic_partition_list_t *subscription = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subscription, topic_name, RD_KAFKA_PARTITION_UA);
    ck_assert_int_eq(rd_kafka_subscribe(consumer, subscription), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(subscription);

    check_request received = {0};
    bool got = false;
    int64_t deadline = time_now_monotonic_ms() + 60000;
    while (!got && time_now_monotonic_ms() < deadline) {
        rd_kafka_message_t *message = rd_kafka_consumer_poll(consumer, 500);
        if (message == NULL)
            continue;
        if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            ck_assert_int_eq(codec_decode_check_request(message->payload, message->len, &received),
                             CODEC_OK);
            ck_assert_int_eq((int)message->key_len, (int)strlen(sent.workspace_id));
            ck_assert(memcmp(message->key, sent.workspace_id, message->key_len) == 0);
            got = true;
        }
        rd_kafka_message_destroy(message);
    }
    ck_assert_msg(got, "no message consumed within 60 s");
    ck_assert_str_eq(received.workspace_id, sent.workspace_id);
    ck_assert_str_eq(received.instance_id, sent.instance_id);
    ck_assert_str_eq(received.sweep_id, sent.sweep_id);
    ck_assert_int_eq(received.deadline, sent.deadline);
    ck_assert_int_eq(received.enqueued_at, sent.enqueued_at);
    check_request_free(&received);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
}
END_TEST

int main(void)
{
    const char *bootstrap = getenv("KAFKA_BOOTSTRAP_SERVERS");
    if (bootstrap == NULL || bootstrap[0] == '\0') {
        fprintf(stderr, "KAFKA_BOOTSTRAP_SERVERS is not set: run through scripts/test.sh\n");
        return EXIT_FAILURE;
    }
    common.kafka_bootstrap_servers = (char *)bootstrap;
    if (!codec_init()) {
        fprintf(stderr, "codec_init failed\n");
        return EXIT_FAILURE;
    }
    Suite *suite = suite_create("kafka_smoke");
    TCase *cases = tcase_create("broker");
    tcase_set_timeout(cases, 120);
    tcase_add_test(cases, test_kafka_encoded_check_request_round_trips_through_real_broker);
    suite_add_tcase(suite, cases);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    codec_shutdown();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
