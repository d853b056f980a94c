/* workspace_gate.h — at most one check per workspace at a time inside one checker.
 *
 * For: verdict order per workspace (docs/checker.md "Order"). Two CheckRequests for one
 * workspace can be taken close together (back-to-back sweeps under a backlog). Asked in
 * parallel, the older question's answer can be produced after the newer one's, and the
 * actuator would read a stale NOT_RUNNING after a fresh RUNNING. The gate admits one request
 * per workspace — the holder — from the moment it is taken until its verdict is delivered
 * (or it is dropped); later requests for that workspace wait, in arrival order, and the next
 * one becomes the holder when the current one leaves. So the CP is asked in arrival order,
 * and each verdict is in Kafka before the next question about that workspace is asked:
 * neither concurrency nor a produce retry can reorder a workspace's verdicts.
 *
 * Cost: one hash look-up to enter, one to leave; a waiter costs one small allocation (rare:
 * only a workspace already being checked has waiters). Memory is proportional to the
 * requests the checker holds, which its capacity bounds.
 *
 * Not for: which requests to take (checker_engine.c) or thread safety (one loop thread).
 * Pure: no I/O, no clock. Waiters are opaque pointers owned by the caller. */
#ifndef RECONCILER_CHECKER_WORKSPACE_GATE_H
#define RECONCILER_CHECKER_WORKSPACE_GATE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct workspace_gate workspace_gate;

/* NULL on allocation failure. */
workspace_gate *workspace_gate_new(void);
/* Frees the gate and its bookkeeping; never the waiters themselves. */
void workspace_gate_free(workspace_gate *gate);

typedef enum {
    WORKSPACE_GATE_ACQUIRED = 0, /* nobody held the workspace: `request` holds it now */
    WORKSPACE_GATE_QUEUED,       /* another request holds it: `request` waits behind it */
    WORKSPACE_GATE_NO_MEMORY,    /* nothing changed */
} workspace_gate_enter_result;

/* A request for `workspace_id` arrives. */
workspace_gate_enter_result workspace_gate_enter(workspace_gate *gate, const char *workspace_id,
                                                 void *request);

/* The holder of `workspace_id` is done (verdict delivered, expired, dropped). Returns the
 * oldest waiter, which holds the workspace from now on, or NULL when none waited (the
 * workspace is free). Leaving a workspace nobody holds returns NULL and changes nothing. */
void *workspace_gate_leave(workspace_gate *gate, const char *workspace_id);

/* A waiter gives up its place without ever holding (its partition was revoked, shutdown).
 * Returns false when `request` was not waiting for `workspace_id`. */
bool workspace_gate_withdraw(workspace_gate *gate, const char *workspace_id, void *request);

/* Workspaces held now; requests waiting now (over all workspaces). */
size_t workspace_gate_held(const workspace_gate *gate);
size_t workspace_gate_waiting(const workspace_gate *gate);

#endif
