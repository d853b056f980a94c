/* workspace_gate.c — see workspace_gate.h.
 *
 * A chained hash table of held workspaces (FNV-1a, power-of-two buckets, doubled when the
 * load passes 1). Each entry owns a copy of its key and a FIFO of waiters. Entries are
 * removed as soon as their workspace is free, so the table holds only workspaces with a
 * request in the checker. The bucket array is never shrunk: its size is bounded by the
 * largest number of requests the checker ever held at once. */
#include "workspace_gate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct waiter_node {
    void *request;
    struct waiter_node *next;
} waiter_node;

typedef struct gate_entry {
    struct gate_entry *next; /* in its bucket */
    uint64_t hash;
    waiter_node *head, *tail;
    char workspace_id[]; /* the key, copied */
} gate_entry;

struct workspace_gate {
    gate_entry **buckets;
    size_t bucket_count; /* a power of two */
    size_t held;
    size_t waiting;
};

#define WORKSPACE_GATE_INITIAL_BUCKETS 64

static uint64_t hash_key(const char *key)
{
    uint64_t hash = 14695981039346656037ULL;
    for (const unsigned char *byte = (const unsigned char *)key; *byte != '\0'; byte++) {
        hash ^= *byte;
        hash *= 1099511628211ULL;
    }
    return hash;
}

workspace_gate *workspace_gate_new(void)
{
    workspace_gate *gate = calloc(1, sizeof *gate);
    if (gate == NULL)
        return NULL;
    gate->buckets = calloc(WORKSPACE_GATE_INITIAL_BUCKETS, sizeof *gate->buckets);
    if (gate->buckets == NULL) {
        free(gate);
        return NULL;
    }
    gate->bucket_count = WORKSPACE_GATE_INITIAL_BUCKETS;
    return gate;
}

static void entry_free(gate_entry *entry)
{
    waiter_node *node = entry->head;
    while (node != NULL) {
        waiter_node *next = node->next;
        free(node);
        node = next;
    }
    free(entry);
}

void workspace_gate_free(workspace_gate *gate)
{
    if (gate == NULL)
        return;
    for (size_t index = 0; index < gate->bucket_count; index++) {
        gate_entry *entry = gate->buckets[index];
        while (entry != NULL) {
            gate_entry *next = entry->next;
            entry_free(entry);
            entry = next;
        }
    }
    free(gate->buckets);
    free(gate);
}

/* The link that points at the entry for `key` (or the bucket's last link when absent). */
static gate_entry **find_link(const workspace_gate *gate, const char *key, uint64_t hash)
{
    gate_entry **link = &gate->buckets[hash & (gate->bucket_count - 1)];
    while (*link != NULL && ((*link)->hash != hash || strcmp((*link)->workspace_id, key) != 0))
        link = &(*link)->next;
    return link;
}

/* Doubles the bucket array; on allocation failure the table stays as it is (only slower). */
static void grow(workspace_gate *gate)
{
    size_t count = gate->bucket_count * 2;
    gate_entry **buckets = calloc(count, sizeof *buckets);
    if (buckets == NULL)
        return;
    for (size_t index = 0; index < gate->bucket_count; index++) {
        gate_entry *entry = gate->buckets[index];
        while (entry != NULL) {
            gate_entry *next = entry->next;
            gate_entry **head = &buckets[entry->hash & (count - 1)];
            entry->next = *head;
            *head = entry;
            entry = next;
        }
    }
    free(gate->buckets);
    gate->buckets = buckets;
    gate->bucket_count = count;
}

workspace_gate_enter_result workspace_gate_enter(workspace_gate *gate, const char *workspace_id,
                                                 void *request)
{
    uint64_t hash = hash_key(workspace_id);
    gate_entry **link = find_link(gate, workspace_id, hash);
    if (*link != NULL) {
        waiter_node *node = malloc(sizeof *node);
        if (node == NULL)
            return WORKSPACE_GATE_NO_MEMORY;
        node->request = request;
        node->next = NULL;
        gate_entry *entry = *link;
        if (entry->tail != NULL)
            entry->tail->next = node;
        else
            entry->head = node;
        entry->tail = node;
        gate->waiting++;
        return WORKSPACE_GATE_QUEUED;
    }
    size_t length = strlen(workspace_id);
    gate_entry *entry = malloc(sizeof *entry + length + 1);
    if (entry == NULL)
        return WORKSPACE_GATE_NO_MEMORY;
    entry->next = NULL;
    entry->hash = hash;
    entry->head = entry->tail = NULL;
    memcpy(entry->workspace_id, workspace_id, length + 1);
    *link = entry;
    gate->held++;
    if (gate->held > gate->bucket_count)
        grow(gate);
    return WORKSPACE_GATE_ACQUIRED;
}

void *workspace_gate_leave(workspace_gate *gate, const char *workspace_id)
{
    gate_entry **link = find_link(gate, workspace_id, hash_key(workspace_id));
    gate_entry *entry = *link;
    if (entry == NULL)
        return NULL;
    waiter_node *node = entry->head;
    if (node == NULL) {
        *link = entry->next;
        free(entry);
        gate->held--;
        return NULL;
    }
    entry->head = node->next;
    if (entry->head == NULL)
        entry->tail = NULL;
    void *next_holder = node->request;
    free(node);
    gate->waiting--;
    return next_holder;
}

bool workspace_gate_withdraw(workspace_gate *gate, const char *workspace_id, void *request)
{
    gate_entry *entry = *find_link(gate, workspace_id, hash_key(workspace_id));
    if (entry == NULL)
        return false;
    waiter_node *previous = NULL;
    for (waiter_node *node = entry->head; node != NULL; previous = node, node = node->next) {
        if (node->request != request)
            continue;
        if (previous != NULL)
            previous->next = node->next;
        else
            entry->head = node->next;
        if (entry->tail == node)
            entry->tail = previous;
        free(node);
        gate->waiting--;
        return true;
    }
    return false;
}

size_t workspace_gate_held(const workspace_gate *gate)
{
    return gate->held;
}

size_t workspace_gate_waiting(const workspace_gate *gate)
{
    return gate->waiting;
}
