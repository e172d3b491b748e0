/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_request.h"

#include "fcgix.h"
#include "fcgix_bridge.h"
#include "fcgix_conf.h"
#include "fcgix_handler.h"
#include "fcgix_upstream.h"

/*
 * A request for a configured server's path, or anything below it, belongs
 * to that server whatever handler mod_mime chose (mod_fastcgi semantics).
 * The path need not exist on disk, so core's directory walk may have split
 * it into an existing prefix and path_info: join them back and split at
 * the server's path instead.
 */
static int fcgix_fixups(request_rec *r)
{
    fcgix_server_t *srv;
    const char *full;

    if (r->filename == NULL || r->proxyreq) {
        return DECLINED;
    }
    full = (r->path_info && *r->path_info)
         ? apr_pstrcat(r->pool, r->filename, r->path_info, NULL)
         : r->filename;
    if ((srv = fcgix_conf_find_server(r->server, full)) == NULL) {
        return DECLINED;
    }
    r->filename = apr_pstrmemdup(r->pool, full, srv->path_len);
    r->path_info = apr_pstrdup(r->pool, full + srv->path_len);
    r->handler = FCGIX_HANDLER;
    ap_set_module_config(r->request_config, &fcgix_module, srv);
    return OK;
}

/*
 * An external server's path usually names no file.  Core's directory walk
 * would then stat it and lstat every parent directory to split off
 * path_info: half a dozen syscalls per request that learn nothing.  Saying
 * "a regular file" for exactly that path lets the walk merge <Directory>
 * and <Files> sections as always without touching the disk.  Paths below
 * it (path_info) and everything else are left to core.
 */
static apr_status_t fcgix_dirwalk_stat(apr_finfo_t *finfo, request_rec *r,
                                       apr_int32_t wanted)
{
    fcgix_server_t *srv;
    const char *base;

    if (!fcgix_conf_any_external() || r->filename == NULL || r->proxyreq) {
        return AP_DECLINED;
    }
    srv = fcgix_conf_find_server(r->server, r->filename);
    if (srv == NULL || srv->managed || r->filename[srv->path_len] != '\0') {
        return AP_DECLINED;
    }
    memset(finfo, 0, sizeof(*finfo));
    finfo->pool = r->pool;
    finfo->valid = (wanted & ~APR_FINFO_LINK) | APR_FINFO_TYPE;
    finfo->filetype = APR_REG;
    finfo->fname = r->filename;
    base = strrchr(r->filename, '/');
    finfo->name = base ? base + 1 : r->filename;
    return APR_SUCCESS;
}

static int is_our_handler(const char *h)
{
    return h && (!strcmp(h, FCGIX_HANDLER) || !strcmp(h, FCGIX_HANDLER_FCGID));
}

static int fcgix_content_handler(request_rec *r)
{
    fcgix_upstream_t *up;
    int status;

    if (!is_our_handler(r->handler)) {
        return DECLINED;
    }
    /* A script that is missing is a 404 there, unless a "virtual"
     * wrapper serves it. */
    if ((status = fcgix_upstream_resolve(r, NULL, &up)) != OK) {
        return status;
    }
    return fcgix_bridge_run(r, up, NULL);
}

static int fcgix_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp)
{
    (void)pconf;
    (void)plog;
    (void)ptemp;
    fcgix_conf_pre_config();
    return OK;
}

static void fcgix_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv = fcgix_upstream_child_init(pchild, s);

    if (rv != APR_SUCCESS) {
        /* Requests then fail with 503 one by one; log the cause once. */
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, FCGIX_LOGNO(00133)
                     "cannot create connection pools in this child");
    }
}

void fcgix_handler_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_child_init(fcgix_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_pre_config(fcgix_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_fixups(fcgix_fixups, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_dirwalk_stat(fcgix_dirwalk_stat, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(fcgix_content_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
