/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * Multiplexing, the connection side: groups, shared connections and their
 * request ids (handing them out, resting them), attaching and detaching
 * requests, retiring and reaping connections. Reading, the per-request
 * queues and writing are fcgix_mpx_demux.c's.
 */

#include <errno.h>
#include <stdlib.h>

#include "apr_poll.h"

#include "fcgix_mpx_int.h"

/* Ids we hand out per connection, whatever the application allows. */
#define MPX_ID_CAP 1024

typedef fcgix_mconn_t mconn_t;

/* The child leaves: its shared connections and their requests go out of
 * the scoreboard's sums (before the pool's own share, registered
 * earlier, hence run later). */
static apr_status_t group_leave(void *data)
{
    fcgix_mpx_group_t *g = data;

    fcgix_pool_mpx_count(g->pl, -(int)g->stats.conns,
                         -(int)g->stats.streams, 0);
    return APR_SUCCESS;
}

apr_status_t fcgix_mpx_group_create(fcgix_mpx_group_t **out,
                                    fcgix_pool_t *pl,
                                    const fcgix_mpx_limits_t *lim,
                                    apr_pool_t *pchild)
{
    fcgix_mpx_group_t *g = apr_pcalloc(pchild, sizeof(*g));
    pthread_mutexattr_t ma;
    int rc;

    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
    rc = pthread_mutex_init(&g->mu, &ma);
    pthread_mutexattr_destroy(&ma);
    if (rc != 0) {
        return APR_FROM_OS_ERROR(rc);
    }
    g->pl = pl;
    g->lim = *lim;
    apr_pool_cleanup_register(pchild, g, group_leave,
                              apr_pool_cleanup_null);
    if (g->lim.max_reqs < 1 || g->lim.max_reqs > MPX_ID_CAP) {
        g->lim.max_reqs = MPX_ID_CAP;
    }
    *out = g;
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Ids and the state of a connection (group lock held)                 */
/* ------------------------------------------------------------------ */

static void release_id(mconn_t *mc, fcgix_mstream_t *ms)
{
    mc->ids[ms->rid - 1] = NULL;
    mc->quiet_until[ms->rid - 1] = apr_time_now() + MPX_ID_QUIET;
    mc->nstreams--;
    if (mc->nstreams == 0) {
        mc->idle_since = apr_time_now();
    }
}

void fcgix_mpx_conn_forget(mconn_t *mc, fcgix_mstream_t *ms)
{
    release_id(mc, ms);
    mc->ndetached--;
    fcgix_mpx_stream_free(ms);
}

void fcgix_mpx_conn_break(mconn_t *mc, apr_status_t rv, const char *why)
{
    int i;

    if (mc->broken) {
        return;
    }
    mc->broken = 1;
    mc->broken_rv = rv;
    mc->why = why;
    for (i = 0; i < mc->nids; i++) {
        fcgix_mstream_t *ms = mc->ids[i];
        if (ms && ms->detached) {
            fcgix_mpx_conn_forget(mc, ms);
        }
    }
}

/*
 * An aborted request's application went on writing past its limits (it
 * ignores FCGI_ABORT_REQUEST): the connection takes no more requests and
 * is closed as soon as no live request is left on it (close_if_spent()).
 * Group lock held.
 */
void fcgix_mpx_conn_retire(mconn_t *mc, const fcgix_mstream_t *ms)
{
    fcgix_mpx_group_t *g = mc->g;

    if (mc->retired) {
        return;
    }
    mc->retired = 1;
    g->retired_rid = ms->rid;
    __atomic_add_fetch(&g->retired_n, 1, __ATOMIC_RELAXED);
}

void fcgix_mpx_conn_retire_overdue(mconn_t *mc, apr_time_t now)
{
    int i;

    for (i = 0; mc->ndetached && !mc->retired && i < mc->nids; i++) {
        fcgix_mstream_t *ms = mc->ids[i];
        /* At the deadline itself too: the drain stops there (left <= 0),
         * and a connection it left unretired would stay open, the
         * application writing, until a request of this child came by. */
        if (ms && ms->detached && now >= ms->drain_until) {
            fcgix_mpx_conn_retire(mc, ms);
        }
    }
}

/* A retired connection with only detached ids left is closed: breaking
 * it frees them, and the caller destroys it. Group lock held. */
static void close_if_spent(mconn_t *mc)
{
    if (mc->retired && !mc->broken && mc->nstreams == mc->ndetached) {
        fcgix_mpx_conn_break(mc, APR_ECONNABORTED, "retired: an aborted "
                             "request went on past its limits");
    }
}

/* ------------------------------------------------------------------ */
/* Connections and streams                                             */
/* ------------------------------------------------------------------ */

/*
 * A free id that has rested, the first from next_id on. When none has,
 * the one free the longest, unless the application has been seen
 * writing after an END_REQUEST (late_seen); -1 if none. A full rest for
 * every id would cap a connection at nids requests per MPX_ID_QUIET and
 * open a connection per hundred requests a second under load, which is
 * what multiplexing is there to avoid; an application that keeps to the
 * protocol never writes for an ended id, and for one that does not, the
 * round-robin order still puts every other free id before the one just
 * ended.
 */
static int free_id(const mconn_t *mc, apr_time_t now)
{
    int k, oldest = -1;

    if (mc->nstreams >= mc->nids || mc->retired) {
        return -1;
    }
    for (k = 0; k < mc->nids; k++) {
        int i = (mc->next_id + k) % mc->nids;
        if (mc->ids[i] != NULL) {
            continue;
        }
        if (mc->quiet_until[i] <= now) {
            return i;
        }
        if (oldest < 0 || mc->quiet_until[i] < mc->quiet_until[oldest]) {
            oldest = i;
        }
    }
    return mc->late_seen ? -1 : oldest;
}

static void mconn_destroy(mconn_t *mc)
{
    fcgix_mpx_group_t *g = mc->g;
    mconn_t **pp;

    for (pp = &g->conns; *pp; pp = &(*pp)->next) {
        if (*pp == mc) {
            *pp = mc->next;
            break;
        }
    }
    g->stats.conns--;
    fcgix_pool_mpx_count(g->pl, -1, 0, 0);
    free(mc->ids);
    free(mc->quiet_until);
    /* Slices of it may still be queued or in a client's output. */
    fcgix_mpx_block_unref(mc->blk);
    mc->blk = NULL;
    /* The pool's "release" closes the socket and frees mc (in c->p). */
    fcgix_pool_release(mc->conn, 0);
}

/* An idle shared connection must be silent to be used again. */
static int mconn_silent(mconn_t *mc)
{
    apr_int16_t rev = 0;

    return fcgix_mpx_conn_poll(mc, APR_POLLIN, 0, &rev) != APR_SUCCESS
           || rev == 0;
}

/* Connections nobody used for the idle time are closed: an idle
 * connection still holds a worker in many applications. */
static void reap_idle(fcgix_mpx_group_t *g)
{
    apr_time_t now = apr_time_now();
    mconn_t *mc = g->conns, *next;

    for (; mc; mc = next) {
        next = mc->next;
        /* Nobody may be reading this connection: the time limit of its
         * aborted requests is checked here too. */
        fcgix_mpx_conn_retire_overdue(mc, now);
        close_if_spent(mc);
        /* One being drained (fcgix_mpx_conn_drain) is its reader's. */
        if (mc->nstreams == 0 && !mc->reading
            && (mc->broken || now - mc->idle_since > g->lim.idle_ttl)) {
            mconn_destroy(mc);
        }
    }
}

static apr_status_t mconn_new(fcgix_mpx_group_t *g,
                              apr_interval_time_t connect_timeout,
                              mconn_t **out)
{
    fcgix_conn_t *conn;
    mconn_t *mc;
    apr_status_t rv;

    rv = fcgix_pool_acquire(g->pl, connect_timeout, 0, &conn);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    mc = apr_pcalloc(conn->p, sizeof(*mc));
    mc->g = g;
    mc->conn = conn;
    mc->nids = g->lim.max_reqs;
    {
        fcgix_pool_stats_t st;
        fcgix_pool_stats(g->pl, &st);
        if (st.max_reqs > 0 && st.max_reqs < mc->nids) {
            mc->nids = st.max_reqs; /* FCGI_MAX_REQS */
        }
    }
    mc->ids = calloc((size_t)mc->nids, sizeof(*mc->ids));
    mc->quiet_until = calloc((size_t)mc->nids, sizeof(*mc->quiet_until));
    fcgix_reader_init(&mc->rd, FCGIX_READ_FROM_APP);
    if (mc->ids == NULL || mc->quiet_until == NULL
        || (rv = apr_thread_mutex_create(&mc->wmu, APR_THREAD_MUTEX_DEFAULT,
                                         conn->p)) != APR_SUCCESS) {
        free(mc->ids);
        free(mc->quiet_until);
        fcgix_pool_release(conn, 0);
        return rv ? rv : APR_ENOMEM;
    }
    *out = mc;
    return APR_SUCCESS;
}

/* Puts a new connection on the group's list. */
static void conn_link(fcgix_mpx_group_t *g, mconn_t *mc)
{
    mc->next = g->conns;
    g->conns = mc;
    g->stats.conns++;
    fcgix_pool_mpx_count(g->pl, 1, 0, 0);
}

/* A connection with an id free (*i), @p fresh if no other has one (then
 * *fresh is taken), or NULL. Group lock held. */
static mconn_t *conn_find(fcgix_mpx_group_t *g, mconn_t **fresh, int *i)
{
    apr_time_t now;
    mconn_t *mc;

    reap_idle(g);
    now = apr_time_now();
    for (mc = g->conns; mc; mc = mc->next) {
        if (!mc->broken && mc->nstreams == 0 && !mc->reading
            && !mconn_silent(mc)) {
            /* Idle, yet readable: the application closed it (unless
             * the request that left it still reads the last of it). */
            fcgix_mpx_conn_break(mc, APR_EOF, "closed while idle");
            continue;
        }
        if (!mc->broken && (*i = free_id(mc, now)) >= 0) {
            return mc;
        }
    }
    if ((mc = *fresh) != NULL) {
        *i = 0;
        conn_link(g, mc);
        *fresh = NULL;
    }
    return mc;
}

static fcgix_mstream_t *stream_new(apr_status_t *rv)
{
    fcgix_mstream_t *ms = calloc(1, sizeof(*ms));

    if (ms == NULL) {
        *rv = APR_ENOMEM;
        return NULL;
    }
    if (sem_init(&ms->sem, 0, 0) != 0) {
        *rv = APR_FROM_OS_ERROR(errno);
        free(ms);
        return NULL;
    }
    return ms;
}

apr_status_t fcgix_mpx_open(fcgix_mpx_group_t *g,
                            apr_interval_time_t connect_timeout,
                            fcgix_mstream_t **out, apr_uint16_t *rid)
{
    mconn_t *mc, *fresh = NULL;
    apr_status_t rv = APR_SUCCESS;
    fcgix_mstream_t *ms = stream_new(&rv);
    int i = -1;

    if (ms == NULL) {
        return rv;
    }
    for (;;) {
        pthread_mutex_lock(&g->mu);
        if ((mc = conn_find(g, &fresh, &i)) != NULL) {
            break;
        }
        pthread_mutex_unlock(&g->mu);
        /* Connect without the lock; another thread may free an id
         * meanwhile, and then the fresh connection waits as a spare. */
        if ((rv = mconn_new(g, connect_timeout, &fresh)) != APR_SUCCESS) {
            sem_destroy(&ms->sem);
            free(ms);
            return rv;
        }
    }
    mc->next_id = (i + 1) % mc->nids;
    ms->mc = mc;
    ms->rid = (apr_uint16_t)(i + 1);
    mc->ids[i] = ms;
    mc->nstreams++;
    g->stats.streams++;
    fcgix_pool_mpx_count(g->pl, 0, 1, (apr_uint32_t)mc->nstreams);
    if ((apr_uint32_t)mc->nstreams > g->stats.max_depth) {
        g->stats.max_depth = (apr_uint32_t)mc->nstreams;
    }
    if (fresh) {
        /* Not needed after all: keep it for the next request. */
        conn_link(g, fresh);
        fresh->idle_since = apr_time_now();
    }
    pthread_mutex_unlock(&g->mu);
    *out = ms;
    *rid = ms->rid;
    return APR_SUCCESS;
}

/* The group's retirements not yet reported, and the latest one's
 * request id; the count starts again. Group lock held. */
static apr_uint32_t take_retired(fcgix_mpx_group_t *g, apr_uint16_t *rid)
{
    *rid = g->retired_rid;
    return __atomic_exchange_n(&g->retired_n, 0, __ATOMIC_RELAXED);
}

apr_uint32_t fcgix_mpx_close(fcgix_mstream_t *ms,
                             apr_interval_time_t drain_time,
                             apr_size_t drain_max, int read_on,
                             apr_uint16_t *rid)
{
    mconn_t *mc = ms->mc;
    fcgix_mpx_group_t *g = mc->g;
    apr_uint32_t retired = 0;
    int pending;

    pthread_mutex_lock(&g->mu);
    pending = !ms->ended && !mc->broken;
    if (pending) {
        apr_byte_t rec[FCGIX_HEADER_LEN];
        struct iovec iov;

        /* Sent while still attached, so the connection cannot be torn
         * down under us. A failure breaks it for everyone, which the
         * next reader reports. */
        pthread_mutex_unlock(&g->mu);
        fcgix_proto_rec_header(rec, FCGIX_ABORT_REQUEST, ms->rid, 0);
        iov.iov_base = rec;
        iov.iov_len = sizeof(rec);
        (void)fcgix_mpx_send(ms, &iov, 1, apr_time_from_sec(1));
        pthread_mutex_lock(&g->mu);
    }
    g->stats.streams--;
    fcgix_pool_mpx_count(g->pl, 0, -1, 0);
    if (ms->ended || mc->broken) {
        release_id(mc, ms);
        fcgix_mpx_stream_free(ms);
    }
    else {
        /* The id stays taken until the application ends the request;
         * its late records are dropped on arrival. */
        fcgix_mpx_stream_empty(ms);
        ms->detached = 1;
        ms->drain_until = apr_time_now() + drain_time;
        ms->drain_left = drain_max;
        mc->ndetached++;
        if (read_on) {
            fcgix_mpx_conn_drain(mc);
        }
    }
    close_if_spent(mc);
    if (mc->broken && mc->nstreams == 0) {
        mconn_destroy(mc);
    }
    if (read_on) {
        /* Said now, not by the next request of this child, which may
         * never come (the child may be stopped as a spare meanwhile). */
        retired = take_retired(g, rid);
    }
    pthread_mutex_unlock(&g->mu);
    return retired;
}

apr_uint32_t fcgix_mpx_take_retired(fcgix_mstream_t *ms, apr_uint16_t *rid)
{
    fcgix_mpx_group_t *g = ms->mc->g;
    apr_uint32_t n;

    if (__atomic_load_n(&g->retired_n, __ATOMIC_RELAXED) == 0) {
        return 0;
    }
    pthread_mutex_lock(&g->mu);
    n = take_retired(g, rid);
    pthread_mutex_unlock(&g->mu);
    return n;
}

apr_uint32_t fcgix_mpx_take_late(fcgix_mstream_t *ms, apr_uint16_t *rid)
{
    mconn_t *mc = ms->mc;
    apr_uint32_t n;

    /* Racy peek first: late records are rare, the lock is not. */
    if (__atomic_load_n(&mc->late_n, __ATOMIC_RELAXED) == 0) {
        return 0;
    }
    pthread_mutex_lock(&mc->g->mu);
    n = __atomic_exchange_n(&mc->late_n, 0, __ATOMIC_RELAXED);
    *rid = mc->late_rid;
    pthread_mutex_unlock(&mc->g->mu);
    return n;
}

void fcgix_mpx_stats(fcgix_mpx_group_t *g, fcgix_mpx_stats_t *st)
{
    pthread_mutex_lock(&g->mu);
    *st = g->stats;
    pthread_mutex_unlock(&g->mu);
}
