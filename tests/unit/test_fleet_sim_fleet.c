/* Unit tests of fleet-sim's simulated fleet: what the status endpoint answers in each state,
 * exact-count termination, reprovision (old instance answers terminated), restart
 * bookkeeping, and the index staying consistent through many inserts and removals. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_state.h"

static sim_fleet *fleet_with(size_t count)
{
    sim_fleet *fleet = fleet_new();
    for (size_t i = 0; i < count; i++) {
        char workspace[32];
        char instance[32];
        snprintf(workspace, sizeof workspace, "w-%zu", i);
        snprintf(instance, sizeof instance, "i-%zu", i);
        ck_assert_int_eq(
            fleet_upsert(fleet, workspace, instance, INSTANCE_STATE_RUNNING, 1000, NULL), FLEET_OK);
    }
    return fleet;
}

START_TEST(test_fleet_status_answers_the_current_state)
{
    sim_fleet *fleet = fleet_with(1);
    fleet_status status;
    fleet_status_lookup(fleet, "w-0", "i-0", &status);
    ck_assert_int_eq(status.answer, STATUS_ANSWER_STATE);
    ck_assert_int_eq(status.state, INSTANCE_STATE_RUNNING);
    ck_assert_str_eq(status.instance_id, "i-0");
    ck_assert_int_eq(fleet_set_state(fleet, "w-0", NULL, INSTANCE_STATE_SHUTTING_DOWN, 2000),
                     FLEET_OK);
    fleet_status_lookup(fleet, "w-0", "i-0", &status);
    ck_assert_int_eq(status.state, INSTANCE_STATE_SHUTTING_DOWN);
    fleet_free(fleet);
}
END_TEST

START_TEST(test_fleet_status_unknown_workspace_instance_and_missing_id)
{
    sim_fleet *fleet = fleet_with(1);
    fleet_status status;
    fleet_status_lookup(fleet, "w-9", "i-0", &status);
    ck_assert_int_eq(status.answer, STATUS_ANSWER_WORKSPACE_NOT_FOUND);
    fleet_status_lookup(fleet, "w-0", "i-9", &status);
    ck_assert_int_eq(status.answer, STATUS_ANSWER_INSTANCE_NOT_FOUND);
    fleet_status_lookup(fleet, "w-0", NULL, &status);
    ck_assert_int_eq(status.answer, STATUS_ANSWER_MISSING_INSTANCE_ID);
    fleet_status_lookup(fleet, "w-0", "", &status);
    ck_assert_int_eq(status.answer, STATUS_ANSWER_MISSING_INSTANCE_ID);
    fleet_free(fleet);
}
END_TEST

START_TEST(test_fleet_reprovision_retires_the_old_instance_as_terminated)
{
    sim_fleet *fleet = fleet_with(1);
    ck_assert_int_eq(fleet_set_state(fleet, "w-0", NULL, INSTANCE_STATE_TERMINATED, 2000),
                     FLEET_OK);
    bool pending = true;
    ck_assert_int_eq(fleet_restart_request(fleet, "w-0", true, 3000, &pending), FLEET_OK);
    ck_assert(!pending);
    ck_assert_int_eq(fleet_restart_request(fleet, "w-0", true, 3100, &pending), FLEET_OK);
    ck_assert(pending); /* the second restart coalesces with the first */
    ck_assert_int_eq(fleet_reprovision(fleet, "w-0", "i-new", 4000), FLEET_OK);

    fleet_status status;
    fleet_status_lookup(fleet, "w-0", "i-new", &status);
    ck_assert_int_eq(status.answer, STATUS_ANSWER_STATE);
    ck_assert_int_eq(status.state, INSTANCE_STATE_RUNNING);
    fleet_status_lookup(fleet, "w-0", "i-0", &status);
    ck_assert_int_eq(status.answer, STATUS_ANSWER_RETIRED_INSTANCE);
    ck_assert_int_eq(status.state, INSTANCE_STATE_TERMINATED);

    json_t *record = fleet_instance_json(fleet, "w-0");
    ck_assert_int_eq(json_integer_value(json_object_get(record, "restarts_received")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(record, "restarts_performed")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(record, "reprovisions")), 1);
    ck_assert(json_is_false(json_object_get(record, "reprovision_pending")));
    ck_assert_str_eq(
        json_string_value(json_array_get(json_object_get(record, "retired_instance_ids"), 0)),
        "i-0");
    ck_assert_int_eq(json_integer_value(json_object_get(record, "stopped_at_ms")), 2000);
    ck_assert_int_eq(json_integer_value(json_object_get(record, "reprovisioned_at_ms")), 4000);
    json_t *history = json_object_get(record, "history");
    ck_assert_uint_eq(json_array_size(history), 3); /* running, terminated, running */
    json_t *last = json_array_get(history, 2);
    ck_assert_str_eq(json_string_value(json_object_get(last, "instance_id")), "i-new");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(history, 1), "state")),
                     "terminated");
    json_decref(record);
    fleet_free(fleet);
}
END_TEST

START_TEST(test_fleet_restart_of_unknown_workspace_is_not_found)
{
    sim_fleet *fleet = fleet_with(1);
    bool pending;
    ck_assert_int_eq(fleet_restart_request(fleet, "nope", true, 0, &pending),
                     FLEET_ERROR_NOT_FOUND);
    ck_assert_int_eq(fleet_reprovision(fleet, "nope", "i-1", 0), FLEET_ERROR_NOT_FOUND);
    fleet_free(fleet);
}
END_TEST

START_TEST(test_fleet_terminate_flips_exactly_count_running_instances)
{
    sim_fleet *fleet = fleet_with(1000);
    fleet_random random = fleet_random_make(42);
    json_t *workspaces = json_array();
    json_t *instances = json_array();
    ck_assert_int_eq(fleet_terminate_random(fleet, 137, INSTANCE_STATE_STOPPED, &random, 5000,
                                            workspaces, instances),
                     FLEET_OK);
    ck_assert_uint_eq(json_array_size(workspaces), 137);
    ck_assert_uint_eq(json_array_size(instances), 137);
    uint64_t counts[INSTANCE_STATE_COUNT];
    fleet_count_by_state(fleet, counts);
    ck_assert_uint_eq(counts[INSTANCE_STATE_STOPPED], 137);
    ck_assert_uint_eq(counts[INSTANCE_STATE_RUNNING], 863);
    /* The listed ones are exactly the stopped ones (distinct, each now stopped). */
    for (size_t i = 0; i < json_array_size(workspaces); i++) {
        fleet_status status;
        fleet_status_lookup(fleet, json_string_value(json_array_get(workspaces, i)),
                            json_string_value(json_array_get(instances, i)), &status);
        ck_assert_int_eq(status.state, INSTANCE_STATE_STOPPED);
    }
    /* A second round only picks among the still running ones. */
    json_array_clear(workspaces);
    json_array_clear(instances);
    ck_assert_int_eq(fleet_terminate_random(fleet, 863, INSTANCE_STATE_TERMINATED, &random, 6000,
                                            workspaces, instances),
                     FLEET_OK);
    fleet_count_by_state(fleet, counts);
    ck_assert_uint_eq(counts[INSTANCE_STATE_RUNNING], 0);
    ck_assert_uint_eq(counts[INSTANCE_STATE_STOPPED], 137);
    ck_assert_uint_eq(counts[INSTANCE_STATE_TERMINATED], 863);
    json_decref(workspaces);
    json_decref(instances);
    fleet_free(fleet);
}
END_TEST

START_TEST(test_fleet_terminate_more_than_running_changes_nothing)
{
    sim_fleet *fleet = fleet_with(10);
    fleet_random random = fleet_random_make(1);
    json_t *workspaces = json_array();
    json_t *instances = json_array();
    ck_assert_int_eq(fleet_terminate_random(fleet, 11, INSTANCE_STATE_TERMINATED, &random, 0,
                                            workspaces, instances),
                     FLEET_ERROR_NOT_ENOUGH);
    ck_assert_uint_eq(fleet_running_count(fleet), 10);
    ck_assert_uint_eq(json_array_size(workspaces), 0);
    json_decref(workspaces);
    json_decref(instances);
    fleet_free(fleet);
}
END_TEST

START_TEST(test_fleet_terminate_with_a_seed_is_reproducible)
{
    sim_fleet *first = fleet_with(500);
    sim_fleet *second = fleet_with(500);
    fleet_random one = fleet_random_make(7);
    fleet_random two = fleet_random_make(7);
    json_t *ids_one = json_array();
    json_t *ids_two = json_array();
    json_t *ignored = json_array();
    fleet_terminate_random(first, 50, INSTANCE_STATE_TERMINATED, &one, 0, ids_one, ignored);
    fleet_terminate_random(second, 50, INSTANCE_STATE_TERMINATED, &two, 0, ids_two, ignored);
    ck_assert(json_equal(ids_one, ids_two));
    json_decref(ids_one);
    json_decref(ids_two);
    json_decref(ignored);
    fleet_free(first);
    fleet_free(second);
}
END_TEST

START_TEST(test_fleet_index_survives_many_inserts_and_removals)
{
    sim_fleet *fleet = fleet_with(20000);
    for (size_t i = 0; i < 20000; i += 2) {
        char workspace[32];
        snprintf(workspace, sizeof workspace, "w-%zu", i);
        ck_assert_int_eq(fleet_remove(fleet, workspace), FLEET_OK);
    }
    ck_assert_uint_eq(fleet_count(fleet), 10000);
    for (size_t i = 0; i < 20000; i++) {
        char workspace[32];
        char instance[32];
        snprintf(workspace, sizeof workspace, "w-%zu", i);
        snprintf(instance, sizeof instance, "i-%zu", i);
        fleet_status status;
        fleet_status_lookup(fleet, workspace, instance, &status);
        ck_assert_int_eq(status.answer,
                         i % 2 == 0 ? STATUS_ANSWER_WORKSPACE_NOT_FOUND : STATUS_ANSWER_STATE);
    }
    ck_assert_int_eq(fleet_remove(fleet, "w-0"), FLEET_ERROR_NOT_FOUND);
    uint64_t counts[INSTANCE_STATE_COUNT];
    fleet_count_by_state(fleet, counts);
    ck_assert_uint_eq(counts[INSTANCE_STATE_RUNNING], 10000);
    fleet_clear(fleet);
    ck_assert_uint_eq(fleet_count(fleet), 0);
    ck_assert_uint_eq(fleet_running_count(fleet), 0);
    fleet_free(fleet);
}
END_TEST

START_TEST(test_fleet_rejects_invalid_ids)
{
    sim_fleet *fleet = fleet_new();
    ck_assert_int_eq(fleet_upsert(fleet, "a b", "i-1", INSTANCE_STATE_RUNNING, 0, NULL),
                     FLEET_ERROR_INVALID_ID);
    ck_assert_int_eq(fleet_upsert(fleet, "w", "", INSTANCE_STATE_RUNNING, 0, NULL),
                     FLEET_ERROR_INVALID_ID);
    char long_id[80];
    memset(long_id, 'a', 65);
    long_id[65] = '\0';
    ck_assert(!fleet_id_is_valid(long_id));
    long_id[64] = '\0';
    ck_assert(fleet_id_is_valid(long_id));
    ck_assert(fleet_id_is_valid("3ce33330-611e-4c40-bea8-3d2528437f53"));
    ck_assert(!fleet_id_is_valid("w\"1"));
    fleet_free(fleet);
}
END_TEST

START_TEST(test_fleet_records_the_last_answer)
{
    sim_fleet *fleet = fleet_with(1);
    fleet_status_record(fleet, "w-0", STATUS_ANSWER_FAULT, INSTANCE_STATE_RUNNING, 503, "status",
                        7000);
    fleet_status_record(fleet, "nope", STATUS_ANSWER_FAULT, INSTANCE_STATE_RUNNING, 503, NULL, 0);
    json_t *record = fleet_instance_json(fleet, "w-0");
    json_t *last = json_object_get(record, "last_answer");
    ck_assert_str_eq(json_string_value(json_object_get(last, "answer")), "fault");
    ck_assert_str_eq(json_string_value(json_object_get(last, "fault_mode")), "status");
    ck_assert_int_eq(json_integer_value(json_object_get(last, "http_status")), 503);
    ck_assert_int_eq(json_integer_value(json_object_get(record, "status_requests")), 1);
    json_decref(record);
    ck_assert_ptr_null(fleet_instance_json(fleet, "nope"));
    fleet_free(fleet);
}
END_TEST

START_TEST(test_fleet_list_filters_and_pages)
{
    sim_fleet *fleet = fleet_with(30);
    fleet_set_state(fleet, "w-3", NULL, INSTANCE_STATE_STOPPED, 0);
    fleet_set_state(fleet, "w-7", NULL, INSTANCE_STATE_STOPPED, 0);
    instance_state stopped = INSTANCE_STATE_STOPPED;
    json_t *list = fleet_list_json(fleet, &stopped, 0, 10);
    ck_assert_int_eq(json_integer_value(json_object_get(list, "total")), 2);
    ck_assert_uint_eq(json_array_size(json_object_get(list, "instances")), 2);
    json_decref(list);
    list = fleet_list_json(fleet, NULL, 25, 10);
    ck_assert_int_eq(json_integer_value(json_object_get(list, "total")), 30);
    ck_assert_uint_eq(json_array_size(json_object_get(list, "instances")), 5);
    json_decref(list);
    fleet_free(fleet);
}
END_TEST

START_TEST(test_fleet_choose_positions_are_distinct)
{
    size_t positions[100];
    fleet_random random = fleet_random_make(3);
    ck_assert_uint_eq(fleet_choose_positions(positions, 100, 40, &random), 40);
    bool seen[100] = {false};
    for (size_t i = 0; i < 40; i++) {
        ck_assert_uint_lt(positions[i], 100);
        ck_assert(!seen[positions[i]]);
        seen[positions[i]] = true;
    }
    ck_assert_uint_eq(fleet_choose_positions(positions, 5, 9, &random), 5);
}
END_TEST

START_TEST(test_fleet_instance_ids_look_like_ec2)
{
    fleet_random random = fleet_random_make(99);
    char id[32];
    fleet_make_instance_id(&random, id, sizeof id);
    ck_assert_uint_eq(strlen(id), 19);
    ck_assert(strncmp(id, "i-", 2) == 0);
    for (size_t i = 2; i < 19; i++) {
        ck_assert((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'));
    }
    char other[32];
    fleet_make_instance_id(&random, other, sizeof other);
    ck_assert_str_ne(id, other);
}
END_TEST

START_TEST(test_instance_state_names_round_trip)
{
    for (int state = 0; state < INSTANCE_STATE_COUNT; state++) {
        instance_state parsed;
        ck_assert(instance_state_parse(instance_state_name((instance_state)state), &parsed));
        ck_assert_int_eq(parsed, state);
    }
    instance_state ignored;
    ck_assert(!instance_state_parse("Running", &ignored));
    ck_assert(!instance_state_parse("shutting_down", &ignored));
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("fleet_sim_fleet");
    TCase *status = tcase_create("status");
    tcase_add_test(status, test_fleet_status_answers_the_current_state);
    tcase_add_test(status, test_fleet_status_unknown_workspace_instance_and_missing_id);
    tcase_add_test(status, test_fleet_reprovision_retires_the_old_instance_as_terminated);
    tcase_add_test(status, test_fleet_restart_of_unknown_workspace_is_not_found);
    tcase_add_test(status, test_fleet_records_the_last_answer);
    suite_add_tcase(suite, status);
    TCase *changes = tcase_create("changes");
    tcase_add_test(changes, test_fleet_terminate_flips_exactly_count_running_instances);
    tcase_add_test(changes, test_fleet_terminate_more_than_running_changes_nothing);
    tcase_add_test(changes, test_fleet_terminate_with_a_seed_is_reproducible);
    tcase_add_test(changes, test_fleet_index_survives_many_inserts_and_removals);
    tcase_add_test(changes, test_fleet_rejects_invalid_ids);
    tcase_add_test(changes, test_fleet_list_filters_and_pages);
    tcase_add_test(changes, test_fleet_choose_positions_are_distinct);
    tcase_add_test(changes, test_fleet_instance_ids_look_like_ec2);
    tcase_add_test(changes, test_instance_state_names_round_trip);
    suite_add_tcase(suite, changes);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
