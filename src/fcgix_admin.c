/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <string.h>

#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"

#include "fcgix.h"
#include "fcgix_admin.h"
#include "fcgix_conf.h"
#include "fcgix_pool.h"
#include "fcgix_sb.h"
#include "fcgix_upstream.h"

/* A form is three short fields; anything bigger is not ours. */
#define ADMIN_FORM_MAX 4096

typedef struct {
    const char *action;
    const char *server;
    const char *address;
} form_t;

static int read_form(request_rec *r, form_t *f)
{
    apr_array_header_t *pairs = NULL;
    int status, i;

    memset(f, 0, sizeof(*f));
    status = ap_parse_form_data(r, NULL, &pairs, 8, ADMIN_FORM_MAX);
    if (status != OK) {
        return status;
    }
    for (i = 0; pairs && i < pairs->nelts; i++) {
        ap_form_pair_t *fp = &APR_ARRAY_IDX(pairs, i, ap_form_pair_t);
        char *v;
        apr_size_t len;
        if (apr_brigade_pflatten(fp->value, &v, &len, r->pool)
            != APR_SUCCESS) {
            return HTTP_BAD_REQUEST;
        }
        v = apr_pstrmemdup(r->pool, v, len);
        if (!strcmp(fp->name, "action")) {
            f->action = v;
        }
        else if (!strcmp(fp->name, "server")) {
            f->server = v;
        }
        else if (!strcmp(fp->name, "address")) {
            f->address = v;
        }
    }
    if (!f->action || !f->server || !f->address
        || (strcmp(f->action, "drain") && strcmp(f->action, "resume"))) {
        return HTTP_BAD_REQUEST;
    }
    return OK;
}

/* Looking for one configured address: its scoreboard slot, or NULL;
 * found says whether the address exists at all. */
typedef struct {
    const form_t *f;
    fcgix_sb_backend_t *slot;
    int found;
} find_t;

static int find_one(server_rec *vs, const fcgix_srv_conf_t *vc,
                    const fcgix_server_t *srv, void *baton)
{
    find_t *fd = baton;
    int k;

    (void)vs;
    (void)vc;
    if (srv->managed || strcmp(srv->path, fd->f->server)) {
        return OK;
    }
    for (k = 0; k < srv->addrs->nelts; k++) {
        fcgix_pool_t *pl;
        fcgix_mpx_group_t *g;
        int have = fcgix_upstream_address(srv, k, &pl, &g);
        /* A name's position is named by its current address. */
        const fcgix_addr_t *a = have && !fcgix_pool_vacant(pl)
                                ? fcgix_pool_addr(pl)
                                : APR_ARRAY_IDX(srv->addrs, k,
                                                fcgix_addr_t *);
        if (strcmp(a->spec, fd->f->address)) {
            continue;
        }
        fd->found = 1;
        if (have) {
            fd->slot = fcgix_pool_shm(pl);
        }
        return DONE;
    }
    return OK;
}

int fcgix_admin_post(request_rec *r)
{
    fcgix_sb_backend_t *b;
    find_t fd;
    form_t f;
    int status, on;

    if ((status = read_form(r, &f)) != OK) {
        return status;
    }
    memset(&fd, 0, sizeof(fd));
    fd.f = &f;
    fcgix_conf_each_server(ap_server_conf, find_one, &fd);
    if (!fd.found) {
        return HTTP_NOT_FOUND;
    }
    b = fd.slot;
    if (b == NULL) {
        /* One child's flag would drain a fraction of the traffic. */
        return HTTP_CONFLICT;
    }
    on = !strcmp(f.action, "drain");
    __atomic_store_n(&b->draining, (apr_uint32_t)on, __ATOMIC_SEQ_CST);
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, FCGIX_LOGNO(00590)
                  "%s %s: %s (status page, from %s)", f.server, f.address,
                  on ? "draining" : "drain ended", r->useragent_ip);
    ap_set_content_type(r, "text/plain; charset=utf-8");
    ap_rprintf(r, "%s %s %s\n", on ? "draining" : "resumed", f.server,
               f.address);
    return OK;
}
