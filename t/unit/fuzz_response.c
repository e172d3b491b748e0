/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * libFuzzer target for the CGI response header block of an application
 * (src/fcgix_response.c, included whole): the block finder, resumed at
 * every piece boundary the way fcgix_reply.c grows its buffer; the field
 * parser; the Status rule; the responder's apply step and the
 * authorizer's grant rule of fcgix_reply.c (a grant needs an explicit
 * valid "Status: 200").
 *
 * Links with APR and APR-util only: the five httpd calls apply makes are
 * stubs here (content type, mtime, Last-Modified, ap_is_url and the
 * precondition check), so what httpd does with the result, and the
 * authorizer's Variable-* copy and denial (static, in fcgix_authz.c), are
 * not covered.
 *
 * Input: byte 0 = flags (bit 0: authorizer, bits 1-7: piece size - 1),
 * then the STDOUT bytes.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../src/fcgix_response.c"

#define CHECK(c) \
    do { \
        if (!(c)) { \
            abort(); \
        } \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* httpd stubs: record, decide nothing. */
AP_DECLARE(void) ap_set_content_type(request_rec *r, const char *ct)
{
    r->content_type = ct;
}

AP_DECLARE(void) ap_update_mtime(request_rec *r, apr_time_t dependency_mtime)
{
    if (r->mtime < dependency_mtime) {
        r->mtime = dependency_mtime;
    }
}

AP_DECLARE(void) ap_set_last_modified(request_rec *r)
{
    (void)r;
}

AP_DECLARE(int) ap_is_url(const char *u)
{
    const char *c = u;

    while (*c && apr_isalpha(*c)) {
        c++;
    }
    return c > u && *c == ':';
}

AP_DECLARE(int) ap_meets_conditions(request_rec *r)
{
    (void)r;
    return OK;
}

static apr_pool_t *root;

static int all_digits(const char *s)
{
    if (!*s) {
        return 0;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return 0;
        }
    }
    return 1;
}

/* The finder must give the same answer however the block arrives. */
static apr_size_t find_end(const char *buf, size_t len, size_t split)
{
    apr_size_t whole_scan = 0, scan = 0, have = 0, end = 0;
    apr_size_t whole = fcgix_response_header_end(buf, len, &whole_scan);

    CHECK(whole <= len);
    if (whole) {
        CHECK(buf[whole - 1] == '\n');
        CHECK(whole == 1 || whole == 2 || buf[whole - 2] == '\n'
              || (buf[whole - 2] == '\r' && buf[whole - 3] == '\n'));
    }
    CHECK(whole_scan <= len);
    while (have < len && end == 0) {
        have += len - have < split ? len - have : split;
        end = fcgix_response_header_end(buf, have, &scan);
        CHECK(scan <= have);
    }
    CHECK(end == whole);
    return whole;
}

static int count_field(void *data, const char *k, const char *v)
{
    const char *c;

    (*(int *)data)++;
    CHECK(*k != '\0');
    for (c = k; *c; c++) {
        CHECK(is_token_char((unsigned char)*c));
    }
    /* No control character but HTAB reaches httpd (it would answer 500
     * for the application's mistake). */
    for (c = v; *c; c++) {
        CHECK(!apr_iscntrl((unsigned char)*c) || *c == '\t');
    }
    /* Blanks are not checked: an obs-fold line joins with one space
     * even when the value or the continuation is empty. */
    return 1;
}

static int no_hop(void *data, const char *k, const char *v)
{
    (void)data;
    (void)v;
    CHECK(!fcgix_response_hop_by_hop(k));
    return 1;
}

static void responder(apr_pool_t *p, apr_table_t *fields)
{
    request_rec r;
    fcgix_resp_action_e action;
    const char *location, *err, *cl;
    int cond = 0;

    memset(&r, 0, sizeof(r));
    r.pool = p;
    r.status = HTTP_OK;
    r.headers_out = apr_table_make(p, 8);
    r.err_headers_out = apr_table_make(p, 8);
    err = fcgix_response_apply(&r, fields, &action, &location, &cond);
    if (err) {
        CHECK(*err != '\0');
        return;
    }
    CHECK(r.status >= 200 && r.status <= 599);
    CHECK(action >= FCGIX_RESP_SEND && action <= FCGIX_RESP_CONDITIONAL);
    if (action == FCGIX_RESP_INTERNAL_REDIRECT) {
        CHECK(location && location[0] == '/' && r.status == HTTP_OK);
    }
    if (action == FCGIX_RESP_EXTERNAL_REDIRECT) {
        CHECK(location && ap_is_url(location));
    }
    apr_table_do(no_hop, NULL, r.headers_out, NULL);
    cl = apr_table_get(r.headers_out, "Content-Length");
    /* What reaches the client must be 1*DIGIT (RFC 9110 8.6). */
    CHECK(cl == NULL || all_digits(cl));
}

static void authorizer(apr_table_t *fields)
{
    const char *st = apr_table_get(fields, "Status");
    int status = st ? fcgix_response_status(st) : HTTP_FORBIDDEN;

    CHECK(status == 0 || (status >= 100 && status <= 999));
    if (status == HTTP_OK) {
        /* A grant is said, never implied. */
        CHECK(st && !strncmp(st, "200", 3) && (!st[3] || st[3] == ' '));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    apr_table_t *fields;
    apr_size_t end;
    const char *err;
    char *blk;
    int auth, n = 0;
    size_t split;

    if (size < 1) {
        return 0;
    }
    if (root == NULL) {
        apr_initialize();
        apr_pool_create(&root, NULL);
    }
    auth = data[0] & 1;
    split = (size_t)(data[0] >> 1) + 1;
    data++;
    size--;
    end = find_end((const char *)data, size, split);
    if (end == 0) {
        return 0;
    }
    apr_pool_create(&p, root);
    blk = apr_pmemdup(p, data, end);
    fields = apr_table_make(p, 8);
    err = fcgix_response_parse(p, blk, end, fields);
    if (err == NULL) {
        apr_table_do(count_field, &n, fields, NULL);
        CHECK(n == apr_table_elts(fields)->nelts);
        if (auth) {
            authorizer(fields);
        }
        else {
            responder(p, fields);
        }
    }
    else {
        CHECK(*err != '\0');
    }
    apr_pool_destroy(p);
    return 0;
}
