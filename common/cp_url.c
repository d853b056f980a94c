/* cp_url.c — see cp_url.h. */
#include "cp_url.h"

#include "http_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool cp_base_url_validate(const char *base_url, char *error_buffer, size_t error_size)
{
    if (base_url == NULL || base_url[0] == '\0') {
        snprintf(error_buffer, error_size, "expected an http:// or https:// URL, got nothing");
        return false;
    }
    const char *authority;
    if (strncasecmp(base_url, "http://", strlen("http://")) == 0) {
        authority = base_url + strlen("http://");
    } else if (strncasecmp(base_url, "https://", strlen("https://")) == 0) {
        authority = base_url + strlen("https://");
    } else {
        snprintf(error_buffer, error_size, "expected an http:// or https:// URL");
        return false;
    }
    for (const char *cursor = base_url; *cursor != '\0'; cursor++) {
        unsigned char byte = (unsigned char)*cursor;
        if (byte <= 0x20 || byte >= 0x7f) {
            snprintf(error_buffer, error_size,
                     "the URL contains whitespace, a control or a non-ASCII character");
            return false;
        }
        if (byte == '?' || byte == '#') {
            snprintf(error_buffer, error_size,
                     "the URL must not have a query or fragment: the status path is appended "
                     "to it");
            return false;
        }
    }
    size_t authority_length = strcspn(authority, "/");
    if (memchr(authority, '@', authority_length) != NULL) {
        snprintf(error_buffer, error_size,
                 "credentials in the URL are not allowed; use CP_SHARED_SECRET");
        return false;
    }
    size_t host_length =
        authority[0] == '[' ? strcspn(authority, "]") + 1 : strcspn(authority, ":/");
    if (host_length == 0 || host_length > authority_length ||
        (authority[0] == '[' && authority[host_length - 1] != ']')) {
        snprintf(error_buffer, error_size, "the URL has no host");
        return false;
    }
    const char *port = authority + host_length;
    if (port < authority + authority_length) {
        /* After the host only ":digits" may follow before the path. */
        if (*port != ':' || authority_length - host_length < 2) {
            snprintf(error_buffer, error_size, "the URL's port is not a number");
            return false;
        }
        for (const char *digit = port + 1; digit < authority + authority_length; digit++) {
            if (*digit < '0' || *digit > '9') {
                snprintf(error_buffer, error_size, "the URL's port is not a number");
                return false;
            }
        }
    }
    return true;
}

/* "." and ".." are unreserved, so percent-encoding leaves them alone, but as a whole path
 * segment they are dot-segments that libcurl (RFC 3986 §5.2.4) would resolve, asking about
 * another resource ("/cp/workspaces/../status"). Encoded as %2E they are plain data. */
static char *encode_path_segment(const char *text)
{
    if (strcmp(text, ".") == 0)
        return strdup("%2E");
    if (strcmp(text, "..") == 0)
        return strdup("%2E%2E");
    return http_url_encode(text);
}

char *cp_status_url(const char *base_url, const char *workspace_id, const char *instance_id)
{
    size_t base_length = strlen(base_url);
    while (base_length > 0 && base_url[base_length - 1] == '/')
        base_length--;
    char *encoded_workspace = encode_path_segment(workspace_id);
    char *encoded_instance = http_url_encode(instance_id);
    char *url = NULL;
    if (encoded_workspace != NULL && encoded_instance != NULL) {
        static const char middle[] = "/cp/workspaces/";
        static const char tail[] = "/status?instance_id=";
        size_t length = base_length + strlen(middle) + strlen(encoded_workspace) + strlen(tail) +
                        strlen(encoded_instance) + 1;
        url = malloc(length);
        if (url != NULL)
            snprintf(url, length, "%.*s%s%s%s%s", (int)base_length, base_url, middle,
                     encoded_workspace, tail, encoded_instance);
    }
    free(encoded_workspace);
    free(encoded_instance);
    return url;
}
