/* test_checker_request.c — everything the checker derives from one CheckRequest before and
 * after the CP call: the status URL (with hostile ids), CP_URL validation, the deadline
 * rule, and the Verdict record (fields, nulls, secrets kept out, Avro round trip). */
#include "checker_verdict.h"
#include "codec.h"
#include "cp_url.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const char base[] = "http://cp.internal:8080";

/* Decodes %XX escapes (the inverse of http_url_encode), for round-trip assertions. */
static char *percent_decode(const char *text, size_t length)
{
    char *out = malloc(length + 1);
    ck_assert_ptr_nonnull(out);
    size_t used = 0;
    for (size_t index = 0; index < length; index++) {
        if (text[index] == '%') {
            ck_assert(index + 2 < length + 1);
            char hex[3] = {text[index + 1], text[index + 2], '\0'};
            out[used++] = (char)strtol(hex, NULL, 16);
            index += 2;
        } else {
            out[used++] = text[index];
        }
    }
    out[used] = '\0';
    return out;
}

/* Splits a status URL into its two encoded parts and checks that each decodes back to the
 * original id and contains no character that could change the URL's structure. */
static void assert_round_trip(const char *workspace_id, const char *instance_id)
{
    char *url = cp_status_url(base, workspace_id, instance_id);
    ck_assert_ptr_nonnull(url);
    static const char prefix[] = "http://cp.internal:8080/cp/workspaces/";
    ck_assert_int_eq(strncmp(url, prefix, strlen(prefix)), 0);
    const char *segment = url + strlen(prefix);
    const char *tail = strstr(segment, "/status?instance_id=");
    ck_assert_ptr_nonnull(tail);
    size_t segment_length = (size_t)(tail - segment);
    const char *query = tail + strlen("/status?instance_id=");
    /* Structure: exactly one '?', no '#', and the id segment holds no '/'. */
    ck_assert_ptr_null(strchr(url, '#'));
    ck_assert_ptr_eq(strchr(url, '?'), strrchr(url, '?'));
    ck_assert_ptr_null(memchr(segment, '/', segment_length));
    ck_assert_ptr_null(strchr(query, '&'));
    ck_assert_ptr_null(strchr(query, '='));
    for (const char *cursor = segment; *cursor != '\0'; cursor++)
        ck_assert_msg((unsigned char)*cursor > 0x20 && (unsigned char)*cursor < 0x7f,
                      "raw byte 0x%02x in URL", (unsigned char)*cursor);
    char *decoded_workspace = percent_decode(segment, segment_length);
    char *decoded_instance = percent_decode(query, strlen(query));
    ck_assert_str_eq(decoded_workspace, workspace_id);
    ck_assert_str_eq(decoded_instance, instance_id);
    free(decoded_workspace);
    free(decoded_instance);
    free(url);
}

START_TEST(test_checker_url_has_contract_shape)
{
    char *url = cp_status_url(base, "7b0c3a4e-0000-4000-8000-000000000001", "i-0abc123");
    ck_assert_str_eq(url, "http://cp.internal:8080/cp/workspaces/"
                          "7b0c3a4e-0000-4000-8000-000000000001/status?instance_id=i-0abc123");
    free(url);
}
END_TEST

START_TEST(test_checker_url_drops_trailing_slashes_and_keeps_prefix)
{
    char *url = cp_status_url("https://gw.example/api/v1//", "w", "i");
    ck_assert_str_eq(url, "https://gw.example/api/v1/cp/workspaces/w/status?instance_id=i");
    free(url);
}
END_TEST

START_TEST(test_checker_url_encodes_hostile_ids)
{
    static const char *const ids[] = {
        "a/b",
        "../admin",
        "x?instance_id=other",
        "x#frag",
        "100%",
        "%2F",
        "{id}",
        "\"quoted\"",
        "it's",
        "a b",
        "a+b",
        "a&b=c",
        "\\",
        "<>",
        "\t\r\n",
        "\xc3\xa9\xe2\x98\x83\xf0\x9f\x92\xa5", /* é ☃ 💥 */
    };
    for (size_t index = 0; index < sizeof ids / sizeof ids[0]; index++)
        assert_round_trip(ids[index], ids[index]);
}
END_TEST

START_TEST(test_checker_url_encodes_dot_segments)
{
    char *url = cp_status_url(base, "..", ".");
    ck_assert_str_eq(url, "http://cp.internal:8080/cp/workspaces/%2E%2E/status?instance_id=.");
    free(url);
    url = cp_status_url(base, ".", "..");
    ck_assert_str_eq(url, "http://cp.internal:8080/cp/workspaces/%2E/status?instance_id=..");
    free(url);
}
END_TEST

START_TEST(test_checker_url_handles_ten_kilobyte_ids)
{
    size_t length = 10 * 1024;
    char *id = malloc(length + 1);
    ck_assert_ptr_nonnull(id);
    for (size_t index = 0; index < length; index++)
        id[index] = "a/?#%{} "[index % 8];
    id[length] = '\0';
    assert_round_trip(id, id);
    free(id);
}
END_TEST

START_TEST(test_checker_base_url_validation_accepts_http_and_https)
{
    static const char *const good[] = {
        "http://cp",         "https://cp.internal",  "HTTPS://CP:8443", "http://127.0.0.1:8080/",
        "http://[::1]:8080", "https://gw/prefix/v1", "http://cp:1",
    };
    char error[256];
    for (size_t index = 0; index < sizeof good / sizeof good[0]; index++)
        ck_assert_msg(cp_base_url_validate(good[index], error, sizeof error), "%s: %s", good[index],
                      error);
}
END_TEST

START_TEST(test_checker_base_url_validation_rejects_bad_urls)
{
    static const char *const bad[] = {
        "",
        "cp.internal",
        "ftp://cp",
        "file:///etc/passwd",
        "http://",
        "http:///path",
        "http://user:pass@cp",
        "http://cp?x=1",
        "http://cp/#frag",
        "http://cp /x",
        "http://cp:port",
        "http://cp:",
        "http://[::1",
        "http://cp\n",
        "http://c\xc3\xa9",
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad[0]; index++) {
        char error[256] = "";
        ck_assert_msg(!cp_base_url_validate(bad[index], error, sizeof error), "accepted '%s'",
                      bad[index]);
        ck_assert_str_ne(error, "");
    }
    char error[256];
    ck_assert(!cp_base_url_validate(NULL, error, sizeof error));
}
END_TEST

START_TEST(test_checker_request_after_deadline_is_expired)
{
    ck_assert(checker_request_expired(1000, 1001));
    ck_assert(checker_request_expired(1000, 1000));
    ck_assert(!checker_request_expired(1000, 999));
    ck_assert(checker_request_expired(0, 5));
    ck_assert(checker_request_expired(-1, -5));
}
END_TEST

static check_request sample_request(void)
{
    check_request request = {
        .workspace_id = "ws-1",
        .instance_id = "i-1",
        .sweep_id = "sweep-1",
        .sweep_size = 42,
        .enqueued_at = 1700000000000,
        .deadline = 1700000060000,
        .producer_id = "producer-1",
    };
    return request;
}

static cp_classification sample_classification(liveness value, cp_reason reason, const char *state)
{
    cp_classification classification;
    memset(&classification, 0, sizeof classification);
    classification.liveness = value;
    classification.reason = reason;
    if (state != NULL) {
        classification.has_cp_state = true;
        strcpy(classification.cp_state, state);
    }
    return classification;
}

START_TEST(test_checker_verdict_copies_request_and_answer)
{
    check_request request = sample_request();
    cp_classification classification =
        sample_classification(LIVENESS_NOT_RUNNING, CP_REASON_STATE_NOT_RUNNING, "terminated");
    verdict record;
    checker_verdict_make(&record, &request, &classification, 200, 1700000001000, 37, "checker-a",
                         NULL);
    ck_assert_str_eq(record.workspace_id, "ws-1");
    ck_assert_str_eq(record.instance_id, "i-1");
    ck_assert_str_eq(record.sweep_id, "sweep-1");
    ck_assert_int_eq(record.sweep_size, 42);
    ck_assert_int_eq(record.enqueued_at, 1700000000000);
    ck_assert_int_eq(record.liveness, LIVENESS_NOT_RUNNING);
    ck_assert_str_eq(record.cp_state, "terminated");
    ck_assert(record.has_http_status);
    ck_assert_int_eq(record.http_status, 200);
    ck_assert_str_eq(record.reason, "state_not_running");
    ck_assert_int_eq(record.checked_at, 1700000001000);
    ck_assert_int_eq(record.latency_ms, 37);
    ck_assert_str_eq(record.checker_id, "checker-a");
}
END_TEST

START_TEST(test_checker_verdict_without_response_has_null_status_and_state)
{
    check_request request = sample_request();
    cp_classification classification =
        sample_classification(LIVENESS_UNKNOWN, CP_REASON_TRANSPORT_TIMEOUT, NULL);
    verdict record;
    checker_verdict_make(&record, &request, &classification, 0, 1, -5, "c", NULL);
    ck_assert(!record.has_http_status);
    ck_assert_ptr_null(record.cp_state);
    ck_assert_str_eq(record.reason, "transport_timeout");
    ck_assert_int_eq(record.latency_ms, 0);
}
END_TEST

START_TEST(test_checker_verdict_never_carries_a_secret_in_cp_state)
{
    check_request request = sample_request();
    checker_secrets secrets = {{"s3cr3t-shared-value", "admin-token-123"}};
    static const char *const leaks[] = {"s3cr3t-shared-value", "x-admin-token-123-y",
                                        "s3cr3t-shared"};
    for (size_t index = 0; index < sizeof leaks / sizeof leaks[0]; index++) {
        cp_classification classification =
            sample_classification(LIVENESS_UNKNOWN, CP_REASON_STATE_UNRECOGNIZED, leaks[index]);
        verdict record;
        checker_verdict_make(&record, &request, &classification, 200, 1, 1, "c", &secrets);
        ck_assert_msg(record.cp_state == NULL, "published '%s'", leaks[index]);
        ck_assert_str_eq(record.reason, "state_unrecognized");
    }
    /* Short common words that happen to occur inside a secret are not leaks. */
    checker_secrets wordy = {{"xxstoppedxx", NULL}};
    ck_assert(checker_state_is_publishable("stopped", &wordy));
    ck_assert(checker_state_is_publishable("running", NULL));
    checker_secrets empty = {{"", NULL}};
    ck_assert(checker_state_is_publishable("running", &empty));
}
END_TEST

START_TEST(test_checker_verdict_round_trips_through_avro)
{
    ck_assert(codec_init());
    check_request request = sample_request();
    cp_classification classification =
        sample_classification(LIVENESS_RUNNING, CP_REASON_STATE_RUNNING, "running");
    verdict record;
    checker_verdict_make(&record, &request, &classification, 200, 1700000001000, 12, "c-1", NULL);
    uint8_t *bytes = NULL;
    size_t length = 0;
    ck_assert_int_eq(codec_encode_verdict(&record, &bytes, &length), CODEC_OK);
    verdict decoded;
    ck_assert_int_eq(codec_decode_verdict(bytes, length, &decoded), CODEC_OK);
    ck_assert_int_eq(decoded.liveness, LIVENESS_RUNNING);
    ck_assert_str_eq(decoded.cp_state, "running");
    ck_assert_str_eq(decoded.reason, "state_running");
    ck_assert_int_eq(decoded.http_status, 200);
    ck_assert_str_eq(decoded.checker_id, "c-1");
    ck_assert_int_eq(decoded.enqueued_at, 1700000000000);
    verdict_free(&decoded);
    free(bytes);
}
END_TEST

int main(void)
{
    const TTest *tests[] = {
        test_checker_url_has_contract_shape,
        test_checker_url_drops_trailing_slashes_and_keeps_prefix,
        test_checker_url_encodes_hostile_ids,
        test_checker_url_encodes_dot_segments,
        test_checker_url_handles_ten_kilobyte_ids,
        test_checker_base_url_validation_accepts_http_and_https,
        test_checker_base_url_validation_rejects_bad_urls,
        test_checker_request_after_deadline_is_expired,
        test_checker_verdict_copies_request_and_answer,
        test_checker_verdict_without_response_has_null_status_and_state,
        test_checker_verdict_never_carries_a_secret_in_cp_state,
        test_checker_verdict_round_trips_through_avro,
    };
    Suite *suite = suite_create("checker_request");
    TCase *cases = tcase_create("core");
    for (size_t index = 0; index < sizeof tests / sizeof tests[0]; index++)
        tcase_add_test(cases, tests[index]);
    suite_add_tcase(suite, cases);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
