/* cp_sockets.h — drives the checker's CP transfers with epoll and libcurl's socket interface.
 *
 * For: CPU per check (issue #15). curl_multi_perform walks every transfer of the multi
 * handle on each call, and curl_multi_poll hands every socket to poll(2) on each wait: with
 * CHECKER_CONCURRENCY transfers in flight, each answer cost O(concurrency) work. Here libcurl
 * tells us which sockets it wants watched (CURLMOPT_SOCKETFUNCTION) and when its next
 * timeout is due (CURLMOPT_TIMERFUNCTION); epoll reports only the sockets that are ready and
 * curl_multi_socket_action runs only the transfers on them. So the work per answer is
 * constant, whatever the concurrency.
 *
 * One extra descriptor (the checker's wake pipe, which librdkafka writes to) is watched too,
 * so a wait ends for Kafka events as well as for CP sockets.
 *
 * Not for: which transfers to start or what their answers mean (checker_engine.c); thread
 * safety (one loop thread). */
#ifndef RECONCILER_CHECKER_CP_SOCKETS_H
#define RECONCILER_CHECKER_CP_SOCKETS_H

#include <curl/curl.h>
#include <stdbool.h>

typedef struct cp_sockets cp_sockets;

/* Installs the callbacks on `multi` and watches `wake_fd` for reading. NULL on failure
 * (errno-style reason in `error`). */
cp_sockets *cp_sockets_new(CURLM *multi, int wake_fd, char *error, size_t error_size);
/* Removes the callbacks and closes the epoll descriptor (call before curl_multi_cleanup). */
void cp_sockets_free(cp_sockets *sockets);

/* Runs the transfers whose libcurl timeout is due (including "now" after a new transfer was
 * added). CURLM_OK or libcurl's error. */
CURLMcode cp_sockets_run_due(cp_sockets *sockets);

/* Waits up to `max_wait_ms` (less when a libcurl timeout falls earlier) for a ready socket or
 * the wake descriptor, then runs the transfers of the ready sockets and the due timeouts.
 * `*woken` is set when the wake descriptor was readable. CURLM_OK, CURLM_INTERNAL_ERROR when
 * epoll_wait failed (other than EINTR), or libcurl's error. */
CURLMcode cp_sockets_wait(cp_sockets *sockets, int max_wait_ms, bool *woken);

#endif
