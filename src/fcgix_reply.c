/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <stdint.h>
#include <stdlib.h>

#include "apr_strings.h"

#include "httpd.h"
#include "http_log.h"
#include "http_protocol.h"
#include "util_filter.h"

#include "fcgix.h"
#include "fcgix_cgi.h"
#include "fcgix_interim.h"
#include "fcgix_override.h"
#include "fcgix_reply.h"
#include "fcgix_req.h"
#include "fcgix_response.h"

/* ------------------------------------------------------------------ */
/* Application stderr                                                  */
/* ------------------------------------------------------------------ */

static void stderr_line(fcgix_req_t *q)
{
    apr_size_t n = q->errlen;

    while (n > 0 && (q->errline[n - 1] == '\r' || q->errline[n - 1] == '\n'))
    {
        n--;
    }
    if (n > 0 && q->err_lines < q->err_max_lines
        && q->err_bytes + (apr_off_t)n <= q->err_max_bytes) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, q->r,
                      FCGIX_LOGNO(00101) SRV_FMT "stderr: %.*s",
                      SRV_ARGS(q), (int)n, q->errline);
        q->err_lines++;
        q->err_bytes += n;
    }
    else if (n > 0) {
        /* An application must not be able to flood the error log. */
        q->err_drop_lines++;
        q->err_drop_bytes += n;
    }
    q->errlen = 0;
}

/* Once per request: how much stderr the limits kept out of the log. */
void fcgix_reply_log_stderr(fcgix_req_t *q)
{
    if (q->errlen) {
        stderr_line(q);
    }
    if (q->err_drop_lines == 0) {
        return;
    }
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, q->r,
                  FCGIX_LOGNO(00301) SRV_FMT "stderr: %" APR_OFF_T_FMT
                  " more lines (%" APR_OFF_T_FMT " bytes) not logged; "
                  "%" APR_OFF_T_FMT " lines (%" APR_OFF_T_FMT " bytes) "
                  "were (FcgixStderrMaxLines %" APR_OFF_T_FMT
                  ", FcgixStderrMaxBytes %" APR_OFF_T_FMT ")",
                  SRV_ARGS(q), q->err_drop_lines, q->err_drop_bytes,
                  q->err_lines, q->err_bytes, q->err_max_lines,
                  q->err_max_bytes);
    q->err_drop_lines = q->err_drop_bytes = 0;
}

static void stderr_feed(fcgix_req_t *q, const char *data, apr_size_t len)
{
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        apr_size_t take = nl ? (apr_size_t)(nl - data) + 1 : len;
        apr_size_t room = ERRLINE_MAX - q->errlen;

        if (take > room) {
            take = room;
        }
        memcpy(q->errline + q->errlen, data, take);
        q->errlen += take;
        data += take;
        len -= take;
        /* A line longer than the buffer is logged in pieces. */
        if (q->errlen == ERRLINE_MAX || q->errline[q->errlen - 1] == '\n') {
            stderr_line(q);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Output to the client                                                */
/* ------------------------------------------------------------------ */

static apr_status_t out_data(fcgix_req_t *q, const char *data,
                             apr_size_t len)
{
    apr_bucket *b;

    if (q->auth && len) {
        apr_off_t have = 0;
        apr_brigade_length(q->auth->body, 0, &have);
        if (have + (apr_off_t)len > FCGIX_AUTH_BODY_MAX) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r,
                          FCGIX_LOGNO(00127) SRV_FMT
                          "authorizer body exceeds %d bytes",
                          SRV_ARGS(q), FCGIX_AUTH_BODY_MAX);
            q->fail = HTTP_BAD_GATEWAY;
            fcgix_req_set_state(q, FCGIX_REQ_DONE);
            return FCGIX_FAILED;
        }
        return apr_brigade_write(q->auth->body, NULL, NULL, data, len);
    }
    if (len == 0 || q->client_gone || q->r->header_only) {
        return APR_SUCCESS;
    }
    if (q->xs.buffering == FCGIX_BUFFERING_YES) {
        /* Held past this read: copied out of rbuf. */
        q->held += len;
        return apr_brigade_write(q->ob, NULL, NULL, data, len);
    }
    if (q->rroot && (uintptr_t)data >= (uintptr_t)q->rbuf
        && (uintptr_t)data < (uintptr_t)q->rbuf + q->rsize) {
        /* A slice of the read buffer's own bucket: nothing is copied,
         * even when the client is slow and the core sets it aside. */
        apr_bucket_copy(q->rroot, &b);
        b->start = data - q->rbuf;
        b->length = len;
        APR_BRIGADE_INSERT_TAIL(q->ob, b);
        return APR_SUCCESS;
    }
    if (q->ms && (b = fcgix_mpx_bucket(q->ms, data, len,
                                       q->c->bucket_alloc)) != NULL) {
        /* The record as the shared connection's reader queued it. */
        APR_BRIGADE_INSERT_TAIL(q->ob, b);
        return APR_SUCCESS;
    }
    if (q->ms && ((uintptr_t)data < (uintptr_t)q->hbuf
                  || (uintptr_t)data >= (uintptr_t)q->hbuf + q->hcap)) {
        /* A second slice of a shared connection's record (the first took
         * it over): copied, since the reply may go down only after the
         * next record is taken, which frees this one. */
        APR_BRIGADE_INSERT_TAIL(q->ob, apr_bucket_heap_create(
                                           data, len, NULL,
                                           q->c->bucket_alloc));
        return APR_SUCCESS;
    }
    /* The header block's tail (hbuf). */
    APR_BRIGADE_INSERT_TAIL(q->ob, apr_bucket_transient_create(
                                       data, len, q->c->bucket_alloc));
    return APR_SUCCESS;
}

/* Passes what is queued; transient buckets point into rbuf, so this runs
 * before rbuf is read into again. The application's X-Accel-Buffering
 * overrides @p flush: "no" flushes whatever a read brought, "yes" holds
 * the body until its end or FCGIX_BUFFERING_HOLD_MAX bytes. */
void fcgix_reply_pass(fcgix_req_t *q, int flush)
{
    apr_status_t rv;

    if (q->auth || q->client_gone) {
        return;
    }
    if (q->xs.buffering == FCGIX_BUFFERING_YES) {
        if (q->held < FCGIX_BUFFERING_HOLD_MAX
            && (APR_BRIGADE_EMPTY(q->ob)
                || !APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(q->ob)))) {
            return;
        }
        q->held = 0;
        flush = 0;
    }
    else if (q->xs.buffering == FCGIX_BUFFERING_NO
             && !APR_BRIGADE_EMPTY(q->ob)) {
        flush = 1;
    }
    if (APR_BRIGADE_EMPTY(q->ob) && !flush) {
        return;
    }
    if (flush) {
        apr_bucket *fb = apr_bucket_flush_create(q->c->bucket_alloc);
        /* Nothing may follow EOS: filters that finish at it (mod_deflate)
         * would drop or trip over a bucket behind it. */
        if (!APR_BRIGADE_EMPTY(q->ob)
            && APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(q->ob))) {
            APR_BUCKET_INSERT_BEFORE(APR_BRIGADE_LAST(q->ob), fb);
        }
        else {
            APR_BRIGADE_INSERT_TAIL(q->ob, fb);
        }
    }
    rv = ap_pass_brigade(q->out, q->ob);
    apr_brigade_cleanup(q->ob);
    q->out_started = 1;
    q->unflushed = !flush;
    if (rv != APR_SUCCESS) {
        q->client_gone = 1;
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, q->r,
                      FCGIX_LOGNO(00116) SRV_FMT
                      "client went away while the response was sent",
                      SRV_ARGS(q));
    }
}

/* Queues an error bucket so that the client sees a broken response (no
 * last chunk, connection closed) rather than a short one that looks
 * complete. */
void fcgix_reply_abort(fcgix_req_t *q, int status)
{
    conn_rec *c = q->c;

    if (q->client_gone) {
        return;
    }
    apr_brigade_cleanup(q->ob);
    APR_BRIGADE_INSERT_TAIL(q->ob, ap_bucket_error_create(
                                       status, NULL, q->r->pool,
                                       c->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(q->ob, apr_bucket_eos_create(c->bucket_alloc));
    ap_pass_brigade(q->out, q->ob);
    apr_brigade_cleanup(q->ob);
    c->keepalive = AP_CONN_CLOSE;
    q->r->no_cache = 1;
}

/* ------------------------------------------------------------------ */
/* Reading the application                                             */
/* ------------------------------------------------------------------ */

static apr_status_t fail_502(fcgix_req_t *q)
{
    q->fail = HTTP_BAD_GATEWAY;
    fcgix_req_set_state(q, FCGIX_REQ_DONE);
    return FCGIX_FAILED;
}

/* An authorizer's reply: every field kept, in order (fcgix_authz.c reads
 * Variable-* and sends a denial as written); only its Status counts. */
static const char *auth_reply(fcgix_req_t *q, apr_table_t *fields)
{
    const char *st = apr_table_get(fields, "Status");

    q->auth->headers = fields;
    if (st == NULL) {
        /* CGI would read a missing Status as 200, but a grant must be
         * said: a reply of only "Location:" (a login page, say) or one cut
         * short by a broken script must not open the door. */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, q->r,
                      FCGIX_LOGNO(00302) SRV_FMT "authorizer reply "
                      "has no Status: access denied (403); a grant "
                      "needs an explicit \"Status: 200\"",
                      SRV_ARGS(q));
        q->auth->status = HTTP_FORBIDDEN;
        return NULL;
    }
    return fcgix_response_status(q->r->pool, st, &q->auth->status);
}

static apr_status_t headers_complete(fcgix_req_t *q, apr_size_t body_off)
{
    apr_table_t *fields = apr_table_make(q->r->pool, 16);
    const char *err;
    int code;

    err = fcgix_response_parse(q->r->pool, q->hbuf, body_off, q->set->nph,
                               fields);
    if (err == NULL && !q->auth && !q->data
        && (code = fcgix_interim_code(fields))) {
        return fcgix_interim_send(q, fields, code);
    }
    if (err == NULL && q->auth) {
        err = auth_reply(q, fields);
    }
    else if (err == NULL) {
        fcgix_sendfile_take(q->dc->sendfile, fields, &q->xs);
        err = fcgix_response_apply(q->r, fields, &q->action, &q->location,
                                   &q->cond_status);
    }
    if (err) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r,
                      FCGIX_LOGNO(00108) SRV_FMT
                      "malformed response header: %s", SRV_ARGS(q), err);
        return fail_502(q);
    }
    if (q->xs.file || q->xs.uri) {
        /* httpd sends the file once the application is done: its body
         * is read and dropped. */
        fcgix_req_set_state(q, FCGIX_REQ_DISCARD);
        return APR_SUCCESS;
    }
    if (fcgix_override_wanted(q)) {
        q->action = FCGIX_RESP_ERROR_PAGE;
    }
    if (q->action == FCGIX_RESP_SEND) {
        fcgix_req_set_state(q, FCGIX_REQ_BODY);
        return out_data(q, q->hbuf + body_off, q->hlen - body_off);
    }
    fcgix_req_set_state(q, FCGIX_REQ_DISCARD);
    return APR_SUCCESS;
}

/* The header buffer's first size: most blocks are a few hundred bytes,
 * and allocating FcgixMaxResponseHeaderLen (64 KiB by default) for each
 * request took a fresh block from the allocator every time. */
#define HBUF_FIRST 2048

/* Room for @p need bytes of header block (at most q->hmax). */
static void hbuf_reserve(fcgix_req_t *q, apr_size_t need)
{
    apr_size_t cap = q->hcap ? q->hcap : HBUF_FIRST;
    char *nb;

    if (q->hbuf && need <= q->hcap) {
        return;
    }
    while (cap < need) {
        cap *= 2;
    }
    if (cap > q->hmax) {
        cap = q->hmax;
    }
    nb = apr_palloc(q->r->pool, cap);
    if (q->hlen) {
        memcpy(nb, q->hbuf, q->hlen);
    }
    q->hbuf = nb;
    q->hcap = cap;
}

static apr_status_t on_stdout(fcgix_req_t *q, const char *data,
                              apr_size_t len)
{
    apr_size_t take, body_off = 0;
    apr_status_t rv;

    switch (q->state) {
    case FCGIX_REQ_HEADERS:
        take = q->hmax - q->hlen;
        if (take > len) {
            take = len;
        }
        hbuf_reserve(q, q->hlen + take);
        memcpy(q->hbuf + q->hlen, data, take);
        q->hlen += take;
        switch (fcgix_cgi_header_end(q->hbuf, q->hlen, q->hmax, &q->hscan,
                                     &body_off)) {
        case FCGIX_CGI_AGAIN:
            return APR_SUCCESS;
        case FCGIX_CGI_TOOBIG:
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r,
                          FCGIX_LOGNO(00109) SRV_FMT
                          "response header block exceeds %" APR_SIZE_T_FMT
                          " bytes (FcgixMaxResponseHeaderLen)",
                          SRV_ARGS(q), q->hmax);
            return fail_502(q);
        case FCGIX_CGI_FOUND:
            break;
        }
        if ((rv = headers_complete(q, body_off)) == FCGIX_INTERIM) {
            /* The next block follows (at most FCGIX_INTERIM_MAX deep). */
            fcgix_interim_drop(q, body_off);
            return on_stdout(q, data + take, len - take);
        }
        if (rv != APR_SUCCESS) {
            return FCGIX_FAILED;
        }
        if (q->state == FCGIX_REQ_BODY) {
            return out_data(q, data + take, len - take);
        }
        return APR_SUCCESS;
    case FCGIX_REQ_BODY:
        return out_data(q, data, len);
    default:
        return APR_SUCCESS;
    }
}

apr_status_t fcgix_reply_event(fcgix_req_t *q, const fcgix_event_t *ev)
{
    if (ev->kind == FCGIX_EV_MGMT && ev->type == FCGIX_GET_VALUES_RESULT
        && q->pl) {
        fcgix_pool_stats_t st;
        fcgix_pool_caps_answer(q->pl, ev->data, ev->len);
        fcgix_pool_stats(q->pl, &st);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, q->r, FCGIX_LOGNO(00138)
                      SRV_FMT "FCGI_GET_VALUES_RESULT: MPXS_CONNS=%d "
                      "MAX_CONNS=%d MAX_REQS=%d", SRV_ARGS(q), st.mpxs_conns,
                      st.max_conns, st.max_reqs);
        return APR_SUCCESS;
    }
    if (ev->kind == FCGIX_EV_MGMT || ev->kind == FCGIX_EV_UNKNOWN_TYPE) {
        /* Other management replies carry nothing we need here. */
        ap_log_rerror(APLOG_MARK, APLOG_TRACE2, 0, q->r, SRV_FMT
                      "ignoring %s record", SRV_ARGS(q),
                      fcgix_proto_type_str(ev->type));
        return APR_SUCCESS;
    }
    if (ev->request_id != q->rid) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r,
                      FCGIX_LOGNO(00105) SRV_FMT
                      "protocol error: %s record for request id %u, "
                      "expected %u", SRV_ARGS(q),
                      fcgix_proto_type_str(ev->type), ev->request_id,
                      q->rid);
        return fail_502(q);
    }
    if (ev->kind == FCGIX_EV_END_REQUEST) {
        q->ended = 1;
        q->end = ev->end;
        return APR_SUCCESS;
    }
    if (ev->kind != FCGIX_EV_STREAM) {
        return APR_SUCCESS;
    }
    if (ev->type == FCGIX_STDERR) {
        stderr_feed(q, (const char *)ev->data, ev->len);
        return APR_SUCCESS;
    }
    return on_stdout(q, (const char *)ev->data, ev->len);
}

/* The pump's callback on a connection of its own: stops at END_REQUEST
 * (anything after it is not ours) and at a failure, kept in *baton's
 * status. */
typedef struct {
    fcgix_req_t *q;
    apr_status_t rv;
} pump_t;

static int pump_event(void *baton, const fcgix_event_t *ev)
{
    pump_t *pp = baton;

    pp->rv = fcgix_reply_event(pp->q, ev);
    return pp->rv != APR_SUCCESS || pp->q->ended;
}

static apr_status_t rbuf_drop(void *data)
{
    fcgix_req_t *q = data;

    if (q->rroot) {
        apr_bucket_destroy(q->rroot);
        q->rroot = NULL;
    }
    return APR_SUCCESS;
}

/* The buffer the next read goes into: the last one, unless slices of it
 * are still down the filter chain (set aside by the core, waiting for the
 * client), which keep it until they are sent, or the last read filled it.
 * A reply's first buffer is a small block of the connection's bucket
 * allocator, as httpd's core reads its client (the block a small reply
 * needs, kept on the allocator's free list, not a malloc and free per
 * request); a reply that fills it gets RBUF_SIZE buffers of the heap,
 * which no idle connection keeps. */
static void rbuf_ready(fcgix_req_t *q)
{
    apr_size_t size = q->rsize;

    if (q->rroot == NULL) {
        apr_pool_cleanup_register(q->r->pool, q, rbuf_drop,
                                  apr_pool_cleanup_null);
        size = RBUF_FIRST;
    }
    else {
        if (q->rlast == q->rsize) {
            size = RBUF_SIZE;
        }
        if (size == q->rsize
            && ((apr_bucket_heap *)q->rroot->data)->refcount.refcount == 1) {
            return;
        }
        apr_bucket_destroy(q->rroot);
    }
    q->rsize = size;
    q->rbuf = size == RBUF_FIRST ? apr_bucket_alloc(size, q->c->bucket_alloc)
                                 : ap_malloc(size);
    q->rroot = apr_bucket_heap_create(
        q->rbuf, size, size == RBUF_FIRST ? apr_bucket_free : free,
        q->c->bucket_alloc);
}

int fcgix_reply_whole(const fcgix_req_t *q)
{
    return q->ended && !q->fail
           && q->end.protocol_status == FCGIX_REQUEST_COMPLETE;
}

/* One non-blocking read and everything it yields. */
apr_status_t fcgix_reply_pump(fcgix_req_t *q)
{
    apr_size_t len;
    size_t used = 0;
    pump_t pp;
    apr_status_t rv;
    int rc;

    rbuf_ready(q);
    len = q->rsize;
    rv = apr_socket_recv(q->sock, q->rbuf, &len);
    q->rlast = len;
    if (len == 0) {
        return rv == APR_SUCCESS ? APR_EOF : rv;
    }
    q->rx_bytes += len;
    pp.q = q;
    pp.rv = APR_SUCCESS;
    rc = fcgix_reader_pump(&q->rd, (const uint8_t *)q->rbuf, len, &used,
                           pump_event, &pp);
    if (rc != FCGIX_OK && rc != FCGIX_AGAIN) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r,
                      FCGIX_LOGNO(00125) SRV_FMT
                      "protocol error in reply: %s", SRV_ARGS(q),
                      q->rd.error ? q->rd.error : "bad record");
        return fail_502(q);
    }
    if (pp.rv != APR_SUCCESS) {
        return pp.rv;
    }
    if (used < len) {
        /* Whatever follows END_REQUEST was never asked for: the
         * connection cannot be trusted for another request. */
        q->leftover = 1;
    }
    if (!fcgix_reply_whole(q)) {
        /* A whole reply (a small one, most often, in one read) waits for
         * its EOS. */
        fcgix_reply_pass(q, q->set->flush);
    }
    return APR_SUCCESS;
}
