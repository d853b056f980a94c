/* test_pg_prepared.c — pg_bounded_exec's prepared statements against a real PostgreSQL.
 *
 * Each parameterized statement is prepared once per session and executed by name after that;
 * a statement that fails to prepare fails the call and is not remembered; a session whose
 * statements vanished (a pooler in transaction mode, a DEALLOCATE ALL) fails one call and
 * goes on unprepared. Needs the local stack (DATABASE_URL): run through scripts/test.sh. */
#include "pg_bounded.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static PGconn *connection;

static void open_session(void)
{
    const char *url = getenv("DATABASE_URL");
    ck_assert_msg(url != NULL && url[0] != '\0', "DATABASE_URL is not set");
    connection = pg_bounded_connect(url, "test_pg_prepared", NULL, 10000);
    ck_assert_msg(PQstatus(connection) == CONNECTION_OK, "%s", PQerrorMessage(connection));
}

static void close_session(void)
{
    PQfinish(connection);
    connection = NULL;
}

/* How many statements this session has prepared (unparameterized: runs unprepared). */
static long prepared_count(void)
{
    PGresult *result = pg_bounded_exec(
        connection, "count",
        "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'pg\\_bounded\\_%'", 0, NULL,
        10000);
    ck_assert_int_eq(PQresultStatus(result), PGRES_TUPLES_OK);
    long count = strtol(PQgetvalue(result, 0, 0), NULL, 10);
    PQclear(result);
    return count;
}

/* Runs `SELECT $1::int + 1` and returns the answer, or -1 when the call failed. */
static long plus_one(long value)
{
    char text[24];
    snprintf(text, sizeof text, "%ld", value);
    const char *parameters[] = {text};
    PGresult *result =
        pg_bounded_exec(connection, "plus one", "SELECT $1::int + 1", 1, parameters, 10000);
    ck_assert_ptr_nonnull(result);
    long answer =
        PQresultStatus(result) == PGRES_TUPLES_OK ? strtol(PQgetvalue(result, 0, 0), NULL, 10) : -1;
    PQclear(result);
    return answer;
}

static void run(const char *sql)
{
    PGresult *result = pg_bounded_exec(connection, sql, sql, 0, NULL, 10000);
    ck_assert_ptr_nonnull(result);
    PQclear(result);
}

START_TEST(test_pg_prepared_a_statement_is_prepared_once_per_session)
{
    ck_assert_int_eq(prepared_count(), 0);
    for (long value = 0; value < 10; value++)
        ck_assert_int_eq(plus_one(value), value + 1);
    ck_assert_int_eq(prepared_count(), 1);
    const char *parameters[] = {"abc"};
    PGresult *result =
        pg_bounded_exec(connection, "upper", "SELECT upper($1::text)", 1, parameters, 10000);
    ck_assert_int_eq(PQresultStatus(result), PGRES_TUPLES_OK);
    ck_assert_str_eq(PQgetvalue(result, 0, 0), "ABC");
    PQclear(result);
    ck_assert_int_eq(prepared_count(), 2);

    /* A new session starts with none. */
    close_session();
    open_session();
    ck_assert_int_eq(prepared_count(), 0);
    ck_assert_int_eq(plus_one(41), 42);
    ck_assert_int_eq(prepared_count(), 1);
}
END_TEST

START_TEST(test_pg_prepared_a_failed_prepare_fails_the_call_and_is_not_kept)
{
    const char *parameters[] = {"1"};
    PGresult *result = pg_bounded_exec(connection, "typo", "SELEKT $1::int", 1, parameters, 10000);
    ck_assert_int_eq(PQresultStatus(result), PGRES_FATAL_ERROR);
    ck_assert_str_eq(PQresultErrorField(result, PG_DIAG_SQLSTATE), "42601");
    PQclear(result);
    ck_assert_int_eq(prepared_count(), 0);

    /* In an aborted transaction the prepare fails like the statement would; after the
     * rollback the same statement is prepared and runs. */
    run("BEGIN");
    run("SELECT 1/0");
    ck_assert_int_eq(plus_one(1), -1);
    run("ROLLBACK");
    ck_assert_int_eq(plus_one(1), 2);
    ck_assert_int_eq(prepared_count(), 1);
}
END_TEST

START_TEST(test_pg_prepared_lost_statements_fail_one_call_then_the_session_runs_unprepared)
{
    ck_assert_int_eq(plus_one(1), 2);
    ck_assert_int_eq(prepared_count(), 1);
    run("DEALLOCATE ALL"); /* what a pooler's DISCARD ALL, or another server session, does */
    ck_assert_int_eq(plus_one(1), -1);
    for (long value = 0; value < 5; value++)
        ck_assert_int_eq(plus_one(value), value + 1);
    ck_assert_int_eq(prepared_count(), 0);
}
END_TEST

static Suite *pg_prepared_suite(void)
{
    Suite *suite = suite_create("pg_prepared");
    TCase *tcase = tcase_create("core");
    tcase_add_checked_fixture(tcase, open_session, close_session);
    tcase_add_test(tcase, test_pg_prepared_a_statement_is_prepared_once_per_session);
    tcase_add_test(tcase, test_pg_prepared_a_failed_prepare_fails_the_call_and_is_not_kept);
    tcase_add_test(tcase,
                   test_pg_prepared_lost_statements_fail_one_call_then_the_session_runs_unprepared);
    suite_add_tcase(suite, tcase);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(pg_prepared_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
