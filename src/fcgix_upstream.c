/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "apr_portable.h"
#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"

#include "fcgix.h"
#include "fcgix_class.h"
#include "fcgix_sb.h"
#include "fcgix_spawn.h"
#include "fcgix_upstream.h"
#include "fcgix_upstream_check.h"
#include "fcgix_upstream_dns.h"

/* A request gives up on unreachable processes after this many. */
#define MAX_UNREACHABLE 3

#define SRV_FMT "%s (%s): "

/* The runtime of one configured server (external or static). */
typedef struct {
    const fcgix_server_t *srv;
    fcgix_settings_t set;
    /* Scoreboard slots, parallel to addrs (post_config; NULL entries or
     * array: no scoreboard). */
    fcgix_sb_backend_t **sb_backends;
    /* This child's pools and multiplexing groups, parallel to addrs
     * (child_init; NULL: none). */
    fcgix_pool_t **pools;
    fcgix_mpx_group_t **mpx_groups;
    /* resolve=: its names' positions as this child follows them (NULL:
     * none). */
    fcgix_dns_t *dns;
} runtime_t;

/* Indexed by server id: this generation's, in its configuration pool,
 * written in the parent's post_config and each child's child_init only. */
static runtime_t *runtime;
static int nruntime;
/* This httpd child's pid, set at child start (0 in the parent). */
static apr_int32_t my_pid;

struct fcgix_upstream_t {
    request_rec *r;
    const fcgix_dir_conf_t *dc;
    const fcgix_settings_t *set;
    /* An external server: its runtime, the addresses tried since the last
     * fresh start (a bit each), the last one tried (for logs). */
    runtime_t *rt;
    apr_uint32_t tried;
    const fcgix_addr_t *last;
    fcgix_sb_backend_t *last_b; /* its scoreboard slot, or NULL */
    /* A spawned class: what the PM is asked for, the class once it is
     * registered, the process leased, and the request's admission. */
    fcgix_pm_msg_t *m;
    fcgix_sb_t *sb;
    fcgix_sb_class_t *c;
    fcgix_sb_proc_t *p;
    int admitted;
    int tries;          /* processes found unreachable */
    int wait;           /* FcgixSpawnWait, seconds */
    apr_time_t deadline;
};

/* ------------------------------------------------------------------ */
/* Runtime: post_config and child_init                                 */
/* ------------------------------------------------------------------ */

static void server_settings(const fcgix_server_t *srv, fcgix_settings_t *set)
{
    set->path = srv->path;
    set->connect_timeout = srv->connect_timeout;
    set->io_timeout = srv->io_timeout;
    set->pass_headers = srv->pass_headers;
    set->flush = srv->flush;
    set->ignore_client_abort = srv->ignore_client_abort;
    set->nph = srv->nph;
    set->keep_conn = srv->limits.keepalive > 0;
    set->get_values = srv->get_values;
    set->mpx = srv->mpx;
    set->mpx_limits = srv->mpx_limits;
    set->mpx_limits.idle_ttl = srv->limits.idle_ttl;
}

/* Every address of an external server gets its scoreboard slot, so that
 * the status page shows all children's sums. @return 1 when one had
 * none left. */
static int claim_backends(runtime_t *rt, fcgix_sb_t *sb, apr_pool_t *pconf)
{
    const fcgix_server_t *srv = rt->srv;
    int k, full = 0;

    rt->sb_backends = apr_pcalloc(pconf, sizeof(*rt->sb_backends)
                                         * srv->addrs->nelts);
    for (k = 0; k < srv->addrs->nelts; k++) {
        const fcgix_addr_t *a = APR_ARRAY_IDX(srv->addrs, k, fcgix_addr_t *);
        rt->sb_backends[k] = fcgix_sb_backend_claim(sb, srv->path, a->spec);
        full |= rt->sb_backends[k] == NULL;
        if (rt->sb_backends[k]) {
            /* Each configuration generation says it anew: a graceful
             * restart takes drain= (and ends a drain the page asked). */
            rt->sb_backends[k]->draining = (srv->drain >> k) & 1;
            if (srv->check == 0) {
                /* Checks gone with this configuration: so is a verdict. */
                rt->sb_backends[k]->down = 0;
            }
        }
    }
    fcgix_upstream_dns_seed(srv, rt->sb_backends);
    return full;
}

typedef struct {
    fcgix_sb_t *sb; /* NULL: no scoreboard */
    apr_pool_t *p;
    int full;       /* an address found no scoreboard slot */
} runtime_ctx_t;

static int runtime_one(server_rec *vs, const fcgix_srv_conf_t *vc,
                       const fcgix_server_t *srv, void *baton)
{
    runtime_ctx_t *ctx = baton;
    runtime_t *rt = &runtime[srv->id];

    (void)vs;
    (void)vc;
    if (rt->srv) {
        return OK; /* seen from another virtual host */
    }
    rt->srv = srv;
    server_settings(srv, &rt->set);
    if (ctx->sb && !srv->managed) {
        ctx->full |= claim_backends(rt, ctx->sb, ctx->p);
    }
    return OK;
}

/* After the PM's post_config (APR_HOOK_LAST): the scoreboard exists then,
 * when there is one. */
static int upstream_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp, server_rec *s)
{
    runtime_ctx_t ctx;

    (void)plog;
    (void)ptemp;
    nruntime = fcgix_conf_server_count();
    runtime = apr_pcalloc(pconf, sizeof(*runtime) * (nruntime + 1));
    ctx.sb = fcgix_spawn_scoreboard();
    ctx.p = pconf;
    ctx.full = 0;
    fcgix_conf_each_server(s, runtime_one, &ctx);
    if (ctx.full) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, FCGIX_LOGNO(00190)
                     "more than %d external server addresses: the status "
                     "page counts the others per httpd child",
                     FCGIX_SB_MAX_BACKENDS);
    }
    return OK;
}

static apr_status_t init_pools(apr_pool_t *pchild, runtime_t *rt)
{
    const fcgix_server_t *srv = rt->srv;
    int n = srv->addrs->nelts, i;

    rt->pools = apr_pcalloc(pchild, sizeof(fcgix_pool_t *) * n);
    rt->mpx_groups = apr_pcalloc(pchild, sizeof(fcgix_mpx_group_t *) * n);
    for (i = 0; i < n; i++) {
        apr_status_t rv = fcgix_pool_create(
            &rt->pools[i], APR_ARRAY_IDX(srv->addrs, i, fcgix_addr_t *),
            &srv->limits, pchild);
        if (rv == APR_SUCCESS && rt->sb_backends) {
            fcgix_pool_set_shm(rt->pools[i], rt->sb_backends[i], pchild);
        }
        if (rv == APR_SUCCESS) {
            fcgix_pool_set_draining(rt->pools[i], (srv->drain >> i) & 1);
        }
        if (rv == APR_SUCCESS) {
            rv = fcgix_mpx_group_create(&rt->mpx_groups[i], rt->pools[i],
                                        &rt->set.mpx_limits, pchild);
        }
        if (rv != APR_SUCCESS) {
            rt->pools = NULL;
            return rv;
        }
    }
    rt->dns = fcgix_upstream_dns_create(pchild, srv, rt->pools,
                                        rt->sb_backends);
    return APR_SUCCESS;
}

apr_status_t fcgix_upstream_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_array_header_t *dns = apr_array_make(pchild, 1,
                                             sizeof(fcgix_dns_t *));
    apr_status_t rv;
    int i;

    (void)s;
    /* glibc no longer caches getpid(): one syscall per request saved. */
    my_pid = (apr_int32_t)getpid();
    for (i = 0; i < nruntime; i++) {
        runtime_t *rt = &runtime[i];
        if (rt->srv == NULL || rt->srv->managed) {
            continue;
        }
        if ((rv = init_pools(pchild, rt)) != APR_SUCCESS) {
            return rv;
        }
        if (rt->dns) {
            APR_ARRAY_PUSH(dns, fcgix_dns_t *) = rt->dns;
        }
    }
    if ((rv = fcgix_upstream_dns_start(pchild, s, dns)) != APR_SUCCESS) {
        return rv;
    }
    return fcgix_upstream_check_start(pchild, s);
}

int fcgix_upstream_address(const fcgix_server_t *srv, int k,
                           fcgix_pool_t **pl, fcgix_mpx_group_t **g)
{
    const runtime_t *rt = srv->id < nruntime ? &runtime[srv->id] : NULL;

    if (rt == NULL || rt->pools == NULL || k >= srv->addrs->nelts) {
        return 0;
    }
    if (k == 0) {
        fcgix_upstream_dns_sync(rt->dns); /* a walk over them begins */
    }
    *pl = rt->pools[k];
    *g = rt->mpx_groups[k];
    return 1;
}

/* ------------------------------------------------------------------ */
/* Resolving a request to its target                                   */
/* ------------------------------------------------------------------ */

/* A dynamic class's settings: FcgidCmdOptions of its command, and
 * FcgidOutputBufferSize 0 (flush); log lines name @p name. */
static const fcgix_settings_t *class_settings(request_rec *r,
                                              const char *cmd,
                                              const char *name)
{
    const fcgix_srv_conf_t *sc =
        ap_get_module_config(r->server->module_config, &fcgix_module);
    const fcgix_cmd_options_t *o = fcgix_class_cmd_options(sc, cmd);
    fcgix_settings_t *set = apr_pcalloc(r->pool, sizeof(*set));

    set->path = name;
    set->connect_timeout = o ? o->connect_timeout : FCGIX_UNSET;
    set->io_timeout = o ? o->io_timeout : FCGIX_UNSET;
    set->flush = FCGIX_VALUE(sc->output_buffer, -1) == 0;
    set->get_values = 1;
    set->mpx = FCGIX_MPX_AUTO;
    set->mpx_limits.max_reqs = FCGIX_DEFAULT_MPX_MAX_REQS;
    set->mpx_limits.queue_max = FCGIX_DEFAULT_MPX_BUFFER;
    return set;
}

static int no_pm(request_rec *r, const char *app, const fcgix_server_t *srv)
{
    if (app) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00182)
                      "application %s (authorizer or filter): no process "
                      "manager to run it", app);
    }
    else if (srv) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00173)
                      "%s: cannot run FastCgiServer applications (no "
                      "process manager; see the startup log)", srv->path);
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00167)
                      "%s: cannot spawn applications (no process manager; "
                      "see the startup log)", r->filename);
    }
    return HTTP_INTERNAL_SERVER_ERROR;
}

/*
 * The one place that decides "external, static or dynamic?". A server
 * (of any virtual host) covering the path wins; a FastCgiServer and
 * anything else are the process manager's. Never the default handler
 * for a script: it would send its source.
 */
int fcgix_upstream_resolve(request_rec *r, const char *app,
                           fcgix_upstream_t **out)
{
    fcgix_upstream_t *up = apr_pcalloc(r->pool, sizeof(*up));
    const fcgix_server_t *srv = NULL;
    int status;

    up->r = r;
    up->dc = ap_get_module_config(r->per_dir_config, &fcgix_module);
    *out = up;
    if (app) {
        srv = fcgix_conf_find_server(r->server, app);
    }
    else if ((srv = ap_get_module_config(r->request_config, &fcgix_module))
             == NULL && r->filename) {
        srv = fcgix_conf_find_server(r->server, r->filename);
    }
    if (srv && !srv->managed) {
        up->rt = &runtime[srv->id];
        up->set = &up->rt->set;
        return OK;
    }
    if ((up->sb = fcgix_spawn_scoreboard()) == NULL) {
        return no_pm(r, app, srv);
    }
    /* Only a class needs the message (3 KiB): not built per request to
     * an external server. */
    up->m = apr_palloc(r->pool, sizeof(*up->m));
    if (srv) {
        up->set = &runtime[srv->id].set;
        fcgix_class_static_msg(srv, up->m);
        return OK;
    }
    status = app ? fcgix_class_program_msg(r, app, up->m)
                 : fcgix_class_script_msg(r, up->m);
    if (status == OK) {
        /* An authorizer or a filter program, not the request's file. */
        up->set = class_settings(r, up->m->path, app ? app : r->filename);
    }
    return status;
}

const fcgix_settings_t *fcgix_upstream_settings(const fcgix_upstream_t *up)
{
    return up->set;
}

/* ------------------------------------------------------------------ */
/* Leasing a connection to an external server                          */
/* ------------------------------------------------------------------ */

static int use_mpx(const fcgix_upstream_t *up, fcgix_pool_t *pl)
{
    switch (up->set->mpx) {
    case FCGIX_MPX_ON:
        return !fcgix_pool_mpx_was_refused(pl);
    case FCGIX_MPX_AUTO:
        return fcgix_pool_mpx_ok(pl);
    default:
        return 0;
    }
}

/* An id on the shared connection of address @p k, or a connection of
 * our own from its pool. */
static apr_status_t attach(fcgix_upstream_t *up, fcgix_lease_t *ls, int k,
                           apr_interval_time_t to)
{
    fcgix_pool_t *pl = up->rt->pools[k];
    apr_status_t rv;

    up->last = fcgix_pool_addr(pl);
    up->last_b = fcgix_pool_shm(pl);
    if (use_mpx(up, pl)) {
        rv = fcgix_mpx_open(up->rt->mpx_groups[k], to, &ls->ms, &ls->rid);
    }
    else {
        ls->rid = 1;
        if ((rv = fcgix_pool_acquire(pl, to, 1, &ls->conn)) == APR_SUCCESS) {
            ls->sock = ls->conn->sock;
        }
    }
    if (rv == APR_SUCCESS) {
        ls->pl = pl;
        ls->addr = up->last;
    }
    return rv;
}

/* Every address was tried; @p rv is how the last one failed. */
static int none_left(fcgix_upstream_t *up, int full, apr_status_t rv,
                     apr_interval_time_t to)
{
    const fcgix_server_t *srv = up->rt->srv;
    request_rec *r = up->r;
    const char *spec = up->last ? up->last->spec : "-";

    if (full) {
        /* Every address was at its cap the whole wait: overloaded. */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00186)
                      SRV_FMT "all %d connections busy for %" APR_TIME_T_FMT
                      " s (max-conns, max-conns-wait)", srv->path, spec,
                      srv->limits.max_conns,
                      apr_time_sec(srv->limits.max_wait));
        apr_table_setn(r->err_headers_out, "Retry-After", "5");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (APR_STATUS_IS_TIMEUP(rv)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      FCGIX_LOGNO(00103) SRV_FMT
                      "connect timed out after %" APR_TIME_T_FMT " ms",
                      srv->path, spec, apr_time_as_msec(to));
        return HTTP_GATEWAY_TIME_OUT;
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                  FCGIX_LOGNO(00102) SRV_FMT "cannot connect to the "
                  "application", srv->path, spec);
    return HTTP_SERVICE_UNAVAILABLE;
}

/* A request that never reached an application may try the next
 * address. */
static int lease_address(fcgix_upstream_t *up, fcgix_lease_t *ls)
{
    const fcgix_server_t *srv = up->rt->srv;
    apr_interval_time_t to =
        fcgix_conf_connect_timeout(up->r, up->set->connect_timeout);
    int n = srv->addrs->nelts, full = 0;
    apr_uint32_t key = 0;
    apr_status_t rv = APR_EGENERAL;
    const char *ip;

    if (up->rt->pools == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, up->r, FCGIX_LOGNO(00135)
                      "%s: no connection pools in this child", srv->path);
        return HTTP_SERVICE_UNAVAILABLE;
    }
    fcgix_upstream_dns_sync(up->rt->dns);
    if (srv->balance == FCGIX_BALANCE_HASH) {
        /* One client keeps reaching the same address. */
        for (ip = up->r->useragent_ip; ip && *ip; ip++) {
            key = key * 31 + (unsigned char)*ip;
        }
    }
    for (;;) {
        int k = fcgix_pool_choose(up->rt->pools, n, srv->balance, key,
                                  up->tried);
        if (k < 0 && up->tried == 0) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, up->r, FCGIX_LOGNO(00591)
                          "%s: every address is draining", srv->path);
            apr_table_setn(up->r->err_headers_out, "Retry-After", "5");
            return HTTP_SERVICE_UNAVAILABLE;
        }
        if (k < 0) {
            break;
        }
        up->tried |= 1u << k;
        if ((rv = attach(up, ls, k, to)) == APR_SUCCESS) {
            return OK;
        }
        if (rv == FCGIX_POOL_FULL) {
            full = 1;
        }
        else if (n > 1) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, up->r,
                          FCGIX_LOGNO(00139) SRV_FMT "address failed; "
                          "disabled for %" APR_TIME_T_FMT " s", srv->path,
                          up->last->spec,
                          apr_time_sec(srv->limits.disable_for));
        }
    }
    return none_left(up, full, rv, to);
}

/* ------------------------------------------------------------------ */
/* Leasing a spawned process                                           */
/* ------------------------------------------------------------------ */

static int unavailable(request_rec *r, int wait)
{
    apr_table_setn(r->err_headers_out, "Retry-After",
                   apr_itoa(r->pool, wait > 0 && wait < 30 ? wait : 5));
    return HTTP_SERVICE_UNAVAILABLE;
}

/* First request of a class: the PM creates it and spawns. */
static int find_class(fcgix_upstream_t *up)
{
    fcgix_sb_t *sb = up->sb;
    const fcgix_pm_msg_t *m = up->m;

    while ((up->c = fcgix_sb_read_class(sb, m->key, m->path)) == NULL) {
        apr_uint32_t seen = sb->seq;
        apr_interval_time_t left = up->deadline - apr_time_now();
        if ((up->c = fcgix_sb_read_class(sb, m->key, m->path))) {
            break;
        }
        if (left <= 0) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, up->r, FCGIX_LOGNO(00170)
                          "%s: the process manager did not register the "
                          "application within %d s", up->r->filename,
                          up->wait);
            return unavailable(up->r, up->wait);
        }
        fcgix_spawn_send(up->m);
        fcgix_sb_child_wait(&sb->seq, seen, left < apr_time_from_sec(1)
                                            ? left : apr_time_from_sec(1));
    }
    return OK;
}

/* The request enters its class (counted in flight until it leaves), or
 * is turned away. */
static int admit(fcgix_upstream_t *up)
{
    request_rec *r = up->r;
    const fcgix_srv_conf_t *sc =
        ap_get_module_config(r->server->module_config, &fcgix_module);
    apr_uint32_t user_max;
    int status;

    up->wait = FCGIX_VALUE(sc->spawn_wait, FCGIX_DEFAULT_SPAWN_WAIT);
    up->deadline = apr_time_now() + apr_time_from_sec(up->wait);
    if ((status = find_class(up)) != OK) {
        return status;
    }
    /* One tenant flooding its scripts must not hold every httpd worker:
     * past its in-flight limit its requests fail fast instead of queueing
     * (other tenants' classes are untouched). */
    user_max = (apr_uint32_t)FCGIX_VALUE(sc->max_user_requests, 0);
    if (user_max
        && fcgix_class_user_inflight(up->sb, up->c->uid) >= user_max) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00177)
                      "%s: user %u already has %u requests in flight "
                      "(%s)", r->filename, (unsigned)up->c->uid, user_max,
                      fcgix_conf_name(r->server,
                                      FCGIX_NAMED_MAX_USER_REQUESTS));
        return unavailable(r, 1);
    }
    __atomic_add_fetch(&up->c->inflight, 1, __ATOMIC_SEQ_CST);
    up->admitted = 1;
    return OK;
}

static void leave(fcgix_upstream_t *up)
{
    if (up->admitted) {
        __atomic_sub_fetch(&up->c->inflight, 1, __ATOMIC_SEQ_CST);
        up->admitted = 0;
    }
}

/* Sleeps until a process is free: woken by a release or a spawn, never
 * by a timer alone. @return the process, or NULL (*status says why)
 *
 * The PM starts (waiters - idle) processes. A request is counted as a
 * waiter only while it sleeps without a process: counted while holding
 * one (between a successful take and the uncount) it would make the PM
 * start a process nobody needs. Uncounted while it looks, it can at
 * worst delay a start to the PM's next round. */
static fcgix_sb_proc_t *wait_free(fcgix_upstream_t *up, int *status)
{
    fcgix_sb_class_t *c = up->c;
    apr_int32_t me = my_pid ? my_pid : (apr_int32_t)getpid();
    fcgix_sb_proc_t *p;
    apr_time_t since = 0;
    int sent = 0;

    *status = OK;
    for (;;) {
        /* Read before looking: a release or a spawn after the look
         * changes it, and the wait below then returns at once. */
        apr_uint32_t seen = __atomic_load_n(&c->seq, __ATOMIC_SEQ_CST);
        apr_interval_time_t left;

        if ((p = fcgix_sb_child_acquire(up->sb, c, me)) != NULL) {
            break;
        }
        if (since == 0) {
            since = apr_time_now();
        }
        if (fcgix_class_in_backoff(c)) {
            fcgix_sb_wake_one(c);
            *status = fcgix_class_backing_off(up->r, c);
            return NULL;
        }
        if ((left = up->deadline - apr_time_now()) <= 0) {
            /* A wake meant for us may be lost with us: pass it on. */
            fcgix_sb_wake_one(c);
            break;
        }
        __atomic_add_fetch(&c->waiters, 1, __ATOMIC_SEQ_CST);
        /* The PM spawns for waiters on its own tick; a message makes it
         * act at once, and is worth sending only when the class has room
         * (not once per queued request on a busy class). */
        if (!sent && (c->lim.max_procs == 0
                      || c->nprocs < c->lim.max_procs)) {
            fcgix_spawn_send(up->m);
            sent = 1;
        }
        fcgix_sb_child_wait(&c->seq, seen, left < apr_time_from_sec(1)
                                           ? left : apr_time_from_sec(1));
        __atomic_sub_fetch(&c->waiters, 1, __ATOMIC_SEQ_CST);
    }
    if (since) {
        fcgix_sb_reqs_waited(&c->reqs, apr_time_now() - since);
    }
    return p;
}

/* A free process of the class, checked to still be one of it. */
static int take_process(fcgix_upstream_t *up)
{
    fcgix_sb_class_t *c = up->c;
    request_rec *r = up->r;
    int status;
    fcgix_sb_proc_t *p = wait_free(up, &status);

    if (p && (c->key != up->m->key || c->state != 1)) {
        /* The class was retired and its slot reused meanwhile: this
         * process is another program's. */
        fcgix_sb_child_release(c, p, 0, FCGIX_EXIT_NONE, 0);
        return unavailable(r, 1);
    }
    if (p == NULL && status == OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00171)
                      "%s: no process free within %d s (%u running, "
                      "max %u); %s, %s", r->filename, up->wait,
                      c->nprocs, c->lim.max_procs,
                      fcgix_conf_name(r->server, FCGIX_NAMED_SPAWN_WAIT),
                      fcgix_conf_name(r->server,
                                      FCGIX_NAMED_MAX_CLASS_PROCS));
        return unavailable(r, up->wait);
    }
    up->p = p;
    return status;
}

/* The process could not be reached, or hung up before any reply (it
 * exited since it was published, e.g. after its own request limit):
 * nothing was sent, so another one is tried; the PM takes a look. */
static void unreachable(fcgix_upstream_t *up)
{
    fcgix_sb_child_release(up->c, up->p, 0, FCGIX_EXIT_NONE, 1);
    up->p = NULL;
    up->tries++;
    up->m->type = FCGIX_PM_MSG_LOOK;
    fcgix_spawn_send(up->m);
    up->m->type = FCGIX_PM_MSG_SPAWN;
}

/* A socket made non-blocking at birth, connected to a process's socket.
 * The loop only ever uses it non-blocking (it polls itself), and the
 * connect cannot wait: the process is ours alone while we hold it (a
 * master's workers: never more connections than its slots), so its listen
 * queue has room, and a process that is gone refuses at once. A timed APR
 * connect would cost two fcntl calls per request to get there (about a
 * fifth of the system calls of a small GET on a spawned process). APR is
 * not told of O_NONBLOCK (its timeout stays -1, "blocking"): its recv and
 * sendv then return EAGAIN as with a timeout of 0. */
static apr_status_t connect_local(const char *path, apr_pool_t *p,
                                  apr_socket_t **sock)
{
    struct sockaddr_un sun;
    apr_os_sock_info_t info;
    apr_os_sock_t fd;
    apr_status_t rv;
    size_t n = strlen(path);

    if (n >= sizeof(sun.sun_path)) {
        return APR_ENAMETOOLONG;
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, n);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return errno;
    }
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
        rv = errno;
        close(fd);
        return rv;
    }
    memset(&info, 0, sizeof(info));
    info.os_sock = &fd;
    info.family = AF_UNIX;
    info.type = SOCK_STREAM;
    if ((rv = apr_os_sock_make(sock, &info, p)) != APR_SUCCESS) {
        close(fd);
    }
    return rv;
}

/* Connects to the socket of process up->p.
 * @return OK, 503 when it cannot be reached, or 500 */
static int connect_process(fcgix_upstream_t *up, fcgix_lease_t *ls)
{
    request_rec *r = up->r;
    fcgix_addr_t *addr = apr_pcalloc(r->pool, sizeof(*addr));

    addr->is_unix = 1;
    /* a worker slot of a master: the master's socket */
    addr->path = fcgix_sb_sock_path(r->pool, fcgix_spawn_ipc_dir(),
                                    up->p->sock < fcgix_sb_slots()
                                    ? (int)up->p->sock
                                    : (int)(up->p - up->sb->procs));
    addr->spec = addr->path;
    if (apr_sockaddr_info_get(&addr->sa, addr->path, APR_UNIX, 0, 0,
                              r->pool) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (connect_local(addr->path, r->pool, &ls->sock) != APR_SUCCESS) {
        ls->sock = NULL;
        return HTTP_SERVICE_UNAVAILABLE;
    }
    ls->addr = addr;
    ls->rid = 1;
    ls->process = 1;
    return OK;
}

static int lease_process(fcgix_upstream_t *up, fcgix_lease_t *ls)
{
    int status;

    if (!up->admitted && (status = admit(up)) != OK) {
        return status;
    }
    while (up->tries < MAX_UNREACHABLE) {
        if (up->p == NULL && (status = take_process(up)) != OK) {
            leave(up);
            return status;
        }
        if ((status = connect_process(up, ls)) == OK) {
            return OK;
        }
        if (status != HTTP_SERVICE_UNAVAILABLE) {
            fcgix_sb_child_release(up->c, up->p, 0, FCGIX_EXIT_NONE, 1);
            up->p = NULL;
            leave(up);
            return status;
        }
        unreachable(up);
    }
    leave(up);
    if (fcgix_class_in_backoff(up->c)) {
        return fcgix_class_backing_off(up->r, up->c);
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, up->r, FCGIX_LOGNO(00172)
                  "%s: %d processes in a row could not be reached",
                  up->r->filename, MAX_UNREACHABLE);
    return unavailable(up->r, up->wait);
}

/* ------------------------------------------------------------------ */
/* Lease and release                                                   */
/* ------------------------------------------------------------------ */

int fcgix_upstream_reserve(fcgix_upstream_t *up)
{
    int status;

    if (up->rt) {
        return OK;
    }
    if ((status = admit(up)) == OK && (status = take_process(up)) != OK) {
        leave(up);
    }
    return status;
}

int fcgix_upstream_lease(fcgix_upstream_t *up, fcgix_lease_t *ls)
{
    memset(ls, 0, sizeof(*ls));
    return up->rt ? lease_address(up, ls) : lease_process(up, ls);
}

void fcgix_upstream_release(fcgix_upstream_t *up, fcgix_lease_t *ls,
                            fcgix_lease_end_e how)
{
    apr_uint32_t retired = 0;
    apr_uint16_t retired_rid = 0;

    if (ls->ms) {
        retired = fcgix_mpx_close(
            ls->ms, fcgix_conf_abort_timeout(up->dc),
            (apr_size_t)fcgix_conf_abort_max_bytes(up->dc), ls->read_on,
            &retired_rid);
    }
    if (ls->conn) {
        fcgix_pool_release(ls->conn, how == FCGIX_LEASE_REUSE);
    }
    else if (ls->sock) {
        apr_socket_close(ls->sock);
    }
    if (up->p) {
        if (how == FCGIX_LEASE_RETRY) {
            unreachable(up);
        }
        else {
            /* A failed exchange may have left the process in any state:
             * the PM ends it rather than trust it again; and a failed
             * request is not "served": a program that fails at once
             * counts as failing to start (back-off). */
            int failed = how == FCGIX_LEASE_FAILED;
            fcgix_sb_child_release(up->c, up->p, !failed,
                                   failed ? FCGIX_EXIT_FAILED
                                          : FCGIX_EXIT_NONE, 0);
            up->p = NULL;
            leave(up);
        }
    }
    else if (how == FCGIX_LEASE_RETRY) {
        /* The same address is fine: a fresh connection is what is
         * needed. */
        up->tried = 0;
    }
    memset(ls, 0, sizeof(*ls));
    ls->retired = retired;
    ls->retired_rid = retired_rid;
}

fcgix_sb_reqs_t *fcgix_upstream_counters(const fcgix_upstream_t *up)
{
    if (up->rt) {
        return up->last_b ? &up->last_b->reqs : NULL;
    }
    return up->c ? &up->c->reqs : NULL;
}

void fcgix_upstream_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(upstream_post_config, NULL, NULL, APR_HOOK_LAST);
}
