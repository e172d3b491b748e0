/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include "apr_strings.h"
#include "apr_lib.h"
#include "apr_file_info.h"

#include "httpd.h"
#include "util_script.h"

#include "fcgix.h"
#include "fcgix_env.h"
#include "fcgix_php.h"
#include "fcgix_proto.h"

/* Multiple of 8, so only the last PARAMS record can need padding. */
#define PARAMS_CHUNK 65528u

static const char zero_pad[8];

static void pass_header(request_rec *r, const char *name)
{
    const char *v;
    char *var, *p;

    if (name[0] == '!') {
        /* FcgidPassHeader: the bare name as well. */
        name++;
        if ((v = apr_table_get(r->headers_in, name)) != NULL) {
            apr_table_setn(r->subprocess_env, name, v);
        }
    }
    if ((v = apr_table_get(r->headers_in, name)) == NULL) {
        return;
    }
    var = apr_pstrcat(r->pool, "HTTP_", name, NULL);
    for (p = var + 5; *p; p++) {
        *p = apr_isalnum(*p) ? apr_toupper(*p) : '_';
    }
    apr_table_setn(r->subprocess_env, var, v);
}

static void pass_headers(request_rec *r, const apr_array_header_t *names)
{
    int i;

    for (i = 0; names && i < names->nelts; i++) {
        pass_header(r, APR_ARRAY_IDX(names, i, const char *));
    }
}

static int set_var(void *table, const char *key, const char *value)
{
    apr_table_setn(table, key, value);
    return 1;
}

static char *put_record(char *p, apr_byte_t type, apr_uint16_t rid,
                        const char *content, apr_size_t clen)
{
    apr_byte_t pad = fcgix_proto_rec_header((uint8_t *)p, type, rid,
                                            (uint16_t)clen);
    p += FCGIX_HEADER_LEN;
    if (clen) {
        memcpy(p, content, clen);
        p += clen;
    }
    memcpy(p, zero_pad, pad);
    return p + pad;
}

/* The variables the application gets, in a table of the request's
 * (a private copy for an authorizer, whose role variables never reach
 * r->subprocess_env). */
static apr_table_t *collect_vars(request_rec *r,
                                 const apr_array_header_t *own_headers,
                                 const fcgix_dir_conf_t *dc,
                                 const fcgix_env_opts_t *opts)
{
    apr_table_t *saved = r->subprocess_env;
    apr_table_t *vars;

    if (opts->extra) {
        r->subprocess_env = apr_table_copy(r->pool, saved);
    }
    ap_add_common_vars(r);
    ap_add_cgi_vars(r);
    pass_headers(r, own_headers);
    pass_headers(r, dc->pass_headers);
    if (FCGIX_VALUE(((const fcgix_srv_conf_t *)ap_get_module_config(
                        r->server->module_config, &fcgix_module))
                        ->fix_pathinfo, 0)) {
        /* FcgidFixPathinfo: what PHP's cgi.fix_pathinfo=1 expects. */
        const char *root = apr_table_get(r->subprocess_env, "DOCUMENT_ROOT");
        const char *name = apr_table_get(r->subprocess_env, "SCRIPT_NAME");
        char *merged;
        if (root && name && apr_filepath_merge(&merged, root, name, 0,
                                               r->pool) == APR_SUCCESS) {
            apr_table_setn(r->subprocess_env, "SCRIPT_NAME", merged);
        }
    }
    vars = r->subprocess_env;
    if (opts->extra) {
        r->subprocess_env = saved;
        /* An authorizer sees the request but not its body. */
        apr_table_unset(vars, "CONTENT_LENGTH");
        apr_table_do(set_var, vars, opts->extra, NULL);
    }
    if (opts->content_length >= 0) {
        /* The application reads a plain body of this length, not the
         * client's chunked framing. */
        apr_table_setn(vars, "CONTENT_LENGTH",
                       apr_off_t_toa(r->pool, opts->content_length));
        apr_table_unset(vars, "HTTP_TRANSFER_ENCODING");
    }
    fcgix_php_env(r, dc->php, vars);
    return vars;
}

/* Lengths of up to this many variables are kept on the stack. */
#define LENS_ON_STACK 64

/* The pairs of @p elts, whose lengths @p lens holds, from @p out on. */
static uint8_t *put_pairs(uint8_t *out, const apr_table_entry_t *elts,
                          int nelts, const apr_size_t *lens)
{
    int i;

    for (i = 0; i < nelts; i++) {
        if (elts[i].key && *elts[i].key) {
            out = fcgix_proto_nv_put(out, elts[i].key, lens[2 * i],
                                     elts[i].val, lens[2 * i + 1]);
        }
    }
    return out;
}

/*
 * BEGIN_REQUEST, the PARAMS of @p vars, their end and, without a body,
 * the empty STDIN, in one buffer. Each length is measured once, and an
 * environment that fits one record (all but the rarest) is encoded in
 * place behind its header rather than copied into it.
 */
static apr_status_t encode(request_rec *r, const apr_table_t *vars,
                           const fcgix_env_opts_t *opts, char **out,
                           apr_size_t *out_len)
{
    const apr_array_header_t *arr = apr_table_elts(vars);
    const apr_table_entry_t *elts = (const apr_table_entry_t *)arr->elts;
    apr_size_t stack_lens[2 * LENS_ON_STACK], *lens = stack_lens;
    apr_size_t env_len = 0, nrec, cap;
    apr_uint16_t rid = opts->request_id;
    fcgix_begin_t begin;
    char *buf, *p;
    int i;

    if (arr->nelts > LENS_ON_STACK) {
        lens = apr_palloc(r->pool, 2 * sizeof(*lens) * arr->nelts);
    }
    for (i = 0; i < arr->nelts; i++) {
        apr_size_t n;
        if (!elts[i].key || !*elts[i].key) {
            continue;
        }
        lens[2 * i] = strlen(elts[i].key);
        lens[2 * i + 1] = elts[i].val ? strlen(elts[i].val) : 0;
        n = fcgix_proto_nv_len(lens[2 * i], lens[2 * i + 1]);
        /* Half the address space: the records framing it must fit too. */
        if (n == 0 || n > APR_SIZE_MAX / 2 - env_len) {
            return APR_EINVAL;
        }
        env_len += n;
    }
    nrec = (env_len + PARAMS_CHUNK - 1) / PARAMS_CHUNK;
    cap = 2 * FCGIX_HEADER_LEN                     /* BEGIN_REQUEST */
        + env_len + nrec * (FCGIX_HEADER_LEN + 7)  /* PARAMS */
        + 2 * FCGIX_HEADER_LEN;                    /* empty PARAMS, STDIN */
    buf = p = apr_palloc(r->pool, cap);

    begin.role = opts->role;
    begin.flags = opts->keep_conn ? FCGIX_KEEP_CONN : 0;
    fcgix_proto_rec_header((uint8_t *)p, FCGIX_BEGIN_REQUEST, rid, 8);
    fcgix_proto_begin_pack((uint8_t *)p + FCGIX_HEADER_LEN, &begin);
    p += 2 * FCGIX_HEADER_LEN;

    if (nrec == 1) {
        apr_byte_t pad = fcgix_proto_rec_header((uint8_t *)p, FCGIX_PARAMS,
                                                rid, (uint16_t)env_len);
        p = (char *)put_pairs((uint8_t *)p + FCGIX_HEADER_LEN, elts,
                              arr->nelts, lens);
        memcpy(p, zero_pad, pad);
        p += pad;
    }
    else if (nrec > 1) {
        /* Pairs may span records: encoded whole first, then cut. */
        char *env = apr_palloc(r->pool, env_len);
        apr_size_t off;

        put_pairs((uint8_t *)env, elts, arr->nelts, lens);
        for (off = 0; off < env_len; off += PARAMS_CHUNK) {
            apr_size_t n = env_len - off;
            if (n > PARAMS_CHUNK) {
                n = PARAMS_CHUNK;
            }
            p = put_record(p, FCGIX_PARAMS, rid, env + off, n);
        }
    }
    p = put_record(p, FCGIX_PARAMS, rid, NULL, 0);
    if (opts->no_body) {
        p = put_record(p, FCGIX_STDIN, rid, NULL, 0);
    }
    *out = buf;
    *out_len = (apr_size_t)(p - buf);
    return APR_SUCCESS;
}

apr_status_t fcgix_env_build(request_rec *r,
                             const apr_array_header_t *own_headers,
                             const fcgix_dir_conf_t *dc,
                             const fcgix_env_opts_t *opts, char **out,
                             apr_size_t *out_len)
{
    return encode(r, collect_vars(r, own_headers, dc, opts), opts, out,
                  out_len);
}
