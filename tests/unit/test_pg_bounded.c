/* test_pg_bounded.c — PostgreSQL calls against a silent server end within their bound.
 *
 * A fake server on loopback plays the two silent peers of a black-holed network: one that
 * accepts the TCP connection and never says a word (the connect must give up), and one that
 * completes the startup exchange and then never answers a query (the statement must give up,
 * the connection must be marked bad so the caller reconnects). */
#include "pg_bounded.h"

#include "timeutil.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    int listener;
    int port;
    bool answer_startup; /* AuthenticationOk + ReadyForQuery, then silence */
    int client;
    pthread_t thread;
} silent_server;

static void *serve(void *argument)
{
    silent_server *server = argument;
    server->client = accept(server->listener, NULL, NULL);
    if (server->client < 0 || !server->answer_startup) {
        return NULL;
    }
    char startup[1024];
    (void)!read(server->client, startup, sizeof startup);
    static const unsigned char ready[] = {'R', 0, 0, 0, 8, 0, 0, 0, 0, 'Z', 0, 0, 0, 5, 'I'};
    (void)!write(server->client, ready, sizeof ready);
    /* From here on: read nothing back, answer nothing, close nothing. */
    return NULL;
}

static void start_server(silent_server *server, bool answer_startup)
{
    memset(server, 0, sizeof *server);
    server->client = -1;
    server->answer_startup = answer_startup;
    server->listener = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(server->listener, 0);
    struct sockaddr_in address = {.sin_family = AF_INET};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(server->listener, (struct sockaddr *)&address, sizeof address), 0);
    ck_assert_int_eq(listen(server->listener, 4), 0);
    socklen_t length = sizeof address;
    ck_assert_int_eq(getsockname(server->listener, (struct sockaddr *)&address, &length), 0);
    server->port = ntohs(address.sin_port);
    ck_assert_int_eq(pthread_create(&server->thread, NULL, serve, server), 0);
}

static void stop_server(silent_server *server)
{
    shutdown(server->listener, SHUT_RDWR);
    pthread_join(server->thread, NULL);
    if (server->client >= 0) {
        close(server->client);
    }
    close(server->listener);
}

static void url_of(const silent_server *server, char *buffer, size_t size)
{
    snprintf(buffer, size,
             "postgresql://reconciler@127.0.0.1:%d/reconciler?sslmode=disable&gssencmode=disable",
             server->port);
}

START_TEST(test_pg_bounded_connect_to_a_silent_server_gives_up_within_its_bound)
{
    silent_server server;
    start_server(&server, false);
    char url[256];
    url_of(&server, url, sizeof url);
    int64_t started = time_now_monotonic_ms();
    PGconn *connection = pg_bounded_connect(url, "test", NULL, 2000);
    int64_t elapsed = time_now_monotonic_ms() - started;
    ck_assert_ptr_nonnull(connection);
    ck_assert_int_eq(PQstatus(connection), CONNECTION_BAD);
    ck_assert_msg(elapsed >= 1500 && elapsed < 6000, "gave up after %lld ms", (long long)elapsed);
    PQfinish(connection);
    stop_server(&server);
}
END_TEST

START_TEST(test_pg_bounded_exec_on_a_silent_server_abandons_the_connection)
{
    silent_server server;
    start_server(&server, true);
    char url[256];
    url_of(&server, url, sizeof url);
    PGconn *connection = pg_bounded_connect(url, "test", NULL, 5000);
    ck_assert_int_eq(PQstatus(connection), CONNECTION_OK);

    const char *parameters[] = {"1"};
    int64_t started = time_now_monotonic_ms();
    PGresult *result =
        pg_bounded_exec(connection, "test query", "SELECT $1::int", 1, parameters, 1000);
    int64_t elapsed = time_now_monotonic_ms() - started;
    ck_assert_ptr_null(result);
    ck_assert_msg(elapsed >= 900 && elapsed < 3000, "gave up after %lld ms", (long long)elapsed);
    /* Bad, so every caller's reconnect path takes over; and it stays bad. */
    ck_assert_int_eq(PQstatus(connection), CONNECTION_BAD);
    ck_assert_ptr_null(pg_bounded_exec(connection, "after", "SELECT 1", 0, NULL, 1000));
    PQfinish(connection);
    stop_server(&server);
}
END_TEST

START_TEST(test_pg_bounded_exec_without_a_connection_is_null)
{
    ck_assert_ptr_null(pg_bounded_exec(NULL, "nothing", "SELECT 1", 0, NULL, 1000));
}
END_TEST

static Suite *pg_bounded_suite(void)
{
    Suite *suite = suite_create("pg_bounded");
    TCase *tcase = tcase_create("core");
    tcase_set_timeout(tcase, 30);
    tcase_add_test(tcase, test_pg_bounded_connect_to_a_silent_server_gives_up_within_its_bound);
    tcase_add_test(tcase, test_pg_bounded_exec_on_a_silent_server_abandons_the_connection);
    tcase_add_test(tcase, test_pg_bounded_exec_without_a_connection_is_null);
    suite_add_tcase(suite, tcase);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(pg_bounded_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
