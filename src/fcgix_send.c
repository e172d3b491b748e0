/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <sys/uio.h>

#include "apr_buckets.h"

#include "httpd.h"
#include "http_log.h"
#include "http_protocol.h"

#include "fcgix.h"
#include "fcgix_body.h"
#include "fcgix_fail.h"
#include "fcgix_loop.h"
#include "fcgix_reply.h"
#include "fcgix_req.h"
#include "fcgix_send.h"

#define BODY_READ (64 * 1024)
/* Multiple of 8: full STDIN records need no padding. */
#define STDIN_CHUNK 65528u
/* A streamed body's read: two full STDIN records in one writev. */
#define STREAM_READ (2 * STDIN_CHUNK)
#define BATCH_IOV 64

static const char zero_pad[8];

typedef struct {
    struct iovec iov[BATCH_IOV];
    apr_byte_t hdr[BATCH_IOV / 2][FCGIX_HEADER_LEN];
    int niov;
    int nhdr;
} batch_t;

/*
 * Writes the whole vector. While the application does not read, what it
 * writes is read and forwarded: an application that answers before it has
 * read all of a large body must never deadlock against us.
 */
static apr_status_t send_iov(fcgix_req_t *q, struct iovec *iov, int n)
{
    if (q->ms) {
        return fcgix_mpx_send(q->ms, iov, n, q->io_timeout);
    }
    for (;;) {
        apr_int16_t rev = 0;
        apr_status_t rv = fcgix_pool_sendv(q->sock, &iov, &n);

        if (rv == APR_SUCCESS) {
            if (n == 0) {
                return APR_SUCCESS;
            }
            continue;
        }
        if (!APR_STATUS_IS_EAGAIN(rv)) {
            return rv;
        }
        rv = fcgix_loop_wait(q, APR_POLLOUT | APR_POLLIN, &rev);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (rev & (APR_POLLIN | APR_POLLHUP | APR_POLLERR)) {
            rv = fcgix_reply_pump(q);
            if (rv != APR_SUCCESS && !APR_STATUS_IS_EAGAIN(rv)) {
                return rv;
            }
            if (q->ended || q->client_gone) {
                return FCGIX_APP_DONE;
            }
        }
    }
}

static apr_status_t batch_flush(fcgix_req_t *q, batch_t *b)
{
    apr_status_t rv = send_iov(q, b->iov, b->niov);

    b->niov = 0;
    b->nhdr = 0;
    return rv;
}

static void batch_raw(batch_t *b, const void *data, apr_size_t len)
{
    b->iov[b->niov].iov_base = (void *)data;
    b->iov[b->niov].iov_len = len;
    b->niov++;
}

/* Queues data as records of stream @p type; len 0 queues the
 * end-of-stream record. */
static apr_status_t batch_stream(fcgix_req_t *q, batch_t *b,
                                 uint8_t type, const char *data,
                                 apr_size_t len)
{
    apr_status_t rv;

    do {
        apr_size_t n = len > STDIN_CHUNK ? STDIN_CHUNK : len;
        apr_byte_t pad;

        if (b->niov + 3 > BATCH_IOV || b->nhdr == BATCH_IOV / 2) {
            if ((rv = batch_flush(q, b)) != APR_SUCCESS) {
                return rv;
            }
        }
        pad = fcgix_proto_rec_header(b->hdr[b->nhdr], type, q->rid,
                                     (uint16_t)n);
        batch_raw(b, b->hdr[b->nhdr++], FCGIX_HEADER_LEN);
        if (n) {
            batch_raw(b, data, n);
        }
        if (pad) {
            batch_raw(b, zero_pad, pad);
        }
        data += n;
        len -= n;
    } while (len > 0);
    return APR_SUCCESS;
}

static apr_status_t batch_stdin(fcgix_req_t *q, batch_t *b,
                                const char *data, apr_size_t len)
{
    return batch_stream(q, b, FCGIX_STDIN, data, len);
}

typedef struct {
    fcgix_req_t *q;
    batch_t *b;
} stream_ctx_t;

static apr_status_t stream_piece(void *ctxv, const char *data,
                                 apr_size_t len)
{
    stream_ctx_t *x = ctxv;

    return batch_stdin(x->q, x->b, data, len);
}

/* A batch that starts with what goes first (an opened connection's
 * GET_VALUES, then the opening records @p head). */
static batch_t *batch_open(fcgix_req_t *q, const char *head,
                           apr_size_t head_len)
{
    batch_t *b = apr_palloc(q->r->pool, sizeof(*b));

    b->niov = b->nhdr = 0;
    if (q->pre) {
        batch_raw(b, q->pre, q->pre_len);
    }
    batch_raw(b, head, head_len);
    return b;
}

/* Streams a body of known length from the client as it arrives. */
static apr_status_t send_streamed_body(fcgix_req_t *q, const char *head,
                                       apr_size_t head_len, int *client_err)
{
    request_rec *r = q->r;
    apr_bucket_brigade *ib = apr_brigade_create(r->pool, q->c->bucket_alloc);
    /* The first body bytes travel in the same write as the params. */
    batch_t *b = batch_open(q, head, head_len);
    stream_ctx_t x;
    int seen_eos = 0;
    apr_status_t rv;

    x.q = q;
    x.b = b;
    if (fcgix_body_fast(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, FCGIX_LOGNO(00740)
                      "request body read in large pieces from the client "
                      "socket");
    }
    while (!seen_eos) {
        rv = fcgix_body_read(r, ib, STREAM_READ, stream_piece, &x, &seen_eos,
                             client_err);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (seen_eos && (rv = batch_stdin(q, b, NULL, 0)) != APR_SUCCESS) {
            return rv;
        }
        /* Bucket data must outlive the write that points at it. */
        rv = batch_flush(q, b);
        apr_brigade_cleanup(ib);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

/* Every data bucket of @p bb as @p type records. The brigade is read,
 * not consumed (a retry sends it again); a file bucket splits into the
 * part read and the rest. */
static apr_status_t batch_brigade(fcgix_req_t *q, batch_t *b,
                                  apr_bucket_brigade *bb, uint8_t type)
{
    apr_bucket *e;
    apr_status_t rv;

    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb);
         e = APR_BUCKET_NEXT(e)) {
        const char *data;
        apr_size_t len;

        if (APR_BUCKET_IS_METADATA(e)) {
            continue;
        }
        if ((rv = apr_bucket_read(e, &data, &len, APR_BLOCK_READ))
            != APR_SUCCESS) {
            return rv;
        }
        if (len && (rv = batch_stream(q, b, type, data, len))
                       != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

static apr_status_t send_spooled_body(fcgix_req_t *q, const char *head,
                                      apr_size_t head_len,
                                      fcgix_spool_t *sp)
{
    batch_t *b = batch_open(q, head, head_len);
    char *fbuf = NULL;
    apr_status_t rv;

    if ((rv = batch_brigade(q, b, sp->mem, FCGIX_STDIN)) != APR_SUCCESS) {
        return rv;
    }
    if (sp->file) {
        fbuf = apr_palloc(q->r->pool, BODY_READ);
    }
    while (sp->file) {
        apr_size_t len = BODY_READ;

        /* fbuf is reused: what points into it must be written first. */
        if ((rv = batch_flush(q, b)) != APR_SUCCESS) {
            return rv;
        }
        rv = apr_file_read(sp->file, fbuf, &len);
        if (rv == APR_EOF || (rv == APR_SUCCESS && len == 0)) {
            break;
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if ((rv = batch_stdin(q, b, fbuf, len)) != APR_SUCCESS) {
            return rv;
        }
    }
    if ((rv = batch_stdin(q, b, NULL, 0)) != APR_SUCCESS) {
        return rv;
    }
    return batch_flush(q, b);
}

/* The Filter role: after the opening records (which end with the empty
 * STDIN), the data as DATA records and the empty one. */
static apr_status_t send_filter_data(fcgix_req_t *q, const char *head,
                                     apr_size_t head_len)
{
    batch_t *b = batch_open(q, head, head_len);
    apr_status_t rv;

    if ((rv = batch_brigade(q, b, q->data, FCGIX_DATA)) != APR_SUCCESS
        || (rv = batch_stream(q, b, FCGIX_DATA, NULL, 0)) != APR_SUCCESS) {
        return rv;
    }
    return batch_flush(q, b);
}

/* Tells the application the client is gone; the connection stays usable
 * if the application then ends the request properly. */
void fcgix_send_abort(fcgix_req_t *q)
{
    apr_byte_t rec[FCGIX_HEADER_LEN];
    struct iovec iov;
    apr_status_t rv;

    q->abort_sent = 1;
    q->abort_at = apr_time_now();
    q->abort_until = q->abort_at + fcgix_conf_abort_timeout(q->dc);
    q->abort_rx = q->rx_bytes;
    q->abort_max = (apr_size_t)fcgix_conf_abort_max_bytes(q->dc);
    fcgix_proto_rec_header(rec, FCGIX_ABORT_REQUEST, q->rid, 0);
    iov.iov_base = rec;
    iov.iov_len = sizeof(rec);
    rv = send_iov(q, &iov, 1);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, q->r, FCGIX_LOGNO(00136)
                  SRV_FMT "client gone: sent FCGI_ABORT_REQUEST",
                  SRV_ARGS(q));
}

/* FCGI_GET_VALUES asking for the three values the spec defines. */
const char *fcgix_send_get_values(apr_pool_t *p, apr_size_t *len)
{
    static const char *const names[] = {
        "FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"
    };
    apr_byte_t *buf = apr_palloc(p, 128);
    apr_size_t off = FCGIX_HEADER_LEN, w;
    apr_byte_t pad;
    int i;

    for (i = 0; i < 3; i++) {
        fcgix_proto_nv_encode(buf + off, 120 - off, names[i],
                              strlen(names[i]), "", 0, &w);
        off += w;
    }
    pad = fcgix_proto_rec_header(buf, FCGIX_GET_VALUES, 0,
                                 (uint16_t)(off - FCGIX_HEADER_LEN));
    memset(buf + off, 0, pad);
    *len = off + pad;
    return (const char *)buf;
}

/*
 * The opening records are built once with SOLE_RID; a multiplexed request
 * gets its own id written into each record header, and KEEP_CONN (a
 * shared connection is never closed by the application).
 */
void fcgix_send_set_rid(char *head, apr_size_t len, apr_uint16_t rid,
                           int keep_conn)
{
    apr_size_t off = 0;

    while (off + FCGIX_HEADER_LEN <= len) {
        fcgix_hdr_t h;
        fcgix_proto_hdr_unpack(&h, (const uint8_t *)head + off);
        if (h.type == FCGIX_BEGIN_REQUEST && keep_conn) {
            head[off + FCGIX_HEADER_LEN + 2] |= FCGIX_KEEP_CONN;
        }
        h.request_id = rid;
        fcgix_proto_hdr_pack((uint8_t *)head + off, &h);
        off += FCGIX_HEADER_LEN + h.content_length + h.padding_length;
    }
}

/* Sends params and body; fail.c maps what went wrong while sending. */
apr_status_t fcgix_send_request(fcgix_req_t *q, fcgix_send_mode_e mode,
                                fcgix_spool_t *sp, const char *head,
                                apr_size_t head_len, int *client_err)
{
    apr_status_t rv;

    fcgix_req_set_state(q, FCGIX_REQ_SEND);
    if (q->data) {
        rv = send_filter_data(q, head, head_len);
    }
    else if (sp && sp->total > 0) {
        rv = send_spooled_body(q, head, head_len, sp);
    }
    else if (mode == FCGIX_SEND_STREAM) {
        rv = send_streamed_body(q, head, head_len, client_err);
    }
    else {
        struct iovec iov[2];
        int n = 0;
        if (q->pre) {
            iov[n].iov_base = (void *)q->pre;
            iov[n++].iov_len = q->pre_len;
        }
        iov[n].iov_base = (void *)head;
        iov[n++].iov_len = head_len;
        rv = send_iov(q, iov, n);
    }
    if (q->state == FCGIX_REQ_SEND) {
        fcgix_req_set_state(q, FCGIX_REQ_HEADERS);
    }
    fcgix_fail_send(q, rv, *client_err);
    return rv;
}

