/* build_info.h — what was built (version, git revision) and the process series every program
 * exports with it.
 *
 * For: --version's line and the standard series a fleet dashboard joins on:
 *   reconciler_build_info{version,revision} 1   which build runs where
 *   process_start_time_seconds                   restarts, uptime
 *   process_open_fds, process_max_fds            descriptor exhaustion before it happens
 * The descriptor gauges are read at scrape time (/proc/self/fd, getrlimit), through the
 * registry's collector, so they are never stale. Not for: a program's own series. */
#ifndef RECONCILER_BUILD_INFO_H
#define RECONCILER_BUILD_INFO_H

#include "metrics.h"

#include <stdbool.h>

#ifndef RECONCILER_VERSION
#define RECONCILER_VERSION "unknown"
#endif

/* The git commit the build was configured from, "unknown" outside git (generated file). */
extern const char build_info_revision[];

/* Registers the four families in registry and installs the collector that refreshes the
 * descriptor gauges before each render. false on allocation failure. */
bool build_info_register(metrics_registry *registry);

/* Open descriptors of this process (entries of /proc/self/fd), -1 when unreadable. */
long build_info_open_fds(void);

#endif
