/* audit_records.c — the in-memory record set behind --timeline, --summary and --verify.
 *
 * For: growing arrays of decoded records, sorting them once, and binary-search lookups by
 * Kafka coordinates (see audit_records.h). Why sorted arrays and not a hash table: the set
 * is built once and then only read; sorting is one qsort per array and a lookup is a bsearch. */
#include "audit_records.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void audit_position_free(audit_position *position)
{
    if (position == NULL) {
        return;
    }
    free(position->key);
    position->key = NULL;
}

/* Makes room for one more element of `size` bytes. */
static bool grow(void **items, size_t count, size_t *capacity, size_t size)
{
    if (count < *capacity) {
        return true;
    }
    size_t wanted = *capacity == 0 ? 256 : *capacity * 2;
    void *grown = realloc(*items, wanted * size);
    if (grown == NULL) {
        return false;
    }
    *items = grown;
    *capacity = wanted;
    return true;
}

bool audit_records_add_verdict(audit_record_set *set, audit_position *position, verdict *record)
{
    if (!grow((void **)&set->verdicts, set->verdict_count, &set->verdict_capacity,
              sizeof *set->verdicts)) {
        audit_position_free(position);
        verdict_free(record);
        return false;
    }
    audit_verdict_entry *entry = &set->verdicts[set->verdict_count++];
    entry->position = *position;
    entry->record = *record;
    memset(position, 0, sizeof *position);
    memset(record, 0, sizeof *record);
    return true;
}

bool audit_records_add_action(audit_record_set *set, audit_position *position, action *record)
{
    if (!grow((void **)&set->actions, set->action_count, &set->action_capacity,
              sizeof *set->actions)) {
        audit_position_free(position);
        action_free(record);
        return false;
    }
    audit_action_entry *entry = &set->actions[set->action_count++];
    memset(entry, 0, sizeof *entry);
    entry->position = *position;
    entry->record = *record;
    memset(position, 0, sizeof *position);
    memset(record, 0, sizeof *record);
    return true;
}

bool audit_records_add_undecodable(audit_record_set *set, audit_topic topic,
                                   audit_position *position, codec_error error)
{
    if (!grow((void **)&set->undecodable, set->undecodable_count, &set->undecodable_capacity,
              sizeof *set->undecodable)) {
        audit_position_free(position);
        return false;
    }
    audit_undecodable_entry *entry = &set->undecodable[set->undecodable_count++];
    entry->topic = topic;
    entry->position = *position;
    entry->error = error;
    memset(position, 0, sizeof *position);
    return true;
}

static int compare_coordinates(int32_t left_partition, int64_t left_offset, int32_t right_partition,
                               int64_t right_offset)
{
    if (left_partition != right_partition) {
        return left_partition < right_partition ? -1 : 1;
    }
    if (left_offset != right_offset) {
        return left_offset < right_offset ? -1 : 1;
    }
    return 0;
}

static int compare_verdict_entries(const void *left, const void *right)
{
    const audit_verdict_entry *a = left, *b = right;
    return compare_coordinates(a->position.partition, a->position.offset, b->position.partition,
                               b->position.offset);
}

static int compare_action_entries(const void *left, const void *right)
{
    const audit_action_entry *a = left, *b = right;
    return compare_coordinates(a->position.partition, a->position.offset, b->position.partition,
                               b->position.offset);
}

static int compare_undecodable_entries(const void *left, const void *right)
{
    const audit_undecodable_entry *a = left, *b = right;
    if (a->topic != b->topic) {
        return a->topic < b->topic ? -1 : 1;
    }
    return compare_coordinates(a->position.partition, a->position.offset, b->position.partition,
                               b->position.offset);
}

static int compare_strings_or_null(const char *left, const char *right)
{
    return strcmp(left != NULL ? left : "", right != NULL ? right : "");
}

bool audit_actions_are_copies(const action *left, const action *right)
{
    return compare_strings_or_null(left->verdict_topic, right->verdict_topic) == 0 &&
           left->verdict_partition == right->verdict_partition &&
           left->verdict_offset == right->verdict_offset && left->outcome == right->outcome &&
           left->acted_at == right->acted_at && left->attempt == right->attempt &&
           left->dry_run == right->dry_run &&
           compare_strings_or_null(left->actuator_id, right->actuator_id) == 0 &&
           compare_strings_or_null(left->workspace_id, right->workspace_id) == 0 &&
           compare_strings_or_null(left->instance_id, right->instance_id) == 0;
}

int audit_action_compare_by_verdict(const audit_action_entry *left, const audit_action_entry *right)
{
    int order = compare_strings_or_null(left->record.verdict_topic, right->record.verdict_topic);
    if (order != 0) {
        return order;
    }
    order = compare_coordinates(left->record.verdict_partition, left->record.verdict_offset,
                                right->record.verdict_partition, right->record.verdict_offset);
    if (order != 0) {
        return order;
    }
    if (left->record.acted_at != right->record.acted_at) {
        return left->record.acted_at < right->record.acted_at ? -1 : 1;
    }
    return compare_coordinates(left->position.partition, left->position.offset,
                               right->position.partition, right->position.offset);
}

static int compare_action_pointers_by_verdict(const void *left, const void *right)
{
    return audit_action_compare_by_verdict(*(const audit_action_entry *const *)left,
                                           *(const audit_action_entry *const *)right);
}

/* Marks every Action that repeats an earlier one (in the actions topic's order) as a copy.
 * Copies share verdict coordinates and acted_at, so they sit next to each other once sorted
 * by those; the earliest by position stays the original. */
static void mark_copies(audit_record_set *set)
{
    if (set->action_count < 2) {
        return;
    }
    const audit_action_entry **order = malloc(set->action_count * sizeof *order);
    if (order == NULL) {
        return; /* without the marks every copy counts: louder, never quieter */
    }
    for (size_t index = 0; index < set->action_count; index++) {
        order[index] = &set->actions[index];
    }
    qsort(order, set->action_count, sizeof *order, compare_action_pointers_by_verdict);
    size_t group_start = 0;
    for (size_t index = 1; index <= set->action_count; index++) {
        bool same_group =
            index < set->action_count &&
            order[index]->record.acted_at == order[group_start]->record.acted_at &&
            order[index]->record.verdict_partition ==
                order[group_start]->record.verdict_partition &&
            order[index]->record.verdict_offset == order[group_start]->record.verdict_offset &&
            compare_strings_or_null(order[index]->record.verdict_topic,
                                    order[group_start]->record.verdict_topic) == 0;
        if (same_group) {
            continue;
        }
        /* Within [group_start, index): same verdict and acted_at; compare every pair, the
         * groups are tiny (one act and its rare republished copies). */
        for (size_t later = group_start + 1; later < index; later++) {
            for (size_t earlier = group_start; earlier < later; earlier++) {
                if (order[earlier]->copy) {
                    continue;
                }
                if (audit_actions_are_copies(&order[earlier]->record, &order[later]->record)) {
                    audit_action_entry *copy = (audit_action_entry *)order[later];
                    copy->copy = true;
                    copy->copy_of = (size_t)(order[earlier] - set->actions);
                    break;
                }
            }
        }
        group_start = index;
    }
    free(order);
}

void audit_records_finish(audit_record_set *set)
{
    if (set->verdict_count > 1) {
        qsort(set->verdicts, set->verdict_count, sizeof *set->verdicts, compare_verdict_entries);
    }
    if (set->action_count > 1) {
        qsort(set->actions, set->action_count, sizeof *set->actions, compare_action_entries);
    }
    if (set->undecodable_count > 1) {
        qsort(set->undecodable, set->undecodable_count, sizeof *set->undecodable,
              compare_undecodable_entries);
    }
    mark_copies(set);
}

const audit_verdict_entry *audit_records_find_verdict(const audit_record_set *set,
                                                      int32_t partition, int64_t offset)
{
    audit_verdict_entry key;
    memset(&key, 0, sizeof key);
    key.position.partition = partition;
    key.position.offset = offset;
    if (set->verdict_count == 0) {
        return NULL;
    }
    return bsearch(&key, set->verdicts, set->verdict_count, sizeof *set->verdicts,
                   compare_verdict_entries);
}

const audit_undecodable_entry *audit_records_find_undecodable(const audit_record_set *set,
                                                              audit_topic topic, int32_t partition,
                                                              int64_t offset)
{
    audit_undecodable_entry key;
    memset(&key, 0, sizeof key);
    key.topic = topic;
    key.position.partition = partition;
    key.position.offset = offset;
    if (set->undecodable_count == 0) {
        return NULL;
    }
    return bsearch(&key, set->undecodable, set->undecodable_count, sizeof *set->undecodable,
                   compare_undecodable_entries);
}

void audit_records_free(audit_record_set *set)
{
    if (set == NULL) {
        return;
    }
    for (size_t index = 0; index < set->verdict_count; index++) {
        audit_position_free(&set->verdicts[index].position);
        verdict_free(&set->verdicts[index].record);
    }
    for (size_t index = 0; index < set->action_count; index++) {
        audit_position_free(&set->actions[index].position);
        action_free(&set->actions[index].record);
    }
    for (size_t index = 0; index < set->undecodable_count; index++) {
        audit_position_free(&set->undecodable[index].position);
    }
    free(set->verdicts);
    free(set->actions);
    free(set->undecodable);
    memset(set, 0, sizeof *set);
}

/* Length of the valid UTF-8 sequence starting at bytes (at most `remaining` long), 0 if the
 * bytes there are not one (overlong forms, surrogates and values above U+10FFFF included). */
static size_t utf8_sequence_length(const unsigned char *bytes, size_t remaining)
{
    unsigned char lead = bytes[0];
    if (lead >= 0x01 && lead < 0x80) {
        return 1;
    }
    size_t length;
    uint32_t minimum, code;
    if ((lead & 0xE0) == 0xC0) {
        length = 2, minimum = 0x80, code = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
        length = 3, minimum = 0x800, code = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
        length = 4, minimum = 0x10000, code = lead & 0x07;
    } else {
        return 0; /* NUL, a continuation byte, or 0xF8.. */
    }
    if (length > remaining) {
        return 0;
    }
    for (size_t index = 1; index < length; index++) {
        if ((bytes[index] & 0xC0) != 0x80) {
            return 0;
        }
        code = (code << 6) | (bytes[index] & 0x3F);
    }
    if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
        return 0;
    }
    return length;
}

char *audit_key_text(const void *key, size_t length, bool *failed)
{
    *failed = false;
    if (key == NULL) {
        return NULL;
    }
    const unsigned char *bytes = key;
    /* Worst case every byte becomes the 3-byte U+FFFD. */
    char *text = malloc(length * 3 + 1);
    if (text == NULL) {
        *failed = true;
        return NULL;
    }
    size_t written = 0;
    for (size_t index = 0; index < length;) {
        size_t sequence = utf8_sequence_length(bytes + index, length - index);
        if (sequence == 0) {
            memcpy(text + written, "\xEF\xBF\xBD", 3);
            written += 3;
            index++;
        } else {
            memcpy(text + written, bytes + index, sequence);
            written += sequence;
            index += sequence;
        }
    }
    text[written] = '\0';
    return text;
}

void audit_format_elapsed(int64_t ms, char *buffer, size_t size)
{
    const char *sign = ms < 0 ? "-" : "";
    uint64_t magnitude = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    if (magnitude < 1000) {
        snprintf(buffer, size, "%s%" PRIu64 "ms", sign, magnitude);
    } else if (magnitude < 60 * 1000) {
        snprintf(buffer, size, "%s%" PRIu64 ".%" PRIu64 "s", sign, magnitude / 1000,
                 magnitude % 1000 / 100);
    } else if (magnitude < 3600 * 1000) {
        snprintf(buffer, size, "%s%" PRIu64 "m%02" PRIu64 "s", sign, magnitude / 60000,
                 magnitude % 60000 / 1000);
    } else {
        snprintf(buffer, size, "%s%" PRIu64 "h%02" PRIu64 "m", sign, magnitude / 3600000,
                 magnitude % 3600000 / 60000);
    }
}
