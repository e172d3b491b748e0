/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <errno.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

#include "apr_poll.h"
#include "apr_strings.h"
#include "apr_time.h"

#include "fcgix_addrset.h"
#include "fcgix_pool.h"
#include "fcgix_proto.h"

/*
 * A request waiting under max-conns, on its own stack. Whoever frees a
 * connection hands it (or, if it closed it, its slot) straight to the
 * oldest waiter and posts its semaphore: the waiter wakes owning what it
 * waited for, without taking the pool's lock again or racing newcomers.
 */
typedef struct waiter_t {
    sem_t sem;
    fcgix_conn_t *conn;     /* handed over; NULL: a slot to connect in */
    struct waiter_t *next;
} waiter_t;

struct fcgix_pool_t {
    apr_thread_mutex_t *mu;
    fcgix_sb_backend_t *shm; /* all children's sums, or NULL */
    apr_allocator_t *alloc;  /* the connections' memory, kept between */
    waiter_t *whead, *wtail; /* FIFO */
    const fcgix_addr_t *addr;
    fcgix_pool_limits_t lim;
    fcgix_conn_t *idle;     /* most recently used first */
    apr_uint32_t nidle;
    apr_uint32_t busy;
    apr_uint32_t nopen;
    apr_uint32_t nwait;
    apr_uint32_t waited;
    apr_uint32_t opened;
    apr_uint32_t reuses;
    apr_uint32_t failures;
    apr_uint32_t rr;
    apr_time_t disabled_until;
    fcgix_caps_state_e caps;
    int mpxs_conns;
    int mpx_refused;
    int max_conns;
    int max_reqs;
    int drain;               /* draining, when there is no scoreboard */
    /* A position of a re-resolved name: gone from the name's answer
     * (1, draining) or without an address (2); when it joined and how
     * long its slow start is; the choices that reached it ramping. */
    int dyn;
    apr_time_t joined;
    apr_interval_time_t ramp;
    apr_uint32_t ramp_tick;
};

/* A counter of this child's pool and, when there is one, its share of
 * the all-children sum in the scoreboard (relaxed atomic adds: readers
 * only display them). */
#define BUMP(pl, local, shared, d)                                         \
    do {                                                                   \
        (pl)->local += (d);                                                \
        if ((pl)->shm) {                                                   \
            __atomic_add_fetch(&(pl)->shm->shared, (d), __ATOMIC_RELAXED); \
        }                                                                  \
    } while (0)

static const char *const caps_names[] = {
    "UNKNOWN", "ASKED", "KNOWN", "REFUSED"
};

const char *fcgix_pool_caps_str(fcgix_caps_state_e st)
{
    if ((unsigned)st < sizeof(caps_names) / sizeof(caps_names[0])) {
        return caps_names[st];
    }
    return "INVALID";
}

/* Free memory the connection allocator keeps for the next ones. */
#define POOL_KEEP_FREE (1024 * 1024)

apr_status_t fcgix_pool_create(fcgix_pool_t **out, const fcgix_addr_t *addr,
                               const fcgix_pool_limits_t *limits,
                               apr_pool_t *pchild)
{
    fcgix_pool_t *pl = apr_pcalloc(pchild, sizeof(*pl));
    apr_thread_mutex_t *amu = NULL;
    apr_status_t rv;

    rv = apr_thread_mutex_create(&pl->mu, APR_THREAD_MUTEX_DEFAULT, pchild);
    if (rv == APR_SUCCESS) {
        rv = apr_thread_mutex_create(&amu, APR_THREAD_MUTEX_DEFAULT,
                                     pchild);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_allocator_create(&pl->alloc);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* Connections come and go on many threads: one locked allocator that
     * keeps freed blocks, rather than one of their own each (a fresh
     * allocator maps memory and unmaps it at close, and an unmap in a
     * threaded process stalls every core). */
    apr_allocator_mutex_set(pl->alloc, amu);
    apr_allocator_max_free_set(pl->alloc, POOL_KEEP_FREE);
    /* Never destroyed: a connection still open when the child exits
     * would be freed into it afterwards; the child's exit frees both. */
    pl->addr = addr;
    pl->lim = *limits;
    *out = pl;
    return APR_SUCCESS;
}

const fcgix_addr_t *fcgix_pool_addr(const fcgix_pool_t *pl)
{
    return __atomic_load_n(&pl->addr, __ATOMIC_ACQUIRE);
}

void fcgix_pool_set_addr(fcgix_pool_t *pl, const fcgix_addr_t *addr,
                         int dyn, apr_time_t joined,
                         apr_interval_time_t ramp)
{
    apr_thread_mutex_lock(pl->mu);
    if (addr && addr != pl->addr) {
        /* Another application: what the last one said does not hold. */
        pl->caps = FCGIX_CAPS_UNKNOWN;
        pl->mpxs_conns = 0;
        pl->mpx_refused = 0;
        pl->max_conns = 0;
        pl->max_reqs = 0;
        pl->disabled_until = 0;
        __atomic_store_n(&pl->addr, addr, __ATOMIC_RELEASE);
    }
    pl->joined = joined;
    pl->ramp = ramp;
    __atomic_store_n(&pl->dyn, dyn, __ATOMIC_RELEASE);
    apr_thread_mutex_unlock(pl->mu);
}

int fcgix_pool_vacant(const fcgix_pool_t *pl)
{
    return __atomic_load_n(&pl->dyn, __ATOMIC_ACQUIRE) == 2;
}

static void conn_close(fcgix_conn_t *c)
{
    /* The socket closes with its pool. */
    apr_pool_destroy(c->p);
}

/* Under pl->mu: the oldest waiter, taken off the queue, or NULL. */
static waiter_t *pop_waiter(fcgix_pool_t *pl)
{
    waiter_t *w = pl->whead;

    if (w) {
        pl->whead = w->next;
        if (pl->whead == NULL) {
            pl->wtail = NULL;
        }
        BUMP(pl, nwait, waiting, -1);
    }
    return w;
}

/* Under pl->mu: takes @p w off the queue if it is still there. */
static int unlink_waiter(fcgix_pool_t *pl, waiter_t *w)
{
    waiter_t **pp, *prev = NULL;

    for (pp = &pl->whead; *pp; prev = *pp, pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            if (pl->wtail == w) {
                pl->wtail = prev;
            }
            BUMP(pl, nwait, waiting, -1);
            return 1;
        }
    }
    return 0;
}

/* A slot under the cap is free (its connection closed or never opened):
 * it goes to the oldest waiter, who connects for itself, if there is
 * one. @p done_request also ends the caller's request. */
static void slot_free(fcgix_pool_t *pl, int done_request)
{
    waiter_t *w;

    apr_thread_mutex_lock(pl->mu);
    if (done_request) {
        BUMP(pl, busy, inflight, -1);
    }
    if ((w = pop_waiter(pl)) == NULL) {
        BUMP(pl, nopen, open, -1);
    }
    apr_thread_mutex_unlock(pl->mu);
    if (w) {
        w->conn = NULL;
        sem_post(&w->sem);
    }
}

/* Closes @p c and frees its slot. */
static void conn_drop(fcgix_conn_t *c)
{
    conn_close(c);
    slot_free(c->pool, 0);
}

/*
 * A kept-alive connection must be silent: readable means the application
 * closed it (EOF) or sent bytes no request asked for; either way it is
 * unusable. This is the race every keep-alive client has; a request that
 * still loses it is retried once by the bridge.
 */
int fcgix_pool_conn_alive(const fcgix_conn_t *c)
{
    apr_pollfd_t pfd;
    apr_int32_t n = 0;

    memset(&pfd, 0, sizeof(pfd));
    pfd.p = c->p;
    pfd.desc_type = APR_POLL_SOCKET;
    pfd.reqevents = APR_POLLIN;
    pfd.desc.s = c->sock;
    if (apr_poll(&pfd, 1, &n, 0) == APR_SUCCESS && n > 0) {
        return 0;
    }
    return 1;
}

static int disabled(const fcgix_pool_t *pl, apr_time_t now)
{
    /* Down after its active checks: like an address that could not be
     * reached, chosen only when nothing else is left. */
    return pl->disabled_until > now
           || (pl->shm && __atomic_load_n(&pl->shm->down, __ATOMIC_RELAXED));
}

/* A newly joined address takes part of its share only: a request that
 * reaches it while it ramps up goes elsewhere unless the draw says so. */
static int ramping_away(fcgix_pool_t *pl, apr_time_t now)
{
    int pct;

    if (pl->ramp <= 0) {
        return 0;
    }
    pct = fcgix_addrset_ramp(now - pl->joined, pl->ramp);
    if (pct >= 100) {
        return 0;
    }
    return !fcgix_addrset_admit(pct, __atomic_fetch_add(&pl->ramp_tick, 1,
                                                        __ATOMIC_RELAXED));
}

static void close_stale(fcgix_conn_t *stale)
{
    while (stale) {
        fcgix_conn_t *next = stale->next;
        conn_drop(stale);
        stale = next;
    }
}

int fcgix_pool_draining(const fcgix_pool_t *pl)
{
    const fcgix_sb_backend_t *b = pl->shm;

    if (__atomic_load_n(&pl->dyn, __ATOMIC_ACQUIRE)) {
        return 1; /* left its name's answer, or no address at all */
    }
    return b ? (int)__atomic_load_n(&b->draining, __ATOMIC_RELAXED)
             : pl->drain;
}

void fcgix_pool_set_draining(fcgix_pool_t *pl, int on)
{
    pl->drain = on;
}

/* A draining address's kept connections close as soon as a request of
 * this child sees it draining (in flight ones close when released). */
void fcgix_pool_close_idle(fcgix_pool_t *pl)
{
    fcgix_conn_t *idle;
    int n;

    apr_thread_mutex_lock(pl->mu);
    idle = pl->idle;
    pl->idle = NULL;
    n = (int)pl->nidle;
    BUMP(pl, nidle, idle, -n);
    apr_thread_mutex_unlock(pl->mu);
    close_stale(idle);
}

int fcgix_pool_choose(fcgix_pool_t *const *pools, int n, fcgix_balance_e how,
                      apr_uint32_t key, apr_uint32_t tried)
{
    apr_time_t now = apr_time_now();
    int cand[FCGIX_POOL_MAX_ADDRS];
    int best = -1, i, pass, m;
    apr_uint32_t start = how == FCGIX_BALANCE_HASH ? key : 0;

    if (how != FCGIX_BALANCE_HASH) {
        /* Turns taken among the candidates, not the positions: a name's
         * vacant positions must not hand their turns to the next one. */
        start = __atomic_fetch_add(&pools[0]->rr, 1, __ATOMIC_RELAXED);
    }
    /* First pass skips disabled addresses; if all are, try them anyway:
     * refusing outright would turn a blip into an outage. */
    for (pass = 0; pass < 2 && best < 0; pass++) {
        for (i = 0, m = 0; i < n && i < FCGIX_POOL_MAX_ADDRS; i++) {
            int k = how == FCGIX_BALANCE_HASH
                    ? (int)((start + (apr_uint32_t)i) % (apr_uint32_t)n) : i;
            fcgix_pool_t *pl = pools[k];
            if (fcgix_pool_draining(pl)) {
                /* Never, not even when all else failed. */
                if (pl->nidle) {
                    fcgix_pool_close_idle(pl);
                }
                continue;
            }
            if ((tried & (1u << k))
                || (pass == 0
                    && (disabled(pl, now) || ramping_away(pl, now)))) {
                continue;
            }
            cand[m++] = k;
            if (how == FCGIX_BALANCE_HASH) {
                break;
            }
        }
        for (i = 0; i < m; i++) {
            int k = cand[(start + (apr_uint32_t)i) % (apr_uint32_t)m];
            if (how != FCGIX_BALANCE_LEAST_CONN) {
                best = k;
                break;
            }
            /* Unlocked read: a stale count only skews one choice. */
            if (best < 0 || pools[k]->busy < pools[best]->busy) {
                best = k;
            }
        }
    }
    return best;
}

/* Under pl->mu: the freshest idle connection still within its TTL;
 * expired ones are moved to *stale for closing outside the lock (their
 * slots stay counted until then). */
static fcgix_conn_t *take_idle(fcgix_pool_t *pl, apr_time_t now,
                               fcgix_conn_t **stale)
{
    fcgix_conn_t *c;

    while ((c = pl->idle) != NULL) {
        pl->idle = c->next;
        BUMP(pl, nidle, idle, -1);
        if (now - c->used <= pl->lim.idle_ttl) {
            return c;
        }
        c->next = *stale;
        *stale = c;
    }
    return NULL;
}

/* Waits for a connection or a slot to be handed over; under pl->mu on
 * entry, not on return. */
static apr_status_t wait_turn(fcgix_pool_t *pl, apr_time_t deadline,
                              fcgix_conn_t **c)
{
    waiter_t w;
    struct timespec ts;
    apr_time_t since = apr_time_now();
    int rc;

    if (sem_init(&w.sem, 0, 0) != 0) {
        BUMP(pl, busy, inflight, -1);
        apr_thread_mutex_unlock(pl->mu);
        return APR_FROM_OS_ERROR(errno);
    }
    w.conn = NULL;
    w.next = NULL;
    if (pl->wtail) {
        pl->wtail->next = &w;
    }
    else {
        pl->whead = &w;
    }
    pl->wtail = &w;
    BUMP(pl, nwait, waiting, 1);
    BUMP(pl, waited, waited, 1);
    apr_thread_mutex_unlock(pl->mu);

    ts.tv_sec = (time_t)apr_time_sec(deadline);
    ts.tv_nsec = (long)apr_time_usec(deadline) * 1000;
    do {
        rc = sem_timedwait(&w.sem, &ts);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        apr_thread_mutex_lock(pl->mu);
        if (unlink_waiter(pl, &w)) {
            BUMP(pl, busy, inflight, -1);
            apr_thread_mutex_unlock(pl->mu);
            sem_destroy(&w.sem);
            if (pl->shm) {
                fcgix_sb_reqs_waited(&pl->shm->reqs, apr_time_now() - since);
            }
            return FCGIX_POOL_FULL;
        }
        /* Handed over while the wait timed out: the post is coming. */
        apr_thread_mutex_unlock(pl->mu);
        while (sem_wait(&w.sem) != 0 && errno == EINTR) {
        }
    }
    sem_destroy(&w.sem);
    if (pl->shm) {
        fcgix_sb_reqs_waited(&pl->shm->reqs, apr_time_now() - since);
    }
    *c = w.conn;
    return APR_SUCCESS;
}

/* A new connection in the slot the caller holds; on failure the slot
 * passes on and the address is disabled for a while. */
static apr_status_t open_new(fcgix_pool_t *pl,
                             apr_interval_time_t connect_timeout,
                             apr_time_t now, fcgix_conn_t **conn)
{
    fcgix_conn_t *c;
    apr_pool_t *p;
    apr_status_t rv;

    /* Unmanaged: created and destroyed from any thread, with no parent
     * to tell; its memory comes from the pool's locked allocator. */
    rv = apr_pool_create_unmanaged_ex(&p, NULL, pl->alloc);
    if (rv == APR_SUCCESS) {
        c = apr_pcalloc(p, sizeof(*c));
        c->p = p;
        c->pool = pl;
        c->born = c->used = now;
        rv = fcgix_addr_connect(fcgix_pool_addr(pl), connect_timeout, p,
                                &c->sock);
        if (rv != APR_SUCCESS) {
            apr_pool_destroy(p);
        }
    }
    if (rv == APR_SUCCESS) {
        apr_thread_mutex_lock(pl->mu);
        BUMP(pl, opened, opened, 1);
        pl->disabled_until = 0;
        if (pl->shm) {
            pl->shm->disabled_until = 0;
        }
        apr_thread_mutex_unlock(pl->mu);
        *conn = c;
        return APR_SUCCESS;
    }
    /* A waiter given the slot tries for itself (and likely fails fast). */
    slot_free(pl, 1);
    fcgix_pool_disable(pl);
    return rv;
}

apr_status_t fcgix_pool_acquire(fcgix_pool_t *pl,
                                apr_interval_time_t connect_timeout,
                                int capped, fcgix_conn_t **conn)
{
    apr_time_t now = apr_time_now();
    fcgix_conn_t *c, *stale = NULL;
    apr_status_t rv;

    capped = capped && pl->lim.max_conns > 0;
    apr_thread_mutex_lock(pl->mu);
    BUMP(pl, busy, inflight, 1);
    if ((c = take_idle(pl, now, &stale)) != NULL) {
        BUMP(pl, reuses, reuses, 1);
        apr_thread_mutex_unlock(pl->mu);
    }
    else if (stale || !capped
             || pl->nopen < (apr_uint32_t)pl->lim.max_conns) {
        /* A slot of our own while we connect: a stale one's, or new. */
        fcgix_conn_t *x = stale;
        if (x) {
            stale = x->next;
        }
        else {
            BUMP(pl, nopen, open, 1);
        }
        apr_thread_mutex_unlock(pl->mu);
        if (x) {
            conn_close(x);
        }
    }
    else {
        rv = wait_turn(pl, now + pl->lim.max_wait, &c);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (c) {
            apr_thread_mutex_lock(pl->mu);
            BUMP(pl, reuses, reuses, 1);
            apr_thread_mutex_unlock(pl->mu);
        }
    }
    /* Closing is a syscall each: outside the lock. */
    close_stale(stale);

    while (c) {
        if (fcgix_pool_conn_alive(c)) {
            c->reused = 1;
            c->next = NULL;
            *conn = c;
            return APR_SUCCESS;
        }
        /* Dead: the next idle one, or its slot passes to a new one. */
        conn_close(c);
        stale = NULL;
        apr_thread_mutex_lock(pl->mu);
        BUMP(pl, reuses, reuses, -1);
        if ((c = take_idle(pl, apr_time_now(), &stale)) != NULL) {
            BUMP(pl, nopen, open, -1); /* the dead one's slot */
            BUMP(pl, reuses, reuses, 1);
        }
        apr_thread_mutex_unlock(pl->mu);
        close_stale(stale);
    }

    return open_new(pl, connect_timeout, now, conn);
}

void fcgix_pool_disable(fcgix_pool_t *pl)
{
    apr_thread_mutex_lock(pl->mu);
    BUMP(pl, failures, failures, 1);
    pl->disabled_until = apr_time_now() + pl->lim.disable_for;
    if (pl->shm) {
        pl->shm->disabled_until = pl->disabled_until;
    }
    apr_thread_mutex_unlock(pl->mu);
}

void fcgix_pool_release(fcgix_conn_t *c, int reusable)
{
    fcgix_pool_t *pl = c->pool;
    apr_time_t now = apr_time_now();
    waiter_t *w = NULL;

    c->served++;
    c->used = now;
    if (pl->lim.max_conn_requests && c->served >= pl->lim.max_conn_requests)
    {
        reusable = 0;
    }
    apr_thread_mutex_lock(pl->mu);
    BUMP(pl, busy, inflight, -1);
    if (reusable && (w = pop_waiter(pl)) != NULL) {
        /* Straight to the oldest waiter, even past the idle bound:
         * closing it would only make the waiter open another. */
    }
    else if (reusable && pl->nidle < (apr_uint32_t)pl->lim.keepalive
             && !fcgix_pool_draining(pl)) {
        c->next = pl->idle;
        pl->idle = c;
        BUMP(pl, nidle, idle, 1);
        c = NULL;
    }
    apr_thread_mutex_unlock(pl->mu);
    if (w) {
        w->conn = c;
        sem_post(&w->sem);
    }
    else if (c) {
        conn_drop(c);
    }
}

int fcgix_pool_keepalive(const fcgix_pool_t *pl)
{
    return pl->lim.keepalive > 0;
}

/* The capability fields change a few times in a pool's life and are read
 * on every request: read without the lock (relaxed atomic loads), written
 * under it. */
#define PEEK(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

int fcgix_pool_caps_should_ask(fcgix_pool_t *pl)
{
    int ask = 0;

    if (PEEK(pl->caps) != FCGIX_CAPS_UNKNOWN) {
        return 0;
    }
    apr_thread_mutex_lock(pl->mu);
    if (pl->caps == FCGIX_CAPS_UNKNOWN) {
        __atomic_store_n(&pl->caps, FCGIX_CAPS_ASKED, __ATOMIC_RELAXED);
        if (pl->shm && pl->shm->caps == FCGIX_CAPS_UNKNOWN) {
            pl->shm->caps = FCGIX_CAPS_ASKED;
        }
        ask = 1;
    }
    apr_thread_mutex_unlock(pl->mu);
    return ask;
}

void fcgix_pool_caps_answer(fcgix_pool_t *pl, const unsigned char *body,
                            apr_size_t len)
{
    fcgix_caps_t caps;

    /* Only what the answer names changes: Go's net/http/fcgi follows its
     * answer with an empty GET_VALUES_RESULT record, which must not read
     * as "MPXS_CONNS=0". */
    if (fcgix_proto_caps_parse(body, len, &caps) == 0) {
        return;
    }
    apr_thread_mutex_lock(pl->mu);
    if (caps.mpxs_conns >= 0) {
        __atomic_store_n(&pl->mpxs_conns, caps.mpxs_conns,
                         __ATOMIC_RELAXED);
    }
    __atomic_store_n(&pl->caps, FCGIX_CAPS_KNOWN, __ATOMIC_RELEASE);
    if (pl->shm) {
        pl->shm->caps = FCGIX_CAPS_KNOWN;
        pl->shm->mpxs_conns = pl->mpxs_conns;
    }
    if (caps.max_conns >= 0) {
        pl->max_conns = caps.max_conns;
        if (pl->shm) {
            pl->shm->max_conns = caps.max_conns;
        }
    }
    if (caps.max_reqs >= 0) {
        pl->max_reqs = caps.max_reqs;
        if (pl->shm) {
            pl->shm->max_reqs = caps.max_reqs;
        }
    }
    apr_thread_mutex_unlock(pl->mu);
}

void fcgix_pool_caps_refused(fcgix_pool_t *pl)
{
    apr_thread_mutex_lock(pl->mu);
    __atomic_store_n(&pl->caps, FCGIX_CAPS_REFUSED, __ATOMIC_RELAXED);
    if (pl->shm) {
        pl->shm->caps = FCGIX_CAPS_REFUSED;
    }
    apr_thread_mutex_unlock(pl->mu);
}

int fcgix_pool_mpx_ok(fcgix_pool_t *pl)
{
    return __atomic_load_n(&pl->caps, __ATOMIC_ACQUIRE) == FCGIX_CAPS_KNOWN
           && PEEK(pl->mpxs_conns) && !PEEK(pl->mpx_refused);
}

void fcgix_pool_mpx_refused(fcgix_pool_t *pl)
{
    __atomic_store_n(&pl->mpx_refused, 1, __ATOMIC_RELAXED);
}

int fcgix_pool_mpx_was_refused(fcgix_pool_t *pl)
{
    return PEEK(pl->mpx_refused);
}

void fcgix_pool_stats(fcgix_pool_t *pl, fcgix_pool_stats_t *st)
{
    apr_thread_mutex_lock(pl->mu);
    st->opened = pl->opened;
    st->reuses = pl->reuses;
    st->idle = pl->nidle;
    st->busy = pl->busy;
    st->open = pl->nopen;
    st->waiting = pl->nwait;
    st->waited = pl->waited;
    st->failures = pl->failures;
    st->disabled_until = pl->disabled_until;
    st->caps = pl->caps;
    st->mpxs_conns = pl->mpxs_conns;
    st->max_conns = pl->max_conns;
    st->max_reqs = pl->max_reqs;
    apr_thread_mutex_unlock(pl->mu);
    st->draining = fcgix_pool_draining(pl);
    st->down = pl->shm ? (int)__atomic_load_n(&pl->shm->down,
                                              __ATOMIC_RELAXED) : 0;
}

/* The child leaves: what it still counts in the sums goes with it. */
static apr_status_t shm_leave(void *data)
{
    fcgix_pool_t *pl = data;
    fcgix_sb_backend_t *b = pl->shm;

    if (b) {
        __atomic_sub_fetch(&b->inflight, (apr_int32_t)pl->busy,
                           __ATOMIC_RELAXED);
        __atomic_sub_fetch(&b->open, (apr_int32_t)pl->nopen,
                           __ATOMIC_RELAXED);
        __atomic_sub_fetch(&b->idle, (apr_int32_t)pl->nidle,
                           __ATOMIC_RELAXED);
        __atomic_sub_fetch(&b->waiting, (apr_int32_t)pl->nwait,
                           __ATOMIC_RELAXED);
        pl->shm = NULL;
    }
    return APR_SUCCESS;
}

void fcgix_pool_set_shm(fcgix_pool_t *pl, fcgix_sb_backend_t *b,
                        apr_pool_t *pchild)
{
    pl->shm = b;
    if (b) {
        apr_pool_cleanup_register(pchild, pl, shm_leave,
                                  apr_pool_cleanup_null);
    }
}

fcgix_sb_backend_t *fcgix_pool_shm(fcgix_pool_t *pl)
{
    return pl->shm;
}

void fcgix_pool_mpx_count(fcgix_pool_t *pl, int dconns, int dstreams,
                          apr_uint32_t depth)
{
    fcgix_sb_backend_t *b = pl->shm;

    if (b == NULL) {
        return;
    }
    if (dconns) {
        __atomic_add_fetch(&b->mpx_conns, dconns, __ATOMIC_RELAXED);
    }
    if (dstreams) {
        __atomic_add_fetch(&b->mpx_streams, dstreams, __ATOMIC_RELAXED);
        if (dstreams > 0) {
            __atomic_add_fetch(&b->mpx_streams_total, (apr_uint64_t)dstreams,
                               __ATOMIC_RELAXED);
        }
    }
    if (depth > b->mpx_depth) {
        b->mpx_depth = depth; /* a lost race only loses a maximum */
    }
}

apr_status_t fcgix_pool_sendv(apr_socket_t *sock, struct iovec **iovp,
                              int *np)
{
    struct iovec *iov = *iovp;
    int n = *np;
    apr_size_t w = 0;
    apr_status_t rv = APR_SUCCESS;

    while (n > 0 && iov->iov_len == 0) {
        iov++;
        n--;
    }
    if (n > 0) {
        rv = apr_socket_sendv(sock, iov, n, &w);
    }
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
    *iovp = iov;
    *np = n;
    return rv;
}
