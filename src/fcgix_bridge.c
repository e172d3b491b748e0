/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <sys/socket.h>
#include <sys/uio.h>

#include "apr_strings.h"
#include "apr_atomic.h"
#include "apr_buckets.h"
#include "apr_poll.h"
#include "apr_portable.h"

#include "httpd.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

#include "fcgix.h"
#include "fcgix_body.h"
#include "fcgix_bridge.h"
#include "fcgix_env.h"
#include "fcgix_mpx.h"
#include "fcgix_pool.h"
#include "fcgix_proto.h"
#include "fcgix_response.h"

/* Large reads: one syscall per up to 64 KiB of application output. */
#define RBUF_SIZE (64 * 1024)
#define BODY_READ (64 * 1024)
/* Multiple of 8: full STDIN records need no padding. */
#define STDIN_CHUNK 65528u
#define BATCH_IOV 64
#define ERRLINE_MAX 2048
/* The only request id while one request owns the connection. */
#define SOLE_RID 1
/* How often a request on a shared connection looks at its client. */
#define MPX_SLICE apr_time_from_msec(250)

/* Internal status: a failure that is already logged, req->fail says the
 * HTTP status. */
#define FCGIX_FAILED (APR_OS_START_USERERR + 701)
/* Internal status: the application finished; stop sending it input. */
#define FCGIX_APP_DONE (APR_OS_START_USERERR + 702)

#define SRV_FMT "%s (%s): "
#define SRV_ARGS(q) (q)->srv->path, (q)->addr ? (q)->addr->spec : "-"

static const char zero_pad[8];

typedef struct fcgix_req_t {
    request_rec *r;
    conn_rec *c;
    fcgix_server_t *srv;
    const fcgix_dir_conf_t *dc;
    const fcgix_addr_t *addr;
    fcgix_pool_t *pl;
    fcgix_conn_t *conn;      /* a connection of our own, or */
    fcgix_mstream_t *ms;     /* our id on a shared (multiplexed) one */
    apr_uint16_t rid;
    apr_socket_t *sock;      /* conn->sock, or our own (direct) */
    const fcgix_addr_t *direct; /* a spawned process's socket */
    int unreachable;         /* direct: could not connect */
    apr_socket_t *csock;     /* the client's, watched for a hang-up */
    const char *pre;         /* FCGI_GET_VALUES sent before the request */
    apr_size_t pre_len;
    int keep_conn;           /* KEEP_CONN was sent */
    int may_retry;           /* a silent failure may be retried once */
    int no_resend;           /* ... would be, were the request safe to
                                repeat (see resend_safe()) */
    int retry;               /* ... and this one will be */
    int abort_sent;
    /* After FCGI_ABORT_REQUEST the application gets until abort_until,
     * and abort_max bytes, to end the request: many (php-fpm, libfcgi)
     * ignore it and would keep this thread reading for as long as they
     * write. */
    apr_time_t abort_at, abort_until;
    apr_size_t abort_rx, abort_max;
    int leftover;            /* bytes after END_REQUEST in the last read */
    apr_size_t rx_bytes;
    apr_interval_time_t io_timeout;
    fcgix_req_state_e state;
    fcgix_reader_t rd;
    char *rbuf;
    /* Header block collected from FCGI_STDOUT. */
    char *hbuf;
    apr_size_t hlen, hmax, hscan;
    fcgix_auth_reply_t *auth; /* authorizer role: capture, don't send */
    fcgix_resp_action_e action;
    const char *location;
    int cond_status;
    /* Output to the client. */
    apr_bucket_brigade *ob;
    int unflushed;
    int out_started;
    int client_gone;
    /* Outcome. */
    int ended;
    fcgix_end_t end;
    int fail;
    /* Application stderr, logged a line at a time up to the limits;
     * what is past them is only counted, and reported once. */
    char errline[ERRLINE_MAX];
    apr_size_t errlen;
    apr_off_t err_lines, err_bytes;
    apr_off_t err_max_lines, err_max_bytes;
    apr_off_t err_drop_lines, err_drop_bytes;
} fcgix_req_t;

/* Records of a batch of STDIN output share one writev. */
typedef struct {
    struct iovec iov[BATCH_IOV];
    apr_byte_t hdr[BATCH_IOV / 2][FCGIX_HEADER_LEN];
    int niov;
    int nhdr;
} batch_t;

static const char *const state_names[] = {
    "CONNECT", "SEND", "HEADERS", "BODY", "DISCARD", "DONE"
};

const char *fcgix_bridge_state_str(fcgix_req_state_e st)
{
    if ((unsigned)st < sizeof(state_names) / sizeof(state_names[0])) {
        return state_names[st];
    }
    return "INVALID";
}

static void set_state(fcgix_req_t *q, fcgix_req_state_e st)
{
    ap_log_rerror(APLOG_MARK, APLOG_TRACE3, 0, q->r, SRV_FMT "%s -> %s",
                  SRV_ARGS(q), fcgix_bridge_state_str(q->state),
                  fcgix_bridge_state_str(st));
    q->state = st;
}

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
static void stderr_summary(fcgix_req_t *q)
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
    if (q->auth && len) {
        apr_off_t have = 0;
        apr_brigade_length(q->auth->body, 0, &have);
        if (have + (apr_off_t)len > FCGIX_AUTH_BODY_MAX) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r,
                          FCGIX_LOGNO(00127) SRV_FMT
                          "authorizer body exceeds %d bytes",
                          SRV_ARGS(q), FCGIX_AUTH_BODY_MAX);
            q->fail = HTTP_BAD_GATEWAY;
            set_state(q, FCGIX_REQ_DONE);
            return FCGIX_FAILED;
        }
        return apr_brigade_write(q->auth->body, NULL, NULL, data, len);
    }
    if (len == 0 || q->client_gone || q->r->header_only) {
        return APR_SUCCESS;
    }
    APR_BRIGADE_INSERT_TAIL(q->ob, apr_bucket_transient_create(
                                       data, len, q->c->bucket_alloc));
    return APR_SUCCESS;
}

/* Passes what is queued; transient buckets point into rbuf, so this runs
 * before rbuf is read into again. */
static void out_pass(fcgix_req_t *q, int flush)
{
    apr_status_t rv;

    if (q->auth || q->client_gone
        || (APR_BRIGADE_EMPTY(q->ob) && !flush)) {
        return;
    }
    if (flush) {
        APR_BRIGADE_INSERT_TAIL(q->ob,
                                apr_bucket_flush_create(q->c->bucket_alloc));
    }
    rv = ap_pass_brigade(q->r->output_filters, q->ob);
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
static void out_abort(fcgix_req_t *q, int status)
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
    ap_pass_brigade(q->r->output_filters, q->ob);
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
    set_state(q, FCGIX_REQ_DONE);
    return FCGIX_FAILED;
}

static apr_status_t headers_complete(fcgix_req_t *q, apr_size_t body_off)
{
    apr_table_t *fields = apr_table_make(q->r->pool, 16);
    const char *err;

    if (q->srv->nph && body_off > 9 && !strncmp(q->hbuf, "HTTP/", 5)) {
        /* -nph: the status line becomes a Status field; httpd still
         * writes the real one (and its own Date/Server). */
        char *sp = memchr(q->hbuf, ' ', body_off);
        char *nl = memchr(q->hbuf, '\n', body_off);
        if (sp && nl && sp < nl) {
            apr_size_t skip = (apr_size_t)(nl - q->hbuf) + 1;
            char *line = apr_pstrmemdup(q->r->pool, sp + 1,
                                        (apr_size_t)(nl - sp - 1));
            apr_size_t ll = strlen(line);
            if (ll && line[ll - 1] == '\r') {
                line[ll - 1] = '\0';
            }
            apr_table_setn(fields, "Status", line);
            err = fcgix_response_parse(q->r->pool, q->hbuf + skip,
                                       body_off - skip, fields);
        }
        else {
            err = "malformed -nph status line";
        }
    }
    else {
        err = fcgix_response_parse(q->r->pool, q->hbuf, body_off, fields);
    }
    if (err == NULL && q->auth) {
        const char *st = apr_table_get(fields, "Status");
        q->auth->headers = fields;
        if (st == NULL) {
            /* CGI would read a missing Status as 200, but a grant must
             * be said: a reply of only "Location:" (a login page, say)
             * or one cut short by a broken script must not open the
             * door. */
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, q->r,
                          FCGIX_LOGNO(00302) SRV_FMT "authorizer reply "
                          "has no Status: access denied (403); a grant "
                          "needs an explicit \"Status: 200\"",
                          SRV_ARGS(q));
            q->auth->status = HTTP_FORBIDDEN;
        }
        else {
            q->auth->status = fcgix_response_status(st);
            if (q->auth->status == 0) {
                err = apr_psprintf(q->r->pool, "invalid Status '%.40s'",
                                   st);
            }
            else if (q->auth->status < 200 || q->auth->status > 599) {
                err = apr_psprintf(q->r->pool, "final Status %d is not "
                                   "200 to 599", q->auth->status);
            }
        }
    }
    else if (err == NULL) {
        err = fcgix_response_apply(q->r, fields, &q->action, &q->location,
                                   &q->cond_status);
    }
    if (err) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r,
                      FCGIX_LOGNO(00108) SRV_FMT
                      "malformed response header: %s", SRV_ARGS(q), err);
        return fail_502(q);
    }
    if (q->action == FCGIX_RESP_SEND) {
        set_state(q, FCGIX_REQ_BODY);
        return out_data(q, q->hbuf + body_off, q->hlen - body_off);
    }
    set_state(q, FCGIX_REQ_DISCARD);
    return APR_SUCCESS;
}

static apr_status_t on_stdout(fcgix_req_t *q, const char *data,
                              apr_size_t len)
{
    apr_size_t take, body_off;

    switch (q->state) {
    case FCGIX_REQ_HEADERS:
        take = q->hmax - q->hlen;
        if (take > len) {
            take = len;
        }
        memcpy(q->hbuf + q->hlen, data, take);
        q->hlen += take;
        body_off = fcgix_response_header_end(q->hbuf, q->hlen, &q->hscan);
        if (body_off == 0) {
            if (q->hlen == q->hmax) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r,
                              FCGIX_LOGNO(00109) SRV_FMT
                              "response header block exceeds %"
                              APR_SIZE_T_FMT " bytes "
                              "(FcgixMaxResponseHeaderLen)",
                              SRV_ARGS(q), q->hmax);
                return fail_502(q);
            }
            return APR_SUCCESS;
        }
        if (headers_complete(q, body_off) != APR_SUCCESS) {
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

static apr_status_t on_event(fcgix_req_t *q, const fcgix_event_t *ev)
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

/* One non-blocking read and everything it yields. */
static apr_status_t pump(fcgix_req_t *q)
{
    apr_size_t len = RBUF_SIZE, off = 0;
    apr_status_t rv;

    rv = apr_socket_recv(q->sock, q->rbuf, &len);
    if (len == 0) {
        return rv == APR_SUCCESS ? APR_EOF : rv;
    }
    q->rx_bytes += len;
    while (off < len && !q->ended) {
        fcgix_event_t ev;
        size_t used = 0;
        int rc = fcgix_reader_feed(&q->rd, (const uint8_t *)q->rbuf + off,
                                   len - off, &used, &ev);
        off += used;
        if (rc == FCGIX_AGAIN) {
            break;
        }
        if (rc != FCGIX_OK) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r,
                          FCGIX_LOGNO(00125) SRV_FMT
                          "protocol error in reply: %s", SRV_ARGS(q),
                          q->rd.error ? q->rd.error : "bad record");
            return fail_502(q);
        }
        if ((rv = on_event(q, &ev)) != APR_SUCCESS) {
            return rv;
        }
    }
    if (off < len) {
        /* Whatever follows END_REQUEST was never asked for: the
         * connection cannot be trusted for another request. */
        q->leftover = 1;
    }
    out_pass(q, q->srv->flush);
    return APR_SUCCESS;
}

/* The client's socket is readable: hung up, or more data. */
static void client_readable(fcgix_req_t *q)
{
    apr_os_sock_t fd;
    char b;

    apr_os_sock_get(&fd, q->csock);
    /* Only a clean EOF means gone: data is a pipelined request or a TLS
     * record, and then we stop watching. */
    if (recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
        q->client_gone = 1;
        q->c->aborted = 1;
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, q->r,
                      FCGIX_LOGNO(00134) SRV_FMT
                      "client closed the connection while the "
                      "application was working", SRV_ARGS(q));
    }
    else {
        q->csock = NULL;
    }
}

/* Checks, without waiting, whether the client hung up. */
static void client_check(fcgix_req_t *q)
{
    apr_pollfd_t pfd;
    apr_int32_t n = 0;

    if (q->csock == NULL || q->client_gone) {
        return;
    }
    memset(&pfd, 0, sizeof(pfd));
    pfd.p = q->r->pool;
    pfd.desc_type = APR_POLL_SOCKET;
    pfd.reqevents = APR_POLLIN;
    pfd.desc.s = q->csock;
    if (apr_poll(&pfd, 1, &n, 0) == APR_SUCCESS && n > 0) {
        client_readable(q);
    }
}

/*
 * Waits for the application, and for the client to hang up: a client that
 * leaves while the application works in silence is noticed here, not at
 * the next write, so the application can be told at once.
 */
static apr_status_t wait_io(fcgix_req_t *q, apr_int16_t events,
                            apr_int16_t *revents)
{
    apr_pollfd_t pfd[2];
    apr_int32_t n, npfd = 1;
    apr_interval_time_t to = q->io_timeout;
    apr_status_t rv;

    memset(pfd, 0, sizeof(pfd));
    pfd[0].p = q->r->pool;
    pfd[0].desc_type = APR_POLL_SOCKET;
    pfd[0].reqevents = events;
    pfd[0].desc.s = q->sock;
    if (q->csock && !q->client_gone) {
        pfd[1].p = q->r->pool;
        pfd[1].desc_type = APR_POLL_SOCKET;
        pfd[1].reqevents = APR_POLLIN;
        pfd[1].desc.s = q->csock;
        npfd = 2;
    }
    if (q->abort_sent) {
        apr_interval_time_t left = q->abort_until - apr_time_now();
        if (to > left) {
            to = left > 0 ? left : 0;
        }
    }
    do {
        rv = apr_poll(pfd, npfd, &n, to);
    } while (APR_STATUS_IS_EINTR(rv));
    *revents = pfd[0].rtnevents;
    if (rv == APR_SUCCESS && npfd == 2 && pfd[1].rtnevents) {
        client_readable(q);
    }
    return rv;
}

/* ------------------------------------------------------------------ */
/* Writing the application                                             */
/* ------------------------------------------------------------------ */

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
        apr_size_t w = 0;
        apr_int16_t rev = 0;
        apr_status_t rv;

        while (n > 0 && iov->iov_len == 0) {
            iov++;
            n--;
        }
        if (n == 0) {
            return APR_SUCCESS;
        }
        rv = apr_socket_sendv(q->sock, iov, n, &w);
        while (w > 0) {
            if (w >= iov->iov_len) {
                w -= iov->iov_len;
                iov++;
                n--;
            }
            else {
                iov->iov_base = (char *)iov->iov_base + w;
                iov->iov_len -= w;
                w = 0;
            }
        }
        if (rv != APR_SUCCESS && !APR_STATUS_IS_EAGAIN(rv)) {
            return rv;
        }
        if (rv == APR_SUCCESS) {
            continue;
        }
        rv = wait_io(q, APR_POLLOUT | APR_POLLIN, &rev);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (rev & (APR_POLLIN | APR_POLLHUP | APR_POLLERR)) {
            rv = pump(q);
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

/* Queues data as STDIN records; len 0 queues the end-of-stream record. */
static apr_status_t batch_stdin(fcgix_req_t *q, batch_t *b,
                                const char *data, apr_size_t len)
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
        pad = fcgix_proto_rec_header(b->hdr[b->nhdr], FCGIX_STDIN, q->rid,
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

/* Streams a body of known length from the client as it arrives. */
static apr_status_t send_streamed_body(fcgix_req_t *q, const char *head,
                                       apr_size_t head_len, int *client_err)
{
    request_rec *r = q->r;
    apr_bucket_brigade *ib = apr_brigade_create(r->pool, q->c->bucket_alloc);
    batch_t *b = apr_palloc(r->pool, sizeof(*b));
    stream_ctx_t x;
    int seen_eos = 0;
    apr_status_t rv;

    b->niov = b->nhdr = 0;
    x.q = q;
    x.b = b;
    /* The first body bytes travel in the same write as the params. */
    if (q->pre) {
        batch_raw(b, q->pre, q->pre_len);
    }
    batch_raw(b, head, head_len);
    while (!seen_eos) {
        rv = fcgix_body_read(r, ib, BODY_READ, stream_piece, &x, &seen_eos,
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

static apr_status_t send_spooled_body(fcgix_req_t *q, const char *head,
                                      apr_size_t head_len,
                                      fcgix_spool_t *sp)
{
    batch_t *b = apr_palloc(q->r->pool, sizeof(*b));
    char *fbuf = NULL;
    apr_bucket *e;
    apr_status_t rv;

    b->niov = b->nhdr = 0;
    if (q->pre) {
        batch_raw(b, q->pre, q->pre_len);
    }
    batch_raw(b, head, head_len);
    for (e = APR_BRIGADE_FIRST(sp->mem); e != APR_BRIGADE_SENTINEL(sp->mem);
         e = APR_BUCKET_NEXT(e)) {
        const char *data;
        apr_size_t len;

        if ((rv = apr_bucket_read(e, &data, &len, APR_BLOCK_READ))
            != APR_SUCCESS) {
            return rv;
        }
        if (len && (rv = batch_stdin(q, b, data, len)) != APR_SUCCESS) {
            return rv;
        }
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

/* ------------------------------------------------------------------ */
/* The request                                                         */
/* ------------------------------------------------------------------ */

static int use_mpx(fcgix_req_t *q)
{
    switch (q->srv->mpx) {
    case FCGIX_MPX_ON:
        return !fcgix_pool_mpx_was_refused(q->pl);
    case FCGIX_MPX_AUTO:
        return fcgix_pool_mpx_ok(q->pl);
    default:
        return 0;
    }
}

static int connect_backend(fcgix_req_t *q, apr_uint32_t *tried)
{
    fcgix_server_t *srv = q->srv;
    apr_interval_time_t to = fcgix_conf_connect_timeout(q->r, srv);
    int n = srv->addrs->nelts;
    apr_uint32_t key = 0;
    apr_status_t rv = APR_EGENERAL;
    const char *ip;
    int full = 0;

    if (q->direct) {
        /* The caller picks another process on failure, and logs. */
        q->addr = q->direct;
        q->rid = SOLE_RID;
        if (fcgix_addr_connect(q->direct, to, q->r->pool, &q->sock)
            != APR_SUCCESS) {
            q->sock = NULL;
            q->unreachable = 1;
            return HTTP_SERVICE_UNAVAILABLE;
        }
        return OK;
    }

    if (srv->pools == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r, FCGIX_LOGNO(00135)
                      "%s: no connection pools in this child",
                      srv->path);
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (srv->balance == FCGIX_BALANCE_HASH) {
        /* One client keeps reaching the same address. */
        for (ip = q->r->useragent_ip; ip && *ip; ip++) {
            key = key * 31 + (unsigned char)*ip;
        }
    }
    /* A request that never reached an application may try the next. */
    for (;;) {
        int k = fcgix_pool_choose(srv->pools, n, srv->balance, key, *tried);
        if (k < 0) {
            break;
        }
        *tried |= 1u << k;
        q->pl = srv->pools[k];
        q->addr = fcgix_pool_addr(q->pl);
        if (use_mpx(q)) {
            rv = fcgix_mpx_open(srv->mpx_groups[k], to, &q->ms, &q->rid);
            if (rv == APR_SUCCESS) {
                return OK;
            }
        }
        else {
            q->rid = SOLE_RID;
            rv = fcgix_pool_acquire(q->pl, to, 1, &q->conn);
            if (rv == APR_SUCCESS) {
                q->sock = q->conn->sock;
                return OK;
            }
        }
        if (rv == FCGIX_POOL_FULL) {
            full = 1;
        }
        else if (n > 1) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, q->r,
                          FCGIX_LOGNO(00139) SRV_FMT "address failed; "
                          "disabled for %" APR_TIME_T_FMT " s",
                          SRV_ARGS(q),
                          apr_time_sec(srv->limits.disable_for));
        }
    }
    if (full) {
        /* Every address was at its cap the whole wait: overloaded. */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r, FCGIX_LOGNO(00186)
                      SRV_FMT "all %d connections busy for %" APR_TIME_T_FMT
                      " s (max-conns, max-conns-wait)", SRV_ARGS(q),
                      srv->limits.max_conns,
                      apr_time_sec(srv->limits.max_wait));
        q->pl = NULL;
        apr_table_setn(q->r->err_headers_out, "Retry-After", "5");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    q->pl = NULL;
    if (APR_STATUS_IS_TIMEUP(rv)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, q->r,
                      FCGIX_LOGNO(00103) SRV_FMT
                      "connect timed out after %" APR_TIME_T_FMT " ms",
                      SRV_ARGS(q), apr_time_as_msec(to));
        return HTTP_GATEWAY_TIME_OUT;
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, q->r,
                  FCGIX_LOGNO(00102) SRV_FMT "cannot connect to the "
                  "application", SRV_ARGS(q));
    return HTTP_SERVICE_UNAVAILABLE;
}

/* Tells the application the client is gone; the connection stays usable
 * if the application then ends the request properly. */
static void send_abort(fcgix_req_t *q)
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

/*
 * May this request be sent again after its connection broke before any
 * reply? Only a bodyless GET, HEAD or OPTIONS: the application may have
 * acted on what it read before the connection died, and repeating that
 * is safe only for requests HTTP defines as safe to repeat. TRACE is
 * left out (httpd answers it itself), PUT and DELETE too: idempotent by
 * definition, yet applications do not all make them so. An authorizer's
 * question never changes anything and is always safe.
 */
static int resend_safe(const fcgix_req_t *q, int bodyless)
{
    if (q->auth) {
        return 1;
    }
    return bodyless && (q->r->method_number == M_GET
                        || q->r->method_number == M_OPTIONS);
}

/* The connection broke before any reply, and the request may not be
 * repeated: it fails here, with this one line. */
static void log_no_resend(fcgix_req_t *q, apr_status_t rv)
{
    ap_log_rerror(APLOG_MARK, APLOG_ERR, rv == APR_EOF ? 0 : rv, q->r,
                  FCGIX_LOGNO(00303) SRV_FMT "connection closed before "
                  "any reply; the %s request%s is not sent again (only a "
                  "GET, HEAD or OPTIONS without a body is)", SRV_ARGS(q),
                  q->r->method, q->ms ? " (multiplexed)" : "");
}

/*
 * After FCGI_ABORT_REQUEST: has the application had its time, or sent
 * its allowance? Then the request fails, which closes the connection (it
 * is out of step and must never be reused), and the thread is free.
 */
static int abort_spent(fcgix_req_t *q, int timed_out)
{
    apr_size_t drained = q->rx_bytes - q->abort_rx;
    apr_time_t now = apr_time_now();

    if (!timed_out && now < q->abort_until && drained <= q->abort_max) {
        return 0;
    }
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, q->r, FCGIX_LOGNO(00300)
                  SRV_FMT "application did not end the request after "
                  "FCGI_ABORT_REQUEST: %" APR_SIZE_T_FMT " bytes discarded "
                  "in %" APR_TIME_T_FMT " ms (FcgixAbortTimeout %"
                  APR_TIME_T_FMT " s, FcgixAbortMaxBytes %" APR_SIZE_T_FMT
                  "); connection closed", SRV_ARGS(q), drained,
                  apr_time_as_msec(now - q->abort_at),
                  apr_time_sec(q->abort_until - q->abort_at), q->abort_max);
    q->fail = HTTP_BAD_GATEWAY;
    return 1;
}

/* Records sent after END_REQUEST are dropped by the connection's reader;
 * whichever request comes by first tells the debug log. */
static void note_late(fcgix_req_t *q)
{
    apr_uint16_t rid = 0;
    apr_uint32_t n = fcgix_mpx_take_retired(q->ms, &rid);

    if (n) {
        /* Told by whichever request of this child comes by: the aborted
         * one is gone. */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, q->r, FCGIX_LOGNO(00305)
                      SRV_FMT "application did not end aborted request id "
                      "%u on a shared connection within FcgixAbortTimeout "
                      "/ FcgixAbortMaxBytes: connection closed (%u in "
                      "all)", SRV_ARGS(q), (unsigned)rid, (unsigned)n);
    }
    n = fcgix_mpx_take_late(q->ms, &rid);
    if (n) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, q->r, FCGIX_LOGNO(00304)
                      SRV_FMT "dropped %u record(s) the application sent "
                      "for requests it had ended (latest: request id %u)",
                      SRV_ARGS(q), (unsigned)n, (unsigned)rid);
    }
}

/* Reads until END_REQUEST or a failure. A departed client gets the
 * application told (FCGI_ABORT_REQUEST) and its reply drained, within
 * limits, so a kept connection stays in step. */
static void read_reply_mpx(fcgix_req_t *q)
{
    while (!q->ended && !q->fail
           && (!q->client_gone || q->srv->ignore_client_abort)) {
        fcgix_event_t ev;
        const char *why;
        apr_status_t rv = fcgix_mpx_next(q->ms, 0, &ev, &why);

        if (APR_STATUS_IS_EAGAIN(rv)) {
            apr_time_t deadline = apr_time_now() + q->io_timeout;
            if (q->unflushed) {
                out_pass(q, 1);
            }
            /* In slices, to notice a client that hangs up meanwhile: the
             * connection is shared, so its socket cannot be polled
             * together with the client's. */
            do {
                apr_interval_time_t left = deadline - apr_time_now();
                rv = fcgix_mpx_next(q->ms,
                                    left > MPX_SLICE ? MPX_SLICE
                                                     : (left > 0 ? left : 1),
                                    &ev, &why);
                if (APR_STATUS_IS_TIMEUP(rv)) {
                    client_check(q);
                }
            } while (APR_STATUS_IS_TIMEUP(rv) && !q->client_gone
                     && apr_time_now() < deadline);
            if (q->client_gone) {
                break;
            }
        }
        note_late(q);
        if (rv == APR_SUCCESS) {
            q->rx_bytes += ev.len + 1;
            if (on_event(q, &ev) == APR_SUCCESS) {
                /* The event's data is freed by the next call. */
                out_pass(q, q->srv->flush);
            }
            continue;
        }
        q->fail = HTTP_BAD_GATEWAY;
        if (q->may_retry && q->rx_bytes == 0 && !APR_STATUS_IS_TIMEUP(rv)
            && rv != FCGIX_MPX_OVERFLOW) {
            /* The shared connection broke before anything of ours came
             * back (the application was restarted, say): once more. */
            q->retry = 1;
        }
        else if (q->no_resend && q->rx_bytes == 0
                 && !APR_STATUS_IS_TIMEUP(rv) && rv != FCGIX_MPX_OVERFLOW) {
            log_no_resend(q, rv);
        }
        else if (APR_STATUS_IS_TIMEUP(rv)) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, q->r,
                          FCGIX_LOGNO(00140) SRV_FMT
                          "no reply within %" APR_TIME_T_FMT " s "
                          "(I/O timeout, request id %u)", SRV_ARGS(q),
                          apr_time_sec(q->io_timeout), q->rid);
            q->fail = HTTP_GATEWAY_TIME_OUT;
        }
        else if (rv == FCGIX_MPX_OVERFLOW) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r,
                          FCGIX_LOGNO(00141) SRV_FMT
                          "client too slow: more than %" APR_SIZE_T_FMT
                          " bytes queued on a multiplexed connection; "
                          "request aborted", SRV_ARGS(q),
                          q->srv->mpx_limits.queue_max);
        }
        else {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, q->r,
                          FCGIX_LOGNO(00142) SRV_FMT
                          "multiplexed connection failed: %s%s",
                          SRV_ARGS(q), why ? why : "closed",
                          q->out_started ? "; response aborted" : "");
        }
    }
}

static void read_reply(fcgix_req_t *q)
{
    /* Right after the request went out the reply is hardly ever there
     * yet: wait first rather than spend a read on EAGAIN. */
    int wait_first = q->rx_bytes == 0;

    if (q->ms) {
        read_reply_mpx(q);
        return;
    }
    while (!q->ended && !q->fail) {
        apr_int16_t rev;
        apr_status_t rv;

        if (q->client_gone && !q->abort_sent
            && !q->srv->ignore_client_abort) {
            send_abort(q);
            if (q->ended || q->fail) {
                break;
            }
        }
        if (q->abort_sent && abort_spent(q, 0)) {
            break;
        }
        rv = wait_first ? APR_EAGAIN : pump(q);
        wait_first = 0;
        if (rv == APR_SUCCESS || rv == FCGIX_FAILED) {
            continue;
        }
        if (APR_STATUS_IS_EAGAIN(rv)) {
            /* Nothing more is ready: let the client have what we hold. */
            if (q->unflushed) {
                out_pass(q, 1);
            }
            rv = wait_io(q, APR_POLLIN, &rev);
            if (APR_STATUS_IS_TIMEUP(rv) && q->abort_sent) {
                abort_spent(q, 1);
            }
            else if (APR_STATUS_IS_TIMEUP(rv)) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, q->r,
                              FCGIX_LOGNO(00104) SRV_FMT
                              "no reply within %" APR_TIME_T_FMT " s "
                              "(I/O timeout)%s", SRV_ARGS(q),
                              apr_time_sec(q->io_timeout),
                              q->out_started ? "; response aborted" : "");
                q->fail = HTTP_GATEWAY_TIME_OUT;
            }
            else if (rv != APR_SUCCESS) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, q->r,
                              FCGIX_LOGNO(00118) SRV_FMT
                              "waiting for the application failed",
                              SRV_ARGS(q));
                q->fail = HTTP_BAD_GATEWAY;
            }
            continue;
        }
        q->fail = HTTP_BAD_GATEWAY;
        /* A spawned process resets connections it never accepted when it
         * exits; one that accepted ours and died may have acted on it, so
         * only a reset is safe to send elsewhere. */
        if (q->may_retry && q->rx_bytes == 0
            && (!q->direct || APR_STATUS_IS_ECONNRESET(rv))) {
            /* A kept-alive connection the application had closed, or an
             * application that hangs up on FCGI_GET_VALUES: most likely
             * nothing of the request was processed, and it is one that
             * may be repeated, so it is sent once more. */
            q->retry = 1;
        }
        else if (q->no_resend && q->rx_bytes == 0
                 && (!q->direct || APR_STATUS_IS_ECONNRESET(rv))) {
            log_no_resend(q, rv);
        }
        else if (q->client_gone) {
            /* Nobody is waiting for this reply. */
        }
        else if (q->out_started) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR,
                          rv == APR_EOF ? 0 : rv, q->r,
                          FCGIX_LOGNO(00111) SRV_FMT
                          "application closed the connection after the "
                          "response started; response aborted",
                          SRV_ARGS(q));
        }
        else {
            ap_log_rerror(APLOG_MARK, APLOG_ERR,
                          rv == APR_EOF ? 0 : rv, q->r,
                          FCGIX_LOGNO(00106) SRV_FMT
                          "application closed the connection before "
                          "ending the request (%s)", SRV_ARGS(q),
                          fcgix_bridge_state_str(q->state));
        }
    }
}

/* After END_REQUEST: was the reply a usable response? */
static void check_end(fcgix_req_t *q)
{
    if (q->fail || !q->ended || q->client_gone) {
        return;
    }
    if (q->end.protocol_status != FCGIX_REQUEST_COMPLETE) {
        int overloaded =
            q->end.protocol_status == FCGIX_OVERLOADED
            || q->end.protocol_status == FCGIX_CANT_MPX_CONN;
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r,
                      FCGIX_LOGNO(00114) SRV_FMT
                      "application refused the request: %s", SRV_ARGS(q),
                      fcgix_proto_status_str(q->end.protocol_status));
        q->fail = overloaded ? HTTP_SERVICE_UNAVAILABLE : HTTP_BAD_GATEWAY;
        return;
    }
    if (q->state == FCGIX_REQ_HEADERS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r,
                      FCGIX_LOGNO(00107) SRV_FMT
                      "request ended before a complete response header "
                      "(%" APR_SIZE_T_FMT " header bytes, app status %u)",
                      SRV_ARGS(q), q->hlen,
                      (unsigned)q->end.app_status);
        q->fail = HTTP_BAD_GATEWAY;
    }
}

static int finish(fcgix_req_t *q)
{
    request_rec *r = q->r;

    if (q->ms) {
        fcgix_mpx_close(q->ms, fcgix_conf_abort_timeout(q->dc),
                        (apr_size_t)fcgix_conf_abort_max_bytes(q->dc));
        q->ms = NULL;
    }
    if (q->conn) {
        /* The reuse checklist: a clean end we asked to keep, the reader
         * between records, nothing unread, no failure. */
        int reusable = q->keep_conn && q->ended && !q->fail
                       && q->end.protocol_status == FCGIX_REQUEST_COMPLETE
                       && fcgix_reader_idle(&q->rd) && !q->leftover;
        fcgix_pool_release(q->conn, reusable);
        q->conn = NULL;
        q->sock = NULL;
    }
    else if (q->sock) {
        apr_socket_close(q->sock);
        q->sock = NULL;
    }
    stderr_summary(q);
    set_state(q, FCGIX_REQ_DONE);
    if (q->auth) {
        return q->fail ? q->fail : OK;
    }
    if (q->client_gone) {
        return OK;
    }
    if (q->fail) {
        if (q->out_started) {
            out_abort(q, q->fail);
            return OK;
        }
        /* Nothing reached the client: an error page replaces whatever
         * part of the application's header was applied. */
        r->status = HTTP_OK;
        r->status_line = NULL;
        apr_table_clear(r->headers_out);
        return q->fail;
    }
    if (q->client_gone) {
        return OK;
    }
    switch (q->action) {
    case FCGIX_RESP_INTERNAL_REDIRECT:
        r->method = "GET";
        r->method_number = M_GET;
        apr_table_unset(r->headers_in, "Content-Length");
        apr_table_unset(r->headers_in, "Transfer-Encoding");
        ap_internal_redirect_handler(q->location, r);
        return OK;
    case FCGIX_RESP_EXTERNAL_REDIRECT:
        r->status_line = NULL;
        return HTTP_MOVED_TEMPORARILY;
    case FCGIX_RESP_CONDITIONAL:
        r->status_line = NULL;
        if (q->cond_status != HTTP_NOT_MODIFIED) {
            return q->cond_status;
        }
        r->status = HTTP_NOT_MODIFIED;
        break;
    default:
        break;
    }
    APR_BRIGADE_INSERT_TAIL(q->ob, apr_bucket_eos_create(q->c->bucket_alloc));
    out_pass(q, 0);
    return OK;
}

/* FCGI_GET_VALUES asking for the three values the spec defines. */
static const char *get_values_record(apr_pool_t *p, apr_size_t *len)
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
static void set_request_id(char *head, apr_size_t len, apr_uint16_t rid,
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

static void reset_for_retry(fcgix_req_t *q)
{
    if (q->ms) {
        fcgix_mpx_close(q->ms, fcgix_conf_abort_timeout(q->dc),
                        (apr_size_t)fcgix_conf_abort_max_bytes(q->dc));
        q->ms = NULL;
    }
    if (q->conn) {
        fcgix_pool_release(q->conn, 0);
        q->conn = NULL;
        q->sock = NULL;
    }
    else if (q->sock) {
        apr_socket_close(q->sock);
        q->sock = NULL;
    }
    fcgix_reader_init(&q->rd, FCGIX_READ_FROM_APP);
    q->state = FCGIX_REQ_CONNECT;
    q->hlen = q->hscan = 0;
    q->fail = 0;
    q->retry = 0;
    q->ended = 0;
    q->leftover = 0;
    q->rx_bytes = 0;
    q->errlen = 0;
}

/* How the body reaches the application. */
typedef enum {
    BODY_NONE = 0, /* no body */
    BODY_STREAM,   /* known length: streamed as it arrives */
    BODY_SPOOL     /* unknown length: spooled for CONTENT_LENGTH */
} body_mode_e;

static int plan_body(fcgix_req_t *q, body_mode_e *mode, apr_off_t *cl)
{
    request_rec *r = q->r;
    const char *te = apr_table_get(r->headers_in, "Transfer-Encoding");
    const char *clh = apr_table_get(r->headers_in, "Content-Length");
    apr_off_t max_len = fcgix_conf_max_request_len(q->dc);

    *cl = 0;
    if (te) {
        *mode = BODY_SPOOL;
    }
    else if (clh) {
        char *end;
        if (apr_strtoff(cl, clh, &end, 10) != APR_SUCCESS || *end
            || *cl < 0) {
            return HTTP_BAD_REQUEST;
        }
        *mode = *cl > 0 ? BODY_STREAM : BODY_NONE;
    }
    else {
        /* HTTP/2 and later may carry a body with no content-length. */
        *mode = r->proto_num >= HTTP_VERSION(2, 0) ? BODY_SPOOL : BODY_NONE;
    }
    if (*mode == BODY_STREAM && max_len > 0 && *cl > max_len) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      FCGIX_LOGNO(00110) "request body of %" APR_OFF_T_FMT
                      " bytes exceeds %s %" APR_OFF_T_FMT, *cl,
                      fcgix_conf_max_request_len_name(q->dc), max_len);
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    return OK;
}

static int spool_body(fcgix_req_t *q, fcgix_spool_t **sp)
{
    request_rec *r = q->r;
    apr_off_t max_len = fcgix_conf_max_request_len(q->dc);
    const char *where;
    apr_status_t rv;

    rv = fcgix_body_spool(r, max_len, fcgix_conf_max_request_in_mem(q->dc),
                          sp, &where);
    if (rv == APR_SUCCESS) {
        return OK;
    }
    if (rv == FCGIX_BODY_TOO_LARGE) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      FCGIX_LOGNO(00119) "chunked request body exceeds "
                      "%s %" APR_OFF_T_FMT,
                      fcgix_conf_max_request_len_name(q->dc), max_len);
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    if (where) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      FCGIX_LOGNO(00113) "cannot spool the request body "
                      "to a temporary file");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r,
                  FCGIX_LOGNO(00112) "reading the request body failed");
    return ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
}

/* Sends params and body; maps what went wrong while sending. */
static apr_status_t send_request(fcgix_req_t *q, body_mode_e mode,
                                 fcgix_spool_t *sp, const char *head,
                                 apr_size_t head_len, int *client_err)
{
    request_rec *r = q->r;
    apr_status_t rv;

    set_state(q, FCGIX_REQ_SEND);
    if (sp && sp->total > 0) {
        rv = send_spooled_body(q, head, head_len, sp);
    }
    else if (mode == BODY_STREAM) {
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
        set_state(q, FCGIX_REQ_HEADERS);
    }

    if (*client_err) {
        int status = ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r,
                      FCGIX_LOGNO(00120) "reading the request body failed");
        q->fail = status == HTTP_REQUEST_ENTITY_TOO_LARGE
                  ? status : HTTP_BAD_REQUEST;
        if (q->c->aborted) {
            q->client_gone = 1;
        }
    }
    else if (APR_STATUS_IS_TIMEUP(rv)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      FCGIX_LOGNO(00121) SRV_FMT
                      "application did not read the request within %"
                      APR_TIME_T_FMT " s (I/O timeout)", SRV_ARGS(q),
                      apr_time_sec(q->io_timeout));
        q->fail = HTTP_GATEWAY_TIME_OUT;
    }
    else if (rv != APR_SUCCESS && rv != FCGIX_APP_DONE
             && rv != FCGIX_FAILED) {
        /* The application stopped reading (closed, reset). What it wrote
         * before that may still be a complete answer. */
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r,
                      FCGIX_LOGNO(00122) SRV_FMT
                      "writing the request to the application failed",
                      SRV_ARGS(q));
    }
    return rv;
}

static int run(request_rec *r, fcgix_server_t *srv, const apr_table_t *extra,
               fcgix_auth_reply_t *auth, const fcgix_addr_t *direct,
               int *unreachable)
{
    fcgix_req_t *q = apr_pcalloc(r->pool, sizeof(*q));
    fcgix_env_opts_t opts;
    fcgix_spool_t *sp = NULL;
    body_mode_e mode;
    apr_off_t cl;
    char *head;
    apr_size_t head_len;
    int status, client_err = 0, attempt, safe, again;
    apr_uint32_t tried = 0;
    apr_status_t rv;

    q->r = r;
    q->c = r->connection;
    q->srv = srv;
    q->dc = ap_get_module_config(r->per_dir_config, &fcgix_module);
    q->io_timeout = fcgix_conf_io_timeout(r, srv);
    q->hmax = fcgix_conf_max_response_header(q->dc);
    q->err_max_lines = fcgix_conf_stderr_max_lines(q->dc);
    q->err_max_bytes = fcgix_conf_stderr_max_bytes(q->dc);
    q->state = FCGIX_REQ_CONNECT;
    q->auth = auth;
    q->direct = direct;
    fcgix_reader_init(&q->rd, FCGIX_READ_FROM_APP);

    if (auth) {
        /* Authorizers see the request without its body (spec 6.3). */
        mode = BODY_NONE;
        cl = 0;
        auth->body = apr_brigade_create(r->pool, q->c->bucket_alloc);
    }
    else if ((status = plan_body(q, &mode, &cl)) != OK) {
        return status;
    }
    /* A spooled body is read before any connection is held. */
    if (mode == BODY_SPOOL && (status = spool_body(q, &sp)) != OK) {
        return status;
    }

    memset(&opts, 0, sizeof(opts));
    opts.request_id = SOLE_RID;
    opts.role = auth ? FCGIX_ROLE_AUTHORIZER : FCGIX_ROLE_RESPONDER;
    opts.extra = extra;
    opts.content_length = sp ? sp->total : -1;
    opts.no_body = sp ? sp->total == 0 : mode == BODY_NONE;
    opts.keep_conn = srv->limits.keepalive > 0;
    if (fcgix_env_build(r, srv, q->dc, &opts, &head, &head_len)
        != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      FCGIX_LOGNO(00117) "request environment too large "
                      "to encode for %s", srv->path);
        return HTTP_INTERNAL_SERVER_ERROR;
    }

    safe = resend_safe(q, sp ? sp->total == 0 : mode == BODY_NONE);
    q->rbuf = apr_palloc(r->pool, RBUF_SIZE);
    q->hbuf = apr_palloc(r->pool, q->hmax);
    q->ob = apr_brigade_create(r->pool, q->c->bucket_alloc);
    q->keep_conn = opts.keep_conn;
    if (!auth && !q->c->master && !srv->ignore_client_abort) {
        q->csock = ap_get_conn_socket(q->c);
    }

    for (attempt = 0;; attempt++) {
        if ((status = connect_backend(q, &tried)) != OK) {
            if (unreachable) {
                *unreachable = q->unreachable;
            }
            return status;
        }
        q->pre = NULL;
        set_request_id(head, head_len, q->rid, q->ms != NULL);
        /* Only with a request that can be sent again: an application
         * may hang up on it. */
        if (q->ms == NULL && !q->direct && srv->get_values && safe
            && fcgix_pool_caps_should_ask(q->pl)) {
            q->pre = get_values_record(r->pool, &q->pre_len);
        }
        /* Only a request whose body is still at hand can be sent again,
         * and only once; and only one that is safe to repeat. */
        /* A spawned process that exited after its own request limit
         * still accepted this connection: a bodyless request goes to
         * another process (the caller picks it). */
        again = attempt == 0 && mode != BODY_STREAM
                && (q->direct ? mode == BODY_NONE
                              : (q->ms || q->conn->reused || q->pre));
        q->may_retry = again && safe;
        q->no_resend = again && !safe;
        rv = send_request(q, mode, sp, head, head_len, &client_err);
        if (!q->fail) {
            read_reply(q);
        }
        if (q->ms && q->ended
            && q->end.protocol_status == FCGIX_CANT_MPX_CONN) {
            /* It said MPXS_CONNS=1 but refuses: stop multiplexing it. */
            fcgix_pool_mpx_refused(q->pl);
            q->retry = q->may_retry && !q->out_started;
        }
        if (!q->retry) {
            break;
        }
        if (q->direct) {
            reset_for_retry(q);
            *unreachable = 1;
            return HTTP_SERVICE_UNAVAILABLE;
        }
        if (q->pre) {
            fcgix_pool_caps_refused(q->pl);
        }
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r, FCGIX_LOGNO(00137)
                      SRV_FMT "connection closed before any reply%s; "
                      "sending the request again", SRV_ARGS(q),
                      q->pre ? " (after FCGI_GET_VALUES)" : "");
        reset_for_retry(q);
        /* The same address is fine: a fresh connection is what is needed. */
        tried = 0;
        if (sp && sp->file) {
            apr_off_t zero = 0;
            apr_file_seek(sp->file, APR_SET, &zero);
        }
    }
    check_end(q);
    if (q->ended && q->end.app_status != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      FCGIX_LOGNO(00123) SRV_FMT "application exit status "
                      "%u", SRV_ARGS(q), (unsigned)q->end.app_status);
    }
    return finish(q);
}

int fcgix_bridge_run(request_rec *r, fcgix_server_t *srv)
{
    return run(r, srv, NULL, NULL, NULL, NULL);
}

int fcgix_bridge_run_direct(request_rec *r, fcgix_server_t *tmpl,
                            const fcgix_addr_t *addr, int *unreachable)
{
    *unreachable = 0;
    return run(r, tmpl, NULL, NULL, addr, unreachable);
}

int fcgix_bridge_authorize_direct(request_rec *r, fcgix_server_t *tmpl,
                                  const fcgix_addr_t *addr,
                                  const apr_table_t *extra,
                                  fcgix_auth_reply_t *reply,
                                  int *unreachable)
{
    *unreachable = 0;
    memset(reply, 0, sizeof(*reply));
    return run(r, tmpl, extra ? extra : apr_table_make(r->pool, 1), reply,
               addr, unreachable);
}

int fcgix_bridge_authorize(request_rec *r, fcgix_server_t *srv,
                           const apr_table_t *extra,
                           fcgix_auth_reply_t *reply)
{
    memset(reply, 0, sizeof(*reply));
    return run(r, srv, extra ? extra : apr_table_make(r->pool, 1), reply,
               NULL, NULL);
}
