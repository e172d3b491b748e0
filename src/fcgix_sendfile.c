/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * X-Sendfile, X-Accel-Redirect and X-Accel-Buffering (fcgix_sendfile.h).
 *
 * The application decides whether a client may have a file; httpd sends
 * it. The file is served only after the application's channel is back in
 * the pool, so a slow download holds an httpd thread, never an
 * application process. The response is built the way httpd's default
 * handler builds one (ETag, Last-Modified, ap_meets_conditions, a file
 * bucket), so the byterange filter, EnableSendfile and EnableMMAP apply
 * as they do to a static file.
 */

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <strings.h>

#include "apr_strings.h"
#include "apr_lib.h"
#include "apr_buckets.h"
#include "apr_file_io.h"

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

#include "fcgix.h"
#include "fcgix_conf.h"
#include "fcgix_sendfile.h"

#define DEFAULT_FILE_HEADER "X-Sendfile"
#define DEFAULT_URI_HEADER "X-Accel-Redirect"
#define BUFFERING_HEADER "X-Accel-Buffering"

struct fcgix_sendfile_dir_t {
    int on;                    /**< FCGIX_UNSET: Off */
    apr_array_header_t *roots; /**< const char *, absolute, no trailing /;
                                    NULL: not set here */
    const char *names[2];      /**< file header, URI header; NULL: unset */
};

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

static fcgix_sendfile_dir_t *dir_of(cmd_parms *cmd, void *dconf)
{
    fcgix_dir_conf_t *dc = dconf;

    if (dc->sendfile == NULL) {
        dc->sendfile = apr_pcalloc(cmd->pool, sizeof(*dc->sendfile));
        dc->sendfile->on = FCGIX_UNSET;
    }
    return dc->sendfile;
}

const char *fcgix_sendfile_cmd_flag(cmd_parms *cmd, void *dconf, int on)
{
    dir_of(cmd, dconf)->on = on;
    return NULL;
}

const char *fcgix_sendfile_cmd_root(cmd_parms *cmd, void *dconf,
                                    const char *arg)
{
    fcgix_sendfile_dir_t *sd = dir_of(cmd, dconf);
    char *root = ap_server_root_relative(cmd->pool, arg);
    apr_size_t n;

    if (root == NULL || root[0] != '/') {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a directory path",
                            cmd->cmd->name, arg);
    }
    n = strlen(root);
    while (n > 1 && root[n - 1] == '/') {
        root[--n] = '\0';
    }
    if (sd->roots == NULL) {
        sd->roots = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(sd->roots, const char *) = root;
    return NULL;
}

const char *fcgix_sendfile_cmd_header(cmd_parms *cmd, void *dconf,
                                      const char *arg)
{
    int which = (int)(apr_uintptr_t)cmd->info;
    const char *p;

    for (p = arg; *p; p++) {
        if (!apr_isalnum(*p) && *p != '-' && *p != '_') {
            break;
        }
    }
    if (!*arg || *p) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a header name",
                            cmd->cmd->name, arg);
    }
    dir_of(cmd, dconf)->names[which] = arg;
    return NULL;
}

fcgix_sendfile_dir_t *fcgix_sendfile_merge(apr_pool_t *p,
                                           const fcgix_sendfile_dir_t *base,
                                           const fcgix_sendfile_dir_t *add)
{
    fcgix_sendfile_dir_t *sd;
    int i;

    if (add == NULL || base == NULL) {
        return (fcgix_sendfile_dir_t *)(add ? add : base);
    }
    sd = apr_pcalloc(p, sizeof(*sd));
    sd->on = add->on != FCGIX_UNSET ? add->on : base->on;
    sd->roots = add->roots ? add->roots : base->roots;
    for (i = 0; i < 2; i++) {
        sd->names[i] = add->names[i] ? add->names[i] : base->names[i];
    }
    return sd;
}

static int sendfile_on(const fcgix_sendfile_dir_t *sd)
{
    return sd && sd->on == 1;
}

static const char *name_of(const fcgix_sendfile_dir_t *sd, int which)
{
    if (sd && sd->names[which]) {
        return sd->names[which];
    }
    return which ? DEFAULT_URI_HEADER : DEFAULT_FILE_HEADER;
}

/* ------------------------------------------------------------------ */
/* The header fields                                                   */
/* ------------------------------------------------------------------ */

void fcgix_sendfile_take(const fcgix_sendfile_dir_t *sd, apr_table_t *fields,
                         fcgix_sendfile_t *xs)
{
    const char *v;

    memset(xs, 0, sizeof(*xs));
    if ((v = apr_table_get(fields, BUFFERING_HEADER)) != NULL) {
        if (!strcasecmp(v, "no")) {
            xs->buffering = FCGIX_BUFFERING_NO;
        }
        else if (!strcasecmp(v, "yes")) {
            xs->buffering = FCGIX_BUFFERING_YES;
        }
        apr_table_unset(fields, BUFFERING_HEADER);
    }
    if (!sendfile_on(sd)) {
        return;
    }
    if ((v = apr_table_get(fields, name_of(sd, 0))) != NULL) {
        xs->file = v;
        apr_table_unset(fields, name_of(sd, 0));
    }
    if ((v = apr_table_get(fields, name_of(sd, 1))) != NULL) {
        /* Both said: the file wins, the URI is dropped all the same. */
        xs->uri = xs->file ? NULL : v;
        apr_table_unset(fields, name_of(sd, 1));
    }
    xs->app_type = apr_table_get(fields, "Content-Type") != NULL;
}

/* ------------------------------------------------------------------ */
/* X-Accel-Redirect                                                    */
/* ------------------------------------------------------------------ */

/* Fields the target's own response sets; every other field of the
 * application's (cookies, Content-Disposition, Cache-Control ...) goes
 * with the redirect in err_headers_out, which the new request shares. */
static int target_owns(const char *name)
{
    static const char *const owned[] = {
        "Content-Length", "Content-Range", "Content-Type", "ETag",
        "Last-Modified", "Accept-Ranges", "Location", NULL
    };
    int i;

    for (i = 0; owned[i]; i++) {
        if (!strcasecmp(name, owned[i])) {
            return 1;
        }
    }
    return 0;
}

static int keep_field(void *rec, const char *key, const char *val)
{
    request_rec *r = rec;

    if (!target_owns(key)) {
        apr_table_addn(r->err_headers_out, key, val);
    }
    return 1;
}

static int accel_redirect(request_rec *r, const fcgix_sendfile_dir_t *sd,
                          const char *uri)
{
    if (uri[0] != '/' || strstr(uri, "//") == uri) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00640)
                      "%s: '%.200s' is not a local URI (502)",
                      name_of(sd, 1), uri);
        return HTTP_BAD_GATEWAY;
    }
    apr_table_do(keep_field, r, r->headers_out, NULL);
    apr_table_clear(r->headers_out);
    r->status = HTTP_OK;
    r->status_line = NULL;
    /* The body went to the application; the target is fetched. */
    r->method = "GET";
    r->method_number = M_GET;
    apr_table_unset(r->headers_in, "Content-Length");
    apr_table_unset(r->headers_in, "Transfer-Encoding");
    ap_internal_redirect_handler(uri, r);
    return OK;
}

/* ------------------------------------------------------------------ */
/* X-Sendfile                                                          */
/* ------------------------------------------------------------------ */

/* A path the application may name: absolute, no ".." segment. */
static int plain_path(const char *path)
{
    const char *s = path;

    if (path[0] != '/') {
        return 0;
    }
    while ((s = strstr(s, "..")) != NULL) {
        if ((s == path || s[-1] == '/') && (s[2] == '/' || s[2] == '\0')) {
            return 0;
        }
        s += 2;
    }
    return 1;
}

static int is_under(const char *path, const char *root)
{
    apr_size_t n = strlen(root);

    if (n == 1 && root[0] == '/') {
        return 1;
    }
    return !strncmp(path, root, n) && (path[n] == '/' || path[n] == '\0');
}

/* Under a root as written (lexical), or with @p real under one with its
 * symlinks resolved too (the check that counts). */
static int under_a_root(const apr_array_header_t *roots, const char *path,
                        int real)
{
    int i;

    for (i = 0; i < roots->nelts; i++) {
        const char *root = APR_ARRAY_IDX(roots, i, const char *);
        char rbuf[PATH_MAX];

        if (real) {
            if (realpath(root, rbuf) == NULL) {
                continue;
            }
            root = rbuf;
        }
        if (is_under(path, root)) {
            return 1;
        }
    }
    return 0;
}

static const char *roots_str(request_rec *r, const apr_array_header_t *roots)
{
    return roots && roots->nelts ? apr_array_pstrcat(r->pool, roots, ' ')
                                 : "(none)";
}

static int refuse(request_rec *r, const fcgix_sendfile_dir_t *sd,
                  const char *path, const char *why)
{
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00641)
                  "%s: '%.200s' refused (403): %s; FcgixSendfileRoot %s",
                  name_of(sd, 0), path, why, roots_str(r, sd->roots));
    return HTTP_FORBIDDEN;
}

/* Opens the file the application named, if it may be served.
 * @return OK with *fd and r->finfo, or the status to answer */
static int open_checked(request_rec *r, const fcgix_sendfile_dir_t *sd,
                        const char *path, const char **real,
                        apr_file_t **fd)
{
    core_dir_config *cd = ap_get_core_module_config(r->per_dir_config);
    apr_int32_t flags = APR_FOPEN_READ | APR_FOPEN_BINARY;
    char rbuf[PATH_MAX];
    apr_status_t rv;

    if (sd->roots == NULL || sd->roots->nelts == 0) {
        return refuse(r, sd, path, "no root is allowed");
    }
    if (!plain_path(path)) {
        return refuse(r, sd, path, "not an absolute path without \"..\"");
    }
    if (!under_a_root(sd->roots, path, 0)
        && !under_a_root(sd->roots, path, 1)) {
        return refuse(r, sd, path, "outside the allowed roots");
    }
    if (realpath(path, rbuf) == NULL) {
        if (errno == ENOENT || errno == ENOTDIR) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, FCGIX_LOGNO(00642)
                          "%s: '%.200s' does not exist (404)",
                          name_of(sd, 0), path);
            return HTTP_NOT_FOUND;
        }
        return refuse(r, sd, path, apr_psprintf(r->pool, "cannot resolve "
                                                "it: %s", strerror(errno)));
    }
    if (!under_a_root(sd->roots, rbuf, 1)) {
        return refuse(r, sd, path,
                      apr_psprintf(r->pool, "it resolves to '%.200s', "
                                   "outside the allowed roots", rbuf));
    }
    *real = apr_pstrdup(r->pool, rbuf);
    flags |= AP_SENDFILE_ENABLED(cd->enable_sendfile);
    /* The name has no symlink left; one put in its place since would
     * need write access inside an allowed root. */
    rv = apr_file_open(fd, *real, flags, APR_OS_DEFAULT, r->pool);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&r->finfo, APR_FINFO_NORM, *fd);
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, FCGIX_LOGNO(00643)
                      "%s: cannot open '%.200s' (403)", name_of(sd, 0),
                      *real);
        return HTTP_FORBIDDEN;
    }
    if (r->finfo.filetype != APR_REG) {
        return refuse(r, sd, path, "not a regular file");
    }
    return OK;
}

/* Without a Content-Type from the application, the file's own, as httpd
 * would type it (a lookup that runs no handler). */
static void type_of_file(request_rec *r, const char *real)
{
    request_rec *rr = ap_sub_req_lookup_file(real, r, NULL);

    if (rr->status == HTTP_OK && rr->content_type) {
        ap_set_content_type(r, apr_pstrdup(r->pool, rr->content_type));
    }
    else {
        r->content_type = NULL;
    }
    ap_destroy_sub_req(rr);
}

static int send_file(request_rec *r, const fcgix_sendfile_dir_t *sd,
                     const fcgix_sendfile_t *xs)
{
    core_dir_config *cd = ap_get_core_module_config(r->per_dir_config);
    apr_bucket_brigade *bb;
    apr_bucket *e;
    apr_file_t *fd;
    const char *real;
    int status;

    if ((status = open_checked(r, sd, xs->file, &real, &fd)) != OK) {
        return status;
    }
    r->filename = (char *)real;
    r->status = HTTP_OK;
    r->status_line = NULL;
    if (!xs->app_type) {
        type_of_file(r, real);
    }
    /* The file's validators, not any the application sent; a Location
     * the file won over means nothing here. */
    apr_table_unset(r->headers_out, "Location");
    apr_table_unset(r->headers_out, "Content-Range");
    apr_table_unset(r->headers_out, "Content-Length");
    r->mtime = 0;
    ap_update_mtime(r, r->finfo.mtime);
    ap_set_last_modified(r);
    ap_set_etag(r);
    ap_set_accept_ranges(r);
    ap_set_content_length(r, r->finfo.size);
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    status = ap_meets_conditions(r);
    if (status == HTTP_NOT_MODIFIED) {
        r->status = HTTP_NOT_MODIFIED;
    }
    else if (status != OK) {
        return status;
    }
    else if (!r->header_only) {
        e = apr_brigade_insert_file(bb, fd, 0, r->finfo.size, r->pool);
        if (cd->enable_mmap == ENABLE_MMAP_OFF) {
            apr_bucket_file_enable_mmap(e, 0);
        }
    }
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    if (ap_pass_brigade(r->output_filters, bb) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, FCGIX_LOGNO(00644)
                      "%s: client went away while '%.200s' was sent",
                      name_of(sd, 0), real);
    }
    return OK;
}

int fcgix_sendfile_serve(request_rec *r, const fcgix_sendfile_dir_t *sd,
                         const fcgix_sendfile_t *xs)
{
    if (xs->file) {
        return send_file(r, sd, xs);
    }
    return accel_redirect(r, sd, xs->uri);
}
