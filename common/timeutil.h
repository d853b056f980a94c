/* timeutil.h — clocks and duration text. Decision logic never reads a clock itself: callers
 * read one here and pass `now` in. */
#ifndef RECONCILER_TIMEUTIL_H
#define RECONCILER_TIMEUTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* Wall clock, milliseconds since the Unix epoch (what Avro timestamp-millis carries). */
int64_t time_now_wall_ms(void);
/* Monotonic clock in milliseconds, for intervals and timeouts. */
int64_t time_now_monotonic_ms(void);

/* Parses "500ms", "10s", "5m", "1h", or a bare integer meaning seconds, into milliseconds.
 * Rejects empty text, signs, fractions, unknown units, overflow. */
bool time_parse_duration_ms(const char *text, int64_t *out_ms);
/* Formats milliseconds the way time_parse_duration_ms reads them ("10s", "1500ms", "5m"). */
void time_format_duration(int64_t ms, char *buffer, size_t size);
/* RFC 3339 UTC with milliseconds: 2026-11-27T18:42:56.123Z. buffer needs 25 bytes. */
void time_format_rfc3339_ms(int64_t wall_ms, char *buffer, size_t size);

#endif
