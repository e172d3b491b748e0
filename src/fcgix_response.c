/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <strings.h>

#include "apr_strings.h"
#include "apr_lib.h"
#include "apr_date.h"

#include "httpd.h"
#include "http_protocol.h"
#include "http_request.h"

#include "fcgix.h"
#include "fcgix_response.h"

apr_size_t fcgix_response_header_end(const char *buf, apr_size_t len,
                                      apr_size_t *scan)
{
    apr_size_t i = *scan;

    /* A block may be empty: the body starts after a leading blank line. */
    if (i == 0 && len > 0) {
        if (buf[0] == '\n') {
            return 1;
        }
        if (buf[0] == '\r') {
            if (len < 2) {
                return 0;
            }
            if (buf[1] == '\n') {
                return 2;
            }
        }
    }
    for (; i < len; i++) {
        if (buf[i] != '\n') {
            continue;
        }
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

static int is_token_char(int c)
{
    return apr_isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *const hop_by_hop[] = {
    "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade",
    "Proxy-Connection", "TE", "Trailer", NULL
};

int fcgix_response_hop_by_hop(const char *name)
{
    int i;

    for (i = 0; hop_by_hop[i]; i++) {
        if (!strcasecmp(name, hop_by_hop[i])) {
            return 1;
        }
    }
    return 0;
}

int fcgix_response_status(const char *value)
{
    if (!apr_isdigit(value[0]) || !apr_isdigit(value[1])
        || !apr_isdigit(value[2]) || (value[3] != '\0' && value[3] != ' ')
        || value[0] == '0') {
        return 0;
    }
    return atoi(value);
}

const char *fcgix_response_parse(apr_pool_t *p, char *buf, apr_size_t len,
                                 apr_table_t *fields)
{
    char *q = buf, *end = buf + len;
    char *name = NULL, *value = NULL;

    if (memchr(buf, '\0', len)) {
        return "NUL byte in response header";
    }
    while (q < end) {
        char *eol = memchr(q, '\n', (apr_size_t)(end - q));
        char *line = q, *le, *colon, *v;

        if (eol == NULL) {
            eol = end;
        }
        q = eol + 1;
        le = eol;
        if (le > line && le[-1] == '\r') {
            le--;
        }
        *le = '\0';
        if (le == line) {
            continue;
        }
        if (*line == ' ' || *line == '\t') {
            /* obs-fold: continues the previous field's value. */
            if (name == NULL) {
                return "continuation line before any header";
            }
            while (*line == ' ' || *line == '\t') {
                line++;
            }
            value = apr_pstrcat(p, value, " ", line, NULL);
            continue;
        }
        if (name) {
            apr_table_addn(fields, name, value);
        }
        colon = strchr(line, ':');
        if (colon == NULL || colon == line) {
            return apr_psprintf(p, "malformed header line '%.60s'", line);
        }
        *colon = '\0';
        for (v = line; *v; v++) {
            if (!is_token_char((unsigned char)*v)) {
                return apr_psprintf(p, "invalid header name '%.60s'", line);
            }
        }
        v = colon + 1;
        while (*v == ' ' || *v == '\t') {
            v++;
        }
        le = v + strlen(v);
        while (le > v && (le[-1] == ' ' || le[-1] == '\t')) {
            *--le = '\0';
        }
        name = line;
        value = v;
    }
    if (name) {
        apr_table_addn(fields, name, value);
    }
    return NULL;
}

typedef struct {
    request_rec *r;
    const char **location;
    const char *err;
} apply_ctx_t;

static int apply_one(void *data, const char *name, const char *value)
{
    apply_ctx_t *ctx = data;
    request_rec *r = ctx->r;

    if (!strcasecmp(name, "Status")) {
        int code = fcgix_response_status(value);
        if (code == 0) {
            ctx->err = apr_psprintf(r->pool, "invalid Status '%.40s'",
                                    value);
            return 0;
        }
        if (code < 200 || code > 599) {
            /* An interim (1xx) status as the final one would leave the
             * client waiting for the real response on a connection we
             * go on writing to; nothing sends 103 Early Hints yet. */
            ctx->err = apr_psprintf(r->pool, "final Status %d is not "
                                    "200 to 599", code);
            return 0;
        }
        r->status = code;
        r->status_line = (value[3] == ' ' && value[4]) ? value : NULL;
    }
    else if (!strcasecmp(name, "Content-Type")) {
        ap_set_content_type(r, value);
    }
    else if (!strcasecmp(name, "Location")) {
        *ctx->location = value;
        apr_table_setn(r->headers_out, "Location", value);
    }
    else if (!strcasecmp(name, "Content-Length")) {
        char *end;
        apr_off_t cl;
        if (apr_strtoff(&cl, value, &end, 10) != APR_SUCCESS || *end
            || end == value || cl < 0) {
            ctx->err = apr_psprintf(r->pool, "invalid Content-Length "
                                    "'%.40s'", value);
            return 0;
        }
        apr_table_setn(r->headers_out, "Content-Length", value);
    }
    else if (!strcasecmp(name, "Last-Modified")) {
        apr_time_t t = apr_date_parse_http(value);
        if (t != APR_DATE_BAD) {
            ap_update_mtime(r, t);
            ap_set_last_modified(r);
        }
    }
    else if (!strcasecmp(name, "Set-Cookie")) {
        /* err_headers_out survives redirects and error pages. */
        apr_table_addn(r->err_headers_out, "Set-Cookie", value);
    }
    else if (!fcgix_response_hop_by_hop(name)) {
        apr_table_addn(r->headers_out, name, value);
    }
    return 1;
}

const char *fcgix_response_apply(request_rec *r, const apr_table_t *fields,
                                 fcgix_resp_action_e *action,
                                 const char **location, int *cond_status)
{
    apply_ctx_t ctx;

    *location = NULL;
    *action = FCGIX_RESP_SEND;
    ctx.r = r;
    ctx.location = location;
    ctx.err = NULL;
    apr_table_do(apply_one, &ctx, fields, NULL);
    if (ctx.err) {
        return ctx.err;
    }
    if (*location && r->status == HTTP_OK) {
        if ((*location)[0] == '/') {
            *action = FCGIX_RESP_INTERNAL_REDIRECT;
        }
        else if (ap_is_url(*location)) {
            *action = FCGIX_RESP_EXTERNAL_REDIRECT;
        }
    }
    else if (r->status == HTTP_OK) {
        int cond = ap_meets_conditions(r);
        if (cond != OK) {
            *action = FCGIX_RESP_CONDITIONAL;
            *cond_status = cond;
        }
    }
    return NULL;
}
