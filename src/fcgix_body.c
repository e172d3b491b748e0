/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include "apr_strings.h"
#include "apr_buckets.h"
#include "apr_file_io.h"

#include "httpd.h"
#include "http_core.h"
#include "http_protocol.h"
#include "mod_core.h"
#include "util_filter.h"

#include "fcgix.h"
#include "fcgix_body.h"

#define SPOOL_READ 65536
/* The largest single read of the client socket on the fast path. */
#define FAST_READ (256 * 1024)

static ap_filter_rec_t *fast_in_handle;
static APR_OPTIONAL_FN_TYPE(ap_logio_add_bytes_in) *logio_add_in;

/* The connection's FCGIX_BODY_IN: which request it reads for, if any. */
typedef struct {
    request_rec *r;
} fast_ctx_t;

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

/*
 * The core input filter under @p f, if nothing else is in between but
 * mod_logio's counter (compiled into Debian's httpd), whose count the
 * large reads keep up through its own function (*logio set).
 */
static ap_filter_t *plain_core(ap_filter_t *next, int *logio)
{
    *logio = 0;
    if (next && logio_add_in
        && strcmp(next->frec->name, "log_input_output") == 0) {
        *logio = 1;
        next = next->next;
    }
    if (next == NULL || next->frec != ap_core_input_filter_handle
        || next->next != NULL) {
        return NULL;
    }
    return next;
}

/*
 * A connection filter under mod_reqtimeout's (which still sets the socket
 * timeout before each read and counts what it returns against its
 * minimum rate) and over the core's, on for one request at a time. That
 * request's HTTP_IN has already cut readbytes to what is left of the
 * Content-Length, so a read here never takes a byte of the next pipelined
 * request. What the core holds already (read with the headers) is taken
 * through it without touching the socket; once it holds nothing, one
 * recv() of up to readbytes replaces the core's 8000-byte socket bucket
 * reads, under the socket's timeout as the core's would be. Every other
 * case goes down the chain as it is.
 */
static apr_status_t fast_in(ap_filter_t *f, apr_bucket_brigade *bb,
                            ap_input_mode_t mode, apr_read_type_e block,
                            apr_off_t readbytes)
{
    fast_ctx_t *x = f->ctx;
    ap_filter_t *core;
    core_net_rec *net;
    apr_bucket *e;
    apr_off_t held = 0;
    apr_size_t n;
    char *buf;
    int logio;
    apr_status_t rv;

    if (x->r == NULL || mode != AP_MODE_READBYTES
        || block != APR_BLOCK_READ || readbytes <= 0
        || (core = plain_core(f->next, &logio)) == NULL
        || (net = core->ctx) == NULL || net->in_ctx == NULL
        || net->in_ctx->b == NULL) {
        return ap_get_brigade(f->next, bb, mode, block, readbytes);
    }
    for (e = APR_BRIGADE_FIRST(net->in_ctx->b);
         e != APR_BRIGADE_SENTINEL(net->in_ctx->b) && !APR_BUCKET_IS_SOCKET(e);
         e = APR_BUCKET_NEXT(e)) {
        if (e->length == (apr_size_t)-1) {
            return ap_get_brigade(f->next, bb, mode, block, readbytes);
        }
        held += (apr_off_t)e->length;
    }
    if (held > 0 || e == APR_BRIGADE_SENTINEL(net->in_ctx->b)) {
        /* No more than the core holds: it need not read the socket. */
        return ap_get_brigade(f->next, bb, mode, block,
                              held > 0 && held < readbytes ? held
                                                           : readbytes);
    }
    n = readbytes > FAST_READ ? FAST_READ : (apr_size_t)readbytes;
    buf = apr_bucket_alloc(n, f->c->bucket_alloc);
    rv = apr_socket_recv(e->data, buf, &n);
    if (rv == APR_SUCCESS && n > 0) {
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_heap_create(
                                        buf, n, apr_bucket_free,
                                        f->c->bucket_alloc));
        if (logio) {
            logio_add_in(f->c, (apr_off_t)n);
        }
        return APR_SUCCESS;
    }
    apr_bucket_free(buf);
    if (rv == APR_EOF || rv == APR_SUCCESS) {
        /* The client closed: the core reads the same end and says EOS. */
        return ap_get_brigade(f->next, bb, mode, block, readbytes);
    }
    return rv;
}

static void retrieve_fns(void)
{
    logio_add_in = APR_RETRIEVE_OPTIONAL_FN(ap_logio_add_bytes_in);
}

void fcgix_body_register_hooks(apr_pool_t *p)
{
    (void)p;
    /* Under mod_reqtimeout's (CONNECTION + 8), over the core's. */
    fast_in_handle = ap_register_input_filter("FCGIX_BODY_IN", fast_in, NULL,
                                              AP_FTYPE_CONNECTION + 9);
    ap_hook_optional_fn_retrieve(retrieve_fns, NULL, NULL, APR_HOOK_MIDDLE);
}

static apr_status_t fast_off(void *xv)
{
    ((fast_ctx_t *)xv)->r = NULL;
    return APR_SUCCESS;
}

/* HTTP_IN right over the connection's filters, which are, down to
 * @p mine, mod_reqtimeout's and mod_logio's at most (both see what
 * fast_in() returns); under it, plain_core(). */
static int chain_plain(request_rec *r, ap_filter_t *mine)
{
    conn_rec *c = r->connection;
    ap_filter_t *f, *prev = NULL;
    int logio;

    for (f = r->input_filters; f && f != c->input_filters; f = f->next) {
        prev = f;
    }
    if (f == NULL || prev == NULL
        || prev->frec != ap_http_input_filter_handle) {
        return 0;
    }
    for (; f != mine; f = f->next) {
        if (f == NULL || (strcmp(f->frec->name, "reqtimeout") != 0
                          && strcmp(f->frec->name, "log_input_output") != 0)) {
            return 0;
        }
    }
    return plain_core(mine->next, &logio) != NULL;
}

int fcgix_body_fast(request_rec *r)
{
    conn_rec *c = r->connection;
    ap_filter_t *f;
    fast_ctx_t *x;

    if (r->proto_num >= HTTP_VERSION(2, 0) || r->main
        || fast_in_handle == NULL) {
        return 0;
    }
    for (f = c->input_filters; f && f->frec != fast_in_handle; f = f->next) {
    }
    if (f == NULL) {
        x = apr_pcalloc(c->pool, sizeof(*x));
        /* With r, a filter that becomes the connection's first is linked
         * into r's chain too. */
        if ((f = ap_add_input_filter_handle(fast_in_handle, x, r, c)) == NULL) {
            return 0;
        }
    }
    x = f->ctx;
    if (x->r == r) {
        return 1;
    }
    if (!chain_plain(r, f)) {
        return 0;
    }
    x->r = r;
    apr_pool_cleanup_register(r->pool, x, fast_off, apr_pool_cleanup_null);
    return 1;
}
