/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/*
 * The CGI header block, in two steps. fcgix_response_parse checks the
 * syntax an application must keep (and httpd's scanner does not check)
 * and keeps every field in order: that table is what an authorizer's
 * reply is judged by. fcgix_response_apply hands the fields whose meaning
 * httpd defines (Status, Content-Type, Location, Last-Modified,
 * Set-Cookie, ...) to httpd's own CGI scanner,
 * ap_scan_script_header_err_core_ex, through a getsfunc over the table,
 * and stores the others itself (see field_kind_e for why); a reply
 * without Status, Last-Modified or Set-Cookie is stored without it.
 */

#include <strings.h>

#include "apr_strings.h"
#include "apr_lib.h"

#include "httpd.h"
#include "http_protocol.h"
#include "util_script.h"

#include "fcgix.h"
#include "fcgix_cgi.h"
#include "fcgix_response.h"

/* Byte classes of a header line, one table load per byte: RFC 9110's
 * tchar (ALPHA, DIGIT and !#$%&'*+-.^_`|~), and the C locale's control
 * characters but HTAB. Bytes from 128 up are neither. */
#define CH_TOKEN 1
#define CH_CTL 2

/* clang-format off */
static const unsigned char char_class[256] = {
    2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 2,
};
/* clang-format on */

static int is_token_char(unsigned char c)
{
    return char_class[c] & CH_TOKEN;
}

/*
 * What a field is to fcgix_response_apply. The scanner's fields are those
 * whose meaning httpd defines. It would take every field, but the rest
 * are stored by fcgix_response_apply, for three reasons:
 * - it merges them into r->err_headers_out (APR_OVERLAP_TABLES_MERGE):
 *   a field sent twice becomes one comma-joined field, wrong for fields
 *   that are not lists, and err_headers_out outlives
 *   ap_internal_redirect_handler, so the fields of a "Location: /local"
 *   reply would reach the client in the target's response;
 * - it reads a line into MAX_STRING_LEN bytes, while the block may take
 *   FcgixMaxResponseHeaderLen (64 KiB by default) and one field nearly
 *   all of it (t/100, hdrsize=60000: X-Big arrives intact);
 * - it passes hop-by-hop fields (Transfer-Encoding) on to the client.
 */
typedef enum {
    FIELD_PLAIN,          /* into r->headers_out as it came */
    FIELD_HOP,            /* one hop only: dropped */
    FIELD_CONTENT_TYPE,   /* scanned ones from here on */
    FIELD_CONTENT_LENGTH,
    FIELD_LOCATION,
    FIELD_TABLE,          /* ETag, Content-Range: set as they came */
    FIELD_STATUS,         /* from here on: only httpd's scanner */
    FIELD_SPECIAL         /* Last-Modified, Set-Cookie */
} field_kind_e;

static const struct {
    const char *name;
    field_kind_e kind;
} field_kinds[] = {
    { "Content-Type", FIELD_CONTENT_TYPE },
    { "Content-Length", FIELD_CONTENT_LENGTH },
    { "Status", FIELD_STATUS },
    { "Set-Cookie", FIELD_SPECIAL },
    { "Location", FIELD_LOCATION },
    { "Last-Modified", FIELD_SPECIAL },
    { "ETag", FIELD_TABLE },
    { "Content-Range", FIELD_TABLE },
    { "Connection", FIELD_HOP },
    { "Keep-Alive", FIELD_HOP },
    { "Transfer-Encoding", FIELD_HOP },
    { "Upgrade", FIELD_HOP },
    { "Proxy-Connection", FIELD_HOP },
    { "TE", FIELD_HOP },
    { "Trailer", FIELD_HOP },
};

/* One lookup per field (the first letter first: most names differ
 * there), where a chain of comparisons per use would cost each field
 * several. */
static field_kind_e field_kind(const char *name)
{
    int c = *name | 0x20;
    apr_size_t i;

    /* | 0x20 folds the case of letters; whatever else it folds together
     * strcasecmp tells apart. */
    for (i = 0; i < sizeof(field_kinds) / sizeof(field_kinds[0]); i++) {
        if (c == (field_kinds[i].name[0] | 0x20)
            && !strcasecmp(name, field_kinds[i].name)) {
            return field_kinds[i].kind;
        }
    }
    return FIELD_PLAIN;
}

int fcgix_response_hop_by_hop(const char *name)
{
    return field_kind(name) == FIELD_HOP;
}

/* One "name: value" line (NUL-terminated, line end cut off) checked and
 * split in place; folded lines were joined by the caller. */
static const char *split_field(apr_pool_t *p, char *line, char **value)
{
    char *colon = strchr(line, ':'), *v, *le;

    if (colon == NULL || colon == line) {
        return apr_psprintf(p, "malformed header line '%.60s'", line);
    }
    *colon = '\0';
    for (v = line; *v; v++) {
        if (!is_token_char((unsigned char)*v)) {
            return apr_psprintf(p, "invalid header name '%.60s'", line);
        }
    }
    v = colon + 1;
    while (*v == ' ' || *v == '\t') {
        v++;
    }
    le = v + strlen(v);
    while (le > v && (le[-1] == ' ' || le[-1] == '\t')) {
        *--le = '\0';
    }
    *value = v;
    return NULL;
}

/* The well-formed field line, split in one pass: a token, a colon, a
 * value without control characters, its blanks around cut off. Anything
 * else (left untouched) is for split_field and parse_lines to name. */
static int split_plain(char *line, char **value)
{
    unsigned char *u = (unsigned char *)line, *v, *w, *last;

    while (char_class[*u] & CH_TOKEN) {
        u++;
    }
    if (*u != ':' || u == (unsigned char *)line) {
        return 0;
    }
    for (v = u + 1; *v == ' ' || *v == '\t'; v++) {
    }
    for (w = last = v; *w; w++) {
        if (char_class[*w] & CH_CTL) {
            return 0;
        }
        if (*w != ' ' && *w != '\t') {
            last = w + 1;
        }
    }
    *u = '\0';
    *last = '\0';
    *value = (char *)v;
    return 1;
}

/* httpd would refuse a field (or status line) holding a control
 * character but HTAB with a 500 of its own: the application sent it, so
 * it is the application's malformed header, a 502. */
static int has_ctl(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;

    for (; *u; u++) {
        if (char_class[*u] & CH_CTL) {
            return 1;
        }
    }
    return 0;
}

/* The next line of buf[*q..end) with its line end cut off. */
static char *next_line(char **q, char *end)
{
    char *line = *q, *eol = memchr(line, '\n', (apr_size_t)(end - line));

    if (eol == NULL) {
        eol = end;
    }
    *q = eol + 1;
    if (eol > line && eol[-1] == '\r') {
        eol--;
    }
    *eol = '\0';
    return line;
}

static const char *parse_lines(apr_pool_t *p, char *q, char *end,
                               apr_table_t *fields)
{
    char *name = NULL, *value = NULL, *fvalue;

    while (q < end) {
        char *line = next_line(&q, end);
        const char *err;

        if (*line == '\0') {
            continue;
        }
        if (*line != ' ' && *line != '\t' && split_plain(line, &fvalue)) {
            if (name) {
                apr_table_addn(fields, name, value);
            }
            name = line;
            value = fvalue;
            continue;
        }
        if (has_ctl(line)) {
            return apr_psprintf(p, "control character in header line "
                                "'%.60s'", line);
        }
        if (*line == ' ' || *line == '\t') {
            /* obs-fold: continues the previous field's value. */
            if (name == NULL) {
                return "continuation line before any header";
            }
            while (*line == ' ' || *line == '\t') {
                line++;
            }
            value = apr_pstrcat(p, value, " ", line, NULL);
            continue;
        }
        if (name) {
            apr_table_addn(fields, name, value);
        }
        name = line;
        if ((err = split_field(p, line, &value)) != NULL) {
            return err;
        }
    }
    if (name) {
        apr_table_addn(fields, name, value);
    }
    return NULL;
}

/* -nph: the status line becomes a Status field; httpd still writes the
 * real one (and its own Date/Server). */
static const char *nph_status(apr_pool_t *p, char **buf, apr_size_t *len,
                              apr_table_t *fields)
{
    char *sp = memchr(*buf, ' ', *len), *nl = memchr(*buf, '\n', *len);
    char *line;
    apr_size_t ll;

    if (sp == NULL || nl == NULL || sp > nl) {
        return "malformed -nph status line";
    }
    line = apr_pstrmemdup(p, sp + 1, (apr_size_t)(nl - sp - 1));
    ll = strlen(line);
    if (ll && line[ll - 1] == '\r') {
        line[ll - 1] = '\0';
    }
    if (has_ctl(line)) {
        return "control character in the -nph status line";
    }
    apr_table_setn(fields, "Status", line);
    *len -= (apr_size_t)(nl - *buf) + 1;
    *buf = nl + 1;
    return NULL;
}

const char *fcgix_response_parse(apr_pool_t *p, char *buf, apr_size_t len,
                                 int nph, apr_table_t *fields)
{
    const char *err;

    if (memchr(buf, '\0', len)) {
        return "NUL byte in response header";
    }
    if (nph && len > 9 && !strncmp(buf, "HTTP/", 5)
        && (err = nph_status(p, &buf, &len, fields)) != NULL) {
        return err;
    }
    return parse_lines(p, buf, buf + len, fields);
}

const char *fcgix_response_status(apr_pool_t *p, const char *value,
                                  int *status)
{
    int code = fcgix_cgi_status(value);

    if (code == 0) {
        return apr_psprintf(p, "invalid Status '%.40s'", value);
    }
    if (code < 200 || code > 599) {
        /* An interim (1xx) status as the final one would leave the client
         * waiting for the real response on a connection we go on writing
         * to (a responder's interim blocks are taken before this, by
         * fcgix_interim.c). */
        return apr_psprintf(p, "final Status %d is not 200 to 599", code);
    }
    *status = code;
    return NULL;
}

/* What the getsfunc reads from: the parsed fields and their kinds, and
 * where it puts those too long for the scanner's line. */
typedef struct {
    const apr_table_entry_t *e;
    const unsigned char *kinds;
    int n, next;
    apr_array_header_t *too_long;
} scan_src_t;

/* httpd's getsfunc: one "name: value" line per call, scanned fields only,
 * then the blank line that ends the block. Never "end of output" (0) nor
 * "timed out" (-1): the whole block is here. */
static int scan_gets(char *buf, int len, void *data)
{
    scan_src_t *src = data;
    apr_size_t klen, vlen;

    while (src->next < src->n) {
        int i = src->next++;
        const apr_table_entry_t *f = &src->e[i];

        if (src->kinds[i] < FIELD_CONTENT_TYPE) {
            continue;
        }
        klen = strlen(f->key);
        vlen = strlen(f->val);
        if (klen + 2 + vlen >= (apr_size_t)len) {
            APR_ARRAY_PUSH(src->too_long, const apr_table_entry_t *) = f;
            continue;
        }
        /* "name: value", as a format would write it, without one. */
        memcpy(buf, f->key, klen);
        memcpy(buf + klen, ": ", 2);
        memcpy(buf + klen + 2, f->val, vlen + 1);
        return 1;
    }
    buf[0] = '\0';
    return 1;
}

/* A scanned field too long for the scanner's line, stored as the scanner
 * stores it. Set-Cookie is added after the scanner is done: it rebuilds
 * err_headers_out's cookies from its own list at the end. */
static void store_long(request_rec *r, const apr_table_entry_t *f)
{
    if (!strcasecmp(f->key, "Set-Cookie")) {
        apr_table_addn(r->err_headers_out, "Set-Cookie", f->val);
    }
    else if (!strcasecmp(f->key, "Content-Type")) {
        char *ct = apr_pstrdup(r->pool, f->val);
        ap_content_type_tolower(ct);
        ap_set_content_type(r, ct);
    }
    else if (strcasecmp(f->key, "Last-Modified")) {
        /* Location, ETag, Content-Range (Status and Content-Length were
         * checked short); a Last-Modified this long is no date. */
        apr_table_setn(r->headers_out, f->key, f->val);
    }
}

/* Classifies the fields into @p kinds, checks what the scanner takes as
 * it comes (a Status it cannot use, a Content-Length that is no length)
 * and stores the fields it is not given; *location: the Location the
 * scanner will keep (the last); returns whether a field needs the
 * scanner (*special). */
static const char *check_and_store(request_rec *r, const apr_table_t *fields,
                                   unsigned char *kinds,
                                   const char **location, int *special)
{
    const apr_array_header_t *arr = apr_table_elts(fields);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i, code;
    apr_off_t cl;
    const char *err;

    *special = 0;
    for (i = 0; i < arr->nelts; i++) {
        field_kind_e kind = field_kind(e[i].key);

        kinds[i] = (unsigned char)kind;
        if (kind >= FIELD_STATUS) {
            *special = 1;
        }
        switch (kind) {
        case FIELD_STATUS:
            if ((err = fcgix_response_status(r->pool, e[i].val, &code))) {
                return err;
            }
            break;
        case FIELD_CONTENT_LENGTH:
            if (!ap_parse_strict_length(&cl, e[i].val)) {
                return apr_psprintf(r->pool, "invalid Content-Length "
                                    "'%.40s'", e[i].val);
            }
            break;
        case FIELD_LOCATION:
            *location = e[i].val;
            break;
        case FIELD_PLAIN:
            apr_table_addn(r->headers_out, e[i].key, e[i].val);
            break;
        default:
            break;
        }
    }
    return NULL;
}

/*
 * The reply without Status, Last-Modified or Set-Cookie (most replies),
 * stored as httpd's scanner would store it, without the scanner's line
 * buffer, its tables and its second pass over every field name: the last
 * Content-Type becomes the content type, Content-Length, Location, ETag
 * and Content-Range are set (the last one of a name wins), and a GET's
 * preconditions are evaluated (no Status means no status of the
 * application's to keep).
 */
static int store_plain(request_rec *r, const apr_table_t *fields,
                       const unsigned char *kinds)
{
    const apr_array_header_t *arr = apr_table_elts(fields);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    const char *ct = NULL;
    int i;

    for (i = 0; i < arr->nelts; i++) {
        if (kinds[i] == FIELD_CONTENT_TYPE) {
            ct = e[i].val;
        }
        else if (kinds[i] > FIELD_CONTENT_TYPE) {
            apr_table_setn(r->headers_out, e[i].key, e[i].val);
        }
        if (kinds[i] >= FIELD_CONTENT_TYPE && APLOGrtrace4(r)) {
            ap_log_rerror(APLOG_MARK, APLOG_TRACE4, 0, r,
                          "application's field %s: %s", e[i].key, e[i].val);
        }
    }
    if (ct) {
        char *t = apr_pstrdup(r->pool, ct);
        ap_content_type_tolower(t);
        ap_set_content_type(r, t);
    }
    return r->method_number == M_GET ? ap_meets_conditions(r) : OK;
}

/* Kinds of up to this many fields are kept on the stack. */
#define KINDS_ON_STACK 32

const char *fcgix_response_apply(request_rec *r, const apr_table_t *fields,
                                 fcgix_resp_action_e *action,
                                 const char **location, int *cond_status)
{
    const apr_array_header_t *arr = apr_table_elts(fields);
    unsigned char stack_kinds[KINDS_ON_STACK], *kinds = stack_kinds;
    scan_src_t src;
    const char *err;
    int rc, i, special;

    *location = NULL;
    *action = FCGIX_RESP_SEND;
    if (arr->nelts > KINDS_ON_STACK) {
        kinds = apr_palloc(r->pool, (apr_size_t)arr->nelts);
    }
    if ((err = check_and_store(r, fields, kinds, location, &special))) {
        return err;
    }
    if (!special) {
        rc = store_plain(r, fields, kinds);
    }
    else {
        src.e = (const apr_table_entry_t *)arr->elts;
        src.kinds = kinds;
        src.n = arr->nelts;
        src.next = 0;
        src.too_long = apr_array_make(r->pool, 1,
                                      sizeof(apr_table_entry_t *));
        /* Status, Content-Type, Location, Last-Modified, Set-Cookie and
         * the preconditions (for a GET without Status only) as mod_cgi
         * and mod_proxy_fcgi apply them. */
        rc = ap_scan_script_header_err_core_ex(r, NULL, scan_gets, &src,
                                               APLOG_MODULE_INDEX);
        for (i = 0; i < src.too_long->nelts; i++) {
            store_long(r, APR_ARRAY_IDX(src.too_long, i,
                                        const apr_table_entry_t *));
        }
    }
    if (rc != OK && rc != HTTP_NOT_MODIFIED
        && rc != HTTP_PRECONDITION_FAILED) {
        /* Not expected: every line it was given was checked. */
        return apr_psprintf(r->pool, "httpd's CGI header scanner "
                            "answered %d", rc);
    }
    if (*location && r->status == HTTP_OK) {
        if ((*location)[0] == '/') {
            *action = FCGIX_RESP_INTERNAL_REDIRECT;
        }
        else if (ap_is_url(*location)) {
            *action = FCGIX_RESP_EXTERNAL_REDIRECT;
        }
    }
    else if (rc != OK) {
        *action = FCGIX_RESP_CONDITIONAL;
        *cond_status = rc;
    }
    return NULL;
}
