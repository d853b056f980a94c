/* audit_run.c — one run of reconciler-audit: plan, read, decode, then stream or report.
 *
 * The steps, in order (each failure is named, see audit_failure.h):
 *   1. with --verify and a DATABASE_URL: read the actuator's flips (before step 2, so every
 *      row published by then lies below the end offsets taken next);
 *   2. plan: partition counts, watermarks, offsets for the --from/--to times, the partition of
 *      --workspace; the end of the range is fixed here, so the run terminates;
 *   3. read every planned partition to its end; each record is decoded (undecodable ones are
 *      reported and skipped) and either written out at once (the record dump) or kept;
 *   4. reports: timeline, summary, verify (plus the database read after the topics, so every
 *      flip read was committed before it);
 *   5. exit code: 1 when --verify found a violation. */
#include "audit_run.h"

#include "audit_cross_check.h"
#include "audit_database.h"
#include "audit_failure.h"
#include "audit_kafka.h"
#include "audit_output.h"
#include "audit_partitioner.h"
#include "audit_range.h"
#include "audit_records.h"
#include "audit_summary.h"
#include "audit_timeline.h"
#include "audit_verify.h"
#include "codec.h"
#include "log.h"
#include "timeutil.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uuid/uuid.h>

#define PROGRESS_INTERVAL_MS 2000

/* What one topic's read looks like. */
typedef struct {
    const char *name;
    int32_t partition_count;
    audit_partition_facts *facts;
    audit_partition_plan *plan;
    int64_t *first_timestamp; /* per partition: timestamp of the first record read, or -1 */
} topic_state;

/* Everything the message handler needs. */
typedef struct {
    const audit_settings *settings;
    const char *workspace; /* NULL = all */
    const char *topic_names[AUDIT_TOPIC_COUNT];
    topic_state *topics;
    audit_record_writer *writer; /* the record dump, or NULL */
    audit_record_set *records;   /* the reports, or NULL */
    int64_t counts[AUDIT_TOPIC_COUNT];
    int64_t undecodable;
} run_context;

static void free_topic(topic_state *topic)
{
    free(topic->facts);
    free(topic->plan);
    free(topic->first_timestamp);
    memset(topic, 0, sizeof *topic);
}

static int fail(audit_failure failure, const char *detail)
{
    log_error("audit failed", "{s:s, s:s}", "error", audit_failure_name(failure), "detail",
              detail != NULL ? detail : "");
    if (failure == AUDIT_FAILURE_INTERRUPTED) {
        return AUDIT_EXIT_INTERRUPTED;
    }
    return failure == AUDIT_FAILURE_NO_SUCH_PARTITION ? AUDIT_EXIT_USAGE : AUDIT_EXIT_FAILURE;
}

/* ---- step 2: the plan ---------------------------------------------------------------------- */

static audit_failure plan_topic(audit_reader *reader, const audit_settings *settings,
                                const audit_bound *from, const audit_bound *to, audit_topic which,
                                topic_state *topic, char *error, size_t error_size)
{
    audit_failure failure = audit_reader_partition_count(
        reader, topic->name, &topic->partition_count, error, error_size);
    if (failure != AUDIT_FAILURE_NONE) {
        return failure;
    }
    size_t count = (size_t)topic->partition_count;
    topic->facts = calloc(count, sizeof *topic->facts);
    topic->plan = calloc(count, sizeof *topic->plan);
    topic->first_timestamp = malloc(count * sizeof *topic->first_timestamp);
    int64_t *times = calloc(count, sizeof *times);
    if (topic->facts == NULL || topic->plan == NULL || topic->first_timestamp == NULL ||
        times == NULL) {
        free(times);
        snprintf(error, error_size, "out of memory");
        return AUDIT_FAILURE_OUT_OF_MEMORY;
    }
    for (size_t partition = 0; partition < count; partition++) {
        topic->first_timestamp[partition] = -1;
    }
    for (int32_t partition = 0; failure == AUDIT_FAILURE_NONE && partition < topic->partition_count;
         partition++) {
        failure =
            audit_reader_watermarks(reader, topic->name, partition, &topic->facts[partition].low,
                                    &topic->facts[partition].high, error, error_size);
    }
    const audit_bound *bounds[2] = {from, to};
    for (int side = 0; failure == AUDIT_FAILURE_NONE && side < 2; side++) {
        if (bounds[side]->kind != AUDIT_BOUND_TIMESTAMP) {
            continue;
        }
        failure =
            audit_reader_offsets_for_time(reader, topic->name, topic->partition_count,
                                          bounds[side]->timestamp_ms, times, error, error_size);
        for (size_t partition = 0; failure == AUDIT_FAILURE_NONE && partition < count;
             partition++) {
            if (side == 0) {
                topic->facts[partition].from_time_offset = times[partition];
            } else {
                topic->facts[partition].to_time_offset = times[partition];
            }
        }
    }
    free(times);
    if (failure != AUDIT_FAILURE_NONE) {
        return failure;
    }
    int32_t only_partition = -1;
    const char *workspace = settings->workspace;
    if (workspace != NULL && workspace[0] != '\0' && !settings->full_scan) {
        only_partition = audit_partition_for_key(settings->partitioner, workspace,
                                                 strlen(workspace), topic->partition_count);
    }
    audit_range_error range_error = audit_plan_topic(from, to, which, topic->partition_count,
                                                     topic->facts, only_partition, topic->plan);
    if (range_error != AUDIT_RANGE_OK) {
        snprintf(error, error_size,
                 "--from/--to name a partition that %s (%d partitions) does not have", topic->name,
                 (int)topic->partition_count);
        return AUDIT_FAILURE_NO_SUCH_PARTITION;
    }
    for (int32_t partition = 0; partition < topic->partition_count; partition++) {
        const audit_partition_plan *entry = &topic->plan[partition];
        if (entry->start_below_low_watermark) {
            log_warn("start offset already deleted by retention: reading from the first stored "
                     "offset",
                     "{s:s, s:i, s:I}", "topic", topic->name, "partition", (int)partition, "start",
                     (json_int_t)entry->start);
        }
        if (entry->end_beyond_high_watermark) {
            log_warn("end offset not written yet: reading to the current end", "{s:s, s:i, s:I}",
                     "topic", topic->name, "partition", (int)partition, "end",
                     (json_int_t)entry->end);
        }
    }
    return AUDIT_FAILURE_NONE;
}

/* ---- step 3: each record ------------------------------------------------------------------- */

static bool key_is(const audit_message *message, const char *workspace)
{
    size_t length = strlen(workspace);
    return message->key_length == length && memcmp(message->key, workspace, length) == 0;
}

static bool handle_message(void *opaque, const audit_message *message, audit_failure *failure)
{
    run_context *context = opaque;
    topic_state *topic = &context->topics[message->topic];
    if (message->partition >= 0 && message->partition < topic->partition_count &&
        topic->first_timestamp[message->partition] < 0) {
        topic->first_timestamp[message->partition] = message->timestamp_ms;
    }
    /* --workspace: the key decides without decoding; a keyless record is decoded and judged
     * by its workspace_id (or reported, if it does not decode: it cannot be attributed). */
    if (context->workspace != NULL && message->key != NULL &&
        !key_is(message, context->workspace)) {
        return true;
    }
    bool key_failed = false;
    audit_position position = {message->partition, message->offset, message->timestamp_ms,
                               audit_key_text(message->key, message->key_length, &key_failed)};
    if (key_failed) {
        *failure = AUDIT_FAILURE_OUT_OF_MEMORY;
        return false;
    }
    codec_error error;
    verdict decoded_verdict;
    action decoded_action;
    const char *workspace_id = NULL;
    if (message->topic == AUDIT_TOPIC_VERDICTS) {
        error = codec_decode_verdict(message->value, message->value_length, &decoded_verdict);
        workspace_id = decoded_verdict.workspace_id;
    } else {
        error = codec_decode_action(message->value, message->value_length, &decoded_action);
        workspace_id = decoded_action.workspace_id;
    }
    bool ok = true;
    if (error != CODEC_OK) {
        context->undecodable++;
        log_warn("undecodable record skipped", "{s:s, s:i, s:I, s:s}", "topic", topic->name,
                 "partition", (int)message->partition, "offset", (json_int_t)message->offset,
                 "error", codec_error_name(error));
        if (context->records != NULL) {
            ok = audit_records_add_undecodable(context->records, message->topic, &position, error);
            *failure = AUDIT_FAILURE_OUT_OF_MEMORY;
        } else {
            ok = audit_record_writer_undecodable(context->writer, message->topic, &position, error,
                                                 message->value, message->value_length);
        }
        audit_position_free(&position);
        return ok;
    }
    bool wanted = context->workspace == NULL || strcmp(workspace_id, context->workspace) == 0;
    context->counts[message->topic] += wanted;
    if (!wanted) {
        /* a keyless record of another workspace: freed below */
    } else if (context->records != NULL) {
        /* The record set takes the position and the record over, also on failure. */
        *failure = AUDIT_FAILURE_OUT_OF_MEMORY;
        return message->topic == AUDIT_TOPIC_VERDICTS
                   ? audit_records_add_verdict(context->records, &position, &decoded_verdict)
                   : audit_records_add_action(context->records, &position, &decoded_action);
    } else if (message->topic == AUDIT_TOPIC_VERDICTS) {
        ok = audit_record_writer_verdict(context->writer, &position, &decoded_verdict,
                                         message->value, message->value_length);
    } else {
        ok = audit_record_writer_action(context->writer, &position, &decoded_action, message->value,
                                        message->value_length);
    }
    if (message->topic == AUDIT_TOPIC_VERDICTS) {
        verdict_free(&decoded_verdict);
    } else {
        action_free(&decoded_action);
    }
    audit_position_free(&position);
    return ok;
}

/* ---- step 4: the cross-check's window ------------------------------------------------------ */

/* Which published database rows the actions read must contain (see audit_cross_check.h). */
static void cross_check_window(const audit_bound *from, const audit_bound *to,
                               const topic_state *actions, int64_t now_ms,
                               audit_cross_check_options *options)
{
    options->compare_database_to_topic = !audit_bound_names_topic(from, AUDIT_TOPIC_ACTIONS) &&
                                         !audit_bound_names_topic(to, AUDIT_TOPIC_ACTIONS) &&
                                         from->kind != AUDIT_BOUND_END &&
                                         to->kind != AUDIT_BOUND_BEGINNING;
    options->window_start_ms = INT64_MIN;
    options->window_end_ms = INT64_MAX;
    if (from->kind == AUDIT_BOUND_TIMESTAMP) {
        options->window_start_ms = from->timestamp_ms + AUDIT_PUBLICATION_MARGIN_MS;
    } else {
        /* From the beginning: records deleted by Kafka's retention cannot be read, so rows
         * older than the oldest record still stored in any partition are not compared. A
         * partition emptied by retention gives no such time: then nothing is compared. */
        int64_t oldest_kept = INT64_MIN;
        for (int32_t partition = 0; partition < actions->partition_count; partition++) {
            const audit_partition_plan *plan = &actions->plan[partition];
            if (!plan->read || actions->facts[partition].low == 0) {
                continue;
            }
            int64_t first = actions->first_timestamp[partition];
            int64_t kept = first >= 0 ? first : now_ms;
            oldest_kept = kept > oldest_kept ? kept : oldest_kept;
        }
        if (oldest_kept != INT64_MIN) {
            options->window_start_ms = oldest_kept + AUDIT_PUBLICATION_MARGIN_MS;
        }
    }
    if (to->kind == AUDIT_BOUND_TIMESTAMP) {
        options->window_end_ms = to->timestamp_ms - AUDIT_CLOCK_SKEW_MARGIN_MS;
    }
}

/* ---- the run ------------------------------------------------------------------------------- */

typedef struct {
    const audit_settings *settings;
    const config_kafka_properties *kafka_properties;
    volatile sig_atomic_t *stop;
    int64_t now_ms;
    audit_bound from, to;
    const char *workspace;
    bool reports, cross_check;
    FILE *out;
    bool out_is_file;
    audit_database *database;
    audit_database_snapshot snapshot;
    audit_reader *reader;
    topic_state topics[AUDIT_TOPIC_COUNT];
    audit_read_assignment *assignments;
    size_t assignment_count;
    audit_record_set records;
    char error[1024];
} run_state;

static void release(run_state *state)
{
    audit_bound_free(&state->from);
    audit_bound_free(&state->to);
    audit_database_close(state->database);
    audit_database_snapshot_free(&state->snapshot);
    audit_reader_free(state->reader);
    for (int topic = 0; topic < AUDIT_TOPIC_COUNT; topic++) {
        free_topic(&state->topics[topic]);
    }
    free(state->assignments);
    audit_records_free(&state->records);
    if (state->out_is_file && state->out != NULL) {
        fclose(state->out);
    }
}

static audit_failure open_output(run_state *state)
{
    const char *path = state->settings->output;
    if (path == NULL || path[0] == '\0' || strcmp(path, "-") == 0) {
        state->out = stdout;
        return AUDIT_FAILURE_NONE;
    }
    state->out = fopen(path, "wb");
    if (state->out == NULL) {
        snprintf(state->error, sizeof state->error, "cannot open %s for writing: %s", path,
                 strerror(errno));
        return AUDIT_FAILURE_OUTPUT;
    }
    state->out_is_file = true;
    return AUDIT_FAILURE_NONE;
}

static audit_failure build_assignments(run_state *state, int64_t *total)
{
    size_t capacity = 0;
    for (int topic = 0; topic < AUDIT_TOPIC_COUNT; topic++) {
        capacity += (size_t)state->topics[topic].partition_count;
    }
    state->assignments = calloc(capacity + 1, sizeof *state->assignments);
    if (state->assignments == NULL) {
        snprintf(state->error, sizeof state->error, "out of memory");
        return AUDIT_FAILURE_OUT_OF_MEMORY;
    }
    *total = 0;
    for (int topic = 0; topic < AUDIT_TOPIC_COUNT; topic++) {
        const topic_state *entry = &state->topics[topic];
        for (int32_t partition = 0; partition < entry->partition_count; partition++) {
            const audit_partition_plan *plan = &entry->plan[partition];
            if (!plan->read) {
                continue;
            }
            state->assignments[state->assignment_count++] = (audit_read_assignment){
                (audit_topic)topic, entry->name, partition, plan->start, plan->end};
            *total += plan->end - plan->start;
        }
    }
    return AUDIT_FAILURE_NONE;
}

/* Step 4: the reports, in the order timeline, summary, verify, then the undecodable records.
 * *violations gets --verify's count. */
static audit_failure print_reports(run_state *state, size_t *violations)
{
    const audit_settings *settings = state->settings;
    const char *topic_names[AUDIT_TOPIC_COUNT] = {state->topics[0].name, state->topics[1].name};
    audit_format format = settings->format;
    audit_records_finish(&state->records);
    bool ok = true;
    bool separate = false; /* a blank line between table reports */

    if (settings->timeline) {
        audit_timeline timeline;
        if (!audit_timeline_build(&state->records, &timeline)) {
            return AUDIT_FAILURE_OUT_OF_MEMORY;
        }
        ok = audit_print_timeline(state->out, format, &timeline, topic_names);
        audit_timeline_free(&timeline);
        separate = true;
    }
    if (ok && settings->summary) {
        audit_summary summary;
        if (!audit_summarize(&state->records, &summary)) {
            return AUDIT_FAILURE_OUT_OF_MEMORY;
        }
        if (separate && format == AUDIT_FORMAT_TABLE) {
            fputc('\n', state->out);
        }
        ok = audit_print_summary(state->out, format, &summary);
        audit_summary_free(&summary);
        separate = true;
    }
    if (ok && settings->verify) {
        audit_findings findings;
        memset(&findings, 0, sizeof findings);
        audit_verify_options options = {
            .verdict_topic = topic_names[AUDIT_TOPIC_VERDICTS],
            .verdict_plan = state->topics[AUDIT_TOPIC_VERDICTS].plan,
            .verdict_partition_count = state->topics[AUDIT_TOPIC_VERDICTS].partition_count,
            .max_verdict_age_ms = settings->max_verdict_age_ms,
            .restart_grace_ms = settings->restart_grace_ms,
            .now_ms = state->now_ms,
            .strict = settings->strict,
        };
        bool verified = audit_verify(&state->records, &options, &findings);
        if (verified && state->cross_check) {
            audit_failure failure =
                audit_database_read_after(state->database, topic_names[AUDIT_TOPIC_VERDICTS],
                                          &state->snapshot, state->error, sizeof state->error);
            if (failure != AUDIT_FAILURE_NONE) {
                audit_findings_free(&findings);
                return failure;
            }
            audit_cross_check_options cross = {
                .retention_ms = settings->database_retention_ms,
                .workspace_id = state->workspace,
                .strict = settings->strict,
            };
            cross_check_window(&state->from, &state->to, &state->topics[AUDIT_TOPIC_ACTIONS],
                               state->now_ms, &cross);
            if (!cross.compare_database_to_topic) {
                log_warn("cross-check: database rows are not compared with the topic (the range "
                         "does not cover every actions partition up to a time)",
                         NULL);
            }
            verified = audit_cross_check(&state->records, topic_names[AUDIT_TOPIC_VERDICTS],
                                         &state->snapshot, &cross, &findings);
        }
        if (!verified) {
            audit_findings_free(&findings);
            return AUDIT_FAILURE_OUT_OF_MEMORY;
        }
        if (separate && format == AUDIT_FORMAT_TABLE) {
            fputc('\n', state->out);
        }
        ok = audit_print_findings(state->out, format, &findings, topic_names[AUDIT_TOPIC_VERDICTS]);
        *violations = findings.by_severity[AUDIT_SEVERITY_VIOLATION];
        audit_findings_free(&findings);
        separate = true;
    }
    if (ok && state->records.undecodable_count > 0) {
        if (separate && format == AUDIT_FORMAT_TABLE) {
            fputc('\n', state->out);
        }
        ok = audit_print_undecodable(state->out, format, &state->records, topic_names);
    }
    if (!ok) {
        snprintf(state->error, sizeof state->error, "writing the report failed: %s",
                 strerror(errno));
        return AUDIT_FAILURE_OUTPUT;
    }
    return AUDIT_FAILURE_NONE;
}

static int run(run_state *state)
{
    const audit_settings *settings = state->settings;
    state->now_ms = time_now_wall_ms();
    /* Validated at start-up (audit_settings_validate), so only memory can fail here. */
    if (audit_bound_parse(settings->from, state->now_ms, &state->from) != AUDIT_RANGE_OK ||
        audit_bound_parse(settings->to, state->now_ms, &state->to) != AUDIT_RANGE_OK) {
        return fail(AUDIT_FAILURE_OUT_OF_MEMORY, "parsing --from/--to");
    }
    state->workspace =
        settings->workspace != NULL && settings->workspace[0] != '\0' ? settings->workspace : NULL;
    state->reports = audit_settings_reports(settings);
    state->cross_check =
        settings->verify && settings->database_url != NULL && settings->database_url[0] != '\0';
    state->topics[AUDIT_TOPIC_VERDICTS].name = settings->common.topic_verdicts;
    state->topics[AUDIT_TOPIC_ACTIONS].name = settings->common.topic_actions;

    bool to_stdout = settings->output == NULL || settings->output[0] == '\0' ||
                     strcmp(settings->output, "-") == 0;
    if (settings->format == AUDIT_FORMAT_AVRO && to_stdout && isatty(STDOUT_FILENO)) {
        fprintf(stderr, "reconciler-audit: AUDIT_FORMAT: refusing to write binary Avro to a "
                        "terminal; use --output FILE or redirect stdout\n");
        return AUDIT_EXIT_USAGE;
    }
    audit_failure failure = open_output(state);
    if (failure != AUDIT_FAILURE_NONE) {
        return fail(failure, state->error);
    }

    /* Step 1. */
    if (state->cross_check) {
        failure = audit_database_open(settings->database_url, settings->read_timeout_ms,
                                      &state->database, state->error, sizeof state->error);
        if (failure == AUDIT_FAILURE_NONE) {
            failure = audit_database_read_flips(
                state->database, settings->common.topic_verdicts, &state->snapshot.published_flips,
                &state->snapshot.published_flip_count, state->error, sizeof state->error);
        }
        if (failure != AUDIT_FAILURE_NONE) {
            return fail(failure, state->error);
        }
    }

    /* Step 2. */
    state->reader = audit_reader_new(&settings->common, state->kafka_properties,
                                     settings->read_timeout_ms, state->error, sizeof state->error);
    if (state->reader == NULL) {
        return fail(AUDIT_FAILURE_KAFKA_CLIENT, state->error);
    }
    for (int topic = 0; topic < AUDIT_TOPIC_COUNT; topic++) {
        failure = plan_topic(state->reader, settings, &state->from, &state->to, (audit_topic)topic,
                             &state->topics[topic], state->error, sizeof state->error);
        if (failure != AUDIT_FAILURE_NONE) {
            return fail(failure, state->error);
        }
    }
    int64_t total = 0;
    failure = build_assignments(state, &total);
    if (failure != AUDIT_FAILURE_NONE) {
        return fail(failure, state->error);
    }
    log_info("reading", "{s:s, s:s, s:s, s:s, s:s?, s:I, s:i, s:s}", "verdicts_topic",
             state->topics[AUDIT_TOPIC_VERDICTS].name, "actions_topic",
             state->topics[AUDIT_TOPIC_ACTIONS].name, "from", settings->from, "to", settings->to,
             "workspace", state->workspace, "offsets_total", (json_int_t)total, "partitions",
             (int)state->assignment_count, "throwaway_group_id",
             audit_reader_group_id(state->reader));

    /* Step 3. */
    run_context context;
    memset(&context, 0, sizeof context);
    context.settings = settings;
    context.workspace = state->workspace;
    context.topic_names[AUDIT_TOPIC_VERDICTS] = state->topics[AUDIT_TOPIC_VERDICTS].name;
    context.topic_names[AUDIT_TOPIC_ACTIONS] = state->topics[AUDIT_TOPIC_ACTIONS].name;
    context.topics = state->topics;
    if (state->reports) {
        context.records = &state->records;
    } else {
        uint8_t sync[16];
        uuid_generate_random(sync); /* the container's sync marker: 16 random bytes */
        context.writer = audit_record_writer_open(settings->format, state->out, context.topic_names,
                                                  sync, state->error, sizeof state->error);
        if (context.writer == NULL) {
            return fail(AUDIT_FAILURE_OUTPUT, state->error);
        }
    }
    audit_read_options read_options = {
        .progress = !settings->quiet,
        .progress_interval_ms = PROGRESS_INTERVAL_MS,
        .stall_timeout_ms = settings->read_timeout_ms,
        .stop = state->stop,
    };
    int64_t records_read = 0;
    failure = audit_reader_read(state->reader, state->assignments, state->assignment_count,
                                &read_options, handle_message, &context, &records_read,
                                state->error, sizeof state->error);
    if (context.writer != NULL) {
        /* Also after a failure: what was read so far is flushed (a valid container). */
        if (!audit_record_writer_close(context.writer) && failure == AUDIT_FAILURE_NONE) {
            snprintf(state->error, sizeof state->error, "writing the output failed: %s",
                     strerror(errno));
            failure = AUDIT_FAILURE_OUTPUT;
        }
    }
    if (failure != AUDIT_FAILURE_NONE) {
        fflush(state->out);
        return fail(failure, state->error);
    }

    /* Step 4. */
    size_t violations = 0;
    if (state->reports) {
        failure = print_reports(state, &violations);
        if (failure != AUDIT_FAILURE_NONE) {
            return fail(failure, state->error);
        }
    }
    if (fflush(state->out) != 0 || ferror(state->out)) {
        return fail(AUDIT_FAILURE_OUTPUT, strerror(errno));
    }
    log_info("done", "{s:I, s:I, s:I, s:I, s:I}", "records_read", (json_int_t)records_read,
             "verdicts", (json_int_t)context.counts[AUDIT_TOPIC_VERDICTS], "actions",
             (json_int_t)context.counts[AUDIT_TOPIC_ACTIONS], "undecodable",
             (json_int_t)context.undecodable, "violations", (json_int_t)violations);
    /* Step 5. */
    return settings->verify && violations > 0 ? AUDIT_EXIT_VIOLATIONS : AUDIT_EXIT_OK;
}

int audit_run(const audit_settings *settings, const config_kafka_properties *kafka_properties,
              volatile sig_atomic_t *stop)
{
    run_state state;
    memset(&state, 0, sizeof state);
    state.settings = settings;
    state.kafka_properties = kafka_properties;
    state.stop = stop;
    int code = run(&state);
    if (state.out_is_file && state.out != NULL && fclose(state.out) != 0 && code == AUDIT_EXIT_OK) {
        code = fail(AUDIT_FAILURE_OUTPUT, strerror(errno));
    }
    state.out_is_file = false; /* closed above */
    release(&state);
    return code;
}
