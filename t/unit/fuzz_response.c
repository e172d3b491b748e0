/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * libFuzzer target for the CGI response header block of an application:
 * the block finder (src/fcgix_cgi.c), resumed at every piece boundary the
 * way fcgix_reply.c grows its buffer; the field parser, -nph status line
 * included, the Status rule and the responder's checks before httpd's
 * scanner (src/fcgix_response.c, included whole); the authorizer's grant
 * rule of fcgix_reply.c (a grant needs an explicit valid "Status: 200").
 *
 * Links with APR only: httpd's calls are stubs here (its CGI header
 * scanner, which fcgix_response_apply hands the known fields to when one
 * is Status, Last-Modified or Set-Cookie, takes the Status only; strict
 * length parsing, content type, ap_is_url, the preconditions), so
 * what httpd does with the fields, and the authorizer's Variable-* copy
 * and denial (static, in fcgix_authz.c), are not covered.
 *
 * Input: byte 0 = flags (bit 0: authorizer, bits 1-7: piece size - 1),
 * then the STDOUT bytes.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../src/fcgix_response.c"

#include "fuzz_check.h"

/* httpd stubs: record, decide nothing. */
module AP_MODULE_DECLARE_DATA fcgix_module;

AP_DECLARE(void) ap_set_content_type(request_rec *r, const char *ct)
{
    r->content_type = ct;
}

AP_DECLARE(void) ap_content_type_tolower(char *s)
{
    for (; *s && *s != ';'; s++) {
        *s = (char)apr_tolower(*s);
    }
}

AP_DECLARE(int) ap_is_url(const char *u)
{
    const char *c = u;

    while (*c && apr_isalpha(*c)) {
        c++;
    }
    return c > u && *c == ':';
}

AP_DECLARE(int) ap_parse_strict_length(apr_off_t *len, const char *str)
{
    apr_off_t v = 0;

    if (!*str) {
        return 0;
    }
    for (; *str; str++) {
        if (*str < '0' || *str > '9' || v > (APR_INT64_MAX - 9) / 10) {
            return 0;
        }
        v = v * 10 + (*str - '0');
    }
    *len = v;
    return 1;
}

/* A GET's preconditions: none here, so none fails. */
AP_DECLARE(int) ap_meets_conditions(request_rec *r)
{
    (void)r;
    return OK;
}

/* Never reached: the request's log level (warn) is below trace. */
AP_DECLARE(void) ap_log_rerror_(const char *file, int line, int module_index,
                                int level, apr_status_t status,
                                const request_rec *r, const char *fmt, ...)
{
    (void)file;
    (void)line;
    (void)module_index;
    (void)level;
    (void)status;
    (void)r;
    (void)fmt;
    CHECK(0);
}

/* Reads every line it is given, as httpd's does, and takes the Status. */
AP_DECLARE(int) ap_scan_script_header_err_core_ex(request_rec *r,
    char *buffer, int (*getsfunc)(char *, int, void *), void *getsfunc_data,
    int module_index)
{
    char line[MAX_STRING_LEN];

    (void)buffer;
    (void)module_index;
    for (;;) {
        CHECK(getsfunc(line, sizeof(line), getsfunc_data) == 1);
        CHECK(strlen(line) < sizeof(line));
        if (line[0] == '\0') {
            return OK;
        }
        CHECK(strchr(line, ':') != NULL);
        if (!strncasecmp(line, "Status:", 7)) {
            r->status = atoi(line + 7 + strspn(line + 7, " \t"));
        }
    }
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
    size_t whole_scan = 0, scan = 0, have = 0, whole = 0, end = 0;
    fcgix_cgi_rc_e rc, prc = FCGIX_CGI_AGAIN;

    rc = fcgix_cgi_header_end(buf, len, len + 1, &whole_scan, &whole);
    CHECK(rc == FCGIX_CGI_FOUND || rc == FCGIX_CGI_AGAIN);
    if (rc == FCGIX_CGI_FOUND) {
        CHECK(whole >= 1 && whole <= len && buf[whole - 1] == '\n');
        CHECK(whole == 1 || whole == 2 || buf[whole - 2] == '\n'
              || (buf[whole - 2] == '\r' && buf[whole - 3] == '\n'));
    }
    else {
        whole = 0;
    }
    while (have < len && prc == FCGIX_CGI_AGAIN) {
        have += len - have < split ? len - have : split;
        prc = fcgix_cgi_header_end(buf, have, len + 1, &scan, &end);
        CHECK(scan <= have);
    }
    CHECK(prc == rc && (rc != FCGIX_CGI_FOUND || end == whole));
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
    struct ap_logconf log = { NULL, APLOG_WARNING };

    memset(&r, 0, sizeof(r));
    r.log = &log;
    r.method_number = M_GET;
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

static void authorizer(apr_pool_t *p, apr_table_t *fields)
{
    const char *st = apr_table_get(fields, "Status");
    int status = HTTP_FORBIDDEN;

    if (st && fcgix_response_status(p, st, &status) != NULL) {
        return; /* a malformed reply: 500 for the protected request */
    }
    CHECK(status >= 200 && status <= 599);
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
    err = fcgix_response_parse(p, blk, end, split > 64, fields);
    if (err == NULL) {
        apr_table_do(count_field, &n, fields, NULL);
        CHECK(n == apr_table_elts(fields)->nelts);
        if (auth) {
            authorizer(p, fields);
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
