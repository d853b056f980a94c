/* actuator_decide.h — what the actuator does about one verdict: the pure decision and its guards.
 *
 * For: the decision function (verdict + current row + breaker window + clock -> outcome),
 * the breaker's limit and window, the checks a verdict must pass before it may touch the
 * database, and the closed set of details that explain each outcome. Everything here is a
 * pure function: no I/O, no clock read, no allocation; the unit tests call it with tables.
 * Not for: reading the row, counting the breaker or flipping anything (actuator_store.c does that
 * at the edge, inside one transaction, and feeds the facts in here). */
#ifndef RECONCILER_ACTUATOR_DECIDE_H
#define RECONCILER_ACTUATOR_DECIDE_H

#include "codec.h"
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest sweep_id the actuator accepts. Sweep ids are uuids (36 bytes); the cap keeps a
 * malformed verdict from producing a breaker key too long for a btree index, which would
 * fail its transaction on every retry and stall the partition. */
#define ACTUATOR_MAX_SWEEP_ID_LENGTH 128
/* Longest instance_id the actuator accepts: what the producer and checker carry (the codec's
 * string limit), so a workspace they check can always be healed. Only a codec with a larger
 * limit could deliver a longer one. */
#define ACTUATOR_MAX_INSTANCE_ID_LENGTH CODEC_MAX_STRING

/* Why the decision came out as it did. A closed set with stable snake_case names
 * (actuator_detail_name) that appear in logs and as the start of each Action's reason. */
typedef enum {
    ACTUATOR_DETAIL_NONE = 0,                /* RUNNING / UNKNOWN: nothing to decide */
    ACTUATOR_DETAIL_VERDICT_TOO_OLD,         /* checked_at older than the maximum age */
    ACTUATOR_DETAIL_VERDICT_FROM_FUTURE,     /* checked_at further ahead than the maximum age */
    ACTUATOR_DETAIL_NOT_A_UUID,              /* workspace_id cannot be a workspaces.id */
    ACTUATOR_DETAIL_NO_SUCH_ROW,             /* no workspaces row with that id */
    ACTUATOR_DETAIL_EXTERNAL_RUNTIME,        /* runtime = 'external': another liveness path */
    ACTUATOR_DETAIL_NO_INSTANCE,             /* instance_id NULL or '': a local-Docker row */
    ACTUATOR_DETAIL_INSTANCE_CHANGED,        /* the row points at another instance now */
    ACTUATOR_DETAIL_STATUS_NOT_ONLINE,       /* the row is no longer online */
    ACTUATOR_DETAIL_CAS_NO_MATCH,            /* the conditional UPDATE changed no row */
    ACTUATOR_DETAIL_BREAKER_OPEN,            /* the group's breaker window is at its limit */
    ACTUATOR_DETAIL_DRY_RUN,                 /* would have flipped; dry run changes nothing */
    ACTUATOR_DETAIL_FLIPPED,                 /* flipped offline, restart queued */
    ACTUATOR_DETAIL_CP_CONFIRMATION_RUNNING, /* the CP, asked just now, says running */
    ACTUATOR_DETAIL_CP_CONFIRMATION_UNKNOWN, /* the CP's answer just now was not clean */
    ACTUATOR_DETAIL_CP_CONFIRMATION_MISSING, /* confirmation is on but the CP was not asked */
    ACTUATOR_DETAIL_ACTUATOR_PAUSED,         /* the group's pause switch is set */
    ACTUATOR_DETAIL_COUNT
} actuator_detail;

const char *actuator_detail_name(actuator_detail detail);

/* What the CP said when the actuator asked it about the verdict's instance right before
 * deciding (ACTUATOR_CP_CONFIRM). Stable names (actuator_cp_confirmation_name) are the
 * reconciler_actuator_cp_confirmations_total{result} label. */
typedef enum {
    ACTUATOR_CP_CONFIRMATION_NOT_ASKED = 0, /* no answer to go by */
    ACTUATOR_CP_CONFIRMATION_NOT_RUNNING,   /* a clean not-running answer */
    ACTUATOR_CP_CONFIRMATION_RUNNING,       /* "running" */
    ACTUATOR_CP_CONFIRMATION_UNKNOWN,       /* anything else (cp_classify's UNKNOWN) */
    ACTUATOR_CP_CONFIRMATION_COUNT
} actuator_cp_confirmation;

/* "not_asked", "not_running", "running", "unknown"; "invalid" outside the enum. */
const char *actuator_cp_confirmation_name(actuator_cp_confirmation confirmation);

/* The confirmation a classified CP answer gives: only NOT_RUNNING confirms. */
actuator_cp_confirmation actuator_cp_confirmation_from_liveness(liveness answer);

/* What the verdict says, as far as the decision needs it. */
typedef struct {
    liveness liveness;
    const char *instance_id; /* the instance the CP was asked about */
    int64_t checked_at_ms;   /* when the checker got the CP's answer (wall clock) */
    /* The actuator's own question to the CP about the same instance, asked outside any
     * transaction just before this decision; read only when policy.cp_confirm. */
    actuator_cp_confirmation cp_confirmation;
} actuator_verdict_facts;

/* The workspaces row as read (and locked) in the decision's transaction. */
typedef struct {
    bool workspace_id_is_uuid; /* false: no row could match, nothing was read */
    bool found;
    const char *status;      /* status::text; NULL only when !found */
    const char *instance_id; /* NULL = SQL NULL */
    const char *runtime;     /* NULL = SQL NULL */
} actuator_row_facts;

/* The group's mass-failure breaker as this verdict finds it (one breaker per consumer group,
 * shared by every actuator of the group through PostgreSQL, docs/actuator.md "Breaker").
 * window_count: how many OTHER workspaces had a verdict that would act (flipped, dry-run
 * "would flip", or held back by this breaker: actuator_breaker_counts) within the last
 * window_ms, whatever sweep reported them and whichever actuator decided them. The verdict's
 * own workspace is left out, so a workspace re-reported sweep after sweep is not counted
 * against itself. */
typedef struct {
    int64_t window_count;
    int64_t limit;     /* actuator_breaker_limit() for the verdict's sweep_size */
    int64_t window_ms; /* ACTUATOR_BREAKER_WINDOW, for the Action's reason */
} actuator_breaker_facts;

/* What the operator asked for. The first three are settings; `paused` is the group's pause
 * switch (reconciler_actuator_pause, migrations/007_actuator_pause.sql), the run-time
 * counterpart of dry run: set and cleared by `reconciler-actuator --pause/--resume` and read
 * inside every decision's transaction (actuator_gather's read_pause), so it takes effect at
 * the next decision of every actuator of the group. */
typedef struct {
    int64_t max_verdict_age_ms; /* ACTUATOR_MAX_VERDICT_AGE */
    bool dry_run;               /* ACTUATOR_DRY_RUN */
    bool cp_confirm;            /* ACTUATOR_CP_CONFIRM: only a confirmed verdict may flip */
    bool paused;                /* the group's pause switch is set */
    const char *paused_by;      /* who set it and why, for the Action's reason (NULL: unknown) */
    const char *pause_reason;
} actuator_policy;

typedef struct {
    /* ACTION_OUTCOME_UNSPECIFIED means "not a NOT_RUNNING verdict: no action, no record".
     * Every other value is the outcome of an Action record. */
    action_outcome outcome;
    actuator_detail detail;
} actuator_decision;

/* The decision, guard by guard, first match wins:
 *   1. liveness other than NOT_RUNNING            -> UNSPECIFIED (never acts)
 *   2. age > max age, or checked_at more than max age in the future -> SKIPPED_STALE
 *   3. workspace id not a uuid, or no row         -> SKIPPED_ROW_MISSING
 *   4. runtime 'external', instance_id NULL/''    -> SKIPPED_OUT_OF_SCOPE
 *   5. row's instance_id != verdict's             -> SKIPPED_INSTANCE_CHANGED
 *   6. status != 'online'                         -> SKIPPED_NOT_ONLINE
 *   7. the group's pause switch is set            -> SKIPPED_STALE (actuator_paused)
 *   8. cp_confirm and the CP's answer just now is not a clean NOT_RUNNING -> SKIPPED_STALE
 *      (cp_confirmation_running / _unknown / _missing)
 *   9. the group's breaker is open (window_count >= limit) -> SKIPPED_BREAKER_OPEN
 *  10. dry run                                    -> SKIPPED_DRY_RUN
 *  11. otherwise                                  -> FLIPPED_RESTART_REQUESTED
 * Why this order: guards 2-6 and 8 make the verdict moot (there is nothing to act on, or a
 * newer observation overtook it: SKIPPED_STALE, as for an old verdict), so they name what is
 * actually wrong; the pause comes right after the row guards, so that a verdict that would
 * never act anyway keeps its own reason while every one that might act says "paused", and
 * before the confirmation, the breaker and dry run, so that a paused actuator makes no CP
 * call, counts nothing in the breaker window and reports no "would flip": paused changes
 * nothing. It is SKIPPED_STALE because that is the outcome whose contract is "not acted on
 * now, the next sweep decides again" (as for the confirmation's skips), which is exactly
 * what a resume does; a new outcome symbol would change the Action schema's fingerprint for
 * every reader. The confirmation comes after the row guards because only a verdict that
 * would otherwise act is worth a CP call (actuator_needs_cp_confirmation), and before the
 * breaker so that a healthy workspace never counts towards it; the breaker holds back an
 * action that would otherwise happen;
 * dry run reports "would have flipped" only for what a live actuator would really flip, so a
 * shadow run shows exactly the live behaviour, breaker included. The age boundary is
 * inclusive: a verdict exactly max age old is still fresh. `now_ms` is the wall clock. */
actuator_decision actuator_decide(const actuator_verdict_facts *verdict_facts,
                                  const actuator_row_facts *row,
                                  const actuator_breaker_facts *breaker, int64_t now_ms,
                                  const actuator_policy *policy);

/* Whether the CP must be asked before deciding this verdict: policy->cp_confirm and guards
 * 1-7 of actuator_decide pass on `row` (read without a lock before the decision's
 * transaction). RUNNING, UNKNOWN, stale and moot verdicts never cost a CP call. Pure. */
bool actuator_needs_cp_confirmation(const actuator_verdict_facts *verdict_facts,
                                    const actuator_row_facts *row, int64_t now_ms,
                                    const actuator_policy *policy);

/* How many workspaces the group may act on within one breaker window. An absolute threshold
 * is used as is; a percentage is of the in-scope fleet, i.e. the sweep_size the verdict
 * carries (the producer's count of in-scope rows when the sweep started):
 * config_threshold_resolve(threshold, sweep_size) (rounded down) but at least 1, so that a
 * small fleet (20% of 4 is 0) can still heal one workspace per window; the harm a bogus
 * "all dead" report can do is then bounded by one restart. 0 (absolute or 0%) means "act on
 * nothing": a kill switch that still records every decision. */
int64_t actuator_breaker_limit(config_threshold threshold, int64_t sweep_size);

/* Whether the group's breaker is open for a verdict: window_count other workspaces would
 * have acted within the window, and the limit allows no more. Re-evaluated at every
 * decision, so it closes by itself once enough of the window has rolled past. Like Cluster
 * API's maxUnhealthy: while more workspaces look dead than the limit, remediation stops
 * altogether (those already held back keep counting while they are reported), because that
 * many at once is more likely a lying CP than dying instances. */
bool actuator_breaker_is_open(int64_t window_count, int64_t limit);

/* The oldest moment (ms since the epoch) still inside a window of window_ms ending at now_ms:
 * an entry counted at or after it is in the window. Saturates instead of overflowing. */
int64_t actuator_breaker_window_start_ms(int64_t now_ms, int64_t window_ms);

/* Whether a decided outcome counts in the breaker window: the verdict would have acted
 * (FLIPPED_RESTART_REQUESTED, SKIPPED_DRY_RUN) or only the breaker stopped it
 * (SKIPPED_BREAKER_OPEN). Everything skipped for its own reason (stale, moot row, changed
 * instance, CAS no match) is no evidence of dying instances and is not counted. Held-back
 * verdicts count so that a CP reporting everything dead keeps the breaker open for as long
 * as it does so, instead of letting `limit` more through every window. */
bool actuator_breaker_counts(action_outcome outcome);

/* Whether checked_at lies within max_age_ms of now on either side (the freshness guard).
 * Stale verdicts are not counted by the breaker: they never act, and a replayed old topic
 * must not hold a breaker open. */
bool actuator_verdict_is_fresh(int64_t checked_at_ms, int64_t now_ms, int64_t max_age_ms);

/* Checks a decoded verdict can be handled at all (a failing one goes to the DLQ, since no
 * retry can make it valid). Returns NULL when it can, else a stable error name
 * ("invalid_sweep_id", "invalid_instance_id") and a sentence in detail_out. Only fields the
 * actuator uses as keys are checked; everything else is decided by actuator_decide. */
const char *actuator_verdict_invalid_reason(const verdict *record, const char **detail_out);

/* true when text is a uuid in the canonical 8-4-4-4-12 hex form (either case) that
 * PostgreSQL's uuid type reads, checked with libuuid's uuid_parse. */
bool actuator_is_uuid(const char *text);

/* Writes the Action's human reason ("<detail>: <sentence>") into buffer. For stale verdicts
 * the age and the limit are stated; no value from the row or the CP is echoed. */
void actuator_format_reason(actuator_detail detail, const actuator_verdict_facts *verdict_facts,
                            const actuator_breaker_facts *breaker, int64_t now_ms,
                            const actuator_policy *policy, char *buffer, size_t size);

/* ---- one decision call: what the store gathers, and everything it then applies ---------- */

/* Which facts the decision's transaction gathers for a NOT_RUNNING verdict: the workspaces
 * row only when the id can be one (a uuid), and the group's breaker window only for a fresh
 * verdict with such an id: a stale verdict never acts, so a replayed old topic neither takes
 * the breaker's lock nor holds the breaker open. The pause switch exactly when the breaker
 * is read, and after its lock: only such a verdict can reach the pause's guard, and
 * `--pause` takes the same lock, so once it returns no decision that read the switch unset
 * is still open (docs/actuator.md "Pause"). */
typedef struct {
    bool read_row;
    bool read_breaker;
    bool read_pause;
} actuator_facts_to_gather;

actuator_facts_to_gather actuator_gather(const char *workspace_id,
                                         const actuator_verdict_facts *verdict_facts,
                                         int64_t now_ms, const actuator_policy *policy);

#define ACTUATOR_REASON_SIZE 256

/* One possible end of a decision: what the Action says and what happens to the breaker. */
typedef struct {
    actuator_decision decision;
    char reason[ACTUATOR_REASON_SIZE]; /* the Action's reason (actuator_format_reason) */
    bool count_in_window;              /* put the workspace in the breaker window */
    bool breaker_open;                 /* the breaker's state after this decision */
    bool breaker_changes;              /* ... differs from before: write it, log the change */
} actuator_outcome_plan;

/* Everything the store applies for one verdict, decided at once from the gathered facts:
 * `planned`, and for a planned flip also `if_cas_misses`, what to record instead when the
 * compare-and-swap matches no row (it repeats every condition; with the row locked it should
 * never miss, but a wrong decision must not be able to flip anything). `breaker` is NULL when
 * it was not gathered (then nothing counts in the window and its state is left as it is);
 * breaker_was_open is the group breaker's stored state. */
typedef struct {
    actuator_outcome_plan planned;
    actuator_outcome_plan if_cas_misses;
} actuator_plan;

actuator_plan actuator_plan_verdict(const actuator_verdict_facts *verdict_facts,
                                    const actuator_row_facts *row,
                                    const actuator_breaker_facts *breaker, bool breaker_was_open,
                                    int64_t now_ms, const actuator_policy *policy);

#endif
