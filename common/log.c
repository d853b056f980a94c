/* log.c — JSON-lines logging to stderr, one write(2) per line.
 *
 * For: every log line of every program (and librdkafka's and libmicrohttpd's, routed here).
 * Not for: metrics, audit records or anything that must not be lost; and not a masker:
 * callers never pass secrets (see log.h). */
#include "log.h"

#include "timeutil.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static char log_program[64] = "reconciler";
static atomic_int log_min_level = LOG_LEVEL_INFO;

void log_init(const char *program, log_level min_level)
{
    snprintf(log_program, sizeof log_program, "%s", program != NULL ? program : "reconciler");
    log_set_level(min_level);
}

void log_set_level(log_level min_level)
{
    atomic_store_explicit(&log_min_level, (int)min_level, memory_order_relaxed);
}

bool log_enabled(log_level level)
{
    return (int)level >= atomic_load_explicit(&log_min_level, memory_order_relaxed);
}

bool log_level_parse(const char *text, log_level *out)
{
    static const struct {
        const char *name;
        log_level level;
    } names[] = {
        {"debug", LOG_LEVEL_DEBUG},  {"info", LOG_LEVEL_INFO},   {"warn", LOG_LEVEL_WARN},
        {"warning", LOG_LEVEL_WARN}, {"error", LOG_LEVEL_ERROR},
    };
    if (text == NULL) {
        return false;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(text, names[i].name) == 0) {
            *out = names[i].level;
            return true;
        }
    }
    return false;
}

const char *log_level_name(log_level level)
{
    switch (level) {
    case LOG_LEVEL_DEBUG:
        return "debug";
    case LOG_LEVEL_INFO:
        return "info";
    case LOG_LEVEL_WARN:
        return "warn";
    case LOG_LEVEL_ERROR:
        return "error";
    }
    return "unknown";
}

/* Writes all of `length` bytes. Why a loop around one write(2): a pipe or terminal may take
 * a line in parts (or be interrupted by a signal); O_APPEND/pipe atomicity still holds for
 * lines up to PIPE_BUF, which is what keeps concurrent lines from interleaving. */
static void write_fully(const char *bytes, size_t length)
{
    while (length > 0) {
        ssize_t written = write(STDERR_FILENO, bytes, length);
        if (written < 0) {
            if (errno == EINTR) {
                continue;
            }
            return; /* nowhere left to report a broken stderr */
        }
        bytes += written;
        length -= (size_t)written;
    }
}

/* json_string() refuses invalid UTF-8; a message is still worth writing, so non-ASCII bytes
 * are replaced with '?' in that (rare) case. NULL only on allocation failure. */
static json_t *json_string_lossy(const char *text)
{
    json_t *value = json_string(text != NULL ? text : "");
    if (value != NULL) {
        return value;
    }
    char *ascii = strdup(text);
    if (ascii == NULL) {
        return NULL;
    }
    for (char *cursor = ascii; *cursor != '\0'; cursor++) {
        if ((unsigned char)*cursor >= 0x80) {
            *cursor = '?';
        }
    }
    value = json_string(ascii);
    free(ascii);
    return value;
}

void log_at(log_level level, const char *msg, const char *fields_format, ...)
{
    if (!log_enabled(level)) {
        return;
    }
    char timestamp[32];
    time_format_rfc3339_ms(time_now_wall_ms(), timestamp, sizeof timestamp);

    json_t *line = json_object();
    if (line == NULL) {
        goto out_of_memory;
    }
    json_object_set_new(line, "ts", json_string(timestamp));
    json_object_set_new(line, "level", json_string(log_level_name(level)));
    json_object_set_new(line, "program", json_string_lossy(log_program));
    json_object_set_new(line, "msg", json_string_lossy(msg));

    if (fields_format != NULL) {
        va_list arguments;
        va_start(arguments, fields_format);
        json_error_t error;
        json_t *fields = json_vpack_ex(&error, 0, fields_format, arguments);
        va_end(arguments);
        if (fields == NULL) {
            json_object_set_new(line, "log_fields_error", json_string_lossy(error.text));
        } else if (!json_is_object(fields)) {
            json_object_set_new(line, "log_fields_error",
                                json_string("fields format must build an object"));
        } else {
            /* _missing: a field named "ts", "level", "program" or "msg" never replaces the
             * line's own, so every line keeps its shape. */
            json_object_update_missing(line, fields);
        }
        json_decref(fields);
    }

    char *text = json_dumps(line, JSON_COMPACT);
    json_decref(line);
    if (text == NULL) {
        goto out_of_memory;
    }
    size_t length = strlen(text);
    char *with_newline = realloc(text, length + 2);
    if (with_newline == NULL) {
        free(text);
        goto out_of_memory;
    }
    with_newline[length] = '\n';
    with_newline[length + 1] = '\0';
    write_fully(with_newline, length + 1);
    free(with_newline);
    return;

out_of_memory:;
    static const char lost[] = "{\"level\":\"error\",\"msg\":\"log line lost: out of memory\"}\n";
    write_fully(lost, sizeof lost - 1);
}
