/* fleet_state.h — the simulated fleet: which workspaces exist, the instance each runs on and
 * its state, and what the simulator served for each (requests, last answer, restarts).
 *
 * For: the status and restart handlers, the admin API, the reprovision and seed workers.
 * Not for: fault rules (faults.h) or anything that talks to a socket or PostgreSQL. Every
 * function takes the wall-clock time `now_ms` from its caller and never reads a clock, so the
 * unit tests drive it with fixed times.
 *
 * Thread-safety: every fleet_* function on a fleet takes the fleet's own mutex; a caller
 * never holds it. Instance ids and workspace ids are copied in and out, never shared. */
#ifndef FLEET_SIM_FLEET_STATE_H
#define FLEET_SIM_FLEET_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest workspace or instance id the simulator stores (a uuid is 36, an EC2 id 19). */
#define FLEET_ID_MAX 64
/* State changes kept per workspace for GET /admin/instances/{id}; older ones are dropped. */
#define FLEET_HISTORY_LENGTH 8

/* The EC2 instance states a CP reports (the CP's vocabulary, not ours). */
typedef enum {
    INSTANCE_STATE_PENDING = 0,
    INSTANCE_STATE_RUNNING,
    INSTANCE_STATE_STOPPING,
    INSTANCE_STATE_STOPPED,
    INSTANCE_STATE_SHUTTING_DOWN,
    INSTANCE_STATE_TERMINATED,
    INSTANCE_STATE_COUNT
} instance_state;

/* "pending", "running", "stopping", "stopped", "shutting-down", "terminated". */
const char *instance_state_name(instance_state state);
/* Exact, case-sensitive names as above. false if unknown. */
bool instance_state_parse(const char *text, instance_state *out);

/* What the status endpoint answered, as a closed set (metric label and per-workspace record).
 * STATE is the normal answer with the instance's state; RETIRED_INSTANCE is "terminated" for
 * an instance the workspace has since been moved off. */
typedef enum {
    STATUS_ANSWER_STATE = 0,
    STATUS_ANSWER_RETIRED_INSTANCE,
    STATUS_ANSWER_WORKSPACE_NOT_FOUND,
    STATUS_ANSWER_INSTANCE_NOT_FOUND,
    STATUS_ANSWER_MISSING_INSTANCE_ID,
    STATUS_ANSWER_UNAUTHORIZED,
    STATUS_ANSWER_FAULT,
    STATUS_ANSWER_COUNT
} status_answer;

const char *status_answer_name(status_answer answer);

/* An id the admin API accepts: 1..FLEET_ID_MAX characters of [A-Za-z0-9._:-]. The narrow
 * character set keeps ids safe to print into JSON and COPY text without escaping. */
bool fleet_id_is_valid(const char *id);

/* splitmix64: a small, seedable generator, so a terminate with "seed" is reproducible. */
typedef struct {
    uint64_t state;
} fleet_random;

fleet_random fleet_random_make(uint64_t seed);
uint64_t fleet_random_next(fleet_random *random);
/* Uniform in [0, 1). */
double fleet_random_unit(fleet_random *random);
/* Uniform in [0, bound); bound > 0. */
uint64_t fleet_random_below(fleet_random *random, uint64_t bound);

/* Chooses `count` distinct positions out of [0, total) uniformly (partial Fisher-Yates on
 * `positions`, which must hold `total` entries and is overwritten; the first `count` entries
 * are the choice). count > total is clamped to total. Pure. Returns the number chosen. */
size_t fleet_choose_positions(size_t *positions, size_t total, size_t count, fleet_random *random);

/* An EC2-looking instance id: "i-" followed by 17 lowercase hex digits. buffer >= 20 bytes. */
void fleet_make_instance_id(fleet_random *random, char *buffer, size_t size);

typedef struct sim_fleet sim_fleet;

sim_fleet *fleet_new(void);
void fleet_free(sim_fleet *fleet);

typedef enum {
    FLEET_OK = 0,
    FLEET_ERROR_NOT_FOUND,   /* no such workspace */
    FLEET_ERROR_INVALID_ID,  /* an id failed fleet_id_is_valid */
    FLEET_ERROR_NO_INSTANCE, /* a new workspace needs an instance id */
    FLEET_ERROR_NOT_ENOUGH,  /* fewer running instances than asked to terminate */
    FLEET_ERROR_OUT_OF_MEMORY,
} fleet_error;

const char *fleet_error_name(fleet_error error);

/* Registers a workspace on `instance_id` in `state`, or updates it. An existing workspace
 * moved to another instance id keeps the old one as retired (answered "terminated").
 * `created` (may be NULL) tells whether the workspace was new. */
fleet_error fleet_upsert(sim_fleet *fleet, const char *workspace_id, const char *instance_id,
                         instance_state state, int64_t now_ms, bool *created);

/* Changes the state of a workspace's current instance; instance_id NULL keeps the instance,
 * otherwise it is like fleet_upsert for an existing workspace. */
fleet_error fleet_set_state(sim_fleet *fleet, const char *workspace_id, const char *instance_id,
                            instance_state state, int64_t now_ms);

fleet_error fleet_remove(sim_fleet *fleet, const char *workspace_id);
void fleet_clear(sim_fleet *fleet);

size_t fleet_count(sim_fleet *fleet);
/* counts[INSTANCE_STATE_COUNT]: current instances per state. */
void fleet_count_by_state(sim_fleet *fleet, uint64_t *counts);

/* What the status endpoint would answer for (workspace_id, instance_id), without faults. */
typedef struct {
    status_answer answer;
    instance_state state; /* for STATE and RETIRED_INSTANCE (the latter always TERMINATED) */
    char instance_id[FLEET_ID_MAX + 1]; /* the instance the answer is about */
} fleet_status;

/* What the status endpoint answers for (workspace_id, instance_id) without faults.
 * instance_id NULL or "" means the query had none. Changes nothing. */
void fleet_status_lookup(sim_fleet *fleet, const char *workspace_id, const char *instance_id,
                         fleet_status *out);

/* Records a status request on the workspace (nothing if unknown): the answer finally given
 * (the lookup's, a fault or unauthorized), the state it carried, the HTTP status sent (0 for
 * none), and for a fault its mode name (a string with static lifetime, or NULL). */
void fleet_status_record(sim_fleet *fleet, const char *workspace_id, status_answer answer,
                         instance_state state, unsigned int http_status,
                         const char *fault_mode_name, int64_t now_ms);

/* Copies the workspace's current instance id into buffer (FLEET_ID_MAX + 1 bytes). false if
 * the workspace is unknown. */
bool fleet_current_instance(sim_fleet *fleet, const char *workspace_id, char *buffer);

/* Records a restart request on the workspace. `performed` says whether a reprovision gets
 * scheduled; if one is already pending, *already_pending is set and none is added.
 * FLEET_ERROR_NOT_FOUND for an unknown workspace. */
fleet_error fleet_restart_request(sim_fleet *fleet, const char *workspace_id, bool performed,
                                  int64_t now_ms, bool *already_pending);

/* Clears the pending flag set by fleet_restart_request when the reprovision could not be
 * scheduled after all. */
void fleet_cancel_reprovision(sim_fleet *fleet, const char *workspace_id);

/* The reprovision done by the workspace server: the workspace gets `new_instance_id` in state
 * running, the old id is retired, the pending flag is cleared. */
fleet_error fleet_reprovision(sim_fleet *fleet, const char *workspace_id,
                              const char *new_instance_id, int64_t now_ms);

/* Marks that the row was written back online in PostgreSQL at now_ms. */
void fleet_mark_database_updated(sim_fleet *fleet, const char *workspace_id, int64_t now_ms);

/* Moves `count` running instances, chosen at random, to `state` (a not-running state) and
 * appends their workspace and instance ids to the two arrays (each a json array). Exactly
 * `count` or nothing: FLEET_ERROR_NOT_ENOUGH leaves the fleet unchanged. */
fleet_error fleet_terminate_random(sim_fleet *fleet, size_t count, instance_state state,
                                   fleet_random *random, int64_t now_ms, json_t *workspace_ids,
                                   json_t *instance_ids);
/* The number of running instances (what a percentage is taken of). */
size_t fleet_running_count(sim_fleet *fleet);

/* The full record of one workspace as a JSON object (new reference), NULL if unknown. */
json_t *fleet_instance_json(sim_fleet *fleet, const char *workspace_id);

/* Lists workspaces, optionally only those in `state` (NULL = all), skipping `offset` matches
 * and returning at most `limit`, as {"total": matches, "instances": [{workspace_id,
 * instance_id, state}...]}. */
json_t *fleet_list_json(sim_fleet *fleet, const instance_state *state, size_t offset, size_t limit);

#endif
