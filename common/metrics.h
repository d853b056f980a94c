/* metrics.h — a small Prometheus registry and the /metrics, /healthz, /readyz server.
 *
 * Metrics are registered once at start-up (not in hot paths) and updated lock-free with
 * atomics from any thread. A family has a name, help, type and up to 4 label names; a
 * series is one label-value combination, obtained once and kept:
 *
 *     metrics_counter *verdicts = metrics_counter_get(registry,
 *         "reconciler_checker_verdicts_total", "Verdicts emitted, by liveness",
 *         1, (const char *[]){"liveness"}, (const char *[]){"NOT_RUNNING"});
 *     metrics_counter_add(verdicts, 1);
 *
 * Label values must come from closed sets (enums), never from ids or secrets.
 * The server (libmicrohttpd, its own thread) answers:
 *   /metrics  Prometheus text exposition format 0.0.4
 *   /healthz  200 "ok" while the program's main loop has checked in within the liveness
 *             window (metrics_server_heartbeat), 503 otherwise
 *   /readyz   200 when the program said it is ready (metrics_server_set_ready), 503 with the
 *             reason otherwise */
#ifndef RECONCILER_METRICS_H
#define RECONCILER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct metrics_registry metrics_registry;
typedef struct metrics_counter metrics_counter;
typedef struct metrics_gauge metrics_gauge;
typedef struct metrics_histogram metrics_histogram;
typedef struct metrics_server metrics_server;

metrics_registry *metrics_registry_new(void);
void metrics_registry_free(metrics_registry *registry);

/* Called at the start of every render (each scrape), for gauges that are read rather than
 * kept up to date (open file descriptors). One per registry; a later call replaces it. */
typedef void (*metrics_collector)(void *context);
void metrics_registry_set_collector(metrics_registry *registry, metrics_collector collector,
                                    void *context);

/* Each _get returns the series for these label values, creating family and series on first
 * use; the same arguments return the same pointer. NULL only on allocation failure or when
 * a name is reused with another type. Thread-safe.
 * (Also NULL for an invalid metric or label name, more than 4 labels, the label "le" on a
 * histogram, bounds not strictly ascending, or a name reused with other label names or
 * bounds. Every update function accepts NULL and does nothing, as do the metrics_server_*
 * functions, so a program without metrics can pass NULL around.) */
metrics_counter *metrics_counter_get(metrics_registry *registry, const char *name, const char *help,
                                     size_t label_count, const char *const *label_names,
                                     const char *const *label_values);
metrics_gauge *metrics_gauge_get(metrics_registry *registry, const char *name, const char *help,
                                 size_t label_count, const char *const *label_names,
                                 const char *const *label_values);
/* bucket_bounds: ascending upper bounds (the +Inf bucket is implicit). */
metrics_histogram *metrics_histogram_get(metrics_registry *registry, const char *name,
                                         const char *help, const double *bucket_bounds,
                                         size_t bucket_count, size_t label_count,
                                         const char *const *label_names,
                                         const char *const *label_values);

void metrics_counter_add(metrics_counter *counter, uint64_t amount);
uint64_t metrics_counter_value(const metrics_counter *counter);
void metrics_gauge_set(metrics_gauge *gauge, double value);
void metrics_gauge_add(metrics_gauge *gauge, double delta);
double metrics_gauge_value(const metrics_gauge *gauge);
void metrics_histogram_observe(metrics_histogram *histogram, double value);

/* Writes the whole registry in Prometheus text format. Returns false on write error. */
bool metrics_render(metrics_registry *registry, FILE *out);
/* Same into a malloc'd NUL-terminated string (caller frees); NULL on allocation failure. */
char *metrics_render_to_string(metrics_registry *registry);

/* Starts the server on "host:port" (port 0 picks a free port). The default in every program
 * is loopback; listening elsewhere is an explicit choice. NULL on failure, with the reason
 * in error_buffer. */
metrics_server *metrics_server_start(metrics_registry *registry, const char *address,
                                     char *error_buffer, size_t error_size);
/* The port actually bound (useful with port 0). */
int metrics_server_port(const metrics_server *server);
void metrics_server_set_ready(metrics_server *server, bool ready, const char *reason);
/* The main loop calls this every iteration; /healthz fails after liveness_window_ms without. */
void metrics_server_heartbeat(metrics_server *server);
void metrics_server_set_liveness_window(metrics_server *server, int64_t liveness_window_ms);
void metrics_server_stop(metrics_server *server);

#endif
