/* pg_bounded.h — PostgreSQL calls that give up on a silent server within a bound.
 *
 * For: opening a libpq session with the options every program shares (connect_timeout,
 * keepalives, tcp_user_timeout) and running a statement with a client-side deadline. Not for:
 * any program's own queries or error classification.
 *
 * Why: a blocking PQexec waits forever on a connection that went silent (a dead NAT entry,
 * a failed-over VIP, a black-holed route), and a process stuck there holds its advisory lock,
 * its restart claims and its Kafka partitions. The kernel options only help when the peer's
 * kernel is gone too; a server (or a proxy) that still acknowledges bytes but never answers
 * is only caught by the deadline here. */
#ifndef RECONCILER_PG_BOUNDED_H
#define RECONCILER_PG_BOUNDED_H

#include <libpq-fe.h>
#include <stdint.h>

/* DATABASE_CALL_TIMEOUT's default (docs/configuration.md): longer than the 30 s
 * statement_timeout the programs set, so a slow query ends with the server's own error first;
 * shorter than the 60 s /healthz liveness window, so a stuck call is abandoned before an
 * orchestrator would restart the process for it. */
#define PG_BOUNDED_DEFAULT_CALL_TIMEOUT_MS 45000

/* The connect's own bound: the smaller of this and call_timeout_ms. */
#define PG_BOUNDED_CONNECT_TIMEOUT_MAX_MS 10000

/* PQconnectdbParams with our defaults before `database_url` (so anything the operator put in
 * the URL wins) and `client_encoding` (NULL: the server's) after it. connect_timeout follows
 * call_timeout_ms up to PG_BOUNDED_CONNECT_TIMEOUT_MAX_MS, tcp_user_timeout is
 * call_timeout_ms. Returns the connection (check PQstatus) or NULL when out of memory. */
PGconn *pg_bounded_connect(const char *database_url, const char *application_name,
                           const char *client_encoding, int64_t call_timeout_ms);

/* PQexecParams (parameter_count > 0) or PQexec (several statements allowed) that returns
 * within timeout_ms. A parameterized statement is prepared on its first use in the session
 * and executed by name from then on (pg_bounded.c says why and what a pooler needs). On the
 * deadline the socket is shut down, so libpq marks the connection CONNECTION_BAD (every caller's
 * reconnect path), a warning names the call
 * ("database_call_timeout"), and NULL is returned. Otherwise the last result, or the first
 * failed one; NULL when the query could not be sent (PQerrorMessage says why). */
PGresult *pg_bounded_exec(PGconn *connection, const char *what, const char *sql,
                          int parameter_count, const char *const *parameters, int64_t timeout_ms);

#endif
