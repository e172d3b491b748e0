/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include "apr_strings.h"
#include "apr_lib.h"
#include "apr_network_io.h"
#include "apr_hash.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_request.h"
#include "util_script.h"

#include "fcgix.h"
#include "fcgix_addr.h"
#include "fcgix_bridge.h"
#include "fcgix_conf.h"
#include "fcgix_proxy.h"
#include "fcgix_upstream.h"

/* mod_proxy's default port of the fcgi scheme: not shown in the host. */
#define FCGI_DEFAULT_PORT 8000

const char *fcgix_proxy_parse(apr_pool_t *p, const char *handler,
                              fcgix_proxy_target_t *t)
{
    const char *url, *bar = NULL, *host_end;
    char *host, *addr, *scope;
    apr_port_t port = 0;

    memset(t, 0, sizeof(*t));
    if (!handler || strncmp(handler, "proxy:", 6)) {
        return NULL;
    }
    url = handler + 6;
    if (!strncasecmp(url, "unix:", 5) && (bar = strchr(url + 5, '|'))) {
        t->socket = apr_pstrmemdup(p, url + 5, bar - (url + 5));
        if (*t->socket != '/') {
            /* as mod_proxy: relative to DefaultRuntimeDir */
            t->socket = ap_runtime_dir_relative(p, t->socket);
        }
        url = bar + 1;
    }
    if (strncasecmp(url, "fcgi:", 5)) {
        return NULL; /* another scheme: not ours */
    }
    url += 5;
    if (t->socket && (!*url || !strcmp(url, "//"))) {
        url = "//localhost"; /* "unix:...|fcgi:" means localhost */
    }
    if (strncmp(url, "//", 2)) {
        return apr_pstrcat(p, handler, ": not fcgi://host[:port]/", NULL);
    }
    url += 2;
    host_end = url + strcspn(url, "/");
    host = apr_pstrmemdup(p, url, host_end - url);
    if (strrchr(host, '@')) {
        host = strrchr(host, '@') + 1; /* user:password is not used */
    }
    if (apr_parse_addr_port(&addr, &scope, &port, host, p) != APR_SUCCESS
        || !addr || scope) {
        return apr_pstrcat(p, handler, ": invalid host/port", NULL);
    }
    ap_str_tolower(addr);
    t->prefix = host_end;
    if (!port) {
        port = FCGI_DEFAULT_PORT;
    }
    t->host = apr_psprintf(p, strchr(addr, ':') ? "[%s]" : "%s", addr);
    if (port != FCGI_DEFAULT_PORT) {
        t->host = apr_psprintf(p, "%s:%u", t->host, (unsigned)port);
    }
    t->addr = t->socket ? apr_pstrcat(p, "unix:", t->socket, NULL)
                        : apr_psprintf(p, strchr(addr, ':') ? "[%s]:%u"
                                                           : "%s:%u",
                                       addr, (unsigned)port);
    return NULL;
}

/* The "proxy-fcgi-pathinfo" environment variable, as mod_proxy_fcgi
 * (2.4.71) reads it for a handler set by SetHandler: first-dot and
 * last-dot cut the path at the first '/' after that dot and make the rest
 * PATH_INFO; "full" walks the directories again, which leaves the plain
 * file name, no PATH_INFO and the whole URI as SCRIPT_NAME; any other
 * value makes the whole path PATH_INFO (decoded for "unescape").
 * @return the file name as SCRIPT_FILENAME shows it, NULL for the
 * proxy:fcgi:// form. */
static const char *apply_pathinfo(request_rec *r, const char *how,
                                  char *path)
{
    char *dot = NULL, *slash;

    if (!strcasecmp(how, "full")) {
        r->path_info = "";
        return r->filename;
    }
    if (!strcasecmp(how, "first-dot")) {
        dot = strchr(path, '.');
    }
    else if (!strcasecmp(how, "last-dot")) {
        dot = strrchr(path, '.');
    }
    else {
        r->path_info = apr_pstrcat(r->pool, "/", path, NULL);
        if (!strcasecmp(how, "unescape")) {
            ap_unescape_url_keep2f(r->path_info, 0);
        }
        return NULL;
    }
    if (dot && (slash = strchr(dot, '/')) != NULL) {
        r->path_info = apr_pstrdup(r->pool, slash);
        ap_unescape_url_keep2f(r->path_info, 0);
        *slash = '\0';
    }
    return NULL;
}

const char *fcgix_proxy_script_filename(request_rec *r,
                                        const fcgix_proxy_target_t *t,
                                        int keepalive)
{
    const char *full = apr_pstrcat(r->pool, t->prefix, r->filename, NULL);
    const char *how = apr_table_get(r->subprocess_env,
                                    "proxy-fcgi-pathinfo");
    /* mod_proxy joins handler and file name, then takes the one '/'
     * after the host as the separator; since 2.4.63 the path is sent as
     * it is (PR 69203: php-fpm does not decode it). */
    char *path = apr_pstrdup(r->pool, *full == '/' ? full + 1 : full);
    const char *plain = how ? apply_pathinfo(r, how, path) : NULL;

    if (!keepalive) {
        /* what mod_proxy's worker without reuse leaves for the app */
        apr_table_setn(r->subprocess_env, "proxy-nokeepalive", "1");
    }
    return plain ? plain
                 : apr_pstrcat(r->pool, "proxy:fcgi://", t->host, "/", path,
                               NULL);
}

/* ------------------------------------------------------------------ */
/* Serving the handler form                                             */

/* A handler string of the configuration, and the server it became. */
typedef struct proxy_entry_t {
    fcgix_proxy_target_t t;
    fcgix_server_t *srv;
} proxy_entry_t;

/* Per configuration, read-only once post_config is done: handler string
 * -> proxy_entry_t. NULL while mod_proxy_fcgi is loaded (the handler
 * form is then its own). */
static apr_hash_t *proxy_servers;
/* The same servers by address (unix:/path, host:port): a handler string
 * only .htaccess names goes to the server of its address. */
static apr_hash_t *proxy_addrs;

/* The real mod_proxy_fcgi, not our name record (src/names/). */
static int real_proxy_fcgi_loaded(void)
{
    const module *m;

    for (m = ap_top_module; m; m = m->next) {
        if (!strcmp(m->name, "mod_proxy_fcgi.c")
            && (m->cmds || m->register_hooks || m->create_dir_config)) {
            return 1;
        }
    }
    return 0;
}

static void add_server(apr_pool_t *p, server_rec *s, const char *handler,
                       const ap_directive_t *d)
{
    proxy_entry_t *e = apr_palloc(p, sizeof(*e));
    fcgix_proxy_target_t *t = &e->t;
    fcgix_server_t *srv;
    fcgix_addr_t *addr;
    const char *err;

    if (apr_hash_get(proxy_servers, handler, APR_HASH_KEY_STRING)) {
        return;
    }
    err = fcgix_proxy_parse(p, handler, t);
    if (!err && !t->addr) {
        return; /* proxy:http:// and the like: not FastCGI */
    }
    if (!err) {
        err = fcgix_addr_parse(p, t->addr, 0, &addr);
    }
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, FCGIX_LOGNO(00531)
                     "%s:%d: %s %s: %s; requests for it get 500",
                     d->filename, d->line_num, d->directive, handler, err);
        return;
    }
    srv = fcgix_conf_server_new(p, handler, d->directive);
    APR_ARRAY_PUSH(srv->addrs, fcgix_addr_t *) = addr;
    fcgix_conf_register_server(s, srv);
    e->srv = srv;
    apr_hash_set(proxy_servers, handler, APR_HASH_KEY_STRING, e);
    if (!apr_hash_get(proxy_addrs, t->addr, APR_HASH_KEY_STRING)) {
        apr_hash_set(proxy_addrs, t->addr, APR_HASH_KEY_STRING, e);
    }
}

/* Every SetHandler "proxy:..." and AddHandler "proxy:..." the
 * configuration holds, in any section (<IfModule> sections that were
 * read are inlined in the tree, the others are not there). */
static void scan_tree(apr_pool_t *p, server_rec *s, const ap_directive_t *d)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "SetHandler")
            || !strcasecmp(d->directive, "AddHandler")) {
            const char *args = d->args;
            char *h = ap_getword_conf(p, &args);
            if (!strncmp(h, "proxy:", 6)) {
                add_server(p, s, h, d);
            }
        }
        if (d->first_child) {
            scan_tree(p, s, d->first_child);
        }
    }
}

/* Before anything counts the servers (the upstream layer's runtime and
 * scoreboard slots in its post_config, pools in child_init). */
static int proxy_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s)
{
    (void)plog;
    (void)ptemp;
    proxy_servers = NULL;
    if (real_proxy_fcgi_loaded()) {
        return OK;
    }
    proxy_servers = apr_hash_make(pconf);
    proxy_addrs = apr_hash_make(pconf);
    scan_tree(pconf, s, ap_conftree);
    return OK;
}

/*
 * mod_proxy's handler would join the handler and the file name here; ours
 * runs first and serves the request instead (mod_proxy, if loaded
 * without mod_proxy_fcgi, could not). As mod_proxy_fcgi does, r->filename
 * becomes the proxy:fcgi:// form, which the CGI variables then carry as
 * SCRIPT_FILENAME; core's split into file and PATH_INFO stays. A handler,
 * not a fixup: mod_dir's DirectoryIndex hands the main request only the
 * handler string of its subrequest.
 */
static int proxy_handler(request_rec *r)
{
    const proxy_entry_t *e;
    fcgix_proxy_target_t t, *own = NULL;
    fcgix_upstream_t *up;
    int status;

    if (!proxy_servers || !r->handler || strncmp(r->handler, "proxy:", 6)) {
        return DECLINED;
    }
    e = apr_hash_get(proxy_servers, r->handler, APR_HASH_KEY_STRING);
    if (!e) {
        if (fcgix_proxy_parse(r->pool, r->handler, &t) || !t.addr) {
            return DECLINED;
        }
        /* Servers are made at startup: a string of .htaccess (or an
         * expression) is served by the server of its address, if the
         * configuration names that address anywhere. */
        if ((e = apr_hash_get(proxy_addrs, t.addr, APR_HASH_KEY_STRING))
            == NULL) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00532)
                          "SetHandler %s: its address is in no handler of "
                          "the server configuration, which alone makes "
                          "servers", r->handler);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        own = &t;
    }
    r->filename = (char *)fcgix_proxy_script_filename(
        r, own ? own : &e->t, e->srv->limits.keepalive);
    ap_set_module_config(r->request_config, &fcgix_module, e->srv);
    if ((status = fcgix_upstream_resolve(r, NULL, &up)) != OK) {
        return status;
    }
    return fcgix_bridge_run(r, up, NULL);
}

void fcgix_proxy_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(proxy_post_config, NULL, NULL,
                        APR_HOOK_REALLY_FIRST);
    ap_hook_handler(proxy_handler, NULL, NULL, APR_HOOK_FIRST);
}
