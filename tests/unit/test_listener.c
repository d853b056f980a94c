/* Unit tests of common/listener.c: the address syntax every server we run accepts (IPv4,
 * localhost, [IPv6], port 0), the named error for each way an address is wrong, and that port 0
 * reports the port the kernel actually chose. */
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listener.h"

static uint16_t parsed_port(const listener_address *address)
{
    return address->storage.ss_family == AF_INET6
               ? ntohs(((const struct sockaddr_in6 *)&address->storage)->sin6_port)
               : ntohs(((const struct sockaddr_in *)&address->storage)->sin_port);
}

START_TEST(test_listener_parses_ipv4_localhost_and_ipv6)
{
    static const struct {
        const char *text;
        int family;
        const char *host; /* as inet_ntop prints it */
        uint16_t port;
    } good[] = {
        {"127.0.0.1:9101", AF_INET, "127.0.0.1", 9101},
        {"0.0.0.0:0", AF_INET, "0.0.0.0", 0},
        {"localhost:65535", AF_INET, "127.0.0.1", 65535},
        {"[::1]:9101", AF_INET6, "::1", 9101},
        {"[::]:0", AF_INET6, "::", 0},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        listener_address address;
        char error[256] = "";
        ck_assert_msg(listener_parse(good[i].text, "TEST_ADDR", &address, error, sizeof error) ==
                          LISTENER_OK,
                      "'%s' refused: %s", good[i].text, error);
        ck_assert_int_eq(address.storage.ss_family, good[i].family);
        ck_assert_uint_eq(parsed_port(&address), good[i].port);
        char host[INET6_ADDRSTRLEN];
        const void *raw = good[i].family == AF_INET6
                              ? (const void *)&((struct sockaddr_in6 *)&address.storage)->sin6_addr
                              : (const void *)&((struct sockaddr_in *)&address.storage)->sin_addr;
        ck_assert_ptr_nonnull(inet_ntop(good[i].family, raw, host, sizeof host));
        ck_assert_str_eq(host, good[i].host);
        ck_assert_uint_eq(address.length, good[i].family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                                     : sizeof(struct sockaddr_in));
    }
}
END_TEST

START_TEST(test_listener_names_each_bad_address)
{
    static const struct {
        const char *text;
        listener_error expected;
    } bad[] = {
        {"", LISTENER_ERROR_EMPTY_ADDRESS},      {"nonsense", LISTENER_ERROR_SYNTAX},
        {"127.0.0.1", LISTENER_ERROR_SYNTAX},    {":9090", LISTENER_ERROR_SYNTAX},
        {"[::1", LISTENER_ERROR_SYNTAX},         {"[::1]9090", LISTENER_ERROR_SYNTAX},
        {"127.0.0.1:", LISTENER_ERROR_PORT},     {"127.0.0.1:70000", LISTENER_ERROR_PORT},
        {"127.0.0.1:abc", LISTENER_ERROR_PORT},  {"127.0.0.1:+80", LISTENER_ERROR_PORT},
        {"127.0.0.1:-1", LISTENER_ERROR_PORT},   {"127.0.0.1:123456", LISTENER_ERROR_PORT},
        {"example.com:80", LISTENER_ERROR_HOST}, {"300.0.0.1:1", LISTENER_ERROR_HOST},
        {"[nope]:1", LISTENER_ERROR_HOST},       {"::1:80", LISTENER_ERROR_HOST},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        listener_address address;
        char error[256] = "";
        listener_error got =
            listener_parse(bad[i].text, "TEST_ADDR", &address, error, sizeof error);
        ck_assert_msg(got == bad[i].expected, "'%s': %s, expected %s", bad[i].text,
                      listener_error_name(got), listener_error_name(bad[i].expected));
        /* The message names the setting and the value, so the operator sees which one. */
        ck_assert_msg(strstr(error, "TEST_ADDR") != NULL, "'%s': %s", bad[i].text, error);
        ck_assert_msg(strstr(error, bad[i].text) != NULL, "'%s': %s", bad[i].text, error);
    }
    listener_address address;
    ck_assert_int_eq(listener_parse(NULL, "TEST_ADDR", &address, NULL, 0),
                     LISTENER_ERROR_EMPTY_ADDRESS);
}
END_TEST

START_TEST(test_listener_error_names_are_stable)
{
    ck_assert_str_eq(listener_error_name(LISTENER_OK), "listener_ok");
    ck_assert_str_eq(listener_error_name(LISTENER_ERROR_EMPTY_ADDRESS), "listener_empty_address");
    ck_assert_str_eq(listener_error_name(LISTENER_ERROR_SYNTAX), "listener_syntax");
    ck_assert_str_eq(listener_error_name(LISTENER_ERROR_PORT), "listener_port");
    ck_assert_str_eq(listener_error_name(LISTENER_ERROR_HOST), "listener_host");
    ck_assert_str_eq(listener_error_name(LISTENER_ERROR_SYSTEM), "listener_system");
    ck_assert_str_eq(listener_error_name((listener_error)99), "listener_unknown");
}
END_TEST

/* The port a socket is really bound to, asked of the kernel independently of listener.c. */
static int kernel_port(int fd)
{
    struct sockaddr_storage bound;
    socklen_t length = sizeof bound;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&bound, &length), 0);
    return bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&bound)->sin_port);
}

/* Opens `address` with a small backlog; the test fails with the listener's message if it cannot. */
static listener_socket open_ok(const char *address, bool nonblocking)
{
    listener_socket listening;
    char error[256] = "";
    listener_error result =
        listener_open(address, "TEST_ADDR", 16, nonblocking, &listening, error, sizeof error);
    ck_assert_msg(result == LISTENER_OK, "%s: %s", address, error);
    return listening;
}

START_TEST(test_listener_port_zero_reports_the_port_the_kernel_chose)
{
    listener_socket listening = open_ok("127.0.0.1:0", false);
    ck_assert_int_gt(listening.port, 0);
    ck_assert_int_eq(listening.port, kernel_port(listening.fd));
    ck_assert(!listening.ipv6);
    ck_assert_int_ne(fcntl(listening.fd, F_GETFD) & FD_CLOEXEC, 0);
    ck_assert_int_eq(fcntl(listening.fd, F_GETFL) & O_NONBLOCK, 0);

    /* It listens: a client connects to the reported port. */
    int client = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)listening.port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    ck_assert_int_eq(connect(client, (struct sockaddr *)&to, sizeof to), 0);
    close(client);
    close(listening.fd);
}
END_TEST

START_TEST(test_listener_nonblocking_when_asked)
{
    listener_socket listening = open_ok("localhost:0", true);
    ck_assert_int_ne(fcntl(listening.fd, F_GETFL) & O_NONBLOCK, 0);
    close(listening.fd);
}
END_TEST

START_TEST(test_listener_port_in_use_says_bind_and_why)
{
    listener_socket first = open_ok("127.0.0.1:0", false);
    char address[64], error[256] = "";
    snprintf(address, sizeof address, "127.0.0.1:%d", first.port);
    listener_socket second;
    ck_assert_int_eq(listener_open(address, "TEST_ADDR", 16, false, &second, error, sizeof error),
                     LISTENER_ERROR_SYSTEM);
    ck_assert_int_eq(second.fd, -1);
    ck_assert_msg(strstr(error, address) != NULL, "%s", error);
    ck_assert_msg(strstr(error, "bind") != NULL, "%s", error);
    ck_assert_msg(strstr(error, "in use") != NULL, "%s", error);
    close(first.fd);
}
END_TEST

START_TEST(test_listener_bad_address_opens_nothing)
{
    listener_socket listening;
    char error[256] = "";
    ck_assert_int_eq(
        listener_open("example.com:80", "TEST_ADDR", 16, false, &listening, error, sizeof error),
        LISTENER_ERROR_HOST);
    ck_assert_int_eq(listening.fd, -1);
}
END_TEST

START_TEST(test_listener_ipv6_loopback_port_zero)
{
    listener_socket listening;
    char error[256] = "";
    listener_error result =
        listener_open("[::1]:0", "TEST_ADDR", 16, false, &listening, error, sizeof error);
    if (result != LISTENER_OK) {
        /* Some containers have no IPv6 loopback; then it must be the system that refused. */
        ck_assert_msg(result == LISTENER_ERROR_SYSTEM, "%s", error);
        return;
    }
    ck_assert(listening.ipv6);
    ck_assert_int_gt(listening.port, 0);
    ck_assert_int_eq(listening.port, kernel_port(listening.fd));
    close(listening.fd);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("listener");
    TCase *parse = tcase_create("parse");
    tcase_add_test(parse, test_listener_parses_ipv4_localhost_and_ipv6);
    tcase_add_test(parse, test_listener_names_each_bad_address);
    tcase_add_test(parse, test_listener_error_names_are_stable);
    suite_add_tcase(suite, parse);
    TCase *open = tcase_create("open");
    tcase_add_test(open, test_listener_port_zero_reports_the_port_the_kernel_chose);
    tcase_add_test(open, test_listener_nonblocking_when_asked);
    tcase_add_test(open, test_listener_port_in_use_says_bind_and_why);
    tcase_add_test(open, test_listener_bad_address_opens_nothing);
    tcase_add_test(open, test_listener_ipv6_loopback_port_zero);
    suite_add_tcase(suite, open);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
