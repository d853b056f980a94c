/* sim_random.c — per-thread generators seeded from getrandom(2). See sim_random.h. */
#include "sim_random.h"

#include <pthread.h>
#include <stdbool.h>
#include <sys/random.h>
#include <time.h>

uint64_t sim_random_seed(void)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) == (ssize_t)sizeof seed) {
        return seed;
    }
    /* Early boot without entropy: distinct per thread and run is all a simulator needs. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_nsec ^ ((uint64_t)now.tv_sec << 32) ^ (uint64_t)pthread_self();
}

fleet_random *sim_random_thread(void)
{
    static _Thread_local fleet_random generator;
    static _Thread_local bool seeded;
    if (!seeded) {
        generator = fleet_random_make(sim_random_seed());
        seeded = true;
    }
    return &generator;
}
