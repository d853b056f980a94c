/* actuator_decide.c — the actuator's decision and guards as pure functions (see actuator_decide.h).
 *
 * For: turning facts (verdict, row, breaker position, clock, policy) into an outcome and a
 * stable detail. Not for: getting those facts or acting on the outcome (actuator_store.c). Nothing
 * here reads a clock, allocates or logs, so every branch is reachable from a unit test. */
#include "actuator_decide.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <uuid/uuid.h>

static const char *const detail_names[ACTUATOR_DETAIL_COUNT] = {
    [ACTUATOR_DETAIL_NONE] = "none",
    [ACTUATOR_DETAIL_VERDICT_TOO_OLD] = "verdict_too_old",
    [ACTUATOR_DETAIL_VERDICT_FROM_FUTURE] = "verdict_from_future",
    [ACTUATOR_DETAIL_NOT_A_UUID] = "workspace_id_not_uuid",
    [ACTUATOR_DETAIL_NO_SUCH_ROW] = "no_such_row",
    [ACTUATOR_DETAIL_EXTERNAL_RUNTIME] = "external_runtime",
    [ACTUATOR_DETAIL_NO_INSTANCE] = "no_instance",
    [ACTUATOR_DETAIL_INSTANCE_CHANGED] = "instance_changed",
    [ACTUATOR_DETAIL_STATUS_NOT_ONLINE] = "status_not_online",
    [ACTUATOR_DETAIL_CAS_NO_MATCH] = "compare_and_swap_no_match",
    [ACTUATOR_DETAIL_BREAKER_OPEN] = "breaker_open",
    [ACTUATOR_DETAIL_DRY_RUN] = "dry_run",
    [ACTUATOR_DETAIL_FLIPPED] = "flipped",
    [ACTUATOR_DETAIL_CP_CONFIRMATION_RUNNING] = "cp_confirmation_running",
    [ACTUATOR_DETAIL_CP_CONFIRMATION_UNKNOWN] = "cp_confirmation_unknown",
    [ACTUATOR_DETAIL_CP_CONFIRMATION_MISSING] = "cp_confirmation_missing",
    [ACTUATOR_DETAIL_ACTUATOR_PAUSED] = "actuator_paused",
};

static const char *const confirmation_names[ACTUATOR_CP_CONFIRMATION_COUNT] = {
    [ACTUATOR_CP_CONFIRMATION_NOT_ASKED] = "not_asked",
    [ACTUATOR_CP_CONFIRMATION_NOT_RUNNING] = "not_running",
    [ACTUATOR_CP_CONFIRMATION_RUNNING] = "running",
    [ACTUATOR_CP_CONFIRMATION_UNKNOWN] = "unknown",
};

const char *actuator_cp_confirmation_name(actuator_cp_confirmation confirmation)
{
    if ((int)confirmation < 0 || confirmation >= ACTUATOR_CP_CONFIRMATION_COUNT) {
        return "invalid";
    }
    return confirmation_names[confirmation];
}

actuator_cp_confirmation actuator_cp_confirmation_from_liveness(liveness answer)
{
    switch (answer) {
    case LIVENESS_NOT_RUNNING:
        return ACTUATOR_CP_CONFIRMATION_NOT_RUNNING;
    case LIVENESS_RUNNING:
        return ACTUATOR_CP_CONFIRMATION_RUNNING;
    default:
        return ACTUATOR_CP_CONFIRMATION_UNKNOWN;
    }
}

const char *actuator_detail_name(actuator_detail detail)
{
    if ((int)detail < 0 || detail >= ACTUATOR_DETAIL_COUNT) {
        return "invalid";
    }
    return detail_names[detail];
}

static actuator_decision decision(action_outcome outcome, actuator_detail detail)
{
    actuator_decision result = {.outcome = outcome, .detail = detail};
    return result;
}

static bool text_empty(const char *text)
{
    return text == NULL || text[0] == '\0';
}

bool actuator_breaker_is_open(int64_t window_count, int64_t limit)
{
    return window_count >= limit;
}

int64_t actuator_breaker_window_start_ms(int64_t now_ms, int64_t window_ms)
{
    if (window_ms <= 0) {
        return now_ms;
    }
    if (now_ms < INT64_MIN + window_ms) {
        return INT64_MIN;
    }
    return now_ms - window_ms;
}

bool actuator_breaker_counts(action_outcome outcome)
{
    return outcome == ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED ||
           outcome == ACTION_OUTCOME_SKIPPED_DRY_RUN ||
           outcome == ACTION_OUTCOME_SKIPPED_BREAKER_OPEN;
}

bool actuator_verdict_is_fresh(int64_t checked_at_ms, int64_t now_ms, int64_t max_age_ms)
{
    /* Subtractions only after the comparison, in unsigned arithmetic, so that no input
     * (INT64_MIN, INT64_MAX) can overflow. */
    uint64_t max_age = max_age_ms < 0 ? 0 : (uint64_t)max_age_ms;
    if (checked_at_ms <= now_ms) {
        return (uint64_t)now_ms - (uint64_t)checked_at_ms <= max_age;
    }
    return (uint64_t)checked_at_ms - (uint64_t)now_ms <= max_age;
}

/* Guards 1-6 of actuator_decide: true with *moot set when one of them decides. */
static bool decide_moot(const actuator_verdict_facts *verdict_facts, const actuator_row_facts *row,
                        int64_t now_ms, const actuator_policy *policy, actuator_decision *moot)
{
    /* 1. Fail-safe rule (docs/contracts.md §1): only NOT_RUNNING may lead to an action. */
    if (verdict_facts->liveness != LIVENESS_NOT_RUNNING) {
        *moot = decision(ACTION_OUTCOME_UNSPECIFIED, ACTUATOR_DETAIL_NONE);
        return true;
    }

    /* 2. Freshness. A stopped instance can be started again under the same id, which the
     * compare-and-swap cannot see; only a recent answer describes the instance now. A
     * checked_at far in the future means a skewed clock somewhere: not trustworthy either. */
    if (!actuator_verdict_is_fresh(verdict_facts->checked_at_ms, now_ms,
                                   policy->max_verdict_age_ms)) {
        *moot = decision(ACTION_OUTCOME_SKIPPED_STALE, verdict_facts->checked_at_ms <= now_ms
                                                           ? ACTUATOR_DETAIL_VERDICT_TOO_OLD
                                                           : ACTUATOR_DETAIL_VERDICT_FROM_FUTURE);
        return true;
    }

    /* 3-6. The compare-and-swap conditions (docs/contracts.md §2), in the order that names the most
     * specific reason. The conditional UPDATE repeats them in SQL, so a mistake here can
     * only make the actuator do less, never more. */
    if (!row->workspace_id_is_uuid) {
        *moot = decision(ACTION_OUTCOME_SKIPPED_ROW_MISSING, ACTUATOR_DETAIL_NOT_A_UUID);
    } else if (!row->found) {
        *moot = decision(ACTION_OUTCOME_SKIPPED_ROW_MISSING, ACTUATOR_DETAIL_NO_SUCH_ROW);
    } else if (row->runtime != NULL && strcmp(row->runtime, "external") == 0) {
        *moot = decision(ACTION_OUTCOME_SKIPPED_OUT_OF_SCOPE, ACTUATOR_DETAIL_EXTERNAL_RUNTIME);
    } else if (text_empty(row->instance_id)) {
        *moot = decision(ACTION_OUTCOME_SKIPPED_OUT_OF_SCOPE, ACTUATOR_DETAIL_NO_INSTANCE);
    } else if (verdict_facts->instance_id == NULL ||
               strcmp(row->instance_id, verdict_facts->instance_id) != 0) {
        *moot = decision(ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED, ACTUATOR_DETAIL_INSTANCE_CHANGED);
    } else if (row->status == NULL || strcmp(row->status, "online") != 0) {
        *moot = decision(ACTION_OUTCOME_SKIPPED_NOT_ONLINE, ACTUATOR_DETAIL_STATUS_NOT_ONLINE);
    } else {
        return false;
    }
    return true;
}

bool actuator_needs_cp_confirmation(const actuator_verdict_facts *verdict_facts,
                                    const actuator_row_facts *row, int64_t now_ms,
                                    const actuator_policy *policy)
{
    actuator_decision moot;
    return policy->cp_confirm && !policy->paused &&
           !decide_moot(verdict_facts, row, now_ms, policy, &moot);
}

actuator_decision actuator_decide(const actuator_verdict_facts *verdict_facts,
                                  const actuator_row_facts *row,
                                  const actuator_breaker_facts *breaker, int64_t now_ms,
                                  const actuator_policy *policy)
{
    actuator_decision moot;
    if (decide_moot(verdict_facts, row, now_ms, policy, &moot)) {
        return moot;
    }

    /* 7. The group's pause switch (docs/actuator.md "Pause"). After the row guards, so a
     * verdict that would never act keeps its own reason; before everything that costs or
     * counts (a CP call, the breaker window, a dry run's "would flip"), so a paused actuator
     * changes nothing but the verdict's Action. The first sweep after --resume reports the
     * workspace again: skipping loses nothing that holding would keep. */
    if (policy->paused) {
        return decision(ACTION_OUTCOME_SKIPPED_STALE, ACTUATOR_DETAIL_ACTUATOR_PAUSED);
    }

    /* 8. The CP, asked again just now about the same instance, must agree. A verdict is an
     * observation of some past moment: verdicts can arrive out of order (concurrent requests,
     * retries, rebalances, a restarted actuator) and an instance id survives a stop/start, so
     * a fresh NOT_RUNNING can still be older than a RUNNING already seen. Anything but a clean
     * NOT_RUNNING means a newer observation overtook the verdict, or none can be had: skip,
     * and the next sweep asks again. The row guards come first because they cost no call. */
    if (policy->cp_confirm) {
        switch (verdict_facts->cp_confirmation) {
        case ACTUATOR_CP_CONFIRMATION_NOT_RUNNING:
            break;
        case ACTUATOR_CP_CONFIRMATION_RUNNING:
            return decision(ACTION_OUTCOME_SKIPPED_STALE, ACTUATOR_DETAIL_CP_CONFIRMATION_RUNNING);
        case ACTUATOR_CP_CONFIRMATION_NOT_ASKED:
            return decision(ACTION_OUTCOME_SKIPPED_STALE, ACTUATOR_DETAIL_CP_CONFIRMATION_MISSING);
        default:
            return decision(ACTION_OUTCOME_SKIPPED_STALE, ACTUATOR_DETAIL_CP_CONFIRMATION_UNKNOWN);
        }
    }

    /* 9. Mass-failure breaker: the group acts on at most `limit` workspaces per rolling
     * window, across sweeps and actuators; none while more than that look dead. */
    if (actuator_breaker_is_open(breaker->window_count, breaker->limit)) {
        return decision(ACTION_OUTCOME_SKIPPED_BREAKER_OPEN, ACTUATOR_DETAIL_BREAKER_OPEN);
    }

    /* 10-11. Everything says act; dry run only reports it. */
    if (policy->dry_run) {
        return decision(ACTION_OUTCOME_SKIPPED_DRY_RUN, ACTUATOR_DETAIL_DRY_RUN);
    }
    return decision(ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED, ACTUATOR_DETAIL_FLIPPED);
}

int64_t actuator_breaker_limit(config_threshold threshold, int64_t sweep_size)
{
    int64_t limit = config_threshold_resolve(threshold, sweep_size);
    if (limit < 0) {
        limit = 0;
    }
    if (threshold.is_percent && threshold.value > 0 && limit < 1) {
        limit = 1;
    }
    return limit;
}

bool actuator_is_uuid(const char *text)
{
    uuid_t parsed;
    /* uuid_parse insists on exactly 36 characters in 8-4-4-4-12 form; PostgreSQL would also
     * read braces or a missing hyphen, but ids we write are canonical, and being stricter
     * can only skip, never act. */
    return text != NULL && strlen(text) == 36 && uuid_parse(text, parsed) == 0;
}

const char *actuator_verdict_invalid_reason(const verdict *record, const char **detail_out)
{
    const char *unused;
    if (detail_out == NULL) {
        detail_out = &unused;
    }
    size_t sweep_length = record->sweep_id != NULL ? strlen(record->sweep_id) : 0;
    if (sweep_length == 0 || sweep_length > ACTUATOR_MAX_SWEEP_ID_LENGTH) {
        *detail_out = "sweep_id is empty or longer than 128 bytes: the breaker cannot count it";
        return "invalid_sweep_id";
    }
    size_t instance_length = record->instance_id != NULL ? strlen(record->instance_id) : 0;
    if (instance_length > ACTUATOR_MAX_INSTANCE_ID_LENGTH) {
        *detail_out = "instance_id is longer than the codec's string limit";
        return "invalid_instance_id";
    }
    *detail_out = NULL;
    return NULL;
}

void actuator_format_reason(actuator_detail detail, const actuator_verdict_facts *verdict_facts,
                            const actuator_breaker_facts *breaker, int64_t now_ms,
                            const actuator_policy *policy, char *buffer, size_t size)
{
    const char *name = actuator_detail_name(detail);
    switch (detail) {
    case ACTUATOR_DETAIL_VERDICT_TOO_OLD:
    case ACTUATOR_DETAIL_VERDICT_FROM_FUTURE: {
        /* Seconds are enough for an operator; saturate instead of overflowing on absurd
         * timestamps. */
        double age_seconds = ((double)now_ms - (double)verdict_facts->checked_at_ms) / 1000.0;
        snprintf(buffer, size, "%s: checked %.0fs %s, limit %" PRId64 "s", name,
                 age_seconds < 0 ? -age_seconds : age_seconds, age_seconds < 0 ? "ahead" : "ago",
                 policy->max_verdict_age_ms / 1000);
        return;
    }
    case ACTUATOR_DETAIL_BREAKER_OPEN:
        snprintf(buffer, size,
                 "%s: at least %" PRId64 " other workspaces of the group would have been acted on "
                 "in the last %" PRId64 "s, limit %" PRId64,
                 name, breaker->window_count, breaker->window_ms / 1000, breaker->limit);
        return;
    case ACTUATOR_DETAIL_NOT_A_UUID:
        snprintf(buffer, size, "%s: workspace_id is not a uuid, no row can match", name);
        return;
    case ACTUATOR_DETAIL_NO_SUCH_ROW:
        snprintf(buffer, size, "%s: no workspaces row with this id", name);
        return;
    case ACTUATOR_DETAIL_EXTERNAL_RUNTIME:
        snprintf(buffer, size, "%s: runtime is external, owned by another liveness path", name);
        return;
    case ACTUATOR_DETAIL_NO_INSTANCE:
        snprintf(buffer, size, "%s: row has no instance_id (not a CP workspace)", name);
        return;
    case ACTUATOR_DETAIL_INSTANCE_CHANGED:
        snprintf(buffer, size, "%s: row now points at another instance", name);
        return;
    case ACTUATOR_DETAIL_STATUS_NOT_ONLINE:
        snprintf(buffer, size, "%s: row is no longer online", name);
        return;
    case ACTUATOR_DETAIL_CAS_NO_MATCH:
        snprintf(buffer, size, "%s: the conditional update matched no row", name);
        return;
    case ACTUATOR_DETAIL_DRY_RUN:
        snprintf(buffer, size, "%s: would flip offline and request a restart", name);
        return;
    case ACTUATOR_DETAIL_FLIPPED:
        snprintf(buffer, size, "%s: status online -> offline, restart queued", name);
        return;
    case ACTUATOR_DETAIL_CP_CONFIRMATION_RUNNING:
        snprintf(buffer, size,
                 "%s: the CP, asked again just now, says the instance runs; a newer observation "
                 "overtook this verdict",
                 name);
        return;
    case ACTUATOR_DETAIL_CP_CONFIRMATION_UNKNOWN:
        snprintf(buffer, size,
                 "%s: the CP, asked again just now, gave no clean answer; the next sweep asks "
                 "again",
                 name);
        return;
    case ACTUATOR_DETAIL_CP_CONFIRMATION_MISSING:
        snprintf(buffer, size,
                 "%s: the row changed after it was read, so the CP was not asked; the next "
                 "sweep asks again",
                 name);
        return;
    case ACTUATOR_DETAIL_ACTUATOR_PAUSED:
        /* Who and why are the operator's own words (reconciler-actuator --pause), so the
         * audit says why a death was not healed; nothing from the row or the CP. */
        snprintf(buffer, size,
                 "%s: the group's actuator is paused (by %s: %s); nothing changed, the first "
                 "sweep after --resume decides again",
                 name, policy->paused_by != NULL ? policy->paused_by : "unknown",
                 policy->pause_reason != NULL ? policy->pause_reason : "no reason given");
        return;
    case ACTUATOR_DETAIL_NONE:
    case ACTUATOR_DETAIL_COUNT:
        break;
    }
    snprintf(buffer, size, "%s", name);
}

actuator_facts_to_gather actuator_gather(const char *workspace_id,
                                         const actuator_verdict_facts *verdict_facts,
                                         int64_t now_ms, const actuator_policy *policy)
{
    actuator_facts_to_gather gather = {.read_row = actuator_is_uuid(workspace_id)};
    gather.read_breaker =
        gather.read_row &&
        actuator_verdict_is_fresh(verdict_facts->checked_at_ms, now_ms, policy->max_verdict_age_ms);
    /* Guard 7 is reached only past the freshness guard with a uuid: exactly when the breaker
     * is read, whose lock --pause also takes (actuator_store_set_pause). */
    gather.read_pause = gather.read_breaker;
    return gather;
}

static actuator_outcome_plan plan_outcome(actuator_decision decision,
                                          const actuator_verdict_facts *verdict_facts,
                                          const actuator_breaker_facts *breaker,
                                          bool breaker_was_open, int64_t now_ms,
                                          const actuator_policy *policy)
{
    /* Until gathered, the breaker reads closed for the reason's sake (all-zero facts would
     * read open); a verdict without breaker facts is skipped before the breaker's guard. */
    const actuator_breaker_facts closed = {.limit = INT64_MAX};
    actuator_outcome_plan plan = {.decision = decision, .breaker_open = breaker_was_open};
    actuator_format_reason(decision.detail, verdict_facts, breaker != NULL ? breaker : &closed,
                           now_ms, policy, plan.reason, sizeof plan.reason);
    /* The window counts what would have acted. The breaker's state changes with the verdicts
     * it governs: it opens when one is held back and closes when one may act again, so the
     * trip is logged and counted once per incident. */
    if (breaker != NULL && actuator_breaker_counts(decision.outcome)) {
        plan.count_in_window = true;
        plan.breaker_open = decision.outcome == ACTION_OUTCOME_SKIPPED_BREAKER_OPEN;
        plan.breaker_changes = plan.breaker_open != breaker_was_open;
    }
    return plan;
}

actuator_plan actuator_plan_verdict(const actuator_verdict_facts *verdict_facts,
                                    const actuator_row_facts *row,
                                    const actuator_breaker_facts *breaker, bool breaker_was_open,
                                    int64_t now_ms, const actuator_policy *policy)
{
    const actuator_breaker_facts closed = {.limit = INT64_MAX};
    actuator_decision decision =
        actuator_decide(verdict_facts, row, breaker != NULL ? breaker : &closed, now_ms, policy);
    actuator_plan plan = {.planned = plan_outcome(decision, verdict_facts, breaker,
                                                  breaker_was_open, now_ms, policy)};
    if (decision.outcome == ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED) {
        actuator_decision missed = {.outcome = ACTION_OUTCOME_SKIPPED_NOT_ONLINE,
                                    .detail = ACTUATOR_DETAIL_CAS_NO_MATCH};
        plan.if_cas_misses =
            plan_outcome(missed, verdict_facts, breaker, breaker_was_open, now_ms, policy);
    }
    return plan;
}
