/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

#include "apr_poll.h"
#include "apr_thread_mutex.h"
#include "apr_time.h"

#include "fcgix_mpx.h"

#define MPX_RBUF (64 * 1024)
/* Ids we hand out per connection, whatever the application allows. */
#define MPX_ID_CAP 1024
/* A released id rests this long (and as long again after each late
 * record for it) before it is handed out again: a record the application
 * sends after END_REQUEST must not reach the id's next owner. */
#define MPX_ID_QUIET apr_time_from_sec(1)

typedef struct chunk_t {
    struct chunk_t *next;
    fcgix_ev_kind_e kind;
    apr_byte_t type;
    fcgix_end_t end;
    apr_size_t len;
    char data[];
} chunk_t;

typedef struct mconn_t mconn_t;

struct fcgix_mstream_t {
    mconn_t *mc;
    apr_uint16_t rid;
    chunk_t *head, *tail, *cur;
    chunk_t *mine;   /* taken off the queue in one go; owner only, no lock */
    apr_size_t queued;
    apr_size_t taken; /* bytes of the last take, still counted in queued:
                       * the bound stays strict while the owner works */
    int ended;     /* END_REQUEST received */
    int overflow;  /* dropped for outgrowing the queue bound */
    int detached;  /* owner gone; freed when END_REQUEST arrives */
    /* Detached: what the application may still send for it, and until
     * when, before the connection is retired (see retire()). */
    apr_time_t drain_until;
    apr_size_t drain_left;
    int waiting;   /* owner asleep on sem; whoever posts clears it */
    sem_t sem;     /* wakes the owner alone: no herd per record */
};

struct mconn_t {
    fcgix_mpx_group_t *g;
    fcgix_conn_t *conn;
    fcgix_reader_t rd;     /* only the current reader touches rd/rbuf */
    char *rbuf;
    int reading;
    int broken;
    apr_status_t broken_rv;
    const char *why;
    int nstreams;          /* ids in use, detached ones included */
    int ndetached;
    int retired;           /* takes no more requests; closed once only
                              detached ids are left */
    int nids;
    fcgix_mstream_t **ids; /* index rid - 1 */
    /* Per id: 0 never used, else when it may be handed out again. Ids
     * are handed out round-robin from next_id, so the one just released
     * is the last candidate. */
    apr_time_t *quiet_until;
    int next_id;
    /* Late records dropped and not yet reported (fcgix_mpx_take_late). */
    apr_uint32_t late_n;
    apr_uint16_t late_rid;
    apr_thread_mutex_t *wmu;
    apr_time_t idle_since;
    mconn_t *next;
};

struct fcgix_mpx_group_t {
    /* Guards every mconn and stream field. Every request takes it a few
     * times, for a few hundred nanoseconds: it spins a little before it
     * sleeps. */
    pthread_mutex_t mu;
    fcgix_pool_t *pl;
    fcgix_mpx_limits_t lim;
    mconn_t *conns;
    fcgix_mpx_stats_t stats;
    /* Connections retired and not yet reported (fcgix_mpx_take_retired). */
    apr_uint32_t retired_n;
    apr_uint16_t retired_rid;
};

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
/* Queues (group lock held)                                            */
/* ------------------------------------------------------------------ */

static void free_chunks(chunk_t *c)
{
    while (c) {
        chunk_t *n = c->next;
        free(c);
        c = n;
    }
}

static void stream_free(fcgix_mstream_t *ms)
{
    free_chunks(ms->head);
    free_chunks(ms->mine);
    free(ms->cur);
    sem_destroy(&ms->sem);
    free(ms);
}

/*
 * Moves everything queued to ms->mine, for the owner to go through without
 * the lock; it stays counted in the queue bound until the owner asks for
 * more. Group lock held. The release store lets an owner that wakes up
 * see the records without taking the lock (sleep_until()).
 */
static void take_all(fcgix_mstream_t *ms)
{
    chunk_t *c = ms->head;

    ms->head = ms->tail = NULL;
    ms->taken = ms->queued;
    __atomic_store_n(&ms->mine, c, __ATOMIC_RELEASE);
}

static void post(fcgix_mstream_t *ms)
{
    ms->waiting = 0;
    sem_post(&ms->sem);
}

/*
 * Wakes, of the owners asleep on this connection, those with something to
 * take (a record, an overflow, a broken connection), and, when nobody
 * reads and @p leader is set, one more to become the reader. Group lock
 * held.
 */
static void wake(mconn_t *mc, int leader)
{
    int i;

    leader = leader && !mc->reading && !mc->broken;
    for (i = 0; i < mc->nids; i++) {
        fcgix_mstream_t *ms = mc->ids[i];
        if (ms == NULL || !ms->waiting) {
            continue;
        }
        if (ms->head && !ms->overflow && !mc->broken && ms->mine == NULL) {
            /* Handed over with the wake: the owner need not queue up on
             * the group lock again to take it. */
            take_all(ms);
            post(ms);
        }
        else if (ms->head || ms->overflow || mc->broken) {
            post(ms);
        }
        else if (leader) {
            post(ms);
            leader = 0;
        }
    }
}

static void release_id(mconn_t *mc, fcgix_mstream_t *ms)
{
    mc->ids[ms->rid - 1] = NULL;
    mc->quiet_until[ms->rid - 1] = apr_time_now() + MPX_ID_QUIET;
    mc->nstreams--;
    if (mc->nstreams == 0) {
        mc->idle_since = apr_time_now();
    }
}

static void enqueue(fcgix_mstream_t *ms, chunk_t *c)
{
    c->next = NULL;
    if (ms->tail) {
        ms->tail->next = c;
    }
    else {
        ms->head = c;
    }
    ms->tail = c;
    ms->queued += c->len;
}

/* Marks the connection unusable; orphaned streams go with it. */
static void mark_broken(mconn_t *mc, apr_status_t rv, const char *why)
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
            release_id(mc, ms);
            mc->ndetached--;
            stream_free(ms);
        }
    }
}

/*
 * An aborted request's application went on writing past its limits (it
 * ignores FCGI_ABORT_REQUEST): the connection takes no more requests and
 * is closed as soon as no live request is left on it (close_if_spent()).
 * Group lock held.
 */
static void retire(mconn_t *mc, const fcgix_mstream_t *ms)
{
    fcgix_mpx_group_t *g = mc->g;

    if (mc->retired) {
        return;
    }
    mc->retired = 1;
    g->retired_rid = ms->rid;
    __atomic_add_fetch(&g->retired_n, 1, __ATOMIC_RELAXED);
}

/* A retired connection with only detached ids left is closed: breaking
 * it frees them, and the caller destroys it. Group lock held. */
static void close_if_spent(mconn_t *mc)
{
    if (mc->retired && !mc->broken && mc->nstreams == mc->ndetached) {
        mark_broken(mc, APR_ECONNABORTED, "retired: an aborted request "
                    "went on past its limits");
    }
}

static void dispatch(mconn_t *mc, const fcgix_event_t *ev)
{
    fcgix_mpx_group_t *g = mc->g;
    fcgix_mstream_t *ms;
    chunk_t *c;

    if (ev->kind == FCGIX_EV_MGMT) {
        if (ev->type == FCGIX_GET_VALUES_RESULT) {
            fcgix_pool_caps_answer(g->pl, ev->data, ev->len);
        }
        return;
    }
    if (ev->kind == FCGIX_EV_UNKNOWN_TYPE) {
        return;
    }
    if (ev->request_id == 0 || ev->request_id > mc->nids) {
        mark_broken(mc, APR_EGENERAL, "record for a request id not in use");
        return;
    }
    if ((ms = mc->ids[ev->request_id - 1]) == NULL) {
        if (mc->quiet_until[ev->request_id - 1] == 0) {
            mark_broken(mc, APR_EGENERAL,
                        "record for a request id never used");
            return;
        }
        /* Sent after its END_REQUEST: dropped, and the id rests longer. */
        mc->quiet_until[ev->request_id - 1] = apr_time_now() + MPX_ID_QUIET;
        mc->late_rid = ev->request_id;
        __atomic_add_fetch(&mc->late_n, 1, __ATOMIC_RELAXED);
        g->stats.late++;
        return;
    }
    if (ev->kind == FCGIX_EV_END_REQUEST) {
        if (ms->detached) {
            release_id(mc, ms);
            mc->ndetached--;
            stream_free(ms);
            return;
        }
        ms->ended = 1;
        if (ms->overflow) {
            /* Dropped: its end must not read as a complete reply. */
            return;
        }
    }
    else if (ev->kind == FCGIX_EV_STREAM && ms->detached) {
        if (ev->len > ms->drain_left || apr_time_now() > ms->drain_until) {
            retire(mc, ms);
        }
        else {
            ms->drain_left -= ev->len;
        }
        return;
    }
    else if (ev->kind != FCGIX_EV_STREAM || ms->overflow) {
        return;
    }
    else if (ms->queued + ev->len > g->lim.queue_max) {
        /* Its client reads too slowly: drop this request, not the
         * connection (see the header). */
        ms->overflow = 1;
        free_chunks(ms->head);
        ms->head = ms->tail = NULL;
        ms->queued = 0;
        g->stats.overflows++;
        return;
    }
    c = malloc(sizeof(*c) + ev->len);
    if (c == NULL) {
        mark_broken(mc, APR_ENOMEM, "out of memory");
        return;
    }
    c->kind = ev->kind;
    c->type = ev->type;
    c->end = ev->end;
    c->len = ev->len;
    if (ev->len) {
        memcpy(c->data, ev->data, ev->len);
    }
    enqueue(ms, c);
}

/* ------------------------------------------------------------------ */
/* Reading (as the connection's current reader)                        */
/* ------------------------------------------------------------------ */

static apr_status_t poll_sock(mconn_t *mc, apr_int16_t events,
                              apr_interval_time_t timeout,
                              apr_int16_t *rev)
{
    apr_pollfd_t pfd;
    apr_int32_t n;
    apr_status_t rv;

    memset(&pfd, 0, sizeof(pfd));
    pfd.p = mc->conn->p;
    pfd.desc_type = APR_POLL_SOCKET;
    pfd.reqevents = events;
    pfd.desc.s = mc->conn->sock;
    do {
        rv = apr_poll(&pfd, 1, &n, timeout);
    } while (APR_STATUS_IS_EINTR(rv));
    *rev = pfd.rtnevents;
    return rv;
}

/*
 * One read and its dispatch. Called with the group lock NOT held and
 * mc->reading set by the caller; takes the lock to dispatch.
 */
static apr_status_t read_once(mconn_t *mc, apr_interval_time_t timeout)
{
    fcgix_mpx_group_t *g = mc->g;
    apr_size_t len = MPX_RBUF, off = 0;
    apr_int16_t rev;
    apr_status_t rv;

    rv = apr_socket_recv(mc->conn->sock, mc->rbuf, &len);
    if (len == 0 && APR_STATUS_IS_EAGAIN(rv)) {
        if (timeout == 0) {
            return APR_EAGAIN;
        }
        rv = poll_sock(mc, APR_POLLIN, timeout, &rev);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        len = MPX_RBUF;
        rv = apr_socket_recv(mc->conn->sock, mc->rbuf, &len);
    }
    pthread_mutex_lock(&g->mu);
    if (len == 0) {
        if (!APR_STATUS_IS_EAGAIN(rv)) {
            mark_broken(mc, rv == APR_SUCCESS ? APR_EOF : rv,
                        "connection closed by the application");
        }
    }
    while (off < len && !mc->broken) {
        fcgix_event_t ev;
        size_t used = 0;
        int rc = fcgix_reader_feed(&mc->rd, (const uint8_t *)mc->rbuf + off,
                                   len - off, &used, &ev);
        off += used;
        if (rc == FCGIX_AGAIN) {
            break;
        }
        if (rc != FCGIX_OK) {
            mark_broken(mc, APR_EGENERAL,
                        mc->rd.error ? mc->rd.error : "bad record");
            break;
        }
        dispatch(mc, &ev);
    }
    wake(mc, 0);
    pthread_mutex_unlock(&g->mu);
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Connections and streams                                             */
/* ------------------------------------------------------------------ */

/* A free id that has rested, the first from next_id on; -1 if none. */
static int free_id(const mconn_t *mc, apr_time_t now)
{
    int k;

    if (mc->nstreams >= mc->nids || mc->retired) {
        return -1;
    }
    for (k = 0; k < mc->nids; k++) {
        int i = (mc->next_id + k) % mc->nids;
        if (mc->ids[i] == NULL && mc->quiet_until[i] <= now) {
            return i;
        }
    }
    return -1;
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
    /* The pool's "release" closes the socket and frees mc (in c->p). */
    fcgix_pool_release(mc->conn, 0);
}

/* An idle shared connection must be silent to be used again. */
static int mconn_silent(mconn_t *mc)
{
    apr_int16_t rev = 0;

    return poll_sock(mc, APR_POLLIN, 0, &rev) != APR_SUCCESS || rev == 0;
}

/* Connections nobody used for the idle time are closed: an idle
 * connection still holds a worker in many applications. */
static void reap_idle(fcgix_mpx_group_t *g)
{
    apr_time_t now = apr_time_now();
    mconn_t *mc = g->conns, *next;

    for (; mc; mc = next) {
        int i;

        next = mc->next;
        /* Nobody may be reading this connection: the time limit of its
         * aborted requests is checked here too. */
        for (i = 0; mc->ndetached && !mc->retired && i < mc->nids; i++) {
            fcgix_mstream_t *ms = mc->ids[i];
            if (ms && ms->detached && now > ms->drain_until) {
                retire(mc, ms);
            }
        }
        close_if_spent(mc);
        if (mc->nstreams == 0
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
    mc->rbuf = apr_palloc(conn->p, MPX_RBUF);
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

apr_status_t fcgix_mpx_open(fcgix_mpx_group_t *g,
                            apr_interval_time_t connect_timeout,
                            fcgix_mstream_t **out, apr_uint16_t *rid)
{
    fcgix_mstream_t *ms = calloc(1, sizeof(*ms));
    mconn_t *mc, *fresh = NULL;
    apr_status_t rv;
    int i = -1;

    if (ms == NULL) {
        return APR_ENOMEM;
    }
    if (sem_init(&ms->sem, 0, 0) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        free(ms);
        return rv;
    }
    for (;;) {
        apr_time_t now;

        pthread_mutex_lock(&g->mu);
        reap_idle(g);
        now = apr_time_now();
        for (mc = g->conns; mc; mc = mc->next) {
            if (!mc->broken && mc->nstreams == 0 && !mconn_silent(mc)) {
                /* Idle, yet readable: the application closed it. */
                mark_broken(mc, APR_EOF, "closed while idle");
                continue;
            }
            if (!mc->broken && (i = free_id(mc, now)) >= 0) {
                break;
            }
        }
        if (mc == NULL && fresh) {
            i = 0;
            mc = fresh;
            mc->next = g->conns;
            g->conns = mc;
            g->stats.conns++;
            fcgix_pool_mpx_count(g->pl, 1, 0, 0);
            fresh = NULL;
        }
        if (mc) {
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
        fresh->next = g->conns;
        g->conns = fresh;
        g->stats.conns++;
        fcgix_pool_mpx_count(g->pl, 1, 0, 0);
        fresh->idle_since = apr_time_now();
    }
    pthread_mutex_unlock(&g->mu);
    *out = ms;
    *rid = ms->rid;
    return APR_SUCCESS;
}

static apr_status_t send_locked(mconn_t *mc, struct iovec *iov, int n,
                                apr_interval_time_t timeout)
{
    fcgix_mpx_group_t *g = mc->g;
    apr_status_t rv = APR_SUCCESS;

    apr_thread_mutex_lock(mc->wmu);
    while (n > 0) {
        apr_int16_t rev = 0;
        int lead = 0;

        if (iov->iov_len == 0) {
            iov++;
            n--;
            continue;
        }
        if (mc->broken) {
            rv = mc->broken_rv;
            break;
        }
        rv = fcgix_pool_sendv(mc->conn->sock, &iov, &n);
        if (rv == APR_SUCCESS) {
            continue;
        }
        if (!APR_STATUS_IS_EAGAIN(rv)) {
            pthread_mutex_lock(&g->mu);
            mark_broken(mc, rv, "write to the application failed");
            wake(mc, 0);
            pthread_mutex_unlock(&g->mu);
            break;
        }
        rv = poll_sock(mc, APR_POLLOUT | APR_POLLIN, timeout, &rev);
        if (rv != APR_SUCCESS) {
            break;
        }
        if (!(rev & (APR_POLLIN | APR_POLLHUP | APR_POLLERR))) {
            continue;
        }
        /* The application writes while we wait for it to read: someone
         * must read, or neither side moves. */
        pthread_mutex_lock(&g->mu);
        if (!mc->reading) {
            mc->reading = lead = 1;
        }
        pthread_mutex_unlock(&g->mu);
        if (lead) {
            read_once(mc, 0);
            pthread_mutex_lock(&g->mu);
            mc->reading = 0;
            wake(mc, 1);
            pthread_mutex_unlock(&g->mu);
        }
        else {
            /* The reader is at it; give it a moment. */
            apr_sleep(1000);
        }
    }
    apr_thread_mutex_unlock(mc->wmu);
    return rv;
}

apr_status_t fcgix_mpx_send(fcgix_mstream_t *ms, struct iovec *iov, int n,
                            apr_interval_time_t timeout)
{
    return send_locked(ms->mc, iov, n, timeout);
}

/* The next of the chunks the owner took: becomes ms->cur (freed by the
 * next call) and is described in @p ev. */
static void chunk_event(fcgix_mstream_t *ms, fcgix_event_t *ev)
{
    chunk_t *c = ms->mine;

    ms->mine = c->next;
    ms->cur = c;
    memset(ev, 0, sizeof(*ev));
    ev->kind = c->kind;
    ev->type = c->type;
    ev->request_id = ms->rid;
    ev->data = (const uint8_t *)c->data;
    ev->len = c->len;
    ev->end = c->end;
}

/* Sleeps on the stream's semaphore until posted or @p deadline. Group
 * lock held on entry, and on return unless records were handed over with
 * the wake (then 1, lock not held, records in ms->mine). */
static int sleep_until(fcgix_mstream_t *ms, apr_time_t deadline)
{
    fcgix_mpx_group_t *g = ms->mc->g;
    struct timespec ts;

    ts.tv_sec = (time_t)apr_time_sec(deadline);
    ts.tv_nsec = (long)apr_time_usec(deadline) * 1000;
    ms->waiting = 1;
    pthread_mutex_unlock(&g->mu);
    while (sem_timedwait(&ms->sem, &ts) != 0 && errno == EINTR) {
    }
    /* An owner only sleeps with nothing taken: records in mine now were
     * handed over by the reader, which also cleared "waiting". */
    if (__atomic_load_n(&ms->mine, __ATOMIC_ACQUIRE)) {
        return 1;
    }
    pthread_mutex_lock(&g->mu);
    /* Timed out and not posted meanwhile: no post is coming. A post that
     * raced the timeout leaves the count at 1: the next sleep returns at
     * once and the caller looks again, which is harmless. */
    ms->waiting = 0;
    return 0;
}

apr_status_t fcgix_mpx_next(fcgix_mstream_t *ms, apr_interval_time_t timeout,
                            fcgix_event_t *ev, const char **why)
{
    mconn_t *mc = ms->mc;
    fcgix_mpx_group_t *g = mc->g;
    apr_time_t deadline = apr_time_now() + timeout;
    apr_status_t rv = APR_SUCCESS;

    *why = NULL;
    free(ms->cur);
    ms->cur = NULL;
    if (ms->mine) {
        /* The rest of what the last call took: no lock needed. */
        chunk_event(ms, ev);
        return APR_SUCCESS;
    }
    pthread_mutex_lock(&g->mu);
    /* What the last take held is done with now. */
    ms->queued = ms->queued > ms->taken ? ms->queued - ms->taken : 0;
    ms->taken = 0;
    for (;;) {
        apr_time_t now;

        if (ms->mine) {
            /* Handed over as a timed-out sleep ended. */
            pthread_mutex_unlock(&g->mu);
            chunk_event(ms, ev);
            return APR_SUCCESS;
        }
        if (ms->overflow) {
            pthread_mutex_unlock(&g->mu);
            return FCGIX_MPX_OVERFLOW;
        }
        if (ms->head) {
            /* All of it at once: a small reply (STDOUT, its end,
             * END_REQUEST) then costs one lock, not three. */
            take_all(ms);
            pthread_mutex_unlock(&g->mu);
            chunk_event(ms, ev);
            return APR_SUCCESS;
        }
        if (mc->broken) {
            *why = mc->why;
            rv = mc->broken_rv;
            pthread_mutex_unlock(&g->mu);
            return rv;
        }
        if (APR_STATUS_IS_EAGAIN(rv) && timeout == 0) {
            pthread_mutex_unlock(&g->mu);
            return APR_EAGAIN;
        }
        now = apr_time_now();
        if (timeout && now >= deadline) {
            pthread_mutex_unlock(&g->mu);
            return APR_TIMEUP;
        }
        if (!mc->reading) {
            /* Lead: read until something of ours arrives, waking the
             * owners of what else arrives; then hand the lead on. */
            mc->reading = 1;
            do {
                apr_interval_time_t left = timeout ? deadline - now : 0;
                pthread_mutex_unlock(&g->mu);
                rv = read_once(mc, left > 0 ? left : 0);
                pthread_mutex_lock(&g->mu);
                now = apr_time_now();
            } while (!ms->head && !ms->overflow && !mc->broken
                     && rv == APR_SUCCESS && (!timeout || now < deadline));
            mc->reading = 0;
            wake(mc, 1);
            if (APR_STATUS_IS_TIMEUP(rv)) {
                rv = APR_SUCCESS; /* the deadline check above decides */
                deadline = now;
            }
            continue;
        }
        if (timeout == 0) {
            pthread_mutex_unlock(&g->mu);
            return APR_EAGAIN;
        }
        if (sleep_until(ms, deadline)) {
            chunk_event(ms, ev);
            return APR_SUCCESS;
        }
    }
}

void fcgix_mpx_close(fcgix_mstream_t *ms, apr_interval_time_t drain_time,
                     apr_size_t drain_max)
{
    mconn_t *mc = ms->mc;
    fcgix_mpx_group_t *g = mc->g;
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
        (void)send_locked(mc, &iov, 1, apr_time_from_sec(1));
        pthread_mutex_lock(&g->mu);
    }
    g->stats.streams--;
    fcgix_pool_mpx_count(g->pl, 0, -1, 0);
    if (ms->ended || mc->broken) {
        release_id(mc, ms);
        stream_free(ms);
    }
    else {
        /* The id stays taken until the application ends the request;
         * its late records are dropped on arrival. */
        free_chunks(ms->head);
        free_chunks(ms->mine);
        free(ms->cur);
        ms->head = ms->tail = ms->cur = ms->mine = NULL;
        ms->queued = 0;
        ms->detached = 1;
        ms->drain_until = apr_time_now() + drain_time;
        ms->drain_left = drain_max;
        mc->ndetached++;
    }
    close_if_spent(mc);
    if (mc->broken && mc->nstreams == 0) {
        mconn_destroy(mc);
    }
    pthread_mutex_unlock(&g->mu);
}

apr_uint32_t fcgix_mpx_take_retired(fcgix_mstream_t *ms, apr_uint16_t *rid)
{
    fcgix_mpx_group_t *g = ms->mc->g;
    apr_uint32_t n;

    if (__atomic_load_n(&g->retired_n, __ATOMIC_RELAXED) == 0) {
        return 0;
    }
    pthread_mutex_lock(&g->mu);
    n = __atomic_exchange_n(&g->retired_n, 0, __ATOMIC_RELAXED);
    *rid = g->retired_rid;
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
