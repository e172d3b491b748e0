/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include "apr_strings.h"
#include "apr_buckets.h"
#include "apr_file_io.h"

#include "httpd.h"
#include "http_protocol.h"
#include "util_filter.h"

#include "fcgix.h"
#include "fcgix_body.h"

#define SPOOL_READ 65536

static apr_status_t open_tempfile(request_rec *r, apr_file_t **f)
{
    const char *dir = NULL, *name = NULL;
    char *tmpl;
    apr_status_t rv;

    if ((rv = apr_temp_dir_get(&dir, r->pool)) != APR_SUCCESS) {
        return rv;
    }
    tmpl = apr_pstrcat(r->pool, dir, "/fcgix.body.XXXXXX", NULL);
    rv = apr_file_mktemp(f, tmpl,
                         APR_FOPEN_CREATE | APR_FOPEN_READ
                         | APR_FOPEN_WRITE | APR_FOPEN_EXCL
                         | APR_FOPEN_BUFFERED, r->pool);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* Nameless from the start: nobody can open a body being uploaded,
     * and a crash leaves nothing behind. */
    if ((rv = apr_file_name_get(&name, *f)) != APR_SUCCESS
        || (rv = apr_file_remove(name, r->pool)) != APR_SUCCESS) {
        apr_file_close(*f);
        *f = NULL;
    }
    return rv;
}

apr_status_t fcgix_body_read(request_rec *r, apr_bucket_brigade *bb,
                             apr_size_t max, fcgix_body_fn *fn, void *ctx,
                             int *eos, int *client_err)
{
    apr_bucket *e;
    apr_status_t rv;

    rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                        APR_BLOCK_READ, max);
    if (rv != APR_SUCCESS) {
        *client_err = 1;
        return rv;
    }
    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb);
         e = APR_BUCKET_NEXT(e)) {
        const char *data;
        apr_size_t len;

        if (APR_BUCKET_IS_EOS(e)) {
            *eos = 1;
            break;
        }
        if (APR_BUCKET_IS_METADATA(e)) {
            continue;
        }
        if ((rv = apr_bucket_read(e, &data, &len, APR_BLOCK_READ))
            != APR_SUCCESS) {
            *client_err = 1;
            return rv;
        }
        if (len && (rv = fn(ctx, data, len)) != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

typedef struct {
    request_rec *r;
    fcgix_spool_t *sp;
    apr_off_t max_len, max_mem, mem_len;
    const char **where;
} spool_ctx_t;

static apr_status_t spool_piece(void *ctxv, const char *data,
                                apr_size_t len)
{
    spool_ctx_t *x = ctxv;
    fcgix_spool_t *sp = x->sp;
    apr_status_t rv;

    if (x->max_len > 0 && sp->total + (apr_off_t)len > x->max_len) {
        return FCGIX_BODY_TOO_LARGE;
    }
    sp->total += len;
    if (sp->file == NULL && x->mem_len + (apr_off_t)len <= x->max_mem) {
        x->mem_len += len;
        return apr_brigade_write(sp->mem, NULL, NULL, data, len);
    }
    if (sp->file == NULL
        && (rv = open_tempfile(x->r, &sp->file)) != APR_SUCCESS) {
        *x->where = "tempfile";
        return rv;
    }
    rv = apr_file_write_full(sp->file, data, len, NULL);
    sp->file_len += len;
    if (rv != APR_SUCCESS) {
        *x->where = "tempfile";
    }
    return rv;
}

apr_status_t fcgix_body_spool(request_rec *r, apr_off_t max_len,
                              apr_off_t max_mem, fcgix_spool_t **out,
                              const char **where)
{
    conn_rec *c = r->connection;
    fcgix_spool_t *sp = apr_pcalloc(r->pool, sizeof(*sp));
    apr_bucket_brigade *in = apr_brigade_create(r->pool, c->bucket_alloc);
    spool_ctx_t x;
    int seen_eos = 0, client_err = 0;
    apr_status_t rv;

    *where = NULL;
    sp->mem = apr_brigade_create(r->pool, c->bucket_alloc);
    x.r = r;
    x.sp = sp;
    x.max_len = max_len;
    x.max_mem = max_mem;
    x.mem_len = 0;
    x.where = where;
    while (!seen_eos) {
        rv = fcgix_body_read(r, in, SPOOL_READ, spool_piece, &x, &seen_eos,
                             &client_err);
        apr_brigade_cleanup(in);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    if (sp->file) {
        apr_off_t zero = 0;
        if ((rv = apr_file_flush(sp->file)) != APR_SUCCESS
            || (rv = apr_file_seek(sp->file, APR_SET, &zero))
               != APR_SUCCESS) {
            *where = "tempfile";
            return rv;
        }
    }
    *out = sp;
    return APR_SUCCESS;
}
