/* cp_sockets.c — see cp_sockets.h. */
#include "cp_sockets.h"

#include "timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Ready sockets handled per epoll_wait; more simply wait for the next call. */
#define CP_SOCKETS_EVENTS 256

struct cp_sockets {
    CURLM *multi;
    int epoll_fd;
    int wake_fd;
    int64_t timer_due_ms; /* monotonic; -1 = libcurl wants no timeout */
};

/* Marks a socket libcurl watches and we have added to epoll (curl_multi_assign). libcurl
 * forgets the mark when it stops watching the socket (CURL_POLL_REMOVE). */
static char registered_marker;

/* CURLMOPT_SOCKETFUNCTION: keep epoll's interest set equal to what libcurl asks for. A
 * socket libcurl has already closed makes EPOLL_CTL_DEL fail with EBADF: nothing to undo.
 * The mark tells ADD from MOD without a failing call first: every check watches a socket
 * anew (libcurl stops watching a connection while it sits in the cache), and a refused MOD
 * before each ADD was a third of the checker's epoll_ctl calls. */
static int on_socket(CURL *easy, curl_socket_t socket_fd, int what, void *context, void *assigned)
{
    (void)easy;
    cp_sockets *sockets = context;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(sockets->epoll_fd, EPOLL_CTL_DEL, socket_fd, NULL);
        return 0;
    }
    struct epoll_event event = {.events = 0, .data.fd = socket_fd};
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        event.events |= EPOLLIN;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        event.events |= EPOLLOUT;
    if (assigned == &registered_marker) {
        if (epoll_ctl(sockets->epoll_fd, EPOLL_CTL_MOD, socket_fd, &event) != 0 && errno == ENOENT)
            epoll_ctl(sockets->epoll_fd, EPOLL_CTL_ADD, socket_fd, &event);
        return 0;
    }
    if (epoll_ctl(sockets->epoll_fd, EPOLL_CTL_ADD, socket_fd, &event) != 0 && errno == EEXIST)
        epoll_ctl(sockets->epoll_fd, EPOLL_CTL_MOD, socket_fd, &event);
    curl_multi_assign(sockets->multi, socket_fd, &registered_marker);
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: remember when libcurl wants to be called with CURL_SOCKET_TIMEOUT. */
static int on_timer(CURLM *multi, long timeout_ms, void *context)
{
    (void)multi;
    cp_sockets *sockets = context;
    sockets->timer_due_ms = timeout_ms < 0 ? -1 : time_now_monotonic_ms() + timeout_ms;
    return 0;
}

cp_sockets *cp_sockets_new(CURLM *multi, int wake_fd, char *error, size_t error_size)
{
    cp_sockets *sockets = calloc(1, sizeof *sockets);
    if (sockets == NULL) {
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    sockets->multi = multi;
    sockets->wake_fd = wake_fd;
    sockets->timer_due_ms = -1;
    sockets->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event wake = {.events = EPOLLIN, .data.fd = wake_fd};
    if (sockets->epoll_fd < 0 || epoll_ctl(sockets->epoll_fd, EPOLL_CTL_ADD, wake_fd, &wake) != 0) {
        snprintf(error, error_size, "epoll: %s", strerror(errno));
        cp_sockets_free(sockets);
        return NULL;
    }
    if (curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
        curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, sockets) != CURLM_OK ||
        curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer) != CURLM_OK ||
        curl_multi_setopt(multi, CURLMOPT_TIMERDATA, sockets) != CURLM_OK) {
        snprintf(error, error_size, "curl_multi_setopt of the socket callbacks failed");
        cp_sockets_free(sockets);
        return NULL;
    }
    return sockets;
}

void cp_sockets_free(cp_sockets *sockets)
{
    if (sockets == NULL)
        return;
    curl_multi_setopt(sockets->multi, CURLMOPT_SOCKETFUNCTION, NULL);
    curl_multi_setopt(sockets->multi, CURLMOPT_TIMERFUNCTION, NULL);
    if (sockets->epoll_fd >= 0)
        close(sockets->epoll_fd);
    free(sockets);
}

CURLMcode cp_sockets_run_due(cp_sockets *sockets)
{
    /* A timer callback inside socket_action may ask for "now" again (0): loop until libcurl
     * is satisfied, which it is after at most a few rounds. */
    CURLMcode code = CURLM_OK;
    while (code == CURLM_OK && sockets->timer_due_ms >= 0 &&
           sockets->timer_due_ms <= time_now_monotonic_ms()) {
        sockets->timer_due_ms = -1;
        int running = 0;
        code = curl_multi_socket_action(sockets->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    return code;
}

CURLMcode cp_sockets_wait(cp_sockets *sockets, int max_wait_ms, bool *woken)
{
    *woken = false;
    int wait_ms = max_wait_ms;
    if (sockets->timer_due_ms >= 0) {
        int64_t until_due = sockets->timer_due_ms - time_now_monotonic_ms();
        if (until_due < wait_ms)
            wait_ms = until_due < 0 ? 0 : (int)until_due;
    }
    struct epoll_event events[CP_SOCKETS_EVENTS];
    int ready = epoll_wait(sockets->epoll_fd, events, CP_SOCKETS_EVENTS, wait_ms);
    if (ready < 0)
        return errno == EINTR ? CURLM_OK : CURLM_INTERNAL_ERROR;
    for (int index = 0; index < ready; index++) {
        int fd = events[index].data.fd;
        if (fd == sockets->wake_fd) {
            *woken = true;
            continue;
        }
        int mask = 0;
        if (events[index].events & (EPOLLIN | EPOLLHUP))
            mask |= CURL_CSELECT_IN;
        if (events[index].events & EPOLLOUT)
            mask |= CURL_CSELECT_OUT;
        if (events[index].events & EPOLLERR)
            mask |= CURL_CSELECT_ERR;
        int running = 0;
        CURLMcode code = curl_multi_socket_action(sockets->multi, fd, mask, &running);
        if (code != CURLM_OK)
            return code;
    }
    return cp_sockets_run_due(sockets);
}
