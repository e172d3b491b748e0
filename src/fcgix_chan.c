/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include "httpd.h"
#include "http_log.h"

#include "fcgix.h"
#include "fcgix_chan.h"
#include "fcgix_req.h"

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

/* The caller picks another process on failure, and logs. */
static int connect_direct(fcgix_req_t *q, apr_interval_time_t to)
{
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

/* An id on the shared connection of address @p k, or a connection of
 * our own from its pool. */
static apr_status_t attach(fcgix_req_t *q, int k, apr_interval_time_t to)
{
    fcgix_server_t *srv = q->srv;
    apr_status_t rv;

    q->pl = srv->pools[k];
    q->addr = fcgix_pool_addr(q->pl);
    if (use_mpx(q)) {
        return fcgix_mpx_open(srv->mpx_groups[k], to, &q->ms, &q->rid);
    }
    q->rid = SOLE_RID;
    rv = fcgix_pool_acquire(q->pl, to, 1, &q->conn);
    if (rv == APR_SUCCESS) {
        q->sock = q->conn->sock;
    }
    return rv;
}

/* Every address was tried; @p rv is how the last one failed. */
static int none_left(fcgix_req_t *q, int full, apr_status_t rv,
                     apr_interval_time_t to)
{
    fcgix_server_t *srv = q->srv;

    q->pl = NULL;
    if (full) {
        /* Every address was at its cap the whole wait: overloaded. */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r, FCGIX_LOGNO(00186)
                      SRV_FMT "all %d connections busy for %" APR_TIME_T_FMT
                      " s (max-conns, max-conns-wait)", SRV_ARGS(q),
                      srv->limits.max_conns,
                      apr_time_sec(srv->limits.max_wait));
        apr_table_setn(q->r->err_headers_out, "Retry-After", "5");
        return HTTP_SERVICE_UNAVAILABLE;
    }
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

int fcgix_chan_connect(fcgix_req_t *q, apr_uint32_t *tried)
{
    fcgix_server_t *srv = q->srv;
    apr_interval_time_t to = fcgix_conf_connect_timeout(q->r, srv);
    int n = srv->addrs->nelts;
    apr_uint32_t key = 0;
    apr_status_t rv = APR_EGENERAL;
    const char *ip;
    int full = 0;

    if (q->direct) {
        return connect_direct(q, to);
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
        if ((rv = attach(q, k, to)) == APR_SUCCESS) {
            return OK;
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
    return none_left(q, full, rv, to);
}

void fcgix_chan_release(fcgix_req_t *q, int keep)
{
    if (q->ms) {
        fcgix_mpx_close(q->ms, fcgix_conf_abort_timeout(q->dc),
                        (apr_size_t)fcgix_conf_abort_max_bytes(q->dc));
        q->ms = NULL;
    }
    if (q->conn) {
        /* The reuse checklist: a clean end we asked to keep, the reader
         * between records, nothing unread, no failure. */
        int reusable = keep && q->keep_conn && q->ended && !q->fail
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
}
