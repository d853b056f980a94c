/* main.c — reconciler-topics: create the Kafka topics (docs/contracts.md §5) if they do not
 * exist, then prove with metadata that each exists with at least the wanted partitions.
 *
 * For: deployments (the compose `init` service, a Kubernetes Job, an operator by hand) that
 * need the four topics before the programs start, without a JVM or the Kafka CLI. Idempotent:
 * a topic that already exists is fine (TOPIC_ALREADY_EXISTS), as long as it has at least the
 * wanted partitions. Not for: growing or reconfiguring existing topics — adding partitions
 * moves keys to other partitions, which is an operator's decision, so a topic with too few is
 * reported (too_few_partitions), never altered. Nor a general Kafka admin tool: it knows only
 * the reconciler's topics and never deletes one; other topic work belongs to Kafka's own tools.
 *
 * Exit codes: 0 every topic is ready; 1 a named failure (logged as JSON on stderr with an
 * "error" field, see topics_error_name); 2 bad configuration. The whole run is bounded by
 * TOPICS_TIMEOUT, so an unreachable broker ends in kafka_unavailable rather than a hang. */
#include "config.h"
#include "kafka_config.h"
#include "log.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TOPICS_PROGRAM "reconciler-topics"
#define TOPIC_KIND_COUNT 5
/* How long to wait between metadata polls while a freshly created topic's partitions elect
 * their leaders: short next to a typical TOPICS_TIMEOUT, long enough not to hammer a broker. */
#define METADATA_RETRY_MS 250

typedef struct {
    common_settings common;
    int64_t partitions;
    int64_t replication;
    int64_t timeout_ms;
    char *topic_urgent_checks;
} topics_settings;

static const config_setting topics_table[] = {
    COMMON_SETTING_KAFKA_BOOTSTRAP_SERVERS(topics_settings, common),
    COMMON_SETTING_TOPIC_CHECKS(topics_settings, common),
    COMMON_SETTING_TOPIC_VERDICTS(topics_settings, common),
    COMMON_SETTING_TOPIC_ACTIONS(topics_settings, common),
    COMMON_SETTING_TOPIC_DLQ(topics_settings, common),
    SETTING_TOPIC_URGENT_CHECKS(topics_settings, topic_urgent_checks),
    COMMON_SETTING_LOG_LEVEL(topics_settings, common),
    {
        .env_name = "RECONCILER_TOPIC_PARTITIONS",
        .type = CONFIG_TYPE_INTEGER,
        .offset = offsetof(topics_settings, partitions),
        .default_text = "12",
        .minimum = 1,
        .maximum = 100000,
        .help = "Partitions of the checks, verdicts and actions topics when they are created "
                "(an existing topic must have at least this many). 12 lets up to 12 checkers "
                "share the work and divides evenly among 1, 2, 3, 4 or 6 of them. The DLQ "
                "always gets 1: people read it, in order",
    },
    {
        .env_name = "RECONCILER_TOPIC_REPLICATION",
        .type = CONFIG_TYPE_INTEGER,
        .offset = offsetof(topics_settings, replication),
        .default_text = "1",
        .minimum = 1,
        .maximum = 32767,
        .help = "Replication factor of every topic when it is created. 1 fits the single-broker "
                "dev stack; production wants 3 (with min.insync.replicas=2 on the broker or "
                "topic, since the programs produce with acks=all)",
    },
    {
        .env_name = "TOPICS_TIMEOUT",
        .type = CONFIG_TYPE_DURATION,
        .offset = offsetof(topics_settings, timeout_ms),
        .default_text = "30s",
        .minimum = 1000,
        .maximum = 10LL * 60 * 1000,
        .help = "Bound on the whole run: creating the topics and waiting until every partition "
                "has a leader. An unreachable broker fails with kafka_unavailable after this; "
                "30s rides out a broker that is still starting",
    },
};

static bool topics_settings_validate(void *parsed, const config_kafka_properties *kafka_properties,
                                     char *error_buffer, size_t error_size);

static const config_program topics_program = {
    .program_name = TOPICS_PROGRAM,
    .summary = "Creates the reconciler's topics if they are missing: RECONCILER_TOPIC_CHECKS, "
               "RECONCILER_TOPIC_VERDICTS and RECONCILER_TOPIC_ACTIONS with "
               "RECONCILER_TOPIC_PARTITIONS partitions each, RECONCILER_TOPIC_DLQ with 1, all "
               "with RECONCILER_TOPIC_REPLICATION replicas. A topic that already exists is left "
               "as it is. Then reads the cluster's metadata and checks that every topic exists "
               "with at least the wanted partitions, each with a leader. Prints one line per "
               "topic on stdout (name, partitions, replicas, created|exists) and exits 0; on a "
               "failure logs a JSON line whose \"error\" names it (kafka_unavailable, "
               "create_failed, metadata_failed, topic_missing, too_few_partitions, "
               "partition_without_leader, kafka_client_failed) and exits 1. Run it as often as "
               "you like: it is idempotent.",
    .examples =
        "Examples:\n"
        "  KAFKA_BOOTSTRAP_SERVERS=kafka:9092 reconciler-topics\n"
        "  reconciler-topics --reconciler-topic-replication 3 --topics-timeout 2m\n"
        "  RECONCILER_KAFKA_SECURITY_PROTOCOL=SASL_SSL \\\n"
        "    RECONCILER_KAFKA_SASL_MECHANISM=SCRAM-SHA-512 \\\n"
        "    RECONCILER_KAFKA_SASL_USERNAME=reconciler RECONCILER_KAFKA_SASL_PASSWORD=... \\\n"
        "    reconciler-topics --check-config\n",
    .settings = topics_table,
    .setting_count = sizeof topics_table / sizeof topics_table[0],
    .accepts_kafka_properties = true,
    .validate = topics_settings_validate,
};

/* Every failure has a stable name: it is the "error" field of the log line, so an operator
 * (or an init container's log scraper) can tell a broker outage from a misconfigured topic. */
typedef enum {
    TOPICS_OK = 0,
    TOPICS_ERROR_KAFKA_CLIENT,      /* rd_kafka_new or the admin options failed */
    TOPICS_ERROR_KAFKA_UNAVAILABLE, /* no broker/controller answered within TOPICS_TIMEOUT */
    TOPICS_ERROR_CREATE_FAILED,     /* the broker refused a topic (policy, replication, ACL) */
    TOPICS_ERROR_METADATA_FAILED,   /* the metadata request itself failed */
    TOPICS_ERROR_TOPIC_MISSING,     /* metadata does not list the topic (or lists an error) */
    TOPICS_ERROR_TOO_FEW_PARTITIONS,
    TOPICS_ERROR_NO_LEADER, /* a partition has no leader (yet) when time ran out */
} topics_error;

static const char *topics_error_name(topics_error error)
{
    switch (error) {
    case TOPICS_OK:
        return "ok";
    case TOPICS_ERROR_KAFKA_CLIENT:
        return "kafka_client_failed";
    case TOPICS_ERROR_KAFKA_UNAVAILABLE:
        return "kafka_unavailable";
    case TOPICS_ERROR_CREATE_FAILED:
        return "create_failed";
    case TOPICS_ERROR_METADATA_FAILED:
        return "metadata_failed";
    case TOPICS_ERROR_TOPIC_MISSING:
        return "topic_missing";
    case TOPICS_ERROR_TOO_FEW_PARTITIONS:
        return "too_few_partitions";
    case TOPICS_ERROR_NO_LEADER:
        return "partition_without_leader";
    }
    return "unknown";
}

/* One topic the reconciler needs. */
typedef struct {
    const char *variable; /* RECONCILER_TOPIC_CHECKS, for error lines */
    const char *name;
    int partitions;
    bool created; /* this run created it (else it already existed) */
    int found_partitions;
    int found_replicas; /* of the first partition, for the report line */
} wanted_topic;

/* The five topics from the settings (the urgent lane's partitions like the checks'). The DLQ always
 * wants 1 partition (docs/contracts.md §5). */
static void wanted_topics_from(const topics_settings *settings, wanted_topic *out)
{
    const char *variables[TOPIC_KIND_COUNT] = {
        "RECONCILER_TOPIC_CHECKS", "RECONCILER_TOPIC_VERDICTS", "RECONCILER_TOPIC_ACTIONS",
        "RECONCILER_TOPIC_URGENT_CHECKS", "RECONCILER_TOPIC_DLQ"};
    const char *names[TOPIC_KIND_COUNT] = {
        settings->common.topic_checks, settings->common.topic_verdicts,
        settings->common.topic_actions, settings->topic_urgent_checks, settings->common.topic_dlq};
    for (int i = 0; i < TOPIC_KIND_COUNT; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].variable = variables[i];
        out[i].name = names[i];
        out[i].partitions = i == TOPIC_KIND_COUNT - 1 ? 1 : (int)settings->partitions;
    }
}

/* topics_program's validate hook: what the table cannot say. Two roles sharing one topic would
 * mix record types (a checker would read its own verdicts as undecodable requests). false
 * with a one-line error. */
static bool topics_settings_validate(void *parsed, const config_kafka_properties *kafka_properties,
                                     char *error_buffer, size_t error_size)
{
    const topics_settings *settings = parsed;
    wanted_topic topics[TOPIC_KIND_COUNT];
    wanted_topics_from(settings, topics);
    for (int i = 0; i < TOPIC_KIND_COUNT; i++) {
        for (int j = 0; j < i; j++) {
            if (strcmp(topics[i].name, topics[j].name) == 0) {
                snprintf(error_buffer, error_size, "%s: %s: same topic as %s ('%.200s')",
                         TOPICS_PROGRAM, topics[i].variable, topics[j].variable, topics[i].name);
                return false;
            }
        }
    }
    /* Build (and drop) the Kafka configuration, so a mistyped RECONCILER_KAFKA_* property or
     * --kafka-prop is a configuration error (exit 2, also under --check-config) rather than a
     * run-time failure. */
    char reason[512];
    rd_kafka_conf_t *conf = kafka_config_new(&settings->common, kafka_properties, TOPICS_PROGRAM,
                                             reason, sizeof reason);
    if (conf == NULL) {
        snprintf(error_buffer, error_size, "%s: %s", TOPICS_PROGRAM, reason);
        return false;
    }
    rd_kafka_conf_destroy(conf);
    return true;
}

static int64_t monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Milliseconds left until `deadline_ms` (monotonic), at least 1 so that every call still gets
 * a chance to report its own time-out rather than an invalid argument. */
static int remaining_ms(int64_t deadline_ms)
{
    int64_t left = deadline_ms - monotonic_ms();
    return left < 1 ? 1 : (int)left;
}

static void log_failure(topics_error error, const char *topic, const char *detail)
{
    log_error("topics not ready", "{s:s, s:s, s:s}", "error", topics_error_name(error), "topic",
              topic != NULL ? topic : "", "detail", detail != NULL ? detail : "");
}

/* Errors that mean "nobody answered" rather than "a broker said no". */
static bool is_unavailable(rd_kafka_resp_err_t error)
{
    return error == RD_KAFKA_RESP_ERR__TIMED_OUT || error == RD_KAFKA_RESP_ERR__TRANSPORT ||
           error == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || error == RD_KAFKA_RESP_ERR__RESOLVE ||
           error == RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE;
}

/* Sends one CreateTopics request for all four topics and waits for its result. A topic that
 * exists already is fine; its `created` stays false. Returns TOPICS_OK or the failure (logged).
 */
static topics_error create_topics(rd_kafka_t *kafka, wanted_topic *topics, int replication,
                                  int64_t deadline_ms)
{
    char reason[512];
    topics_error failure = TOPICS_OK;
    rd_kafka_NewTopic_t *requests[TOPIC_KIND_COUNT] = {NULL};
    rd_kafka_AdminOptions_t *options = NULL;
    rd_kafka_queue_t *queue = NULL;
    rd_kafka_event_t *event = NULL;

    for (int i = 0; i < TOPIC_KIND_COUNT; i++) {
        requests[i] = rd_kafka_NewTopic_new(topics[i].name, topics[i].partitions, replication,
                                            reason, sizeof reason);
        if (requests[i] == NULL) {
            log_failure(TOPICS_ERROR_CREATE_FAILED, topics[i].name, reason);
            failure = TOPICS_ERROR_CREATE_FAILED;
            goto done;
        }
    }
    options = rd_kafka_AdminOptions_new(kafka, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    if (options == NULL) {
        log_failure(TOPICS_ERROR_KAFKA_CLIENT, NULL, "rd_kafka_AdminOptions_new failed");
        failure = TOPICS_ERROR_KAFKA_CLIENT;
        goto done;
    }
    /* The request timeout covers finding the controller, which is what an unreachable broker
     * makes impossible; the operation timeout makes the controller answer only once the topics
     * exist, so the metadata check below rarely has to wait. Both share the run's deadline. */
    int timeout = remaining_ms(deadline_ms);
    if (rd_kafka_AdminOptions_set_request_timeout(options, timeout, reason, sizeof reason) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_AdminOptions_set_operation_timeout(options, timeout, reason, sizeof reason) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_failure(TOPICS_ERROR_KAFKA_CLIENT, NULL, reason);
        failure = TOPICS_ERROR_KAFKA_CLIENT;
        goto done;
    }
    queue = rd_kafka_queue_new(kafka);
    if (queue == NULL) {
        log_failure(TOPICS_ERROR_KAFKA_CLIENT, NULL, "rd_kafka_queue_new failed");
        failure = TOPICS_ERROR_KAFKA_CLIENT;
        goto done;
    }
    rd_kafka_CreateTopics(kafka, requests, TOPIC_KIND_COUNT, options, queue);

    /* librdkafka always delivers a result event by the request timeout; the extra second only
     * guards against waiting forever should it not. */
    event = rd_kafka_queue_poll(queue, remaining_ms(deadline_ms) + 1000);
    if (event == NULL) {
        log_failure(TOPICS_ERROR_KAFKA_UNAVAILABLE, NULL,
                    "CreateTopics: no result within TOPICS_TIMEOUT");
        failure = TOPICS_ERROR_KAFKA_UNAVAILABLE;
        goto done;
    }
    rd_kafka_resp_err_t request_error = rd_kafka_event_error(event);
    if (request_error != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(reason, sizeof reason, "CreateTopics: %s: %s", rd_kafka_err2name(request_error),
                 rd_kafka_event_error_string(event));
        failure = is_unavailable(request_error) ? TOPICS_ERROR_KAFKA_UNAVAILABLE
                                                : TOPICS_ERROR_CREATE_FAILED;
        log_failure(failure, NULL, reason);
        goto done;
    }
    const rd_kafka_CreateTopics_result_t *result = rd_kafka_event_CreateTopics_result(event);
    size_t result_count = 0;
    const rd_kafka_topic_result_t **results =
        result != NULL ? rd_kafka_CreateTopics_result_topics(result, &result_count) : NULL;
    for (size_t r = 0; r < result_count; r++) {
        const char *name = rd_kafka_topic_result_name(results[r]);
        rd_kafka_resp_err_t error = rd_kafka_topic_result_error(results[r]);
        for (int i = 0; i < TOPIC_KIND_COUNT; i++) {
            if (strcmp(topics[i].name, name) != 0) {
                continue;
            }
            if (error == RD_KAFKA_RESP_ERR_NO_ERROR) {
                topics[i].created = true;
            } else if (error != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                const char *message = rd_kafka_topic_result_error_string(results[r]);
                snprintf(reason, sizeof reason, "%s: %s", rd_kafka_err2name(error),
                         message != NULL ? message : rd_kafka_err2str(error));
                failure = is_unavailable(error) ? TOPICS_ERROR_KAFKA_UNAVAILABLE
                                                : TOPICS_ERROR_CREATE_FAILED;
                log_failure(failure, name, reason);
            }
        }
    }

done:
    if (event != NULL) {
        rd_kafka_event_destroy(event);
    }
    if (queue != NULL) {
        rd_kafka_queue_destroy(queue);
    }
    if (options != NULL) {
        rd_kafka_AdminOptions_destroy(options);
    }
    rd_kafka_NewTopic_destroy_array(requests, TOPIC_KIND_COUNT);
    return failure;
}

/* Pure: judges one topic against the cluster's metadata. Fills found_partitions and
 * found_replicas; on a failure writes what is wrong into detail. */
static topics_error judge_topic(const struct rd_kafka_metadata *metadata, wanted_topic *topic,
                                char *detail, size_t detail_size)
{
    for (int t = 0; t < metadata->topic_cnt; t++) {
        const struct rd_kafka_metadata_topic *found = &metadata->topics[t];
        if (strcmp(found->topic, topic->name) != 0) {
            continue;
        }
        if (found->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(detail, detail_size, "metadata lists the topic with %s",
                     rd_kafka_err2name(found->err));
            return TOPICS_ERROR_TOPIC_MISSING;
        }
        topic->found_partitions = found->partition_cnt;
        topic->found_replicas = found->partition_cnt > 0 ? found->partitions[0].replica_cnt : 0;
        if (found->partition_cnt < topic->partitions) {
            snprintf(detail, detail_size,
                     "%d partitions, %s wants at least %d (add partitions deliberately: keys "
                     "move to other partitions)",
                     found->partition_cnt, topic->variable, topic->partitions);
            return TOPICS_ERROR_TOO_FEW_PARTITIONS;
        }
        for (int p = 0; p < found->partition_cnt; p++) {
            if (found->partitions[p].leader < 0 ||
                found->partitions[p].err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE) {
                snprintf(detail, detail_size, "partition %d has no leader",
                         (int)found->partitions[p].id);
                return TOPICS_ERROR_NO_LEADER;
            }
        }
        return TOPICS_OK;
    }
    snprintf(detail, detail_size, "not in the cluster's metadata");
    return TOPICS_ERROR_TOPIC_MISSING;
}

/* Reads the metadata until every topic is ready or the deadline passes: right after creation a
 * broker may not list the topic or its leaders yet. Too few partitions is final at once (no
 * amount of waiting fixes it). Returns TOPICS_OK or the last failure (logged). */
static topics_error verify_topics(rd_kafka_t *kafka, wanted_topic *topics, int64_t deadline_ms)
{
    char detail[512] = "";
    const char *failed_topic = NULL;
    topics_error failure = TOPICS_OK;
    for (;;) {
        const struct rd_kafka_metadata *metadata = NULL;
        /* all_topics=1: asking for named topics through a topic handle could make a broker with
         * auto.create.topics.enable create them with its defaults behind our back. */
        rd_kafka_resp_err_t error =
            rd_kafka_metadata(kafka, 1, NULL, &metadata, remaining_ms(deadline_ms));
        if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(detail, sizeof detail, "rd_kafka_metadata: %s: %s", rd_kafka_err2name(error),
                     rd_kafka_err2str(error));
            failed_topic = NULL;
            failure = is_unavailable(error) ? TOPICS_ERROR_KAFKA_UNAVAILABLE
                                            : TOPICS_ERROR_METADATA_FAILED;
        } else {
            failure = TOPICS_OK;
            for (int i = 0; i < TOPIC_KIND_COUNT && failure == TOPICS_OK; i++) {
                failure = judge_topic(metadata, &topics[i], detail, sizeof detail);
                failed_topic = topics[i].name;
            }
            rd_kafka_metadata_destroy(metadata);
        }
        if (failure == TOPICS_OK || failure == TOPICS_ERROR_TOO_FEW_PARTITIONS ||
            monotonic_ms() + METADATA_RETRY_MS >= deadline_ms) {
            break;
        }
        struct timespec pause = {0, METADATA_RETRY_MS * 1000000L};
        nanosleep(&pause, NULL);
    }
    if (failure != TOPICS_OK) {
        log_failure(failure, failed_topic, detail);
    }
    return failure;
}

/* Runs the whole job with a configured client. Returns the process exit code. */
static int run(const topics_settings *settings, const config_kafka_properties *kafka_properties)
{
    int64_t deadline_ms = monotonic_ms() + settings->timeout_ms;
    wanted_topic topics[TOPIC_KIND_COUNT];
    wanted_topics_from(settings, topics);

    char reason[512];
    rd_kafka_conf_t *conf = kafka_config_new(&settings->common, kafka_properties, TOPICS_PROGRAM,
                                             reason, sizeof reason);
    if (conf == NULL) {
        log_failure(TOPICS_ERROR_KAFKA_CLIENT, NULL, reason);
        return 1;
    }
    rd_kafka_t *kafka = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason);
    if (kafka == NULL) {
        rd_kafka_conf_destroy(conf); /* rd_kafka_new failed: still ours */
        log_failure(TOPICS_ERROR_KAFKA_CLIENT, NULL, reason);
        return 1;
    }
    conf = NULL; /* now owned by kafka */

    topics_error failure = create_topics(kafka, topics, (int)settings->replication, deadline_ms);
    if (failure == TOPICS_OK) {
        failure = verify_topics(kafka, topics, deadline_ms);
    }
    if (failure == TOPICS_OK) {
        for (int i = 0; i < TOPIC_KIND_COUNT; i++) {
            printf("%s\t%d partitions\t%d replicas\t%s\n", topics[i].name,
                   topics[i].found_partitions, topics[i].found_replicas,
                   topics[i].created ? "created" : "exists");
            log_info("topic ready", "{s:s, s:i, s:i, s:i, s:b}", "topic", topics[i].name,
                     "partitions", topics[i].found_partitions, "wanted_partitions",
                     topics[i].partitions, "replicas", topics[i].found_replicas, "created",
                     topics[i].created);
            if (topics[i].found_replicas < settings->replication) {
                /* Not a failure: the topic exists and works; its replication is the operator's
                 * (altering it needs a reassignment), but it should know. */
                log_warn("topic has fewer replicas than RECONCILER_TOPIC_REPLICATION",
                         "{s:s, s:i, s:I}", "topic", topics[i].name, "replicas",
                         topics[i].found_replicas, "wanted_replicas",
                         (json_int_t)settings->replication);
            }
        }
        fflush(stdout);
    }
    /* No messages were produced, so destroy does not wait for deliveries. */
    rd_kafka_destroy(kafka);
    return failure == TOPICS_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    topics_settings settings;
    memset(&settings, 0, sizeof settings);
    config_kafka_properties kafka_properties = {NULL, 0};
    config_result parsed =
        config_parse(&topics_program, &settings, &kafka_properties, argc, argv, NULL);
    if (parsed == CONFIG_RESULT_EXIT_OK) {
        return 0;
    }
    if (parsed != CONFIG_RESULT_RUN) {
        return 2;
    }
    log_init(TOPICS_PROGRAM, (log_level)settings.common.log_level);
    /* No signal handlers: the run is short and bounded by TOPICS_TIMEOUT, nothing is produced,
     * and an interrupted CreateTopics is harmless (the next run finds the topics or makes
     * them), so the default action of SIGTERM/SIGINT is the clean stop. */
    int code = run(&settings, &kafka_properties);
    config_free(&topics_program, &settings, &kafka_properties);
    return code;
}
