/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * CGI header block scanning (layer L0): no APR, no httpd, no allocation,
 * so that it is unit tested on every split an application's records can
 * make (t/unit/test_cgi.c).
 */

#include <stddef.h>
#include <string.h>

#include "fcgix_cgi.h"

/* The block is empty when the output starts with a blank line. */
static size_t leading_blank(const char *buf, size_t len)
{
    if (len >= 1 && buf[0] == '\n') {
        return 1;
    }
    if (len >= 2 && buf[0] == '\r' && buf[1] == '\n') {
        return 2;
    }
    return 0;
}

/* Offset after the blank line that follows a line end in buf[*scan..len),
 * or 0; *scan is left where the search must resume once more arrives (on
 * a line end whose follower is not there yet). */
static size_t find_end(const char *buf, size_t len, size_t *scan)
{
    size_t i;

    for (i = *scan; i < len; i++) {
        /* Line to line: memchr, not a test per byte. */
        const char *nl = memchr(buf + i, '\n', len - i);
        if (nl == NULL) {
            i = len;
            break;
        }
        i = (size_t)(nl - buf);
        if (i + 1 >= len) {
            break;
        }
        if (buf[i + 1] == '\n') {
            return i + 2;
        }
        if (buf[i + 1] == '\r') {
            if (i + 2 >= len) {
                break;
            }
            if (buf[i + 2] == '\n') {
                return i + 3;
            }
        }
    }
    *scan = i;
    return 0;
}

fcgix_cgi_rc_e fcgix_cgi_header_end(const char *buf, size_t len, size_t max,
                                    size_t *scan, size_t *body_off)
{
    size_t end = 0;

    if (len > max) {
        len = max;
    }
    if (*scan == 0) {
        end = leading_blank(buf, len);
        if (end == 0 && len == 1 && buf[0] == '\r') {
            /* "\r" alone may yet become a leading blank line. */
            return max > 1 ? FCGIX_CGI_AGAIN : FCGIX_CGI_TOOBIG;
        }
    }
    if (end == 0) {
        end = find_end(buf, len, scan);
    }
    if (end) {
        *body_off = end;
        return FCGIX_CGI_FOUND;
    }
    return len >= max ? FCGIX_CGI_TOOBIG : FCGIX_CGI_AGAIN;
}

int fcgix_cgi_status(const char *value)
{
    int i, n = 0;

    for (i = 0; i < 3; i++) {
        if (value[i] < '0' || value[i] > '9') {
            return 0;
        }
        n = n * 10 + (value[i] - '0');
    }
    if (value[0] == '0' || (value[3] != '\0' && value[3] != ' ')) {
        return 0;
    }
    return n;
}
