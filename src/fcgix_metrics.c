/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <stddef.h>
#include <string.h>

#include "apr_strings.h"
#include "apr_user.h"

#include "httpd.h"
#include "http_config.h"
#include "http_main.h"
#include "http_protocol.h"

#include "fcgix.h"
#include "fcgix_conf.h"
#include "fcgix_metrics.h"
#include "fcgix_mpx.h"
#include "fcgix_pool.h"
#include "fcgix_sb.h"
#include "fcgix_spawn.h"
#include "fcgix_upstream.h"

/* The plain values of one series' labels, whichever kind it is. */
enum {
    V_INFLIGHT, V_WAITING, V_SPAWNS, V_SPAWN_FAILS, V_QUEUED, V_QUEUE_US,
    V_IDLE, V_BUSY, V_RETIRING, V_DEAD, V_OPEN, V_IDLE_CONNS, V_OPENED,
    V_REUSED, V_CONN_FAILS, V_MPX_CONNS, V_MPX_STREAMS, V_MPX_TOTAL, V_UP,
    V_DRAINING, V_DOWN, V_CHECKS, V_CHECK_FAILS, NV
};

/* One class (processes of the same program, virtual host and user are
 * summed: a graceful restart may keep the superseded class a while) or
 * one external address. */
typedef struct {
    const char *labels;
    apr_uint64_t v[NV];
    int has_reqs;
    fcgix_sb_reqs_t reqs;
} agg_t;

typedef struct {
    const char *name;
    const char *type;
    const char *help;
    int v;
    int usec;            /* microseconds, shown in seconds */
    const char *extra;   /* a further label, or NULL */
} family_t;

static const family_t class_families[] = {
    { "fcgix_class_requests_in_flight", "gauge",
      "Requests admitted to the class and not yet ended.", V_INFLIGHT, 0,
      NULL },
    { "fcgix_class_requests_waiting", "gauge",
      "Requests waiting for a free process.", V_WAITING, 0, NULL },
    { "fcgix_class_processes", "gauge", "Processes of the class by state.",
      V_IDLE, 0, "state=\"idle\"" },
    { "fcgix_class_processes", NULL, NULL, V_BUSY, 0, "state=\"busy\"" },
    { "fcgix_class_processes", NULL, NULL, V_RETIRING, 0,
      "state=\"retiring\"" },
    { "fcgix_class_processes", NULL, NULL, V_DEAD, 0, "state=\"dead\"" },
    { "fcgix_class_spawns_total", "counter",
      "Processes the process manager started.", V_SPAWNS, 0, NULL },
    { "fcgix_class_spawn_failures_total", "counter",
      "Starts that failed (exec, socket, fork, or exit before serving).",
      V_SPAWN_FAILS, 0, NULL },
    { "fcgix_class_queue_waits_total", "counter",
      "Requests that had to wait for a free process.", V_QUEUED, 0, NULL },
    { "fcgix_class_queue_wait_seconds_total", "counter",
      "Time requests spent waiting for a free process.", V_QUEUE_US, 1,
      NULL },
    { NULL, NULL, NULL, 0, 0, NULL }
};

static const family_t backend_families[] = {
    { "fcgix_backend_up", "gauge",
      "1 when the address takes requests, 0 while it is disabled after "
      "failures or down after its checks.", V_UP, 0, NULL },
    { "fcgix_backend_check_down", "gauge",
      "1 while the address is down after failing its active checks.",
      V_DOWN, 0, NULL },
    { "fcgix_backend_checks_total", "counter",
      "Active health checks run (check=).", V_CHECKS, 0, NULL },
    { "fcgix_backend_check_failures_total", "counter",
      "Active health checks that failed.", V_CHECK_FAILS, 0, NULL },
    { "fcgix_backend_draining", "gauge",
      "1 while the address is drained: no new requests, those in flight "
      "finish.", V_DRAINING, 0, NULL },
    { "fcgix_backend_requests_in_flight", "gauge",
      "Requests on the address now.", V_INFLIGHT, 0, NULL },
    { "fcgix_backend_requests_waiting", "gauge",
      "Requests waiting for a connection under max-conns.", V_WAITING, 0,
      NULL },
    { "fcgix_backend_connections_open", "gauge",
      "Connections open, idle ones included.", V_OPEN, 0, NULL },
    { "fcgix_backend_connections_idle", "gauge",
      "Kept connections waiting for a request.", V_IDLE_CONNS, 0, NULL },
    { "fcgix_backend_connections_opened_total", "counter",
      "Connections opened.", V_OPENED, 0, NULL },
    { "fcgix_backend_connections_reused_total", "counter",
      "Requests sent on a kept connection.", V_REUSED, 0, NULL },
    { "fcgix_backend_connect_failures_total", "counter",
      "Connections that could not be made.", V_CONN_FAILS, 0, NULL },
    { "fcgix_backend_mpx_connections", "gauge",
      "Multiplexed connections open.", V_MPX_CONNS, 0, NULL },
    { "fcgix_backend_mpx_streams", "gauge",
      "Requests on multiplexed connections now.", V_MPX_STREAMS, 0, NULL },
    { "fcgix_backend_mpx_streams_total", "counter",
      "Requests sent on multiplexed connections.", V_MPX_TOTAL, 0, NULL },
    { "fcgix_backend_queue_waits_total", "counter",
      "Requests that waited for a connection under max-conns.", V_QUEUED, 0,
      NULL },
    { "fcgix_backend_queue_wait_seconds_total", "counter",
      "Time requests waited for a connection under max-conns.", V_QUEUE_US,
      1, NULL },
    { NULL, NULL, NULL, 0, 0, NULL }
};

/* A label value as the exposition format quotes it. */
static const char *lv(apr_pool_t *p, const char *s)
{
    apr_size_t n = 0;
    const char *q;
    char *out, *o;

    for (q = s; *q; q++) {
        n += (*q == '\\' || *q == '"' || *q == '\n') ? 2 : 1;
    }
    out = o = apr_palloc(p, n + 1);
    for (q = s; *q; q++) {
        if (*q == '\\' || *q == '"' || *q == '\n') {
            *o++ = '\\';
            *o++ = *q == '\n' ? 'n' : *q;
        }
        else {
            *o++ = *q;
        }
    }
    *o = '\0';
    return out;
}

static apr_uint64_t gauge(apr_int64_t v)
{
    /* A crashed child's share stays in a sum: never below 0. */
    return v > 0 ? (apr_uint64_t)v : 0;
}

static void add_reqs(fcgix_sb_reqs_t *to, const fcgix_sb_reqs_t *from)
{
    int i;

    for (i = 0; i < FCGIX_OUTCOMES; i++) {
        to->outcome[i] += from->outcome[i];
    }
    for (i = 0; i < FCGIX_SB_BUCKETS; i++) {
        to->bucket[i] += from->bucket[i];
    }
    to->dur_us += from->dur_us;
    to->queued += from->queued;
    to->queue_us += from->queue_us;
}

static void header(request_rec *r, const char *name, const char *type,
                   const char *help)
{
    ap_rprintf(r, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void families(request_rec *r, const family_t *f, const agg_t *a,
                     int n)
{
    int i;

    for (; f->name; f++) {
        if (f->type) {
            header(r, f->name, f->type, f->help);
        }
        for (i = 0; i < n; i++) {
            const char *sep = f->extra ? "," : "";
            if (f->usec) {
                ap_rprintf(r, "%s{%s%s%s} %.6f\n", f->name, a[i].labels, sep,
                           f->extra ? f->extra : "",
                           (double)a[i].v[f->v] / 1e6);
            }
            else {
                ap_rprintf(r, "%s{%s%s%s} %" APR_UINT64_T_FMT "\n", f->name,
                           a[i].labels, sep, f->extra ? f->extra : "",
                           a[i].v[f->v]);
            }
        }
    }
}

/* Requests by outcome and the duration histogram of @p kind. */
static void requests(request_rec *r, const char *kind, const agg_t *a,
                     int n)
{
    const char *total = apr_psprintf(r->pool, "fcgix_%s_requests_total",
                                     kind);
    const char *dur = apr_psprintf(r->pool,
                                   "fcgix_%s_request_duration_seconds", kind);
    int i, k;

    header(r, total, "counter", "Requests ended, by outcome.");
    for (i = 0; i < n; i++) {
        for (k = 0; a[i].has_reqs && k < FCGIX_OUTCOMES; k++) {
            ap_rprintf(r, "%s{%s,outcome=\"%s\"} %" APR_UINT64_T_FMT "\n",
                       total, a[i].labels,
                       fcgix_sb_outcome_str((fcgix_outcome_e)k),
                       a[i].reqs.outcome[k]);
        }
    }
    header(r, dur, "histogram", "Time from the request reaching mod_fcgix "
           "to its end, waits included.");
    for (i = 0; i < n; i++) {
        apr_uint64_t cum = 0;
        for (k = 0; a[i].has_reqs && k < FCGIX_SB_BUCKETS; k++) {
            apr_int64_t le = fcgix_sb_bucket_bound(k);
            cum += a[i].reqs.bucket[k];
            ap_rprintf(r, "%s_bucket{%s,le=\"%s\"} %" APR_UINT64_T_FMT "\n",
                       dur, a[i].labels, le < 0 ? "+Inf"
                       : apr_psprintf(r->pool, "%g", (double)le / 1e6), cum);
        }
        if (a[i].has_reqs) {
            ap_rprintf(r, "%s_sum{%s} %.6f\n%s_count{%s} %" APR_UINT64_T_FMT
                       "\n", dur, a[i].labels,
                       (double)a[i].reqs.dur_us / 1e6, dur, a[i].labels, cum);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Spawned classes                                                     */
/* ------------------------------------------------------------------ */

static const char *user_name(apr_pool_t *p, apr_uint32_t uid)
{
    char *name;

    if (apr_uid_name_get(&name, (apr_uid_t)uid, p) == APR_SUCCESS) {
        return name;
    }
    return apr_psprintf(p, "#%u", (unsigned)uid);
}

static void class_procs(const fcgix_sb_t *sb, apr_uint32_t cls, agg_t *a)
{
    static const int v_of[] = { -1, V_IDLE, V_BUSY, V_RETIRING, V_DEAD };
    apr_uint32_t i, n = fcgix_sb_read_hiwater(sb);

    for (i = 0; i < n; i++) {
        const fcgix_sb_proc_t *p = &sb->procs[i];
        if (p->pid > 0 && p->cls == cls && p->state > FCGIX_PROC_FREE
            && p->state <= FCGIX_PROC_DEAD) {
            a->v[v_of[p->state]]++;
        }
    }
}

static int classes(request_rec *r, const fcgix_sb_t *sb, agg_t *out)
{
    int i, k, n = 0;

    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        const fcgix_sb_class_t *c = &sb->classes[i];
        const char *labels;
        agg_t *a;
        if (c->state != 1) {
            continue;
        }
        labels = apr_psprintf(
            r->pool, "class=\"%s\",vhost=\"%s\",user=\"%s\"",
            lv(r->pool, apr_pstrndup(r->pool, c->path, sizeof(c->path))),
            lv(r->pool, fcgix_spawn_vhost_name(r->pool, c->vhost)),
            lv(r->pool, user_name(r->pool, c->uid)));
        for (k = 0; k < n && strcmp(out[k].labels, labels); k++) {
        }
        a = &out[k];
        if (k == n) {
            memset(a, 0, sizeof(*a));
            a->labels = labels;
            a->has_reqs = 1;
            n++;
        }
        a->v[V_INFLIGHT] += c->inflight;
        a->v[V_WAITING] += c->waiters;
        a->v[V_SPAWNS] += c->spawns;
        a->v[V_SPAWN_FAILS] += c->spawn_failures;
        a->v[V_QUEUED] += c->reqs.queued;
        a->v[V_QUEUE_US] += c->reqs.queue_us;
        add_reqs(&a->reqs, &c->reqs);
        class_procs(sb, c->id, a);
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* External servers                                                    */
/* ------------------------------------------------------------------ */

static void backend_values(agg_t *a, fcgix_pool_t *pl, fcgix_mpx_group_t *g,
                           apr_time_t now)
{
    const fcgix_sb_backend_t *b = fcgix_pool_shm(pl);
    fcgix_pool_stats_t ps;
    fcgix_mpx_stats_t ms;

    fcgix_pool_stats(pl, &ps);
    fcgix_mpx_stats(g, &ms);
    a->v[V_DRAINING] = ps.draining != 0;
    if (b == NULL) {
        /* No scoreboard: this child's own, and no request counts. */
        a->v[V_INFLIGHT] = gauge((apr_int64_t)ps.busy - ms.conns
                                 + ms.streams);
        a->v[V_WAITING] = ps.waiting;
        a->v[V_OPEN] = ps.open;
        a->v[V_IDLE_CONNS] = ps.idle;
        a->v[V_OPENED] = ps.opened;
        a->v[V_REUSED] = ps.reuses;
        a->v[V_CONN_FAILS] = ps.failures;
        a->v[V_QUEUED] = ps.waited;
        a->v[V_MPX_CONNS] = ms.conns;
        a->v[V_MPX_STREAMS] = ms.streams;
        a->v[V_UP] = ps.disabled_until <= now;
        return;
    }
    a->has_reqs = 1;
    a->reqs = b->reqs;
    /* A shared connection holds one of the pool's places for as long as
     * it is open: its requests are its streams. */
    a->v[V_INFLIGHT] = gauge((apr_int64_t)b->inflight - b->mpx_conns
                             + b->mpx_streams);
    a->v[V_WAITING] = gauge(b->waiting);
    a->v[V_OPEN] = gauge(b->open);
    a->v[V_IDLE_CONNS] = gauge(b->idle);
    a->v[V_OPENED] = b->opened;
    a->v[V_REUSED] = b->reuses;
    a->v[V_CONN_FAILS] = b->failures;
    a->v[V_QUEUED] = b->reqs.queued;
    a->v[V_QUEUE_US] = b->reqs.queue_us;
    a->v[V_MPX_CONNS] = gauge(b->mpx_conns);
    a->v[V_MPX_STREAMS] = gauge(b->mpx_streams);
    a->v[V_MPX_TOTAL] = b->mpx_streams_total;
    a->v[V_DOWN] = b->down != 0;
    a->v[V_CHECKS] = b->checks;
    a->v[V_CHECK_FAILS] = b->check_failures;
    a->v[V_UP] = b->disabled_until <= now && ps.disabled_until <= now
                 && !b->down;
}

typedef struct {
    request_rec *r;
    apr_array_header_t *seen;  /* fcgix_pool_t *: shown already */
    apr_array_header_t *all;   /* agg_t */
    apr_time_t now;
} walk_t;

static int backend_one(server_rec *vs, const fcgix_srv_conf_t *vc,
                       const fcgix_server_t *srv, void *baton)
{
    walk_t *w = baton;
    apr_pool_t *p = w->r->pool;
    int k, j;

    (void)vs;
    (void)vc;
    for (k = 0; k < srv->addrs->nelts; k++) {
        const fcgix_addr_t *ad;
        fcgix_pool_t *pl;
        fcgix_mpx_group_t *g;
        agg_t *a;
        if (srv->managed || !fcgix_upstream_address(srv, k, &pl, &g)) {
            break;
        }
        if (fcgix_pool_vacant(pl)) {
            continue; /* a name's position without an address */
        }
        ad = fcgix_pool_addr(pl); /* a name's current one */
        for (j = 0; j < w->seen->nelts
                    && APR_ARRAY_IDX(w->seen, j, void *) != pl; j++) {
        }
        if (j < w->seen->nelts) {
            continue;
        }
        APR_ARRAY_PUSH(w->seen, void *) = pl;
        a = apr_array_push(w->all);
        memset(a, 0, sizeof(*a));
        a->labels = apr_psprintf(p, "server=\"%s\",address=\"%s\"",
                                 lv(p, srv->path), lv(p, ad->spec));
        backend_values(a, pl, g, w->now);
    }
    return OK;
}

/* Every address of every external server once (a definition several
 * virtual hosts share has one pool per address). */
static int backends(request_rec *r, agg_t **out, apr_time_t now)
{
    walk_t w;

    w.r = r;
    w.seen = apr_array_make(r->pool, 16, sizeof(void *));
    w.all = apr_array_make(r->pool, 16, sizeof(agg_t));
    w.now = now;
    fcgix_conf_each_server(ap_server_conf, backend_one, &w);
    *out = (agg_t *)w.all->elts;
    return w.all->nelts;
}

void fcgix_metrics_write(request_rec *r)
{
    fcgix_sb_t *live = fcgix_spawn_scoreboard();
    apr_time_t now = apr_time_now();
    agg_t *a;
    int n;

    ap_set_content_type(r, FCGIX_METRICS_TYPE);
    header(r, "fcgix_info", "gauge", "The module's version.");
    ap_rprintf(r, "fcgix_info{version=\"%s\"} 1\n",
               lv(r->pool, FCGIX_VERSION));
    if (live) {
        /* A copy: slots change while we read, never move. */
        apr_size_t size = sizeof(*live)
                          + fcgix_sb_slots() * sizeof(fcgix_sb_proc_t);
        fcgix_sb_t *sb = apr_palloc(r->pool, size);
        memcpy(sb, live, size);
        header(r, "fcgix_processes", "gauge",
               "Spawned processes, all classes.");
        ap_rprintf(r, "fcgix_processes %u\n", sb->total_procs);
        header(r, "fcgix_processes_max", "gauge",
               "The global limit of spawned processes.");
        ap_rprintf(r, "fcgix_processes_max %u\n", sb->max_procs);
        a = apr_palloc(r->pool, FCGIX_SB_MAX_CLASSES * sizeof(*a));
        n = classes(r, sb, a);
        families(r, class_families, a, n);
        requests(r, "class", a, n);
    }
    n = backends(r, &a, now);
    families(r, backend_families, a, n);
    requests(r, "backend", a, n);
}
