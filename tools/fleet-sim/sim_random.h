/* sim_random.h — one random generator per thread, seeded from the operating system.
 *
 * For: instance ids, jitter and fault probabilities on the server and worker threads.
 * Not for: anything secret (splitmix64 is not a cryptographic generator), nor the pure
 * modules, which take a fleet_random or a drawn number from their caller. */
#ifndef FLEET_SIM_RANDOM_H
#define FLEET_SIM_RANDOM_H

#include "fleet_state.h"

#include <stdint.h>

/* The calling thread's generator (never NULL). */
fleet_random *sim_random_thread(void);
/* A seed from getrandom(2), falling back to the clock and the thread if that fails. */
uint64_t sim_random_seed(void);

#endif
