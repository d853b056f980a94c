/* test_checker_gate.c — the per-workspace gate: one request per workspace at a time, later
 * ones in arrival order, withdrawn waiters never become holders, and the gate stays exact
 * through growth. Scripted cases: each step is an operation and what it must answer. */
#include "workspace_gate.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

static workspace_gate *gate;

static void set_up(void)
{
    gate = workspace_gate_new();
    ck_assert_ptr_nonnull(gate);
}

static void tear_down(void)
{
    workspace_gate_free(gate);
    gate = NULL;
}

/* Requests are the addresses of these slots; 0 in a script means "no request" (NULL). */
static int requests[16];
#define REQUEST(n) ((n) == 0 ? NULL : (void *)&requests[(n)])

typedef enum { ENTER, LEAVE, WITHDRAW } gate_operation;

typedef struct {
    gate_operation operation;
    const char *workspace;
    int request;  /* ENTER / WITHDRAW: who; LEAVE: the expected next holder (0 = none) */
    int expected; /* ENTER: workspace_gate_enter_result; WITHDRAW: 1 = was waiting */
} gate_step;

typedef struct {
    const char *name;
    gate_step steps[12];
    size_t step_count;
    size_t held_after, waiting_after;
} gate_case;

static const gate_case cases[] = {
    {"first request holds, leaving frees",
     {{
          ENTER,
          "w1",
          1,
          WORKSPACE_GATE_ACQUIRED,
      },
      {LEAVE, "w1", 0, 0}},
     2,
     0,
     0},
    {"second request for the same workspace waits, then holds",
     {{ENTER, "w1", 1, WORKSPACE_GATE_ACQUIRED},
      {ENTER, "w1", 2, WORKSPACE_GATE_QUEUED},
      {LEAVE, "w1", 2, 0},
      {LEAVE, "w1", 0, 0}},
     4,
     0,
     0},
    {"waiters are served in arrival order",
     {{ENTER, "w1", 1, WORKSPACE_GATE_ACQUIRED},
      {ENTER, "w1", 2, WORKSPACE_GATE_QUEUED},
      {ENTER, "w1", 3, WORKSPACE_GATE_QUEUED},
      {ENTER, "w1", 4, WORKSPACE_GATE_QUEUED},
      {LEAVE, "w1", 2, 0},
      {LEAVE, "w1", 3, 0},
      {LEAVE, "w1", 4, 0},
      {LEAVE, "w1", 0, 0}},
     8,
     0,
     0},
    {"other workspaces are independent",
     {{ENTER, "w1", 1, WORKSPACE_GATE_ACQUIRED},
      {ENTER, "w2", 2, WORKSPACE_GATE_ACQUIRED},
      {ENTER, "w1", 3, WORKSPACE_GATE_QUEUED},
      {LEAVE, "w2", 0, 0},
      {ENTER, "w2", 4, WORKSPACE_GATE_ACQUIRED}},
     5,
     2,
     1},
    {"a withdrawn waiter never holds; the one behind it does",
     {{ENTER, "w1", 1, WORKSPACE_GATE_ACQUIRED},
      {ENTER, "w1", 2, WORKSPACE_GATE_QUEUED},
      {ENTER, "w1", 3, WORKSPACE_GATE_QUEUED},
      {WITHDRAW, "w1", 2, 1},
      {LEAVE, "w1", 3, 0},
      {LEAVE, "w1", 0, 0}},
     6,
     0,
     0},
    {"withdrawing the last waiter, then a new arrival queues behind the holder",
     {{ENTER, "w1", 1, WORKSPACE_GATE_ACQUIRED},
      {ENTER, "w1", 2, WORKSPACE_GATE_QUEUED},
      {WITHDRAW, "w1", 2, 1},
      {ENTER, "w1", 3, WORKSPACE_GATE_QUEUED},
      {LEAVE, "w1", 3, 0}},
     5,
     1,
     0},
    {"withdrawing a holder or a stranger changes nothing",
     {{ENTER, "w1", 1, WORKSPACE_GATE_ACQUIRED},
      {WITHDRAW, "w1", 1, 0},
      {WITHDRAW, "w9", 5, 0},
      {ENTER, "w1", 2, WORKSPACE_GATE_QUEUED}},
     4,
     1,
     1},
    {"leaving a free workspace changes nothing",
     {{LEAVE, "w1", 0, 0}, {ENTER, "w1", 1, WORKSPACE_GATE_ACQUIRED}},
     2,
     1,
     0},
    {"ids are compared exactly (case, prefix)",
     {{ENTER, "W1", 1, WORKSPACE_GATE_ACQUIRED},
      {ENTER, "w1", 2, WORKSPACE_GATE_ACQUIRED},
      {ENTER, "w10", 3, WORKSPACE_GATE_ACQUIRED},
      {ENTER, "", 4, WORKSPACE_GATE_ACQUIRED},
      {ENTER, "w1", 5, WORKSPACE_GATE_QUEUED}},
     5,
     4,
     1},
};

START_TEST(test_checker_gate_scripted_cases)
{
    const gate_case *script = &cases[_i];
    for (size_t index = 0; index < script->step_count; index++) {
        const gate_step *step = &script->steps[index];
        switch (step->operation) {
        case ENTER:
            ck_assert_msg(workspace_gate_enter(gate, step->workspace, REQUEST(step->request)) ==
                              (workspace_gate_enter_result)step->expected,
                          "%s: step %zu", script->name, index);
            break;
        case LEAVE:
            ck_assert_msg(workspace_gate_leave(gate, step->workspace) == REQUEST(step->request),
                          "%s: step %zu", script->name, index);
            break;
        case WITHDRAW:
            ck_assert_msg(workspace_gate_withdraw(gate, step->workspace, REQUEST(step->request)) ==
                              (step->expected != 0),
                          "%s: step %zu", script->name, index);
            break;
        }
    }
    ck_assert_msg(workspace_gate_held(gate) == script->held_after, "%s: held %zu", script->name,
                  workspace_gate_held(gate));
    ck_assert_msg(workspace_gate_waiting(gate) == script->waiting_after, "%s: waiting %zu",
                  script->name, workspace_gate_waiting(gate));
}
END_TEST

/* Through many growths of the table: every workspace held exactly once, a second request for
 * each waits, and leaving hands each workspace to its own waiter before freeing it. */
START_TEST(test_checker_gate_growth_keeps_every_workspace_exact)
{
    enum { WORKSPACES = 20000 };
    static int second[WORKSPACES];
    char id[32];
    for (int index = 0; index < WORKSPACES; index++) {
        snprintf(id, sizeof id, "ws-%d", index);
        ck_assert_int_eq(workspace_gate_enter(gate, id, &requests[1]), WORKSPACE_GATE_ACQUIRED);
    }
    for (int index = 0; index < WORKSPACES; index++) {
        snprintf(id, sizeof id, "ws-%d", index);
        ck_assert_int_eq(workspace_gate_enter(gate, id, &second[index]), WORKSPACE_GATE_QUEUED);
    }
    ck_assert_uint_eq(workspace_gate_held(gate), WORKSPACES);
    ck_assert_uint_eq(workspace_gate_waiting(gate), WORKSPACES);
    for (int index = WORKSPACES - 1; index >= 0; index--) {
        snprintf(id, sizeof id, "ws-%d", index);
        ck_assert_ptr_eq(workspace_gate_leave(gate, id), &second[index]);
        ck_assert_ptr_null(workspace_gate_leave(gate, id));
    }
    ck_assert_uint_eq(workspace_gate_held(gate), 0);
    ck_assert_uint_eq(workspace_gate_waiting(gate), 0);
}
END_TEST

/* Freeing a gate that still has holders and waiters frees its bookkeeping (ASan/LSan check
 * this) and never touches the requests. */
START_TEST(test_checker_gate_free_with_waiters)
{
    ck_assert_int_eq(workspace_gate_enter(gate, "w1", &requests[1]), WORKSPACE_GATE_ACQUIRED);
    ck_assert_int_eq(workspace_gate_enter(gate, "w1", &requests[2]), WORKSPACE_GATE_QUEUED);
    ck_assert_int_eq(workspace_gate_enter(gate, "w2", &requests[3]), WORKSPACE_GATE_ACQUIRED);
    workspace_gate_free(gate);
    gate = workspace_gate_new();
    ck_assert_ptr_nonnull(gate);
    ck_assert_uint_eq(workspace_gate_held(gate), 0);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("checker_gate");
    TCase *core = tcase_create("core");
    tcase_add_checked_fixture(core, set_up, tear_down);
    tcase_add_loop_test(core, test_checker_gate_scripted_cases, 0,
                        (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(core, test_checker_gate_growth_keeps_every_workspace_exact);
    tcase_add_test(core, test_checker_gate_free_with_waiters);
    suite_add_tcase(suite, core);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
