/* build_info.c — reconciler_build_info and the process_* series (see build_info.h). */
#include "build_info.h"

#include <dirent.h>
#include <sys/resource.h>
#include <time.h>

typedef struct {
    metrics_gauge *open_fds;
    metrics_gauge *max_fds;
} descriptor_gauges;

long build_info_open_fds(void)
{
    DIR *directory = opendir("/proc/self/fd");
    if (directory == NULL) {
        return -1;
    }
    long count = 0;
    for (struct dirent *entry = readdir(directory); entry != NULL; entry = readdir(directory)) {
        if (entry->d_name[0] != '.') {
            count++;
        }
    }
    closedir(directory);
    return count - 1; /* the descriptor opendir itself holds while counting */
}

static void collect_descriptors(void *context)
{
    const descriptor_gauges *gauges = context;
    long open_fds = build_info_open_fds();
    if (open_fds >= 0) {
        metrics_gauge_set(gauges->open_fds, (double)open_fds);
    }
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        metrics_gauge_set(gauges->max_fds,
                          limit.rlim_cur == RLIM_INFINITY ? -1.0 : (double)limit.rlim_cur);
    }
}

bool build_info_register(metrics_registry *registry)
{
    /* One set per process (every program has one registry), so the collector's context can
     * be static and outlive nothing it points to. */
    static descriptor_gauges gauges;
    metrics_gauge *build =
        metrics_gauge_get(registry, "reconciler_build_info",
                          "Always 1; the labels say which build runs (version, git revision)", 2,
                          (const char *[]){"version", "revision"},
                          (const char *[]){RECONCILER_VERSION, build_info_revision});
    /* Taken when the metrics start, a few milliseconds after exec: close enough for
     * restarts and uptime, and it needs no /proc parsing of boot-relative clock ticks. */
    metrics_gauge *start =
        metrics_gauge_get(registry, "process_start_time_seconds",
                          "Start time of the process since the Unix epoch", 0, NULL, NULL);
    gauges.open_fds = metrics_gauge_get(registry, "process_open_fds",
                                        "Number of open file descriptors", 0, NULL, NULL);
    gauges.max_fds =
        metrics_gauge_get(registry, "process_max_fds",
                          "Maximum number of open file descriptors (soft limit)", 0, NULL, NULL);
    if (build == NULL || start == NULL || gauges.open_fds == NULL || gauges.max_fds == NULL) {
        return false;
    }
    metrics_gauge_set(build, 1.0);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    metrics_gauge_set(start, (double)now.tv_sec + (double)now.tv_nsec / 1e9);
    metrics_registry_set_collector(registry, collect_descriptors, &gauges);
    return true;
}
