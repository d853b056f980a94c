/* audit_output.c — the formats of reconciler-audit's output (see audit_output.h).
 *
 * Table output is for people: one line per record or finding, fixed columns, every value
 * from a topic cleaned of control characters so a hostile record cannot rewrite the terminal
 * or forge extra lines. jsonl is for programs: jansson escapes everything. */
#include "audit_output.h"

#include "audit_avro_file.h"
#include "timeutil.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Longest value a table cell shows before "...". */
#define CELL_MAX 200

bool audit_format_parse(const char *text, audit_format *out)
{
    static const struct {
        const char *name;
        audit_format format;
    } names[] = {
        {"table", AUDIT_FORMAT_TABLE}, {"jsonl", AUDIT_FORMAT_JSONL}, {"avro", AUDIT_FORMAT_AVRO}};
    for (size_t index = 0; text != NULL && index < sizeof names / sizeof names[0]; index++) {
        if (strcmp(text, names[index].name) == 0) {
            *out = names[index].format;
            return true;
        }
    }
    return false;
}

const char *audit_format_name(audit_format format)
{
    switch (format) {
    case AUDIT_FORMAT_TABLE:
        return "table";
    case AUDIT_FORMAT_JSONL:
        return "jsonl";
    case AUDIT_FORMAT_AVRO:
        return "avro";
    }
    return "invalid";
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static const char *text_of(const char *text)
{
    return text != NULL ? text : "";
}

json_t *audit_json_verdict_value(const verdict *record)
{
    json_t *http_status = record->has_http_status ? json_integer(record->http_status) : json_null();
    if (http_status == NULL) {
        return NULL;
    }
    return json_pack(
        "{s:s, s:s, s:s, s:I, s:s, s:s?, s:o, s:s?, s:I, s:I, s:s, s:I}", "workspace_id",
        text_of(record->workspace_id), "instance_id", text_of(record->instance_id), "sweep_id",
        text_of(record->sweep_id), "sweep_size", (json_int_t)record->sweep_size, "liveness",
        liveness_name(record->liveness), "cp_state", record->cp_state, "http_status", http_status,
        "reason", record->reason, "checked_at", (json_int_t)record->checked_at, "latency_ms",
        (json_int_t)record->latency_ms, "checker_id", text_of(record->checker_id), "enqueued_at",
        (json_int_t)record->enqueued_at);
}

json_t *audit_json_action_value(const action *record)
{
    return json_pack(
        "{s:s, s:s, s:s, s:i, s:I, s:s, s:s?, s:I, s:b, s:s, s:I, s:i, s:s}", "workspace_id",
        text_of(record->workspace_id), "instance_id", text_of(record->instance_id), "verdict_topic",
        text_of(record->verdict_topic), "verdict_partition", (int)record->verdict_partition,
        "verdict_offset", (json_int_t)record->verdict_offset, "outcome",
        action_outcome_name(record->outcome), "reason", record->reason, "acted_at",
        (json_int_t)record->acted_at, "dry_run", (int)record->dry_run, "sweep_id",
        text_of(record->sweep_id), "verdict_checked_at", (json_int_t)record->verdict_checked_at,
        "attempt", (int)record->attempt, "actuator_id", text_of(record->actuator_id));
}

/* A record line; takes `value` over (also on failure). */
static json_t *record_line(const char *type, const char *topic, const audit_position *position,
                           json_t *value)
{
    if (value == NULL) {
        return NULL;
    }
    return json_pack("{s:s, s:s, s:i, s:I, s:I, s:s?, s:o}", "type", type, "topic", topic,
                     "partition", (int)position->partition, "offset", (json_int_t)position->offset,
                     "timestamp", (json_int_t)position->timestamp_ms, "key", position->key, "value",
                     value);
}

static json_t *undecodable_line(const char *topic, const audit_position *position,
                                codec_error error)
{
    return json_pack("{s:s, s:s, s:i, s:I, s:I, s:s?, s:s}", "type", "undecodable", "topic", topic,
                     "partition", (int)position->partition, "offset", (json_int_t)position->offset,
                     "timestamp", (json_int_t)position->timestamp_ms, "key", position->key, "error",
                     codec_error_name(error));
}

/* Writes one line and releases it. false on NULL (an earlier failure) or a write error. */
static bool write_json_line(FILE *out, json_t *line)
{
    if (line == NULL) {
        return false;
    }
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (text == NULL) {
        return false;
    }
    bool ok = fputs(text, out) >= 0 && fputc('\n', out) != EOF;
    free(text);
    return ok;
}

/* ---- table cells ------------------------------------------------------------------------------
 */

/* A value from a topic, fit for one table cell: control characters as '?', at most CELL_MAX
 * bytes (cut at a character boundary) followed by "...". */
static void clean(const char *text, char *buffer, size_t size)
{
    size_t used = 0;
    const unsigned char *cursor = (const unsigned char *)text_of(text);
    for (; *cursor != '\0' && used + 4 < size; cursor++) {
        if (used >= CELL_MAX && (*cursor & 0xC0) != 0x80) {
            memcpy(buffer + used, "...", 3);
            used += 3;
            break;
        }
        buffer[used++] = (*cursor < 0x20 || *cursor == 0x7F) ? '?' : (char)*cursor;
    }
    buffer[used] = '\0';
}

static void format_time(int64_t ms, char *buffer, size_t size)
{
    time_format_rfc3339_ms(ms, buffer, size);
}

/* Appends " name=value" to a detail buffer (value cleaned); nothing when value is NULL. */
static void append_field(char *buffer, size_t size, const char *name, const char *value)
{
    if (value == NULL) {
        return;
    }
    char cleaned[CELL_MAX + 8];
    clean(value, cleaned, sizeof cleaned);
    size_t used = strlen(buffer);
    if (used < size) {
        snprintf(buffer + used, size - used, "%s%s=%s", used > 0 ? " " : "", name, cleaned);
    }
}

static void verdict_detail(const verdict *record, char *buffer, size_t size)
{
    char number[32];
    buffer[0] = '\0';
    append_field(buffer, size, "cp_state", record->cp_state);
    if (record->has_http_status) {
        snprintf(number, sizeof number, "%d", (int)record->http_status);
        append_field(buffer, size, "http", number);
    }
    append_field(buffer, size, "reason", record->reason);
    snprintf(number, sizeof number, "%" PRId64 "ms", record->latency_ms);
    append_field(buffer, size, "latency", number);
    append_field(buffer, size, "checker", record->checker_id);
    append_field(buffer, size, "sweep", record->sweep_id);
}

static void action_detail(const action *record, const char *verdict_topic, char *buffer,
                          size_t size)
{
    char text[64];
    buffer[0] = '\0';
    if (record->verdict_topic != NULL && verdict_topic != NULL &&
        strcmp(record->verdict_topic, verdict_topic) == 0) {
        snprintf(text, sizeof text, "%d:%" PRId64, (int)record->verdict_partition,
                 record->verdict_offset);
        append_field(buffer, size, "verdict", text);
    } else {
        char topic[CELL_MAX + 8];
        clean(record->verdict_topic, topic, sizeof topic);
        size_t used = strlen(buffer);
        snprintf(buffer + used, size - used, "%sverdict=%s/%d:%" PRId64, used > 0 ? " " : "", topic,
                 (int)record->verdict_partition, record->verdict_offset);
    }
    /* The verdict's age is what a decision was judged on; a restart attempt's is noise. */
    bool restart_attempt = record->outcome == ACTION_OUTCOME_RESTART_ACCEPTED ||
                           record->outcome == ACTION_OUTCOME_RESTART_RETRIED ||
                           record->outcome == ACTION_OUTCOME_RESTART_FAILED;
    if (record->verdict_checked_at != 0 && record->acted_at != 0 && !restart_attempt) {
        audit_format_elapsed(record->acted_at - record->verdict_checked_at, text, sizeof text);
        append_field(buffer, size, "verdict_age", text);
    }
    if (record->attempt != 0) {
        snprintf(text, sizeof text, "%d", (int)record->attempt);
        append_field(buffer, size, "attempt", text);
    }
    if (record->dry_run) {
        append_field(buffer, size, "dry_run", "true");
    }
    append_field(buffer, size, "actuator", record->actuator_id);
    append_field(buffer, size, "reason", record->reason);
}

static void record_cell(const char *kind, const audit_position *position, char *buffer, size_t size)
{
    snprintf(buffer, size, "%s %d:%" PRId64, kind, (int)position->partition, position->offset);
}

/* ---- the record dump ------------------------------------------------------------------------ */

struct audit_record_writer {
    audit_format format;
    FILE *out;
    const char *topic_names[AUDIT_TOPIC_COUNT];
    audit_avro_file *avro;
    size_t rows;
    bool failed;
};

#define TABLE_HEADER_FORMAT "%-24s  %-18s  %-36s  %-20s  %-25s  %s\n"

audit_record_writer *audit_record_writer_open(audit_format format, FILE *out,
                                              const char *const topic_names[AUDIT_TOPIC_COUNT],
                                              const uint8_t sync[16], char *error,
                                              size_t error_size)
{
    audit_record_writer *writer = calloc(1, sizeof *writer);
    if (writer == NULL) {
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    writer->format = format;
    writer->out = out;
    for (int topic = 0; topic < AUDIT_TOPIC_COUNT; topic++) {
        writer->topic_names[topic] = topic_names[topic];
    }
    if (format == AUDIT_FORMAT_AVRO) {
        writer->avro = audit_avro_file_open(out, sync, error, error_size);
        if (writer->avro == NULL) {
            free(writer);
            return NULL;
        }
    } else if (format == AUDIT_FORMAT_TABLE) {
        if (fprintf(out, TABLE_HEADER_FORMAT, "TIME", "RECORD", "WORKSPACE", "INSTANCE", "RESULT",
                    "DETAIL") < 0) {
            snprintf(error, error_size, "could not write the output");
            free(writer);
            return NULL;
        }
    }
    return writer;
}

static void table_verdict_row(FILE *out, const char *workspace_column,
                              const audit_position *position, const verdict *record, bool *ok)
{
    char time[32], where[64], workspace[CELL_MAX + 8], instance[CELL_MAX + 8], detail[2048];
    format_time(record->checked_at, time, sizeof time);
    record_cell("verdicts", position, where, sizeof where);
    clean(record->workspace_id, workspace, sizeof workspace);
    clean(record->instance_id, instance, sizeof instance);
    verdict_detail(record, detail, sizeof detail);
    int written = workspace_column != NULL
                      ? fprintf(out, TABLE_HEADER_FORMAT, time, where, workspace, instance,
                                liveness_name(record->liveness), detail)
                      : fprintf(out, "  %-24s  %-18s  %-20s  %-25s  %s\n", time, where, instance,
                                liveness_name(record->liveness), detail);
    *ok = *ok && written >= 0;
}

static void table_action_row(FILE *out, const char *workspace_column,
                             const audit_position *position, const action *record,
                             const char *verdict_topic, bool copy, bool *ok)
{
    char time[32], where[64], workspace[CELL_MAX + 8], instance[CELL_MAX + 8], detail[2048];
    format_time(record->acted_at, time, sizeof time);
    record_cell("actions", position, where, sizeof where);
    clean(record->workspace_id, workspace, sizeof workspace);
    clean(record->instance_id, instance, sizeof instance);
    action_detail(record, verdict_topic, detail, sizeof detail);
    if (copy) {
        size_t used = strlen(detail);
        snprintf(detail + used, sizeof detail - used, " (republished copy)");
    }
    int written = workspace_column != NULL
                      ? fprintf(out, TABLE_HEADER_FORMAT, time, where, workspace, instance,
                                action_outcome_name(record->outcome), detail)
                      : fprintf(out, "  %-24s  %-18s  %-20s  %-25s  %s\n", time, where, instance,
                                action_outcome_name(record->outcome), detail);
    *ok = *ok && written >= 0;
}

bool audit_record_writer_verdict(audit_record_writer *writer, const audit_position *position,
                                 const verdict *record, const void *raw, size_t raw_length)
{
    const char *topic = writer->topic_names[AUDIT_TOPIC_VERDICTS];
    bool ok = true;
    switch (writer->format) {
    case AUDIT_FORMAT_TABLE:
        table_verdict_row(writer->out, "", position, record, &ok);
        break;
    case AUDIT_FORMAT_JSONL:
        ok = write_json_line(
            writer->out, record_line("verdict", topic, position, audit_json_verdict_value(record)));
        break;
    case AUDIT_FORMAT_AVRO:
        ok = audit_avro_file_append(writer->avro, topic, position, CODEC_RECORD_VERDICT, raw,
                                    raw_length);
        break;
    }
    writer->rows++;
    writer->failed = writer->failed || !ok;
    return ok;
}

bool audit_record_writer_action(audit_record_writer *writer, const audit_position *position,
                                const action *record, const void *raw, size_t raw_length)
{
    const char *topic = writer->topic_names[AUDIT_TOPIC_ACTIONS];
    bool ok = true;
    switch (writer->format) {
    case AUDIT_FORMAT_TABLE:
        table_action_row(writer->out, "", position, record,
                         writer->topic_names[AUDIT_TOPIC_VERDICTS], false, &ok);
        break;
    case AUDIT_FORMAT_JSONL:
        ok = write_json_line(
            writer->out, record_line("action", topic, position, audit_json_action_value(record)));
        break;
    case AUDIT_FORMAT_AVRO:
        ok = audit_avro_file_append(writer->avro, topic, position, CODEC_RECORD_ACTION, raw,
                                    raw_length);
        break;
    }
    writer->rows++;
    writer->failed = writer->failed || !ok;
    return ok;
}

bool audit_record_writer_undecodable(audit_record_writer *writer, audit_topic topic,
                                     const audit_position *position, codec_error error,
                                     const void *raw, size_t raw_length)
{
    const char *topic_name = writer->topic_names[topic];
    bool ok = true;
    switch (writer->format) {
    case AUDIT_FORMAT_TABLE: {
        char where[64], key[CELL_MAX + 8];
        record_cell(audit_topic_name(topic), position, where, sizeof where);
        clean(position->key, key, sizeof key);
        ok = fprintf(writer->out, TABLE_HEADER_FORMAT, "-", where, key, "-", "UNDECODABLE",
                     codec_error_name(error)) >= 0;
        break;
    }
    case AUDIT_FORMAT_JSONL:
        ok = write_json_line(writer->out, undecodable_line(topic_name, position, error));
        break;
    case AUDIT_FORMAT_AVRO:
        ok = audit_avro_file_append_undecodable(writer->avro, topic_name, position,
                                                codec_error_name(error), raw, raw_length);
        break;
    }
    writer->rows++;
    writer->failed = writer->failed || !ok;
    return ok;
}

bool audit_record_writer_close(audit_record_writer *writer)
{
    if (writer == NULL) {
        return false;
    }
    bool ok = !writer->failed;
    if (writer->format == AUDIT_FORMAT_AVRO) {
        ok = audit_avro_file_close(writer->avro) && ok;
    } else if (writer->format == AUDIT_FORMAT_TABLE && writer->rows == 0) {
        ok = fprintf(writer->out, "(no records in the range)\n") >= 0 && ok;
    }
    free(writer);
    return ok;
}

/* ---- timeline -------------------------------------------------------------------------------- */

static bool print_timeline_table(FILE *out, const audit_timeline *timeline,
                                 const char *verdict_topic)
{
    bool ok = true;
    if (timeline->count == 0) {
        return fprintf(out, "timeline: no records in the range\n") >= 0;
    }
    size_t group_start = 0;
    for (size_t index = 0; ok && index < timeline->count; index++) {
        const audit_timeline_event *event = &timeline->events[index];
        bool new_group = index == 0 ||
                         strcmp(event->workspace_id, timeline->events[index - 1].workspace_id) != 0;
        if (new_group) {
            size_t verdicts = 0, actions = 0;
            for (group_start = index;
                 group_start < timeline->count &&
                 strcmp(timeline->events[group_start].workspace_id, event->workspace_id) == 0;
                 group_start++) {
                verdicts += timeline->events[group_start].verdict != NULL;
                actions += timeline->events[group_start].action != NULL;
            }
            char workspace[CELL_MAX + 8];
            clean(event->workspace_id, workspace, sizeof workspace);
            ok = fprintf(out, "%sworkspace %s  (%zu verdict%s, %zu action%s)\n",
                         index == 0 ? "" : "\n", workspace, verdicts, verdicts == 1 ? "" : "s",
                         actions, actions == 1 ? "" : "s") >= 0;
        }
        if (event->verdict != NULL) {
            table_verdict_row(out, NULL, &event->verdict->position, &event->verdict->record, &ok);
        } else {
            table_action_row(out, NULL, &event->action->position, &event->action->record,
                             verdict_topic, event->action->copy, &ok);
        }
    }
    return ok;
}

bool audit_print_timeline(FILE *out, audit_format format, const audit_timeline *timeline,
                          const char *const topic_names[AUDIT_TOPIC_COUNT])
{
    if (format == AUDIT_FORMAT_TABLE) {
        return print_timeline_table(out, timeline, topic_names[AUDIT_TOPIC_VERDICTS]);
    }
    bool ok = true;
    for (size_t index = 0; ok && index < timeline->count; index++) {
        const audit_timeline_event *event = &timeline->events[index];
        json_t *line =
            event->verdict != NULL
                ? record_line("verdict", topic_names[AUDIT_TOPIC_VERDICTS],
                              &event->verdict->position,
                              audit_json_verdict_value(&event->verdict->record))
                : record_line("action", topic_names[AUDIT_TOPIC_ACTIONS], &event->action->position,
                              audit_json_action_value(&event->action->record));
        if (line == NULL || json_object_set_new(line, "report", json_string("timeline")) != 0 ||
            json_object_set_new(line, "workspace_id", json_string(event->workspace_id)) != 0 ||
            json_object_set_new(line, "at", json_integer(event->at_ms)) != 0 ||
            (event->action != NULL &&
             json_object_set_new(line, "copy", json_boolean(event->action->copy)) != 0)) {
            json_decref(line);
            return false;
        }
        ok = write_json_line(out, line);
    }
    return ok;
}

/* ---- summary --------------------------------------------------------------------------------- */

static bool is_skip(action_outcome outcome)
{
    return outcome >= ACTION_OUTCOME_SKIPPED_STALE && outcome < ACTION_OUTCOME_COUNT;
}

static bool print_sweep_table(FILE *out, const audit_sweep_summary *sweep, bool total)
{
    char first[32], last[32], sweep_id[CELL_MAX + 8];
    format_time(sweep->first_at_ms, first, sizeof first);
    format_time(sweep->last_at_ms, last, sizeof last);
    clean(sweep->sweep_id[0] != '\0' ? sweep->sweep_id : "(none)", sweep_id, sizeof sweep_id);
    bool ok = true;
    if (total) {
        ok = fprintf(out, "all sweeps  (%s .. %s)\n", first, last) >= 0;
    } else {
        ok = fprintf(out, "sweep %s  (%s .. %s, declared size %" PRId64 ")\n", sweep_id, first,
                     last, sweep->declared_size) >= 0;
    }
    ok =
        ok && fprintf(out, "  checked       %zu verdicts, %zu workspaces (%zu repeated)\n",
                      sweep->verdicts, sweep->workspaces, sweep->verdicts - sweep->workspaces) >= 0;
    ok = ok && fprintf(out, "  RUNNING       %zu\n", sweep->liveness_counts[LIVENESS_RUNNING]) >= 0;
    ok = ok &&
         fprintf(out, "  NOT_RUNNING   %zu\n", sweep->liveness_counts[LIVENESS_NOT_RUNNING]) >= 0;
    ok = ok && fprintf(out, "  UNKNOWN       %zu", sweep->liveness_counts[LIVENESS_UNKNOWN]) >= 0;
    for (size_t index = 0; ok && index < sweep->unknown_reason_count; index++) {
        char reason[CELL_MAX + 8];
        clean(sweep->unknown_reasons[index].reason, reason, sizeof reason);
        ok = fprintf(out, "%s%s %zu", index == 0 ? "  (" : ", ", reason,
                     sweep->unknown_reasons[index].count) >= 0;
    }
    ok = ok && fprintf(out, "%s\n", sweep->unknown_reason_count > 0 ? ")" : "") >= 0;
    ok = ok && fprintf(out, "  flips         %zu\n", sweep->flips) >= 0;
    ok = ok && fprintf(out, "  restarts      accepted %zu, retried %zu, failed %zu\n",
                       sweep->outcome_counts[ACTION_OUTCOME_RESTART_ACCEPTED],
                       sweep->outcome_counts[ACTION_OUTCOME_RESTART_RETRIED],
                       sweep->outcome_counts[ACTION_OUTCOME_RESTART_FAILED]) >= 0;
    size_t skips = 0;
    ok = ok && fprintf(out, "  skipped      ") >= 0;
    for (int outcome = 0; ok && outcome < ACTION_OUTCOME_COUNT; outcome++) {
        if (is_skip((action_outcome)outcome) && sweep->outcome_counts[outcome] > 0) {
            ok = fprintf(out, "%s %s %zu", skips == 0 ? "" : ",",
                         action_outcome_name((action_outcome)outcome),
                         sweep->outcome_counts[outcome]) >= 0;
            skips++;
        }
    }
    ok = ok && fprintf(out, "%s\n", skips == 0 ? " 0" : "") >= 0;
    ok = ok && fprintf(out, "  breaker       %s\n",
                       sweep->breaker_tripped ? "TRIPPED" : "not tripped") >= 0;
    if (sweep->paused > 0) {
        ok = ok && fprintf(out,
                           "  paused        %zu NOT_RUNNING verdict(s) held back by the "
                           "actuator's pause switch\n",
                           sweep->paused) >= 0;
    }
    if (sweep->has_latency) {
        ok = ok && fprintf(out,
                           "  latency       p50 %" PRId64 "ms, p90 %" PRId64 "ms, p99 %" PRId64
                           "ms, max %" PRId64 "ms\n",
                           sweep->latency_p50_ms, sweep->latency_p90_ms, sweep->latency_p99_ms,
                           sweep->latency_max_ms) >= 0;
    } else {
        ok = ok && fprintf(out, "  latency       -\n") >= 0;
    }
    return ok;
}

static json_t *sweep_json(const audit_sweep_summary *sweep, const char *report)
{
    json_t *reasons = json_object();
    json_t *outcomes = json_object();
    json_t *latency =
        sweep->has_latency
            ? json_pack("{s:I, s:I, s:I, s:I}", "p50", (json_int_t)sweep->latency_p50_ms, "p90",
                        (json_int_t)sweep->latency_p90_ms, "p99", (json_int_t)sweep->latency_p99_ms,
                        "max", (json_int_t)sweep->latency_max_ms)
            : json_null();
    if (reasons == NULL || outcomes == NULL || latency == NULL) {
        json_decref(reasons);
        json_decref(outcomes);
        json_decref(latency);
        return NULL;
    }
    for (size_t index = 0; index < sweep->unknown_reason_count; index++) {
        json_object_set_new(reasons, sweep->unknown_reasons[index].reason,
                            json_integer((json_int_t)sweep->unknown_reasons[index].count));
    }
    for (int outcome = 1; outcome < ACTION_OUTCOME_COUNT; outcome++) {
        json_object_set_new(outcomes, action_outcome_name((action_outcome)outcome),
                            json_integer((json_int_t)sweep->outcome_counts[outcome]));
    }
    return json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:I, "
        "s:I, s:o, s:b, s:o, s:I}",
        "report", report, "sweep_id", sweep->sweep_id, "first_at", (json_int_t)sweep->first_at_ms,
        "last_at", (json_int_t)sweep->last_at_ms, "declared_size", (json_int_t)sweep->declared_size,
        "verdicts", (json_int_t)sweep->verdicts, "workspaces", (json_int_t)sweep->workspaces,
        "running", (json_int_t)sweep->liveness_counts[LIVENESS_RUNNING], "not_running",
        (json_int_t)sweep->liveness_counts[LIVENESS_NOT_RUNNING], "unknown",
        (json_int_t)sweep->liveness_counts[LIVENESS_UNKNOWN], "unknown_by_reason", reasons, "flips",
        (json_int_t)sweep->flips, "restarts_accepted",
        (json_int_t)sweep->outcome_counts[ACTION_OUTCOME_RESTART_ACCEPTED], "restarts_retried",
        (json_int_t)sweep->outcome_counts[ACTION_OUTCOME_RESTART_RETRIED], "restarts_failed",
        (json_int_t)sweep->outcome_counts[ACTION_OUTCOME_RESTART_FAILED], "outcomes", outcomes,
        "breaker_tripped", (int)sweep->breaker_tripped, "latency_ms", latency, "paused",
        (json_int_t)sweep->paused);
}

bool audit_print_summary(FILE *out, audit_format format, const audit_summary *summary)
{
    bool ok = true;
    if (format == AUDIT_FORMAT_TABLE) {
        if (summary->sweep_count == 0) {
            return fprintf(out, "summary: no records in the range\n") >= 0;
        }
        for (size_t index = 0; ok && index < summary->sweep_count; index++) {
            ok = print_sweep_table(out, &summary->sweeps[index], false) && fprintf(out, "\n") >= 0;
        }
        return ok && print_sweep_table(out, &summary->total, true);
    }
    for (size_t index = 0; ok && index < summary->sweep_count; index++) {
        ok = write_json_line(out, sweep_json(&summary->sweeps[index], "summary"));
    }
    return ok && write_json_line(out, sweep_json(&summary->total, "summary_total"));
}

/* ---- findings ---------------------------------------------------------------------------------
 */

static void upper(const char *text, char *buffer, size_t size)
{
    size_t used = 0;
    for (; text[used] != '\0' && used + 1 < size; used++) {
        char letter = text[used];
        buffer[used] = letter >= 'a' && letter <= 'z' ? (char)(letter - 'a' + 'A') : letter;
    }
    buffer[used] = '\0';
}

bool audit_print_findings(FILE *out, audit_format format, const audit_findings *findings,
                          const char *verdict_topic)
{
    size_t violations = findings->by_severity[AUDIT_SEVERITY_VIOLATION];
    bool ok = true;
    if (format == AUDIT_FORMAT_TABLE) {
        ok = fprintf(out,
                     "verify: %s: %zu violation%s, %zu unverifiable, %zu pending, %zu note%s "
                     "(%zu actions, %zu flips checked)\n",
                     violations == 0 ? "PASSED" : "FAILED", violations, violations == 1 ? "" : "s",
                     findings->by_severity[AUDIT_SEVERITY_UNVERIFIABLE],
                     findings->by_severity[AUDIT_SEVERITY_PENDING],
                     findings->by_severity[AUDIT_SEVERITY_NOTE],
                     findings->by_severity[AUDIT_SEVERITY_NOTE] == 1 ? "" : "s",
                     findings->actions_checked, findings->flips_checked) >= 0;
        for (size_t index = 0; ok && index < findings->count; index++) {
            const audit_finding *finding = &findings->items[index];
            char severity[16], action_cell[64], workspace[CELL_MAX + 8],
                detail[sizeof finding->detail + 8];
            upper(audit_severity_name(finding->severity), severity, sizeof severity);
            if (finding->has_action) {
                snprintf(action_cell, sizeof action_cell, "actions %d:%" PRId64,
                         (int)finding->action_partition, finding->action_offset);
            } else {
                snprintf(action_cell, sizeof action_cell, "database");
            }
            clean(finding->workspace_id, workspace, sizeof workspace);
            clean(finding->detail, detail, sizeof detail);
            ok = fprintf(out, "%-12s  %-28s  %s -> verdicts %d:%" PRId64 "  workspace=%s  %s\n",
                         severity, audit_check_name(finding->check), action_cell,
                         (int)finding->verdict_partition, finding->verdict_offset, workspace,
                         detail) >= 0;
        }
        return ok;
    }
    for (size_t index = 0; ok && index < findings->count; index++) {
        const audit_finding *finding = &findings->items[index];
        json_t *action_json =
            finding->has_action
                ? json_pack("{s:i, s:I}", "partition", (int)finding->action_partition, "offset",
                            (json_int_t)finding->action_offset)
                : json_null();
        json_t *verdict_json = json_pack("{s:s, s:i, s:I}", "topic", text_of(verdict_topic),
                                         "partition", (int)finding->verdict_partition, "offset",
                                         (json_int_t)finding->verdict_offset);
        if (action_json == NULL || verdict_json == NULL) {
            json_decref(action_json);
            json_decref(verdict_json);
            return false;
        }
        ok = write_json_line(
            out, json_pack("{s:s, s:s, s:s, s:s?, s:o, s:o, s:I, s:s}", "report", "finding",
                           "severity", audit_severity_name(finding->severity), "check",
                           audit_check_name(finding->check), "workspace_id", finding->workspace_id,
                           "action", action_json, "verdict", verdict_json, "at",
                           (json_int_t)finding->at_ms, "detail", finding->detail));
    }
    return ok &&
           write_json_line(
               out,
               json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "report", "verify", "passed",
                         violations == 0, "violations", (json_int_t)violations, "unverifiable",
                         (json_int_t)findings->by_severity[AUDIT_SEVERITY_UNVERIFIABLE], "pending",
                         (json_int_t)findings->by_severity[AUDIT_SEVERITY_PENDING], "notes",
                         (json_int_t)findings->by_severity[AUDIT_SEVERITY_NOTE], "actions_checked",
                         (json_int_t)findings->actions_checked, "flips_checked",
                         (json_int_t)findings->flips_checked));
}

/* ---- undecodable ------------------------------------------------------------------------------
 */

bool audit_print_undecodable(FILE *out, audit_format format, const audit_record_set *records,
                             const char *const topic_names[AUDIT_TOPIC_COUNT])
{
    if (records->undecodable_count == 0) {
        return true;
    }
    bool ok = true;
    if (format == AUDIT_FORMAT_TABLE) {
        ok = fprintf(out, "undecodable: %zu record%s skipped\n", records->undecodable_count,
                     records->undecodable_count == 1 ? "" : "s") >= 0;
    }
    for (size_t index = 0; ok && index < records->undecodable_count; index++) {
        const audit_undecodable_entry *entry = &records->undecodable[index];
        if (format == AUDIT_FORMAT_TABLE) {
            char where[64], key[CELL_MAX + 8];
            record_cell(audit_topic_name(entry->topic), &entry->position, where, sizeof where);
            clean(entry->position.key, key, sizeof key);
            ok = fprintf(out, "  %-18s  key=%s  %s\n", where, key,
                         codec_error_name(entry->error)) >= 0;
        } else {
            json_t *line =
                undecodable_line(topic_names[entry->topic], &entry->position, entry->error);
            if (line == NULL ||
                json_object_set_new(line, "report", json_string("undecodable")) != 0) {
                json_decref(line);
                return false;
            }
            ok = write_json_line(out, line);
        }
    }
    return ok;
}
