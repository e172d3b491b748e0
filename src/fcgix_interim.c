/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <strings.h>

#include "httpd.h"
#include "http_log.h"
#include "http_protocol.h"

#include "fcgix.h"
#include "fcgix_cgi.h"
#include "fcgix_interim.h"
#include "fcgix_response.h"

int fcgix_interim_code(const apr_table_t *fields)
{
    const char *st = apr_table_get(fields, "Status");
    int code = st ? fcgix_cgi_status(st) : 0;

    /* 101 is no interim response but a switch of the connection, which
     * is httpd's: it stays a final Status the reply may not have. */
    return code >= 100 && code < 200 && code != HTTP_SWITCHING_PROTOCOLS
           ? code : 0;
}

static apr_status_t refuse(fcgix_req_t *q)
{
    q->fail = HTTP_BAD_GATEWAY;
    fcgix_req_set_state(q, FCGIX_REQ_DONE);
    return FCGIX_FAILED;
}

/* What an interim response may carry: not the Status field, nor what
 * describes a body or the connection (an interim response has neither;
 * HTTP/2 refuses connection fields outright). */
static int carried(const char *name)
{
    return strcasecmp(name, "Status") && strcasecmp(name, "Content-Length")
           && strcasecmp(name, "Content-Type")
           && !fcgix_response_hop_by_hop(name);
}

apr_status_t fcgix_interim_send(fcgix_req_t *q, const apr_table_t *fields,
                                int code)
{
    request_rec *r = q->r;
    const apr_array_header_t *arr = apr_table_elts(fields);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    apr_table_t *saved_out = r->headers_out;
    const char *saved_line = r->status_line;
    int saved_status = r->status, i;

    if (++q->interims > FCGIX_INTERIM_MAX) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00661)
                      SRV_FMT "more than %d interim (1xx) header blocks",
                      SRV_ARGS(q), FCGIX_INTERIM_MAX);
        return refuse(q);
    }
    if (r->proto_num < HTTP_VERSION(1, 1)
        || (code == HTTP_CONTINUE && !r->expecting_100)) {
        /* HTTP/1.0 has no interim responses; a 100 the client did not
         * ask for, or already got when its body was read, is noise. */
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, FCGIX_LOGNO(00662)
                      SRV_FMT "interim response %d not sent (%s)",
                      SRV_ARGS(q), code,
                      r->proto_num < HTTP_VERSION(1, 1)
                          ? "HTTP/1.0 client" : "no 100-continue expected");
        return FCGIX_INTERIM;
    }
    /* ap_send_interim_response sends r->status with r->headers_out and
     * empties that table: the final response's fields, applied later,
     * must not be sent early nor lost. */
    r->headers_out = apr_table_make(r->pool, arr->nelts);
    for (i = 0; i < arr->nelts; i++) {
        if (carried(e[i].key)) {
            apr_table_addn(r->headers_out, e[i].key, e[i].val);
        }
    }
    r->status = code;
    r->status_line = NULL;
    ap_send_interim_response(r, 1);
    r->headers_out = saved_out;
    r->status = saved_status;
    r->status_line = saved_line;
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, SRV_FMT "interim "
                  "response %d sent", SRV_ARGS(q), code);
    return FCGIX_INTERIM;
}

void fcgix_interim_drop(fcgix_req_t *q, apr_size_t len)
{
    memmove(q->hbuf, q->hbuf + len, q->hlen - len);
    q->hlen -= len;
    q->hscan = 0;
}
