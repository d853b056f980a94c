/* server.h — fleet-sim's HTTP server: the CP status API, the restart API, the admin API,
 * /metrics, /healthz and /readyz on one libmicrohttpd daemon.
 *
 * For: main.c, which builds the parts (fleet, fault table, reprovisioner, metrics) and hands
 * them over. The server owns the timer thread that holds delayed requests and the admin job
 * thread; it never starts a thread per request.
 * Not for: decisions (faults.c, admin_api.c, fleet_state.c decide; this file executes). */
#ifndef FLEET_SIM_SERVER_H
#define FLEET_SIM_SERVER_H

#include "faults.h"
#include "fleet_state.h"
#include "reprovision.h"
#include "sim_metrics.h"
#include "sim_settings.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct sim_server sim_server;

typedef struct {
    const fleet_sim_settings *settings; /* must outlive the server */
    sim_fleet *fleet;
    fault_table *faults;
    reprovision_worker *reprovisioner;
    sim_metrics *metrics;
} sim_server_parts;

/* Binds settings->address and starts serving. NULL with the reason in error_buffer. */
sim_server *sim_server_start(const sim_server_parts *parts, char *error_buffer, size_t error_size);

/* The port bound (useful with port 0). */
int sim_server_port(const sim_server *server);

/* Updates the gauges (instances by state, held requests, fault rules) from the live state;
 * /metrics does it itself, main.c calls it for the METRICS_ADDR listener. */
void sim_server_refresh_gauges(sim_server *server);

/* Stops in order: refuse new admin jobs and finish the running one, release held requests
 * (a delayed answer is sent at once, a hang is closed), wait for them to leave, stop the
 * daemon, free. */
void sim_server_stop(sim_server *server);

#endif
