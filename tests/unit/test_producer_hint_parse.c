/* Unit tests of hint_parse (producer/hint_parse.c): which bodies name an instance to look at,
 * and the stable name of every reason a body does not. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hint_parse.h"

static hint_parse_result parse(const char *body, char instance_id[HINT_INSTANCE_ID_MAX + 1])
{
    instance_id[0] = '\0';
    return hint_parse(body, strlen(body), instance_id);
}

START_TEST(test_hint_parse_accepts_eventbridge_terminations_and_the_generic_form)
{
    char id[HINT_INSTANCE_ID_MAX + 1];
    static const char *const states[] = {"stopping", "stopped", "shutting-down", "terminated"};
    for (size_t index = 0; index < sizeof states / sizeof states[0]; index++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"version\":\"0\",\"detail-type\":\"EC2 Instance State-change "
                 "Notification\",\"source\":\"aws.ec2\",\"detail\":{\"instance-id\":"
                 "\"i-0abc\",\"state\":\"%s\"}}",
                 states[index]);
        ck_assert_int_eq(parse(body, id), HINT_PARSE_OK);
        ck_assert_str_eq(id, "i-0abc");
    }
    ck_assert_int_eq(
        parse("{\"detail-type\":\"EC2 Spot Instance Interruption Warning\","
              "\"detail\":{\"instance-id\":\"i-1\",\"instance-action\":\"terminate\"}}",
              id),
        HINT_PARSE_OK);
    ck_assert_str_eq(id, "i-1");
    ck_assert_int_eq(parse("{\"instance_id\":\"vm-42\",\"extra\":[1]}", id), HINT_PARSE_OK);
    ck_assert_str_eq(id, "vm-42");
}
END_TEST

START_TEST(test_hint_parse_names_every_refusal)
{
    char id[HINT_INSTANCE_ID_MAX + 1];
    ck_assert_int_eq(parse("{\"detail-type\":\"EC2 Instance State-change Notification\","
                           "\"detail\":{\"instance-id\":\"i-1\",\"state\":\"running\"}}",
                           id),
                     HINT_PARSE_NOT_A_TERMINATION);
    ck_assert_int_eq(parse("{\"detail-type\":\"EC2 Instance State-change Notification\","
                           "\"detail\":{\"instance-id\":\"i-1\"}}",
                           id),
                     HINT_PARSE_NOT_A_TERMINATION);
    ck_assert_int_eq(parse("{\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":{}}", id),
                     HINT_PARSE_UNSUPPORTED_EVENT);
    ck_assert_int_eq(parse("{", id), HINT_PARSE_BODY_NOT_JSON);
    ck_assert_int_eq(parse("", id), HINT_PARSE_BODY_NOT_JSON);
    ck_assert_int_eq(parse("{\"instance_id\":\"a\",\"instance_id\":\"b\"}", id),
                     HINT_PARSE_BODY_NOT_JSON);
    ck_assert_int_eq(parse("[\"i-1\"]", id), HINT_PARSE_BODY_NOT_OBJECT);
    ck_assert_int_eq(parse("{}", id), HINT_PARSE_INSTANCE_ID_MISSING);
    ck_assert_int_eq(parse("{\"detail-type\":\"EC2 Spot Instance Interruption Warning\"}", id),
                     HINT_PARSE_INSTANCE_ID_MISSING);
    ck_assert_int_eq(parse("{\"instance_id\":7}", id), HINT_PARSE_INSTANCE_ID_INVALID);
    ck_assert_int_eq(parse("{\"instance_id\":\"\"}", id), HINT_PARSE_INSTANCE_ID_INVALID);
    ck_assert_int_eq(parse("{\"instance_id\":\"i-1\\n\"}", id), HINT_PARSE_INSTANCE_ID_INVALID);
    char long_body[HINT_INSTANCE_ID_MAX + 64];
    snprintf(long_body, sizeof long_body, "{\"instance_id\":\"%0*d\"}", HINT_INSTANCE_ID_MAX + 1,
             0);
    ck_assert_int_eq(parse(long_body, id), HINT_PARSE_INSTANCE_ID_INVALID);
    ck_assert_str_eq(id, ""); /* nothing copied on a refusal */
    ck_assert_str_eq(hint_parse_result_name(HINT_PARSE_INSTANCE_ID_INVALID), "instance_id_invalid");
    ck_assert_str_eq(hint_parse_result_name(HINT_PARSE_RESULT_COUNT), "unknown");
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("producer_hint_parse");
    TCase *cases = tcase_create("hint_parse");
    tcase_add_test(cases, test_hint_parse_accepts_eventbridge_terminations_and_the_generic_form);
    tcase_add_test(cases, test_hint_parse_names_every_refusal);
    suite_add_tcase(suite, cases);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
