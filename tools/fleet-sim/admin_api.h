/* admin_api.h — the admin API's request bodies and query strings, parsed into commands, and
 * its error vocabulary.
 *
 * For: turning bytes a client sent to /admin/... into a validated command or a named error
 * (400 {"error":"<code>","message":"..."}), so server.c only executes commands.
 * Not for: executing them. Everything here is pure (no I/O, no clock, no globals) and takes
 * arbitrary bytes, so it can be fuzzed. An empty body is read as {}.
 *
 * Strictness: unknown fields are rejected (a typo must not silently change what a test
 * injects), integers must be JSON integers, duplicate keys are rejected. */
#ifndef FLEET_SIM_ADMIN_API_H
#define FLEET_SIM_ADMIN_API_H

#include "faults.h"
#include "fleet_state.h"
#include "hint_sender.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every error the admin API (and the server around it) answers with, by stable name. */
typedef enum {
    ADMIN_ERROR_NONE = 0,
    ADMIN_ERROR_INVALID_JSON,            /* 400 body is not one JSON value */
    ADMIN_ERROR_NOT_AN_OBJECT,           /* 400 body (or an element) is not a JSON object */
    ADMIN_ERROR_MISSING_FIELD,           /* 400 a required field is absent */
    ADMIN_ERROR_WRONG_TYPE,              /* 400 a field has the wrong JSON type */
    ADMIN_ERROR_OUT_OF_RANGE,            /* 400 a number or text length outside its bounds */
    ADMIN_ERROR_UNKNOWN_FIELD,           /* 400 a field this request does not have */
    ADMIN_ERROR_FIELD_NOT_APPLICABLE,    /* 400 a field of another fault mode or endpoint */
    ADMIN_ERROR_CONFLICTING_FIELDS,      /* 400 fields that exclude each other (count + percent) */
    ADMIN_ERROR_UNKNOWN_MODE,            /* 400 fault mode not in the list */
    ADMIN_ERROR_UNKNOWN_STATE,           /* 400 instance state not in the list */
    ADMIN_ERROR_UNKNOWN_ENDPOINT,        /* 400 endpoint not status/restart/any */
    ADMIN_ERROR_INVALID_TARGET,          /* 400 target is not exactly one of the target kinds */
    ADMIN_ERROR_INVALID_ID,              /* 400 an id outside [A-Za-z0-9._:-]{1,64} */
    ADMIN_ERROR_INVALID_PARAMETER,       /* 400 a query-string parameter */
    ADMIN_ERROR_NOT_ENOUGH_RUNNING,      /* 400 terminate asked for more than are running */
    ADMIN_ERROR_DATABASE_NOT_CONFIGURED, /* 400 a database command without DATABASE_URL */
    ADMIN_ERROR_BODY_TOO_LARGE,          /* 413 body over the admin limit */
    ADMIN_ERROR_UNAUTHORIZED,            /* 401 missing or wrong bearer token */
    ADMIN_ERROR_NOT_FOUND,               /* 404 no such admin path */
    ADMIN_ERROR_WORKSPACE_NOT_FOUND,     /* 404 no such workspace in the simulator */
    ADMIN_ERROR_FAULT_NOT_FOUND,         /* 404 no such fault rule */
    ADMIN_ERROR_METHOD_NOT_ALLOWED,      /* 405 */
    ADMIN_ERROR_DATABASE_ERROR,          /* 500 PostgreSQL refused or failed */
    ADMIN_ERROR_INTERNAL,                /* 500 allocation failure and the like */
    ADMIN_ERROR_SHUTTING_DOWN,           /* 503 the simulator is stopping */
    ADMIN_ERROR_COUNT
} admin_error_code;

const char *admin_error_name(admin_error_code code);
unsigned int admin_error_http_status(admin_error_code code);

typedef struct {
    admin_error_code code;
    char message[256];
} admin_error;

void admin_error_set(admin_error *error, admin_error_code code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
/* {"error": name, "message": message} (new reference). */
json_t *admin_error_json(const admin_error *error);

/* Upper bounds the parser enforces. */
#define ADMIN_MAX_DELAY_MS (24LL * 3600 * 1000)
#define ADMIN_MAX_OVERSIZED_BYTES (16LL * 1024 * 1024)
#define ADMIN_MAX_SEED_COUNT 1000000
#define ADMIN_MAX_SEED_BATCH 100000

/* POST /admin/faults. hang_cap_ms bounds hang_ms. */
bool admin_parse_fault(const char *body, size_t length, int64_t hang_cap_ms, fault_spec *out,
                       admin_error *error);

/* POST /admin/terminate: {"count": N} or {"percent": P}, optional "state" (a not-running
 * state, default "terminated") and "seed" (for a reproducible choice). */
typedef struct {
    bool is_percent;
    int64_t count;
    double percent;
    instance_state state;
    bool has_seed;
    uint64_t seed;
    hint_knobs hints; /* hint_*: FLEETSIM_HINT_* for this command; -1 = the setting's */
} admin_terminate_command;

bool admin_parse_terminate(const char *body, size_t length, admin_terminate_command *out,
                           admin_error *error);
/* How many instances the command terminates when `running` are running: the count itself,
 * or percent of running rounded down (10 % of 15 = 1). */
size_t admin_terminate_resolve(const admin_terminate_command *command, size_t running);

/* PUT /admin/instances/{workspace_id}: {"state": s} and optionally "instance_id". */
typedef struct {
    instance_state state;
    bool has_instance_id;
    char instance_id[FLEET_ID_MAX + 1];
} admin_set_state_command;

bool admin_parse_set_state(const char *body, size_t length, admin_set_state_command *out,
                           admin_error *error);

/* POST /admin/instances: {"instances": [{workspace_id, instance_id, state?}]} or the bare
 * array. state defaults to running. */
typedef struct {
    char workspace_id[FLEET_ID_MAX + 1];
    char instance_id[FLEET_ID_MAX + 1];
    instance_state state;
} admin_instance_entry;

typedef struct {
    admin_instance_entry *entries; /* malloc'd; admin_instances_release frees */
    size_t count;
} admin_instances_command;

bool admin_parse_instances(const char *body, size_t length, admin_instances_command *out,
                           admin_error *error);
void admin_instances_release(admin_instances_command *command);

/* POST /admin/seed. */
typedef struct {
    int64_t count;
    bool runtime_is_null;           /* "runtime": null writes NULL */
    char runtime[FLEET_ID_MAX + 1]; /* default "docker" */
    char status[32];                /* workspaces.status written, default "online" */
    instance_state state;           /* the simulated instances' state, default running */
    int64_t batch_size;             /* 0 = the server's default */
    bool return_ids;                /* list the created workspace ids in the answer */
} admin_seed_command;

bool admin_parse_seed(const char *body, size_t length, admin_seed_command *out, admin_error *error);

/* POST /admin/config: settings that may change at run time. */
typedef struct {
    bool has_reprovision_delay;
    int64_t reprovision_delay_ms;
} admin_config_command;

bool admin_parse_config(const char *body, size_t length, admin_config_command *out,
                        admin_error *error);

/* POST /admin/load-from-db and POST /admin/reset take no fields: only {} or empty. */
bool admin_parse_empty(const char *body, size_t length, admin_error *error);

/* GET /admin/instances?state=&limit=&offset= (each may be NULL when absent). */
typedef struct {
    bool has_state;
    instance_state state;
    size_t limit;  /* default 1000, at most 1,000,000 */
    size_t offset; /* default 0 */
} admin_list_query;

bool admin_parse_list_query(const char *state, const char *limit, const char *offset,
                            admin_list_query *out, admin_error *error);

/* A fault id from a path segment (decimal, > 0). */
bool admin_parse_fault_id(const char *text, uint64_t *out, admin_error *error);

#endif
