/* timeutil.c — the project's clocks and its one duration syntax.
 *
 * For: reading the wall and monotonic clocks, parsing and printing durations ("500ms", "10s",
 * "5m", "1h"), and printing RFC 3339 timestamps for logs. Not for: deciding anything with
 * the time; decision logic takes `now` as an argument so it stays testable. */
#include "timeutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t clock_read_ms(clockid_t clock)
{
    struct timespec now;
    /* clock_gettime cannot fail for these two clocks with a valid pointer (POSIX). */
    clock_gettime(clock, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int64_t time_now_wall_ms(void)
{
    return clock_read_ms(CLOCK_REALTIME);
}

int64_t time_now_monotonic_ms(void)
{
    return clock_read_ms(CLOCK_MONOTONIC);
}

bool time_parse_duration_ms(const char *text, int64_t *out_ms)
{
    if (text == NULL || *text < '0' || *text > '9') {
        return false; /* empty, a sign, a space or a leading '.' */
    }
    int64_t count = 0;
    const char *cursor = text;
    while (*cursor >= '0' && *cursor <= '9') {
        int digit = *cursor - '0';
        if (count > (INT64_MAX - digit) / 10) {
            return false;
        }
        count = count * 10 + digit;
        cursor++;
    }

    int64_t unit_ms;
    if (*cursor == '\0' || strcmp(cursor, "s") == 0) {
        unit_ms = 1000; /* a bare integer means seconds (docs/contracts.md §7) */
    } else if (strcmp(cursor, "ms") == 0) {
        unit_ms = 1;
    } else if (strcmp(cursor, "m") == 0) {
        unit_ms = 60 * 1000;
    } else if (strcmp(cursor, "h") == 0) {
        unit_ms = 60 * 60 * 1000;
    } else {
        return false; /* unknown unit, a fraction ("1.5s") or trailing text */
    }
    if (count > INT64_MAX / unit_ms) {
        return false;
    }
    *out_ms = count * unit_ms;
    return true;
}

void time_format_duration(int64_t ms, char *buffer, size_t size)
{
    if (buffer == NULL || size == 0) {
        return;
    }
    /* Negative durations never come from the parser; print them plainly rather than
     * pretend. INT64_MIN has no positive counterpart, hence the unsigned magnitude. */
    const char *sign = ms < 0 ? "-" : "";
    uint64_t magnitude = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    if (magnitude == 0) {
        snprintf(buffer, size, "0s");
    } else if (magnitude % 3600000 == 0) {
        snprintf(buffer, size, "%s%lluh", sign, (unsigned long long)(magnitude / 3600000));
    } else if (magnitude % 60000 == 0) {
        snprintf(buffer, size, "%s%llum", sign, (unsigned long long)(magnitude / 60000));
    } else if (magnitude % 1000 == 0) {
        snprintf(buffer, size, "%s%llus", sign, (unsigned long long)(magnitude / 1000));
    } else {
        snprintf(buffer, size, "%s%llums", sign, (unsigned long long)magnitude);
    }
}

void time_format_rfc3339_ms(int64_t wall_ms, char *buffer, size_t size)
{
    if (buffer == NULL || size == 0) {
        return;
    }
    /* Floor division, so -1 ms is 23:59:59.999 of the day before, not .-01. */
    int64_t seconds = wall_ms / 1000;
    int64_t millis = wall_ms % 1000;
    if (millis < 0) {
        millis += 1000;
        seconds -= 1;
    }
    time_t whole_seconds = (time_t)seconds;
    struct tm utc;
    if (gmtime_r(&whole_seconds, &utc) == NULL) {
        snprintf(buffer, size, "invalid-time");
        return;
    }
    snprintf(buffer, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
             utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, (int)millis);
}
