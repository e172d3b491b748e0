/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <string.h>

#include "apr_strings.h"
#include "apr_thread_proc.h"
#include "apr_thread_mutex.h"

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "fcgix.h"
#include "fcgix_addr.h"
#include "fcgix_addrset.h"
#include "fcgix_upstream_dns.h"

#define DNS_TICK apr_time_from_msec(100)
/* A gone position with nothing left on it is reused only after this:
 * a request that chose it just before it went has long connected. */
#define DNS_GRACE apr_time_from_sec(2)
/* Records one answer may carry that we look at. */
#define DNS_MAX_IPS 64

/* One position as this child follows it. */
typedef struct {
    apr_uint32_t seen;     /* the slot's dyn_seq last applied */
    apr_pool_t *mem[2];    /* its last two addresses: the one before the
                              last may still be referred to */
    int cur;
} follow_t;

/* One name: its positions are addrs[first, first + n). */
typedef struct {
    const fcgix_addr_t *named; /* position 0: name, port, startup answer */
    int first, n;
} name_t;

struct fcgix_dns_t {
    const fcgix_server_t *srv;
    fcgix_pool_t **pools;
    fcgix_sb_backend_t **slots; /* NULL: no scoreboard */
    apr_thread_mutex_t *mu;
    apr_array_header_t *names;  /* name_t */
    follow_t *follow;           /* parallel to addrs */
};

/* ---- addresses between APR, the slots and the set logic ---- */

static int to_ip(const apr_sockaddr_t *sa, fcgix_addrset_ip_t *ip)
{
    int fam = fcgix_addr_raw(sa, ip->ip);

    ip->family = fam == APR_INET ? 4 : fam == APR_INET6 ? 6 : 0;
    return ip->family != 0;
}

static int answer_ips(const apr_sockaddr_t *sa, fcgix_addrset_ip_t *ips)
{
    int n = 0;

    for (; sa && n < DNS_MAX_IPS; sa = sa->next) {
        if (to_ip(sa, &ips[n])) {
            n++;
        }
    }
    return n;
}

/* A position's slot as the set logic sees it; what is not valid is
 * vacant. @return 0 while being written */
static int read_pos(const fcgix_sb_backend_t *b, fcgix_addrset_pos_t *ps)
{
    fcgix_sb_dyn_t d;

    if (!fcgix_sb_dyn_read(b, &d)) {
        return 0;
    }
    memset(ps, 0, sizeof(*ps));
    if ((d.state == FCGIX_ADDRSET_ACTIVE || d.state == FCGIX_ADDRSET_GONE)
        && (d.family == 4 || d.family == 6)) {
        ps->state = (int)d.state;
        ps->ip.family = (int)d.family;
        memcpy(ps->ip.ip, d.ip, sizeof(d.ip));
    }
    ps->since = d.since;
    return 1;
}

static void write_pos(fcgix_sb_backend_t *b, const fcgix_addrset_pos_t *ps)
{
    fcgix_sb_dyn_write(b, (apr_uint32_t)ps->state,
                       (apr_uint32_t)ps->ip.family, ps->ip.ip, ps->since);
}

/* A new address in a position: its counters start from nothing, and
 * so does what the checks said of the last one. */
static void fresh_counters(fcgix_sb_backend_t *b, int drain)
{
    b->draining = (apr_uint32_t)drain; /* drain= of the name, if any */
    memset((void *)&b->reqs, 0, sizeof(b->reqs));
    b->opened = 0;
    b->reuses = 0;
    b->failures = 0;
    b->waited = 0;
    b->mpx_streams_total = 0;
    b->mpx_depth = 0;
    b->caps = 0;
    b->down = 0;
    b->check_run = 0;
    b->check_next = 0;
    b->checks = 0;
    b->check_failures = 0;
}

static apr_array_header_t *find_names(apr_pool_t *p,
                                      const fcgix_server_t *srv)
{
    apr_array_header_t *names = apr_array_make(p, 1, sizeof(name_t));
    int k;

    for (k = 0; k < srv->addrs->nelts; k++) {
        const fcgix_addr_t *a = APR_ARRAY_IDX(srv->addrs, k, fcgix_addr_t *);
        if (a->pos == 0) {
            name_t *nm = apr_array_push(names);
            nm->named = a;
            nm->first = k;
            nm->n = 0;
        }
        if (a->pos >= 0 && names->nelts) {
            APR_ARRAY_IDX(names, names->nelts - 1, name_t).n++;
        }
    }
    return names;
}

/* The startup answer over vacant positions. */
static void initial(const name_t *nm, fcgix_addrset_pos_t *pos)
{
    fcgix_addrset_ip_t ips[DNS_MAX_IPS];
    int busy[FCGIX_POOL_MAX_ADDRS] = { 0 }, ignored;
    int nips = answer_ips(nm->named->sa, ips);

    memset(pos, 0, sizeof(*pos) * (apr_size_t)nm->n);
    fcgix_addrset_update(pos, nm->n, ips, nips, apr_time_now(), 0, busy,
                         &ignored);
}

void fcgix_upstream_dns_seed(const fcgix_server_t *srv,
                             fcgix_sb_backend_t **slots)
{
    apr_pool_t *p;
    apr_array_header_t *names;
    int i, k;

    if (srv->resolve <= 0 || slots == NULL) {
        return;
    }
    apr_pool_create(&p, NULL);
    names = find_names(p, srv);
    for (i = 0; i < names->nelts; i++) {
        const name_t *nm = &APR_ARRAY_IDX(names, i, name_t);
        fcgix_addrset_pos_t pos[FCGIX_POOL_MAX_ADDRS];
        fcgix_sb_backend_t *b0 = slots[nm->first];
        /* Written before (a graceful restart): the set lives on, the
         * children that still use it included. */
        if (b0 == NULL || b0->dyn_seq != 0) {
            continue;
        }
        initial(nm, pos);
        for (k = 0; k < nm->n; k++) {
            if (slots[nm->first + k]) {
                write_pos(slots[nm->first + k], &pos[k]);
            }
        }
        b0->resolve_next = apr_time_now() + srv->resolve;
    }
    apr_pool_destroy(p);
}

/* ---- following the slots in a child ---- */

static void apply(fcgix_dns_t *d, int k, const fcgix_addrset_pos_t *ps)
{
    const fcgix_addr_t *named = APR_ARRAY_IDX(d->srv->addrs, k,
                                              fcgix_addr_t *);
    follow_t *f = &d->follow[k];
    fcgix_addr_t *a = NULL;

    if (ps->state != FCGIX_ADDRSET_VACANT) {
        const fcgix_addr_t *now = fcgix_pool_addr(d->pools[k]);
        fcgix_addr_t *probe;
        unsigned char ip[16];
        int fam = ps->ip.family == 6 ? APR_INET6 : APR_INET;
        /* The same address, draining now or back: keep it. */
        if (now && now != named && now->sa
            && fcgix_addr_raw(now->sa, ip) == fam
            && !memcmp(ip, ps->ip.ip, fam == APR_INET6 ? 16 : 4)) {
            fcgix_pool_set_addr(d->pools[k], NULL,
                                ps->state == FCGIX_ADDRSET_GONE,
                                ps->since, d->srv->slow_start);
            if (ps->state == FCGIX_ADDRSET_GONE) {
                /* Kept connections go now, even in a child that gets no
                 * request to see it draining: the position frees up. */
                fcgix_pool_close_idle(d->pools[k]);
            }
            return;
        }
        f->cur ^= 1;
        apr_pool_clear(f->mem[f->cur]);
        probe = fcgix_addr_from_ip(f->mem[f->cur], fam, ps->ip.ip,
                                   named->port);
        if (probe) {
            probe->name = named->name;
            probe->pos = named->pos;
            a = probe;
        }
    }
    fcgix_pool_set_addr(d->pools[k], a,
                        a == NULL ? 2 : ps->state == FCGIX_ADDRSET_GONE,
                        ps->since, d->srv->slow_start);
}

fcgix_dns_t *fcgix_upstream_dns_create(apr_pool_t *pchild,
                                       const fcgix_server_t *srv,
                                       fcgix_pool_t **pools,
                                       fcgix_sb_backend_t **slots)
{
    fcgix_dns_t *d;
    int i, k;

    if (srv->resolve <= 0) {
        return NULL;
    }
    d = apr_pcalloc(pchild, sizeof(*d));
    d->srv = srv;
    d->pools = pools;
    d->slots = slots;
    d->names = find_names(pchild, srv);
    d->follow = apr_pcalloc(pchild, sizeof(follow_t) * srv->addrs->nelts);
    if (d->names->nelts == 0
        || apr_thread_mutex_create(&d->mu, APR_THREAD_MUTEX_DEFAULT,
                                   pchild) != APR_SUCCESS) {
        return NULL;
    }
    for (i = 0; i < d->names->nelts; i++) {
        const name_t *nm = &APR_ARRAY_IDX(d->names, i, name_t);
        fcgix_addrset_pos_t pos[FCGIX_POOL_MAX_ADDRS];
        initial(nm, pos);
        for (k = nm->first; k < nm->first + nm->n; k++) {
            follow_t *f = &d->follow[k];
            apr_pool_create(&f->mem[0], pchild);
            apr_pool_create(&f->mem[1], pchild);
            /* Until a slot says otherwise (or for good without one):
             * the startup answer. */
            apply(d, k, &pos[k - nm->first]);
        }
    }
    fcgix_upstream_dns_sync(d);
    return d;
}

void fcgix_upstream_dns_sync(fcgix_dns_t *d)
{
    int i, k, locked = 0;

    if (d == NULL || d->slots == NULL) {
        return;
    }
    for (i = 0; i < d->names->nelts; i++) {
        const name_t *nm = &APR_ARRAY_IDX(d->names, i, name_t);
        for (k = nm->first; k < nm->first + nm->n; k++) {
            fcgix_sb_backend_t *b = d->slots[k];
            fcgix_addrset_pos_t ps;
            apr_uint32_t seq;
            if (b == NULL) {
                continue;
            }
            seq = __atomic_load_n(&b->dyn_seq, __ATOMIC_ACQUIRE);
            if (seq == d->follow[k].seen || seq == 0) {
                continue;
            }
            if (!locked) {
                apr_thread_mutex_lock(d->mu);
                locked = 1;
            }
            if (seq == d->follow[k].seen || !read_pos(b, &ps)) {
                continue; /* another thread did it, or being written */
            }
            apply(d, k, &ps);
            d->follow[k].seen = seq;
        }
    }
    if (locked) {
        apr_thread_mutex_unlock(d->mu);
    }
}

/* ---- the resolver ---- */

typedef struct {
    apr_array_header_t *all; /* fcgix_dns_t * */
    server_rec *s;
    apr_thread_t *thread;
    volatile int stop;
} resolver_t;

static int busy_slot(const fcgix_sb_backend_t *b)
{
    return b->inflight > 0 || b->open > 0 || b->waiting > 0
           || b->mpx_conns > 0;
}

static const char *ip_str(apr_pool_t *p, const fcgix_addrset_ip_t *ip)
{
    fcgix_addr_t *a = fcgix_addr_from_ip(p, ip->family == 6 ? APR_INET6
                                                             : APR_INET,
                                         ip->ip, 0);

    return a ? a->host : "?";
}

static void log_changes(const resolver_t *rs, const fcgix_dns_t *d,
                        const name_t *nm, const fcgix_addrset_pos_t *pos,
                        apr_uint64_t changed, apr_pool_t *p)
{
    int k;

    for (k = 0; k < nm->n; k++) {
        const fcgix_addrset_pos_t *ps = &pos[k];
        if (!(changed >> k & 1)) {
            continue;
        }
        if (ps->state == FCGIX_ADDRSET_ACTIVE) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, rs->s,
                         FCGIX_LOGNO(00722) "%s %s: %s joins (slow start "
                         "%" APR_TIME_T_FMT " s)", d->srv->path,
                         nm->named->name, ip_str(p, &ps->ip),
                         apr_time_sec(d->srv->slow_start));
        }
        else if (ps->state == FCGIX_ADDRSET_GONE) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, rs->s,
                         FCGIX_LOGNO(00723) "%s %s: %s left the answer; "
                         "draining", d->srv->path, nm->named->name,
                         ip_str(p, &ps->ip));
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, rs->s,
                         FCGIX_LOGNO(00724) "%s %s: position %d drained, "
                         "free", d->srv->path, nm->named->name, k);
        }
    }
}

/* One round of one name: look it up, apply the answer to the slots. */
static void resolve_name(const resolver_t *rs, fcgix_dns_t *d,
                         const name_t *nm, apr_pool_t *p)
{
    fcgix_sb_backend_t *b0 = d->slots[nm->first];
    fcgix_addrset_pos_t pos[FCGIX_POOL_MAX_ADDRS];
    fcgix_addrset_ip_t ips[DNS_MAX_IPS];
    int busy[FCGIX_POOL_MAX_ADDRS];
    apr_sockaddr_t *sa = NULL;
    apr_uint64_t changed;
    apr_status_t rv;
    int k, nips, ignored;

    rv = apr_sockaddr_info_get(&sa, nm->named->host, APR_UNSPEC,
                               nm->named->port, 0, p);
    nips = rv == APR_SUCCESS ? answer_ips(sa, ips) : 0;
    if (nips == 0) {
        /* No answer is not "no addresses": the last set stays. */
        if (!__atomic_exchange_n(&b0->resolve_failing, 1, __ATOMIC_SEQ_CST)) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, rs->s,
                         FCGIX_LOGNO(00720) "%s %s: lookup failed; keeping "
                         "the addresses it had", d->srv->path,
                         nm->named->name);
        }
        return;
    }
    if (__atomic_exchange_n(&b0->resolve_failing, 0, __ATOMIC_SEQ_CST)) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, rs->s, FCGIX_LOGNO(00721)
                     "%s %s: lookup works again (%d addresses)",
                     d->srv->path, nm->named->name, nips);
    }
    for (k = 0; k < nm->n; k++) {
        fcgix_sb_backend_t *b = d->slots[nm->first + k];
        if (b == NULL || !read_pos(b, &pos[k])) {
            return; /* half written: a writer died there; next round */
        }
        busy[k] = busy_slot(b);
    }
    changed = fcgix_addrset_update(pos, nm->n, ips, nips, apr_time_now(),
                                   DNS_GRACE, busy, &ignored);
    for (k = 0; k < nm->n; k++) {
        fcgix_sb_backend_t *b = d->slots[nm->first + k];
        if (!(changed >> k & 1)) {
            continue;
        }
        if (pos[k].state == FCGIX_ADDRSET_ACTIVE && b->dyn_state
                                                    == FCGIX_ADDRSET_VACANT) {
            fresh_counters(b, (int)(d->srv->drain >> (nm->first + k) & 1));
        }
        write_pos(b, &pos[k]);
    }
    log_changes(rs, d, nm, pos, changed, p);
    if (ignored
        && !__atomic_exchange_n(&b0->resolve_over, 1, __ATOMIC_SEQ_CST)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, rs->s, FCGIX_LOGNO(00725)
                     "%s %s: %d addresses beyond max-addrs=%d left out",
                     d->srv->path, nm->named->name, ignored, nm->n);
    }
    else if (!ignored) {
        b0->resolve_over = 0;
    }
}

static void *APR_THREAD_FUNC run(apr_thread_t *th, void *data)
{
    resolver_t *rs = data;
    apr_pool_t *p;

    apr_pool_create(&p, NULL);
    while (!rs->stop) {
        int i, j;
        for (i = 0; i < rs->all->nelts && !rs->stop; i++) {
            fcgix_dns_t *d = APR_ARRAY_IDX(rs->all, i, fcgix_dns_t *);
            for (j = 0; d->slots && j < d->names->nelts; j++) {
                const name_t *nm = &APR_ARRAY_IDX(d->names, j, name_t);
                fcgix_sb_backend_t *b0 = d->slots[nm->first];
                if (b0 == NULL
                    || !fcgix_sb_round_claim(&b0->resolve_next,
                                             apr_time_now(),
                                             d->srv->resolve)) {
                    continue; /* not due, or another child's round */
                }
                resolve_name(rs, d, nm, p);
                apr_pool_clear(p);
            }
            /* Drained positions are seen even by a child without
             * requests. */
            fcgix_upstream_dns_sync(d);
        }
        apr_sleep(DNS_TICK);
    }
    apr_pool_destroy(p);
    apr_thread_exit(th, APR_SUCCESS);
    return NULL;
}

static apr_status_t stop(void *data)
{
    resolver_t *rs = data;
    apr_status_t rv;

    rs->stop = 1;
    apr_thread_join(&rv, rs->thread);
    return APR_SUCCESS;
}

apr_status_t fcgix_upstream_dns_start(apr_pool_t *pchild, server_rec *s,
                                      apr_array_header_t *all)
{
    resolver_t *rs;
    apr_status_t rv;

    if (all->nelts == 0) {
        return APR_SUCCESS;
    }
    rs = apr_pcalloc(pchild, sizeof(*rs));
    rs->s = s;
    rs->all = all;
    rv = apr_thread_create(&rs->thread, NULL, run, rs, pchild);
    if (rv == APR_SUCCESS) {
        apr_pool_cleanup_register(pchild, rs, stop, apr_pool_cleanup_null);
    }
    return rv;
}
