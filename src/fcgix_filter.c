/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <strings.h>

#include "apr_strings.h"
#include "apr_buckets.h"

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

#include "fcgix.h"
#include "fcgix_bridge.h"
#include "fcgix_conf.h"
#include "fcgix_conf_cmds.h"
#include "fcgix_filter.h"
#include "fcgix_upstream.h"

/* One FcgixFilter line. */
typedef struct {
    const char *name;      /* as written, for log lines */
    const char *target;    /* a server's path or a program */
    apr_off_t max_bytes;
} filter_def_t;

/* One response going through a filter. */
typedef struct {
    const filter_def_t *def;
    apr_bucket_brigade *held; /* the body so far, set aside */
    apr_off_t len;
    int done;                 /* ran, failed or stepped aside: the rest
                                 of what comes is not ours */
} filter_ctx_t;

/* ------------------------------------------------------------------ */
/* The filter                                                          */
/* ------------------------------------------------------------------ */

/* Ends the response with @p status: nothing of it has gone out, so the
 * header filter turns the error bucket into httpd's error page. */
static apr_status_t fail(ap_filter_t *f, apr_bucket_brigade *bb,
                         int status)
{
    conn_rec *c = f->r->connection;

    apr_brigade_cleanup(bb);
    APR_BRIGADE_INSERT_TAIL(bb, ap_bucket_error_create(status, NULL,
                                                       f->r->pool,
                                                       c->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(c->bucket_alloc));
    return ap_pass_brigade(f->next, bb);
}

/* The whole body is held: the application gets it as FCGI_DATA and its
 * reply goes down the chain in its place. */
static apr_status_t run(ap_filter_t *f, filter_ctx_t *ctx,
                        apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    apr_table_t *extra = apr_table_make(r->pool, 4);
    fcgix_role_t role;
    fcgix_upstream_t *up;
    int status;

    apr_table_setn(extra, "FCGI_ROLE", "FILTER");
    apr_table_setn(extra, "FCGI_DATA_LENGTH",
                   apr_off_t_toa(r->pool, ctx->len));
    /* r->mtime is what the handler said of its data (a file's mtime);
     * 0 when it said nothing. */
    apr_table_setn(extra, "FCGI_DATA_LAST_MOD",
                   apr_psprintf(r->pool, "%" APR_TIME_T_FMT,
                                r->mtime > 0 ? apr_time_sec(r->mtime) : 0));
    /* Those describe the data, not what the application makes of it. */
    apr_table_unset(r->headers_out, "Content-Length");
    apr_table_unset(r->headers_out, "ETag");
    r->clength = 0;

    memset(&role, 0, sizeof(role));
    role.extra = extra;
    role.data = ctx->held;
    role.out = f->next;
    status = fcgix_upstream_resolve(r, ctx->def->target, &up);
    if (status == OK) {
        status = fcgix_bridge_run(r, up, &role);
    }
    apr_brigade_cleanup(ctx->held);
    if (status != OK) {
        return fail(f, bb, status);
    }
    apr_brigade_cleanup(bb);
    return APR_SUCCESS;
}

static const filter_def_t *find_def(request_rec *r, const char *fname)
{
    const fcgix_srv_conf_t *sc =
        ap_get_module_config(r->server->module_config, &fcgix_module);

    return apr_hash_get(sc->filters, fname, APR_HASH_KEY_STRING);
}

/* Takes the first bucket of @p bb, a data bucket, into the held body.
 * @return OK, or the status to end the response with (logged) */
static int hold(ap_filter_t *f, filter_ctx_t *ctx, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    apr_bucket *e = APR_BRIGADE_FIRST(bb);
    apr_status_t rv;

    if (e->length == (apr_size_t)-1) {
        /* A pipe or a socket: reading gives it a length, and puts the
         * rest in a bucket of its own after it. */
        const char *data;
        apr_size_t len;
        if ((rv = apr_bucket_read(e, &data, &len, APR_BLOCK_READ))
            != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, FCGIX_LOGNO(00683)
                          "filter %s: reading the response to filter "
                          "failed", ctx->def->name);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ctx->len + (apr_off_t)e->length > ctx->def->max_bytes) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00682)
                      "filter %s: the response to filter exceeds "
                      "FcgixFilter max-bytes=%" APR_OFF_T_FMT,
                      ctx->def->name, ctx->def->max_bytes);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ctx->len += (apr_off_t)e->length;
    if ((rv = apr_bucket_setaside(e, r->pool)) != APR_SUCCESS
        && rv != APR_ENOTIMPL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, FCGIX_LOGNO(00684)
                      "filter %s: cannot keep the response to filter",
                      ctx->def->name);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    APR_BUCKET_REMOVE(e);
    APR_BRIGADE_INSERT_TAIL(ctx->held, e);
    return OK;
}

/*
 * FastCGI sends FCGI_DATA_LENGTH before the data, so the body is held
 * until EOS (file buckets stay files: a static file costs no memory
 * until it is sent), within max-bytes. FLUSH buckets are dropped: nothing
 * can go out before the application has all of it.
 */
static apr_status_t filter_out(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    filter_ctx_t *ctx = f->ctx;
    int status;

    if (ctx == NULL) {
        f->ctx = ctx = apr_pcalloc(r->pool, sizeof(*ctx));
        /* An error page, a 304 or a 206 of the handler's own is not the
         * content the filter was asked to transform. */
        if (r->status != HTTP_OK) {
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        if ((ctx->def = find_def(r, f->frec->name)) == NULL) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00681)
                          "output filter %s: no FcgixFilter defines it in "
                          "this virtual host", f->frec->name);
            ctx->done = 1;
            return fail(f, bb, HTTP_INTERNAL_SERVER_ERROR);
        }
        ctx->held = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    }
    if (ctx->done) {
        apr_brigade_cleanup(bb);
        return APR_SUCCESS;
    }
    while (!APR_BRIGADE_EMPTY(bb)) {
        apr_bucket *e = APR_BRIGADE_FIRST(bb);

        if (APR_BUCKET_IS_EOS(e)) {
            ctx->done = 1;
            return run(f, ctx, bb);
        }
        if (AP_BUCKET_IS_ERROR(e)) {
            /* The handler failed after all: its error goes on. */
            ctx->done = 1;
            apr_brigade_cleanup(ctx->held);
            return ap_pass_brigade(f->next, bb);
        }
        if (APR_BUCKET_IS_METADATA(e)) {
            apr_bucket_delete(e);
            continue;
        }
        if ((status = hold(f, ctx, bb)) != OK) {
            ctx->done = 1;
            apr_brigade_cleanup(ctx->held);
            return fail(f, bb, status);
        }
    }
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

const char *fcgix_filter_define(cmd_parms *cmd, void *dcv, int argc,
                                char *const argv[])
{
    fcgix_srv_conf_t *sc =
        ap_get_module_config(cmd->server->module_config, &fcgix_module);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);
    ap_filter_rec_t *frec;
    filter_def_t *def;
    char *key;
    int i;

    (void)dcv;
    if (err) {
        return err;
    }
    if (argc < 2) {
        return apr_psprintf(cmd->pool, "%s: NAME and an absolute path "
                            "expected", cmd->cmd->name);
    }
    def = apr_pcalloc(cmd->pool, sizeof(*def));
    def->name = argv[0];
    def->target = argv[1];
    def->max_bytes = FCGIX_FILTER_MAX_BYTES_DEFAULT;
    if (!ap_os_is_path_absolute(cmd->pool, def->target)) {
        return apr_psprintf(cmd->pool, "%s %s: '%s' is not an absolute "
                            "path", cmd->cmd->name, def->name, def->target);
    }
    for (i = 2; i < argc; i++) {
        apr_int64_t v;
        if (strncasecmp(argv[i], "max-bytes=", 10)) {
            return apr_psprintf(cmd->pool, "%s %s: unknown option '%s'",
                                cmd->cmd->name, def->name, argv[i]);
        }
        err = fcgix_conf_parse_num(cmd->pool,
                                   fcgix_conf_what(cmd, "max-bytes"),
                                   argv[i] + 10, 1, FCGIX_LIMIT_BYTES,
                                   FCGIX_UNIT_BYTES, &v);
        if (err) {
            return err;
        }
        def->max_bytes = (apr_off_t)v;
    }
    /* httpd keeps filter names in lower case. */
    key = apr_pstrdup(cmd->pool, def->name);
    ap_str_tolower(key);
    frec = ap_get_output_filter_handle(key);
    if (frec && frec->filter_func.out_func != filter_out) {
        return apr_psprintf(cmd->pool, "%s: %s is already an output filter "
                            "of httpd or of another module", cmd->cmd->name,
                            def->name);
    }
    if (apr_hash_get(sc->filters, key, APR_HASH_KEY_STRING)) {
        return apr_psprintf(cmd->pool, "%s: %s is defined twice in this "
                            "virtual host", cmd->cmd->name, def->name);
    }
    apr_hash_set(sc->filters, key, APR_HASH_KEY_STRING, def);
    /* Registrations live in the configuration's pool, as
     * mod_ext_filter's: a restart reads them anew. */
    if (frec == NULL) {
        ap_register_output_filter(key, filter_out, NULL, AP_FTYPE_RESOURCE);
    }
    return NULL;
}
