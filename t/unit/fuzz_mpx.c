/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * libFuzzer target for the multiplexing demux (src/fcgix_mpx.c included
 * whole for its connections and ids, src/fcgix_mpx_demux.c linked for
 * the queues and reading; driven through the public calls in one
 * thread): requests open
 * and close ids on one shared connection while a hostile application
 * writes interleaved records for many ids, foreign and ended ids, and
 * truncated records, in pieces of any size, into a socketpair.
 *
 * The pool layer under it is a stub (one socketpair per connection; the
 * records the demux writes are parsed, so FCGI_ABORT_REQUEST is seen).
 * A second L0 reader reads the same bytes as a reference: every request
 * must receive exactly a prefix of what the application sent for its id
 * since it was opened, in order, END_REQUEST only after the application
 * ended that id, no FCGI_ABORT_REQUEST once it has seen its END_REQUEST;
 * at the end every
 * gauge is back to 0 and LeakSanitizer sees no chunk or stream left.
 * Not covered: the leader/follower hand-over between threads.
 *
 * Input: 4 bytes of limits (ids, queue bound, drain bytes, first opens),
 * then commands: 0 = write the next n bytes (length byte follows), 1 =
 * open a request, 2 = close one, 3 = read for every request.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apr_portable.h"

#include "../../src/fcgix_mpx.c"

#include "fuzz_check.h"

#define MAXS 16
#define MAXRID 8
/* What the application sent per id, per record type (STDOUT, STDERR). */
#define REF_CAP 8192

typedef struct {
    uint8_t out[2][REF_CAP];
    size_t len[2];
    int ended;
} ref_id_t;

typedef struct {
    fcgix_mstream_t *ms;
    uint16_t rid;
    size_t start[2]; /* reference offsets when it was opened */
    size_t got[2];
    int ended;       /* END_REQUEST received */
    int done;        /* an error or overflow was returned */
    int inexact;     /* opened with unread bytes pending: see open_req() */
} req_t;

static struct {
    apr_pool_t *root;
    int app_fd;        /* application side of the current connection */
    int conns, streams;/* gauges from fcgix_pool_mpx_count */
    int aborts[MAXRID + 1];
    int max_reqs;
    apr_size_t drain_max;
    fcgix_reader_t ref;
    ref_id_t ids[MAXRID + 1];
    int ref_failed;
} st;

/* ---- pool stubs --------------------------------------------------- */

apr_status_t fcgix_pool_acquire(fcgix_pool_t *pl,
                                apr_interval_time_t connect_timeout,
                                int capped, fcgix_conn_t **out)
{
    int sv[2];
    apr_pool_t *p;
    fcgix_conn_t *c;
    apr_os_sock_t fd;

    (void)connect_timeout;
    (void)capped;
    /* A new connection: the old one is broken (open_req() sees to
     * that), so the reference starts over with the new one. */
    if (st.app_fd >= 0) {
        close(st.app_fd);
    }
    fcgix_reader_init(&st.ref, FCGIX_READ_FROM_APP);
    memset(st.ids, 0, sizeof(st.ids));
    st.ref_failed = 0;
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    apr_pool_create(&p, st.root);
    c = apr_pcalloc(p, sizeof(*c));
    c->p = p;
    c->pool = pl;
    fd = sv[0];
    CHECK(apr_os_sock_put(&c->sock, &fd, p) == APR_SUCCESS);
    apr_socket_opt_set(c->sock, APR_SO_NONBLOCK, 1);
    apr_socket_timeout_set(c->sock, 0);
    st.app_fd = sv[1];
    CHECK(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
    *out = c;
    return APR_SUCCESS;
}

void fcgix_pool_release(fcgix_conn_t *conn, int reusable)
{
    (void)reusable;
    apr_socket_close(conn->sock);
    apr_pool_destroy(conn->p);
}

void fcgix_pool_stats(fcgix_pool_t *pl, fcgix_pool_stats_t *s)
{
    (void)pl;
    memset(s, 0, sizeof(*s));
    s->max_reqs = (apr_uint32_t)st.max_reqs;
}

void fcgix_pool_mpx_count(fcgix_pool_t *pl, int dconns, int dstreams,
                          apr_uint32_t depth)
{
    (void)pl;
    st.conns += dconns;
    st.streams += dstreams;
    CHECK(st.conns >= 0 && st.streams >= 0);
    CHECK(depth <= MAXRID);
}

void fcgix_pool_caps_answer(fcgix_pool_t *pl, const unsigned char *body,
                            apr_size_t len)
{
    (void)pl;
    CHECK(len <= FCGIX_MGMT_MAX && (len == 0 || body != NULL));
}

/* Only whole 8-byte records with an empty body are written here (the
 * aborts); anything else is the harness's own send. */
apr_status_t fcgix_pool_sendv(apr_socket_t *sock, struct iovec **iov, int *n)
{
    (void)sock;
    while (*n > 0) {
        fcgix_hdr_t h;

        if ((*iov)->iov_len == FCGIX_HEADER_LEN) {
            fcgix_proto_hdr_unpack(&h, (*iov)->iov_base);
            if (h.type == FCGIX_ABORT_REQUEST && h.request_id <= MAXRID) {
                st.aborts[h.request_id]++;
            }
        }
        (*iov)->iov_len = 0;
        (*iov)++;
        (*n)--;
    }
    return APR_SUCCESS;
}

/* ---- the reference ------------------------------------------------ */

static void ref_feed(const uint8_t *b, size_t len)
{
    size_t off = 0;

    while (off < len && !st.ref_failed) {
        fcgix_event_t ev;
        size_t used = 0;
        int rc = fcgix_reader_feed(&st.ref, b + off, len - off, &used, &ev);

        off += used;
        if (rc == FCGIX_AGAIN) {
            break;
        }
        if (rc != FCGIX_OK) {
            st.ref_failed = 1;
            break;
        }
        if (ev.request_id == 0 || ev.request_id > MAXRID) {
            continue;
        }
        if (ev.kind == FCGIX_EV_STREAM) {
            ref_id_t *ri = &st.ids[ev.request_id];
            int t = ev.type == FCGIX_STDERR;
            size_t n = ev.len;

            if (n > REF_CAP - ri->len[t]) {
                n = REF_CAP - ri->len[t];
            }
            memcpy(ri->out[t] + ri->len[t], ev.data, n);
            ri->len[t] += n;
        }
        else if (ev.kind == FCGIX_EV_END_REQUEST) {
            st.ids[ev.request_id].ended = 1;
        }
    }
}

/* ---- driving ------------------------------------------------------ */

static void drain(req_t *q)
{
    for (;;) {
        fcgix_event_t ev;
        const char *why;
        apr_status_t rv;

        /* An owner stops at END_REQUEST (what the application sends
         * after it, for the same id, is freed with the stream). */
        if (q->ms == NULL || q->done || q->ended) {
            return;
        }
        rv = fcgix_mpx_next(q->ms, 0, &ev, &why);
        if (APR_STATUS_IS_EAGAIN(rv)) {
            return;
        }
        if (rv != APR_SUCCESS) {
            CHECK(rv == FCGIX_MPX_OVERFLOW || why != NULL);
            q->done = 1;
            return;
        }
        CHECK(!q->ended && ev.request_id == q->rid);
        if (ev.kind == FCGIX_EV_END_REQUEST) {
            CHECK(st.ids[q->rid].ended);
            q->ended = 1;
            continue;
        }
        CHECK(ev.kind == FCGIX_EV_STREAM);
        CHECK(ev.type == FCGIX_STDOUT || ev.type == FCGIX_STDERR);
        {
            int t = ev.type == FCGIX_STDERR;
            ref_id_t *ri = &st.ids[q->rid];
            size_t at = q->start[t] + q->got[t];

            if (!q->inexact && at + ev.len <= REF_CAP) {
                CHECK(at + ev.len <= ri->len[t]);
                CHECK(!ev.len || !memcmp(ri->out[t] + at, ev.data, ev.len));
            }
            q->got[t] += ev.len;
        }
    }
}

static int unread(fcgix_mpx_group_t *g)
{
    apr_os_sock_t fd;
    int n = 0;

    if (g->conns == NULL) {
        return 0;
    }
    apr_os_sock_get(&fd, g->conns->conn->sock);
    return ioctl(fd, FIONREAD, &n) != 0 || n > 0;
}

/*
 * Records the application sends for an id nobody uses are an error, but
 * only when they are read before the id is handed out: those still in
 * the socket then go to the new request (the protocol cannot tell them
 * apart). So the others read everything first; when they cannot (all
 * done), the new request's bytes are not compared.
 */
static void open_req(fcgix_mpx_group_t *g, req_t *rq, int *nrq)
{
    mconn_t *mc = g->conns;
    req_t *q;
    apr_uint16_t rid;
    int i, pending;

    /* One connection at a time: no request while the one there cannot
     * take it (then the demux would open a second). */
    if (*nrq >= MAXS || (mc && (mc->broken || mc->next
                                || free_id(mc, apr_time_now()) < 0))) {
        return;
    }
    for (i = 0; i < *nrq; i++) {
        drain(&rq[i]);
    }
    pending = unread(g);
    q = &rq[*nrq];
    memset(q, 0, sizeof(*q));
    q->inexact = pending;
    if (fcgix_mpx_open(g, 0, &q->ms, &rid) != APR_SUCCESS) {
        q->ms = NULL;
        return;
    }
    CHECK(rid >= 1 && rid <= MAXRID);
    q->rid = rid;
    q->start[0] = st.ids[rid].len[0];
    q->start[1] = st.ids[rid].len[1];
    (*nrq)++;
}

static void close_req(req_t *q)
{
    apr_uint16_t rid;
    int before;

    if (q->ms == NULL) {
        return;
    }
    before = st.aborts[q->rid];
    /* No reading on: the fuzzer feeds the connection itself. */
    CHECK(fcgix_mpx_close(q->ms, apr_time_from_sec(5), st.drain_max, 0,
                          &rid) == 0);
    if (q->ended) {
        /* A request that finished is never aborted. */
        CHECK(st.aborts[q->rid] == before);
    }
    q->ms = NULL;
}

/* Whatever the demux still holds goes, as at a child's exit. */
static void tear_down(fcgix_mpx_group_t *g)
{
    mconn_t *mc;

    pthread_mutex_lock(&g->mu);
    while ((mc = g->conns) != NULL) {
        CHECK(mc->nstreams == mc->ndetached);
        fcgix_mpx_conn_break(mc, APR_EOF, "end of the run");
        CHECK(mc->nstreams == 0);
        mconn_destroy(mc);
    }
    pthread_mutex_unlock(&g->mu);
}

static void run(fcgix_mpx_group_t *g, const uint8_t *data, size_t size,
                req_t *rq, int *nrq)
{
    size_t off = 0;
    int i;

    while (off < size) {
        uint8_t c = data[off++];

        switch (c & 3) {
        case 0: {
            size_t n = off < size ? (size_t)data[off++] + 1 : 0;
            ssize_t w;

            n = n > size - off ? size - off : n;
            /* Short when the socket is full, fails once the demux has
             * closed its end: the reference sees what went out. */
            w = n && st.app_fd >= 0 ? write(st.app_fd, data + off, n) : 0;
            if (w > 0) {
                ref_feed(data + off, (size_t)w);
            }
            off += n;
            break;
        }
        case 1:
            open_req(g, rq, nrq);
            break;
        case 2:
            if (*nrq) {
                close_req(&rq[(c >> 2) % *nrq]);
            }
            break;
        default:
            for (i = 0; i < *nrq; i++) {
                drain(&rq[i]);
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fcgix_mpx_group_t *g;
    fcgix_mpx_limits_t lim;
    apr_pool_t *p;
    req_t rq[MAXS];
    int nrq = 0, i;

    if (size < 4) {
        return 0;
    }
    if (st.root == NULL) {
        apr_initialize();
        apr_pool_create(&st.root, NULL);
        signal(SIGPIPE, SIG_IGN); /* as in httpd */
    }
    memset(&st.conns, 0, sizeof(st) - offsetof(__typeof__(st), conns));
    st.app_fd = -1;
    st.max_reqs = 1 + (data[0] & 7);
    st.drain_max = (apr_size_t)data[2] * 16;
    lim.max_reqs = MAXRID;
    lim.queue_max = (apr_size_t)16 << (data[1] & 15);
    lim.idle_ttl = apr_time_from_sec(60);
    apr_pool_create(&p, st.root);
    CHECK(fcgix_mpx_group_create(&g, NULL, &lim, p) == APR_SUCCESS);
    for (i = 0; i < 1 + (data[3] & 7); i++) {
        open_req(g, rq, &nrq);
    }
    run(g, data + 4, size - 4, rq, &nrq);
    for (i = 0; i < nrq; i++) {
        drain(&rq[i]);
        close_req(&rq[i]);
    }
    tear_down(g);
    CHECK(st.conns == 0 && st.streams == 0);
    if (st.app_fd >= 0) {
        close(st.app_fd);
    }
    apr_pool_destroy(p);
    return 0;
}
