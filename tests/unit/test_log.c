/* test_log.c — the JSON-lines log: shape, escaping, levels, and one write per line.
 *
 * Each test points stderr at a pipe, logs, restores stderr and parses what came through. */
#include "log.h"

#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    int read_fd;
    int saved_stderr;
    char *text;
    size_t length;
} stderr_capture;

static void *drain_pipe(void *context)
{
    stderr_capture *capture = context;
    size_t capacity = 0;
    char chunk[4096];
    for (;;) {
        ssize_t got = read(capture->read_fd, chunk, sizeof chunk);
        if (got <= 0) {
            break;
        }
        if (capture->length + (size_t)got + 1 > capacity) {
            capacity = (capture->length + (size_t)got + 1) * 2;
            capture->text = realloc(capture->text, capacity);
            ck_assert_ptr_nonnull(capture->text);
        }
        memcpy(capture->text + capture->length, chunk, (size_t)got);
        capture->length += (size_t)got;
        capture->text[capture->length] = '\0';
    }
    return NULL;
}

static pthread_t capture_thread;

/* Starts capturing stderr; a reader thread drains the pipe so writers never block on it. */
static void capture_begin(stderr_capture *capture)
{
    memset(capture, 0, sizeof *capture);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    capture->read_fd = fds[0];
    capture->saved_stderr = dup(STDERR_FILENO);
    ck_assert_int_ge(capture->saved_stderr, 0);
    ck_assert_int_ge(dup2(fds[1], STDERR_FILENO), 0);
    close(fds[1]);
    ck_assert_int_eq(pthread_create(&capture_thread, NULL, drain_pipe, capture), 0);
}

/* Restores stderr and returns everything written meanwhile ("" if nothing). */
static const char *capture_end(stderr_capture *capture)
{
    dup2(capture->saved_stderr, STDERR_FILENO); /* closes the pipe's last write end */
    close(capture->saved_stderr);
    pthread_join(capture_thread, NULL);
    close(capture->read_fd);
    if (capture->text == NULL) {
        capture->text = calloc(1, 1);
    }
    return capture->text;
}

static size_t count_newlines(const char *text)
{
    size_t count = 0;
    for (; *text != '\0'; text++) {
        count += *text == '\n';
    }
    return count;
}

/* Parses exactly one line ending in '\n' into a JSON object. */
static json_t *parse_single_line(const char *text)
{
    ck_assert_uint_eq(count_newlines(text), 1);
    ck_assert(text[strlen(text) - 1] == '\n');
    json_error_t error;
    json_t *line = json_loads(text, JSON_REJECT_DUPLICATES, &error);
    ck_assert_msg(line != NULL, "not JSON: %s (%s)", text, error.text);
    ck_assert(json_is_object(line));
    return line;
}

START_TEST(test_log_line_has_ts_level_program_msg_and_fields)
{
    log_init("checker", LOG_LEVEL_INFO);
    stderr_capture capture;
    capture_begin(&capture);
    log_info("sweep done", "{s:s, s:I, s:b}", "sweep_id", "abc", "rows", (json_int_t)42, "dry_run",
             1);
    json_t *line = parse_single_line(capture_end(&capture));

    ck_assert_str_eq(json_string_value(json_object_get(line, "level")), "info");
    ck_assert_str_eq(json_string_value(json_object_get(line, "program")), "checker");
    ck_assert_str_eq(json_string_value(json_object_get(line, "msg")), "sweep done");
    ck_assert_str_eq(json_string_value(json_object_get(line, "sweep_id")), "abc");
    ck_assert_int_eq(json_integer_value(json_object_get(line, "rows")), 42);
    ck_assert(json_is_true(json_object_get(line, "dry_run")));
    /* The line starts with the fixed keys, in order, so a human can read it. */
    ck_assert(strncmp(capture.text, "{\"ts\":\"", 7) == 0);
    json_decref(line);
    free(capture.text);
}
END_TEST

START_TEST(test_log_timestamp_is_rfc3339_utc_with_milliseconds)
{
    log_init("checker", LOG_LEVEL_INFO);
    stderr_capture capture;
    capture_begin(&capture);
    log_warn("x", NULL);
    json_t *line = parse_single_line(capture_end(&capture));
    const char *ts = json_string_value(json_object_get(line, "ts"));
    ck_assert_ptr_nonnull(ts);
    /* 2026-11-27T18:42:56.123Z */
    const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    ck_assert_uint_eq(strlen(ts), strlen(shape));
    for (size_t i = 0; shape[i] != '\0'; i++) {
        if (shape[i] == 'd') {
            ck_assert_msg(ts[i] >= '0' && ts[i] <= '9', "ts '%s' at %zu", ts, i);
        } else {
            ck_assert_msg(ts[i] == shape[i], "ts '%s' at %zu", ts, i);
        }
    }
    ck_assert_str_eq(json_string_value(json_object_get(line, "level")), "warn");
    json_decref(line);
    free(capture.text);
}
END_TEST

START_TEST(test_log_escapes_quotes_newlines_and_controls_in_one_line)
{
    log_init("checker", LOG_LEVEL_DEBUG);
    const char *message = "say \"hi\"\nthen\tleave\\ \x01 \xc3\xa9";
    stderr_capture capture;
    capture_begin(&capture);
    log_error(message, "{s:s}", "detail", "line one\nline two\r\"quoted\"");
    json_t *line = parse_single_line(capture_end(&capture));
    ck_assert_str_eq(json_string_value(json_object_get(line, "msg")), message);
    ck_assert_str_eq(json_string_value(json_object_get(line, "detail")),
                     "line one\nline two\r\"quoted\"");
    ck_assert_ptr_null(strchr(capture.text, '\r'));
    json_decref(line);
    free(capture.text);
}
END_TEST

START_TEST(test_log_below_min_level_writes_nothing)
{
    log_init("checker", LOG_LEVEL_WARN);
    ck_assert(!log_enabled(LOG_LEVEL_INFO));
    ck_assert(log_enabled(LOG_LEVEL_ERROR));
    stderr_capture capture;
    capture_begin(&capture);
    log_debug("hidden", NULL);
    log_info("hidden too", "{s:s}", "k", "v");
    const char *text = capture_end(&capture);
    ck_assert_str_eq(text, "");
    free(capture.text);

    log_set_level(LOG_LEVEL_DEBUG);
    capture_begin(&capture);
    log_debug("shown", NULL);
    json_t *line = parse_single_line(capture_end(&capture));
    ck_assert_str_eq(json_string_value(json_object_get(line, "level")), "debug");
    json_decref(line);
    free(capture.text);
}
END_TEST

START_TEST(test_log_bad_fields_keep_the_message_with_log_fields_error)
{
    log_init("checker", LOG_LEVEL_INFO);
    stderr_capture capture;
    capture_begin(&capture);
    log_warn("still here", "{s:s}", "key", (const char *)NULL); /* NULL string: pack fails */
    json_t *line = parse_single_line(capture_end(&capture));
    ck_assert_str_eq(json_string_value(json_object_get(line, "msg")), "still here");
    ck_assert(json_is_string(json_object_get(line, "log_fields_error")));
    ck_assert_ptr_null(json_object_get(line, "key"));
    json_decref(line);
    free(capture.text);

    capture_begin(&capture);
    log_warn("not an object", "[i]", 1);
    line = parse_single_line(capture_end(&capture));
    ck_assert_str_eq(json_string_value(json_object_get(line, "msg")), "not an object");
    ck_assert(json_is_string(json_object_get(line, "log_fields_error")));
    json_decref(line);
    free(capture.text);
}
END_TEST

START_TEST(test_log_fields_cannot_replace_core_keys)
{
    log_init("checker", LOG_LEVEL_INFO);
    stderr_capture capture;
    capture_begin(&capture);
    log_info("real", "{s:s, s:s, s:s, s:s}", "msg", "fake", "level", "debug", "program", "other",
             "ts", "never");
    json_t *line = parse_single_line(capture_end(&capture));
    ck_assert_str_eq(json_string_value(json_object_get(line, "msg")), "real");
    ck_assert_str_eq(json_string_value(json_object_get(line, "level")), "info");
    ck_assert_str_eq(json_string_value(json_object_get(line, "program")), "checker");
    ck_assert_str_ne(json_string_value(json_object_get(line, "ts")), "never");
    json_decref(line);
    free(capture.text);
}
END_TEST

START_TEST(test_log_invalid_utf8_message_still_writes_valid_json)
{
    log_init("checker", LOG_LEVEL_INFO);
    stderr_capture capture;
    capture_begin(&capture);
    log_info("bad \xff\xfe bytes", NULL);
    json_t *line = parse_single_line(capture_end(&capture));
    ck_assert_str_eq(json_string_value(json_object_get(line, "msg")), "bad ?? bytes");
    json_decref(line);
    free(capture.text);
}
END_TEST

START_TEST(test_log_level_parse_is_case_insensitive_and_strict)
{
    log_level level;
    ck_assert(log_level_parse("debug", &level) && level == LOG_LEVEL_DEBUG);
    ck_assert(log_level_parse("INFO", &level) && level == LOG_LEVEL_INFO);
    ck_assert(log_level_parse("Warn", &level) && level == LOG_LEVEL_WARN);
    ck_assert(log_level_parse("warning", &level) && level == LOG_LEVEL_WARN);
    ck_assert(log_level_parse("error", &level) && level == LOG_LEVEL_ERROR);
    ck_assert(!log_level_parse("", &level));
    ck_assert(!log_level_parse("trace", &level));
    ck_assert(!log_level_parse("info ", &level));
    ck_assert(!log_level_parse(NULL, &level));
    ck_assert_str_eq(log_level_name(LOG_LEVEL_WARN), "warn");
}
END_TEST

#define WRITER_THREADS 8
#define LINES_PER_WRITER 300

static void *write_lines(void *context)
{
    long writer = (long)context;
    for (int i = 0; i < LINES_PER_WRITER; i++) {
        log_info("concurrent line with some padding to make it longer than a few bytes",
                 "{s:i, s:i}", "writer", (int)writer, "index", i);
    }
    return NULL;
}

START_TEST(test_log_concurrent_lines_never_interleave)
{
    log_init("checker", LOG_LEVEL_INFO);
    stderr_capture capture;
    capture_begin(&capture);
    pthread_t writers[WRITER_THREADS];
    for (long i = 0; i < WRITER_THREADS; i++) {
        ck_assert_int_eq(pthread_create(&writers[i], NULL, write_lines, (void *)i), 0);
    }
    for (int i = 0; i < WRITER_THREADS; i++) {
        pthread_join(writers[i], NULL);
    }
    const char *text = capture_end(&capture);
    ck_assert_uint_eq(count_newlines(text), WRITER_THREADS * LINES_PER_WRITER);
    char *copy = strdup(text);
    char *save = NULL;
    size_t parsed = 0;
    for (char *row = strtok_r(copy, "\n", &save); row != NULL; row = strtok_r(NULL, "\n", &save)) {
        json_error_t error;
        json_t *line = json_loads(row, 0, &error);
        ck_assert_msg(line != NULL, "interleaved or broken line: %s", row);
        json_decref(line);
        parsed++;
    }
    ck_assert_uint_eq(parsed, WRITER_THREADS * LINES_PER_WRITER);
    free(copy);
    free(capture.text);
}
END_TEST

static Suite *log_suite(void)
{
    Suite *suite = suite_create("log");
    TCase *tcase = tcase_create("core");
    tcase_add_test(tcase, test_log_line_has_ts_level_program_msg_and_fields);
    tcase_add_test(tcase, test_log_timestamp_is_rfc3339_utc_with_milliseconds);
    tcase_add_test(tcase, test_log_escapes_quotes_newlines_and_controls_in_one_line);
    tcase_add_test(tcase, test_log_below_min_level_writes_nothing);
    tcase_add_test(tcase, test_log_bad_fields_keep_the_message_with_log_fields_error);
    tcase_add_test(tcase, test_log_fields_cannot_replace_core_keys);
    tcase_add_test(tcase, test_log_invalid_utf8_message_still_writes_valid_json);
    tcase_add_test(tcase, test_log_level_parse_is_case_insensitive_and_strict);
    tcase_add_test(tcase, test_log_concurrent_lines_never_interleave);
    suite_add_tcase(suite, tcase);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(log_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
