/* metrics.c — the Prometheus registry and its text rendering.
 *
 * For: counters, gauges and histograms that hot paths update with plain atomics, and the text
 * exposition format 0.0.4 (plus a few process_* metrics read from /proc at render time). Not
 * for: serving HTTP (metrics_server.c) or deciding which metrics a program has.
 *
 * Concurrency: the mutex guards only the registry's shape (families and series lists), taken
 * on registration and rendering. Updates never lock: a series' memory never moves or goes
 * away before metrics_registry_free, so a pointer from _get stays valid. */
#include "metrics.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define METRICS_MAX_LABELS 4

typedef enum { FAMILY_COUNTER, FAMILY_GAUGE, FAMILY_HISTOGRAM } family_type;

struct metrics_counter {
    atomic_uint_least64_t value;
};

/* A double kept as its IEEE-754 bits, because C11 has no portable atomic double. */
struct metrics_gauge {
    atomic_uint_least64_t bits;
};

struct metrics_histogram {
    const double *bounds; /* the family's; bucket_count of them */
    size_t bucket_count;
    /* Per-bucket (not cumulative) counts, bucket_count + 1 of them, the last being +Inf.
     * Rendering sums them, so _count always equals the +Inf bucket. */
    atomic_uint_least64_t *buckets;
    atomic_uint_least64_t sum_bits;
};

typedef struct metrics_series {
    struct metrics_series *next;
    char *label_values[METRICS_MAX_LABELS];
    struct metrics_counter counter;
    struct metrics_gauge gauge;
    struct metrics_histogram histogram;
} metrics_series;

typedef struct metrics_family {
    struct metrics_family *next;
    char *name;
    char *help;
    family_type type;
    size_t label_count;
    char *label_names[METRICS_MAX_LABELS];
    double *bounds;
    size_t bucket_count;
    metrics_series *series_head;
    metrics_series *series_tail;
} metrics_family;

struct metrics_registry {
    pthread_mutex_t lock;
    metrics_family *family_head;
    metrics_family *family_tail;
    metrics_collector collector; /* NULL = none */
    void *collector_context;
};

static uint64_t double_to_bits(double value)
{
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

static double bits_to_double(uint64_t bits)
{
    double value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

/* Adds to a double stored as bits: the classic compare-and-swap loop. */
static void atomic_double_add(atomic_uint_least64_t *bits, double delta)
{
    uint64_t expected = atomic_load_explicit(bits, memory_order_relaxed);
    for (;;) {
        uint64_t desired = double_to_bits(bits_to_double(expected) + delta);
        if (atomic_compare_exchange_weak_explicit(bits, &expected, desired, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            return;
        }
    }
}

metrics_registry *metrics_registry_new(void)
{
    metrics_registry *registry = calloc(1, sizeof *registry);
    if (registry == NULL) {
        return NULL;
    }
    if (pthread_mutex_init(&registry->lock, NULL) != 0) {
        free(registry);
        return NULL;
    }
    return registry;
}

static void series_free(metrics_series *series)
{
    for (size_t i = 0; i < METRICS_MAX_LABELS; i++) {
        free(series->label_values[i]);
    }
    free(series->histogram.buckets);
    free(series);
}

static void family_free(metrics_family *family)
{
    metrics_series *series = family->series_head;
    while (series != NULL) {
        metrics_series *next = series->next;
        series_free(series);
        series = next;
    }
    for (size_t i = 0; i < METRICS_MAX_LABELS; i++) {
        free(family->label_names[i]);
    }
    free(family->name);
    free(family->help);
    free(family->bounds);
    free(family);
}

void metrics_registry_free(metrics_registry *registry)
{
    if (registry == NULL) {
        return;
    }
    metrics_family *family = registry->family_head;
    while (family != NULL) {
        metrics_family *next = family->next;
        family_free(family);
        family = next;
    }
    pthread_mutex_destroy(&registry->lock);
    free(registry);
}

/* Prometheus: metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*. */
static bool is_valid_name(const char *name, bool allow_colon)
{
    if (name == NULL || *name == '\0' || (*name >= '0' && *name <= '9')) {
        return false;
    }
    for (const char *cursor = name; *cursor != '\0'; cursor++) {
        char c = *cursor;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || (allow_colon && c == ':');
        if (!ok) {
            return false;
        }
    }
    return true;
}

static bool family_matches(const metrics_family *family, family_type type, size_t label_count,
                           const char *const *label_names, const double *bounds,
                           size_t bucket_count)
{
    if (family->type != type || family->label_count != label_count) {
        return false;
    }
    for (size_t i = 0; i < label_count; i++) {
        if (strcmp(family->label_names[i], label_names[i]) != 0) {
            return false;
        }
    }
    if (type == FAMILY_HISTOGRAM) {
        if (family->bucket_count != bucket_count) {
            return false;
        }
        for (size_t i = 0; i < bucket_count; i++) {
            if (family->bounds[i] != bounds[i]) {
                return false;
            }
        }
    }
    return true;
}

static metrics_family *family_create(const char *name, const char *help, family_type type,
                                     size_t label_count, const char *const *label_names,
                                     const double *bounds, size_t bucket_count)
{
    metrics_family *family = calloc(1, sizeof *family);
    if (family == NULL) {
        return NULL;
    }
    family->type = type;
    family->label_count = label_count;
    family->name = strdup(name);
    family->help = strdup(help != NULL ? help : "");
    bool ok = family->name != NULL && family->help != NULL;
    for (size_t i = 0; ok && i < label_count; i++) {
        family->label_names[i] = strdup(label_names[i]);
        ok = family->label_names[i] != NULL;
    }
    if (ok && type == FAMILY_HISTOGRAM && bucket_count > 0) {
        family->bounds = malloc(bucket_count * sizeof *family->bounds);
        ok = family->bounds != NULL;
        if (ok) {
            memcpy(family->bounds, bounds, bucket_count * sizeof *family->bounds);
            family->bucket_count = bucket_count;
        }
    }
    if (!ok) {
        family_free(family);
        return NULL;
    }
    return family;
}

static metrics_series *series_create(const metrics_family *family, const char *const *label_values)
{
    metrics_series *series = calloc(1, sizeof *series);
    if (series == NULL) {
        return NULL;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < family->label_count; i++) {
        series->label_values[i] = strdup(label_values[i]);
        ok = series->label_values[i] != NULL;
    }
    atomic_init(&series->counter.value, 0);
    atomic_init(&series->gauge.bits, double_to_bits(0.0));
    atomic_init(&series->histogram.sum_bits, double_to_bits(0.0));
    if (ok && family->type == FAMILY_HISTOGRAM) {
        series->histogram.bounds = family->bounds;
        series->histogram.bucket_count = family->bucket_count;
        series->histogram.buckets =
            calloc(family->bucket_count + 1, sizeof *series->histogram.buckets);
        ok = series->histogram.buckets != NULL;
        for (size_t i = 0; ok && i <= family->bucket_count; i++) {
            atomic_init(&series->histogram.buckets[i], 0);
        }
    }
    if (!ok) {
        series_free(series);
        return NULL;
    }
    return series;
}

/* Finds or creates the series; NULL on bad arguments, a conflicting earlier registration of
 * the same name, or allocation failure. */
static metrics_series *series_get(metrics_registry *registry, family_type type, const char *name,
                                  const char *help, const double *bounds, size_t bucket_count,
                                  size_t label_count, const char *const *label_names,
                                  const char *const *label_values)
{
    if (registry == NULL || !is_valid_name(name, true) || label_count > METRICS_MAX_LABELS ||
        (label_count > 0 && (label_names == NULL || label_values == NULL)) ||
        (bucket_count > 0 && bounds == NULL)) {
        return NULL;
    }
    for (size_t i = 0; i < label_count; i++) {
        if (!is_valid_name(label_names[i], false) || label_values[i] == NULL ||
            strncmp(label_names[i], "__", 2) == 0 ||
            (type == FAMILY_HISTOGRAM && strcmp(label_names[i], "le") == 0)) {
            return NULL;
        }
    }
    for (size_t i = 0; i < bucket_count; i++) {
        if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
            return NULL;
        }
    }

    pthread_mutex_lock(&registry->lock);
    metrics_series *found = NULL;
    metrics_family *family = registry->family_head;
    while (family != NULL && strcmp(family->name, name) != 0) {
        family = family->next;
    }
    if (family == NULL) {
        family = family_create(name, help, type, label_count, label_names, bounds, bucket_count);
        if (family == NULL) {
            goto unlock;
        }
        if (registry->family_tail != NULL) {
            registry->family_tail->next = family;
        } else {
            registry->family_head = family;
        }
        registry->family_tail = family;
    } else if (!family_matches(family, type, label_count, label_names, bounds, bucket_count)) {
        goto unlock;
    }

    for (metrics_series *series = family->series_head; series != NULL; series = series->next) {
        bool same = true;
        for (size_t i = 0; same && i < label_count; i++) {
            same = strcmp(series->label_values[i], label_values[i]) == 0;
        }
        if (same) {
            found = series;
            goto unlock;
        }
    }
    found = series_create(family, label_values);
    if (found != NULL) {
        if (family->series_tail != NULL) {
            family->series_tail->next = found;
        } else {
            family->series_head = found;
        }
        family->series_tail = found;
    }
unlock:
    pthread_mutex_unlock(&registry->lock);
    return found;
}

metrics_counter *metrics_counter_get(metrics_registry *registry, const char *name, const char *help,
                                     size_t label_count, const char *const *label_names,
                                     const char *const *label_values)
{
    metrics_series *series = series_get(registry, FAMILY_COUNTER, name, help, NULL, 0, label_count,
                                        label_names, label_values);
    return series != NULL ? &series->counter : NULL;
}

metrics_gauge *metrics_gauge_get(metrics_registry *registry, const char *name, const char *help,
                                 size_t label_count, const char *const *label_names,
                                 const char *const *label_values)
{
    metrics_series *series = series_get(registry, FAMILY_GAUGE, name, help, NULL, 0, label_count,
                                        label_names, label_values);
    return series != NULL ? &series->gauge : NULL;
}

metrics_histogram *metrics_histogram_get(metrics_registry *registry, const char *name,
                                         const char *help, const double *bucket_bounds,
                                         size_t bucket_count, size_t label_count,
                                         const char *const *label_names,
                                         const char *const *label_values)
{
    metrics_series *series = series_get(registry, FAMILY_HISTOGRAM, name, help, bucket_bounds,
                                        bucket_count, label_count, label_names, label_values);
    return series != NULL ? &series->histogram : NULL;
}

void metrics_counter_add(metrics_counter *counter, uint64_t amount)
{
    if (counter != NULL) {
        atomic_fetch_add_explicit(&counter->value, amount, memory_order_relaxed);
    }
}

uint64_t metrics_counter_value(const metrics_counter *counter)
{
    if (counter == NULL) {
        return 0;
    }
    /* C11 atomic_load takes a non-const pointer in some libcs; the cast drops only that. */
    return atomic_load_explicit((atomic_uint_least64_t *)&counter->value, memory_order_relaxed);
}

void metrics_gauge_set(metrics_gauge *gauge, double value)
{
    if (gauge != NULL) {
        atomic_store_explicit(&gauge->bits, double_to_bits(value), memory_order_relaxed);
    }
}

void metrics_gauge_add(metrics_gauge *gauge, double delta)
{
    if (gauge != NULL) {
        atomic_double_add(&gauge->bits, delta);
    }
}

double metrics_gauge_value(const metrics_gauge *gauge)
{
    if (gauge == NULL) {
        return 0.0;
    }
    return bits_to_double(
        atomic_load_explicit((atomic_uint_least64_t *)&gauge->bits, memory_order_relaxed));
}

void metrics_histogram_observe(metrics_histogram *histogram, double value)
{
    if (histogram == NULL || isnan(value)) {
        return; /* a NaN would poison _sum forever */
    }
    size_t bucket = 0;
    while (bucket < histogram->bucket_count && value > histogram->bounds[bucket]) {
        bucket++;
    }
    atomic_fetch_add_explicit(&histogram->buckets[bucket], 1, memory_order_relaxed);
    atomic_double_add(&histogram->sum_bits, value);
}

/* ---- rendering ---- */

/* Shortest text that reads back as the same double (so le="0.1", not 0.10000000000000001),
 * with Prometheus' spellings of the special values. */
static void format_double(double value, char *buffer, size_t size)
{
    if (isnan(value)) {
        snprintf(buffer, size, "NaN");
        return;
    }
    if (isinf(value)) {
        snprintf(buffer, size, value > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int precision = 15; precision <= 17; precision++) {
        snprintf(buffer, size, "%.*g", precision, value);
        if (strtod(buffer, NULL) == value) {
            return;
        }
    }
}

/* HELP text escapes backslash and newline; label values also escape the double quote. */
static bool write_escaped(FILE *out, const char *text, bool escape_quote)
{
    for (const char *cursor = text; *cursor != '\0'; cursor++) {
        int result;
        if (*cursor == '\\') {
            result = fputs("\\\\", out);
        } else if (*cursor == '\n') {
            result = fputs("\\n", out);
        } else if (escape_quote && *cursor == '"') {
            result = fputs("\\\"", out);
        } else {
            result = fputc(*cursor, out);
        }
        if (result == EOF) {
            return false;
        }
    }
    return true;
}

/* Writes `name{a="x",b="y"[,le="bound"]}` (or just `name` without labels) and a space. */
static bool write_series_name(FILE *out, const metrics_family *family, const char *suffix,
                              const metrics_series *series, const char *le)
{
    if (fprintf(out, "%s%s", family->name, suffix) < 0) {
        return false;
    }
    if (family->label_count == 0 && le == NULL) {
        return fputc(' ', out) != EOF;
    }
    if (fputc('{', out) == EOF) {
        return false;
    }
    for (size_t i = 0; i < family->label_count; i++) {
        if (fprintf(out, "%s%s=\"", i > 0 ? "," : "", family->label_names[i]) < 0 ||
            !write_escaped(out, series->label_values[i], true) || fputc('"', out) == EOF) {
            return false;
        }
    }
    if (le != NULL && fprintf(out, "%sle=\"%s\"", family->label_count > 0 ? "," : "", le) < 0) {
        return false;
    }
    return fputs("} ", out) != EOF;
}

static bool render_series(FILE *out, const metrics_family *family, metrics_series *series)
{
    char number[64];
    switch (family->type) {
    case FAMILY_COUNTER:
        return write_series_name(out, family, "", series, NULL) &&
               fprintf(out, "%" PRIu64 "\n", metrics_counter_value(&series->counter)) >= 0;
    case FAMILY_GAUGE:
        format_double(metrics_gauge_value(&series->gauge), number, sizeof number);
        return write_series_name(out, family, "", series, NULL) &&
               fprintf(out, "%s\n", number) >= 0;
    case FAMILY_HISTOGRAM: {
        const struct metrics_histogram *histogram = &series->histogram;
        uint64_t cumulative = 0;
        for (size_t i = 0; i <= histogram->bucket_count; i++) {
            cumulative += atomic_load_explicit(&series->histogram.buckets[i], memory_order_relaxed);
            if (i < histogram->bucket_count) {
                format_double(histogram->bounds[i], number, sizeof number);
            } else {
                snprintf(number, sizeof number, "+Inf");
            }
            if (!write_series_name(out, family, "_bucket", series, number) ||
                fprintf(out, "%" PRIu64 "\n", cumulative) < 0) {
                return false;
            }
        }
        format_double(
            bits_to_double(atomic_load_explicit(&series->histogram.sum_bits, memory_order_relaxed)),
            number, sizeof number);
        return write_series_name(out, family, "_sum", series, NULL) &&
               fprintf(out, "%s\n", number) >= 0 &&
               write_series_name(out, family, "_count", series, NULL) &&
               fprintf(out, "%" PRIu64 "\n", cumulative) >= 0;
    }
    }
    return false;
}

static const char *family_type_name(family_type type)
{
    switch (type) {
    case FAMILY_COUNTER:
        return "counter";
    case FAMILY_GAUGE:
        return "gauge";
    case FAMILY_HISTOGRAM:
        return "histogram";
    }
    return "untyped";
}

/* process_* metrics, read at render time: two small /proc reads per scrape are cheaper than
 * keeping them current. A value that cannot be read is left out rather than reported as 0. */
static bool render_process_metrics(FILE *out)
{
    bool ok = true;
    FILE *statm = fopen("/proc/self/statm", "r");
    if (statm != NULL) {
        unsigned long long size_pages = 0, resident_pages = 0;
        long page_size = sysconf(_SC_PAGESIZE);
        if (fscanf(statm, "%llu %llu", &size_pages, &resident_pages) == 2 && page_size > 0) {
            ok = fprintf(out,
                         "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                         "# TYPE process_resident_memory_bytes gauge\n"
                         "process_resident_memory_bytes %llu\n"
                         "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
                         "# TYPE process_virtual_memory_bytes gauge\n"
                         "process_virtual_memory_bytes %llu\n",
                         resident_pages * (unsigned long long)page_size,
                         size_pages * (unsigned long long)page_size) >= 0;
        }
        fclose(statm);
    }

    FILE *stat = fopen("/proc/self/stat", "r");
    if (stat != NULL) {
        char line[1024];
        long ticks_per_second = sysconf(_SC_CLK_TCK);
        if (fgets(line, sizeof line, stat) != NULL && ticks_per_second > 0) {
            /* The command name (field 2) may contain spaces and ')'; fields resume after the
             * last ')'. utime and stime are fields 14 and 15, i.e. the 12th and 13th after. */
            const char *after_name = strrchr(line, ')');
            unsigned long long user_ticks = 0, system_ticks = 0;
            if (after_name != NULL &&
                sscanf(after_name + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                       &user_ticks, &system_ticks) == 2) {
                char seconds[64];
                format_double((double)(user_ticks + system_ticks) / (double)ticks_per_second,
                              seconds, sizeof seconds);
                ok = ok && fprintf(out,
                                   "# HELP process_cpu_seconds_total Total user and system CPU "
                                   "time spent in seconds.\n"
                                   "# TYPE process_cpu_seconds_total counter\n"
                                   "process_cpu_seconds_total %s\n",
                                   seconds) >= 0;
            }
        }
        fclose(stat);
    }
    return ok;
}

void metrics_registry_set_collector(metrics_registry *registry, metrics_collector collector,
                                    void *context)
{
    if (registry == NULL) {
        return;
    }
    pthread_mutex_lock(&registry->lock);
    registry->collector = collector;
    registry->collector_context = context;
    pthread_mutex_unlock(&registry->lock);
}

bool metrics_render(metrics_registry *registry, FILE *out)
{
    if (registry == NULL || out == NULL) {
        return false;
    }
    pthread_mutex_lock(&registry->lock);
    metrics_collector collector = registry->collector;
    void *collector_context = registry->collector_context;
    pthread_mutex_unlock(&registry->lock);
    /* Outside the lock: the collector sets gauges, and a _get would take the lock again. */
    if (collector != NULL) {
        collector(collector_context);
    }
    bool ok = true;
    pthread_mutex_lock(&registry->lock);
    for (metrics_family *family = registry->family_head; ok && family != NULL;
         family = family->next) {
        ok = fprintf(out, "# HELP %s ", family->name) >= 0 &&
             write_escaped(out, family->help, false) &&
             fprintf(out, "\n# TYPE %s %s\n", family->name, family_type_name(family->type)) >= 0;
        for (metrics_series *series = family->series_head; ok && series != NULL;
             series = series->next) {
            ok = render_series(out, family, series);
        }
    }
    pthread_mutex_unlock(&registry->lock);
    ok = ok && render_process_metrics(out);
    return ok && fflush(out) == 0 && !ferror(out);
}

char *metrics_render_to_string(metrics_registry *registry)
{
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    if (out == NULL) {
        return NULL;
    }
    bool ok = metrics_render(registry, out);
    if (fclose(out) != 0) {
        ok = false;
    }
    if (!ok) {
        free(text);
        return NULL;
    }
    return text;
}
