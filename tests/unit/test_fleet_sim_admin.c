/* Unit tests of fleet-sim's admin API parsing: every bad request is refused with the named
 * error, good ones become the intended command; also the seed sub-command's arguments. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "admin_api.h"
#include "seed_command.h"

#define HANG_CAP 600000

static admin_error_code fault_error(const char *body)
{
    fault_spec spec;
    admin_error error = {ADMIN_ERROR_NONE, ""};
    ck_assert(!admin_parse_fault(body, strlen(body), HANG_CAP, &spec, &error));
    ck_assert_str_ne(error.message, "");
    return error.code;
}

static fault_spec fault_ok(const char *body)
{
    fault_spec spec;
    admin_error error = {ADMIN_ERROR_NONE, ""};
    ck_assert_msg(admin_parse_fault(body, strlen(body), HANG_CAP, &spec, &error), "%s: %s", body,
                  error.message);
    return spec;
}

START_TEST(test_admin_fault_rejects_malformed_bodies)
{
    ck_assert_int_eq(fault_error("{"), ADMIN_ERROR_INVALID_JSON);
    ck_assert_int_eq(fault_error("[]"), ADMIN_ERROR_NOT_AN_OBJECT);
    ck_assert_int_eq(fault_error("{\"mode\":\"latency\"} x"), ADMIN_ERROR_INVALID_JSON);
    ck_assert_int_eq(fault_error("{\"mode\":\"latency\",\"mode\":\"hang\"}"),
                     ADMIN_ERROR_INVALID_JSON);
    ck_assert_int_eq(fault_error(""), ADMIN_ERROR_MISSING_FIELD);
    ck_assert_int_eq(fault_error("{\"mode\":7}"), ADMIN_ERROR_WRONG_TYPE);
    ck_assert_int_eq(fault_error("{\"mode\":\"slow\"}"), ADMIN_ERROR_UNKNOWN_MODE);
}
END_TEST

START_TEST(test_admin_fault_rejects_unknown_and_foreign_fields)
{
    ck_assert_int_eq(fault_error("{\"mode\":\"latency\",\"fixed\":5}"), ADMIN_ERROR_UNKNOWN_FIELD);
    ck_assert_int_eq(fault_error("{\"mode\":\"latency\",\"code\":500}"),
                     ADMIN_ERROR_FIELD_NOT_APPLICABLE);
    ck_assert_int_eq(fault_error("{\"mode\":\"garbage\",\"hang_ms\":5}"),
                     ADMIN_ERROR_FIELD_NOT_APPLICABLE);
    ck_assert_int_eq(fault_error("{\"mode\":\"status\",\"code\":500,\"perform_restart\":true}"),
                     ADMIN_ERROR_FIELD_NOT_APPLICABLE);
}
END_TEST

START_TEST(test_admin_fault_checks_ranges_and_types)
{
    ck_assert_int_eq(fault_error("{\"mode\":\"status\"}"), ADMIN_ERROR_MISSING_FIELD);
    ck_assert_int_eq(fault_error("{\"mode\":\"status\",\"code\":200}"), ADMIN_ERROR_OUT_OF_RANGE);
    ck_assert_int_eq(fault_error("{\"mode\":\"status\",\"code\":600}"), ADMIN_ERROR_OUT_OF_RANGE);
    ck_assert_int_eq(fault_error("{\"mode\":\"status\",\"code\":\"500\"}"), ADMIN_ERROR_WRONG_TYPE);
    ck_assert_int_eq(fault_error("{\"mode\":\"status\",\"code\":500.5}"), ADMIN_ERROR_WRONG_TYPE);
    ck_assert_int_eq(fault_error("{\"mode\":\"redirect\",\"code\":404}"), ADMIN_ERROR_OUT_OF_RANGE);
    ck_assert_int_eq(fault_error("{\"mode\":\"latency\",\"fixed_ms\":-1}"),
                     ADMIN_ERROR_OUT_OF_RANGE);
    ck_assert_int_eq(fault_error("{\"mode\":\"hang\",\"hang_ms\":600001}"),
                     ADMIN_ERROR_OUT_OF_RANGE);
    ck_assert_int_eq(fault_error("{\"mode\":\"oversized\",\"bytes\":1000}"),
                     ADMIN_ERROR_OUT_OF_RANGE);
    ck_assert_int_eq(fault_error("{\"mode\":\"truncated\",\"cut\":\"half\"}"),
                     ADMIN_ERROR_OUT_OF_RANGE);
    ck_assert_int_eq(fault_error("{\"mode\":\"latency\",\"probability\":1.5}"),
                     ADMIN_ERROR_OUT_OF_RANGE);
    ck_assert_int_eq(fault_error("{\"mode\":\"latency\",\"times\":0}"), ADMIN_ERROR_OUT_OF_RANGE);
    ck_assert_int_eq(fault_error("{\"mode\":\"latency\",\"endpoint\":\"cp\"}"),
                     ADMIN_ERROR_UNKNOWN_ENDPOINT);
    ck_assert_int_eq(fault_error("{\"mode\":\"content_type\",\"content_type\":\"a\\r\\nb: c\"}"),
                     ADMIN_ERROR_OUT_OF_RANGE);
}
END_TEST

START_TEST(test_admin_fault_targets)
{
    ck_assert_int_eq(fault_error("{\"mode\":\"hang\",\"target\":\"all\"}"),
                     ADMIN_ERROR_INVALID_TARGET);
    ck_assert_int_eq(fault_error("{\"mode\":\"hang\",\"target\":{}}"), ADMIN_ERROR_INVALID_TARGET);
    ck_assert_int_eq(fault_error("{\"mode\":\"hang\",\"target\":{\"all\":true,\"share\":0.1}}"),
                     ADMIN_ERROR_INVALID_TARGET);
    ck_assert_int_eq(fault_error("{\"mode\":\"hang\",\"target\":{\"all\":false}}"),
                     ADMIN_ERROR_INVALID_TARGET);
    ck_assert_int_eq(fault_error("{\"mode\":\"hang\",\"target\":{\"share\":2}}"),
                     ADMIN_ERROR_OUT_OF_RANGE);
    ck_assert_int_eq(fault_error("{\"mode\":\"hang\",\"target\":{\"workspace_id\":\"a b\"}}"),
                     ADMIN_ERROR_INVALID_ID);
    ck_assert_int_eq(fault_error("{\"mode\":\"hang\",\"target\":{\"workspace_id\":\"w\","
                                 "\"salt\":\"x\"}}"),
                     ADMIN_ERROR_FIELD_NOT_APPLICABLE);
    ck_assert_int_eq(fault_error("{\"mode\":\"hang\",\"target\":{\"pct\":3}}"),
                     ADMIN_ERROR_UNKNOWN_FIELD);

    fault_spec spec = fault_ok("{\"mode\":\"hang\"}");
    ck_assert_int_eq(spec.target_kind, FAULT_TARGET_ALL);
    ck_assert_int_eq(spec.endpoint, FAULT_ENDPOINT_STATUS);
    spec = fault_ok("{\"mode\":\"hang\",\"target\":{\"percent\":25,\"salt\":\"s\"}}");
    ck_assert_int_eq(spec.target_kind, FAULT_TARGET_SHARE);
    ck_assert(spec.share > 0.2499 && spec.share < 0.2501);
    ck_assert_str_eq(spec.salt, "s");
    spec = fault_ok("{\"mode\":\"hang\",\"target\":{\"instance_id\":\"i-1\"}}");
    ck_assert_int_eq(spec.target_kind, FAULT_TARGET_INSTANCE);
    ck_assert_str_eq(spec.target_id, "i-1");
}
END_TEST

START_TEST(test_admin_fault_accepts_each_mode_with_its_fields)
{
    fault_spec spec = fault_ok("{\"mode\":\"status\",\"code\":429,\"endpoint\":\"restart\","
                               "\"perform_restart\":true,\"times\":3,\"fixed_ms\":10}");
    ck_assert_uint_eq(spec.http_status, 429);
    ck_assert_int_eq(spec.endpoint, FAULT_ENDPOINT_RESTART);
    ck_assert_int_eq(spec.perform_restart, FAULT_PERFORM_YES);
    ck_assert_int_eq(spec.times, 3);
    ck_assert_int_eq(spec.fixed_ms, 10);
    spec = fault_ok("{\"mode\":\"redirect\",\"code\":307,\"location\":\"http://x/y\"}");
    ck_assert_str_eq(spec.location, "http://x/y");
    spec = fault_ok("{\"mode\":\"odd_state\",\"state\":\"\"}");
    ck_assert_str_eq(spec.state_text, "");
    spec = fault_ok("{\"mode\":\"duplicate_state_keys\",\"first_state\":\"running\","
                    "\"second_state\":\"stopped\"}");
    ck_assert_str_eq(spec.second_state, "stopped");
    spec = fault_ok("{\"mode\":\"truncated\",\"cut\":\"transfer\"}");
    ck_assert(spec.cut_transfer);
    spec = fault_ok("{\"mode\":\"oversized\",\"bytes\":100000,\"probability\":0.5}");
    ck_assert_int_eq(spec.body_bytes, 100000);
    for (int mode = 0; mode < FAULT_MODE_COUNT; mode++) {
        if (mode == FAULT_MODE_STATUS) {
            continue; /* needs a code */
        }
        char body[96];
        snprintf(body, sizeof body, "{\"mode\":\"%s\"}", fault_mode_name((fault_mode)mode));
        spec = fault_ok(body);
        ck_assert_int_eq(spec.mode, mode);
    }
}
END_TEST

START_TEST(test_admin_terminate_parsing_and_resolution)
{
    admin_terminate_command command;
    admin_error error;
    ck_assert(!admin_parse_terminate("{}", 2, &command, &error));
    ck_assert_int_eq(error.code, ADMIN_ERROR_MISSING_FIELD);
    const char *both = "{\"count\":1,\"percent\":5}";
    ck_assert(!admin_parse_terminate(both, strlen(both), &command, &error));
    ck_assert_int_eq(error.code, ADMIN_ERROR_CONFLICTING_FIELDS);
    const char *running = "{\"count\":1,\"state\":\"running\"}";
    ck_assert(!admin_parse_terminate(running, strlen(running), &command, &error));
    ck_assert_int_eq(error.code, ADMIN_ERROR_UNKNOWN_STATE);
    const char *bad_state = "{\"count\":1,\"state\":\"dead\"}";
    ck_assert(!admin_parse_terminate(bad_state, strlen(bad_state), &command, &error));
    ck_assert_int_eq(error.code, ADMIN_ERROR_UNKNOWN_STATE);
    const char *negative = "{\"count\":-1}";
    ck_assert(!admin_parse_terminate(negative, strlen(negative), &command, &error));
    ck_assert_int_eq(error.code, ADMIN_ERROR_OUT_OF_RANGE);

    const char *percent = "{\"percent\":10,\"state\":\"stopped\",\"seed\":7}";
    ck_assert(admin_parse_terminate(percent, strlen(percent), &command, &error));
    ck_assert(command.is_percent);
    ck_assert_int_eq(command.state, INSTANCE_STATE_STOPPED);
    ck_assert(command.has_seed);
    ck_assert_uint_eq(admin_terminate_resolve(&command, 1000), 100);
    ck_assert_uint_eq(admin_terminate_resolve(&command, 15), 1);
    ck_assert_uint_eq(admin_terminate_resolve(&command, 9), 0);
    command.percent = 33.3;
    ck_assert_uint_eq(admin_terminate_resolve(&command, 1000), 333);
    const char *count = "{\"count\":42}";
    ck_assert(admin_parse_terminate(count, strlen(count), &command, &error));
    ck_assert(!command.is_percent);
    ck_assert_int_eq(command.state, INSTANCE_STATE_TERMINATED);
    ck_assert_uint_eq(admin_terminate_resolve(&command, 10), 42);
}
END_TEST

START_TEST(test_admin_instances_names_the_bad_element)
{
    admin_instances_command command;
    admin_error error;
    const char *bad = "{\"instances\":[{\"workspace_id\":\"w1\",\"instance_id\":\"i-1\"},"
                      "{\"workspace_id\":\"w2\"}]}";
    ck_assert(!admin_parse_instances(bad, strlen(bad), &command, &error));
    ck_assert_int_eq(error.code, ADMIN_ERROR_MISSING_FIELD);
    ck_assert_ptr_nonnull(strstr(error.message, "instances[1]"));
    const char *wrong_state =
        "[{\"workspace_id\":\"w1\",\"instance_id\":\"i-1\",\"state\":\"up\"}]";
    ck_assert(!admin_parse_instances(wrong_state, strlen(wrong_state), &command, &error));
    ck_assert_int_eq(error.code, ADMIN_ERROR_UNKNOWN_STATE);
    const char *not_list = "{\"instances\":{}}";
    ck_assert(!admin_parse_instances(not_list, strlen(not_list), &command, &error));
    ck_assert_int_eq(error.code, ADMIN_ERROR_WRONG_TYPE);

    const char *good = "[{\"workspace_id\":\"w1\",\"instance_id\":\"i-1\"},"
                       "{\"workspace_id\":\"w2\",\"instance_id\":\"i-2\",\"state\":\"stopping\"}]";
    ck_assert(admin_parse_instances(good, strlen(good), &command, &error));
    ck_assert_uint_eq(command.count, 2);
    ck_assert_int_eq(command.entries[0].state, INSTANCE_STATE_RUNNING);
    ck_assert_int_eq(command.entries[1].state, INSTANCE_STATE_STOPPING);
    admin_instances_release(&command);
}
END_TEST

START_TEST(test_admin_seed_defaults_and_errors)
{
    admin_seed_command command;
    admin_error error;
    const char *minimal = "{\"count\":5}";
    ck_assert(admin_parse_seed(minimal, strlen(minimal), &command, &error));
    ck_assert_int_eq(command.count, 5);
    ck_assert_str_eq(command.runtime, "docker");
    ck_assert_str_eq(command.status, "online");
    ck_assert_int_eq(command.state, INSTANCE_STATE_RUNNING);
    ck_assert(!command.return_ids);
    const char *null_runtime = "{\"count\":5,\"runtime\":null,\"return_ids\":true}";
    ck_assert(admin_parse_seed(null_runtime, strlen(null_runtime), &command, &error));
    ck_assert(command.runtime_is_null);
    ck_assert(command.return_ids);

    ck_assert(!admin_parse_seed("{}", 2, &command, &error));
    ck_assert_int_eq(error.code, ADMIN_ERROR_MISSING_FIELD);
    const char *zero = "{\"count\":0}";
    ck_assert(!admin_parse_seed(zero, strlen(zero), &command, &error));
    ck_assert_int_eq(error.code, ADMIN_ERROR_OUT_OF_RANGE);
    const char *tab = "{\"count\":1,\"runtime\":\"a\\tb\"}";
    ck_assert(!admin_parse_seed(tab, strlen(tab), &command, &error));
    ck_assert_int_eq(error.code, ADMIN_ERROR_INVALID_ID);
    const char *status = "{\"count\":1,\"status\":\"up\"}";
    ck_assert(!admin_parse_seed(status, strlen(status), &command, &error));
    ck_assert_int_eq(error.code, ADMIN_ERROR_OUT_OF_RANGE);
}
END_TEST

START_TEST(test_admin_small_commands)
{
    admin_error error;
    ck_assert(admin_parse_empty("", 0, &error));
    ck_assert(admin_parse_empty("{}", 2, &error));
    ck_assert(!admin_parse_empty("{\"x\":1}", 7, &error));
    ck_assert_int_eq(error.code, ADMIN_ERROR_UNKNOWN_FIELD);

    admin_set_state_command state;
    ck_assert(!admin_parse_set_state("{}", 2, &state, &error));
    ck_assert_int_eq(error.code, ADMIN_ERROR_MISSING_FIELD);
    const char *move = "{\"state\":\"pending\",\"instance_id\":\"i-9\"}";
    ck_assert(admin_parse_set_state(move, strlen(move), &state, &error));
    ck_assert(state.has_instance_id);
    ck_assert_str_eq(state.instance_id, "i-9");

    admin_config_command config;
    const char *delay = "{\"reprovision_delay_ms\":250}";
    ck_assert(admin_parse_config(delay, strlen(delay), &config, &error));
    ck_assert(config.has_reprovision_delay);
    ck_assert_int_eq(config.reprovision_delay_ms, 250);

    admin_list_query query;
    ck_assert(admin_parse_list_query(NULL, NULL, NULL, &query, &error));
    ck_assert_uint_eq(query.limit, 1000);
    ck_assert(admin_parse_list_query("terminated", "5", "10", &query, &error));
    ck_assert(query.has_state);
    ck_assert_uint_eq(query.offset, 10);
    ck_assert(!admin_parse_list_query("gone", NULL, NULL, &query, &error));
    ck_assert_int_eq(error.code, ADMIN_ERROR_INVALID_PARAMETER);
    ck_assert(!admin_parse_list_query(NULL, "-1", NULL, &query, &error));

    uint64_t id;
    ck_assert(admin_parse_fault_id("12", &id, &error));
    ck_assert_uint_eq(id, 12);
    ck_assert(!admin_parse_fault_id("0", &id, &error));
    ck_assert(!admin_parse_fault_id("1x", &id, &error));
}
END_TEST

START_TEST(test_admin_error_names_and_statuses)
{
    for (int code = 0; code < ADMIN_ERROR_COUNT; code++) {
        const char *name = admin_error_name((admin_error_code)code);
        ck_assert_str_ne(name, "unknown_error");
        for (const char *c = name; *c != '\0'; c++) {
            ck_assert((*c >= 'a' && *c <= 'z') || *c == '_');
        }
    }
    ck_assert_uint_eq(admin_error_http_status(ADMIN_ERROR_UNKNOWN_MODE), 400);
    ck_assert_uint_eq(admin_error_http_status(ADMIN_ERROR_NOT_ENOUGH_RUNNING), 400);
    ck_assert_uint_eq(admin_error_http_status(ADMIN_ERROR_UNAUTHORIZED), 401);
    ck_assert_uint_eq(admin_error_http_status(ADMIN_ERROR_WORKSPACE_NOT_FOUND), 404);
}
END_TEST

START_TEST(test_seed_command_arguments)
{
    seed_command_options options;
    char error[256];
    char *good[] = {"seed",      "--count", "100",          "--url=http://h:1/",
                    "--runtime", "ec2",     "--batch-size", "50"};
    ck_assert(seed_command_parse(8, good, &options, error, sizeof error));
    ck_assert_int_eq(options.count, 100);
    ck_assert_str_eq(options.url, "http://h:1/");
    ck_assert_int_eq(options.batch_size, 50);
    char *body = seed_command_body(&options);
    ck_assert_str_eq(body, "{\"count\":100,\"runtime\":\"ec2\",\"batch_size\":50}");
    free(body);

    char *missing[] = {"seed"};
    ck_assert(!seed_command_parse(1, missing, &options, error, sizeof error));
    ck_assert_ptr_nonnull(strstr(error, "--count"));
    char *bad[] = {"seed", "--count", "ten"};
    ck_assert(!seed_command_parse(3, bad, &options, error, sizeof error));
    char *unknown[] = {"seed", "--count", "1", "--fast"};
    ck_assert(!seed_command_parse(4, unknown, &options, error, sizeof error));
    ck_assert_ptr_nonnull(strstr(error, "--fast"));
}
END_TEST

START_TEST(test_admin_terminate_hint_knobs)
{
    admin_terminate_command command;
    admin_error error = {ADMIN_ERROR_NONE, ""};
    const char *plain = "{\"count\":2}";
    ck_assert(admin_parse_terminate(plain, strlen(plain), &command, &error));
    /* -1: the FLEETSIM_HINT_* setting applies. */
    ck_assert_int_eq(command.hints.drop_percent, -1);
    ck_assert_int_eq(command.hints.delay_ms, -1);
    const char *knobs = "{\"count\":2,\"hint_drop_percent\":50,\"hint_duplicate_percent\":100,"
                        "\"hint_forge_percent\":0,\"hint_delay_ms\":250}";
    ck_assert(admin_parse_terminate(knobs, strlen(knobs), &command, &error));
    ck_assert_int_eq(command.hints.drop_percent, 50);
    ck_assert_int_eq(command.hints.duplicate_percent, 100);
    ck_assert_int_eq(command.hints.forge_percent, 0);
    ck_assert_int_eq(command.hints.delay_ms, 250);
    const char *too_much = "{\"count\":2,\"hint_drop_percent\":101}";
    ck_assert(!admin_parse_terminate(too_much, strlen(too_much), &command, &error));
    ck_assert_int_eq(error.code, ADMIN_ERROR_OUT_OF_RANGE);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("fleet_sim_admin");
    TCase *faults = tcase_create("faults");
    tcase_add_test(faults, test_admin_fault_rejects_malformed_bodies);
    tcase_add_test(faults, test_admin_fault_rejects_unknown_and_foreign_fields);
    tcase_add_test(faults, test_admin_fault_checks_ranges_and_types);
    tcase_add_test(faults, test_admin_fault_targets);
    tcase_add_test(faults, test_admin_fault_accepts_each_mode_with_its_fields);
    suite_add_tcase(suite, faults);
    TCase *commands = tcase_create("commands");
    tcase_add_test(commands, test_admin_terminate_parsing_and_resolution);
    tcase_add_test(commands, test_admin_terminate_hint_knobs);
    tcase_add_test(commands, test_admin_instances_names_the_bad_element);
    tcase_add_test(commands, test_admin_seed_defaults_and_errors);
    tcase_add_test(commands, test_admin_small_commands);
    tcase_add_test(commands, test_admin_error_names_and_statuses);
    tcase_add_test(commands, test_seed_command_arguments);
    suite_add_tcase(suite, commands);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
