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

/* The scoreboard slot of one configured address, or NULL; *found says
 * whether the address exists at all. */
static fcgix_sb_backend_t *find_slot(const form_t *f, int *found)
{
    server_rec *s;

    *found = 0;
    for (s = ap_server_conf; s; s = s->next) {
        fcgix_srv_conf_t *sc =
            ap_get_module_config(s->module_config, &fcgix_module);
        int i, k;
        for (i = 0; i < sc->servers->nelts; i++) {
            fcgix_server_t *srv = APR_ARRAY_IDX(sc->servers, i,
                                                fcgix_server_t *);
            if (srv->managed || strcmp(srv->path, f->server)) {
                continue;
            }
            for (k = 0; k < srv->addrs->nelts; k++) {
                const fcgix_addr_t *a =
                    APR_ARRAY_IDX(srv->addrs, k, fcgix_addr_t *);
                fcgix_pool_t *pl;
                fcgix_mpx_group_t *g;
                if (strcmp(a->spec, f->address)) {
                    continue;
                }
                *found = 1;
                if (fcgix_upstream_address(srv, k, &pl, &g)) {
                    return fcgix_pool_shm(pl);
                }
                return NULL;
            }
        }
    }
    return NULL;
}

int fcgix_admin_post(request_rec *r)
{
    fcgix_sb_backend_t *b;
    form_t f;
    int status, found, on;

    if ((status = read_form(r, &f)) != OK) {
        return status;
    }
    b = find_slot(&f, &found);
    if (!found) {
        return HTTP_NOT_FOUND;
    }
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
