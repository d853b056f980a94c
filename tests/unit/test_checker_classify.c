/* test_checker_classify.c — every row of docs/contracts.md §3 and its edges, one named test per
 * behaviour, calling the pure classifier cp_classify directly.
 *
 * Each CLASSIFY_TEST names a behaviour and gives the input (status, transport error, body,
 * content type) and the expected liveness and reason. Bodies are string literals whose size
 * is taken with sizeof, so a literal may contain NUL bytes. A few behaviours need built
 * inputs (sizes, nesting depth) or extra assertions and are written out. */
#include "cp_classify.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON "application/json"

static cp_not_running_states default_states(void)
{
    cp_not_running_states states;
    char error[256];
    ck_assert_msg(
        cp_not_running_states_parse(CP_NOT_RUNNING_STATES_DEFAULT, &states, error, sizeof error),
        "%s", error);
    return states;
}

static cp_classification classify(long status, http_client_error error, const char *body,
                                  size_t length, const char *content_type)
{
    cp_not_running_states states = default_states();
    return cp_classify(status, error, body, length, content_type, &states);
}

static void expect(cp_classification got, liveness expected_liveness, cp_reason expected_reason,
                   int line)
{
    ck_assert_msg(got.liveness == expected_liveness && got.reason == expected_reason,
                  "line %d: got %s/%s, expected %s/%s", line, liveness_name(got.liveness),
                  cp_reason_name(got.reason), liveness_name(expected_liveness),
                  cp_reason_name(expected_reason));
}

/* One test: classify a literal body and compare. */
#define CLASSIFY_TEST(name, status, error, body_literal, content_type, expected_liveness,          \
                      expected_reason)                                                             \
    START_TEST(name)                                                                               \
    {                                                                                              \
        expect(classify(status, error, body_literal, sizeof(body_literal) - 1, content_type),      \
               expected_liveness, expected_reason, __LINE__);                                      \
    }                                                                                              \
    END_TEST

#define OK HTTP_CLIENT_OK
#define RUNNING LIVENESS_RUNNING
#define NOT_RUNNING LIVENESS_NOT_RUNNING
#define UNKNOWN LIVENESS_UNKNOWN

/* ---- the two definite answers ---------------------------------------------------------- */
CLASSIFY_TEST(test_checker_running_state_is_running, 200, OK, "{\"state\":\"running\"}", JSON,
              RUNNING, CP_REASON_STATE_RUNNING)
CLASSIFY_TEST(test_checker_terminated_is_not_running, 200, OK, "{\"state\":\"terminated\"}", JSON,
              NOT_RUNNING, CP_REASON_STATE_NOT_RUNNING)
CLASSIFY_TEST(test_checker_stopped_is_not_running, 200, OK, "{\"state\":\"stopped\"}", JSON,
              NOT_RUNNING, CP_REASON_STATE_NOT_RUNNING)
CLASSIFY_TEST(test_checker_stopping_is_not_running, 200, OK, "{\"state\":\"stopping\"}", JSON,
              NOT_RUNNING, CP_REASON_STATE_NOT_RUNNING)
CLASSIFY_TEST(test_checker_shutting_down_is_not_running, 200, OK, "{\"state\":\"shutting-down\"}",
              JSON, NOT_RUNNING, CP_REASON_STATE_NOT_RUNNING)
CLASSIFY_TEST(test_checker_status_201_counts_as_2xx, 201, OK, "{\"state\":\"terminated\"}", JSON,
              NOT_RUNNING, CP_REASON_STATE_NOT_RUNNING)
CLASSIFY_TEST(test_checker_status_299_counts_as_2xx, 299, OK, "{\"state\":\"running\"}", JSON,
              RUNNING, CP_REASON_STATE_RUNNING)
CLASSIFY_TEST(test_checker_other_members_are_ignored, 200, OK,
              "{\"id\":\"i-1\",\"since\":1700000000,\"ratio\":0.5,\"tags\":[1,\"a\",null],"
              "\"meta\":{\"zone\":\"a\",\"inner\":{\"state\":\"running\"}},\"ok\":true,"
              "\"gone\":false,\"none\":null,\"state\":\"terminated\"}",
              JSON, NOT_RUNNING, CP_REASON_STATE_NOT_RUNNING)
CLASSIFY_TEST(test_checker_whitespace_around_the_object_is_allowed, 200, OK,
              " \r\n\t{ \"state\" : \"terminated\" }\n\n ", JSON, NOT_RUNNING,
              CP_REASON_STATE_NOT_RUNNING)
CLASSIFY_TEST(test_checker_escaped_state_is_decoded_before_comparing, 200, OK,
              "{\"state\":\"\\u0074erminated\"}", JSON, NOT_RUNNING, CP_REASON_STATE_NOT_RUNNING)

/* ---- transport failures ---------------------------------------------------------------- */
CLASSIFY_TEST(test_checker_timeout_is_unknown, 0, HTTP_CLIENT_ERROR_TIMEOUT, "", NULL, UNKNOWN,
              CP_REASON_TRANSPORT_TIMEOUT)
CLASSIFY_TEST(test_checker_connect_failure_is_unknown, 0, HTTP_CLIENT_ERROR_CONNECT, "", NULL,
              UNKNOWN, CP_REASON_CONNECT_FAILED)
CLASSIFY_TEST(test_checker_dns_failure_is_unknown, 0, HTTP_CLIENT_ERROR_DNS, "", NULL, UNKNOWN,
              CP_REASON_DNS_FAILED)
CLASSIFY_TEST(test_checker_tls_failure_is_unknown, 0, HTTP_CLIENT_ERROR_TLS, "", NULL, UNKNOWN,
              CP_REASON_TLS_FAILED)
CLASSIFY_TEST(test_checker_protocol_error_is_unknown, 0, HTTP_CLIENT_ERROR_PROTOCOL, "", NULL,
              UNKNOWN, CP_REASON_PROTOCOL_ERROR)
CLASSIFY_TEST(test_checker_internal_error_is_unknown, 0, HTTP_CLIENT_ERROR_INTERNAL, "", NULL,
              UNKNOWN, CP_REASON_INTERNAL_ERROR)
/* A transport error wins over anything that arrived before it. */
CLASSIFY_TEST(test_checker_timeout_after_a_terminated_body_is_unknown, 200,
              HTTP_CLIENT_ERROR_TIMEOUT, "{\"state\":\"terminated\"}", JSON, UNKNOWN,
              CP_REASON_TRANSPORT_TIMEOUT)
CLASSIFY_TEST(test_checker_body_too_large_from_client_is_unknown, 200,
              HTTP_CLIENT_ERROR_BODY_TOO_LARGE, "{\"state\":\"terminated\"}", JSON, UNKNOWN,
              CP_REASON_BODY_TOO_LARGE)
CLASSIFY_TEST(test_checker_no_status_without_error_is_unknown, 0, OK, "{\"state\":\"terminated\"}",
              JSON, UNKNOWN, CP_REASON_NO_RESPONSE)
CLASSIFY_TEST(test_checker_negative_status_is_unknown, -1, OK, "{\"state\":\"terminated\"}", JSON,
              UNKNOWN, CP_REASON_NO_RESPONSE)

/* ---- status lines other than 2xx ------------------------------------------------------- */
CLASSIFY_TEST(test_checker_301_is_unknown_redirect, 301, OK, "{\"state\":\"terminated\"}", JSON,
              UNKNOWN, CP_REASON_HTTP_REDIRECT)
CLASSIFY_TEST(test_checker_302_is_unknown_redirect, 302, OK, "{\"state\":\"terminated\"}", JSON,
              UNKNOWN, CP_REASON_HTTP_REDIRECT)
CLASSIFY_TEST(test_checker_304_is_unknown_redirect, 304, OK, "", NULL, UNKNOWN,
              CP_REASON_HTTP_REDIRECT)
CLASSIFY_TEST(test_checker_307_is_unknown_redirect, 307, OK, "{\"state\":\"running\"}", JSON,
              UNKNOWN, CP_REASON_HTTP_REDIRECT)
CLASSIFY_TEST(test_checker_308_is_unknown_redirect, 308, OK, "{\"state\":\"terminated\"}", JSON,
              UNKNOWN, CP_REASON_HTTP_REDIRECT)
CLASSIFY_TEST(test_checker_400_is_unknown, 400, OK, "{\"state\":\"terminated\"}", JSON, UNKNOWN,
              CP_REASON_HTTP_CLIENT_ERROR)
CLASSIFY_TEST(test_checker_401_is_unknown, 401, OK, "{\"state\":\"terminated\"}", JSON, UNKNOWN,
              CP_REASON_HTTP_CLIENT_ERROR)
CLASSIFY_TEST(test_checker_403_is_unknown, 403, OK, "{\"state\":\"terminated\"}", JSON, UNKNOWN,
              CP_REASON_HTTP_CLIENT_ERROR)
/* The most tempting wrong reading: "not found" is not "not running". */
CLASSIFY_TEST(test_checker_404_with_terminated_body_is_unknown, 404, OK,
              "{\"state\":\"terminated\"}", JSON, UNKNOWN, CP_REASON_HTTP_CLIENT_ERROR)
CLASSIFY_TEST(test_checker_410_gone_is_unknown, 410, OK, "{\"state\":\"terminated\"}", JSON,
              UNKNOWN, CP_REASON_HTTP_CLIENT_ERROR)
CLASSIFY_TEST(test_checker_429_is_unknown, 429, OK, "{\"state\":\"terminated\"}", JSON, UNKNOWN,
              CP_REASON_HTTP_CLIENT_ERROR)
CLASSIFY_TEST(test_checker_500_is_unknown, 500, OK, "{\"state\":\"terminated\"}", JSON, UNKNOWN,
              CP_REASON_HTTP_SERVER_ERROR)
CLASSIFY_TEST(test_checker_502_html_is_unknown, 502, OK, "<html>Bad Gateway</html>", "text/html",
              UNKNOWN, CP_REASON_HTTP_SERVER_ERROR)
CLASSIFY_TEST(test_checker_503_is_unknown, 503, OK, "{\"state\":\"stopped\"}", JSON, UNKNOWN,
              CP_REASON_HTTP_SERVER_ERROR)
CLASSIFY_TEST(test_checker_504_is_unknown, 504, OK, "", NULL, UNKNOWN, CP_REASON_HTTP_SERVER_ERROR)
CLASSIFY_TEST(test_checker_100_is_unknown, 100, OK, "{\"state\":\"terminated\"}", JSON, UNKNOWN,
              CP_REASON_HTTP_STATUS_UNEXPECTED)
CLASSIFY_TEST(test_checker_101_is_unknown, 101, OK, "{\"state\":\"terminated\"}", JSON, UNKNOWN,
              CP_REASON_HTTP_STATUS_UNEXPECTED)
CLASSIFY_TEST(test_checker_600_is_unknown, 600, OK, "{\"state\":\"terminated\"}", JSON, UNKNOWN,
              CP_REASON_HTTP_STATUS_UNEXPECTED)
CLASSIFY_TEST(test_checker_199_is_unknown, 199, OK, "{\"state\":\"terminated\"}", JSON, UNKNOWN,
              CP_REASON_HTTP_STATUS_UNEXPECTED)
CLASSIFY_TEST(test_checker_300_is_unknown_redirect, 300, OK, "{\"state\":\"terminated\"}", JSON,
              UNKNOWN, CP_REASON_HTTP_REDIRECT)

/* ---- Content-Type ---------------------------------------------------------------------- */
CLASSIFY_TEST(test_checker_missing_content_type_is_unknown, 200, OK, "{\"state\":\"terminated\"}",
              NULL, UNKNOWN, CP_REASON_CONTENT_TYPE_MISSING)
CLASSIFY_TEST(test_checker_empty_content_type_is_unknown, 200, OK, "{\"state\":\"terminated\"}", "",
              UNKNOWN, CP_REASON_CONTENT_TYPE_MISSING)
CLASSIFY_TEST(test_checker_blank_content_type_is_unknown, 200, OK, "{\"state\":\"terminated\"}",
              "  \t ", UNKNOWN, CP_REASON_CONTENT_TYPE_MISSING)
CLASSIFY_TEST(test_checker_html_content_type_is_unknown, 200, OK, "{\"state\":\"terminated\"}",
              "text/html; charset=utf-8", UNKNOWN, CP_REASON_CONTENT_TYPE_NOT_JSON)
CLASSIFY_TEST(test_checker_text_plain_content_type_is_unknown, 200, OK,
              "{\"state\":\"terminated\"}", "text/plain", UNKNOWN, CP_REASON_CONTENT_TYPE_NOT_JSON)
CLASSIFY_TEST(test_checker_text_json_content_type_is_unknown, 200, OK, "{\"state\":\"terminated\"}",
              "text/json", UNKNOWN, CP_REASON_CONTENT_TYPE_NOT_JSON)
CLASSIFY_TEST(test_checker_xml_content_type_is_unknown, 200, OK, "{\"state\":\"terminated\"}",
              "application/xml", UNKNOWN, CP_REASON_CONTENT_TYPE_NOT_JSON)
CLASSIFY_TEST(test_checker_octet_stream_content_type_is_unknown, 200, OK,
              "{\"state\":\"terminated\"}", "application/octet-stream", UNKNOWN,
              CP_REASON_CONTENT_TYPE_NOT_JSON)
CLASSIFY_TEST(test_checker_jsonp_content_type_is_unknown, 200, OK, "{\"state\":\"terminated\"}",
              "application/jsonp", UNKNOWN, CP_REASON_CONTENT_TYPE_NOT_JSON)
CLASSIFY_TEST(test_checker_json_seq_content_type_is_unknown, 200, OK, "{\"state\":\"terminated\"}",
              "application/json-seq", UNKNOWN, CP_REASON_CONTENT_TYPE_NOT_JSON)
CLASSIFY_TEST(test_checker_bare_suffix_content_type_is_unknown, 200, OK,
              "{\"state\":\"terminated\"}", "application/+json", UNKNOWN,
              CP_REASON_CONTENT_TYPE_NOT_JSON)
CLASSIFY_TEST(test_checker_malformed_content_type_is_unknown, 200, OK, "{\"state\":\"terminated\"}",
              "application/json garbage", UNKNOWN, CP_REASON_CONTENT_TYPE_NOT_JSON)
CLASSIFY_TEST(test_checker_content_type_without_subtype_is_unknown, 200, OK,
              "{\"state\":\"terminated\"}", "application/", UNKNOWN,
              CP_REASON_CONTENT_TYPE_NOT_JSON)
CLASSIFY_TEST(test_checker_content_type_with_space_before_slash_is_unknown, 200, OK,
              "{\"state\":\"terminated\"}", "application /json", UNKNOWN,
              CP_REASON_CONTENT_TYPE_NOT_JSON)
CLASSIFY_TEST(test_checker_content_type_with_unterminated_quote_is_unknown, 200, OK,
              "{\"state\":\"terminated\"}", "application/json; charset=\"utf-8", UNKNOWN,
              CP_REASON_CONTENT_TYPE_NOT_JSON)
CLASSIFY_TEST(test_checker_content_type_case_is_ignored, 200, OK, "{\"state\":\"terminated\"}",
              "Application/JSON", NOT_RUNNING, CP_REASON_STATE_NOT_RUNNING)
CLASSIFY_TEST(test_checker_content_type_with_utf8_charset_is_json, 200, OK,
              "{\"state\":\"terminated\"}", "application/json; charset=utf-8", NOT_RUNNING,
              CP_REASON_STATE_NOT_RUNNING)
CLASSIFY_TEST(test_checker_content_type_with_quoted_uppercase_charset_is_json, 200, OK,
              "{\"state\":\"terminated\"}", "application/json;charset=\"UTF-8\"", NOT_RUNNING,
              CP_REASON_STATE_NOT_RUNNING)
CLASSIFY_TEST(test_checker_content_type_with_other_parameters_is_json, 200, OK,
              "{\"state\":\"running\"}", " application/json ; version=2 ;; q=1 ", RUNNING,
              CP_REASON_STATE_RUNNING)
CLASSIFY_TEST(test_checker_structured_json_suffix_is_json, 200, OK, "{\"state\":\"terminated\"}",
              "application/vnd.cp.status+json", NOT_RUNNING, CP_REASON_STATE_NOT_RUNNING)
CLASSIFY_TEST(test_checker_latin1_charset_is_unknown, 200, OK, "{\"state\":\"terminated\"}",
              "application/json; charset=iso-8859-1", UNKNOWN, CP_REASON_CONTENT_TYPE_BAD_CHARSET)
CLASSIFY_TEST(test_checker_utf16_charset_is_unknown, 200, OK, "{\"state\":\"terminated\"}",
              "application/json; charset=utf-16", UNKNOWN, CP_REASON_CONTENT_TYPE_BAD_CHARSET)
CLASSIFY_TEST(test_checker_two_charsets_are_unknown, 200, OK, "{\"state\":\"terminated\"}",
              "application/json; charset=utf-8; charset=utf-8", UNKNOWN,
              CP_REASON_CONTENT_TYPE_BAD_CHARSET)

/* ---- body size and shape --------------------------------------------------------------- */
CLASSIFY_TEST(test_checker_empty_body_is_unknown, 200, OK, "", JSON, UNKNOWN, CP_REASON_BODY_EMPTY)
CLASSIFY_TEST(test_checker_204_without_body_is_unknown, 204, OK, "", JSON, UNKNOWN,
              CP_REASON_BODY_EMPTY)
CLASSIFY_TEST(test_checker_whitespace_only_body_is_unknown, 200, OK, "  \n ", JSON, UNKNOWN,
              CP_REASON_BODY_NOT_JSON)
CLASSIFY_TEST(test_checker_plain_text_body_is_unknown, 200, OK, "terminated", JSON, UNKNOWN,
              CP_REASON_BODY_NOT_JSON)
CLASSIFY_TEST(test_checker_html_body_is_unknown, 200, OK, "<html><body>terminated</body></html>",
              JSON, UNKNOWN, CP_REASON_BODY_NOT_JSON)
CLASSIFY_TEST(test_checker_form_encoded_body_is_unknown, 200, OK, "state=terminated", JSON, UNKNOWN,
              CP_REASON_BODY_NOT_JSON)
CLASSIFY_TEST(test_checker_unquoted_keys_are_unknown, 200, OK, "{state: \"terminated\"}", JSON,
              UNKNOWN, CP_REASON_BODY_NOT_JSON)
CLASSIFY_TEST(test_checker_single_quotes_are_unknown, 200, OK, "{'state':'terminated'}", JSON,
              UNKNOWN, CP_REASON_BODY_NOT_JSON)
CLASSIFY_TEST(test_checker_truncated_object_is_unknown, 200, OK, "{\"state\":\"terminated\"", JSON,
              UNKNOWN, CP_REASON_BODY_NOT_JSON)
CLASSIFY_TEST(test_checker_trailing_comma_is_unknown, 200, OK, "{\"state\":\"terminated\",}", JSON,
              UNKNOWN, CP_REASON_BODY_NOT_JSON)
CLASSIFY_TEST(test_checker_comment_in_body_is_unknown, 200, OK,
              "{\"state\":\"terminated\" /* really */}", JSON, UNKNOWN, CP_REASON_BODY_NOT_JSON)
CLASSIFY_TEST(test_checker_byte_order_mark_is_unknown, 200, OK,
              "\xEF\xBB\xBF{\"state\":\"terminated\"}", JSON, UNKNOWN, CP_REASON_BODY_NOT_JSON)
CLASSIFY_TEST(test_checker_huge_number_is_unknown, 200, OK,
              "{\"state\":\"terminated\",\"size\":1e999}", JSON, UNKNOWN, CP_REASON_BODY_NOT_JSON)
CLASSIFY_TEST(test_checker_array_body_is_unknown, 200, OK, "[{\"state\":\"terminated\"}]", JSON,
              UNKNOWN, CP_REASON_BODY_NOT_OBJECT)
CLASSIFY_TEST(test_checker_string_body_is_unknown, 200, OK, "\"terminated\"", JSON, UNKNOWN,
              CP_REASON_BODY_NOT_OBJECT)
CLASSIFY_TEST(test_checker_number_body_is_unknown, 200, OK, "0", JSON, UNKNOWN,
              CP_REASON_BODY_NOT_OBJECT)
CLASSIFY_TEST(test_checker_boolean_body_is_unknown, 200, OK, "false", JSON, UNKNOWN,
              CP_REASON_BODY_NOT_OBJECT)
CLASSIFY_TEST(test_checker_null_body_is_unknown, 200, OK, "null", JSON, UNKNOWN,
              CP_REASON_BODY_NOT_OBJECT)
CLASSIFY_TEST(test_checker_two_objects_are_unknown, 200, OK,
              "{\"state\":\"terminated\"}{\"state\":\"terminated\"}", JSON, UNKNOWN,
              CP_REASON_BODY_TRAILING_DATA)
CLASSIFY_TEST(test_checker_two_objects_on_lines_are_unknown, 200, OK,
              "{\"state\":\"terminated\"}\n{\"state\":\"running\"}\n", JSON, UNKNOWN,
              CP_REASON_BODY_TRAILING_DATA)
CLASSIFY_TEST(test_checker_trailing_garbage_is_unknown, 200, OK, "{\"state\":\"terminated\"} x",
              JSON, UNKNOWN, CP_REASON_BODY_TRAILING_DATA)
CLASSIFY_TEST(test_checker_trailing_comma_after_object_is_unknown, 200, OK,
              "{\"state\":\"terminated\"},", JSON, UNKNOWN, CP_REASON_BODY_TRAILING_DATA)
CLASSIFY_TEST(test_checker_raw_nul_byte_is_unknown, 200, OK, "{\"state\":\"terminated\"}\0", JSON,
              UNKNOWN, CP_REASON_BODY_CONTAINS_NUL)
CLASSIFY_TEST(test_checker_nul_inside_state_is_unknown, 200, OK, "{\"state\":\"terminated\0\"}",
              JSON, UNKNOWN, CP_REASON_BODY_CONTAINS_NUL)
CLASSIFY_TEST(test_checker_escaped_nul_in_state_is_unknown, 200, OK,
              "{\"state\":\"terminated\\u0000\"}", JSON, UNKNOWN, CP_REASON_BODY_CONTAINS_NUL)
CLASSIFY_TEST(test_checker_escaped_nul_in_key_is_unknown, 200, OK,
              "{\"state\\u0000\":\"running\",\"state\":\"terminated\"}", JSON, UNKNOWN,
              CP_REASON_BODY_CONTAINS_NUL)
CLASSIFY_TEST(test_checker_invalid_utf8_is_unknown, 200, OK,
              "{\"state\":\"terminated\",\"note\":\"\xff\xfe\"}", JSON, UNKNOWN,
              CP_REASON_BODY_INVALID_UTF8)
CLASSIFY_TEST(test_checker_overlong_utf8_is_unknown, 200, OK,
              "{\"state\":\"terminated\",\"note\":\"\xc0\xaf\"}", JSON, UNKNOWN,
              CP_REASON_BODY_INVALID_UTF8)

/* ---- duplicate keys -------------------------------------------------------------------- */
CLASSIFY_TEST(test_checker_duplicate_state_keys_is_unknown, 200, OK,
              "{\"state\":\"running\",\"state\":\"terminated\"}", JSON, UNKNOWN,
              CP_REASON_DUPLICATE_KEYS)
CLASSIFY_TEST(test_checker_duplicate_state_keys_with_same_value_is_unknown, 200, OK,
              "{\"state\":\"terminated\",\"state\":\"terminated\"}", JSON, UNKNOWN,
              CP_REASON_DUPLICATE_KEYS)
CLASSIFY_TEST(test_checker_duplicate_other_keys_is_unknown, 200, OK,
              "{\"id\":1,\"id\":2,\"state\":\"terminated\"}", JSON, UNKNOWN,
              CP_REASON_DUPLICATE_KEYS)
CLASSIFY_TEST(test_checker_duplicate_keys_in_nested_object_is_unknown, 200, OK,
              "{\"state\":\"terminated\",\"meta\":{\"a\":1,\"a\":2}}", JSON, UNKNOWN,
              CP_REASON_DUPLICATE_KEYS)
/* Escapes are decoded before keys are compared: "st\u0061te" is "state". */
CLASSIFY_TEST(test_checker_escaped_duplicate_state_key_is_unknown, 200, OK,
              "{\"state\":\"running\",\"st\\u0061te\":\"terminated\"}", JSON, UNKNOWN,
              CP_REASON_DUPLICATE_KEYS)

/* ---- the state member ------------------------------------------------------------------ */
CLASSIFY_TEST(test_checker_empty_object_is_unknown, 200, OK, "{}", JSON, UNKNOWN,
              CP_REASON_STATE_MISSING)
CLASSIFY_TEST(test_checker_status_key_instead_of_state_is_unknown, 200, OK,
              "{\"status\":\"terminated\"}", JSON, UNKNOWN, CP_REASON_STATE_MISSING)
CLASSIFY_TEST(test_checker_capitalised_state_key_is_unknown, 200, OK, "{\"State\":\"terminated\"}",
              JSON, UNKNOWN, CP_REASON_STATE_MISSING)
CLASSIFY_TEST(test_checker_uppercase_state_key_is_unknown, 200, OK, "{\"STATE\":\"terminated\"}",
              JSON, UNKNOWN, CP_REASON_STATE_MISSING)
CLASSIFY_TEST(test_checker_state_key_with_space_is_unknown, 200, OK, "{\"state \":\"terminated\"}",
              JSON, UNKNOWN, CP_REASON_STATE_MISSING)
CLASSIFY_TEST(test_checker_nested_state_only_is_unknown, 200, OK,
              "{\"instance\":{\"state\":\"terminated\"}}", JSON, UNKNOWN, CP_REASON_STATE_MISSING)
CLASSIFY_TEST(test_checker_null_state_is_unknown, 200, OK, "{\"state\":null}", JSON, UNKNOWN,
              CP_REASON_STATE_NULL)
CLASSIFY_TEST(test_checker_empty_state_is_unknown, 200, OK, "{\"state\":\"\"}", JSON, UNKNOWN,
              CP_REASON_STATE_EMPTY)
CLASSIFY_TEST(test_checker_numeric_state_is_unknown, 200, OK, "{\"state\":0}", JSON, UNKNOWN,
              CP_REASON_STATE_NOT_STRING)
CLASSIFY_TEST(test_checker_real_state_is_unknown, 200, OK, "{\"state\":1.5}", JSON, UNKNOWN,
              CP_REASON_STATE_NOT_STRING)
CLASSIFY_TEST(test_checker_true_state_is_unknown, 200, OK, "{\"state\":true}", JSON, UNKNOWN,
              CP_REASON_STATE_NOT_STRING)
CLASSIFY_TEST(test_checker_false_state_is_unknown, 200, OK, "{\"state\":false}", JSON, UNKNOWN,
              CP_REASON_STATE_NOT_STRING)
CLASSIFY_TEST(test_checker_array_state_is_unknown, 200, OK, "{\"state\":[\"terminated\"]}", JSON,
              UNKNOWN, CP_REASON_STATE_NOT_STRING)
CLASSIFY_TEST(test_checker_empty_array_state_is_unknown, 200, OK, "{\"state\":[]}", JSON, UNKNOWN,
              CP_REASON_STATE_NOT_STRING)
CLASSIFY_TEST(test_checker_object_state_is_unknown, 200, OK,
              "{\"state\":{\"name\":\"terminated\"}}", JSON, UNKNOWN, CP_REASON_STATE_NOT_STRING)
CLASSIFY_TEST(test_checker_pending_state_is_unknown, 200, OK, "{\"state\":\"pending\"}", JSON,
              UNKNOWN, CP_REASON_STATE_UNRECOGNIZED)
CLASSIFY_TEST(test_checker_capitalised_running_is_unknown, 200, OK, "{\"state\":\"Running\"}", JSON,
              UNKNOWN, CP_REASON_STATE_UNRECOGNIZED)
CLASSIFY_TEST(test_checker_uppercase_running_is_unknown, 200, OK, "{\"state\":\"RUNNING\"}", JSON,
              UNKNOWN, CP_REASON_STATE_UNRECOGNIZED)
CLASSIFY_TEST(test_checker_capitalised_terminated_is_unknown, 200, OK, "{\"state\":\"Terminated\"}",
              JSON, UNKNOWN, CP_REASON_STATE_UNRECOGNIZED)
CLASSIFY_TEST(test_checker_uppercase_stopped_is_unknown, 200, OK, "{\"state\":\"STOPPED\"}", JSON,
              UNKNOWN, CP_REASON_STATE_UNRECOGNIZED)
CLASSIFY_TEST(test_checker_leading_space_in_state_is_unknown, 200, OK,
              "{\"state\":\" terminated\"}", JSON, UNKNOWN, CP_REASON_STATE_UNRECOGNIZED)
CLASSIFY_TEST(test_checker_trailing_space_in_state_is_unknown, 200, OK,
              "{\"state\":\"terminated \"}", JSON, UNKNOWN, CP_REASON_STATE_UNRECOGNIZED)
CLASSIFY_TEST(test_checker_trailing_newline_in_state_is_unknown, 200, OK,
              "{\"state\":\"terminated\\n\"}", JSON, UNKNOWN, CP_REASON_STATE_UNRECOGNIZED)
CLASSIFY_TEST(test_checker_tab_before_running_is_unknown, 200, OK, "{\"state\":\"\\trunning\"}",
              JSON, UNKNOWN, CP_REASON_STATE_UNRECOGNIZED)
CLASSIFY_TEST(test_checker_underscore_variant_is_unknown, 200, OK, "{\"state\":\"shutting_down\"}",
              JSON, UNKNOWN, CP_REASON_STATE_UNRECOGNIZED)
CLASSIFY_TEST(test_checker_list_of_states_in_one_string_is_unknown, 200, OK,
              "{\"state\":\"terminated,stopped\"}", JSON, UNKNOWN, CP_REASON_STATE_UNRECOGNIZED)
CLASSIFY_TEST(test_checker_lookalike_unicode_state_is_unknown, 200, OK,
              "{\"state\":\"termin\xc9\x91ted\"}", JSON, UNKNOWN, CP_REASON_STATE_UNRECOGNIZED)
CLASSIFY_TEST(test_checker_unknown_word_state_is_unknown, 200, OK, "{\"state\":\"unknown\"}", JSON,
              UNKNOWN, CP_REASON_STATE_UNRECOGNIZED)

/* ---- tests with built inputs or extra assertions --------------------------------------- */

/* A body of exactly `size` bytes: {"state":"terminated"} padded with spaces inside the
 * object, so it is valid JSON at any size. */
static char *padded_body(size_t size)
{
    static const char head[] = "{\"state\":\"terminated\"";
    char *body = malloc(size);
    ck_assert_ptr_nonnull(body);
    memcpy(body, head, strlen(head));
    memset(body + strlen(head), ' ', size - strlen(head) - 1);
    body[size - 1] = '}';
    return body;
}

START_TEST(test_checker_body_of_64_kib_is_accepted)
{
    char *body = padded_body(HTTP_CLIENT_BODY_LIMIT);
    expect(classify(200, OK, body, HTTP_CLIENT_BODY_LIMIT, JSON), NOT_RUNNING,
           CP_REASON_STATE_NOT_RUNNING, __LINE__);
    free(body);
}
END_TEST

START_TEST(test_checker_body_of_64_kib_plus_one_is_unknown)
{
    char *body = padded_body(HTTP_CLIENT_BODY_LIMIT + 1);
    expect(classify(200, OK, body, HTTP_CLIENT_BODY_LIMIT + 1, JSON), UNKNOWN,
           CP_REASON_BODY_TOO_LARGE, __LINE__);
    free(body);
}
END_TEST

START_TEST(test_checker_null_body_pointer_is_empty)
{
    expect(classify(200, OK, NULL, 0, JSON), UNKNOWN, CP_REASON_BODY_EMPTY, __LINE__);
}
END_TEST

START_TEST(test_checker_deep_nesting_is_unknown)
{
    /* {"state":"terminated","x": followed by 5000 '[' — beyond jansson's depth limit. */
    size_t depth = 5000;
    static const char head[] = "{\"state\":\"terminated\",\"x\":";
    size_t size = strlen(head) + 2 * depth + 1;
    char *body = malloc(size);
    ck_assert_ptr_nonnull(body);
    memcpy(body, head, strlen(head));
    memset(body + strlen(head), '[', depth);
    memset(body + strlen(head) + depth, ']', depth);
    body[size - 1] = '}';
    expect(classify(200, OK, body, size, JSON), UNKNOWN, CP_REASON_BODY_NOT_JSON, __LINE__);
    free(body);
}
END_TEST

START_TEST(test_checker_running_reports_cp_state)
{
    static const char body[] = "{\"state\":\"running\"}";
    cp_classification result = classify(200, OK, body, strlen(body), JSON);
    ck_assert(result.has_cp_state);
    ck_assert_str_eq(result.cp_state, "running");
}
END_TEST

START_TEST(test_checker_unrecognized_state_is_reported_in_cp_state)
{
    static const char body[] = "{\"state\":\"pending\"}";
    cp_classification result = classify(200, OK, body, strlen(body), JSON);
    ck_assert(result.has_cp_state);
    ck_assert_str_eq(result.cp_state, "pending");
}
END_TEST

START_TEST(test_checker_state_of_64_characters_is_reported)
{
    char body[128];
    char state[CP_STATE_MAX_LENGTH + 1];
    memset(state, 'a', CP_STATE_MAX_LENGTH);
    state[CP_STATE_MAX_LENGTH] = '\0';
    snprintf(body, sizeof body, "{\"state\":\"%s\"}", state);
    cp_classification result = classify(200, OK, body, strlen(body), JSON);
    ck_assert_int_eq(result.reason, CP_REASON_STATE_UNRECOGNIZED);
    ck_assert(result.has_cp_state);
    ck_assert_str_eq(result.cp_state, state);
}
END_TEST

START_TEST(test_checker_state_over_64_characters_is_not_reported)
{
    char body[128];
    char state[CP_STATE_MAX_LENGTH + 2];
    memset(state, 'a', CP_STATE_MAX_LENGTH + 1);
    state[CP_STATE_MAX_LENGTH + 1] = '\0';
    snprintf(body, sizeof body, "{\"state\":\"%s\"}", state);
    cp_classification result = classify(200, OK, body, strlen(body), JSON);
    ck_assert_int_eq(result.liveness, UNKNOWN);
    ck_assert_int_eq(result.reason, CP_REASON_STATE_UNRECOGNIZED);
    ck_assert(!result.has_cp_state);
}
END_TEST

START_TEST(test_checker_state_with_control_characters_is_not_reported)
{
    static const char body[] = "{\"state\":\"running\\u001b[31m\"}";
    cp_classification result = classify(200, OK, body, strlen(body), JSON);
    ck_assert_int_eq(result.reason, CP_REASON_STATE_UNRECOGNIZED);
    ck_assert(!result.has_cp_state);
}
END_TEST

START_TEST(test_checker_non_ascii_state_is_not_reported)
{
    static const char body[] = "{\"state\":\"termin\xc9\x91ted\"}";
    cp_classification result = classify(200, OK, body, strlen(body), JSON);
    ck_assert(!result.has_cp_state);
}
END_TEST

START_TEST(test_checker_unknown_answers_carry_no_cp_state_without_a_state)
{
    static const char body[] = "{\"state\":\"terminated\"}";
    cp_classification result = classify(500, OK, body, strlen(body), JSON);
    ck_assert(!result.has_cp_state);
    result = classify(200, HTTP_CLIENT_ERROR_TIMEOUT, body, strlen(body), JSON);
    ck_assert(!result.has_cp_state);
}
END_TEST

START_TEST(test_checker_reason_never_echoes_the_body)
{
    static const char body[] = "{\"error\":\"Bearer s3cr3t-token\",\"state\":\"s3cr3t-token\"}";
    static const long statuses[] = {200, 401, 500};
    for (size_t index = 0; index < sizeof statuses / sizeof statuses[0]; index++) {
        cp_classification result = classify(statuses[index], OK, body, strlen(body), JSON);
        ck_assert_ptr_null(strstr(cp_reason_name(result.reason), "s3cr3t"));
        ck_assert_int_eq(result.liveness, UNKNOWN);
    }
}
END_TEST

START_TEST(test_checker_configured_state_is_not_running)
{
    cp_not_running_states states;
    char error[256];
    ck_assert(cp_not_running_states_parse("gone, reaped", &states, error, sizeof error));
    static const char gone[] = "{\"state\":\"gone\"}";
    cp_classification result = cp_classify(200, OK, gone, strlen(gone), JSON, &states);
    ck_assert_int_eq(result.liveness, NOT_RUNNING);
    /* Replacing the list removes the defaults. */
    static const char terminated[] = "{\"state\":\"terminated\"}";
    result = cp_classify(200, OK, terminated, strlen(terminated), JSON, &states);
    ck_assert_int_eq(result.liveness, UNKNOWN);
    ck_assert_int_eq(result.reason, CP_REASON_STATE_UNRECOGNIZED);
}
END_TEST

START_TEST(test_checker_no_configured_states_means_nothing_is_not_running)
{
    static const char body[] = "{\"state\":\"terminated\"}";
    cp_classification result = cp_classify(200, OK, body, strlen(body), JSON, NULL);
    ck_assert_int_eq(result.liveness, UNKNOWN);
    static const char running[] = "{\"state\":\"running\"}";
    result = cp_classify(200, OK, running, strlen(running), JSON, NULL);
    ck_assert_int_eq(result.liveness, RUNNING);
}
END_TEST

START_TEST(test_checker_body_need_not_be_nul_terminated)
{
    /* The classifier must read exactly body_length bytes: here the byte after the object is
     * garbage that would make it trailing data if it were read. */
    char body[] = "{\"state\":\"terminated\"}XXXX";
    cp_classification result = classify(200, OK, body, strlen("{\"state\":\"terminated\"}"), JSON);
    ck_assert_int_eq(result.liveness, NOT_RUNNING);
}
END_TEST

START_TEST(test_checker_every_reason_has_a_distinct_snake_case_name)
{
    for (int first = 0; first < CP_REASON_COUNT; first++) {
        const char *name = cp_reason_name((cp_reason)first);
        ck_assert_str_ne(name, "invalid");
        for (const char *cursor = name; *cursor != '\0'; cursor++)
            ck_assert_msg((*cursor >= 'a' && *cursor <= 'z') ||
                              (*cursor >= '0' && *cursor <= '9') || *cursor == '_',
                          "%s", name);
        for (int second = first + 1; second < CP_REASON_COUNT; second++)
            ck_assert_str_ne(name, cp_reason_name((cp_reason)second));
    }
    ck_assert_str_eq(cp_reason_name(CP_REASON_COUNT), "invalid");
    ck_assert_str_eq(cp_reason_name((cp_reason)-1), "invalid");
}
END_TEST

START_TEST(test_checker_only_state_reasons_are_definite)
{
    /* Exhaustive over the transport errors and a sweep of statuses: nothing but a 2xx with a
     * good body may be definite. */
    static const char body[] = "{\"state\":\"terminated\"}";
    for (int error = HTTP_CLIENT_OK; error <= HTTP_CLIENT_ERROR_INTERNAL; error++) {
        for (long status = -1; status <= 1000; status++) {
            cp_classification result =
                classify(status, (http_client_error)error, body, strlen(body), JSON);
            bool may_be_definite = error == HTTP_CLIENT_OK && status >= 200 && status <= 299;
            if (!may_be_definite)
                ck_assert_msg(result.liveness == UNKNOWN, "status %ld error %d", status, error);
            else
                ck_assert_int_eq(result.liveness, NOT_RUNNING);
        }
    }
}
END_TEST

/* ---- configured not-running states ----------------------------------------------------- */

START_TEST(test_checker_default_not_running_states_parse)
{
    cp_not_running_states states = default_states();
    ck_assert_int_eq(states.count, 4);
    ck_assert_str_eq(states.states[0], "terminated");
    ck_assert_str_eq(states.states[3], "shutting-down");
}
END_TEST

START_TEST(test_checker_not_running_states_trim_whitespace)
{
    cp_not_running_states states;
    char error[256];
    ck_assert(
        cp_not_running_states_parse(" terminated ,\tstopped\t", &states, error, sizeof error));
    ck_assert_int_eq(states.count, 2);
    ck_assert(cp_not_running_states_contains(&states, "stopped", 7));
    ck_assert(!cp_not_running_states_contains(&states, " stopped", 8));
}
END_TEST

START_TEST(test_checker_not_running_states_reject_bad_lists)
{
    static const char *const bad[] = {
        "",
        ",",
        "terminated,",
        "terminated,,stopped",
        "running",
        "stopped,running",
        "stopped,stopped",
        "shutting down",
        "stopped\x01",
        "caf\xc3\xa9",
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad[0]; index++) {
        cp_not_running_states states;
        char error[256] = "";
        ck_assert_msg(!cp_not_running_states_parse(bad[index], &states, error, sizeof error),
                      "accepted '%s'", bad[index]);
        ck_assert_str_ne(error, "");
    }
}
END_TEST

START_TEST(test_checker_not_running_states_reject_too_long_or_too_many)
{
    cp_not_running_states states;
    char error[256];
    char text[4096];
    memset(text, 'a', CP_STATE_MAX_LENGTH + 1);
    text[CP_STATE_MAX_LENGTH + 1] = '\0';
    ck_assert(!cp_not_running_states_parse(text, &states, error, sizeof error));
    size_t used = 0;
    for (int index = 0; index < CP_NOT_RUNNING_STATES_MAX + 1; index++)
        used += (size_t)snprintf(text + used, sizeof text - used, "%ss%d", index ? "," : "", index);
    ck_assert(!cp_not_running_states_parse(text, &states, error, sizeof error));
}
END_TEST

START_TEST(test_checker_content_type_helper_names_the_reason)
{
    cp_reason reason = CP_REASON_COUNT;
    ck_assert(cp_content_type_is_json("application/json", &reason));
    ck_assert(!cp_content_type_is_json(NULL, &reason));
    ck_assert_int_eq(reason, CP_REASON_CONTENT_TYPE_MISSING);
    ck_assert(!cp_content_type_is_json("text/html", &reason));
    ck_assert_int_eq(reason, CP_REASON_CONTENT_TYPE_NOT_JSON);
    ck_assert(!cp_content_type_is_json("application/json; charset=latin1", &reason));
    ck_assert_int_eq(reason, CP_REASON_CONTENT_TYPE_BAD_CHARSET);
    ck_assert(cp_content_type_is_json("application/json; charset=us-ascii", &reason));
    ck_assert(cp_content_type_is_json("application/json; charset=\"u\\tf-8\"", &reason));
}
END_TEST

int main(void)
{
    const TTest *tests[] = {
        test_checker_running_state_is_running,
        test_checker_terminated_is_not_running,
        test_checker_stopped_is_not_running,
        test_checker_stopping_is_not_running,
        test_checker_shutting_down_is_not_running,
        test_checker_status_201_counts_as_2xx,
        test_checker_status_299_counts_as_2xx,
        test_checker_other_members_are_ignored,
        test_checker_whitespace_around_the_object_is_allowed,
        test_checker_escaped_state_is_decoded_before_comparing,
        test_checker_timeout_is_unknown,
        test_checker_connect_failure_is_unknown,
        test_checker_dns_failure_is_unknown,
        test_checker_tls_failure_is_unknown,
        test_checker_protocol_error_is_unknown,
        test_checker_internal_error_is_unknown,
        test_checker_timeout_after_a_terminated_body_is_unknown,
        test_checker_body_too_large_from_client_is_unknown,
        test_checker_no_status_without_error_is_unknown,
        test_checker_negative_status_is_unknown,
        test_checker_301_is_unknown_redirect,
        test_checker_302_is_unknown_redirect,
        test_checker_304_is_unknown_redirect,
        test_checker_307_is_unknown_redirect,
        test_checker_308_is_unknown_redirect,
        test_checker_400_is_unknown,
        test_checker_401_is_unknown,
        test_checker_403_is_unknown,
        test_checker_404_with_terminated_body_is_unknown,
        test_checker_410_gone_is_unknown,
        test_checker_429_is_unknown,
        test_checker_500_is_unknown,
        test_checker_502_html_is_unknown,
        test_checker_503_is_unknown,
        test_checker_504_is_unknown,
        test_checker_100_is_unknown,
        test_checker_101_is_unknown,
        test_checker_600_is_unknown,
        test_checker_199_is_unknown,
        test_checker_300_is_unknown_redirect,
        test_checker_missing_content_type_is_unknown,
        test_checker_empty_content_type_is_unknown,
        test_checker_blank_content_type_is_unknown,
        test_checker_html_content_type_is_unknown,
        test_checker_text_plain_content_type_is_unknown,
        test_checker_text_json_content_type_is_unknown,
        test_checker_xml_content_type_is_unknown,
        test_checker_octet_stream_content_type_is_unknown,
        test_checker_jsonp_content_type_is_unknown,
        test_checker_json_seq_content_type_is_unknown,
        test_checker_bare_suffix_content_type_is_unknown,
        test_checker_malformed_content_type_is_unknown,
        test_checker_content_type_without_subtype_is_unknown,
        test_checker_content_type_with_space_before_slash_is_unknown,
        test_checker_content_type_with_unterminated_quote_is_unknown,
        test_checker_content_type_case_is_ignored,
        test_checker_content_type_with_utf8_charset_is_json,
        test_checker_content_type_with_quoted_uppercase_charset_is_json,
        test_checker_content_type_with_other_parameters_is_json,
        test_checker_structured_json_suffix_is_json,
        test_checker_latin1_charset_is_unknown,
        test_checker_utf16_charset_is_unknown,
        test_checker_two_charsets_are_unknown,
        test_checker_empty_body_is_unknown,
        test_checker_204_without_body_is_unknown,
        test_checker_whitespace_only_body_is_unknown,
        test_checker_plain_text_body_is_unknown,
        test_checker_html_body_is_unknown,
        test_checker_form_encoded_body_is_unknown,
        test_checker_unquoted_keys_are_unknown,
        test_checker_single_quotes_are_unknown,
        test_checker_truncated_object_is_unknown,
        test_checker_trailing_comma_is_unknown,
        test_checker_comment_in_body_is_unknown,
        test_checker_byte_order_mark_is_unknown,
        test_checker_huge_number_is_unknown,
        test_checker_array_body_is_unknown,
        test_checker_string_body_is_unknown,
        test_checker_number_body_is_unknown,
        test_checker_boolean_body_is_unknown,
        test_checker_null_body_is_unknown,
        test_checker_two_objects_are_unknown,
        test_checker_two_objects_on_lines_are_unknown,
        test_checker_trailing_garbage_is_unknown,
        test_checker_trailing_comma_after_object_is_unknown,
        test_checker_raw_nul_byte_is_unknown,
        test_checker_nul_inside_state_is_unknown,
        test_checker_escaped_nul_in_state_is_unknown,
        test_checker_escaped_nul_in_key_is_unknown,
        test_checker_invalid_utf8_is_unknown,
        test_checker_overlong_utf8_is_unknown,
        test_checker_duplicate_state_keys_is_unknown,
        test_checker_duplicate_state_keys_with_same_value_is_unknown,
        test_checker_duplicate_other_keys_is_unknown,
        test_checker_duplicate_keys_in_nested_object_is_unknown,
        test_checker_escaped_duplicate_state_key_is_unknown,
        test_checker_empty_object_is_unknown,
        test_checker_status_key_instead_of_state_is_unknown,
        test_checker_capitalised_state_key_is_unknown,
        test_checker_uppercase_state_key_is_unknown,
        test_checker_state_key_with_space_is_unknown,
        test_checker_nested_state_only_is_unknown,
        test_checker_null_state_is_unknown,
        test_checker_empty_state_is_unknown,
        test_checker_numeric_state_is_unknown,
        test_checker_real_state_is_unknown,
        test_checker_true_state_is_unknown,
        test_checker_false_state_is_unknown,
        test_checker_array_state_is_unknown,
        test_checker_empty_array_state_is_unknown,
        test_checker_object_state_is_unknown,
        test_checker_pending_state_is_unknown,
        test_checker_capitalised_running_is_unknown,
        test_checker_uppercase_running_is_unknown,
        test_checker_capitalised_terminated_is_unknown,
        test_checker_uppercase_stopped_is_unknown,
        test_checker_leading_space_in_state_is_unknown,
        test_checker_trailing_space_in_state_is_unknown,
        test_checker_trailing_newline_in_state_is_unknown,
        test_checker_tab_before_running_is_unknown,
        test_checker_underscore_variant_is_unknown,
        test_checker_list_of_states_in_one_string_is_unknown,
        test_checker_lookalike_unicode_state_is_unknown,
        test_checker_unknown_word_state_is_unknown,
        test_checker_body_of_64_kib_is_accepted,
        test_checker_body_of_64_kib_plus_one_is_unknown,
        test_checker_null_body_pointer_is_empty,
        test_checker_deep_nesting_is_unknown,
        test_checker_running_reports_cp_state,
        test_checker_unrecognized_state_is_reported_in_cp_state,
        test_checker_state_of_64_characters_is_reported,
        test_checker_state_over_64_characters_is_not_reported,
        test_checker_state_with_control_characters_is_not_reported,
        test_checker_non_ascii_state_is_not_reported,
        test_checker_unknown_answers_carry_no_cp_state_without_a_state,
        test_checker_reason_never_echoes_the_body,
        test_checker_configured_state_is_not_running,
        test_checker_no_configured_states_means_nothing_is_not_running,
        test_checker_body_need_not_be_nul_terminated,
        test_checker_every_reason_has_a_distinct_snake_case_name,
        test_checker_only_state_reasons_are_definite,
        test_checker_default_not_running_states_parse,
        test_checker_not_running_states_trim_whitespace,
        test_checker_not_running_states_reject_bad_lists,
        test_checker_not_running_states_reject_too_long_or_too_many,
        test_checker_content_type_helper_names_the_reason,
    };
    Suite *suite = suite_create("checker_classify");
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
