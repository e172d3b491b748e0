/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include <string.h>

#include "apr_strings.h"
#include "apr_thread_proc.h"

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_main.h"

#include "fcgix.h"
#include "fcgix_addr.h"
#include "fcgix_conf.h"
#include "fcgix_pool.h"
#include "fcgix_proto.h"
#include "fcgix_sb.h"
#include "fcgix_send.h"
#include "fcgix_upstream.h"
#include "fcgix_upstream_check.h"

#define CHECK_TICK apr_time_from_msec(100)
#define CHECK_TIMEOUT_MAX apr_time_from_sec(5)
#define CHECK_REPLY_MAX 8192

typedef struct {
    const fcgix_server_t *srv;
    fcgix_pool_t *pl;   /* its address: a name's position may change */
    fcgix_sb_backend_t *b;
} target_t;

typedef struct {
    apr_array_header_t *targets; /* target_t */
    server_rec *s;
    apr_thread_t *thread;
    volatile int stop;
} checker_t;

/* Bytes until @p n are read or @p deadline passes. */
static apr_status_t read_full(apr_socket_t *sock, char *buf, apr_size_t n,
                              apr_time_t deadline)
{
    while (n > 0) {
        apr_interval_time_t left = deadline - apr_time_now();
        apr_size_t got = n;
        apr_status_t rv;
        if (left <= 0) {
            return APR_TIMEUP;
        }
        apr_socket_timeout_set(sock, left);
        rv = apr_socket_recv(sock, buf, &got);
        if (got == 0 && rv == APR_SUCCESS) {
            rv = APR_EOF;
        }
        if (rv != APR_SUCCESS && got == 0) {
            return rv;
        }
        buf += got;
        n -= got;
    }
    return APR_SUCCESS;
}

static apr_size_t put_param(char *buf, apr_size_t off, const char *name,
                            const char *value)
{
    size_t w = 0;

    fcgix_proto_nv_encode((uint8_t *)buf + off, 1024 - off, name,
                          strlen(name), value, strlen(value), &w);
    return off + w;
}

/* BEGIN_REQUEST, PARAMS of a GET of @p uri, the empty PARAMS and STDIN. */
static const char *uri_request(apr_pool_t *p, const char *uri,
                               apr_size_t *len)
{
    char *buf = apr_pcalloc(p, 1024 + 64);
    fcgix_begin_t bg = { FCGIX_ROLE_RESPONDER, 0 };
    apr_size_t off = 2 * FCGIX_HEADER_LEN + 8, start = off;
    uint8_t pad;

    fcgix_proto_rec_header((uint8_t *)buf, FCGIX_BEGIN_REQUEST, 1, 8);
    fcgix_proto_begin_pack((uint8_t *)buf + FCGIX_HEADER_LEN, &bg);
    off = put_param(buf, off, "REQUEST_METHOD", "GET");
    off = put_param(buf, off, "SCRIPT_NAME", uri);
    off = put_param(buf, off, "SCRIPT_FILENAME", uri);
    off = put_param(buf, off, "REQUEST_URI", uri);
    off = put_param(buf, off, "QUERY_STRING", "");
    off = put_param(buf, off, "SERVER_PROTOCOL", "HTTP/1.1");
    off = put_param(buf, off, "GATEWAY_INTERFACE", "CGI/1.1");
    pad = fcgix_proto_rec_header((uint8_t *)buf + start - FCGIX_HEADER_LEN,
                                 FCGIX_PARAMS, 1, (uint16_t)(off - start));
    off += pad;
    fcgix_proto_rec_header((uint8_t *)buf + off, FCGIX_PARAMS, 1, 0);
    off += FCGIX_HEADER_LEN;
    fcgix_proto_rec_header((uint8_t *)buf + off, FCGIX_STDIN, 1, 0);
    *len = off + FCGIX_HEADER_LEN;
    return buf;
}

/* The status a reply's header block gives: its Status field, else 200. */
static int reply_status(const char *out, apr_size_t len)
{
    const char *l = out, *end = out + len;

    while (l < end && *l != '\r' && *l != '\n') {
        const char *nl = memchr(l, '\n', (apr_size_t)(end - l));
        if (!strncasecmp(l, "Status:", 7)) {
            return atoi(l + 7);
        }
        if (nl == NULL) {
            break;
        }
        l = nl + 1;
    }
    return 200;
}

/* Reads records to the answer: GET_VALUES_RESULT, or END_REQUEST with
 * the expected status. @return 1 when the check passed */
static int read_answer(apr_socket_t *sock, const fcgix_server_t *srv,
                       apr_time_t deadline, apr_pool_t *p)
{
    char *out = apr_palloc(p, CHECK_REPLY_MAX);
    char *body = apr_palloc(p, FCGIX_MAX_CONTENT + 256);
    apr_size_t olen = 0;
    fcgix_hdr_t h;

    for (;;) {
        apr_size_t n;
        if (read_full(sock, body, FCGIX_HEADER_LEN, deadline)) {
            return 0;
        }
        fcgix_proto_hdr_unpack(&h, (const uint8_t *)body);
        n = (apr_size_t)h.content_length + h.padding_length;
        if (h.version != FCGIX_VERSION_1
            || read_full(sock, body, n, deadline)) {
            return 0;
        }
        if (srv->check_uri == NULL) {
            if (h.type == FCGIX_GET_VALUES_RESULT) {
                return 1;
            }
            continue;
        }
        if (h.type == FCGIX_STDOUT && olen < CHECK_REPLY_MAX) {
            n = h.content_length;
            n = n < CHECK_REPLY_MAX - olen ? n : CHECK_REPLY_MAX - olen;
            memcpy(out + olen, body, n);
            olen += n;
        }
        else if (h.type == FCGIX_END_REQUEST) {
            int want = srv->check_status ? srv->check_status : 200;
            return olen > 0 && reply_status(out, olen) == want;
        }
    }
}

/* One check of @p t: connect, ask, read the answer within the time. */
static int probe(const target_t *t, apr_pool_t *p)
{
    apr_interval_time_t to = t->srv->check < CHECK_TIMEOUT_MAX
                             ? t->srv->check : CHECK_TIMEOUT_MAX;
    apr_time_t deadline = apr_time_now() + to;
    apr_socket_t *sock;
    const char *req;
    apr_size_t len;
    int ok = 0;

    if (fcgix_addr_connect(fcgix_pool_addr(t->pl), to, p, &sock)
        != APR_SUCCESS) {
        return 0;
    }
    req = t->srv->check_uri ? uri_request(p, t->srv->check_uri, &len)
                            : fcgix_send_get_values(p, &len);
    apr_socket_timeout_set(sock, to);
    while (len > 0) {
        apr_size_t n = len;
        if (apr_socket_send(sock, req, &n) != APR_SUCCESS && n == 0) {
            break;
        }
        req += n;
        len -= n;
    }
    if (len == 0) {
        ok = read_answer(sock, t->srv, deadline, p);
    }
    apr_socket_close(sock);
    return ok;
}

/* A check's result into the slot: fails= failures in a row take the
 * address down, passes= passes in a row bring it back; each change is
 * logged once. */
static void verdict(const checker_t *ck, const target_t *t, int ok)
{
    fcgix_sb_backend_t *b = t->b;
    int need = b->down ? (t->srv->check_passes ? t->srv->check_passes : 2)
                       : (t->srv->check_fails ? t->srv->check_fails : 2);

    __atomic_add_fetch(&b->checks, 1, __ATOMIC_RELAXED);
    if (!ok) {
        __atomic_add_fetch(&b->check_failures, 1, __ATOMIC_RELAXED);
    }
    /* Only the round's winner writes the run: plain stores. */
    if (ok == (int)b->down) {
        b->check_run++;
    }
    else {
        b->check_run = 0;
    }
    if (b->check_run < (apr_uint32_t)need) {
        return;
    }
    b->check_run = 0;
    b->down = !b->down;
    if (b->down) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ck->s, FCGIX_LOGNO(00592)
                     "%s %s: failed %d checks in a row (%s); down",
                     t->srv->path, fcgix_pool_addr(t->pl)->spec, need,
                     t->srv->check_uri ? t->srv->check_uri
                                       : "FCGI_GET_VALUES");
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ck->s, FCGIX_LOGNO(00593)
                     "%s %s: passed %d checks in a row; up", t->srv->path,
                     fcgix_pool_addr(t->pl)->spec, need);
    }
}

static void *APR_THREAD_FUNC run(apr_thread_t *th, void *data)
{
    checker_t *ck = data;
    apr_pool_t *p;

    apr_pool_create(&p, NULL);
    while (!ck->stop) {
        int i;
        for (i = 0; i < ck->targets->nelts && !ck->stop; i++) {
            target_t *t = &APR_ARRAY_IDX(ck->targets, i, target_t);
            fcgix_pool_t *pl;
            fcgix_mpx_group_t *g;
            /* Follows a name's positions even in a child without
             * requests; one without an address has nothing to check. */
            fcgix_upstream_address(t->srv, 0, &pl, &g);
            if (fcgix_pool_vacant(t->pl)) {
                continue;
            }
            if (!fcgix_sb_round_claim(&t->b->check_next, apr_time_now(),
                                      t->srv->check)) {
                continue; /* not due, or another child won the round */
            }
            verdict(ck, t, probe(t, p));
            apr_pool_clear(p);
        }
        apr_sleep(CHECK_TICK);
    }
    apr_pool_destroy(p);
    apr_thread_exit(th, APR_SUCCESS);
    return NULL;
}

static apr_status_t stop(void *data)
{
    checker_t *ck = data;
    apr_status_t rv;

    ck->stop = 1;
    apr_thread_join(&rv, ck->thread);
    return APR_SUCCESS;
}

static int add_targets(server_rec *vs, const fcgix_srv_conf_t *vc,
                       const fcgix_server_t *srv, void *baton)
{
    apr_array_header_t *targets = baton;
    int k, j;

    (void)vs;
    (void)vc;
    for (k = 0; srv->check > 0 && k < srv->addrs->nelts; k++) {
        fcgix_pool_t *pl;
        fcgix_mpx_group_t *g;
        target_t *t;
        if (srv->managed || !fcgix_upstream_address(srv, k, &pl, &g)
            || fcgix_pool_shm(pl) == NULL) {
            return OK;
        }
        for (j = 0; j < targets->nelts; j++) {
            if (APR_ARRAY_IDX(targets, j, target_t).b == fcgix_pool_shm(pl)) {
                break; /* shared by another virtual host */
            }
        }
        if (j < targets->nelts) {
            continue;
        }
        t = apr_array_push(targets);
        t->srv = srv;
        t->pl = pl;
        t->b = fcgix_pool_shm(pl);
    }
    return OK;
}

apr_status_t fcgix_upstream_check_start(apr_pool_t *pchild, server_rec *s)
{
    checker_t *ck = apr_pcalloc(pchild, sizeof(*ck));
    apr_status_t rv;

    ck->s = s;
    ck->targets = apr_array_make(pchild, 4, sizeof(target_t));
    fcgix_conf_each_server(s, add_targets, ck->targets);
    if (ck->targets->nelts == 0) {
        return APR_SUCCESS;
    }
    rv = apr_thread_create(&ck->thread, NULL, run, ck, pchild);
    if (rv == APR_SUCCESS) {
        apr_pool_cleanup_register(pchild, ck, stop, apr_pool_cleanup_null);
    }
    return rv;
}
