/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * libFuzzer target for the environment encoder (src/fcgix_env.c, included
 * whole): hostile variable names and values, request headers passed with
 * FcgidPassHeader / -pass-header, paths merged for FcgidFixPathinfo, the
 * authorizer's extra variables, any request id and role; values large
 * enough to span several PARAMS records.
 *
 * httpd's own variable builders (ap_add_common_vars, ap_add_cgi_vars) are
 * stubs that copy the fuzzed variables in: what httpd itself derives from
 * a request is not covered, the encoding of whatever it derives is. The
 * output is read back with the application side of the L0 reader and must
 * be: BEGIN_REQUEST with the id, role and keep-conn flag asked for; the
 * variables in table order, byte for byte, in PARAMS records of at most
 * 65535 bytes; the empty PARAMS; the empty STDIN exactly when there is no
 * body; 8-byte aligned records, nothing after. An authorizer's variables
 * never reach r->subprocess_env, and its copy has no CONTENT_LENGTH.
 *
 * Input: byte 0 flags, bytes 1-2 request id, then items of one type
 * byte, a name length byte, a 2-byte value length, a repeat byte, name,
 * value (the value is repeated to reach large sizes).
 */
#include <stdint.h>
#include <stdlib.h>

#include "apr_lib.h"

#include "../../src/fcgix_env.c"

#include "fuzz_check.h"

module AP_MODULE_DECLARE_DATA fcgix_module;

/* What the stubs hand httpd's builders: variables as httpd would set. */
static apr_table_t *common_vars, *cgi_vars;

AP_DECLARE(void) ap_add_common_vars(request_rec *r)
{
    apr_table_overlap(r->subprocess_env, common_vars, APR_OVERLAP_TABLES_SET);
}

AP_DECLARE(void) ap_add_cgi_vars(request_rec *r)
{
    apr_table_overlap(r->subprocess_env, cgi_vars, APR_OVERLAP_TABLES_SET);
}

/* php_value & co. (src/fcgix_php.c) add nothing here: their own quoting
 * is not this target's. */
void fcgix_php_env(request_rec *r, const fcgix_php_dir_t *php,
                   apr_table_t *vars)
{
    (void)r;
    (void)php;
    (void)vars;
}

typedef struct {
    const uint8_t *p;
    size_t len;
} cursor_t;

static const char *take(apr_pool_t *p, cursor_t *c, size_t n, int rep)
{
    char *s, *q;
    size_t i;

    n = n > c->len ? c->len : n;
    s = q = apr_palloc(p, n * (size_t)rep + 1);
    for (i = 0; i < (size_t)rep; i++) {
        memcpy(q, c->p, n);
        q += n;
    }
    *q = '\0';
    c->p += n;
    c->len -= n;
    /* A C string, as every table entry is. */
    return s;
}

/* Turns the input's items into request headers and variables. */
static void items(apr_pool_t *p, cursor_t *c, request_rec *r,
                  apr_array_header_t *pass, apr_table_t *extra)
{
    while (c->len >= 5) {
        uint8_t kind = c->p[0], nlen = c->p[1];
        size_t vlen = (size_t)c->p[2] << 8 | c->p[3];
        int rep = 1 + (c->p[4] & 31);
        const char *name, *value;

        c->p += 5;
        c->len -= 5;
        name = take(p, c, nlen, 1);
        value = take(p, c, vlen, rep);
        switch (kind & 7) {
        case 0:
            apr_table_add(common_vars, name, value);
            break;
        case 1:
            apr_table_set(cgi_vars, name, value);
            break;
        case 2:
            apr_table_add(r->headers_in, name, value);
            break;
        case 3:
            /* "!Name" also passes the bare name (FcgidPassHeader). */
            APR_ARRAY_PUSH(pass, const char *) =
                (kind & 8) ? apr_pstrcat(p, "!", name, NULL) : name;
            apr_table_add(r->headers_in, name, value);
            break;
        case 4:
            apr_table_set(extra, name, value);
            break;
        case 5:
            apr_table_set(cgi_vars, "SCRIPT_NAME", value);
            break;
        case 6:
            apr_table_set(common_vars, "DOCUMENT_ROOT", value);
            break;
        default:
            apr_table_set(r->subprocess_env, name, value);
        }
    }
}

typedef struct {
    const uint8_t *params;
    size_t len, pos;
    int n;
} walk_t;

/* Each variable must come out next, byte for byte. */
static int next_var(void *data, const char *k, const char *v)
{
    walk_t *w = data;
    fcgix_nv_t nv;
    size_t used;

    if (!k || !*k) {
        return 1;
    }
    v = v ? v : "";
    CHECK(fcgix_proto_nv_decode(w->params + w->pos, w->len - w->pos, &nv,
                                &used) == FCGIX_OK);
    CHECK(nv.name_len == strlen(k) && !memcmp(nv.name, k, nv.name_len));
    CHECK(nv.value_len == strlen(v) && !memcmp(nv.value, v, nv.value_len));
    w->pos += used;
    w->n++;
    return 1;
}

static int extra_in(void *data, const char *k, const char *v)
{
    const char *got;

    /* A body length we send wins over one of the authorizer's (it has
     * none in practice: fcgix_authz.c sets the role and the names). */
    if (!*k || !strcasecmp(k, "CONTENT_LENGTH")) {
        return 1;
    }
    got = apr_table_get(data, k);
    CHECK(got && !strcmp(got, v));
    return 1;
}

/* An authorizer's copy: whole pairs, its variables last set, no body
 * length unless we send one (or it is one of them). */
static void check_copy(apr_pool_t *p, walk_t *w, const fcgix_env_opts_t *o)
{
    apr_table_t *got = apr_table_make(p, 8);

    while (w->pos < w->len) {
        fcgix_nv_t nv;
        size_t used;

        CHECK(fcgix_proto_nv_decode(w->params + w->pos, w->len - w->pos,
                                    &nv, &used) == FCGIX_OK);
        apr_table_setn(got, apr_pstrmemdup(p, (const char *)nv.name,
                                           nv.name_len),
                       apr_pstrmemdup(p, (const char *)nv.value,
                                      nv.value_len));
        w->pos += used;
    }
    CHECK(o->content_length >= 0 || apr_table_get(o->extra, "CONTENT_LENGTH")
          || !apr_table_get(got, "CONTENT_LENGTH"));
    apr_table_do(extra_in, got, o->extra, NULL);
}

static void check_output(apr_pool_t *p, const char *out, size_t len,
                         const fcgix_env_opts_t *o, const apr_table_t *vars)
{
    fcgix_reader_t rd;
    uint8_t *params = apr_palloc(p, len + 1);
    size_t off = 0, plen = 0;
    int begun = 0, params_end = 0, stdin_end = 0;
    walk_t w;

    CHECK(len % 8 == 0);
    fcgix_reader_init(&rd, FCGIX_READ_FROM_SERVER);
    while (off < len) {
        fcgix_event_t ev;
        size_t used = 0;

        CHECK(fcgix_reader_feed(&rd, (const uint8_t *)out + off, len - off,
                                &used, &ev) == FCGIX_OK);
        off += used;
        CHECK(ev.request_id == o->request_id && !stdin_end);
        if (!begun) {
            CHECK(ev.kind == FCGIX_EV_BEGIN_REQUEST);
            CHECK(ev.begin.role == o->role);
            CHECK(ev.begin.flags == (o->keep_conn ? FCGIX_KEEP_CONN : 0));
            begun = 1;
            continue;
        }
        CHECK(ev.kind == FCGIX_EV_STREAM);
        if (!params_end) {
            CHECK(ev.type == FCGIX_PARAMS);
            memcpy(params + plen, ev.data, ev.len);
            plen += ev.len;
            params_end = ev.len == 0;
            continue;
        }
        CHECK(ev.type == FCGIX_STDIN && ev.len == 0 && o->no_body);
        stdin_end = 1;
    }
    CHECK(fcgix_reader_idle(&rd) && params_end);
    CHECK(stdin_end == !!o->no_body);
    w.params = params;
    w.len = plen;
    w.pos = 0;
    w.n = 0;
    if (vars == NULL) {
        check_copy(p, &w, o);
        return;
    }
    apr_table_do(next_var, &w, vars, NULL);
    CHECK(w.pos == plen);
}

static int same(void *data, const char *k, const char *v)
{
    const char *mine = apr_table_get(data, k);

    CHECK(mine && !strcmp(mine, v));
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static apr_pool_t *root;
    static void *confv[1];
    apr_pool_t *p;
    request_rec r;
    server_rec s;
    fcgix_srv_conf_t sc;
    fcgix_server_t srv;
    fcgix_dir_conf_t dc;
    fcgix_env_opts_t o;
    apr_table_t *extra, *before = NULL;
    cursor_t c;
    char *out;
    apr_size_t out_len;

    if (size < 3) {
        return 0;
    }
    if (root == NULL) {
        apr_initialize();
        apr_pool_create(&root, NULL);
    }
    apr_pool_create(&p, root);
    memset(&r, 0, sizeof(r));
    memset(&s, 0, sizeof(s));
    memset(&sc, 0, sizeof(sc));
    memset(&srv, 0, sizeof(srv));
    memset(&dc, 0, sizeof(dc));
    memset(&o, 0, sizeof(o));
    r.pool = p;
    r.server = &s;
    r.headers_in = apr_table_make(p, 8);
    r.subprocess_env = apr_table_make(p, 8);
    s.module_config = (struct ap_conf_vector_t *)confv;
    confv[0] = &sc;
    sc.fix_pathinfo = (data[0] & 0x40) ? 1 : FCGIX_UNSET;
    srv.pass_headers = apr_array_make(p, 2, sizeof(const char *));
    dc.pass_headers = apr_array_make(p, 2, sizeof(const char *));
    common_vars = apr_table_make(p, 8);
    cgi_vars = apr_table_make(p, 8);
    extra = apr_table_make(p, 4);
    /* 0 is the management id: no request is ever given it. */
    o.request_id = (apr_uint16_t)(data[1] << 8 | data[2]);
    o.request_id = o.request_id ? o.request_id : 1;
    o.role = 1 + (data[0] & 3);
    o.keep_conn = !!(data[0] & 4);
    o.no_body = !!(data[0] & 8);
    o.content_length = (data[0] & 16) ? (apr_off_t)data[1] * 1000003 : -1;
    c.p = data + 3;
    c.len = size - 3;
    items(p, &c, &r, (data[0] & 0x80) ? dc.pass_headers : srv.pass_headers,
          extra);
    if (data[0] & 32) {
        o.extra = extra;
        before = apr_table_copy(p, r.subprocess_env);
    }
    CHECK(fcgix_env_build(&r, (data[0] & 0x80) ? NULL : srv.pass_headers,
                          &dc, &o, &out,
                          &out_len) == APR_SUCCESS);
    if (o.extra) {
        /* The authorizer's own variables stay in its copy. */
        CHECK(apr_table_elts(r.subprocess_env)->nelts
              == apr_table_elts(before)->nelts);
        apr_table_do(same, before, r.subprocess_env, NULL);
    }
    check_output(p, out, out_len, &o, o.extra ? NULL : r.subprocess_env);
    apr_pool_destroy(p);
    return 0;
}
