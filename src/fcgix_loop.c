/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <sys/socket.h>

#include "apr_poll.h"
#include "apr_portable.h"

#include "httpd.h"
#include "http_log.h"

#include "fcgix.h"
#include "fcgix_fail.h"
#include "fcgix_loop.h"
#include "fcgix_reply.h"
#include "fcgix_req.h"
#include "fcgix_send.h"

/* How often a request on a shared connection looks at its client. */
#define MPX_SLICE apr_time_from_msec(250)

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
apr_status_t fcgix_loop_wait(fcgix_req_t *q, apr_int16_t events,
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

void fcgix_loop_note_retired(fcgix_req_t *q, apr_uint32_t n,
                             apr_uint16_t rid)
{
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, q->r, FCGIX_LOGNO(00305)
                  SRV_FMT "application did not end aborted request id %u "
                  "on a shared connection within FcgixAbortTimeout / "
                  "FcgixAbortMaxBytes: connection closed (%u in all)",
                  SRV_ARGS(q), (unsigned)rid, (unsigned)n);
}

/* Records sent after END_REQUEST are dropped by the connection's reader;
 * whichever request comes by first tells the debug log. */
static void note_late(fcgix_req_t *q)
{
    apr_uint16_t rid = 0;
    apr_uint32_t n = fcgix_mpx_take_retired(q->ms, &rid);

    if (n) {
        /* A connection retired while nobody drained it (another live
         * request read the records): told by whichever request of this
         * child comes by, the aborted one being gone. */
        fcgix_loop_note_retired(q, n, rid);
    }
    n = fcgix_mpx_take_late(q->ms, &rid);
    if (n) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, q->r, FCGIX_LOGNO(00304)
                      SRV_FMT "dropped %u record(s) the application sent "
                      "for requests it had ended (latest: request id %u)",
                      SRV_ARGS(q), (unsigned)n, (unsigned)rid);
    }
}

/*
 * Waits for a record on a shared connection. It is waited for in slices,
 * to notice a client that hangs up meanwhile: the connection is shared,
 * so its socket cannot be polled together with the client's.
 */
static apr_status_t mpx_wait(fcgix_req_t *q, fcgix_event_t *ev,
                             const char **why)
{
    apr_time_t deadline = apr_time_now() + q->io_timeout;
    apr_status_t rv;

    if (q->unflushed) {
        fcgix_reply_pass(q, 1);
    }
    do {
        apr_interval_time_t left = deadline - apr_time_now();
        rv = fcgix_mpx_next(q->ms,
                            left > MPX_SLICE ? MPX_SLICE
                                             : (left > 0 ? left : 1),
                            ev, why);
        if (APR_STATUS_IS_TIMEUP(rv)) {
            client_check(q);
        }
    } while (APR_STATUS_IS_TIMEUP(rv) && !q->client_gone
             && apr_time_now() < deadline);
    return rv;
}

/*
 * Whether what a record added to the reply may wait: the next record is
 * already taken (the reply goes down once per batch the reader handed
 * over, as a direct connection's once per read), or the reply has come
 * whole (fcgix_reply_whole). Data of a record that the next
 * fcgix_mpx_next frees was taken over or copied by the reply
 * (fcgix_mpx_bucket).
 */
static int mpx_hold(const fcgix_req_t *q)
{
    if (q->ended) {
        return fcgix_reply_whole(q);
    }
    return !q->fail && fcgix_mpx_at_hand(q->ms);
}

/* Hands what fcgix_mpx_next gave to the reply, or maps its failure. */
static void mpx_take(fcgix_req_t *q, apr_status_t rv,
                     const fcgix_event_t *ev, const char *why)
{
    note_late(q);
    if (rv != APR_SUCCESS) {
        fcgix_fail_read_mpx(q, rv, why);
    }
    else {
        q->rx_bytes += ev->len + 1;
        if (fcgix_reply_event(q, ev) == APR_SUCCESS && !mpx_hold(q)) {
            fcgix_reply_pass(q, q->set->flush);
        }
    }
}

static apr_status_t mpx_read(fcgix_req_t *q)
{
    fcgix_event_t ev;
    const char *why;
    apr_status_t rv = fcgix_mpx_next(q->ms, 0, &ev, &why);

    if (APR_STATUS_IS_EAGAIN(rv)) {
        return rv;
    }
    mpx_take(q, rv, &ev, why);
    return APR_SUCCESS;
}

static int mpx_await(fcgix_req_t *q)
{
    fcgix_event_t ev;
    const char *why;
    apr_status_t rv = mpx_wait(q, &ev, &why);

    if (q->client_gone) {
        /* fcgix_mpx_close tells the application and drains it. */
        return 0;
    }
    mpx_take(q, rv, &ev, why);
    return 1;
}

static int mpx_go_on(fcgix_req_t *q)
{
    return !q->client_gone || q->set->ignore_client_abort;
}

/* Nothing more is ready: lets the client have what we hold and waits. */
static void wait_reply(fcgix_req_t *q)
{
    apr_int16_t rev;
    apr_status_t rv;

    if (q->unflushed) {
        fcgix_reply_pass(q, 1);
    }
    rv = fcgix_loop_wait(q, APR_POLLIN, &rev);
    if (APR_STATUS_IS_TIMEUP(rv) && q->abort_sent) {
        abort_spent(q, 1);
    }
    else if (APR_STATUS_IS_TIMEUP(rv)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, q->r,
                      FCGIX_LOGNO(00104) SRV_FMT
                      "no reply within %s (I/O timeout)%s", SRV_ARGS(q),
                      fcgix_req_secs(q, q->io_timeout),
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
}

/* A departed client gets the application told (FCGI_ABORT_REQUEST) and
 * its reply drained, within limits, so a kept connection stays in step. */
static int direct_go_on(fcgix_req_t *q)
{
    if (q->client_gone && !q->abort_sent && !q->set->ignore_client_abort) {
        fcgix_send_abort(q);
        if (q->ended || q->fail) {
            return 0;
        }
    }
    return !(q->abort_sent && abort_spent(q, 0));
}

static apr_status_t direct_read(fcgix_req_t *q)
{
    apr_status_t rv = fcgix_reply_pump(q);

    if (rv == APR_SUCCESS || rv == FCGIX_FAILED) {
        return APR_SUCCESS;
    }
    if (!APR_STATUS_IS_EAGAIN(rv)) {
        fcgix_fail_read(q, rv);
        return APR_SUCCESS;
    }
    return rv;
}

static int direct_await(fcgix_req_t *q)
{
    wait_reply(q);
    return 1;
}

/*
 * The loop's view of a channel, so that one loop reads both kinds: a
 * connection of its own (polled together with the client) and an id on a
 * shared one (waited for in slices). Every operation hands what it reads
 * to the reply (fcgix_reply_event, via the pump or the request's queue)
 * and maps its own failures into q->fail.
 */
typedef struct {
    /* May reading go on? (The client may have left meanwhile.) */
    int (*go_on)(fcgix_req_t *q);
    /* Takes what is ready without waiting; APR_EAGAIN if nothing is. */
    apr_status_t (*read)(fcgix_req_t *q);
    /* Flushes what the client has not seen and waits for more (a
     * shared channel's wait hands it over, and it is taken here too);
     * 0 when reading must stop. */
    int (*await)(fcgix_req_t *q);
    /* Right after the request went out the reply is hardly ever there
     * yet: wait first rather than spend a read on EAGAIN. */
    int wait_first;
} loop_io_t;

static const loop_io_t direct_io = {
    direct_go_on, direct_read, direct_await, 1
};
static const loop_io_t mpx_io = { mpx_go_on, mpx_read, mpx_await, 0 };

/* Reads until END_REQUEST or a failure. */
void fcgix_loop_read(fcgix_req_t *q)
{
    const loop_io_t *io = q->ms ? &mpx_io : &direct_io;
    int wait = io->wait_first && q->rx_bytes == 0;

    while (!q->ended && !q->fail && io->go_on(q)) {
        if ((wait || APR_STATUS_IS_EAGAIN(io->read(q))) && !io->await(q)) {
            break;
        }
        wait = 0;
    }
}
