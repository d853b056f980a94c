/* log.h — JSON-lines logging to stderr.
 *
 * One line per event: {"ts":"2026-11-27T18:42:56.123Z","level":"info","program":"checker",
 * "msg":"sweep done", ...fields}. Fields are given as a jansson json_pack() format plus its
 * arguments, so a call site reads like the line it writes:
 *
 *     log_info("sweep done", "{s:s, s:I}", "sweep_id", sweep_id, "rows", (json_int_t)rows);
 *     log_warn("database unavailable", NULL);
 *
 * Not for secrets: nothing here masks values, so callers never pass one. Thread-safe: each
 * line is written with a single write(2). */
#ifndef RECONCILER_LOG_H
#define RECONCILER_LOG_H

#include <stdbool.h>

typedef enum { LOG_LEVEL_DEBUG = 0, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR } log_level;

/* Sets the program name written in every line and the minimum level. */
void log_init(const char *program, log_level min_level);
void log_set_level(log_level min_level);
bool log_enabled(log_level level);

/* Parses "debug", "info", "warn"/"warning", "error" (case-insensitive). false if unknown. */
bool log_level_parse(const char *text, log_level *out);
const char *log_level_name(log_level level);

/* fields_format may be NULL (no extra fields). A format or packing error never loses the
 * line: the message is written with a "log_fields_error" field instead. */
void log_at(log_level level, const char *msg, const char *fields_format, ...);

#define log_debug(msg, ...) log_at(LOG_LEVEL_DEBUG, msg, __VA_ARGS__)
#define log_info(msg, ...) log_at(LOG_LEVEL_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...) log_at(LOG_LEVEL_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_at(LOG_LEVEL_ERROR, msg, __VA_ARGS__)

#endif
