/* Unit tests of the actuator's decision (actuator_decide.c): every outcome, the freshness and
 * breaker boundaries, the guards' order, dry run with every skip, RUNNING/UNKNOWN never acting;
 * plus the breaker limit, verdict validation, uuid check and the Action reason text. */
#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "actuator_decide.h"

#define NOW 1800000000000LL       /* a wall clock in 2027 */
#define MAX_AGE (5LL * 60 * 1000) /* the default ACTUATOR_MAX_VERDICT_AGE */
#define WORKSPACE_UUID "6f1c2a9e-3b7d-4c1e-9a2f-0d4b8e7c5a31"

typedef struct {
    const char *name;
    liveness liveness;
    const char *verdict_instance;
    int64_t checked_at;
    bool is_uuid;
    bool found;
    const char *status;
    const char *row_instance;
    const char *runtime;
    int64_t window_count; /* other workspaces in the group's breaker window */
    int64_t limit;
    bool dry_run;
    action_outcome expected;
    actuator_detail expected_detail;
} decide_case;

static actuator_decision run_case(const decide_case *c)
{
    actuator_verdict_facts verdict_facts = {c->liveness, c->verdict_instance, c->checked_at,
                                            ACTUATOR_CP_CONFIRMATION_NOT_ASKED};
    actuator_row_facts row = {c->is_uuid, c->found, c->status, c->row_instance, c->runtime};
    actuator_breaker_facts breaker = {c->window_count, c->limit, 600000};
    actuator_policy policy = {MAX_AGE, c->dry_run, false, false, NULL, NULL};
    return actuator_decide(&verdict_facts, &row, &breaker, NOW, &policy);
}

/* A row and verdict that pass every guard: the base every case changes one thing of. */
#define GOOD LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000, true, true, "online", "i-0abc", NULL, 0, 5

static const decide_case cases[] = {
    /* The one path that acts. */
    {"fresh NOT_RUNNING on an online row flips", GOOD, false,
     ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED, ACTUATOR_DETAIL_FLIPPED},
    /* RUNNING and UNKNOWN never act, whatever else holds. */
    {"RUNNING never acts", LIVENESS_RUNNING, "i-0abc", NOW - 1000, true, true, "online", "i-0abc",
     NULL, 0, 5, false, ACTION_OUTCOME_UNSPECIFIED, ACTUATOR_DETAIL_NONE},
    {"UNKNOWN never acts", LIVENESS_UNKNOWN, "i-0abc", NOW - 1000, true, true, "online", "i-0abc",
     NULL, 0, 5, false, ACTION_OUTCOME_UNSPECIFIED, ACTUATOR_DETAIL_NONE},
    {"UNKNOWN in dry run records nothing", LIVENESS_UNKNOWN, "i-0abc", NOW - 1000, true, true,
     "online", "i-0abc", NULL, 0, 5, true, ACTION_OUTCOME_UNSPECIFIED, ACTUATOR_DETAIL_NONE},
    {"a liveness value beyond the enum never acts", (liveness)7, "i-0abc", NOW - 1000, true, true,
     "online", "i-0abc", NULL, 0, 5, false, ACTION_OUTCOME_UNSPECIFIED, ACTUATOR_DETAIL_NONE},
    {"RUNNING with a stale, missing row still records nothing", LIVENESS_RUNNING, "i-0abc", 0,
     false, false, NULL, NULL, NULL, 98, 0, false, ACTION_OUTCOME_UNSPECIFIED,
     ACTUATOR_DETAIL_NONE},
    /* Freshness boundaries. */
    {"exactly max age old is fresh", LIVENESS_NOT_RUNNING, "i-0abc", NOW - MAX_AGE, true, true,
     "online", "i-0abc", NULL, 0, 5, false, ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED,
     ACTUATOR_DETAIL_FLIPPED},
    {"one ms beyond max age is stale", LIVENESS_NOT_RUNNING, "i-0abc", NOW - MAX_AGE - 1, true,
     true, "online", "i-0abc", NULL, 0, 5, false, ACTION_OUTCOME_SKIPPED_STALE,
     ACTUATOR_DETAIL_VERDICT_TOO_OLD},
    {"checked exactly now is fresh", LIVENESS_NOT_RUNNING, "i-0abc", NOW, true, true, "online",
     "i-0abc", NULL, 0, 5, false, ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED,
     ACTUATOR_DETAIL_FLIPPED},
    {"max age in the future is tolerated skew", LIVENESS_NOT_RUNNING, "i-0abc", NOW + MAX_AGE, true,
     true, "online", "i-0abc", NULL, 0, 5, false, ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED,
     ACTUATOR_DETAIL_FLIPPED},
    {"beyond max age in the future is stale", LIVENESS_NOT_RUNNING, "i-0abc", NOW + MAX_AGE + 1,
     true, true, "online", "i-0abc", NULL, 0, 5, false, ACTION_OUTCOME_SKIPPED_STALE,
     ACTUATOR_DETAIL_VERDICT_FROM_FUTURE},
    {"checked_at zero (a replayed ancient verdict) is stale", LIVENESS_NOT_RUNNING, "i-0abc", 0,
     true, true, "online", "i-0abc", NULL, 0, 5, false, ACTION_OUTCOME_SKIPPED_STALE,
     ACTUATOR_DETAIL_VERDICT_TOO_OLD},
    {"checked_at INT64_MIN is stale without overflow", LIVENESS_NOT_RUNNING, "i-0abc", INT64_MIN,
     true, true, "online", "i-0abc", NULL, 0, 5, false, ACTION_OUTCOME_SKIPPED_STALE,
     ACTUATOR_DETAIL_VERDICT_TOO_OLD},
    {"checked_at INT64_MAX is from the future", LIVENESS_NOT_RUNNING, "i-0abc", INT64_MAX, true,
     true, "online", "i-0abc", NULL, 0, 5, false, ACTION_OUTCOME_SKIPPED_STALE,
     ACTUATOR_DETAIL_VERDICT_FROM_FUTURE},
    /* The row. */
    {"workspace id not a uuid is row missing", LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000, false,
     false, NULL, NULL, NULL, -1, 5, false, ACTION_OUTCOME_SKIPPED_ROW_MISSING,
     ACTUATOR_DETAIL_NOT_A_UUID},
    {"no such row is row missing", LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000, true, false, NULL,
     NULL, NULL, 0, 5, false, ACTION_OUTCOME_SKIPPED_ROW_MISSING, ACTUATOR_DETAIL_NO_SUCH_ROW},
    {"external runtime is out of scope", LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000, true, true,
     "online", "i-0abc", "external", 0, 5, false, ACTION_OUTCOME_SKIPPED_OUT_OF_SCOPE,
     ACTUATOR_DETAIL_EXTERNAL_RUNTIME},
    {"another runtime is in scope", LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000, true, true,
     "online", "i-0abc", "docker", 1, 5, false, ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED,
     ACTUATOR_DETAIL_FLIPPED},
    {"an empty runtime is in scope", LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000, true, true,
     "online", "i-0abc", "", 1, 5, false, ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED,
     ACTUATOR_DETAIL_FLIPPED},
    {"runtime External (other case) is not 'external'", LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000,
     true, true, "online", "i-0abc", "External", 1, 5, false,
     ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED, ACTUATOR_DETAIL_FLIPPED},
    {"NULL instance_id is out of scope", LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000, true, true,
     "online", NULL, NULL, 0, 5, false, ACTION_OUTCOME_SKIPPED_OUT_OF_SCOPE,
     ACTUATOR_DETAIL_NO_INSTANCE},
    {"empty instance_id is out of scope", LIVENESS_NOT_RUNNING, "", NOW - 1000, true, true,
     "online", "", NULL, 0, 5, false, ACTION_OUTCOME_SKIPPED_OUT_OF_SCOPE,
     ACTUATOR_DETAIL_NO_INSTANCE},
    {"row moved to a new instance", LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000, true, true,
     "online", "i-0new", NULL, 0, 5, false, ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED,
     ACTUATOR_DETAIL_INSTANCE_CHANGED},
    {"instance ids compare byte for byte", LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000, true, true,
     "online", "I-0ABC", NULL, 0, 5, false, ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED,
     ACTUATOR_DETAIL_INSTANCE_CHANGED},
    {"a prefix is not the same instance", LIVENESS_NOT_RUNNING, "i-0ab", NOW - 1000, true, true,
     "online", "i-0abc", NULL, 0, 5, false, ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED,
     ACTUATOR_DETAIL_INSTANCE_CHANGED},
    {"a verdict without instance never matches", LIVENESS_NOT_RUNNING, NULL, NOW - 1000, true, true,
     "online", "i-0abc", NULL, 0, 5, false, ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED,
     ACTUATOR_DETAIL_INSTANCE_CHANGED},
    {"offline row is not online", LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000, true, true, "offline",
     "i-0abc", NULL, 0, 5, false, ACTION_OUTCOME_SKIPPED_NOT_ONLINE,
     ACTUATOR_DETAIL_STATUS_NOT_ONLINE},
    {"status Online (other case) is not online", LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000, true,
     true, "Online", "i-0abc", NULL, 0, 5, false, ACTION_OUTCOME_SKIPPED_NOT_ONLINE,
     ACTUATOR_DETAIL_STATUS_NOT_ONLINE},
    {"NULL status is not online", LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000, true, true, NULL,
     "i-0abc", NULL, 0, 5, false, ACTION_OUTCOME_SKIPPED_NOT_ONLINE,
     ACTUATOR_DETAIL_STATUS_NOT_ONLINE},
    /* Breaker boundary: open once the window holds `limit` other workspaces. */
    {"window one below the limit acts", LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000, true, true,
     "online", "i-0abc", NULL, 4, 5, false, ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED,
     ACTUATOR_DETAIL_FLIPPED},
    {"window at the limit is breaker open", LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000, true, true,
     "online", "i-0abc", NULL, 5, 5, false, ACTION_OUTCOME_SKIPPED_BREAKER_OPEN,
     ACTUATOR_DETAIL_BREAKER_OPEN},
    {"limit 0 acts on nothing", LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000, true, true, "online",
     "i-0abc", NULL, 0, 0, false, ACTION_OUTCOME_SKIPPED_BREAKER_OPEN,
     ACTUATOR_DETAIL_BREAKER_OPEN},
    /* Dry run: replaces only the flip. */
    {"dry run reports the flip it would make", GOOD, true, ACTION_OUTCOME_SKIPPED_DRY_RUN,
     ACTUATOR_DETAIL_DRY_RUN},
    {"dry run with breaker open says breaker open", LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000,
     true, true, "online", "i-0abc", NULL, 5, 5, true, ACTION_OUTCOME_SKIPPED_BREAKER_OPEN,
     ACTUATOR_DETAIL_BREAKER_OPEN},
    {"dry run with stale says stale", LIVENESS_NOT_RUNNING, "i-0abc", NOW - MAX_AGE - 1, true, true,
     "online", "i-0abc", NULL, 0, 5, true, ACTION_OUTCOME_SKIPPED_STALE,
     ACTUATOR_DETAIL_VERDICT_TOO_OLD},
    {"dry run with instance changed says so", LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000, true,
     true, "online", "i-0new", NULL, 0, 5, true, ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED,
     ACTUATOR_DETAIL_INSTANCE_CHANGED},
    {"dry run with offline row says not online", LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000, true,
     true, "offline", "i-0abc", NULL, 0, 5, true, ACTION_OUTCOME_SKIPPED_NOT_ONLINE,
     ACTUATOR_DETAIL_STATUS_NOT_ONLINE},
    {"dry run with external row says out of scope", LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000,
     true, true, "online", "i-0abc", "external", 0, 5, true, ACTION_OUTCOME_SKIPPED_OUT_OF_SCOPE,
     ACTUATOR_DETAIL_EXTERNAL_RUNTIME},
    {"dry run with missing row says row missing", LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000, true,
     false, NULL, NULL, NULL, 0, 5, true, ACTION_OUTCOME_SKIPPED_ROW_MISSING,
     ACTUATOR_DETAIL_NO_SUCH_ROW},
    /* Precedence between guards. */
    {"stale wins over a missing row", LIVENESS_NOT_RUNNING, "i-0abc", NOW - MAX_AGE - 1, true,
     false, NULL, NULL, NULL, 8, 5, false, ACTION_OUTCOME_SKIPPED_STALE,
     ACTUATOR_DETAIL_VERDICT_TOO_OLD},
    {"row missing wins over breaker open", LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000, true, false,
     NULL, NULL, NULL, 8, 5, false, ACTION_OUTCOME_SKIPPED_ROW_MISSING,
     ACTUATOR_DETAIL_NO_SUCH_ROW},
    {"out of scope wins over instance changed and offline", LIVENESS_NOT_RUNNING, "i-0abc",
     NOW - 1000, true, true, "offline", "i-0new", "external", 0, 5, false,
     ACTION_OUTCOME_SKIPPED_OUT_OF_SCOPE, ACTUATOR_DETAIL_EXTERNAL_RUNTIME},
    {"instance changed wins over not online", LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000, true,
     true, "provisioning", "i-0new", NULL, 0, 5, false, ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED,
     ACTUATOR_DETAIL_INSTANCE_CHANGED},
    {"not online wins over breaker open", LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000, true, true,
     "offline", "i-0abc", NULL, 8, 5, false, ACTION_OUTCOME_SKIPPED_NOT_ONLINE,
     ACTUATOR_DETAIL_STATUS_NOT_ONLINE},
};

START_TEST(test_actuator_decide_table)
{
    const decide_case *c = &cases[_i];
    actuator_decision decision = run_case(c);
    ck_assert_msg(decision.outcome == c->expected, "%s: outcome %s, expected %s", c->name,
                  action_outcome_name(decision.outcome), action_outcome_name(c->expected));
    ck_assert_msg(decision.detail == c->expected_detail, "%s: detail %s, expected %s", c->name,
                  actuator_detail_name(decision.detail), actuator_detail_name(c->expected_detail));
}
END_TEST

START_TEST(test_actuator_every_non_online_status_is_not_online)
{
    static const char *const statuses[] = {"provisioning", "offline",        "degraded",
                                           "failed",       "removed",        "paused",
                                           "hibernated",   "awaiting_agent", ""};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        actuator_verdict_facts verdict_facts = {LIVENESS_NOT_RUNNING, "i-1", NOW,
                                                ACTUATOR_CP_CONFIRMATION_NOT_ASKED};
        actuator_row_facts row = {true, true, statuses[i], "i-1", NULL};
        actuator_breaker_facts breaker = {0, 1, 600000};
        actuator_policy policy = {MAX_AGE, false, false, false, NULL, NULL};
        actuator_decision decision = actuator_decide(&verdict_facts, &row, &breaker, NOW, &policy);
        ck_assert_msg(decision.outcome == ACTION_OUTCOME_SKIPPED_NOT_ONLINE, "status '%s'",
                      statuses[i]);
    }
}
END_TEST

/* Exhaustive: every combination of liveness x age x row state x breaker x dry run x CP
 * confirmation against an oracle written from the rules, independent of
 * actuator_decide.c's code. */
enum { AGE_FRESH, AGE_AT_LIMIT, AGE_TOO_OLD, AGE_FUTURE_OK, AGE_FUTURE_TOO_FAR, AGE_COUNT };
enum {
    ROW_NOT_UUID,
    ROW_MISSING,
    ROW_EXTERNAL,
    ROW_NO_INSTANCE,
    ROW_MOVED,
    ROW_OFFLINE,
    ROW_ONLINE,
    ROW_COUNT
};
enum { BREAKER_EMPTY, BREAKER_BELOW, BREAKER_AT, BREAKER_BEYOND, BREAKER_COUNT };
/* The confirmation dimension: off (ACTUATOR_CP_CONFIRM=false), or on with each answer. */
enum {
    CONFIRM_OFF,
    CONFIRM_NOT_ASKED,
    CONFIRM_NOT_RUNNING,
    CONFIRM_RUNNING,
    CONFIRM_UNKNOWN,
    CONFIRM_COUNT
};

static action_outcome oracle(liveness value, int age, int row, int breaker, bool dry_run,
                             int confirm, bool paused)
{
    if (value != LIVENESS_NOT_RUNNING)
        return ACTION_OUTCOME_UNSPECIFIED;
    if (age == AGE_TOO_OLD || age == AGE_FUTURE_TOO_FAR)
        return ACTION_OUTCOME_SKIPPED_STALE;
    switch (row) {
    case ROW_NOT_UUID:
    case ROW_MISSING:
        return ACTION_OUTCOME_SKIPPED_ROW_MISSING;
    case ROW_EXTERNAL:
    case ROW_NO_INSTANCE:
        return ACTION_OUTCOME_SKIPPED_OUT_OF_SCOPE;
    case ROW_MOVED:
        return ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED;
    case ROW_OFFLINE:
        return ACTION_OUTCOME_SKIPPED_NOT_ONLINE;
    default:
        break;
    }
    /* Paused: every verdict that could act is skipped, before anything that costs or counts. */
    if (paused)
        return ACTION_OUTCOME_SKIPPED_STALE;
    /* Only a clean not-running answer of the CP, asked just now, lets the verdict go on. */
    if (confirm != CONFIRM_OFF && confirm != CONFIRM_NOT_RUNNING)
        return ACTION_OUTCOME_SKIPPED_STALE;
    /* The window already holds `limit` other workspaces (or more): no more this window. */
    if (breaker == BREAKER_AT || breaker == BREAKER_BEYOND)
        return ACTION_OUTCOME_SKIPPED_BREAKER_OPEN;
    return dry_run ? ACTION_OUTCOME_SKIPPED_DRY_RUN : ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED;
}

static void check_combination(int value, int age, int row_state, int breaker_state, int dry_run,
                              int confirm, int paused)
{
    static const int64_t ages[AGE_COUNT] = {NOW - 1, NOW - MAX_AGE, NOW - MAX_AGE - 1,
                                            NOW + MAX_AGE, NOW + MAX_AGE + 1};
    static const actuator_cp_confirmation answers[CONFIRM_COUNT] = {
        ACTUATOR_CP_CONFIRMATION_NOT_ASKED, ACTUATOR_CP_CONFIRMATION_NOT_ASKED,
        ACTUATOR_CP_CONFIRMATION_NOT_RUNNING, ACTUATOR_CP_CONFIRMATION_RUNNING,
        ACTUATOR_CP_CONFIRMATION_UNKNOWN};
    actuator_verdict_facts verdict_facts = {(liveness)value, "i-1", ages[age], answers[confirm]};
    actuator_row_facts row = {row_state != ROW_NOT_UUID, row_state > ROW_MISSING,
                              row_state == ROW_OFFLINE ? "offline" : "online",
                              row_state == ROW_NO_INSTANCE ? ""
                              : row_state == ROW_MOVED     ? "i-2"
                                                           : "i-1",
                              row_state == ROW_EXTERNAL ? "external" : NULL};
    if (!row.found) {
        row.status = NULL;
        row.instance_id = NULL;
        row.runtime = NULL;
    }
    actuator_breaker_facts breaker = {breaker_state == BREAKER_EMPTY   ? 0
                                      : breaker_state == BREAKER_BELOW ? 3
                                      : breaker_state == BREAKER_AT    ? 4
                                                                       : 5,
                                      4, 600000};
    actuator_policy policy = {MAX_AGE,     dry_run == 1, confirm != CONFIRM_OFF,
                              paused == 1, "ops@host",   "incident"};
    actuator_decision decision = actuator_decide(&verdict_facts, &row, &breaker, NOW, &policy);
    action_outcome expected =
        oracle((liveness)value, age, row_state, breaker_state, dry_run == 1, confirm, paused == 1);
    ck_assert_msg(decision.outcome == expected,
                  "liveness %d age %d row %d breaker %d dry %d confirm %d paused %d: got %s, "
                  "expected %s",
                  value, age, row_state, breaker_state, dry_run, confirm, paused,
                  action_outcome_name(decision.outcome), action_outcome_name(expected));
    /* The CP is asked exactly when the verdict would otherwise act or be held back by the
     * breaker or dry run (guards 1-7 pass: never while paused). */
    ck_assert_int_eq(actuator_needs_cp_confirmation(&verdict_facts, &row, NOW, &policy),
                     confirm != CONFIRM_OFF && value == LIVENESS_NOT_RUNNING &&
                         age != AGE_TOO_OLD && age != AGE_FUTURE_TOO_FAR &&
                         row_state == ROW_ONLINE && !paused);
    /* Only FLIPPED may ever change anything; a paused decision counts nothing either. */
    if (value != LIVENESS_NOT_RUNNING || dry_run || paused)
        ck_assert(decision.outcome != ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED);
    if (paused)
        ck_assert(!actuator_breaker_counts(decision.outcome));
}

START_TEST(test_actuator_decide_exhaustive_combinations)
{
    int combinations = 0;
    for (int value = 0; value < 3; value++)
        for (int age = 0; age < AGE_COUNT; age++)
            for (int row_state = 0; row_state < ROW_COUNT; row_state++)
                for (int breaker_state = 0; breaker_state < BREAKER_COUNT; breaker_state++)
                    for (int dry_run = 0; dry_run < 2; dry_run++)
                        for (int confirm = 0; confirm < CONFIRM_COUNT; confirm++)
                            for (int paused = 0; paused < 2; paused++) {
                                check_combination(value, age, row_state, breaker_state, dry_run,
                                                  confirm, paused);
                                combinations++;
                            }
    ck_assert_int_eq(combinations,
                     3 * AGE_COUNT * ROW_COUNT * BREAKER_COUNT * 2 * CONFIRM_COUNT * 2);
}
END_TEST

/* The confirmation guard (ACTUATOR_CP_CONFIRM on): where it sits among the others and which
 * detail each answer gives. The breaker's limit is 5 throughout. */
typedef struct {
    const char *name;
    actuator_cp_confirmation confirmation;
    const char *status;
    int64_t window_count;
    bool dry_run;
    action_outcome expected;
    actuator_detail expected_detail;
} confirmation_case;

static const confirmation_case confirmation_cases[] = {
    {"a clean not-running answer lets the verdict flip", ACTUATOR_CP_CONFIRMATION_NOT_RUNNING,
     "online", 0, false, ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED, ACTUATOR_DETAIL_FLIPPED},
    {"running now: a newer observation overtook the verdict", ACTUATOR_CP_CONFIRMATION_RUNNING,
     "online", 0, false, ACTION_OUTCOME_SKIPPED_STALE, ACTUATOR_DETAIL_CP_CONFIRMATION_RUNNING},
    {"an unclean answer never confirms", ACTUATOR_CP_CONFIRMATION_UNKNOWN, "online", 0, false,
     ACTION_OUTCOME_SKIPPED_STALE, ACTUATOR_DETAIL_CP_CONFIRMATION_UNKNOWN},
    {"not asked (row changed after the read) never flips", ACTUATOR_CP_CONFIRMATION_NOT_ASKED,
     "online", 0, false, ACTION_OUTCOME_SKIPPED_STALE, ACTUATOR_DETAIL_CP_CONFIRMATION_MISSING},
    {"an answer outside the enum never confirms", (actuator_cp_confirmation)9, "online", 0, false,
     ACTION_OUTCOME_SKIPPED_STALE, ACTUATOR_DETAIL_CP_CONFIRMATION_UNKNOWN},
    {"a row guard names its reason before the confirmation", ACTUATOR_CP_CONFIRMATION_RUNNING,
     "offline", 0, false, ACTION_OUTCOME_SKIPPED_NOT_ONLINE, ACTUATOR_DETAIL_STATUS_NOT_ONLINE},
    {"running beats an open breaker: the verdict is moot", ACTUATOR_CP_CONFIRMATION_RUNNING,
     "online", 6, false, ACTION_OUTCOME_SKIPPED_STALE, ACTUATOR_DETAIL_CP_CONFIRMATION_RUNNING},
    {"confirmed, the breaker still holds back", ACTUATOR_CP_CONFIRMATION_NOT_RUNNING, "online", 5,
     false, ACTION_OUTCOME_SKIPPED_BREAKER_OPEN, ACTUATOR_DETAIL_BREAKER_OPEN},
    {"dry run shows the confirmation's skip", ACTUATOR_CP_CONFIRMATION_RUNNING, "online", 0, true,
     ACTION_OUTCOME_SKIPPED_STALE, ACTUATOR_DETAIL_CP_CONFIRMATION_RUNNING},
    {"dry run with a confirmed verdict would flip", ACTUATOR_CP_CONFIRMATION_NOT_RUNNING, "online",
     0, true, ACTION_OUTCOME_SKIPPED_DRY_RUN, ACTUATOR_DETAIL_DRY_RUN},
};

START_TEST(test_actuator_decide_cp_confirmation_table)
{
    const confirmation_case *c = &confirmation_cases[_i];
    actuator_verdict_facts verdict_facts = {LIVENESS_NOT_RUNNING, "i-1", NOW - 1000,
                                            c->confirmation};
    actuator_row_facts row = {true, true, c->status, "i-1", NULL};
    actuator_breaker_facts breaker = {c->window_count, 5, 600000};
    actuator_policy policy = {MAX_AGE, c->dry_run, true, false, NULL, NULL};
    actuator_decision decision = actuator_decide(&verdict_facts, &row, &breaker, NOW, &policy);
    ck_assert_msg(decision.outcome == c->expected && decision.detail == c->expected_detail,
                  "%s: got %s/%s, expected %s/%s", c->name, action_outcome_name(decision.outcome),
                  actuator_detail_name(decision.detail), action_outcome_name(c->expected),
                  actuator_detail_name(c->expected_detail));
    /* Off, the same facts decide as before the confirmation existed. */
    actuator_policy off = {MAX_AGE, c->dry_run, false, false, NULL, NULL};
    actuator_decision without = actuator_decide(&verdict_facts, &row, &breaker, NOW, &off);
    ck_assert(without.detail != ACTUATOR_DETAIL_CP_CONFIRMATION_RUNNING &&
              without.detail != ACTUATOR_DETAIL_CP_CONFIRMATION_UNKNOWN &&
              without.detail != ACTUATOR_DETAIL_CP_CONFIRMATION_MISSING);
}
END_TEST

START_TEST(test_actuator_cp_confirmation_names_and_mapping)
{
    ck_assert_str_eq(actuator_cp_confirmation_name(ACTUATOR_CP_CONFIRMATION_NOT_ASKED),
                     "not_asked");
    ck_assert_str_eq(actuator_cp_confirmation_name(ACTUATOR_CP_CONFIRMATION_NOT_RUNNING),
                     "not_running");
    ck_assert_str_eq(actuator_cp_confirmation_name(ACTUATOR_CP_CONFIRMATION_RUNNING), "running");
    ck_assert_str_eq(actuator_cp_confirmation_name(ACTUATOR_CP_CONFIRMATION_UNKNOWN), "unknown");
    ck_assert_str_eq(actuator_cp_confirmation_name(ACTUATOR_CP_CONFIRMATION_COUNT), "invalid");
    ck_assert_int_eq(actuator_cp_confirmation_from_liveness(LIVENESS_NOT_RUNNING),
                     ACTUATOR_CP_CONFIRMATION_NOT_RUNNING);
    ck_assert_int_eq(actuator_cp_confirmation_from_liveness(LIVENESS_RUNNING),
                     ACTUATOR_CP_CONFIRMATION_RUNNING);
    ck_assert_int_eq(actuator_cp_confirmation_from_liveness(LIVENESS_UNKNOWN),
                     ACTUATOR_CP_CONFIRMATION_UNKNOWN);
    ck_assert_int_eq(actuator_cp_confirmation_from_liveness((liveness)7),
                     ACTUATOR_CP_CONFIRMATION_UNKNOWN);
    ck_assert_str_eq(actuator_detail_name(ACTUATOR_DETAIL_CP_CONFIRMATION_RUNNING),
                     "cp_confirmation_running");
    ck_assert_str_eq(actuator_detail_name(ACTUATOR_DETAIL_CP_CONFIRMATION_UNKNOWN),
                     "cp_confirmation_unknown");
    ck_assert_str_eq(actuator_detail_name(ACTUATOR_DETAIL_CP_CONFIRMATION_MISSING),
                     "cp_confirmation_missing");
}
END_TEST

START_TEST(test_actuator_decide_zero_max_age_accepts_only_now)
{
    actuator_row_facts row = {true, true, "online", "i-1", NULL};
    actuator_breaker_facts breaker = {0, 1, 600000};
    actuator_policy policy = {0, false, false, false, NULL, NULL};
    actuator_verdict_facts now_facts = {LIVENESS_NOT_RUNNING, "i-1", NOW,
                                        ACTUATOR_CP_CONFIRMATION_NOT_ASKED};
    actuator_verdict_facts older = {LIVENESS_NOT_RUNNING, "i-1", NOW - 1,
                                    ACTUATOR_CP_CONFIRMATION_NOT_ASKED};
    ck_assert_int_eq(actuator_decide(&now_facts, &row, &breaker, NOW, &policy).outcome,
                     ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED);
    ck_assert_int_eq(actuator_decide(&older, &row, &breaker, NOW, &policy).outcome,
                     ACTION_OUTCOME_SKIPPED_STALE);
}
END_TEST

/* The breaker across sweeps: what the window holds decides, not which sweep a verdict is
 * from. A table of (window count, limit) as a sequence of decisions sees them. */
START_TEST(test_actuator_breaker_window_table)
{
    static const struct {
        const char *name;
        int64_t window_count, limit;
        bool open;
    } window_cases[] = {
        {"empty window, limit 1", 0, 1, false},
        {"one below the limit", 19, 20, false},
        {"at the limit: the next would exceed it", 20, 20, true},
        {"beyond (workspaces held back keep counting)", 350, 20, true},
        {"kill switch: limit 0 with an empty window", 0, 0, true},
        {"a second sweep's verdicts meet the first sweep's count", 20, 20, true},
        {"the window rolled past the first sweep", 3, 20, false},
    };
    for (size_t i = 0; i < sizeof window_cases / sizeof window_cases[0]; i++) {
        ck_assert_msg(actuator_breaker_is_open(window_cases[i].window_count,
                                               window_cases[i].limit) == window_cases[i].open,
                      "%s", window_cases[i].name);
        actuator_verdict_facts verdict_facts = {LIVENESS_NOT_RUNNING, "i-1", NOW - 1000,
                                                ACTUATOR_CP_CONFIRMATION_NOT_ASKED};
        actuator_row_facts online = {true, true, "online", "i-1", NULL};
        actuator_breaker_facts breaker = {window_cases[i].window_count, window_cases[i].limit,
                                          600000};
        actuator_policy live = {MAX_AGE, false, false, false, NULL, NULL};
        actuator_decision decision = actuator_decide(&verdict_facts, &online, &breaker, NOW, &live);
        ck_assert_msg(decision.outcome == (window_cases[i].open
                                               ? ACTION_OUTCOME_SKIPPED_BREAKER_OPEN
                                               : ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED),
                      "%s: %s", window_cases[i].name, action_outcome_name(decision.outcome));
    }
}
END_TEST

START_TEST(test_actuator_breaker_window_start_saturates)
{
    const int64_t window = 10 * 60 * 1000;
    ck_assert_int_eq(actuator_breaker_window_start_ms(NOW, window), NOW - window);
    ck_assert_int_eq(actuator_breaker_window_start_ms(NOW, 1000), NOW - 1000);
    ck_assert_int_eq(actuator_breaker_window_start_ms(NOW, 0), NOW);  /* no window */
    ck_assert_int_eq(actuator_breaker_window_start_ms(NOW, -5), NOW); /* odd input */
    ck_assert_int_eq(actuator_breaker_window_start_ms(INT64_MIN + 10, window), INT64_MIN);
    ck_assert_int_eq(actuator_breaker_window_start_ms(INT64_MIN + window, window), INT64_MIN);
}
END_TEST

/* What the window counts: would-act verdicts, including those the breaker held back; nothing
 * skipped for a reason of its own. */
START_TEST(test_actuator_breaker_counts_only_would_act_outcomes)
{
    static const struct {
        action_outcome outcome;
        bool counts;
    } window_cases[] = {
        {ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED, true},
        {ACTION_OUTCOME_SKIPPED_DRY_RUN, true},
        {ACTION_OUTCOME_SKIPPED_BREAKER_OPEN, true},
        {ACTION_OUTCOME_UNSPECIFIED, false},
        {ACTION_OUTCOME_SKIPPED_STALE, false},
        {ACTION_OUTCOME_SKIPPED_ROW_MISSING, false},
        {ACTION_OUTCOME_SKIPPED_OUT_OF_SCOPE, false},
        {ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED, false},
        {ACTION_OUTCOME_SKIPPED_NOT_ONLINE, false},
        {ACTION_OUTCOME_RESTART_ACCEPTED, false},
        {ACTION_OUTCOME_RESTART_FAILED, false},
    };
    for (size_t i = 0; i < sizeof window_cases / sizeof window_cases[0]; i++) {
        ck_assert_msg(actuator_breaker_counts(window_cases[i].outcome) == window_cases[i].counts,
                      "%s", action_outcome_name(window_cases[i].outcome));
    }
}
END_TEST

START_TEST(test_actuator_verdict_freshness_boundaries)
{
    ck_assert(actuator_verdict_is_fresh(NOW, NOW, MAX_AGE));
    ck_assert(actuator_verdict_is_fresh(NOW - MAX_AGE, NOW, MAX_AGE));
    ck_assert(!actuator_verdict_is_fresh(NOW - MAX_AGE - 1, NOW, MAX_AGE));
    ck_assert(actuator_verdict_is_fresh(NOW + MAX_AGE, NOW, MAX_AGE));
    ck_assert(!actuator_verdict_is_fresh(NOW + MAX_AGE + 1, NOW, MAX_AGE));
    ck_assert(!actuator_verdict_is_fresh(INT64_MIN, NOW, MAX_AGE));
    ck_assert(!actuator_verdict_is_fresh(INT64_MAX, NOW, MAX_AGE));
    ck_assert(!actuator_verdict_is_fresh(NOW, INT64_MIN, MAX_AGE));
    ck_assert(actuator_verdict_is_fresh(NOW, NOW, -1)); /* negative max age reads as 0 */
    ck_assert(!actuator_verdict_is_fresh(NOW - 1, NOW, -1));
}
END_TEST

/* ---- breaker limit ------------------------------------------------------------------------ */

static config_threshold absolute(double value)
{
    config_threshold threshold = {false, value};
    return threshold;
}

static config_threshold percent(double value)
{
    config_threshold threshold = {true, value};
    return threshold;
}

START_TEST(test_actuator_breaker_limit_absolute_ignores_sweep_size)
{
    ck_assert_int_eq(actuator_breaker_limit(absolute(50), 10), 50);
    ck_assert_int_eq(actuator_breaker_limit(absolute(50), 100000), 50);
    ck_assert_int_eq(actuator_breaker_limit(absolute(0), 100), 0);
    ck_assert_int_eq(actuator_breaker_limit(absolute(1), 0), 1);
}
END_TEST

START_TEST(test_actuator_breaker_limit_percent_rounds_down_with_floor_one)
{
    ck_assert_int_eq(actuator_breaker_limit(percent(20), 100), 20);
    ck_assert_int_eq(actuator_breaker_limit(percent(20), 100000), 20000);
    ck_assert_int_eq(actuator_breaker_limit(percent(20), 7), 1);  /* 1.4 -> 1 */
    ck_assert_int_eq(actuator_breaker_limit(percent(20), 14), 2); /* 2.8 -> 2 */
    ck_assert_int_eq(actuator_breaker_limit(percent(10), 30), 3); /* exact, not 2.999 */
    ck_assert_int_eq(actuator_breaker_limit(percent(20), 4), 1);  /* 0.8 -> floor 1 */
    ck_assert_int_eq(actuator_breaker_limit(percent(20), 1), 1);
    ck_assert_int_eq(actuator_breaker_limit(percent(20), 0), 1); /* odd sweep size */
    ck_assert_int_eq(actuator_breaker_limit(percent(100), 10), 10);
    ck_assert_int_eq(actuator_breaker_limit(percent(0), 100), 0); /* 0% acts on nothing */
}
END_TEST

START_TEST(test_actuator_breaker_opens_beyond_percentage_of_sweep)
{
    /* An in-scope fleet of 1000 with the default 20%: with 199 others in the window the 200th
     * acts, with 200 the 201st does not. */
    int64_t limit = actuator_breaker_limit(percent(20), 1000);
    ck_assert_int_eq(limit, 200);
    ck_assert(!actuator_breaker_is_open(199, limit));
    ck_assert(actuator_breaker_is_open(200, limit));
    ck_assert(!actuator_breaker_is_open(0, limit));
    ck_assert(actuator_breaker_is_open(0, 0));
}
END_TEST

/* ---- verdict validation and uuid ---------------------------------------------------------- */

START_TEST(test_actuator_verdict_validation_bounds_keys)
{
    static char long_text[ACTUATOR_MAX_INSTANCE_ID_LENGTH + 2];
    verdict record;
    memset(&record, 0, sizeof record);
    const char *detail = NULL;
    record.instance_id = "i-1";

    record.sweep_id = NULL;
    ck_assert_str_eq(actuator_verdict_invalid_reason(&record, &detail), "invalid_sweep_id");
    ck_assert_ptr_nonnull(detail);
    record.sweep_id = "";
    ck_assert_str_eq(actuator_verdict_invalid_reason(&record, &detail), "invalid_sweep_id");
    memset(long_text, 's', ACTUATOR_MAX_SWEEP_ID_LENGTH);
    long_text[ACTUATOR_MAX_SWEEP_ID_LENGTH] = '\0';
    record.sweep_id = long_text;
    ck_assert_ptr_null(actuator_verdict_invalid_reason(&record, &detail));
    long_text[ACTUATOR_MAX_SWEEP_ID_LENGTH] = 's';
    long_text[ACTUATOR_MAX_SWEEP_ID_LENGTH + 1] = '\0';
    ck_assert_str_eq(actuator_verdict_invalid_reason(&record, &detail), "invalid_sweep_id");

    record.sweep_id = "sweep-1";
    memset(long_text, 'i', ACTUATOR_MAX_INSTANCE_ID_LENGTH);
    long_text[ACTUATOR_MAX_INSTANCE_ID_LENGTH] = '\0';
    record.instance_id = long_text;
    ck_assert_ptr_null(actuator_verdict_invalid_reason(&record, NULL));
    long_text[ACTUATOR_MAX_INSTANCE_ID_LENGTH] = 'i';
    long_text[ACTUATOR_MAX_INSTANCE_ID_LENGTH + 1] = '\0';
    ck_assert_str_eq(actuator_verdict_invalid_reason(&record, &detail), "invalid_instance_id");
    /* An empty instance_id is not invalid input: the decision calls it out of scope or
     * changed. */
    record.instance_id = "";
    ck_assert_ptr_null(actuator_verdict_invalid_reason(&record, NULL));
}
END_TEST

START_TEST(test_actuator_is_uuid_accepts_only_canonical_form)
{
    ck_assert(actuator_is_uuid(WORKSPACE_UUID));
    ck_assert(actuator_is_uuid("6F1C2A9E-3B7D-4C1E-9A2F-0D4B8E7C5A31"));
    ck_assert(actuator_is_uuid("00000000-0000-0000-0000-000000000000"));
    ck_assert(!actuator_is_uuid(NULL));
    ck_assert(!actuator_is_uuid(""));
    ck_assert(!actuator_is_uuid("6f1c2a9e-3b7d-4c1e-9a2f-0d4b8e7c5a3"));   /* 35 */
    ck_assert(!actuator_is_uuid("6f1c2a9e-3b7d-4c1e-9a2f-0d4b8e7c5a311")); /* 37 */
    ck_assert(!actuator_is_uuid("{6f1c2a9e-3b7d-4c1e-9a2f-0d4b8e7c5a31}"));
    ck_assert(!actuator_is_uuid("6f1c2a9e3b7d4c1e9a2f0d4b8e7c5a31"));
    ck_assert(!actuator_is_uuid("6f1c2a9e-3b7d-4c1e-9a2f-0d4b8e7c5a3g"));
    ck_assert(!actuator_is_uuid("6f1c2a9e-3b7d-4c1e-9a2f-0d4b8e7c5a3'"));
    ck_assert(!actuator_is_uuid("../../../../etc/passwd-xxxxxxxxxxxxx"));
}
END_TEST

/* ---- reasons ---------------------------------------------------------------------------- */

START_TEST(test_actuator_detail_names_are_unique_and_stable)
{
    for (int i = 0; i < ACTUATOR_DETAIL_COUNT; i++) {
        const char *name = actuator_detail_name((actuator_detail)i);
        ck_assert_ptr_nonnull(name);
        ck_assert_str_ne(name, "invalid");
        for (int j = 0; j < i; j++) {
            ck_assert_str_ne(name, actuator_detail_name((actuator_detail)j));
        }
    }
    ck_assert_str_eq(actuator_detail_name(ACTUATOR_DETAIL_COUNT), "invalid");
    ck_assert_str_eq(actuator_detail_name((actuator_detail)-1), "invalid");
    ck_assert_str_eq(actuator_detail_name(ACTUATOR_DETAIL_BREAKER_OPEN), "breaker_open");
    ck_assert_str_eq(actuator_detail_name(ACTUATOR_DETAIL_VERDICT_TOO_OLD), "verdict_too_old");
}
END_TEST

START_TEST(test_actuator_reason_starts_with_detail_and_states_numbers)
{
    actuator_verdict_facts verdict_facts = {LIVENESS_NOT_RUNNING, "i-1", NOW - 412000,
                                            ACTUATOR_CP_CONFIRMATION_NOT_ASKED};
    actuator_breaker_facts breaker = {20, 20, 600000};
    actuator_policy policy = {MAX_AGE, false, false, false, NULL, NULL};
    char reason[256];
    for (int i = 0; i < ACTUATOR_DETAIL_COUNT; i++) {
        actuator_format_reason((actuator_detail)i, &verdict_facts, &breaker, NOW, &policy, reason,
                               sizeof reason);
        const char *name = actuator_detail_name((actuator_detail)i);
        ck_assert_msg(strncmp(reason, name, strlen(name)) == 0, "'%s' starts with '%s'", reason,
                      name);
    }
    actuator_format_reason(ACTUATOR_DETAIL_VERDICT_TOO_OLD, &verdict_facts, &breaker, NOW, &policy,
                           reason, sizeof reason);
    ck_assert_str_eq(reason, "verdict_too_old: checked 412s ago, limit 300s");
    actuator_format_reason(ACTUATOR_DETAIL_BREAKER_OPEN, &verdict_facts, &breaker, NOW, &policy,
                           reason, sizeof reason);
    ck_assert_str_eq(reason, "breaker_open: at least 20 other workspaces of the group would have "
                             "been acted on in the last 600s, limit 20");
    /* A tiny buffer truncates, never overflows. */
    char small[8];
    actuator_format_reason(ACTUATOR_DETAIL_DRY_RUN, &verdict_facts, &breaker, NOW, &policy, small,
                           sizeof small);
    ck_assert_str_eq(small, "dry_run");
}
END_TEST

/* ---- one decision call: actuator_gather and actuator_plan_verdict ------------------------ */

START_TEST(test_actuator_gather_reads_breaker_only_for_fresh_uuid_verdicts)
{
    actuator_policy policy = {MAX_AGE, false, true, false, NULL, NULL};
    actuator_verdict_facts fresh = {LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000,
                                    ACTUATOR_CP_CONFIRMATION_NOT_RUNNING};
    actuator_verdict_facts stale = fresh;
    stale.checked_at_ms = NOW - MAX_AGE - 1;
    actuator_facts_to_gather gather = actuator_gather(WORKSPACE_UUID, &fresh, NOW, &policy);
    ck_assert(gather.read_row && gather.read_breaker);
    ck_assert(gather.read_pause); /* the pause is read exactly with the breaker, after its lock */
    gather = actuator_gather(WORKSPACE_UUID, &stale, NOW, &policy);
    ck_assert(gather.read_row && !gather.read_breaker); /* a replay takes no breaker lock */
    ck_assert(!gather.read_pause);
    gather = actuator_gather("not-a-uuid", &fresh, NOW, &policy);
    ck_assert(!gather.read_row && !gather.read_breaker && !gather.read_pause);
}
END_TEST

typedef struct {
    const char *name;
    int64_t window_count; /* -1: breaker facts not gathered */
    bool was_open;
    bool dry_run;
    const char *status;
    action_outcome planned;
    bool count_in_window;
    bool breaker_open;
    bool breaker_changes;
} plan_case;

static const plan_case plan_cases[] = {
    {"a flip counts and keeps a closed breaker closed", 0, false, false, "online",
     ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED, true, false, false},
    {"a flip closes a breaker that was open", 0, true, false, "online",
     ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED, true, false, true},
    {"held back by the breaker: counts, opens it", 5, false, false, "online",
     ACTION_OUTCOME_SKIPPED_BREAKER_OPEN, true, true, true},
    {"held back while open: counts, no change", 5, true, false, "online",
     ACTION_OUTCOME_SKIPPED_BREAKER_OPEN, true, true, false},
    {"dry run counts like a flip", 0, false, true, "online", ACTION_OUTCOME_SKIPPED_DRY_RUN, true,
     false, false},
    {"a moot verdict neither counts nor changes the breaker", 5, true, false, "paused",
     ACTION_OUTCOME_SKIPPED_NOT_ONLINE, false, true, false},
    {"without breaker facts nothing counts", -1, true, false, "paused",
     ACTION_OUTCOME_SKIPPED_NOT_ONLINE, false, true, false},
};

START_TEST(test_actuator_plan_verdict_table)
{
    const plan_case *c = &plan_cases[_i];
    actuator_verdict_facts facts = {LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000,
                                    ACTUATOR_CP_CONFIRMATION_NOT_RUNNING};
    actuator_row_facts row = {true, true, c->status, "i-0abc", NULL};
    actuator_breaker_facts breaker = {c->window_count, 5, 600000};
    actuator_policy policy = {MAX_AGE, c->dry_run, true, false, NULL, NULL};
    actuator_plan plan = actuator_plan_verdict(&facts, &row, c->window_count < 0 ? NULL : &breaker,
                                               c->was_open, NOW, &policy);
    ck_assert_msg(plan.planned.decision.outcome == c->planned, "%s: outcome %s", c->name,
                  action_outcome_name(plan.planned.decision.outcome));
    ck_assert_msg(plan.planned.count_in_window == c->count_in_window, "%s: count", c->name);
    ck_assert_msg(plan.planned.breaker_open == c->breaker_open, "%s: open", c->name);
    ck_assert_msg(plan.planned.breaker_changes == c->breaker_changes, "%s: changes", c->name);
    /* The reason is the one actuator_format_reason writes for the planned detail. */
    char expected[ACTUATOR_REASON_SIZE];
    actuator_format_reason(plan.planned.decision.detail, &facts, &breaker, NOW, &policy, expected,
                           sizeof expected);
    if (c->window_count >= 0) {
        ck_assert_str_eq(plan.planned.reason, expected);
    }
    if (c->planned == ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED) {
        /* A missed compare-and-swap is recorded as such and is no evidence for the breaker:
         * not counted, the breaker's state left as it was. */
        ck_assert_int_eq(plan.if_cas_misses.decision.outcome, ACTION_OUTCOME_SKIPPED_NOT_ONLINE);
        ck_assert_int_eq(plan.if_cas_misses.decision.detail, ACTUATOR_DETAIL_CAS_NO_MATCH);
        ck_assert(!plan.if_cas_misses.count_in_window);
        ck_assert(!plan.if_cas_misses.breaker_changes);
        ck_assert(plan.if_cas_misses.breaker_open == c->was_open);
        ck_assert_ptr_nonnull(strstr(plan.if_cas_misses.reason, "compare_and_swap_no_match"));
    } else {
        ck_assert_int_eq(plan.if_cas_misses.decision.outcome, ACTION_OUTCOME_UNSPECIFIED);
    }
}
END_TEST

/* ---- the pause switch (guard 7) ---------------------------------------------------------- */

/* Where the pause sits among the guards: after every row guard (a moot verdict keeps its own
 * reason), before the confirmation, the breaker and dry run (a paused actuator asks, counts
 * and "would flip" nothing). The breaker's limit is 5 throughout. */
typedef struct {
    const char *name;
    int64_t checked_at;
    const char *status;
    actuator_cp_confirmation confirmation;
    int64_t window_count;
    bool dry_run;
    action_outcome expected;
    actuator_detail expected_detail;
} pause_case;

static const pause_case pause_cases[] = {
    {"a verdict that would flip is skipped as paused", NOW - 1000, "online",
     ACTUATOR_CP_CONFIRMATION_NOT_RUNNING, 0, false, ACTION_OUTCOME_SKIPPED_STALE,
     ACTUATOR_DETAIL_ACTUATOR_PAUSED},
    {"a stale verdict keeps its own reason", NOW - MAX_AGE - 1, "online",
     ACTUATOR_CP_CONFIRMATION_NOT_RUNNING, 0, false, ACTION_OUTCOME_SKIPPED_STALE,
     ACTUATOR_DETAIL_VERDICT_TOO_OLD},
    {"a moot row keeps its own reason", NOW - 1000, "offline", ACTUATOR_CP_CONFIRMATION_NOT_RUNNING,
     0, false, ACTION_OUTCOME_SKIPPED_NOT_ONLINE, ACTUATOR_DETAIL_STATUS_NOT_ONLINE},
    {"paused comes before the confirmation (no CP was asked)", NOW - 1000, "online",
     ACTUATOR_CP_CONFIRMATION_NOT_ASKED, 0, false, ACTION_OUTCOME_SKIPPED_STALE,
     ACTUATOR_DETAIL_ACTUATOR_PAUSED},
    {"paused comes before an open breaker (nothing counts)", NOW - 1000, "online",
     ACTUATOR_CP_CONFIRMATION_NOT_RUNNING, 9, false, ACTION_OUTCOME_SKIPPED_STALE,
     ACTUATOR_DETAIL_ACTUATOR_PAUSED},
    {"paused comes before dry run (no would-flip)", NOW - 1000, "online",
     ACTUATOR_CP_CONFIRMATION_NOT_RUNNING, 0, true, ACTION_OUTCOME_SKIPPED_STALE,
     ACTUATOR_DETAIL_ACTUATOR_PAUSED},
};

START_TEST(test_actuator_pause_guard_order)
{
    const pause_case *c = &pause_cases[_i];
    actuator_verdict_facts facts = {LIVENESS_NOT_RUNNING, "i-0abc", c->checked_at, c->confirmation};
    actuator_row_facts row = {true, true, c->status, "i-0abc", NULL};
    actuator_breaker_facts breaker = {c->window_count, 5, 600000};
    actuator_policy paused = {MAX_AGE, c->dry_run, true, true, "ops@host", "CP incident"};
    actuator_decision decision = actuator_decide(&facts, &row, &breaker, NOW, &paused);
    ck_assert_msg(decision.outcome == c->expected && decision.detail == c->expected_detail,
                  "%s: got %s/%s", c->name, action_outcome_name(decision.outcome),
                  actuator_detail_name(decision.detail));
    ck_assert(!actuator_needs_cp_confirmation(&facts, &row, NOW, &paused));
}
END_TEST

START_TEST(test_actuator_pause_changes_nothing_and_resume_acts)
{
    actuator_verdict_facts facts = {LIVENESS_NOT_RUNNING, "i-0abc", NOW - 1000,
                                    ACTUATOR_CP_CONFIRMATION_NOT_RUNNING};
    actuator_row_facts row = {true, true, "online", "i-0abc", NULL};
    actuator_breaker_facts breaker = {4, 5, 600000};
    actuator_policy paused = {MAX_AGE, false, true, true, "ops@host", "CP incident 4711"};
    /* Paused: no flip, nothing counted in the window, the breaker's state left as it was
     * (open or closed), and the Action says who paused and why. */
    for (int was_open = 0; was_open < 2; was_open++) {
        actuator_plan plan =
            actuator_plan_verdict(&facts, &row, &breaker, was_open == 1, NOW, &paused);
        ck_assert_int_eq(plan.planned.decision.outcome, ACTION_OUTCOME_SKIPPED_STALE);
        ck_assert_int_eq(plan.planned.decision.detail, ACTUATOR_DETAIL_ACTUATOR_PAUSED);
        ck_assert(!plan.planned.count_in_window);
        ck_assert(!plan.planned.breaker_changes);
        ck_assert(plan.planned.breaker_open == (was_open == 1));
        ck_assert_int_eq(plan.if_cas_misses.decision.outcome, ACTION_OUTCOME_UNSPECIFIED);
        ck_assert_str_eq(plan.planned.reason,
                         "actuator_paused: the group's actuator is paused (by ops@host: CP "
                         "incident 4711); nothing changed, the first sweep after --resume "
                         "decides again");
    }
    /* Resumed: the same facts flip. */
    actuator_policy resumed = paused;
    resumed.paused = false;
    ck_assert_int_eq(actuator_decide(&facts, &row, &breaker, NOW, &resumed).outcome,
                     ACTION_OUTCOME_FLIPPED_RESTART_REQUESTED);
    /* Unknown who and why still read as a sentence. */
    char reason[ACTUATOR_REASON_SIZE];
    actuator_policy anonymous = {MAX_AGE, false, true, true, NULL, NULL};
    actuator_format_reason(ACTUATOR_DETAIL_ACTUATOR_PAUSED, &facts, &breaker, NOW, &anonymous,
                           reason, sizeof reason);
    ck_assert_ptr_nonnull(strstr(reason, "(by unknown: no reason given)"));
    ck_assert_str_eq(actuator_detail_name(ACTUATOR_DETAIL_ACTUATOR_PAUSED), "actuator_paused");
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("actuator_decide");
    TCase *decision = tcase_create("decision");
    tcase_add_loop_test(decision, test_actuator_decide_table, 0,
                        (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(decision, test_actuator_every_non_online_status_is_not_online);
    tcase_add_test(decision, test_actuator_decide_exhaustive_combinations);
    tcase_add_loop_test(decision, test_actuator_decide_cp_confirmation_table, 0,
                        (int)(sizeof confirmation_cases / sizeof confirmation_cases[0]));
    tcase_add_test(decision, test_actuator_cp_confirmation_names_and_mapping);
    tcase_add_test(decision, test_actuator_decide_zero_max_age_accepts_only_now);
    tcase_add_test(decision, test_actuator_breaker_window_table);
    tcase_add_test(decision, test_actuator_verdict_freshness_boundaries);
    tcase_add_loop_test(decision, test_actuator_pause_guard_order, 0,
                        (int)(sizeof pause_cases / sizeof pause_cases[0]));
    tcase_add_test(decision, test_actuator_pause_changes_nothing_and_resume_acts);
    suite_add_tcase(suite, decision);

    TCase *breaker = tcase_create("breaker");
    tcase_add_test(breaker, test_actuator_breaker_limit_absolute_ignores_sweep_size);
    tcase_add_test(breaker, test_actuator_breaker_limit_percent_rounds_down_with_floor_one);
    tcase_add_test(breaker, test_actuator_breaker_opens_beyond_percentage_of_sweep);
    tcase_add_test(breaker, test_actuator_breaker_window_start_saturates);
    tcase_add_test(breaker, test_actuator_breaker_counts_only_would_act_outcomes);
    suite_add_tcase(suite, breaker);

    TCase *input = tcase_create("input");
    tcase_add_test(input, test_actuator_verdict_validation_bounds_keys);
    tcase_add_test(input, test_actuator_is_uuid_accepts_only_canonical_form);
    tcase_add_test(input, test_actuator_detail_names_are_unique_and_stable);
    tcase_add_test(input, test_actuator_reason_starts_with_detail_and_states_numbers);
    suite_add_tcase(suite, input);

    TCase *plan = tcase_create("plan");
    tcase_add_test(plan, test_actuator_gather_reads_breaker_only_for_fresh_uuid_verdicts);
    tcase_add_loop_test(plan, test_actuator_plan_verdict_table, 0,
                        (int)(sizeof plan_cases / sizeof plan_cases[0]));
    suite_add_tcase(suite, plan);

    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
