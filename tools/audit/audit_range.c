/* audit_range.c — parsing --from/--to and planning the offsets each partition is read over.
 *
 * For: the grammar of a bound and the rules that turn bounds plus Kafka's watermarks into a
 * plan (see audit_range.h). Not for: reading Kafka; every fact comes in as an argument, so the
 * unit tests pin each rule without a broker. */
#include "audit_range.h"

#include "timeutil.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

const char *audit_topic_name(audit_topic topic)
{
    switch (topic) {
    case AUDIT_TOPIC_VERDICTS:
        return "verdicts";
    case AUDIT_TOPIC_ACTIONS:
        return "actions";
    case AUDIT_TOPIC_COUNT:
        break;
    }
    return "invalid";
}

const char *audit_range_error_name(audit_range_error error)
{
    switch (error) {
    case AUDIT_RANGE_OK:
        return "ok";
    case AUDIT_RANGE_ERROR_EMPTY:
        return "empty";
    case AUDIT_RANGE_ERROR_BAD_TIMESTAMP:
        return "bad_timestamp";
    case AUDIT_RANGE_ERROR_BAD_RELATIVE:
        return "bad_relative_time";
    case AUDIT_RANGE_ERROR_BAD_OFFSETS:
        return "bad_partition_offsets";
    case AUDIT_RANGE_ERROR_DUPLICATE_PARTITION:
        return "duplicate_partition";
    case AUDIT_RANGE_ERROR_UNRECOGNISED:
        return "unrecognised";
    case AUDIT_RANGE_ERROR_NO_SUCH_PARTITION:
        return "no_such_partition";
    case AUDIT_RANGE_ERROR_OUT_OF_MEMORY:
        return "out_of_memory";
    }
    return "unknown_range_error";
}

void audit_bound_free(audit_bound *bound)
{
    if (bound == NULL) {
        return;
    }
    free(bound->entries);
    memset(bound, 0, sizeof *bound);
}

/* ---- RFC 3339 ---------------------------------------------------------------------------- */

/* Reads exactly `count` digits; false if any is not a digit. */
static bool read_digits(const char **cursor, int count, int *out)
{
    int value = 0;
    for (int index = 0; index < count; index++) {
        char digit = (*cursor)[index];
        if (digit < '0' || digit > '9') {
            return false;
        }
        value = value * 10 + (digit - '0');
    }
    *cursor += count;
    *out = value;
    return true;
}

static bool expect_char(const char **cursor, char expected)
{
    if (**cursor != expected) {
        return false;
    }
    (*cursor)++;
    return true;
}

static bool is_leap_year(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap_year(year) ? 29 : days[month - 1];
}

/* Days from 1970-01-01 to year-month-day in the proleptic Gregorian calendar (Howard Hinnant's
 * days_from_civil): no timegm(), whose behaviour depends on the C library and the TZ. */
static int64_t days_from_civil(int64_t year, int month, int day)
{
    year -= month <= 2;
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    int64_t year_of_era = year - era * 400;
    int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

bool audit_parse_rfc3339_ms(const char *text, int64_t *out_ms)
{
    if (text == NULL) {
        return false;
    }
    const char *cursor = text;
    int year, month, day, hour, minute, second;
    if (!read_digits(&cursor, 4, &year) || !expect_char(&cursor, '-') ||
        !read_digits(&cursor, 2, &month) || !expect_char(&cursor, '-') ||
        !read_digits(&cursor, 2, &day)) {
        return false;
    }
    if (*cursor != 'T' && *cursor != 't' && *cursor != ' ') {
        return false;
    }
    cursor++;
    if (!read_digits(&cursor, 2, &hour) || !expect_char(&cursor, ':') ||
        !read_digits(&cursor, 2, &minute) || !expect_char(&cursor, ':') ||
        !read_digits(&cursor, 2, &second)) {
        return false;
    }
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
        minute > 59 || second > 60) {
        return false;
    }
    int millis = 0;
    if (*cursor == '.') {
        cursor++;
        if (!isdigit((unsigned char)*cursor)) {
            return false;
        }
        int digits = 0;
        while (isdigit((unsigned char)*cursor)) {
            if (digits < 3) {
                millis = millis * 10 + (*cursor - '0');
            }
            digits++;
            cursor++;
        }
        for (; digits < 3; digits++) {
            millis *= 10;
        }
    }
    int offset_minutes = 0;
    if (*cursor == 'Z' || *cursor == 'z') {
        cursor++;
    } else if (*cursor == '+' || *cursor == '-') {
        int sign = *cursor == '-' ? -1 : 1;
        cursor++;
        int offset_hour, offset_minute;
        if (!read_digits(&cursor, 2, &offset_hour) || !expect_char(&cursor, ':') ||
            !read_digits(&cursor, 2, &offset_minute) || offset_hour > 23 || offset_minute > 59) {
            return false;
        }
        offset_minutes = sign * (offset_hour * 60 + offset_minute);
    } else {
        return false; /* RFC 3339 requires the offset: a local time would be a guess */
    }
    if (*cursor != '\0') {
        return false;
    }
    int64_t seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 +
                      second - (int64_t)offset_minutes * 60;
    *out_ms = seconds * 1000 + millis;
    return true;
}

/* ---- bounds ------------------------------------------------------------------------------ */

/* A non-negative decimal that fits in int64 (no sign, no spaces); advances *cursor. */
static bool read_unsigned(const char **cursor, int64_t maximum, int64_t *out)
{
    const char *start = *cursor;
    if (!isdigit((unsigned char)*start)) {
        return false;
    }
    int64_t value = 0;
    while (isdigit((unsigned char)**cursor)) {
        int digit = **cursor - '0';
        if (value > (maximum - digit) / 10) {
            return false;
        }
        value = value * 10 + digit;
        (*cursor)++;
    }
    *out = value;
    return true;
}

/* "[verdicts:|actions:]P:O" up to the next ',' or the end. */
static bool parse_offset_entry(const char **cursor, audit_offset_entry *entry)
{
    entry->topic = -1;
    for (int topic = 0; topic < AUDIT_TOPIC_COUNT; topic++) {
        const char *name = audit_topic_name((audit_topic)topic);
        size_t length = strlen(name);
        if (strncmp(*cursor, name, length) == 0 && (*cursor)[length] == ':') {
            entry->topic = topic;
            *cursor += length + 1;
            break;
        }
    }
    int64_t partition, offset;
    if (!read_unsigned(cursor, INT32_MAX, &partition) || !expect_char(cursor, ':') ||
        !read_unsigned(cursor, INT64_MAX, &offset)) {
        return false;
    }
    if (**cursor != ',' && **cursor != '\0') {
        return false;
    }
    entry->partition = (int32_t)partition;
    entry->offset = offset;
    return true;
}

/* Two entries for the same partition of the same topic contradict each other (an entry for
 * both topics overlaps with one for either). */
static bool entries_overlap(const audit_offset_entry *left, const audit_offset_entry *right)
{
    return left->partition == right->partition &&
           (left->topic == -1 || right->topic == -1 || left->topic == right->topic);
}

static audit_range_error parse_offsets(const char *text, audit_bound *out)
{
    size_t capacity = 1;
    for (const char *cursor = text; *cursor != '\0'; cursor++) {
        capacity += *cursor == ',';
    }
    audit_offset_entry *entries = calloc(capacity, sizeof *entries);
    if (entries == NULL) {
        return AUDIT_RANGE_ERROR_OUT_OF_MEMORY;
    }
    size_t count = 0;
    const char *cursor = text;
    while (true) {
        if (!parse_offset_entry(&cursor, &entries[count])) {
            free(entries);
            return AUDIT_RANGE_ERROR_BAD_OFFSETS;
        }
        for (size_t earlier = 0; earlier < count; earlier++) {
            if (entries_overlap(&entries[earlier], &entries[count])) {
                free(entries);
                return AUDIT_RANGE_ERROR_DUPLICATE_PARTITION;
            }
        }
        count++;
        if (*cursor == '\0') {
            break;
        }
        cursor++; /* the ',' */
    }
    out->kind = AUDIT_BOUND_OFFSETS;
    out->entries = entries;
    out->entry_count = count;
    return AUDIT_RANGE_OK;
}

/* Does the text start like a date ("dddd-")? Then it is meant as a timestamp, and a failure
 * to parse it is reported as a bad timestamp, not as bad offsets. */
static bool looks_like_date(const char *text)
{
    for (int index = 0; index < 4; index++) {
        if (!isdigit((unsigned char)text[index])) {
            return false;
        }
    }
    return text[4] == '-';
}

audit_range_error audit_bound_parse(const char *text, int64_t now_ms, audit_bound *out)
{
    memset(out, 0, sizeof *out);
    if (text == NULL || text[0] == '\0') {
        return AUDIT_RANGE_ERROR_EMPTY;
    }
    if (strcmp(text, "beginning") == 0) {
        out->kind = AUDIT_BOUND_BEGINNING;
        return AUDIT_RANGE_OK;
    }
    if (strcmp(text, "end") == 0) {
        out->kind = AUDIT_BOUND_END;
        return AUDIT_RANGE_OK;
    }
    if (text[0] == '-') {
        int64_t ago_ms;
        if (!time_parse_duration_ms(text + 1, &ago_ms) || ago_ms > now_ms) {
            return AUDIT_RANGE_ERROR_BAD_RELATIVE;
        }
        out->kind = AUDIT_BOUND_TIMESTAMP;
        out->timestamp_ms = now_ms - ago_ms;
        out->relative = true;
        return AUDIT_RANGE_OK;
    }
    if (looks_like_date(text)) {
        if (!audit_parse_rfc3339_ms(text, &out->timestamp_ms)) {
            return AUDIT_RANGE_ERROR_BAD_TIMESTAMP;
        }
        out->kind = AUDIT_BOUND_TIMESTAMP;
        return AUDIT_RANGE_OK;
    }
    if (strchr(text, ':') != NULL) {
        return parse_offsets(text, out);
    }
    return AUDIT_RANGE_ERROR_UNRECOGNISED;
}

/* ---- planning ---------------------------------------------------------------------------- */

bool audit_bound_names_topic(const audit_bound *bound, audit_topic topic)
{
    if (bound->kind != AUDIT_BOUND_OFFSETS) {
        return false;
    }
    for (size_t index = 0; index < bound->entry_count; index++) {
        if (bound->entries[index].topic == -1 || bound->entries[index].topic == (int)topic) {
            return true;
        }
    }
    return false;
}

/* The entry of this bound for topic/partition, or NULL. */
static const audit_offset_entry *find_entry(const audit_bound *bound, audit_topic topic,
                                            int32_t partition)
{
    if (bound->kind != AUDIT_BOUND_OFFSETS) {
        return NULL;
    }
    for (size_t index = 0; index < bound->entry_count; index++) {
        const audit_offset_entry *entry = &bound->entries[index];
        if (entry->partition == partition && (entry->topic == -1 || entry->topic == (int)topic)) {
            return entry;
        }
    }
    return NULL;
}

/* Where a bound puts one partition, before clamping. `is_from` picks the default of a bound
 * that has no entry for it: the low watermark for --from, the high one for --to. */
static int64_t bound_offset(const audit_bound *bound, bool is_from, audit_topic topic,
                            int32_t partition, const audit_partition_facts *facts, bool *explicit)
{
    *explicit = false;
    switch (bound->kind) {
    case AUDIT_BOUND_BEGINNING:
        return facts->low;
    case AUDIT_BOUND_END:
        return facts->high;
    case AUDIT_BOUND_TIMESTAMP: {
        int64_t offset = is_from ? facts->from_time_offset : facts->to_time_offset;
        return offset < 0 ? facts->high : offset;
    }
    case AUDIT_BOUND_OFFSETS: {
        const audit_offset_entry *entry = find_entry(bound, topic, partition);
        if (entry == NULL) {
            return is_from ? facts->low : facts->high;
        }
        *explicit = true;
        return entry->offset;
    }
    }
    return facts->high;
}

static audit_range_error check_partitions_exist(const audit_bound *bound, audit_topic topic,
                                                int32_t partition_count)
{
    if (bound->kind != AUDIT_BOUND_OFFSETS) {
        return AUDIT_RANGE_OK;
    }
    for (size_t index = 0; index < bound->entry_count; index++) {
        const audit_offset_entry *entry = &bound->entries[index];
        if ((entry->topic == -1 || entry->topic == (int)topic) &&
            entry->partition >= partition_count) {
            return AUDIT_RANGE_ERROR_NO_SUCH_PARTITION;
        }
    }
    return AUDIT_RANGE_OK;
}

audit_range_error audit_plan_topic(const audit_bound *from, const audit_bound *to,
                                   audit_topic topic, int32_t partition_count,
                                   const audit_partition_facts *facts, int32_t only_partition,
                                   audit_partition_plan *plan)
{
    audit_range_error error = check_partitions_exist(from, topic, partition_count);
    if (error == AUDIT_RANGE_OK) {
        error = check_partitions_exist(to, topic, partition_count);
    }
    if (error != AUDIT_RANGE_OK) {
        return error;
    }
    bool restricted = audit_bound_names_topic(from, topic) || audit_bound_names_topic(to, topic);
    for (int32_t partition = 0; partition < partition_count; partition++) {
        audit_partition_plan *entry = &plan[partition];
        memset(entry, 0, sizeof *entry);
        bool listed =
            find_entry(from, topic, partition) != NULL || find_entry(to, topic, partition) != NULL;
        if ((restricted && !listed) || (only_partition >= 0 && partition != only_partition)) {
            continue;
        }
        const audit_partition_facts *fact = &facts[partition];
        bool start_explicit, end_explicit;
        int64_t start = bound_offset(from, true, topic, partition, fact, &start_explicit);
        int64_t end = bound_offset(to, false, topic, partition, fact, &end_explicit);
        if (start < fact->low) {
            entry->start_below_low_watermark = start_explicit;
            start = fact->low;
        }
        if (start > fact->high) {
            start = fact->high;
        }
        if (end > fact->high) {
            entry->end_beyond_high_watermark = end_explicit;
            end = fact->high;
        }
        if (end < start) {
            end = start;
        }
        entry->read = true;
        entry->start = start;
        entry->end = end;
    }
    return AUDIT_RANGE_OK;
}

bool audit_plan_covers(const audit_partition_plan *plan, int32_t partition_count, int32_t partition,
                       int64_t offset)
{
    if (plan == NULL || partition < 0 || partition >= partition_count) {
        return false;
    }
    const audit_partition_plan *entry = &plan[partition];
    return entry->read && offset >= entry->start && offset < entry->end;
}

int64_t audit_plan_span(const audit_partition_plan *plan, int32_t partition_count)
{
    int64_t total = 0;
    for (int32_t partition = 0; partition < partition_count; partition++) {
        if (plan[partition].read) {
            total += plan[partition].end - plan[partition].start;
        }
    }
    return total;
}
