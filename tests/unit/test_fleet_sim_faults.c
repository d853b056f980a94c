/* Unit tests of fleet-sim's fault rules: which rule applies to a request (target, endpoint,
 * share determinism, precedence, probability, expiry) and the exact answer each mode
 * produces. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faults.h"

static fault_rule make_rule(uint64_t id, fault_mode mode, fault_target_kind kind,
                            const char *target)
{
    fault_rule rule;
    memset(&rule, 0, sizeof rule);
    rule.id = id;
    fault_spec_defaults(&rule.spec, mode);
    rule.spec.target_kind = kind;
    if (target != NULL) {
        snprintf(rule.spec.target_id, sizeof rule.spec.target_id, "%s", target);
    }
    return rule;
}

START_TEST(test_fault_share_point_is_deterministic_per_instance)
{
    for (int i = 0; i < 100; i++) {
        char id[32];
        snprintf(id, sizeof id, "i-%017d", i);
        ck_assert(fault_share_point("", id) == fault_share_point("", id));
        double point = fault_share_point("", id);
        ck_assert(point >= 0.0 && point < 1.0);
    }
}
END_TEST

START_TEST(test_fault_share_hits_about_the_share_and_nests)
{
    fault_spec ten;
    fault_spec twenty;
    fault_spec_defaults(&ten, FAULT_MODE_STATUS);
    fault_spec_defaults(&twenty, FAULT_MODE_STATUS);
    ten.target_kind = twenty.target_kind = FAULT_TARGET_SHARE;
    ten.share = 0.10;
    twenty.share = 0.20;
    int hits_ten = 0;
    int hits_twenty = 0;
    for (int i = 0; i < 20000; i++) {
        char id[32];
        snprintf(id, sizeof id, "i-%017x", i * 7919);
        bool in_ten = fault_spec_covers(&ten, FAULT_ENDPOINT_STATUS, "w", id);
        bool in_twenty = fault_spec_covers(&twenty, FAULT_ENDPOINT_STATUS, "w", id);
        /* Nested: every instance in the 10 % rule is in the 20 % rule (same salt). */
        ck_assert(!in_ten || in_twenty);
        hits_ten += in_ten;
        hits_twenty += in_twenty;
    }
    ck_assert_int_gt(hits_ten, 1700);
    ck_assert_int_lt(hits_ten, 2300);
    ck_assert_int_gt(hits_twenty, 3600);
    ck_assert_int_lt(hits_twenty, 4400);
}
END_TEST

START_TEST(test_fault_share_salt_picks_other_instances)
{
    int same = 0;
    for (int i = 0; i < 1000; i++) {
        char id[32];
        snprintf(id, sizeof id, "i-%d", i);
        same += (fault_share_point("", id) < 0.5) == (fault_share_point("other", id) < 0.5);
    }
    /* Independent halves agree about half the time, not always. */
    ck_assert_int_lt(same, 600);
    ck_assert_int_gt(same, 400);
}
END_TEST

START_TEST(test_fault_share_zero_and_one_are_none_and_all)
{
    fault_spec spec;
    fault_spec_defaults(&spec, FAULT_MODE_GARBAGE);
    spec.target_kind = FAULT_TARGET_SHARE;
    spec.share = 0.0;
    ck_assert(!fault_spec_covers(&spec, FAULT_ENDPOINT_STATUS, "w", "i-1"));
    spec.share = 1.0;
    ck_assert(fault_spec_covers(&spec, FAULT_ENDPOINT_STATUS, "w", "i-1"));
    /* A share needs an instance to hash. */
    ck_assert(!fault_spec_covers(&spec, FAULT_ENDPOINT_STATUS, "w", NULL));
}
END_TEST

START_TEST(test_fault_targets_match_only_their_workspace_or_instance)
{
    fault_rule by_workspace = make_rule(1, FAULT_MODE_HANG, FAULT_TARGET_WORKSPACE, "w1");
    fault_rule by_instance = make_rule(2, FAULT_MODE_HANG, FAULT_TARGET_INSTANCE, "i-1");
    ck_assert(fault_spec_covers(&by_workspace.spec, FAULT_ENDPOINT_STATUS, "w1", "i-9"));
    ck_assert(!fault_spec_covers(&by_workspace.spec, FAULT_ENDPOINT_STATUS, "w2", "i-1"));
    ck_assert(fault_spec_covers(&by_instance.spec, FAULT_ENDPOINT_STATUS, "w2", "i-1"));
    ck_assert(!fault_spec_covers(&by_instance.spec, FAULT_ENDPOINT_STATUS, "w1", "i-2"));
}
END_TEST

START_TEST(test_fault_endpoint_filter)
{
    fault_rule rule = make_rule(1, FAULT_MODE_RESET, FAULT_TARGET_ALL, NULL);
    ck_assert(fault_spec_covers(&rule.spec, FAULT_ENDPOINT_STATUS, "w", "i"));
    ck_assert(!fault_spec_covers(&rule.spec, FAULT_ENDPOINT_RESTART, "w", "i"));
    rule.spec.endpoint = FAULT_ENDPOINT_RESTART;
    ck_assert(!fault_spec_covers(&rule.spec, FAULT_ENDPOINT_STATUS, "w", "i"));
    ck_assert(fault_spec_covers(&rule.spec, FAULT_ENDPOINT_RESTART, "w", "i"));
    rule.spec.endpoint = FAULT_ENDPOINT_ANY;
    ck_assert(fault_spec_covers(&rule.spec, FAULT_ENDPOINT_STATUS, "w", "i"));
    ck_assert(fault_spec_covers(&rule.spec, FAULT_ENDPOINT_RESTART, "w", "i"));
}
END_TEST

START_TEST(test_fault_select_most_specific_then_newest)
{
    fault_rule rules[] = {
        make_rule(1, FAULT_MODE_LATENCY, FAULT_TARGET_ALL, NULL),
        make_rule(2, FAULT_MODE_STATUS, FAULT_TARGET_INSTANCE, "i-1"),
        make_rule(3, FAULT_MODE_GARBAGE, FAULT_TARGET_WORKSPACE, "w1"),
        make_rule(4, FAULT_MODE_HANG, FAULT_TARGET_ALL, NULL),
    };
    /* instance beats workspace beats all */
    ck_assert_int_eq(fault_select(rules, 4, FAULT_ENDPOINT_STATUS, "w1", "i-1", 0.0), 1);
    ck_assert_int_eq(fault_select(rules, 4, FAULT_ENDPOINT_STATUS, "w1", "i-2", 0.0), 2);
    /* among "all" rules the newest (highest id) */
    ck_assert_int_eq(fault_select(rules, 4, FAULT_ENDPOINT_STATUS, "w2", "i-2", 0.0), 3);
    ck_assert_int_eq(fault_select(rules, 0, FAULT_ENDPOINT_STATUS, "w2", "i-2", 0.0), -1);
}
END_TEST

START_TEST(test_fault_select_probability_is_compared_to_the_draw)
{
    fault_rule rule = make_rule(1, FAULT_MODE_STATUS, FAULT_TARGET_ALL, NULL);
    rule.spec.probability = 0.25;
    ck_assert_int_eq(fault_select(&rule, 1, FAULT_ENDPOINT_STATUS, "w", "i", 0.10), 0);
    ck_assert_int_eq(fault_select(&rule, 1, FAULT_ENDPOINT_STATUS, "w", "i", 0.30), -1);
    rule.spec.probability = 1.0;
    ck_assert_int_eq(fault_select(&rule, 1, FAULT_ENDPOINT_STATUS, "w", "i", 0.999999), 0);
}
END_TEST

START_TEST(test_fault_table_times_expires_the_rule)
{
    fault_table *table = fault_table_new();
    fault_spec spec;
    fault_spec_defaults(&spec, FAULT_MODE_STATUS);
    spec.times = 2;
    uint64_t id = fault_table_add(table, &spec, 1000);
    ck_assert_uint_gt(id, 0);
    fault_rule out;
    ck_assert(fault_table_match(table, FAULT_ENDPOINT_STATUS, "w", "i", 0.0, &out));
    ck_assert_int_eq(out.remaining, 1);
    ck_assert(fault_table_match(table, FAULT_ENDPOINT_STATUS, "w", "i", 0.0, &out));
    ck_assert_int_eq(out.remaining, 0);
    ck_assert_uint_eq(fault_table_count(table), 0);
    ck_assert(!fault_table_match(table, FAULT_ENDPOINT_STATUS, "w", "i", 0.0, &out));
    fault_table_free(table);
}
END_TEST

START_TEST(test_fault_table_add_remove_clear)
{
    fault_table *table = fault_table_new();
    fault_spec spec;
    fault_spec_defaults(&spec, FAULT_MODE_HANG);
    uint64_t first = fault_table_add(table, &spec, 0);
    uint64_t second = fault_table_add(table, &spec, 0);
    ck_assert_uint_ne(first, second);
    ck_assert(fault_table_remove(table, first));
    ck_assert(!fault_table_remove(table, first));
    json_t *rules = fault_table_json(table);
    ck_assert_uint_eq(json_array_size(rules), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rules, 0), "id")),
                     (json_int_t)second);
    json_decref(rules);
    ck_assert_uint_eq(fault_table_clear(table), 1);
    ck_assert_uint_eq(fault_table_count(table), 0);
    fault_table_free(table);
}
END_TEST

/* Builds the plan of `mode` against a normal running answer; the caller releases it. */
static response_plan plan_for(fault_spec *spec, unsigned int success_status)
{
    const char *normal_body = "{\"state\":\"running\",\"instance_id\":\"i-1\"}";
    response_plan normal;
    response_plan out;
    ck_assert(response_plan_json(&normal, 200, normal_body, strlen(normal_body)));
    ck_assert(fault_build_plan(spec, &normal, "i-1", success_status, 0.5, 600000, &out));
    response_plan_release(&normal);
    return out;
}

static void assert_body(fault_mode mode, unsigned int status, const char *expected)
{
    fault_spec spec;
    fault_spec_defaults(&spec, mode);
    response_plan plan = plan_for(&spec, 200);
    ck_assert_int_eq(plan.action, RESPONSE_ACTION_ANSWER);
    ck_assert_uint_eq(plan.http_status, status);
    ck_assert_uint_eq(plan.body_length, strlen(expected));
    ck_assert_mem_eq(plan.body, expected, plan.body_length);
    ck_assert_uint_eq(plan.declared_length, plan.body_length);
    response_plan_release(&plan);
}

START_TEST(test_fault_bodies_of_each_json_mode)
{
    assert_body(FAULT_MODE_EMPTY_OBJECT, 200, "{}");
    assert_body(FAULT_MODE_MISSING_STATE, 200, "{\"instance_id\":\"i-1\"}");
    assert_body(FAULT_MODE_NULL_STATE, 200, "{\"state\":null,\"instance_id\":\"i-1\"}");
    assert_body(FAULT_MODE_WRONG_TYPE_STATE, 200, "{\"state\":1,\"instance_id\":\"i-1\"}");
    assert_body(FAULT_MODE_ODD_STATE, 200, "{\"state\":\"pending\",\"instance_id\":\"i-1\"}");
    assert_body(FAULT_MODE_DUPLICATE_STATE_KEYS, 200,
                "{\"state\":\"terminated\",\"state\":\"running\",\"instance_id\":\"i-1\"}");
    assert_body(FAULT_MODE_ARRAY_BODY, 200, "[{\"state\":\"running\",\"instance_id\":\"i-1\"}]");
    assert_body(FAULT_MODE_TRAILING_DATA, 200,
                "{\"state\":\"terminated\",\"instance_id\":\"i-1\"}{\"state\":\"running\"}");
    assert_body(FAULT_MODE_TRUNCATED, 200, "{\"state\":\"runn");
    assert_body(FAULT_MODE_STATUS, 503, "{\"error\":\"injected_fault\",\"status\":503}");
}
END_TEST

START_TEST(test_fault_garbage_is_not_json)
{
    fault_spec spec;
    fault_spec_defaults(&spec, FAULT_MODE_GARBAGE);
    response_plan plan = plan_for(&spec, 200);
    json_error_t error;
    ck_assert_ptr_null(json_loadb(plan.body, plan.body_length, 0, &error));
    ck_assert_uint_eq(plan.http_status, 200);
    response_plan_release(&plan);
}
END_TEST

START_TEST(test_fault_oversized_is_valid_json_over_64_kib)
{
    fault_spec spec;
    fault_spec_defaults(&spec, FAULT_MODE_OVERSIZED);
    response_plan plan = plan_for(&spec, 200);
    ck_assert_uint_eq(plan.body_length, 70000);
    ck_assert_uint_gt(plan.body_length, 64 * 1024);
    json_error_t error;
    json_t *parsed = json_loadb(plan.body, plan.body_length, 0, &error);
    ck_assert_ptr_nonnull(parsed);
    ck_assert_str_eq(json_string_value(json_object_get(parsed, "state")), "running");
    json_decref(parsed);
    response_plan_release(&plan);
}
END_TEST

START_TEST(test_fault_truncated_transfer_declares_more_than_it_sends)
{
    fault_spec spec;
    fault_spec_defaults(&spec, FAULT_MODE_TRUNCATED);
    spec.cut_transfer = true;
    response_plan plan = plan_for(&spec, 200);
    ck_assert_uint_gt(plan.declared_length, plan.body_length);
    ck_assert_uint_eq(plan.declared_length,
                      strlen("{\"state\":\"running\",\"instance_id\":\"i-1\"}"));
    response_plan_release(&plan);
}
END_TEST

START_TEST(test_fault_latency_keeps_the_normal_answer_and_adds_delay)
{
    fault_spec spec;
    fault_spec_defaults(&spec, FAULT_MODE_LATENCY);
    spec.fixed_ms = 100;
    spec.jitter_ms = 50;
    response_plan plan = plan_for(&spec, 200); /* draw 0.5 -> 25 ms of jitter */
    ck_assert_int_eq(plan.delay_ms, 125);
    ck_assert_uint_eq(plan.http_status, 200);
    ck_assert_str_eq(plan.body, "{\"state\":\"running\",\"instance_id\":\"i-1\"}");
    ck_assert_str_eq(plan.content_type, "application/json");
    response_plan_release(&plan);
}
END_TEST

START_TEST(test_fault_hang_reset_redirect_and_content_type)
{
    fault_spec spec;
    fault_spec_defaults(&spec, FAULT_MODE_HANG);
    response_plan plan = plan_for(&spec, 200);
    ck_assert_int_eq(plan.action, RESPONSE_ACTION_CLOSE);
    ck_assert_int_eq(plan.delay_ms, 600000); /* the cap */
    response_plan_release(&plan);
    spec.hang_ms = 1500;
    plan = plan_for(&spec, 200);
    ck_assert_int_eq(plan.delay_ms, 1500);
    response_plan_release(&plan);

    fault_spec_defaults(&spec, FAULT_MODE_RESET);
    plan = plan_for(&spec, 200);
    ck_assert_int_eq(plan.action, RESPONSE_ACTION_RESET);
    ck_assert_int_eq(plan.delay_ms, 0);
    response_plan_release(&plan);

    fault_spec_defaults(&spec, FAULT_MODE_REDIRECT);
    plan = plan_for(&spec, 200);
    ck_assert_uint_eq(plan.http_status, 302);
    ck_assert_str_eq(plan.location, "/cp/redirected/terminated");
    response_plan_release(&plan);

    fault_spec_defaults(&spec, FAULT_MODE_CONTENT_TYPE);
    plan = plan_for(&spec, 200);
    ck_assert_str_eq(plan.content_type, "text/html");
    ck_assert_str_eq(plan.body, "{\"state\":\"running\",\"instance_id\":\"i-1\"}");
    response_plan_release(&plan);
}
END_TEST

START_TEST(test_fault_request_ids_are_escaped_in_bodies)
{
    fault_spec spec;
    fault_spec_defaults(&spec, FAULT_MODE_MISSING_STATE);
    response_plan normal;
    response_plan out;
    ck_assert(response_plan_json(&normal, 200, "{}", 2));
    ck_assert(fault_build_plan(&spec, &normal, "a\"b\\c", 200, 0.0, 1000, &out));
    json_error_t error;
    json_t *parsed = json_loadb(out.body, out.body_length, 0, &error);
    ck_assert_ptr_nonnull(parsed);
    ck_assert_str_eq(json_string_value(json_object_get(parsed, "instance_id")), "a\"b\\c");
    json_decref(parsed);
    response_plan_release(&out);

    /* An id too long to quote whole becomes null rather than a cut-off string. */
    char long_id[600];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    ck_assert(fault_build_plan(&spec, &normal, long_id, 200, 0.0, 1000, &out));
    ck_assert_str_eq(out.body, "{\"instance_id\":null}");
    response_plan_release(&out);
    response_plan_release(&normal);
}
END_TEST

START_TEST(test_fault_restart_performed_only_for_2xx_unless_told)
{
    fault_spec spec;
    fault_spec_defaults(&spec, FAULT_MODE_STATUS);
    response_plan plan = plan_for(&spec, 202);
    ck_assert(!fault_restart_performed(&spec, &plan));
    spec.perform_restart = FAULT_PERFORM_YES;
    ck_assert(fault_restart_performed(&spec, &plan));
    response_plan_release(&plan);

    fault_spec_defaults(&spec, FAULT_MODE_GARBAGE);
    plan = plan_for(&spec, 202);
    ck_assert_uint_eq(plan.http_status, 202);
    ck_assert(fault_restart_performed(&spec, &plan));
    spec.perform_restart = FAULT_PERFORM_NO;
    ck_assert(!fault_restart_performed(&spec, &plan));
    response_plan_release(&plan);

    fault_spec_defaults(&spec, FAULT_MODE_RESET);
    plan = plan_for(&spec, 202);
    ck_assert(!fault_restart_performed(&spec, &plan));
    response_plan_release(&plan);
}
END_TEST

START_TEST(test_fault_mode_names_round_trip)
{
    for (int mode = 0; mode < FAULT_MODE_COUNT; mode++) {
        fault_mode parsed;
        ck_assert(fault_mode_parse(fault_mode_name((fault_mode)mode), &parsed));
        ck_assert_int_eq(parsed, mode);
    }
    fault_mode ignored;
    ck_assert(!fault_mode_parse("Latency", &ignored));
    ck_assert(!fault_mode_parse("", &ignored));
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("fleet_sim_faults");
    TCase *matching = tcase_create("matching");
    tcase_add_test(matching, test_fault_share_point_is_deterministic_per_instance);
    tcase_add_test(matching, test_fault_share_hits_about_the_share_and_nests);
    tcase_add_test(matching, test_fault_share_salt_picks_other_instances);
    tcase_add_test(matching, test_fault_share_zero_and_one_are_none_and_all);
    tcase_add_test(matching, test_fault_targets_match_only_their_workspace_or_instance);
    tcase_add_test(matching, test_fault_endpoint_filter);
    tcase_add_test(matching, test_fault_select_most_specific_then_newest);
    tcase_add_test(matching, test_fault_select_probability_is_compared_to_the_draw);
    tcase_add_test(matching, test_fault_table_times_expires_the_rule);
    tcase_add_test(matching, test_fault_table_add_remove_clear);
    suite_add_tcase(suite, matching);
    TCase *answers = tcase_create("answers");
    tcase_add_test(answers, test_fault_bodies_of_each_json_mode);
    tcase_add_test(answers, test_fault_garbage_is_not_json);
    tcase_add_test(answers, test_fault_oversized_is_valid_json_over_64_kib);
    tcase_add_test(answers, test_fault_truncated_transfer_declares_more_than_it_sends);
    tcase_add_test(answers, test_fault_latency_keeps_the_normal_answer_and_adds_delay);
    tcase_add_test(answers, test_fault_hang_reset_redirect_and_content_type);
    tcase_add_test(answers, test_fault_request_ids_are_escaped_in_bodies);
    tcase_add_test(answers, test_fault_restart_performed_only_for_2xx_unless_told);
    tcase_add_test(answers, test_fault_mode_names_round_trip);
    suite_add_tcase(suite, answers);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
