/* hint_sender.c — see hint_sender.h. One thread, one FIFO: every announcement of a terminate
 * command has the same delay, so the head is always the first one due. */
#include "hint_sender.h"

#include "http_client.h"
#include "log.h"
#include "timeutil.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>

#define HINT_SEND_TIMEOUT_MS 5000
#define HINT_IDLE_WAIT_MS 100

typedef struct announcement {
    struct announcement *next;
    char *instance_id;
    char *state;
    int64_t due_ms; /* monotonic */
} announcement;

struct hint_sender {
    char *url;
    char *token;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    announcement *head, *tail;
    bool stopping;
};

/* The event as EventBridge's API destination POSTs it (the fields the producer reads, plus
 * the envelope's usual ones so that it looks like the real thing). */
static char *event_body(const announcement *item)
{
    uuid_t id;
    char id_text[37];
    uuid_generate_random(id);
    uuid_unparse_lower(id, id_text);
    char when[32];
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
    json_t *event =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[], s:{s:s, s:s}}", "version", "0", "id",
                  id_text, "detail-type", "EC2 Instance State-change Notification", "source",
                  "aws.ec2", "account", "000000000000", "time", when, "region", "fleet-sim",
                  "resources", "detail", "instance-id", item->instance_id, "state", item->state);
    char *body = event != NULL ? json_dumps(event, JSON_COMPACT) : NULL;
    json_decref(event);
    return body;
}

static void send_one(hint_sender *sender, const announcement *item)
{
    char *body = event_body(item);
    if (body == NULL)
        return;
    http_request_options options = {
        .method = "POST",
        .url = sender->url,
        .bearer_token = sender->token,
        .body = body,
        .timeout_ms = HINT_SEND_TIMEOUT_MS,
    };
    http_response response;
    memset(&response, 0, sizeof response);
    http_client_perform(&options, &response);
    if (response.error != HTTP_CLIENT_OK || response.status < 200 || response.status >= 300)
        log_warn("hint not accepted", "{s:s, s:s, s:i}", "instance_id", item->instance_id, "error",
                 http_client_error_name(response.error), "status", (int)response.status);
    else
        log_debug("hint sent", "{s:s, s:s}", "instance_id", item->instance_id, "state",
                  item->state);
    http_response_free(&response);
    free(body);
}

static void free_announcement(announcement *item)
{
    free(item->instance_id);
    free(item->state);
    free(item);
}

static void *run(void *context)
{
    hint_sender *sender = context;
    pthread_mutex_lock(&sender->lock);
    while (!sender->stopping) {
        int64_t wait_ms = HINT_IDLE_WAIT_MS;
        announcement *item = sender->head;
        if (item != NULL) {
            int64_t until_due = item->due_ms - time_now_monotonic_ms();
            if (until_due <= 0) {
                sender->head = item->next;
                if (sender->head == NULL)
                    sender->tail = NULL;
                pthread_mutex_unlock(&sender->lock);
                send_one(sender, item);
                free_announcement(item);
                pthread_mutex_lock(&sender->lock);
                continue;
            }
            wait_ms = until_due < wait_ms ? until_due : wait_ms;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)wait_ms * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&sender->wake, &sender->lock, &until);
    }
    pthread_mutex_unlock(&sender->lock);
    return NULL;
}

hint_sender *hint_sender_start(const char *url, const char *token)
{
    hint_sender *sender = calloc(1, sizeof *sender);
    if (sender == NULL)
        return NULL;
    if (url == NULL || url[0] == '\0')
        return sender; /* disabled: no thread */
    sender->url = strdup(url);
    sender->token = strdup(token != NULL ? token : "");
    pthread_mutex_init(&sender->lock, NULL);
    pthread_cond_init(&sender->wake, NULL);
    if (sender->url == NULL || sender->token == NULL ||
        pthread_create(&sender->thread, NULL, run, sender) != 0) {
        free(sender->url);
        sender->url = NULL;
        hint_sender_stop(sender);
        return NULL;
    }
    return sender;
}

bool hint_sender_enabled(const hint_sender *sender)
{
    return sender != NULL && sender->url != NULL;
}

void hint_sender_queue(hint_sender *sender, const char *instance_id, const char *state,
                       int64_t delay_ms)
{
    if (!hint_sender_enabled(sender))
        return;
    announcement *item = calloc(1, sizeof *item);
    if (item == NULL)
        return;
    item->instance_id = strdup(instance_id);
    item->state = strdup(state);
    item->due_ms = time_now_monotonic_ms() + delay_ms;
    if (item->instance_id == NULL || item->state == NULL) {
        free_announcement(item);
        return;
    }
    pthread_mutex_lock(&sender->lock);
    if (sender->tail != NULL)
        sender->tail->next = item;
    else
        sender->head = item;
    sender->tail = item;
    pthread_cond_signal(&sender->wake);
    pthread_mutex_unlock(&sender->lock);
}

void hint_sender_stop(hint_sender *sender)
{
    if (sender == NULL)
        return;
    if (sender->url != NULL) {
        pthread_mutex_lock(&sender->lock);
        sender->stopping = true;
        pthread_cond_signal(&sender->wake);
        pthread_mutex_unlock(&sender->lock);
        pthread_join(sender->thread, NULL);
        size_t dropped = 0;
        while (sender->head != NULL) {
            announcement *next = sender->head->next;
            free_announcement(sender->head);
            sender->head = next;
            dropped++;
        }
        if (dropped > 0)
            log_info("queued hints dropped at shutdown", "{s:I}", "count", (json_int_t)dropped);
        pthread_cond_destroy(&sender->wake);
        pthread_mutex_destroy(&sender->lock);
    }
    free(sender->url);
    free(sender->token);
    free(sender);
}
