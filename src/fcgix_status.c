/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <string.h>
#include <unistd.h>

#include "apr_strings.h"
#include "apr_user.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"
#include "mod_status.h"

#include "fcgix.h"
#include "fcgix_admin.h"
#include "fcgix_conf.h"
#include "fcgix_metrics.h"
#include "fcgix_mpx.h"
#include "fcgix_pool.h"
#include "fcgix_sb.h"
#include "fcgix_spawn.h"
#include "fcgix_status.h"
#include "fcgix_upstream.h"

/* OUT_SHORT: mod_status's ?auto, "Key: value" lines only. */
typedef enum { OUT_HTML, OUT_AUTO, OUT_JSON, OUT_SHORT } out_e;

/* A consistent-enough copy: slots change while we read, never move. */
typedef struct {
    fcgix_sb_t *sb;
    apr_time_t now;
} snap_t;

static int snapshot(apr_pool_t *p, snap_t *sn)
{
    fcgix_sb_t *live = fcgix_spawn_scoreboard();
    apr_size_t size;

    sn->now = apr_time_now();
    if (live == NULL) {
        sn->sb = NULL;
        return 0;
    }
    size = sizeof(*sn->sb) + fcgix_sb_slots() * sizeof(fcgix_sb_proc_t);
    sn->sb = apr_palloc(p, size);
    memcpy(sn->sb, live, size);
    return 1;
}

static const char state_char[] = { '.', '_', 'W', 'R', 'D' };

static char proc_char(apr_uint32_t st)
{
    return st < sizeof(state_char) ? state_char[st] : '?';
}

static const char *json_str(apr_pool_t *p, const char *s)
{
    apr_size_t n = 0;
    const char *q;
    char *out, *o;

    for (q = s; *q; q++) {
        n += ((unsigned char)*q < 0x20 || *q == '"' || *q == '\\') ? 6 : 1;
    }
    out = o = apr_palloc(p, n + 3);
    *o++ = '"';
    for (q = s; *q; q++) {
        unsigned char c = (unsigned char)*q;
        if (c < 0x20 || c == '"' || c == '\\') {
            apr_snprintf(o, 7, "\\u%04x", c);
            o += 6;
        }
        else {
            *o++ = (char)c;
        }
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

static apr_int64_t secs(apr_time_t t)
{
    return (apr_int64_t)apr_time_sec(t);
}

/* ------------------------------------------------------------------ */
/* Spawned applications                                                */
/* ------------------------------------------------------------------ */

static void count_states(const fcgix_sb_t *sb, apr_uint32_t cls, int *n)
{
    apr_uint32_t i;

    memset(n, 0, 5 * sizeof(int));
    for (i = 0; i < fcgix_sb_read_hiwater(sb); i++) {
        const fcgix_sb_proc_t *p = &sb->procs[i];
        if (p->pid > 0 && p->cls == cls && p->state < 5) {
            n[p->state]++;
        }
    }
}

static const char *user_name(apr_pool_t *p, apr_uint32_t uid)
{
    char *name;

    if (apr_uid_name_get(&name, (apr_uid_t)uid, p) == APR_SUCCESS) {
        return name;
    }
    return apr_psprintf(p, "#%u", (unsigned)uid);
}

/* The class's start failure, copied: the PM may be rewriting it. */
static const char *last_error(apr_pool_t *p, const fcgix_sb_class_t *c)
{
    return apr_pstrndup(p, c->last_error, sizeof(c->last_error) - 1);
}

static void html_classes(request_rec *r, const snap_t *sn)
{
    const fcgix_sb_t *sb = sn->sb;
    int i;

    ap_rprintf(r, "<h2>Spawned applications</h2>\n<p>Process manager pid "
               "%d (start %u); %u of %u processes.</p>\n",
               (int)sb->pm_pid, sb->pm_generation, sb->total_procs,
               sb->max_procs);
    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        const fcgix_sb_class_t *c = &sb->classes[i];
        apr_uint32_t j;
        int n[5];

        if (c->state != 1) {
            continue;
        }
        count_states(sb, c->id, n);
        ap_rprintf(r, "<h3>%s</h3>\n<p>user %s (uid %u, gid %u), virtual "
                   "host %s; "
                   "%u processes (%d busy, %d idle), max %u, min %u; "
                   "%u waiting, %u in flight; %" APR_UINT64_T_FMT
                   " requests served.</p>\n",
                   ap_escape_html(r->pool, c->path),
                   ap_escape_html(r->pool, user_name(r->pool, c->uid)),
                   c->uid, c->gid,
                   ap_escape_html(r->pool,
                                  fcgix_spawn_vhost_name(r->pool, c->vhost)),
                   c->nprocs, n[FCGIX_PROC_BUSY],
                   n[FCGIX_PROC_IDLE], c->lim.max_procs, c->lim.min_procs,
                   c->waiters, c->inflight, c->requests);
        if (c->last_error[0]) {
            ap_rprintf(r, "<p class=\"err\">Could not start: %s</p>\n",
                       ap_escape_html(r->pool, last_error(r->pool, c)));
        }
        ap_rputs("<table><tr><th>Slot</th><th>Pid</th><th>State</th>"
                 "<th>Age (s)</th><th>Idle (s)</th><th>Requests</th>"
                 "<th>Busy for (s)</th></tr>\n", r);
        for (j = 0; j < fcgix_sb_read_hiwater(sb); j++) {
            const fcgix_sb_proc_t *p = &sb->procs[j];
            if (p->pid <= 0 || p->cls != c->id) {
                continue;
            }
            ap_rprintf(r, "<tr><td>%u</td><td>%d</td><td class=\"st-%c\">"
                       "%c %s</td><td>%" APR_INT64_T_FMT "</td><td>%"
                       APR_INT64_T_FMT "</td><td>%u</td><td>%s</td></tr>\n",
                       j, (int)p->pid, proc_char(p->state),
                       proc_char(p->state),
                       fcgix_sb_proc_state_str(p->state),
                       secs(sn->now - p->started),
                       secs(sn->now - p->last_active), p->requests,
                       p->state == FCGIX_PROC_BUSY
                       ? apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                                      secs(sn->now - p->busy_since))
                       : "-");
        }
        ap_rputs("</table>\n", r);
    }
}

static void text_classes(request_rec *r, const snap_t *sn)
{
    const fcgix_sb_t *sb = sn->sb;
    int i;

    ap_rprintf(r, "PMPid: %d\nProcesses: %u\nMaxProcesses: %u\n",
               (int)sb->pm_pid, sb->total_procs, sb->max_procs);
    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        const fcgix_sb_class_t *c = &sb->classes[i];
        int n[5];
        if (c->state != 1) {
            continue;
        }
        count_states(sb, c->id, n);
        ap_rprintf(r, "Class: %s user=%s uid=%u gid=%u vhost=%s processes=%u "
                   "busy=%d idle=%d waiting=%u inflight=%u requests=%"
                   APR_UINT64_T_FMT "\n", c->path,
                   user_name(r->pool, c->uid), c->uid, c->gid,
                   fcgix_spawn_vhost_name(r->pool, c->vhost),
                   c->nprocs, n[FCGIX_PROC_BUSY], n[FCGIX_PROC_IDLE],
                   c->waiters, c->inflight, c->requests);
        if (c->last_error[0]) {
            ap_rprintf(r, "ClassError: %s %s\n", c->path,
                       last_error(r->pool, c));
        }
    }
}

static void json_classes(request_rec *r, const snap_t *sn)
{
    const fcgix_sb_t *sb = sn->sb;
    int i, first = 1;

    ap_rprintf(r, "\"pm\":{\"pid\":%d,\"starts\":%u},\"processes\":%u,"
               "\"max_processes\":%u,\"classes\":[", (int)sb->pm_pid,
               sb->pm_generation, sb->total_procs, sb->max_procs);
    for (i = 0; i < FCGIX_SB_MAX_CLASSES; i++) {
        const fcgix_sb_class_t *c = &sb->classes[i];
        apr_uint32_t j;
        int pfirst = 1;
        if (c->state != 1) {
            continue;
        }
        ap_rprintf(r, "%s{\"path\":%s,\"user\":%s,\"uid\":%u,\"gid\":%u,"
                   "\"vhost\":%s,"
                   "\"processes\":%u,\"waiting\":%u,\"inflight\":%u,"
                   "\"requests\":%" APR_UINT64_T_FMT ",\"max_processes\":%u,"
                   "\"min_processes\":%u,\"last_error\":%s,\"procs\":[",
                   first ? "" : ",", json_str(r->pool, c->path),
                   json_str(r->pool, user_name(r->pool, c->uid)), c->uid,
                   c->gid,
                   json_str(r->pool,
                            fcgix_spawn_vhost_name(r->pool, c->vhost)),
                   c->nprocs, c->waiters, c->inflight,
                   c->requests, c->lim.max_procs, c->lim.min_procs,
                   json_str(r->pool, last_error(r->pool, c)));
        first = 0;
        for (j = 0; j < fcgix_sb_read_hiwater(sb); j++) {
            const fcgix_sb_proc_t *p = &sb->procs[j];
            if (p->pid <= 0 || p->cls != c->id) {
                continue;
            }
            ap_rprintf(r, "%s{\"slot\":%u,\"pid\":%d,\"state\":\"%s\","
                       "\"age\":%" APR_INT64_T_FMT ",\"idle\":%"
                       APR_INT64_T_FMT ",\"requests\":%u}",
                       pfirst ? "" : ",", j, (int)p->pid,
                       fcgix_sb_proc_state_str(p->state),
                       secs(sn->now - p->started),
                       secs(sn->now - p->last_active), p->requests);
            pfirst = 0;
        }
        ap_rputs("]}", r);
    }
    ap_rputs("]", r);
}

/* ------------------------------------------------------------------ */
/* External servers (this httpd child's pools)                         */
/* ------------------------------------------------------------------ */

typedef void addr_fn(request_rec *r, const fcgix_server_t *srv,
                     const fcgix_addr_t *a, const fcgix_pool_stats_t *ps,
                     const fcgix_mpx_stats_t *ms, int first, out_e how,
                     apr_time_t now);

static void addr_out(request_rec *r, const fcgix_server_t *srv,
                     const fcgix_addr_t *a, const fcgix_pool_stats_t *ps,
                     const fcgix_mpx_stats_t *ms, int first, out_e how,
                     apr_time_t now)
{
    apr_int64_t dis = ps->disabled_until > now
                      ? secs(ps->disabled_until - now) + 1 : 0;

    if (how == OUT_HTML) {
        ap_rprintf(r, "<tr><td>%s</td><td>%s</td><td>%u</td><td>%u</td>"
                   "<td>%u</td><td>%u</td><td>%u</td><td>%u</td><td>%u</td>"
                   "<td>%s</td><td>%s</td><td>%u/%u (max %u)</td>"
                   "<td>%s</td></tr>\n",
                   ap_escape_html(r->pool, srv->path),
                   ap_escape_html(r->pool, a->spec), ps->busy, ps->open,
                   ps->idle, ps->waiting, ps->opened, ps->reuses, ps->failures,
                   fcgix_pool_caps_str(ps->caps),
                   ps->mpxs_conns ? "yes" : "no", ms->conns, ms->streams,
                   ms->max_depth,
                   ps->draining ? "draining"
                   : ps->down ? "down (checks)"
                   : dis ? apr_psprintf(r->pool, "disabled %" APR_INT64_T_FMT
                                        " s", dis) : "ok");
    }
    else if (how == OUT_AUTO) {
        ap_rprintf(r, "Backend: %s %s inflight=%u open=%u idle=%u "
                   "waiting=%u waited=%u opened=%u reuses=%u failures=%u "
                   "mpxs=%d mpx_conns=%u mpx_streams=%u disabled=%"
                   APR_INT64_T_FMT " draining=%d down=%d\n",
                   srv->path, a->spec, ps->busy, ps->open, ps->idle,
                   ps->waiting, ps->waited, ps->opened,
                   ps->reuses, ps->failures, ps->mpxs_conns, ms->conns,
                   ms->streams, dis, ps->draining, ps->down);
    }
    else if (how == OUT_SHORT) {
        ap_rprintf(r, "FcgixBackend: %s %s inflight=%u open=%u idle=%u "
                   "failures=%u disabled=%" APR_INT64_T_FMT "\n",
                   srv->path, a->spec, ps->busy, ps->open, ps->idle,
                   ps->failures, dis);
    }
    else {
        ap_rprintf(r, "%s{\"server\":%s,\"address\":%s,\"inflight\":%u,"
                   "\"open\":%u,\"idle\":%u,\"waiting\":%u,"
                   "\"waited\":%u,\"max_open\":%d,\"opened\":%u,\"reuses\":%u,"
                   "\"failures\":%u,\"caps\":\"%s\",\"mpxs_conns\":%d,"
                   "\"max_conns\":%d,\"max_reqs\":%d,\"mpx_conns\":%u,"
                   "\"mpx_streams\":%u,\"mpx_max_depth\":%u,"
                   "\"mpx_overflows\":%u,\"disabled_for\":%"
                   APR_INT64_T_FMT ",\"draining\":%s,\"down\":%s}",
                   first ? "" : ",",
                   json_str(r->pool, srv->path),
                   json_str(r->pool, a->spec), ps->busy, ps->open,
                   ps->idle, ps->waiting, ps->waited,
                   srv->limits.max_conns, ps->opened, ps->reuses, ps->failures,
                   fcgix_pool_caps_str(ps->caps), ps->mpxs_conns,
                   ps->max_conns, ps->max_reqs, ms->conns, ms->streams,
                   ms->max_depth, ms->overflows, dis,
                   ps->draining ? "true" : "false",
                   ps->down ? "true" : "false");
    }
}

static apr_uint32_t gauge(apr_int32_t v)
{
    /* A crashed child's share stays in a sum: never show it below 0. */
    return v > 0 ? (apr_uint32_t)v : 0;
}

/* The sums over all children, when the address has a scoreboard slot
 * (what this child alone knows stays: its overflow count). */
static void shm_sums(const fcgix_sb_backend_t *b, fcgix_pool_stats_t *ps,
                     fcgix_mpx_stats_t *ms)
{
    if (b == NULL) {
        return;
    }
    ps->busy = gauge(b->inflight);
    ps->open = gauge(b->open);
    ps->idle = gauge(b->idle);
    ps->waiting = gauge(b->waiting);
    ps->opened = (apr_uint32_t)b->opened;
    ps->reuses = (apr_uint32_t)b->reuses;
    ps->failures = (apr_uint32_t)b->failures;
    ps->waited = (apr_uint32_t)b->waited;
    if (b->disabled_until > ps->disabled_until) {
        ps->disabled_until = b->disabled_until;
    }
    if (b->caps > (apr_uint32_t)ps->caps) {
        ps->caps = (fcgix_caps_state_e)b->caps;
        ps->mpxs_conns = b->mpxs_conns;
        ps->max_conns = b->max_conns;
        ps->max_reqs = b->max_reqs;
    }
    ms->conns = gauge(b->mpx_conns);
    ms->streams = gauge(b->mpx_streams);
    if (b->mpx_depth > ms->max_depth) {
        ms->max_depth = b->mpx_depth;
    }
}

static void externals(request_rec *r, out_e how, apr_time_t now)
{
    server_rec *s;
    int first = 1;

    for (s = ap_server_conf; s; s = s->next) {
        fcgix_srv_conf_t *sc =
            ap_get_module_config(s->module_config, &fcgix_module);
        int i;
        for (i = 0; i < sc->servers->nelts; i++) {
            fcgix_server_t *srv = APR_ARRAY_IDX(sc->servers, i,
                                                fcgix_server_t *);
            int k;
            /* Merged vhosts list the main server's again; show once. */
            if (s != ap_server_conf && i >= sc->servers->nelts
                - ((fcgix_srv_conf_t *)ap_get_module_config(
                       ap_server_conf->module_config,
                       &fcgix_module))->servers->nelts) {
                continue;
            }
            for (k = 0; k < srv->addrs->nelts; k++) {
                fcgix_pool_stats_t ps;
                fcgix_mpx_stats_t ms;
                fcgix_pool_t *pl;
                fcgix_mpx_group_t *g;
                if (srv->managed
                    || !fcgix_upstream_address(srv, k, &pl, &g)) {
                    break;
                }
                if (fcgix_pool_vacant(pl)) {
                    continue; /* a name's position without an address */
                }
                fcgix_pool_stats(pl, &ps);
                fcgix_mpx_stats(g, &ms);
                shm_sums(fcgix_pool_shm(pl), &ps, &ms);
                addr_out(r, srv, fcgix_pool_addr(pl), &ps, &ms, first, how,
                         now);
                first = 0;
            }
        }
    }
}

/* The external servers' table, shared by the page and mod_status. */
static void html_externals(request_rec *r, apr_time_t now)
{
    ap_rprintf(r, "<h2>External servers</h2>\n<p>Every httpd child has "
               "pools of its own; the counters are their sums (from the "
               "scoreboard; per child, here pid %d, when there is no "
               "process manager).</p>\n<table><tr><th>Server</th>"
               "<th>Address</th>"
               "<th>In flight</th><th>Open conns</th><th>Idle conns</th>"
               "<th>Waiting</th><th>Opened</th>"
               "<th>Reuses</th><th>Failures</th><th>GET_VALUES</th>"
               "<th>Multiplexes</th><th>Mpx conns/requests</th>"
               "<th>State</th></tr>\n", (int)getpid());
    externals(r, OUT_HTML, now);
    ap_rputs("</table>\n", r);
}

/* ------------------------------------------------------------------ */
/* The page                                                            */
/* ------------------------------------------------------------------ */

static const char css[] =
    "body{font-family:sans-serif;margin:1em 2em}"
    "table{border-collapse:collapse;margin-bottom:1em}"
    "th,td{border:1px solid #bbb;padding:2px 8px;text-align:left}"
    "th{background:#eee}.st-W{background:#fd8}.st-_{background:#dfd}"
    ".st-R{background:#ddd}.st-D{background:#fbb}";

static int status_handler(request_rec *r)
{
    out_e how = OUT_HTML;
    snap_t sn;

    if (!r->handler || strcmp(r->handler, FCGIX_STATUS_HANDLER)) {
        return DECLINED;
    }
    if (r->method_number == M_POST) {
        apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
        return fcgix_admin_post(r);
    }
    if (r->method_number != M_GET) {
        return DECLINED;
    }
    /* "metrics=" too: what a Prometheus scrape job's params send. */
    if (r->args && (!strcmp(r->args, "metrics")
                    || !strcmp(r->args, "metrics="))) {
        apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
        fcgix_metrics_write(r);
        return OK;
    }
    if (r->args && !strcmp(r->args, "auto")) {
        how = OUT_AUTO;
    }
    else if (r->args && !strcmp(r->args, "json")) {
        how = OUT_JSON;
    }
    snapshot(r->pool, &sn);
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    if (how == OUT_JSON) {
        ap_set_content_type(r, "application/json");
        ap_rprintf(r, "{\"version\":%s,\"child_pid\":%d,\"time\":%"
                   APR_INT64_T_FMT ",", json_str(r->pool, FCGIX_VERSION),
                   (int)getpid(), secs(sn.now));
        if (sn.sb) {
            json_classes(r, &sn);
        }
        else {
            ap_rputs("\"pm\":null,\"processes\":0,\"classes\":[]", r);
        }
        ap_rputs(",\"external\":[", r);
        externals(r, how, sn.now);
        ap_rputs("]}\n", r);
        return OK;
    }
    if (how == OUT_AUTO) {
        ap_set_content_type(r, "text/plain; charset=utf-8");
        ap_rprintf(r, "Version: %s\nChildPid: %d\n", FCGIX_VERSION,
                   (int)getpid());
        if (sn.sb) {
            text_classes(r, &sn);
        }
        externals(r, how, sn.now);
        return OK;
    }
    ap_set_content_type(r, "text/html; charset=utf-8");
    ap_rprintf(r, "<!doctype html>\n<html><head><title>mod_fcgix status"
               "</title><style>%s</style></head><body>\n<h1>mod_fcgix "
               "status</h1>\n<p>Module: %s. Server: %s. Time: %s.</p>\n",
               css, FCGIX_VERSION,
               ap_escape_html(r->pool, ap_get_server_description()),
               ap_ht_time(r->pool, sn.now, "%Y-%m-%d %H:%M:%S %Z", 0));
    if (sn.sb) {
        html_classes(r, &sn);
    }
    else {
        ap_rputs("<h2>Spawned applications</h2><p>No process manager "
                 "(no application is spawned by this server).</p>\n", r);
    }
    html_externals(r, sn.now);
    ap_rputs("<h2>Key</h2>\n<p><code>_</code> idle (ready), "
             "<code>W</code> working on a request, <code>R</code> "
             "retiring (ends when done), <code>D</code> dead (being "
             "reaped). Age: since start; Idle: since the last "
             "request.</p>\n</body></html>\n", r);
    return OK;
}

/*
 * The mod_fcgix part of mod_status's server-status: spawned classes when
 * a process manager runs, and external servers always (a site with only
 * php-fpm behind FastCgiExternalServer has no scoreboard of classes, and
 * its addresses are what its admin watches).
 */
static int status_hook(request_rec *r, int flags)
{
    snap_t sn;
    int have_sb = snapshot(r->pool, &sn);

    if (flags & AP_STATUS_SHORT) {
        if (have_sb) {
            ap_rprintf(r, "FcgixProcesses: %u\n", sn.sb->total_procs);
        }
        externals(r, OUT_SHORT, sn.now);
        return OK;
    }
    ap_rprintf(r, "<hr />\n<h2>mod_fcgix</h2>\n<p>%s</p>\n",
               FCGIX_VERSION);
    if (have_sb) {
        html_classes(r, &sn);
    }
    html_externals(r, sn.now);
    return OK;
}

/* The version joins httpd's own in the Server header only where
 * ServerTokens Full asks for components: httpd decides that. */
static int version_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s)
{
    (void)plog;
    (void)ptemp;
    (void)s;
    ap_add_version_component(pconf, FCGIX_VERSION);
    return OK;
}

void fcgix_status_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(version_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
