/* cp_url.h — the CP status URL of docs/contracts.md §3, and the validation of CP_URL.
 *
 * For: building `{CP_URL}/cp/workspaces/{workspace_id}/status?instance_id={instance_id}` with
 * both ids percent-encoded (every byte outside RFC 3986's unreserved set), whatever bytes the
 * ids hold — a slash, '?', '#', '%', quotes or braces in an id must never change which
 * resource is asked about. Not for: sending the request (http_client.h). */
#ifndef RECONCILER_CP_URL_H
#define RECONCILER_CP_URL_H

#include <stdbool.h>
#include <stddef.h>

/* Checks a CP_URL value: http:// or https:// (scheme case-insensitive), a non-empty host, an
 * optional port and path prefix; no user:password@ (credentials belong in CP_SHARED_SECRET,
 * where they are masked), no query, no fragment, no whitespace or control characters.
 * Returns false with a one-line explanation in error_buffer. Pure. */
bool cp_base_url_validate(const char *base_url, char *error_buffer, size_t error_size);

/* The status URL for one request, malloc'd (caller frees); trailing slashes of base_url are
 * dropped so "http://cp/" and "http://cp" give the same URL. A workspace id of "." or ".."
 * is written %2E / %2E%2E so that it cannot act as a dot-segment. NULL on allocation
 * failure. */
char *cp_status_url(const char *base_url, const char *workspace_id, const char *instance_id);

#endif
