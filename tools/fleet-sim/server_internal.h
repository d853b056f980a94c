/* server_internal.h — what server.c shares with admin_handlers.c: the server's state, one
 * request's context, and the helpers that answer, authenticate and hold requests.
 *
 * For: those two files only (main.c and the tests use server.h).
 * Not for: new callers; anything else goes through server.h. */
#ifndef FLEET_SIM_SERVER_INTERNAL_H
#define FLEET_SIM_SERVER_INTERNAL_H

#include "admin_jobs.h"
#include "delay_queue.h"
#include "faults.h"
#include "hint_sender.h"
#include "server.h"

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define JSON_TYPE "application/json"

struct sim_server {
    struct MHD_Daemon *daemon;
    int listen_fd;
    int port;
    const fleet_sim_settings *settings;
    sim_fleet *fleet;
    fault_table *faults;
    reprovision_worker *reprovisioner;
    sim_metrics *metrics;
    delay_timer *timer;
    admin_jobs *jobs;
    hint_sender *hints; /* announces terminations (FLEETSIM_HINT_URL) */
    atomic_bool stopping;
    atomic_long suspended; /* requests suspended now: held by the timer or a job */
};

typedef enum {
    PHASE_RECEIVING = 0,
    PHASE_SUSPENDED,
    PHASE_RESUMED,
} request_phase;

typedef struct {
    delay_entry entry; /* first member: the timer hands back a delay_entry * */
    sim_server *server;
    struct MHD_Connection *connection;
    request_phase phase;
    /* Counted in server->suspended until the request leaves: through the handler, or through
     * the completion callback when libmicrohttpd closes a resumed connection whose client
     * left without calling the handler again. */
    bool counted_as_suspended;
    delay_reason reason;
    response_plan plan;
    bool is_admin;
    char *body;
    size_t body_length;
    size_t body_capacity;
    bool body_too_large;
} request_context;

/* Queues a response with `body` (copied, or taken and freed with MUST_FREE). MHD_NO closes the
 * connection. */
enum MHD_Result server_queue_buffer(struct MHD_Connection *connection, unsigned int status,
                                    const char *content_type, const char *body, size_t length,
                                    enum MHD_ResponseMemoryMode mode);
/* {"error":"<code>","message":"<message>"} with `status`. */
enum MHD_Result server_answer_error(struct MHD_Connection *connection, unsigned int status,
                                    const char *code, const char *message);
/* true when no token is configured, or the header is "Bearer <token>". */
bool server_bearer_accepted(struct MHD_Connection *connection, const char *token);
/* Holds the request (counted in server->suspended) until server_resume. */
void server_suspend(sim_server *server, request_context *context);
/* Resumes a held request from any thread; the handler then sends context->plan. */
void server_resume(request_context *context, delay_reason reason);

#endif
