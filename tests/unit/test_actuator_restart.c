/* Unit tests of the restart outbox's rules (restart_policy.c): exponential backoff with full
 * jitter, the give-up rule, the pre-check before each attempt (a table of every row shape), the
 * lease arithmetic, the --retry-failed-restarts flag, and RESTART_URL templating with hostile
 * workspace ids. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuator_pause.h"
#include "restart_policy.h"
#include "restart_retry.h"

START_TEST(test_restart_backoff_ceiling_doubles_then_caps)
{
    ck_assert_int_eq(restart_backoff_ceiling_ms(1, 1000, 300000), 1000);
    ck_assert_int_eq(restart_backoff_ceiling_ms(2, 1000, 300000), 2000);
    ck_assert_int_eq(restart_backoff_ceiling_ms(3, 1000, 300000), 4000);
    ck_assert_int_eq(restart_backoff_ceiling_ms(9, 1000, 300000), 256000);
    ck_assert_int_eq(restart_backoff_ceiling_ms(10, 1000, 300000), 300000); /* 512 s capped */
    ck_assert_int_eq(restart_backoff_ceiling_ms(15, 1000, 300000), 300000);
}
END_TEST

START_TEST(test_restart_backoff_ceiling_never_overflows)
{
    ck_assert_int_eq(restart_backoff_ceiling_ms(INT32_MAX, 1000, 300000), 300000);
    ck_assert_int_eq(restart_backoff_ceiling_ms(200, INT64_MAX / 2, INT64_MAX), INT64_MAX);
    ck_assert_int_eq(restart_backoff_ceiling_ms(64, 3, INT64_MAX), INT64_MAX);
}
END_TEST

START_TEST(test_restart_backoff_ceiling_odd_inputs)
{
    ck_assert_int_eq(restart_backoff_ceiling_ms(0, 1000, 300000), 1000);  /* as attempt 1 */
    ck_assert_int_eq(restart_backoff_ceiling_ms(-5, 1000, 300000), 1000); /* as attempt 1 */
    ck_assert_int_eq(restart_backoff_ceiling_ms(3, 1000, 500), 1000);     /* cap below base */
    ck_assert_int_eq(restart_backoff_ceiling_ms(1, 0, 100), 1);           /* base at least 1 */
}
END_TEST

START_TEST(test_restart_backoff_full_jitter_spans_zero_to_ceiling)
{
    /* Ceiling 4000 ms at the third failure. */
    ck_assert_int_eq(restart_backoff_ms(3, 1000, 300000, 0.0), 0);
    ck_assert_int_eq(restart_backoff_ms(3, 1000, 300000, 0.5), 2000);
    ck_assert_int_eq(restart_backoff_ms(3, 1000, 300000, 0.25), 1000);
    ck_assert_int_lt(restart_backoff_ms(3, 1000, 300000, 0.9999999), 4000);
    ck_assert_int_eq(restart_backoff_ms(3, 1000, 300000, 1.0), 3999);
    /* Out-of-range samples are clamped, never trusted. */
    ck_assert_int_eq(restart_backoff_ms(3, 1000, 300000, -0.5), 0);
    ck_assert_int_eq(restart_backoff_ms(3, 1000, 300000, 7.0), 3999);
    ck_assert_int_eq(restart_backoff_ms(3, 1000, 300000, NAN), 0);
    for (int step = 0; step < 1000; step++) {
        int64_t delay = restart_backoff_ms(20, 1000, 300000, step / 1000.0);
        ck_assert_int_ge(delay, 0);
        ck_assert_int_lt(delay, 300000);
    }
}
END_TEST

START_TEST(test_restart_attempt_outcome_only_2xx_is_accepted)
{
    ck_assert_int_eq(restart_attempt_outcome(true, 200, 1, 15), ACTION_OUTCOME_RESTART_ACCEPTED);
    ck_assert_int_eq(restart_attempt_outcome(true, 202, 1, 15), ACTION_OUTCOME_RESTART_ACCEPTED);
    ck_assert_int_eq(restart_attempt_outcome(true, 299, 15, 15), ACTION_OUTCOME_RESTART_ACCEPTED);
    static const long refused[] = {0, 100, 199, 300, 302, 304, 400, 401, 404, 409, 429, 500, 503};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        ck_assert_int_eq(restart_attempt_outcome(true, refused[i], 1, 15),
                         ACTION_OUTCOME_RESTART_RETRIED);
    }
    /* A transfer that failed (timeout after headers, body too large) is not accepted even if a
     * 2xx status line had arrived. */
    ck_assert_int_eq(restart_attempt_outcome(false, 200, 1, 15), ACTION_OUTCOME_RESTART_RETRIED);
}
END_TEST

START_TEST(test_restart_attempt_outcome_gives_up_at_the_limit)
{
    ck_assert_int_eq(restart_attempt_outcome(true, 503, 14, 15), ACTION_OUTCOME_RESTART_RETRIED);
    ck_assert_int_eq(restart_attempt_outcome(true, 503, 15, 15), ACTION_OUTCOME_RESTART_FAILED);
    ck_assert_int_eq(restart_attempt_outcome(false, 0, 16, 15), ACTION_OUTCOME_RESTART_FAILED);
    ck_assert_int_eq(restart_attempt_outcome(false, 0, 1, 1), ACTION_OUTCOME_RESTART_FAILED);
}
END_TEST

/* The pre-check: a restart is sent only while the row is exactly as the flip left it
 * (offline, on the flipped instance i-1); every other row names why not. First match wins:
 * row missing, another instance, status changed, instance cleared. */
static const struct {
    const char *name;
    bool found;
    const char *status;
    const char *instance_id;
    const char *flipped;
    restart_precheck_reason reason;
    restart_status_class status_class;
    action_outcome outcome;
} precheck_cases[] = {
    {"as the flip left it: send", true, "offline", "i-1", "i-1", RESTART_PRECHECK_SEND,
     RESTART_STATUS_OFFLINE, ACTION_OUTCOME_UNSPECIFIED},
    {"row gone", false, NULL, NULL, "i-1", RESTART_PRECHECK_ROW_MISSING, RESTART_STATUS_NONE,
     ACTION_OUTCOME_SKIPPED_ROW_MISSING},
    {"row gone, whatever the stale fields say", false, "offline", "i-1", "i-1",
     RESTART_PRECHECK_ROW_MISSING, RESTART_STATUS_NONE, ACTION_OUTCOME_SKIPPED_ROW_MISSING},
    {"reprovisioned: online on a new instance", true, "online", "i-2", "i-1",
     RESTART_PRECHECK_INSTANCE_CHANGED, RESTART_STATUS_ONLINE,
     ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED},
    {"new instance, still offline", true, "offline", "i-2", "i-1",
     RESTART_PRECHECK_INSTANCE_CHANGED, RESTART_STATUS_OFFLINE,
     ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED},
    {"new instance and paused: the instance says more", true, "paused", "i-2", "i-1",
     RESTART_PRECHECK_INSTANCE_CHANGED, RESTART_STATUS_PAUSED,
     ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED},
    {"paused by its user", true, "paused", "i-1", "i-1", RESTART_PRECHECK_STATUS_CHANGED,
     RESTART_STATUS_PAUSED, ACTION_OUTCOME_SKIPPED_STATUS_CHANGED},
    {"back online on the same instance", true, "online", "i-1", "i-1",
     RESTART_PRECHECK_STATUS_CHANGED, RESTART_STATUS_ONLINE, ACTION_OUTCOME_SKIPPED_STATUS_CHANGED},
    {"removed", true, "removed", "i-1", "i-1", RESTART_PRECHECK_STATUS_CHANGED,
     RESTART_STATUS_REMOVED, ACTION_OUTCOME_SKIPPED_STATUS_CHANGED},
    {"hibernated", true, "hibernated", "i-1", "i-1", RESTART_PRECHECK_STATUS_CHANGED,
     RESTART_STATUS_HIBERNATED, ACTION_OUTCOME_SKIPPED_STATUS_CHANGED},
    {"provisioning", true, "provisioning", "i-1", "i-1", RESTART_PRECHECK_STATUS_CHANGED,
     RESTART_STATUS_PROVISIONING, ACTION_OUTCOME_SKIPPED_STATUS_CHANGED},
    {"degraded", true, "degraded", "i-1", "i-1", RESTART_PRECHECK_STATUS_CHANGED,
     RESTART_STATUS_DEGRADED, ACTION_OUTCOME_SKIPPED_STATUS_CHANGED},
    {"failed", true, "failed", "i-1", "i-1", RESTART_PRECHECK_STATUS_CHANGED, RESTART_STATUS_FAILED,
     ACTION_OUTCOME_SKIPPED_STATUS_CHANGED},
    {"awaiting_agent", true, "awaiting_agent", "i-1", "i-1", RESTART_PRECHECK_STATUS_CHANGED,
     RESTART_STATUS_AWAITING_AGENT, ACTION_OUTCOME_SKIPPED_STATUS_CHANGED},
    {"a status this code does not know", true, "archived", "i-1", "i-1",
     RESTART_PRECHECK_STATUS_CHANGED, RESTART_STATUS_OTHER, ACTION_OUTCOME_SKIPPED_STATUS_CHANGED},
    {"status compared exactly, not case-folded", true, "Offline", "i-1", "i-1",
     RESTART_PRECHECK_STATUS_CHANGED, RESTART_STATUS_OTHER, ACTION_OUTCOME_SKIPPED_STATUS_CHANGED},
    {"status NULL", true, NULL, "i-1", "i-1", RESTART_PRECHECK_STATUS_CHANGED, RESTART_STATUS_OTHER,
     ACTION_OUTCOME_SKIPPED_STATUS_CHANGED},
    {"paused and its instance released", true, "paused", NULL, "i-1",
     RESTART_PRECHECK_STATUS_CHANGED, RESTART_STATUS_PAUSED, ACTION_OUTCOME_SKIPPED_STATUS_CHANGED},
    {"offline, instance_id NULL", true, "offline", NULL, "i-1", RESTART_PRECHECK_INSTANCE_CLEARED,
     RESTART_STATUS_OFFLINE, ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED},
    {"offline, instance_id empty", true, "offline", "", "i-1", RESTART_PRECHECK_INSTANCE_CLEARED,
     RESTART_STATUS_OFFLINE, ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED},
    {"instance compared exactly (case)", true, "offline", "I-1", "i-1",
     RESTART_PRECHECK_INSTANCE_CHANGED, RESTART_STATUS_OFFLINE,
     ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED},
    {"instance compared exactly (prefix)", true, "offline", "i-1 ", "i-1",
     RESTART_PRECHECK_INSTANCE_CHANGED, RESTART_STATUS_OFFLINE,
     ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED},
    {"no flipped instance can match nothing", true, "offline", "i-1", NULL,
     RESTART_PRECHECK_INSTANCE_CHANGED, RESTART_STATUS_OFFLINE,
     ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED},
    {"empty flipped instance can match nothing", true, "offline", "", "",
     RESTART_PRECHECK_INSTANCE_CHANGED, RESTART_STATUS_OFFLINE,
     ACTION_OUTCOME_SKIPPED_INSTANCE_CHANGED},
};

START_TEST(test_restart_precheck_sends_only_what_the_flip_left)
{
    const __typeof__(precheck_cases[0]) *test = &precheck_cases[_i];
    restart_row_now row = {test->found, test->status, test->instance_id};
    restart_precheck_result result = restart_precheck(&row, test->flipped);
    ck_assert_msg(result.reason == test->reason, "%s: reason %s, expected %s", test->name,
                  restart_precheck_reason_name(result.reason),
                  restart_precheck_reason_name(test->reason));
    ck_assert_msg(result.status == test->status_class, "%s: status %s, expected %s", test->name,
                  restart_status_class_name(result.status),
                  restart_status_class_name(test->status_class));
    ck_assert_msg(restart_precheck_outcome(result.reason) == test->outcome, "%s: outcome %s",
                  test->name, action_outcome_name(restart_precheck_outcome(result.reason)));
}
END_TEST

START_TEST(test_restart_precheck_names_are_stable_and_closed)
{
    const char *reasons[] = {"send", "row_missing", "instance_changed", "status_changed",
                             "instance_cleared"};
    for (int reason = 0; reason < RESTART_PRECHECK_COUNT; reason++) {
        ck_assert_str_eq(restart_precheck_reason_name((restart_precheck_reason)reason),
                         reasons[reason]);
    }
    ck_assert_str_eq(restart_precheck_reason_name(RESTART_PRECHECK_COUNT), "invalid");
    ck_assert_int_eq(restart_precheck_outcome(RESTART_PRECHECK_COUNT), ACTION_OUTCOME_UNSPECIFIED);
    const char *statuses[] = {"offline",        "online",       "paused",   "hibernated",
                              "removed",        "provisioning", "degraded", "failed",
                              "awaiting_agent", "other",        "none"};
    for (int status = 0; status < RESTART_STATUS_COUNT; status++) {
        ck_assert_str_eq(restart_status_class_name((restart_status_class)status), statuses[status]);
    }
    ck_assert_str_eq(restart_status_class_name(RESTART_STATUS_COUNT), "invalid");
    ck_assert_str_eq(restart_status_class_name((restart_status_class)-1), "invalid");
    /* Our own names are not statuses a row can have. */
    ck_assert_int_eq(restart_status_classify("other"), RESTART_STATUS_OTHER);
    ck_assert_int_eq(restart_status_classify("none"), RESTART_STATUS_OTHER);
    ck_assert_int_eq(restart_status_classify(""), RESTART_STATUS_OTHER);
    ck_assert_str_eq(restart_release_reason_name(RESTART_RELEASE_SHUTDOWN), "shutdown");
    ck_assert_str_eq(restart_release_reason_name(RESTART_RELEASE_LEASE_TOO_SHORT),
                     "lease_too_short");
    ck_assert_str_eq(restart_release_reason_name(RESTART_RELEASE_OUT_OF_MEMORY), "out_of_memory");
    ck_assert_str_eq(restart_release_reason_name(RESTART_RELEASE_COUNT), "invalid");
}
END_TEST

START_TEST(test_restart_precheck_reason_text_starts_with_the_name)
{
    char buffer[256];
    restart_precheck_format(
        (restart_precheck_result){RESTART_PRECHECK_STATUS_CHANGED, RESTART_STATUS_PAUSED}, buffer,
        sizeof buffer);
    ck_assert_str_eq(buffer, "status_changed: restart not sent, the workspace is paused now, "
                             "not offline as the flip left it");
    for (int reason = 0; reason < RESTART_PRECHECK_COUNT; reason++) {
        restart_precheck_format(
            (restart_precheck_result){(restart_precheck_reason)reason, RESTART_STATUS_ONLINE},
            buffer, sizeof buffer);
        const char *name = restart_precheck_reason_name((restart_precheck_reason)reason);
        ck_assert_msg(strncmp(buffer, name, strlen(name)) == 0 && buffer[strlen(name)] == ':', "%s",
                      buffer);
    }
    /* A small buffer truncates, never overflows. */
    char tiny[8];
    restart_precheck_format(
        (restart_precheck_result){RESTART_PRECHECK_ROW_MISSING, RESTART_STATUS_NONE}, tiny,
        sizeof tiny);
    ck_assert_str_eq(tiny, "row_mis");
}
END_TEST

/* The lease: the request timeout plus the margin; a call starts only when, run to its full
 * timeout, it still ends RESTART_LEASE_RECORD_RESERVE_MS before the lease. */
static const struct {
    const char *name;
    int64_t now_ms, deadline_ms, timeout_ms;
    bool allowed;
} lease_cases[] = {
    {"right after the claim", 1000, 1000 + 10000 + RESTART_LEASE_MARGIN_MS, 10000, true},
    {"exactly the reserve left after the timeout", 0, 10000 + RESTART_LEASE_RECORD_RESERVE_MS,
     10000, true},
    {"one ms short of the reserve", 1, 10000 + RESTART_LEASE_RECORD_RESERVE_MS, 10000, false},
    {"a stall ate the margin", 5001, 1000 + 10000 + RESTART_LEASE_MARGIN_MS, 10000, false},
    {"lease already over", 20000, 15000, 10000, false},
    {"deadline now", 15000, 15000, 0, false},
    {"huge timeout cannot overflow", 0, INT64_MAX, INT64_MAX, false},
    {"negative timeout read as zero", 0, RESTART_LEASE_RECORD_RESERVE_MS, -5, true},
    {"far-apart clock values", INT64_MIN + 1, INT64_MAX, 10000, true},
};

START_TEST(test_restart_lease_allows_only_calls_that_end_before_it)
{
    ck_assert_msg(restart_lease_allows_call(lease_cases[_i].now_ms, lease_cases[_i].deadline_ms,
                                            lease_cases[_i].timeout_ms) == lease_cases[_i].allowed,
                  "%s", lease_cases[_i].name);
}
END_TEST

START_TEST(test_restart_lease_length_and_attempt_limit)
{
    ck_assert_int_eq(restart_lease_ms(10000), 10000 + RESTART_LEASE_MARGIN_MS);
    ck_assert_int_eq(restart_lease_ms(0), RESTART_LEASE_MARGIN_MS);
    ck_assert_int_eq(restart_lease_ms(-1), RESTART_LEASE_MARGIN_MS);
    ck_assert_int_eq(restart_lease_ms(INT64_MAX), INT64_MAX);
    /* A fresh claim always leaves room for its own call. */
    for (int64_t timeout = 100; timeout <= 120000; timeout *= 2) {
        ck_assert(restart_lease_allows_call(7, 7 + restart_lease_ms(timeout), timeout));
    }
    ck_assert(!restart_attempts_exhausted(1, 15));
    ck_assert(!restart_attempts_exhausted(15, 15));
    ck_assert(restart_attempts_exhausted(16, 15));
    ck_assert(restart_attempts_exhausted(2, 1));
}
END_TEST

static const struct {
    const char *argument;
    restart_retry_request request;
    const char *workspace_id;
} retry_cases[] = {
    {"--retry-failed-restarts", RESTART_RETRY_ALL, NULL},
    {"--retry-failed-restarts=0b8f2c1e-4a4e-4d7a-9d1e-2f8a6b1c3d4e", RESTART_RETRY_ONE,
     "0b8f2c1e-4a4e-4d7a-9d1e-2f8a6b1c3d4e"},
    {"--retry-failed-restarts=0B8F2C1E-4A4E-4D7A-9D1E-2F8A6B1C3D4E", RESTART_RETRY_ONE,
     "0B8F2C1E-4A4E-4D7A-9D1E-2F8A6B1C3D4E"},
    {"--retry-failed-restarts=", RESTART_RETRY_INVALID, NULL},
    {"--retry-failed-restarts=all", RESTART_RETRY_INVALID, NULL},
    {"--retry-failed-restarts=0b8f2c1e-4a4e-4d7a-9d1e-2f8a6b1c3d4", RESTART_RETRY_INVALID, NULL},
    {"--retry-failed-restarts=' OR 1=1 --", RESTART_RETRY_INVALID, NULL},
    {"--retry-failed-restartsX", RESTART_RETRY_ABSENT, NULL},
    {"--retry-failed", RESTART_RETRY_ABSENT, NULL},
    {"--actuator-dry-run", RESTART_RETRY_ABSENT, NULL},
    {"retry-failed-restarts", RESTART_RETRY_ABSENT, NULL},
    {"", RESTART_RETRY_ABSENT, NULL},
    {NULL, RESTART_RETRY_ABSENT, NULL},
};

START_TEST(test_restart_retry_flag_parsing)
{
    const char *workspace_id = "untouched";
    restart_retry_request request =
        restart_retry_parse_argument(retry_cases[_i].argument, &workspace_id);
    ck_assert_msg(request == retry_cases[_i].request, "%s: %d", retry_cases[_i].argument,
                  (int)request);
    if (retry_cases[_i].workspace_id == NULL) {
        ck_assert_ptr_null(workspace_id);
    } else {
        ck_assert_str_eq(workspace_id, retry_cases[_i].workspace_id);
    }
}
END_TEST

/* reconciler-actuator --pause "REASON" / --resume: what the parser makes of a command line
 * (argv[0] first; "|" separates arguments). */
static const struct {
    const char *line;
    actuator_pause_command command;
    const char *reason;
    int rest_count;
} pause_cases[] = {
    {"a|--actuator-dry-run", ACTUATOR_PAUSE_ABSENT, NULL, 2},
    {"a|--pause|CP incident", ACTUATOR_PAUSE_SET, "CP incident", 1},
    {"a|--pause=CP incident|--database-url=x", ACTUATOR_PAUSE_SET, "CP incident", 2},
    {"a|--database-url=x|--pause|why", ACTUATOR_PAUSE_SET, "why", 2},
    {"a|--resume", ACTUATOR_PAUSE_CLEAR, NULL, 1},
    {"a|--pause", ACTUATOR_PAUSE_INVALID, NULL, 1},                  /* no reason */
    {"a|--pause=", ACTUATOR_PAUSE_INVALID, NULL, 1},                 /* an empty one */
    {"a|--pause|--database-url=x", ACTUATOR_PAUSE_INVALID, NULL, 2}, /* a flag is no reason */
    {"a|--pause|why|--resume", ACTUATOR_PAUSE_INVALID, NULL, 1},     /* both */
    {"a|--resume|--resume", ACTUATOR_PAUSE_INVALID, NULL, 1},        /* twice */
    {"a|--pauses|x", ACTUATOR_PAUSE_ABSENT, NULL, 3},                /* a lookalike */
    {"--pause|why", ACTUATOR_PAUSE_ABSENT, NULL, 2},                 /* argv[0] is no flag */
};

START_TEST(test_actuator_pause_command_line)
{
    char line[128], *argv[8], *rest[9];
    snprintf(line, sizeof line, "%s", pause_cases[_i].line);
    int argc = 0;
    for (char *save = NULL, *word = strtok_r(line, "|", &save); word != NULL && argc < 8;
         word = strtok_r(NULL, "|", &save)) {
        argv[argc++] = word;
    }
    actuator_pause_request request = actuator_pause_parse(argc, argv, rest);
    ck_assert_msg(request.command == pause_cases[_i].command, "%s: %d", pause_cases[_i].line,
                  (int)request.command);
    ck_assert_msg(request.rest_count == pause_cases[_i].rest_count, "%s: rest %d",
                  pause_cases[_i].line, request.rest_count);
    ck_assert_ptr_null(rest[request.rest_count]);
    if (pause_cases[_i].reason != NULL) {
        ck_assert_str_eq(request.reason, pause_cases[_i].reason);
    }
    if (request.command == ACTUATOR_PAUSE_INVALID) {
        ck_assert_ptr_nonnull(request.problem);
    }
    ck_assert(actuator_pause_requested(argc, argv) ==
              (pause_cases[_i].command != ACTUATOR_PAUSE_ABSENT));
}
END_TEST

START_TEST(test_actuator_pause_reason_is_bounded)
{
    char reason[ACTUATOR_PAUSE_REASON_MAX + 2];
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    char program[] = "a", flag[] = "--pause";
    char *too_long[] = {program, flag, reason};
    ck_assert_int_eq(actuator_pause_parse(3, too_long, NULL).command, ACTUATOR_PAUSE_INVALID);
    reason[ACTUATOR_PAUSE_REASON_MAX] = '\0'; /* exactly the limit */
    ck_assert_int_eq(actuator_pause_parse(3, too_long, NULL).command, ACTUATOR_PAUSE_SET);
}
END_TEST

START_TEST(test_restart_retry_requested_anywhere_on_the_command_line)
{
    char program[] = "reconciler-actuator", retry[] = "--retry-failed-restarts",
         retry_one[] = "--retry-failed-restarts=0b8f2c1e-4a4e-4d7a-9d1e-2f8a6b1c3d4e",
         retry_bad[] = "--retry-failed-restarts=x", dry[] = "--actuator-dry-run",
         lookalike[] = "--retry-failed-restartsX";
    char *plain[] = {program, dry, NULL};
    char *first[] = {program, retry, NULL};
    char *later[] = {program, dry, retry_one, NULL};
    char *invalid[] = {program, retry_bad, NULL};
    char *similar[] = {program, lookalike, NULL};
    char *only_program_name[] = {retry, NULL}; /* argv[0] is never a flag */
    ck_assert(!restart_retry_requested(2, plain));
    ck_assert(restart_retry_requested(2, first));
    ck_assert(restart_retry_requested(3, later));
    ck_assert(restart_retry_requested(2, invalid)); /* then refused with exit 2 */
    ck_assert(!restart_retry_requested(2, similar));
    ck_assert(!restart_retry_requested(1, only_program_name));
}
END_TEST

START_TEST(test_restart_url_template_validation)
{
    ck_assert_ptr_null(restart_url_template_problem("http://ws:8080/workspaces/{id}/restart"));
    ck_assert_ptr_null(restart_url_template_problem("HTTPS://ws/workspaces/{id}/restart"));
    ck_assert_ptr_nonnull(restart_url_template_problem(NULL));
    ck_assert_ptr_nonnull(restart_url_template_problem(""));
    ck_assert_ptr_nonnull(restart_url_template_problem("http://ws/workspaces/restart"));
    ck_assert_ptr_nonnull(restart_url_template_problem("http://ws/workspaces/{ID}/restart"));
    ck_assert_ptr_nonnull(restart_url_template_problem("ftp://ws/{id}"));
    ck_assert_ptr_nonnull(restart_url_template_problem("ws:8080/{id}"));
    ck_assert_ptr_nonnull(restart_url_template_problem("file:///{id}"));
}
END_TEST

typedef struct {
    const char *id;
    const char *expected;
} url_case;

static const url_case url_cases[] = {
    {"6f1c2a9e-3b7d-4c1e-9a2f-0d4b8e7c5a31",
     "http://ws/workspaces/6f1c2a9e-3b7d-4c1e-9a2f-0d4b8e7c5a31/restart"},
    {"../../admin", "http://ws/workspaces/%2E%2E%2F%2E%2E%2Fadmin/restart"},
    {"..", "http://ws/workspaces/%2E%2E/restart"},
    {".", "http://ws/workspaces/%2E/restart"},
    {"a b?c=d#e", "http://ws/workspaces/a%20b%3Fc%3Dd%23e/restart"},
    {"x@evil.example:80", "http://ws/workspaces/x%40evil%2Eexample%3A80/restart"},
    {"%2e%2e", "http://ws/workspaces/%252e%252e/restart"},
    {"\r\nHost: evil", "http://ws/workspaces/%0D%0AHost%3A%20evil/restart"},
    {"caf\xc3\xa9", "http://ws/workspaces/caf%C3%A9/restart"},
    {"{id}", "http://ws/workspaces/%7Bid%7D/restart"},
    {"a/b\\c", "http://ws/workspaces/a%2Fb%5Cc/restart"},
    {"", "http://ws/workspaces//restart"},
};

START_TEST(test_restart_url_encodes_hostile_ids)
{
    const url_case *c = &url_cases[_i];
    char *url = restart_url_for("http://ws/workspaces/{id}/restart", c->id);
    ck_assert_ptr_nonnull(url);
    ck_assert_str_eq(url, c->expected);
    free(url);
}
END_TEST

START_TEST(test_restart_url_replaces_every_placeholder_and_nothing_else)
{
    char *url = restart_url_for("http://ws/{id}/restart?workspace={id}", "w-1");
    ck_assert_str_eq(url, "http://ws/w-1/restart?workspace=w-1");
    free(url);
    url = restart_url_for("http://ws/{id}{id}", "a");
    ck_assert_str_eq(url, "http://ws/aa");
    free(url);
    url = restart_url_for("http://ws/{id/{ id}/restart", "a");
    ck_assert_str_eq(url, "http://ws/{id/{ id}/restart");
    free(url);
    url = restart_url_for("http://ws/x/{id}", NULL);
    ck_assert_str_eq(url, "http://ws/x/");
    free(url);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("actuator_restart");
    TCase *backoff = tcase_create("backoff");
    tcase_add_test(backoff, test_restart_backoff_ceiling_doubles_then_caps);
    tcase_add_test(backoff, test_restart_backoff_ceiling_never_overflows);
    tcase_add_test(backoff, test_restart_backoff_ceiling_odd_inputs);
    tcase_add_test(backoff, test_restart_backoff_full_jitter_spans_zero_to_ceiling);
    suite_add_tcase(suite, backoff);

    TCase *outcome = tcase_create("outcome");
    tcase_add_test(outcome, test_restart_attempt_outcome_only_2xx_is_accepted);
    tcase_add_test(outcome, test_restart_attempt_outcome_gives_up_at_the_limit);
    suite_add_tcase(suite, outcome);

    TCase *precheck = tcase_create("precheck");
    tcase_add_loop_test(precheck, test_restart_precheck_sends_only_what_the_flip_left, 0,
                        (int)(sizeof precheck_cases / sizeof precheck_cases[0]));
    tcase_add_test(precheck, test_restart_precheck_names_are_stable_and_closed);
    tcase_add_test(precheck, test_restart_precheck_reason_text_starts_with_the_name);
    suite_add_tcase(suite, precheck);

    TCase *lease = tcase_create("lease");
    tcase_add_loop_test(lease, test_restart_lease_allows_only_calls_that_end_before_it, 0,
                        (int)(sizeof lease_cases / sizeof lease_cases[0]));
    tcase_add_test(lease, test_restart_lease_length_and_attempt_limit);
    tcase_add_loop_test(lease, test_restart_retry_flag_parsing, 0,
                        (int)(sizeof retry_cases / sizeof retry_cases[0]));
    tcase_add_test(lease, test_restart_retry_requested_anywhere_on_the_command_line);
    tcase_add_loop_test(lease, test_actuator_pause_command_line, 0,
                        (int)(sizeof pause_cases / sizeof pause_cases[0]));
    tcase_add_test(lease, test_actuator_pause_reason_is_bounded);
    suite_add_tcase(suite, lease);

    TCase *url = tcase_create("url");
    tcase_add_test(url, test_restart_url_template_validation);
    tcase_add_loop_test(url, test_restart_url_encodes_hostile_ids, 0,
                        (int)(sizeof url_cases / sizeof url_cases[0]));
    tcase_add_test(url, test_restart_url_replaces_every_placeholder_and_nothing_else);
    suite_add_tcase(suite, url);

    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
