/* fleet_state.c — the simulated fleet: an array of workspace records plus an open-addressing
 * index by workspace id, under one mutex.
 *
 * For: the in-memory truth the CP status API answers from and the restart API changes.
 * Not for: I/O of any kind; time comes in as `now_ms`.
 *
 * Why an array plus an index instead of a tree: the status handler needs an O(1) lookup by id
 * (20,000+ lookups a second on one core), and terminate needs to pick running instances at
 * random, which wants positions. Removal swaps the last record into the hole. */
#include "fleet_state.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t at_ms;
    uint32_t generation; /* which instance of the workspace: 0 = first, n = after n moves */
    instance_state state;
} history_entry;

typedef struct {
    char workspace_id[FLEET_ID_MAX + 1];
    char instance_id[FLEET_ID_MAX + 1];
    instance_state state;
    /* Previous instance ids in order; generation n's id is retired_ids[n] while n <
     * retired_count, the current one otherwise. Allocated on the first move only. */
    char (*retired_ids)[FLEET_ID_MAX + 1];
    size_t retired_count;
    size_t retired_capacity;

    uint64_t status_requests;
    uint64_t restarts_received;
    uint64_t restarts_performed;
    uint64_t reprovisions;
    status_answer last_answer;
    instance_state last_answered_state;
    unsigned int last_http_status;
    const char *last_fault_mode; /* static string, NULL unless the last answer was a fault */
    bool answered_once;
    bool reprovision_pending;

    int64_t created_at_ms;
    int64_t last_request_at_ms;
    int64_t state_changed_at_ms;
    int64_t stopped_at_ms; /* last move from running to a not-running state; 0 = never */
    int64_t last_restart_at_ms;
    int64_t reprovisioned_at_ms;
    int64_t database_updated_at_ms;

    history_entry history[FLEET_HISTORY_LENGTH];
    uint64_t history_total; /* entries ever written; the ring holds the last few */
} fleet_record;

struct sim_fleet {
    pthread_mutex_t lock;
    fleet_record **records;
    size_t count;
    size_t capacity;
    /* Index: slot holds record position + 1, 0 = empty. A power of two, at most half full. */
    uint32_t *slots;
    size_t slot_count;
    uint64_t state_counts[INSTANCE_STATE_COUNT];
};

static const char *const instance_state_names[INSTANCE_STATE_COUNT] = {
    "pending", "running", "stopping", "stopped", "shutting-down", "terminated",
};

const char *instance_state_name(instance_state state)
{
    if ((int)state < 0 || state >= INSTANCE_STATE_COUNT) {
        return "unknown";
    }
    return instance_state_names[state];
}

bool instance_state_parse(const char *text, instance_state *out)
{
    if (text == NULL) {
        return false;
    }
    for (int i = 0; i < INSTANCE_STATE_COUNT; i++) {
        if (strcmp(text, instance_state_names[i]) == 0) {
            *out = (instance_state)i;
            return true;
        }
    }
    return false;
}

const char *status_answer_name(status_answer answer)
{
    switch (answer) {
    case STATUS_ANSWER_STATE:
        return "state";
    case STATUS_ANSWER_RETIRED_INSTANCE:
        return "retired_instance";
    case STATUS_ANSWER_WORKSPACE_NOT_FOUND:
        return "workspace_not_found";
    case STATUS_ANSWER_INSTANCE_NOT_FOUND:
        return "instance_not_found";
    case STATUS_ANSWER_MISSING_INSTANCE_ID:
        return "missing_instance_id";
    case STATUS_ANSWER_UNAUTHORIZED:
        return "unauthorized";
    case STATUS_ANSWER_FAULT:
        return "fault";
    case STATUS_ANSWER_COUNT:
        break;
    }
    return "unknown";
}

const char *fleet_error_name(fleet_error error)
{
    switch (error) {
    case FLEET_OK:
        return "ok";
    case FLEET_ERROR_NOT_FOUND:
        return "workspace_not_found";
    case FLEET_ERROR_INVALID_ID:
        return "invalid_id";
    case FLEET_ERROR_NO_INSTANCE:
        return "missing_instance_id";
    case FLEET_ERROR_NOT_ENOUGH:
        return "not_enough_running_instances";
    case FLEET_ERROR_OUT_OF_MEMORY:
        return "out_of_memory";
    }
    return "unknown";
}

bool fleet_id_is_valid(const char *id)
{
    if (id == NULL || id[0] == '\0') {
        return false;
    }
    size_t length = 0;
    for (const char *cursor = id; *cursor != '\0'; cursor++, length++) {
        char c = *cursor;
        bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '.' || c == '_' || c == ':' || c == '-';
        if (!allowed || length >= FLEET_ID_MAX) {
            return false;
        }
    }
    return true;
}

/* --- randomness ------------------------------------------------------------------------ */

fleet_random fleet_random_make(uint64_t seed)
{
    fleet_random random = {seed};
    return random;
}

uint64_t fleet_random_next(fleet_random *random)
{
    uint64_t z = (random->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double fleet_random_unit(fleet_random *random)
{
    /* The top 53 bits make an exactly representable double in [0, 1). */
    return (double)(fleet_random_next(random) >> 11) * (1.0 / 9007199254740992.0);
}

uint64_t fleet_random_below(fleet_random *random, uint64_t bound)
{
    /* Rejection sampling: a plain modulo would favour small values. */
    uint64_t limit = UINT64_MAX - (UINT64_MAX % bound);
    uint64_t value;
    do {
        value = fleet_random_next(random);
    } while (value >= limit);
    return value % bound;
}

size_t fleet_choose_positions(size_t *positions, size_t total, size_t count, fleet_random *random)
{
    if (count > total) {
        count = total;
    }
    for (size_t i = 0; i < total; i++) {
        positions[i] = i;
    }
    for (size_t i = 0; i < count; i++) {
        size_t j = i + (size_t)fleet_random_below(random, (uint64_t)(total - i));
        size_t swap = positions[i];
        positions[i] = positions[j];
        positions[j] = swap;
    }
    return count;
}

void fleet_make_instance_id(fleet_random *random, char *buffer, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    char id[20];
    uint64_t high = fleet_random_next(random);
    uint64_t low = fleet_random_next(random);
    id[0] = 'i';
    id[1] = '-';
    /* 17 hex digits = 68 bits: 64 from one draw and 4 from another. */
    for (int i = 0; i < 16; i++) {
        id[2 + i] = hex[(high >> (60 - 4 * i)) & 0xf];
    }
    id[18] = hex[low & 0xf];
    id[19] = '\0';
    snprintf(buffer, size, "%s", id);
}

/* --- index ----------------------------------------------------------------------------- */

static uint64_t hash_id(const char *id)
{
    /* FNV-1a: ids are short and the table is ours alone, so no need for a keyed hash. */
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (const unsigned char *cursor = (const unsigned char *)id; *cursor != '\0'; cursor++) {
        hash ^= *cursor;
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

/* The slot holding `id`, or the empty slot where it would go. */
static size_t slot_find(const sim_fleet *fleet, const char *id)
{
    size_t mask = fleet->slot_count - 1;
    size_t slot = (size_t)hash_id(id) & mask;
    while (fleet->slots[slot] != 0) {
        if (strcmp(fleet->records[fleet->slots[slot] - 1]->workspace_id, id) == 0) {
            return slot;
        }
        slot = (slot + 1) & mask;
    }
    return slot;
}

static fleet_record *record_find(const sim_fleet *fleet, const char *id)
{
    if (id == NULL || fleet->slot_count == 0) {
        return NULL;
    }
    uint32_t value = fleet->slots[slot_find(fleet, id)];
    return value == 0 ? NULL : fleet->records[value - 1];
}

static bool index_rebuild(sim_fleet *fleet, size_t slot_count)
{
    uint32_t *slots = calloc(slot_count, sizeof *slots);
    if (slots == NULL) {
        return false;
    }
    free(fleet->slots);
    fleet->slots = slots;
    fleet->slot_count = slot_count;
    for (size_t i = 0; i < fleet->count; i++) {
        fleet->slots[slot_find(fleet, fleet->records[i]->workspace_id)] = (uint32_t)(i + 1);
    }
    return true;
}

/* Makes room for one more record in the array and the index. */
static bool fleet_reserve_one(sim_fleet *fleet)
{
    if (fleet->count + 1 > fleet->capacity) {
        size_t capacity = fleet->capacity == 0 ? 1024 : fleet->capacity * 2;
        fleet_record **records = realloc(fleet->records, capacity * sizeof *records);
        if (records == NULL) {
            return false;
        }
        fleet->records = records;
        fleet->capacity = capacity;
    }
    if ((fleet->count + 1) * 2 > fleet->slot_count) {
        size_t slot_count = fleet->slot_count == 0 ? 2048 : fleet->slot_count * 2;
        if (slot_count > UINT32_MAX || !index_rebuild(fleet, slot_count)) {
            return false;
        }
    }
    return true;
}

/* Backward-shift deletion: keeps every probe chain unbroken without tombstones. */
static void index_delete_slot(sim_fleet *fleet, size_t hole)
{
    size_t mask = fleet->slot_count - 1;
    size_t next = (hole + 1) & mask;
    while (fleet->slots[next] != 0) {
        const char *id = fleet->records[fleet->slots[next] - 1]->workspace_id;
        size_t home = (size_t)hash_id(id) & mask;
        /* Move the entry into the hole if its home is not between hole and next (cyclic). */
        bool between = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
        if (!between) {
            fleet->slots[hole] = fleet->slots[next];
            fleet->slots[next] = 0;
            hole = next;
        }
        next = (next + 1) & mask;
    }
    fleet->slots[hole] = 0;
}

/* --- records --------------------------------------------------------------------------- */

static void record_history(fleet_record *record, int64_t now_ms)
{
    history_entry *entry = &record->history[record->history_total % FLEET_HISTORY_LENGTH];
    entry->at_ms = now_ms;
    entry->state = record->state;
    entry->generation = (uint32_t)record->retired_count;
    record->history_total++;
}

/* Changes the state, keeping the per-state counts and the history. */
static void record_set_state(sim_fleet *fleet, fleet_record *record, instance_state state,
                             int64_t now_ms)
{
    if (record->state == state) {
        return;
    }
    if (record->state == INSTANCE_STATE_RUNNING) {
        record->stopped_at_ms = now_ms;
    }
    fleet->state_counts[record->state]--;
    fleet->state_counts[state]++;
    record->state = state;
    record->state_changed_at_ms = now_ms;
    record_history(record, now_ms);
}

/* Moves the workspace to another instance id; the old one is kept as retired. */
static fleet_error record_move(fleet_record *record, const char *instance_id)
{
    if (strcmp(record->instance_id, instance_id) == 0) {
        return FLEET_OK;
    }
    if (record->retired_count == record->retired_capacity) {
        size_t capacity = record->retired_capacity == 0 ? 2 : record->retired_capacity * 2;
        char(*retired)[FLEET_ID_MAX + 1] =
            realloc(record->retired_ids, capacity * sizeof *record->retired_ids);
        if (retired == NULL) {
            return FLEET_ERROR_OUT_OF_MEMORY;
        }
        record->retired_ids = retired;
        record->retired_capacity = capacity;
    }
    memcpy(record->retired_ids[record->retired_count], record->instance_id,
           sizeof record->instance_id);
    record->retired_count++;
    snprintf(record->instance_id, sizeof record->instance_id, "%s", instance_id);
    return FLEET_OK;
}

static bool record_has_retired(const fleet_record *record, const char *instance_id)
{
    for (size_t i = 0; i < record->retired_count; i++) {
        if (strcmp(record->retired_ids[i], instance_id) == 0) {
            return true;
        }
    }
    return false;
}

static const char *record_generation_id(const fleet_record *record, uint32_t generation)
{
    return generation < record->retired_count ? record->retired_ids[generation]
                                              : record->instance_id;
}

sim_fleet *fleet_new(void)
{
    sim_fleet *created = calloc(1, sizeof *created);
    if (created == NULL) {
        return NULL;
    }
    if (pthread_mutex_init(&created->lock, NULL) != 0) {
        free(created);
        return NULL;
    }
    return created;
}

static void fleet_release_records(sim_fleet *fleet)
{
    for (size_t i = 0; i < fleet->count; i++) {
        free(fleet->records[i]->retired_ids);
        free(fleet->records[i]);
    }
    fleet->count = 0;
    memset(fleet->state_counts, 0, sizeof fleet->state_counts);
    if (fleet->slots != NULL) {
        memset(fleet->slots, 0, fleet->slot_count * sizeof *fleet->slots);
    }
}

void fleet_free(sim_fleet *fleet)
{
    if (fleet == NULL) {
        return;
    }
    fleet_release_records(fleet);
    free(fleet->records);
    free(fleet->slots);
    pthread_mutex_destroy(&fleet->lock);
    free(fleet);
}

static fleet_error upsert_locked(sim_fleet *fleet, const char *workspace_id,
                                 const char *instance_id, instance_state state, int64_t now_ms,
                                 bool *created)
{
    fleet_record *record = record_find(fleet, workspace_id);
    if (record != NULL) {
        if (created != NULL) {
            *created = false;
        }
        if (instance_id != NULL) {
            fleet_error error = record_move(record, instance_id);
            if (error != FLEET_OK) {
                return error;
            }
        }
        record_set_state(fleet, record, state, now_ms);
        return FLEET_OK;
    }
    if (instance_id == NULL) {
        return FLEET_ERROR_NOT_FOUND;
    }
    if (!fleet_reserve_one(fleet)) {
        return FLEET_ERROR_OUT_OF_MEMORY;
    }
    record = calloc(1, sizeof *record);
    if (record == NULL) {
        return FLEET_ERROR_OUT_OF_MEMORY;
    }
    snprintf(record->workspace_id, sizeof record->workspace_id, "%s", workspace_id);
    snprintf(record->instance_id, sizeof record->instance_id, "%s", instance_id);
    record->state = state;
    record->created_at_ms = now_ms;
    record->state_changed_at_ms = now_ms;
    record_history(record, now_ms);
    fleet->slots[slot_find(fleet, workspace_id)] = (uint32_t)(fleet->count + 1);
    fleet->records[fleet->count++] = record;
    fleet->state_counts[state]++;
    if (created != NULL) {
        *created = true;
    }
    return FLEET_OK;
}

fleet_error fleet_upsert(sim_fleet *fleet, const char *workspace_id, const char *instance_id,
                         instance_state state, int64_t now_ms, bool *created)
{
    if (!fleet_id_is_valid(workspace_id) || !fleet_id_is_valid(instance_id)) {
        return FLEET_ERROR_INVALID_ID;
    }
    pthread_mutex_lock(&fleet->lock);
    fleet_error error = upsert_locked(fleet, workspace_id, instance_id, state, now_ms, created);
    pthread_mutex_unlock(&fleet->lock);
    return error;
}

fleet_error fleet_set_state(sim_fleet *fleet, const char *workspace_id, const char *instance_id,
                            instance_state state, int64_t now_ms)
{
    if (!fleet_id_is_valid(workspace_id) ||
        (instance_id != NULL && !fleet_id_is_valid(instance_id))) {
        return FLEET_ERROR_INVALID_ID;
    }
    pthread_mutex_lock(&fleet->lock);
    fleet_error error = FLEET_ERROR_NOT_FOUND;
    if (record_find(fleet, workspace_id) != NULL) {
        error = upsert_locked(fleet, workspace_id, instance_id, state, now_ms, NULL);
    }
    pthread_mutex_unlock(&fleet->lock);
    return error;
}

fleet_error fleet_remove(sim_fleet *fleet, const char *workspace_id)
{
    pthread_mutex_lock(&fleet->lock);
    fleet_error error = FLEET_ERROR_NOT_FOUND;
    fleet_record *record = record_find(fleet, workspace_id);
    if (record != NULL) {
        size_t slot = slot_find(fleet, workspace_id);
        size_t position = fleet->slots[slot] - 1;
        index_delete_slot(fleet, slot);
        fleet->state_counts[record->state]--;
        size_t last = fleet->count - 1;
        if (position != last) {
            /* The last record fills the hole; its index entry follows it. */
            fleet_record *moved = fleet->records[last];
            fleet->records[position] = moved;
            fleet->slots[slot_find(fleet, moved->workspace_id)] = (uint32_t)(position + 1);
        }
        fleet->count--;
        free(record->retired_ids);
        free(record);
        error = FLEET_OK;
    }
    pthread_mutex_unlock(&fleet->lock);
    return error;
}

void fleet_clear(sim_fleet *fleet)
{
    pthread_mutex_lock(&fleet->lock);
    fleet_release_records(fleet);
    pthread_mutex_unlock(&fleet->lock);
}

size_t fleet_count(sim_fleet *fleet)
{
    pthread_mutex_lock(&fleet->lock);
    size_t count = fleet->count;
    pthread_mutex_unlock(&fleet->lock);
    return count;
}

void fleet_count_by_state(sim_fleet *fleet, uint64_t *counts)
{
    pthread_mutex_lock(&fleet->lock);
    memcpy(counts, fleet->state_counts, sizeof fleet->state_counts);
    pthread_mutex_unlock(&fleet->lock);
}

size_t fleet_running_count(sim_fleet *fleet)
{
    pthread_mutex_lock(&fleet->lock);
    size_t count = (size_t)fleet->state_counts[INSTANCE_STATE_RUNNING];
    pthread_mutex_unlock(&fleet->lock);
    return count;
}

void fleet_status_lookup(sim_fleet *fleet, const char *workspace_id, const char *instance_id,
                         fleet_status *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&fleet->lock);
    const fleet_record *record = record_find(fleet, workspace_id);
    if (record == NULL) {
        out->answer = STATUS_ANSWER_WORKSPACE_NOT_FOUND;
    } else if (instance_id == NULL || instance_id[0] == '\0') {
        out->answer = STATUS_ANSWER_MISSING_INSTANCE_ID;
    } else if (strcmp(record->instance_id, instance_id) == 0) {
        out->answer = STATUS_ANSWER_STATE;
        out->state = record->state;
        snprintf(out->instance_id, sizeof out->instance_id, "%s", record->instance_id);
    } else if (record_has_retired(record, instance_id)) {
        /* What an EC2-backed CP says about an instance replaced by a reprovision. */
        out->answer = STATUS_ANSWER_RETIRED_INSTANCE;
        out->state = INSTANCE_STATE_TERMINATED;
        snprintf(out->instance_id, sizeof out->instance_id, "%s", instance_id);
    } else {
        out->answer = STATUS_ANSWER_INSTANCE_NOT_FOUND;
    }
    pthread_mutex_unlock(&fleet->lock);
}

void fleet_status_record(sim_fleet *fleet, const char *workspace_id, status_answer answer,
                         instance_state state, unsigned int http_status,
                         const char *fault_mode_name, int64_t now_ms)
{
    pthread_mutex_lock(&fleet->lock);
    fleet_record *record = record_find(fleet, workspace_id);
    if (record != NULL) {
        record->status_requests++;
        record->last_request_at_ms = now_ms;
        record->last_answer = answer;
        record->last_answered_state = state;
        record->last_http_status = http_status;
        record->last_fault_mode = fault_mode_name;
        record->answered_once = true;
    }
    pthread_mutex_unlock(&fleet->lock);
}

bool fleet_current_instance(sim_fleet *fleet, const char *workspace_id, char *buffer)
{
    pthread_mutex_lock(&fleet->lock);
    const fleet_record *record = record_find(fleet, workspace_id);
    if (record != NULL) {
        memcpy(buffer, record->instance_id, sizeof record->instance_id);
    }
    pthread_mutex_unlock(&fleet->lock);
    return record != NULL;
}

fleet_error fleet_restart_request(sim_fleet *fleet, const char *workspace_id, bool performed,
                                  int64_t now_ms, bool *already_pending)
{
    *already_pending = false;
    pthread_mutex_lock(&fleet->lock);
    fleet_error error = FLEET_ERROR_NOT_FOUND;
    fleet_record *record = record_find(fleet, workspace_id);
    if (record != NULL) {
        record->restarts_received++;
        record->last_restart_at_ms = now_ms;
        if (performed) {
            if (record->reprovision_pending) {
                *already_pending = true;
            } else {
                record->reprovision_pending = true;
                record->restarts_performed++;
            }
        }
        error = FLEET_OK;
    }
    pthread_mutex_unlock(&fleet->lock);
    return error;
}

void fleet_cancel_reprovision(sim_fleet *fleet, const char *workspace_id)
{
    pthread_mutex_lock(&fleet->lock);
    fleet_record *record = record_find(fleet, workspace_id);
    if (record != NULL && record->reprovision_pending) {
        record->reprovision_pending = false;
        record->restarts_performed--;
    }
    pthread_mutex_unlock(&fleet->lock);
}

fleet_error fleet_reprovision(sim_fleet *fleet, const char *workspace_id,
                              const char *new_instance_id, int64_t now_ms)
{
    if (!fleet_id_is_valid(new_instance_id)) {
        return FLEET_ERROR_INVALID_ID;
    }
    pthread_mutex_lock(&fleet->lock);
    fleet_error error = FLEET_ERROR_NOT_FOUND;
    fleet_record *record = record_find(fleet, workspace_id);
    if (record != NULL) {
        error = record_move(record, new_instance_id);
        if (error == FLEET_OK) {
            /* A new instance starts running; force a history entry even if the old one was
             * running too (a restart of a healthy workspace is exactly what tests look for). */
            if (record->state == INSTANCE_STATE_RUNNING) {
                record->state_changed_at_ms = now_ms;
                record_history(record, now_ms);
            } else {
                record_set_state(fleet, record, INSTANCE_STATE_RUNNING, now_ms);
            }
            record->reprovisions++;
            record->reprovisioned_at_ms = now_ms;
            record->reprovision_pending = false;
        }
    }
    pthread_mutex_unlock(&fleet->lock);
    return error;
}

void fleet_mark_database_updated(sim_fleet *fleet, const char *workspace_id, int64_t now_ms)
{
    pthread_mutex_lock(&fleet->lock);
    fleet_record *record = record_find(fleet, workspace_id);
    if (record != NULL) {
        record->database_updated_at_ms = now_ms;
    }
    pthread_mutex_unlock(&fleet->lock);
}

fleet_error fleet_terminate_random(sim_fleet *fleet, size_t count, instance_state state,
                                   fleet_random *random, int64_t now_ms, json_t *workspace_ids,
                                   json_t *instance_ids)
{
    pthread_mutex_lock(&fleet->lock);
    fleet_error error = FLEET_OK;
    size_t running = (size_t)fleet->state_counts[INSTANCE_STATE_RUNNING];
    size_t *running_positions = NULL;
    size_t *choice = NULL;
    if (count > running) {
        error = FLEET_ERROR_NOT_ENOUGH;
        goto done;
    }
    if (count == 0) {
        goto done;
    }
    running_positions = malloc(running * sizeof *running_positions);
    choice = malloc(running * sizeof *choice);
    if (running_positions == NULL || choice == NULL) {
        error = FLEET_ERROR_OUT_OF_MEMORY;
        goto done;
    }
    size_t found = 0;
    for (size_t i = 0; i < fleet->count && found < running; i++) {
        if (fleet->records[i]->state == INSTANCE_STATE_RUNNING) {
            running_positions[found++] = i;
        }
    }
    fleet_choose_positions(choice, running, count, random);
    for (size_t i = 0; i < count; i++) {
        fleet_record *record = fleet->records[running_positions[choice[i]]];
        record_set_state(fleet, record, state, now_ms);
        json_array_append_new(workspace_ids, json_string(record->workspace_id));
        json_array_append_new(instance_ids, json_string(record->instance_id));
    }
done:
    pthread_mutex_unlock(&fleet->lock);
    free(running_positions);
    free(choice);
    return error;
}

/* null for "never", a number of milliseconds since the epoch otherwise. */
static json_t *time_or_null(int64_t ms)
{
    return ms == 0 ? json_null() : json_integer((json_int_t)ms);
}

json_t *fleet_instance_json(sim_fleet *fleet, const char *workspace_id)
{
    pthread_mutex_lock(&fleet->lock);
    json_t *object = NULL;
    const fleet_record *record = record_find(fleet, workspace_id);
    if (record == NULL) {
        goto done;
    }
    json_t *retired = json_array();
    for (size_t i = 0; i < record->retired_count; i++) {
        json_array_append_new(retired, json_string(record->retired_ids[i]));
    }
    json_t *history = json_array();
    uint64_t first = record->history_total > FLEET_HISTORY_LENGTH
                         ? record->history_total - FLEET_HISTORY_LENGTH
                         : 0;
    for (uint64_t i = first; i < record->history_total; i++) {
        const history_entry *entry = &record->history[i % FLEET_HISTORY_LENGTH];
        json_array_append_new(history, json_pack("{s:s, s:s, s:I}", "state",
                                                 instance_state_name(entry->state), "instance_id",
                                                 record_generation_id(record, entry->generation),
                                                 "at_ms", (json_int_t)entry->at_ms));
    }
    json_t *last_answer = json_null();
    if (record->answered_once) {
        last_answer = json_pack(
            "{s:s, s:i, s:I}", "answer", status_answer_name(record->last_answer), "http_status",
            (int)record->last_http_status, "at_ms", (json_int_t)record->last_request_at_ms);
        if (record->last_answer == STATUS_ANSWER_STATE ||
            record->last_answer == STATUS_ANSWER_RETIRED_INSTANCE) {
            json_object_set_new(last_answer, "state",
                                json_string(instance_state_name(record->last_answered_state)));
        }
        if (record->last_fault_mode != NULL) {
            json_object_set_new(last_answer, "fault_mode", json_string(record->last_fault_mode));
        }
    }
    object = json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:b, s:o, s:o, s:I, s:o, s:o, "
                       "s:o, s:o, s:o}",
                       "workspace_id", record->workspace_id, "instance_id", record->instance_id,
                       "state", instance_state_name(record->state), "last_answer", last_answer,
                       "status_requests", (json_int_t)record->status_requests, "restarts_received",
                       (json_int_t)record->restarts_received, "restarts_performed",
                       (json_int_t)record->restarts_performed, "reprovisions",
                       (json_int_t)record->reprovisions, "reprovision_pending",
                       record->reprovision_pending, "retired_instance_ids", retired, "history",
                       history, "created_at_ms", (json_int_t)record->created_at_ms,
                       "state_changed_at_ms", time_or_null(record->state_changed_at_ms),
                       "stopped_at_ms", time_or_null(record->stopped_at_ms), "last_restart_at_ms",
                       time_or_null(record->last_restart_at_ms), "reprovisioned_at_ms",
                       time_or_null(record->reprovisioned_at_ms), "database_updated_at_ms",
                       time_or_null(record->database_updated_at_ms));
done:
    pthread_mutex_unlock(&fleet->lock);
    return object;
}

json_t *fleet_list_json(sim_fleet *fleet, const instance_state *state, size_t offset, size_t limit)
{
    json_t *instances = json_array();
    size_t matches = 0;
    pthread_mutex_lock(&fleet->lock);
    for (size_t i = 0; i < fleet->count; i++) {
        const fleet_record *record = fleet->records[i];
        if (state != NULL && record->state != *state) {
            continue;
        }
        if (matches >= offset && matches - offset < limit) {
            json_array_append_new(instances,
                                  json_pack("{s:s, s:s, s:s}", "workspace_id", record->workspace_id,
                                            "instance_id", record->instance_id, "state",
                                            instance_state_name(record->state)));
        }
        matches++;
    }
    pthread_mutex_unlock(&fleet->lock);
    return json_pack("{s:I, s:o}", "total", (json_int_t)matches, "instances", instances);
}
