/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_req.h
 * @brief The record of one FastCGI request in flight, which the bridge's
 *        files (bridge, chan, send, reply, loop, fail) pass between them.
 *
 * Layer L2. One request thread owns a record from start to finish, so
 * nothing in it is locked. Only the bridge's own files include this
 * header; everyone else goes through fcgix_bridge.h.
 */
#ifndef FCGIX_REQ_H
#define FCGIX_REQ_H

#include "apr_buckets.h"
#include "httpd.h"

#include "fcgix_bridge.h"
#include "fcgix_conf.h"
#include "fcgix_mpx.h"
#include "fcgix_pool.h"
#include "fcgix_proto.h"
#include "fcgix_response.h"
#include "fcgix_sendfile.h"
#include "fcgix_upstream.h"

/* Large reads: one syscall per up to 64 KiB of application output, once
 * a reply has filled its first, small buffer (the bucket allocator's
 * size, what httpd's core reads its client into). */
#define RBUF_SIZE (64 * 1024)
#define RBUF_FIRST APR_BUCKET_BUFF_SIZE
#define ERRLINE_MAX 2048
/* The only request id while one request owns the connection. */
#define SOLE_RID 1

/* Internal status: a failure that is already logged, req->fail says the
 * HTTP status. */
#define FCGIX_FAILED (APR_OS_START_USERERR + 701)
/* Internal status: the application finished; stop sending it input. */
#define FCGIX_APP_DONE (APR_OS_START_USERERR + 702)

#define SRV_FMT "%s (%s): "
#define SRV_ARGS(q) (q)->set->path, (q)->addr ? (q)->addr->spec : "-"

/** Request states, in order. */
typedef enum {
    FCGIX_REQ_CONNECT = 0, /**< choosing an address, connecting */
    FCGIX_REQ_SEND,        /**< sending params and body */
    FCGIX_REQ_HEADERS,     /**< collecting the CGI header block */
    FCGIX_REQ_BODY,        /**< streaming the body to the client */
    FCGIX_REQ_DISCARD,     /**< reading to END_REQUEST, dropping output */
    FCGIX_REQ_DONE         /**< END_REQUEST seen or failed */
} fcgix_req_state_e;

typedef struct fcgix_req_t {
    request_rec *r;
    conn_rec *c;
    fcgix_upstream_t *up;    /* where it goes (channels are leased here) */
    const fcgix_settings_t *set; /* the settings of its server or class */
    const fcgix_dir_conf_t *dc;
    const fcgix_addr_t *addr;
    fcgix_pool_t *pl;
    fcgix_conn_t *conn;      /* a connection of our own, or */
    fcgix_mstream_t *ms;     /* our id on a shared (multiplexed) one */
    apr_uint16_t rid;
    apr_socket_t *sock;      /* conn->sock, or our own (direct) */
    int direct;              /* a spawned process's socket */
    apr_socket_t *csock;     /* the client's, watched for a hang-up */
    const char *pre;         /* FCGI_GET_VALUES sent before the request */
    apr_size_t pre_len;
    int keep_conn;           /* KEEP_CONN was sent */
    int may_retry;           /* a silent failure may be retried once */
    int no_resend;           /* ... would be, were the request safe to
                                repeat (see resend_safe()) */
    int retry;               /* ... and this one will be */
    int abort_sent;
    /* After FCGI_ABORT_REQUEST the application gets until abort_until,
     * and abort_max bytes, to end the request: many (php-fpm, libfcgi)
     * ignore it and would keep this thread reading for as long as they
     * write. */
    apr_time_t abort_at, abort_until;
    apr_size_t abort_rx, abort_max;
    int leftover;            /* bytes after END_REQUEST in the last read */
    apr_size_t rx_bytes;
    apr_interval_time_t io_timeout;
    fcgix_req_state_e state;
    fcgix_reader_t rd;
    /* The read buffer (fcgix_reply_pump) and the heap bucket that owns
     * it: STDOUT goes down as slices of that bucket, no copy, and a
     * buffer still referenced by a slice the core output filter set aside
     * is left to it (freed with the last) for a fresh one. rsize: the
     * buffer's size, RBUF_FIRST until a read fills it (rlast: what the
     * last read brought), then RBUF_SIZE. */
    char *rbuf;
    apr_bucket *rroot;
    apr_size_t rsize, rlast;
    /* Header block collected from FCGI_STDOUT: hcap bytes allocated,
     * grown up to hmax (FcgixMaxResponseHeaderLen) as the block needs. */
    char *hbuf;
    apr_size_t hlen, hcap, hmax, hscan;
    fcgix_auth_reply_t *auth; /* authorizer role: capture, don't send */
    apr_bucket_brigade *data; /* filter role: FCGI_DATA to send */
    ap_filter_t *out;         /* where the reply goes */
    fcgix_resp_action_e action;
    const char *location;
    int cond_status;
    /* X-Sendfile, X-Accel-Redirect (served once the channel is back) and
     * X-Accel-Buffering. */
    fcgix_sendfile_t xs;
    apr_size_t held;         /* bytes held under X-Accel-Buffering: yes */
    int interims;            /* interim (1xx) blocks seen */
    /* Output to the client. */
    apr_bucket_brigade *ob;
    int unflushed;
    int out_started;
    int client_gone;
    /* Outcome. */
    int ended;
    fcgix_end_t end;
    int fail;
    /* Application stderr, logged a line at a time up to the limits;
     * what is past them is only counted, and reported once. */
    char errline[ERRLINE_MAX];
    apr_size_t errlen;
    apr_off_t err_lines, err_bytes;
    apr_off_t err_max_lines, err_max_bytes;
    apr_off_t err_drop_lines, err_drop_bytes;
} fcgix_req_t;

/* Records of a batch of STDIN output share one writev. */

const char *fcgix_req_state_str(fcgix_req_state_e st);

/** Moves @p q to @p st, with a trace line. */
void fcgix_req_set_state(fcgix_req_t *q, fcgix_req_state_e st);

/** A timeout for a log line, in seconds with the unit: "40 s", "1.5 s",
 *  "0.25 s" (durations are configured down to milliseconds); in the
 *  request's pool. */
const char *fcgix_req_secs(const fcgix_req_t *q, apr_interval_time_t t);

#endif /* FCGIX_REQ_H */
