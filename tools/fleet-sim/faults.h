/* faults.h — fault rules: what to break, for which requests, and the answer that results.
 *
 * For: the status and restart handlers (which rule applies to this request, and what to send
 * instead of the normal answer) and the admin API (add, list, delete rules).
 * Not for: sockets. fault_select, fault_share_point and fault_build_plan are pure; the
 * fault_table wraps a rule list in a mutex for the server's threads.
 *
 * Mode names are a stable contract (tests, the demo and docs use them): latency, hang,
 * status, redirect, garbage, truncated, oversized, empty_object, missing_state, null_state,
 * wrong_type_state, odd_state, duplicate_state_keys, array_body, trailing_data,
 * content_type, reset. */
#ifndef FLEET_SIM_FAULTS_H
#define FLEET_SIM_FAULTS_H

#include "fleet_state.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    FAULT_MODE_LATENCY = 0,          /* the normal answer after fixed_ms + jitter */
    FAULT_MODE_HANG,                 /* no answer; closed after hang_ms (default: the cap) */
    FAULT_MODE_STATUS,               /* the given 4xx/5xx with a small JSON error body */
    FAULT_MODE_REDIRECT,             /* 3xx with Location */
    FAULT_MODE_GARBAGE,              /* 2xx, bytes that are not JSON */
    FAULT_MODE_TRUNCATED,            /* 2xx, a JSON object cut mid-way */
    FAULT_MODE_OVERSIZED,            /* 2xx, a valid JSON object larger than 64 KiB */
    FAULT_MODE_EMPTY_OBJECT,         /* 2xx, {} */
    FAULT_MODE_MISSING_STATE,        /* 2xx, {"instance_id":...} */
    FAULT_MODE_NULL_STATE,           /* 2xx, {"state":null,...} */
    FAULT_MODE_WRONG_TYPE_STATE,     /* 2xx, {"state":1,...} */
    FAULT_MODE_ODD_STATE,            /* 2xx, {"state":"pending",...} or a configured string */
    FAULT_MODE_DUPLICATE_STATE_KEYS, /* 2xx, {"state":"terminated","state":"running",...} */
    FAULT_MODE_ARRAY_BODY,           /* 2xx, [{"state":"running",...}] */
    FAULT_MODE_TRAILING_DATA,        /* 2xx, {"state":"terminated",...} followed by more bytes */
    FAULT_MODE_CONTENT_TYPE,         /* the normal answer labelled with another Content-Type */
    FAULT_MODE_RESET,                /* the connection is reset without an answer */
    FAULT_MODE_COUNT
} fault_mode;

const char *fault_mode_name(fault_mode mode);
bool fault_mode_parse(const char *text, fault_mode *out);

/* Which endpoint a rule applies to: a bit set. */
typedef enum {
    FAULT_ENDPOINT_STATUS = 1,
    FAULT_ENDPOINT_RESTART = 2,
    FAULT_ENDPOINT_ANY = 3,
} fault_endpoint;

const char *fault_endpoint_name(fault_endpoint endpoint);
bool fault_endpoint_parse(const char *text, fault_endpoint *out);

/* Ordered from least to most specific: when several rules match, the most specific target
 * wins, and among equals the newest rule. */
typedef enum {
    FAULT_TARGET_ALL = 0,
    FAULT_TARGET_SHARE,
    FAULT_TARGET_WORKSPACE,
    FAULT_TARGET_INSTANCE,
} fault_target_kind;

const char *fault_target_kind_name(fault_target_kind kind);

#define FAULT_TEXT_MAX 256

/* The perform_restart choice: by default a restart is performed when the answer is 2xx. */
typedef enum {
    FAULT_PERFORM_DEFAULT = 0,
    FAULT_PERFORM_YES,
    FAULT_PERFORM_NO,
} fault_perform;

typedef struct {
    fault_mode mode;
    fault_endpoint endpoint;
    fault_target_kind target_kind;
    char target_id[FLEET_ID_MAX + 1]; /* workspace or instance id */
    double share;                     /* [0, 1], for FAULT_TARGET_SHARE */
    char salt[FLEET_ID_MAX + 1];      /* mixes the share hash: other salt, other instances */
    double probability;               /* (0, 1]: chance a matching request is hit */
    int64_t times;            /* applies to this many requests, then expires; 0 = no limit */
    int64_t fixed_ms;         /* added before any mode's answer */
    int64_t jitter_ms;        /* plus uniform [0, jitter_ms] */
    int64_t hang_ms;          /* hang: 0 = the server's cap */
    unsigned int http_status; /* status: 400..599; redirect: 300..308 */
    char location[FAULT_TEXT_MAX + 1];  /* redirect target */
    char state_text[FLEET_ID_MAX + 1];  /* odd_state */
    char first_state[FLEET_ID_MAX + 1]; /* duplicate_state_keys */
    char second_state[FLEET_ID_MAX + 1];
    char content_type[FAULT_TEXT_MAX + 1]; /* content_type */
    int64_t body_bytes;                    /* oversized */
    bool cut_transfer;                     /* truncated: close mid-body instead of a short body */
    fault_perform perform_restart;
} fault_spec;

/* The defaults the admin API starts from before reading a request's fields. */
void fault_spec_defaults(fault_spec *spec, fault_mode mode);

typedef struct {
    uint64_t id;
    fault_spec spec;
    uint64_t applied;
    int64_t remaining; /* when spec.times > 0 */
    int64_t created_at_ms;
} fault_rule;

/* A position in [0, 1) for an instance, fixed by its id and the salt (FNV-1a 64 of
 * salt + "/" + id, scaled). A share target hits the instance when point < share, so the same
 * instances are hit on every sweep, and a 10 % rule's instances are within a 20 % rule's. */
double fault_share_point(const char *salt, const char *instance_id);

/* Whether the rule's target and endpoint cover this request (ignores probability). */
bool fault_spec_covers(const fault_spec *spec, fault_endpoint endpoint, const char *workspace_id,
                       const char *instance_id);

/* The index of the rule that applies to a request, or -1. `random_unit` in [0, 1) is drawn
 * once per request and compared to each candidate's probability. Pure. */
long fault_select(const fault_rule *rules, size_t count, fault_endpoint endpoint,
                  const char *workspace_id, const char *instance_id, double random_unit);

/* What the server does with a request. */
typedef enum {
    RESPONSE_ACTION_ANSWER = 0, /* send http_status + body */
    RESPONSE_ACTION_CLOSE,      /* close the connection without an answer (end of a hang) */
    RESPONSE_ACTION_RESET,      /* reset the connection (TCP RST) without an answer */
} response_action;

typedef struct {
    response_action action;
    unsigned int http_status;
    char *body; /* malloc'd, owned by the plan; may be NULL for an empty body */
    size_t body_length;
    /* When larger than body_length: announce this Content-Length, send body, then close the
     * connection (a transfer cut short). */
    size_t declared_length;
    char content_type[FAULT_TEXT_MAX + 1];
    char location[FAULT_TEXT_MAX + 1]; /* sent as Location when non-empty */
    int64_t delay_ms;                  /* wait this long before acting */
} response_plan;

/* A plan answering `body` (copied) with `http_status` as application/json. false on
 * allocation failure. */
bool response_plan_json(response_plan *plan, unsigned int http_status, const char *body,
                        size_t body_length);
void response_plan_release(response_plan *plan);

/* Builds the plan for a request a rule hit. `normal` is the plan the server would have used
 * (answered as is, delayed, by latency and content_type); `instance_id` is the one the request
 * is about (may be NULL or unsafe text: it is escaped); `success_status` is 200 on the status
 * endpoint and 202 on the restart endpoint. false on allocation failure. Pure. */
bool fault_build_plan(const fault_spec *spec, const response_plan *normal, const char *instance_id,
                      unsigned int success_status, double random_unit, int64_t hang_cap_ms,
                      response_plan *out);

/* Whether a restart hit by `spec` (answered as `plan`) is performed. */
bool fault_restart_performed(const fault_spec *spec, const response_plan *plan);

/* JSON form of a rule as the admin API shows it (new reference). */
json_t *fault_rule_json(const fault_rule *rule);

/* --- the thread-safe rule table ---------------------------------------------------------- */

typedef struct fault_table fault_table;

fault_table *fault_table_new(void);
void fault_table_free(fault_table *table);

/* Adds a rule; returns its id (> 0), 0 on allocation failure. */
uint64_t fault_table_add(fault_table *table, const fault_spec *spec, int64_t now_ms);
bool fault_table_remove(fault_table *table, uint64_t id);
/* Returns the number of rules removed. */
size_t fault_table_clear(fault_table *table);
size_t fault_table_count(fault_table *table);

/* Picks the rule for a request (fault_select), counts it as applied, expires a rule whose
 * `times` ran out, and copies it into *out. false when no rule applies. Lock-free fast path
 * when the table is empty. */
bool fault_table_match(fault_table *table, fault_endpoint endpoint, const char *workspace_id,
                       const char *instance_id, double random_unit, fault_rule *out);

/* The rules in force, as a JSON array (new reference). */
json_t *fault_table_json(fault_table *table);

#endif
