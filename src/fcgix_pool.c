/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <stdlib.h>
#include <string.h>

#include "apr_poll.h"
#include "apr_strings.h"
#include "apr_thread_cond.h"
#include "apr_time.h"

#include "fcgix_pool.h"
#include "fcgix_proto.h"

struct fcgix_pool_t {
    apr_thread_mutex_t *mu;
    apr_thread_cond_t *cv;  /* a connection came back or closed */
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
};

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

apr_status_t fcgix_pool_create(fcgix_pool_t **out, const fcgix_addr_t *addr,
                               const fcgix_pool_limits_t *limits,
                               apr_pool_t *pchild)
{
    fcgix_pool_t *pl = apr_pcalloc(pchild, sizeof(*pl));
    apr_status_t rv;

    rv = apr_thread_mutex_create(&pl->mu, APR_THREAD_MUTEX_DEFAULT, pchild);
    if (rv == APR_SUCCESS) {
        rv = apr_thread_cond_create(&pl->cv, pchild);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    pl->addr = addr;
    pl->lim = *limits;
    *out = pl;
    return APR_SUCCESS;
}

const fcgix_addr_t *fcgix_pool_addr(const fcgix_pool_t *pl)
{
    return pl->addr;
}

static void conn_close(fcgix_conn_t *c)
{
    /* The socket closes with its pool. */
    apr_pool_destroy(c->p);
}

/* Closes and gives the slot under the cap to a waiter. */
static void conn_drop(fcgix_conn_t *c)
{
    fcgix_pool_t *pl = c->pool;

    conn_close(c);
    apr_thread_mutex_lock(pl->mu);
    pl->nopen--;
    if (pl->nwait) {
        apr_thread_cond_signal(pl->cv);
    }
    apr_thread_mutex_unlock(pl->mu);
}

/*
 * A kept-alive connection must be silent: readable means the application
 * closed it (EOF) or sent bytes no request asked for; either way it is
 * unusable. This is the race every keep-alive client has; a request that
 * still loses it is retried once by the bridge.
 */
static int conn_alive(fcgix_conn_t *c)
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
    return pl->disabled_until > now;
}

int fcgix_pool_choose(fcgix_pool_t *const *pools, int n, fcgix_balance_e how,
                      apr_uint32_t key, apr_uint32_t tried)
{
    apr_time_t now = apr_time_now();
    apr_uint32_t start;
    int best = -1, i, pass;

    start = (how == FCGIX_BALANCE_HASH) ? key : pools[0]->rr++;
    /* First pass skips disabled addresses; if all are, try them anyway:
     * refusing outright would turn a blip into an outage. */
    for (pass = 0; pass < 2 && best < 0; pass++) {
        for (i = 0; i < n; i++) {
            int k = (int)((start + (apr_uint32_t)i) % (apr_uint32_t)n);
            fcgix_pool_t *pl = pools[k];
            if ((tried & (1u << k)) || (pass == 0 && disabled(pl, now))) {
                continue;
            }
            if (how != FCGIX_BALANCE_LEAST_CONN) {
                best = k;
                break;
            }
            /* Unlocked read: a stale count only skews one choice. */
            if (best < 0 || pl->busy < pools[best]->busy) {
                best = k;
            }
        }
    }
    return best;
}

/* Under pl->mu: the freshest idle connection still within its TTL;
 * expired ones are moved to *stale for closing outside the lock. */
static fcgix_conn_t *take_idle(fcgix_pool_t *pl, apr_time_t now,
                               fcgix_conn_t **stale)
{
    fcgix_conn_t *c;

    while ((c = pl->idle) != NULL) {
        pl->idle = c->next;
        pl->nidle--;
        if (now - c->used <= pl->lim.idle_ttl) {
            return c;
        }
        pl->nopen--;
        if (pl->nwait) {
            apr_thread_cond_signal(pl->cv);
        }
        c->next = *stale;
        *stale = c;
    }
    return NULL;
}

apr_status_t fcgix_pool_acquire(fcgix_pool_t *pl,
                                apr_interval_time_t connect_timeout,
                                int capped, fcgix_conn_t **conn)
{
    apr_time_t now = apr_time_now(), deadline = 0;
    fcgix_conn_t *c, *stale = NULL;
    apr_pool_t *p;
    apr_status_t rv;
    int waited = 0;

    capped = capped && pl->lim.max_conns > 0;
    apr_thread_mutex_lock(pl->mu);
    pl->busy++;
    for (;;) {
        if ((c = take_idle(pl, now, &stale)) != NULL) {
            break;
        }
        if (!capped || pl->nopen < (apr_uint32_t)pl->lim.max_conns) {
            pl->nopen++; /* the slot is ours while we connect */
            break;
        }
        if (!waited) {
            waited = 1;
            pl->waited++;
            deadline = now + pl->lim.max_wait;
        }
        if (now >= deadline) {
            pl->busy--;
            apr_thread_mutex_unlock(pl->mu);
            rv = FCGIX_POOL_FULL;
            goto out;
        }
        pl->nwait++;
        apr_thread_cond_timedwait(pl->cv, pl->mu, deadline - now);
        pl->nwait--;
        now = apr_time_now();
    }
    apr_thread_mutex_unlock(pl->mu);

    while (c) {
        /* Closing the stale ones is a syscall each: outside the lock. */
        while (stale) {
            fcgix_conn_t *next = stale->next;
            conn_close(stale);
            stale = next;
        }
        if (conn_alive(c)) {
            c->reused = 1;
            c->next = NULL;
            apr_thread_mutex_lock(pl->mu);
            pl->reuses++;
            apr_thread_mutex_unlock(pl->mu);
            *conn = c;
            return APR_SUCCESS;
        }
        /* Dead: the next idle one, or its slot passes to a new one. */
        conn_close(c);
        apr_thread_mutex_lock(pl->mu);
        pl->nopen--;
        if ((c = take_idle(pl, apr_time_now(), &stale)) == NULL) {
            pl->nopen++;
        }
        apr_thread_mutex_unlock(pl->mu);
    }
    while (stale) {
        fcgix_conn_t *next = stale->next;
        conn_close(stale);
        stale = next;
    }

    /* Unmanaged: created and destroyed from any thread, no shared parent
     * whose allocator would need locking. */
    rv = apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    if (rv == APR_SUCCESS) {
        c = apr_pcalloc(p, sizeof(*c));
        c->p = p;
        c->pool = pl;
        c->born = c->used = now;
        rv = fcgix_addr_connect(pl->addr, connect_timeout, p, &c->sock);
        if (rv != APR_SUCCESS) {
            apr_pool_destroy(p);
        }
    }
    apr_thread_mutex_lock(pl->mu);
    if (rv == APR_SUCCESS) {
        pl->opened++;
        pl->disabled_until = 0;
        apr_thread_mutex_unlock(pl->mu);
        *conn = c;
        return APR_SUCCESS;
    }
    pl->busy--;
    pl->nopen--;
    if (pl->nwait) {
        apr_thread_cond_signal(pl->cv);
    }
    apr_thread_mutex_unlock(pl->mu);
    fcgix_pool_disable(pl);

out:
    while (stale) {
        fcgix_conn_t *next = stale->next;
        conn_close(stale);
        stale = next;
    }
    return rv;
}

void fcgix_pool_disable(fcgix_pool_t *pl)
{
    apr_thread_mutex_lock(pl->mu);
    pl->failures++;
    pl->disabled_until = apr_time_now() + pl->lim.disable_for;
    apr_thread_mutex_unlock(pl->mu);
}

void fcgix_pool_release(fcgix_conn_t *c, int reusable)
{
    fcgix_pool_t *pl = c->pool;
    apr_time_t now = apr_time_now();

    c->served++;
    c->used = now;
    if (pl->lim.max_conn_requests && c->served >= pl->lim.max_conn_requests)
    {
        reusable = 0;
    }
    apr_thread_mutex_lock(pl->mu);
    pl->busy--;
    if (reusable && (pl->nidle < (apr_uint32_t)pl->lim.keepalive
                     || pl->nwait)) {
        /* A waiter takes it even past the idle bound: closing it would
         * only make the waiter open another. */
        c->next = pl->idle;
        pl->idle = c;
        pl->nidle++;
        if (pl->nwait) {
            apr_thread_cond_signal(pl->cv);
        }
        c = NULL;
    }
    apr_thread_mutex_unlock(pl->mu);
    if (c) {
        conn_drop(c);
    }
}

int fcgix_pool_keepalive(const fcgix_pool_t *pl)
{
    return pl->lim.keepalive > 0;
}

int fcgix_pool_caps_should_ask(fcgix_pool_t *pl)
{
    int ask = 0;

    apr_thread_mutex_lock(pl->mu);
    if (pl->caps == FCGIX_CAPS_UNKNOWN) {
        pl->caps = FCGIX_CAPS_ASKED;
        ask = 1;
    }
    apr_thread_mutex_unlock(pl->mu);
    return ask;
}

static int nv_int(const fcgix_nv_t *nv)
{
    char buf[16];
    apr_size_t n = nv->value_len < sizeof(buf) - 1 ? nv->value_len
                                                    : sizeof(buf) - 1;

    memcpy(buf, nv->value, n);
    buf[n] = '\0';
    return atoi(buf);
}

static int nv_is(const fcgix_nv_t *nv, const char *name)
{
    apr_size_t n = strlen(name);

    return nv->name_len == n && memcmp(nv->name, name, n) == 0;
}

void fcgix_pool_caps_answer(fcgix_pool_t *pl, const unsigned char *body,
                            apr_size_t len)
{
    int mpxs = -1, max_conns = -1, max_reqs = -1;
    apr_size_t off = 0;

    /* Only what the answer names changes: Go's net/http/fcgi follows its
     * answer with an empty GET_VALUES_RESULT record, which must not read
     * as "MPXS_CONNS=0". */
    while (off < len) {
        fcgix_nv_t nv;
        size_t used;
        if (fcgix_proto_nv_decode(body + off, len - off, &nv, &used)
            != FCGIX_OK) {
            break;
        }
        off += used;
        if (nv_is(&nv, "FCGI_MPXS_CONNS")) {
            mpxs = nv_int(&nv) == 1;
        }
        else if (nv_is(&nv, "FCGI_MAX_CONNS")) {
            max_conns = nv_int(&nv);
        }
        else if (nv_is(&nv, "FCGI_MAX_REQS")) {
            max_reqs = nv_int(&nv);
        }
    }
    if (mpxs < 0 && max_conns < 0 && max_reqs < 0) {
        return;
    }
    apr_thread_mutex_lock(pl->mu);
    pl->caps = FCGIX_CAPS_KNOWN;
    if (mpxs >= 0) {
        pl->mpxs_conns = mpxs;
    }
    if (max_conns >= 0) {
        pl->max_conns = max_conns;
    }
    if (max_reqs >= 0) {
        pl->max_reqs = max_reqs;
    }
    apr_thread_mutex_unlock(pl->mu);
}

void fcgix_pool_caps_refused(fcgix_pool_t *pl)
{
    apr_thread_mutex_lock(pl->mu);
    pl->caps = FCGIX_CAPS_REFUSED;
    apr_thread_mutex_unlock(pl->mu);
}

int fcgix_pool_mpx_ok(fcgix_pool_t *pl)
{
    int ok;

    apr_thread_mutex_lock(pl->mu);
    ok = pl->caps == FCGIX_CAPS_KNOWN && pl->mpxs_conns && !pl->mpx_refused;
    apr_thread_mutex_unlock(pl->mu);
    return ok;
}

void fcgix_pool_mpx_refused(fcgix_pool_t *pl)
{
    apr_thread_mutex_lock(pl->mu);
    pl->mpx_refused = 1;
    apr_thread_mutex_unlock(pl->mu);
}

int fcgix_pool_mpx_was_refused(fcgix_pool_t *pl)
{
    int refused;

    apr_thread_mutex_lock(pl->mu);
    refused = pl->mpx_refused;
    apr_thread_mutex_unlock(pl->mu);
    return refused;
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
}
