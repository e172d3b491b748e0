/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

#include "apr_strings.h"
#include "apr_buckets.h"

#include "httpd.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

#include "fcgix.h"
#include "fcgix_body.h"
#include "fcgix_bridge.h"
#include "fcgix_chan.h"
#include "fcgix_env.h"
#include "fcgix_fail.h"
#include "fcgix_loop.h"
#include "fcgix_override.h"
#include "fcgix_reply.h"
#include "fcgix_req.h"
#include "fcgix_send.h"

/* The largest reply (bytes read from the application) written out at its
 * end rather than left to the MPM (respond()). */
#define FLUSH_AT_END_MAX (16 * 1024)

/*
 * May this request be sent again after its connection broke before any
 * reply? Only a bodyless GET, HEAD or OPTIONS: the application may have
 * acted on what it read before the connection died, and repeating that
 * is safe only for requests HTTP defines as safe to repeat. TRACE is
 * left out (httpd answers it itself), PUT and DELETE too: idempotent by
 * definition, yet applications do not all make them so. An authorizer's
 * question never changes anything and is always safe.
 */
static int resend_safe(const fcgix_req_t *q, int bodyless)
{
    if (q->auth) {
        return 1;
    }
    return bodyless && (q->r->method_number == M_GET
                        || q->r->method_number == M_OPTIONS);
}

/* The responder's ending: what the application's header asked for. */
static int respond(fcgix_req_t *q)
{
    request_rec *r = q->r;

    if (q->xs.file || q->xs.uri) {
        return fcgix_sendfile_serve(r, q->dc->sendfile, &q->xs);
    }
    switch (q->action) {
    case FCGIX_RESP_INTERNAL_REDIRECT:
        if (q->data) {
            /* The response it filters is already under way. */
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, FCGIX_LOGNO(00680)
                          SRV_FMT "a filter cannot redirect internally "
                          "(Location: %s)", SRV_ARGS(q), q->location);
            return HTTP_BAD_GATEWAY;
        }
        r->method = "GET";
        r->method_number = M_GET;
        apr_table_unset(r->headers_in, "Content-Length");
        apr_table_unset(r->headers_in, "Transfer-Encoding");
        ap_internal_redirect_handler(q->location, r);
        return OK;
    case FCGIX_RESP_EXTERNAL_REDIRECT:
        r->status_line = NULL;
        return HTTP_MOVED_TEMPORARILY;
    case FCGIX_RESP_ERROR_PAGE:
        return fcgix_override_status(q);
    case FCGIX_RESP_CONDITIONAL:
        r->status_line = NULL;
        if (q->cond_status != HTTP_NOT_MODIFIED) {
            return q->cond_status;
        }
        r->status = HTTP_NOT_MODIFIED;
        break;
    default:
        break;
    }
    APR_BRIGADE_INSERT_TAIL(q->ob, apr_bucket_eos_create(q->c->bucket_alloc));
    /* A small reply is written now, before httpd looks for the client's
     * next request: left to the MPM's write completion, it would go out
     * after that look, which finds nothing yet, so the connection would
     * make the round through the listener (epoll_ctl, futex wake-ups)
     * instead of its next request being read by this thread. Only a small
     * one: the flush writes blocking, and a slow client must not hold the
     * thread for a large tail. */
    fcgix_reply_pass(q, q->rx_bytes <= FLUSH_AT_END_MAX);
    return OK;
}

static int finish(fcgix_req_t *q)
{
    request_rec *r = q->r;

    fcgix_chan_release(q, 0);
    fcgix_reply_log_stderr(q);
    fcgix_req_set_state(q, FCGIX_REQ_DONE);
    if (q->auth) {
        return q->fail ? q->fail : OK;
    }
    if (q->client_gone) {
        return OK;
    }
    if (q->fail) {
        if (q->out_started) {
            fcgix_reply_abort(q, q->fail);
            return OK;
        }
        /* Nothing reached the client: an error page replaces whatever
         * part of the application's header was applied. */
        r->status = HTTP_OK;
        r->status_line = NULL;
        apr_table_clear(r->headers_out);
        return q->fail;
    }
    return respond(q);
}

static void reset_for_retry(fcgix_req_t *q)
{
    fcgix_chan_release(q, 1);
    fcgix_reader_init(&q->rd, FCGIX_READ_FROM_APP);
    q->state = FCGIX_REQ_CONNECT;
    q->hlen = q->hscan = 0;
    q->fail = 0;
    q->retry = 0;
    q->ended = 0;
    q->leftover = 0;
    q->rx_bytes = 0;
    q->errlen = 0;
}

static int plan_body(fcgix_req_t *q, fcgix_send_mode_e *mode,
                     apr_off_t *cl)
{
    request_rec *r = q->r;
    const char *te = apr_table_get(r->headers_in, "Transfer-Encoding");
    const char *clh = apr_table_get(r->headers_in, "Content-Length");
    apr_off_t max_len = fcgix_conf_max_request_len(q->dc);

    *cl = 0;
    if (te) {
        *mode = FCGIX_SEND_SPOOL;
    }
    else if (clh) {
        if (!ap_parse_strict_length(cl, clh)) {
            return HTTP_BAD_REQUEST;
        }
        *mode = *cl > 0 ? FCGIX_SEND_STREAM : FCGIX_SEND_NO_BODY;
    }
    else {
        /* HTTP/2 and later may carry a body with no content-length. */
        *mode = r->proto_num >= HTTP_VERSION(2, 0) ? FCGIX_SEND_SPOOL
                                                   : FCGIX_SEND_NO_BODY;
    }
    if (*mode == FCGIX_SEND_STREAM && max_len > 0 && *cl > max_len) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      FCGIX_LOGNO(00110) "request body of %" APR_OFF_T_FMT
                      " bytes exceeds %s %" APR_OFF_T_FMT, *cl,
                      fcgix_conf_max_request_len_name(q->dc), max_len);
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    return OK;
}

static int spool_body(fcgix_req_t *q, fcgix_spool_t **sp)
{
    request_rec *r = q->r;
    apr_off_t max_len = fcgix_conf_max_request_len(q->dc);
    const char *where;
    apr_status_t rv;

    rv = fcgix_body_spool(r, max_len, fcgix_conf_max_request_in_mem(q->dc),
                          sp, &where);
    if (rv == APR_SUCCESS) {
        return OK;
    }
    if (rv == FCGIX_BODY_TOO_LARGE) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      FCGIX_LOGNO(00119) "chunked request body exceeds "
                      "%s %" APR_OFF_T_FMT,
                      fcgix_conf_max_request_len_name(q->dc), max_len);
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    if (where) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      FCGIX_LOGNO(00113) "cannot spool the request body "
                      "to a temporary file");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r,
                  FCGIX_LOGNO(00112) "reading the request body failed");
    return ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
}

/* What a request sends, built once for every attempt. */
typedef struct {
    fcgix_send_mode_e mode;
    fcgix_spool_t *sp;       /* a spooled body, or NULL */
    char *head;              /* BEGIN_REQUEST + PARAMS (+ empty STDIN) */
    apr_size_t head_len;
    int safe;                /* may be sent again (resend_safe()) */
    int held;                /* the channel was leased before the body
                                was read (continue_first()) */
} plan_t;

/*
 * httpd sends "100 Continue" when the body is first read. A client that
 * waits for it must get an unreachable or overloaded application's 503
 * instead, so the channel is leased before the body is spooled (a
 * streamed body is read only after the lease anyway) and held meanwhile.
 */
static int continue_first(fcgix_req_t *q, plan_t *pl)
{
    int status;

    if (!q->r->expecting_100) {
        return OK;
    }
    if ((status = fcgix_chan_connect(q)) == OK) {
        pl->held = 1;
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, q->r, SRV_FMT
                      "leased before reading the body (100-continue)",
                      SRV_ARGS(q));
    }
    return status;
}

/* A kept connection held while the client sent its body may have been
 * closed by the application meanwhile; one of our own is taken instead,
 * as if it had not been held. */
static int held_gone(const fcgix_req_t *q)
{
    return q->conn && !q->direct && !fcgix_pool_conn_alive(q->conn);
}

static fcgix_req_t *new_req(request_rec *r, fcgix_upstream_t *up,
                            const fcgix_role_t *role)
{
    fcgix_auth_reply_t *auth = role ? role->reply : NULL;
    fcgix_req_t *q = apr_pcalloc(r->pool, sizeof(*q));

    q->r = r;
    q->c = r->connection;
    q->up = up;
    q->set = fcgix_upstream_settings(up);
    q->dc = ap_get_module_config(r->per_dir_config, &fcgix_module);
    q->io_timeout = fcgix_conf_io_timeout(r, q->set->io_timeout);
    q->hmax = fcgix_conf_max_response_header(q->dc);
    q->err_max_lines = fcgix_conf_stderr_max_lines(q->dc);
    q->err_max_bytes = fcgix_conf_stderr_max_bytes(q->dc);
    q->state = FCGIX_REQ_CONNECT;
    q->auth = auth;
    q->data = role ? role->data : NULL;
    q->out = role && role->out ? role->out : r->output_filters;
    fcgix_reader_init(&q->rd, FCGIX_READ_FROM_APP);
    return q;
}

/* Reads a body of unknown length and builds the opening records; no
 * connection is held yet. */
static int prepare(fcgix_req_t *q, const apr_table_t *extra, plan_t *pl)
{
    request_rec *r = q->r;
    const fcgix_settings_t *set = q->set;
    fcgix_env_opts_t opts;
    apr_off_t cl;
    int status;

    memset(pl, 0, sizeof(*pl));
    if (q->auth) {
        /* Authorizers see the request without its body (spec 6.3). */
        pl->mode = FCGIX_SEND_NO_BODY;
        q->auth->body = apr_brigade_create(r->pool, q->c->bucket_alloc);
    }
    else if (q->data) {
        /* The handler has had the body; the filter gets its output. */
        pl->mode = FCGIX_SEND_NO_BODY;
    }
    else if ((status = plan_body(q, &pl->mode, &cl)) != OK) {
        return status;
    }
    /* A spooled body is read before any connection is held, unless the
     * client waits for "100 Continue". */
    if (pl->mode == FCGIX_SEND_SPOOL
        && ((status = continue_first(q, pl)) != OK
            || (status = spool_body(q, &pl->sp)) != OK)) {
        return status;
    }

    memset(&opts, 0, sizeof(opts));
    opts.request_id = SOLE_RID;
    opts.role = q->auth   ? FCGIX_ROLE_AUTHORIZER
                : q->data ? FCGIX_ROLE_FILTER
                          : FCGIX_ROLE_RESPONDER;
    opts.extra = extra;
    opts.content_length = pl->sp ? pl->sp->total : -1;
    opts.no_body = pl->sp ? pl->sp->total == 0
                          : pl->mode == FCGIX_SEND_NO_BODY;
    opts.keep_conn = set->keep_conn;
    if (fcgix_env_build(r, set->pass_headers, q->dc, &opts, &pl->head,
                        &pl->head_len)
        != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      FCGIX_LOGNO(00117) "request environment too large "
                      "to encode for %s", set->path);
        return HTTP_INTERNAL_SERVER_ERROR;
    }

    pl->safe = resend_safe(q, opts.no_body);
    q->ob = apr_brigade_create(r->pool, q->c->bucket_alloc);
    q->keep_conn = opts.keep_conn;
    if (!q->auth && !q->c->master && !set->ignore_client_abort) {
        q->csock = ap_get_conn_socket(q->c);
    }
    return OK;
}

/* Readies the records for the channel just got, and decides whether a
 * silent failure of this attempt may be retried. */
static void arm(fcgix_req_t *q, plan_t *pl, int attempt)
{
    int again;

    q->pre = NULL;
    fcgix_send_set_rid(pl->head, pl->head_len, q->rid, q->ms != NULL);
    /* Only with a request that can be sent again: an application
     * may hang up on it. */
    if (q->ms == NULL && !q->direct && q->set->get_values && pl->safe
        && fcgix_pool_caps_should_ask(q->pl)) {
        q->pre = fcgix_send_get_values(q->r->pool, &q->pre_len);
    }
    /* Only a request whose body is still at hand can be sent again,
     * and only once; and only one that is safe to repeat. */
    /* A spawned process that exited after its own request limit
     * still accepted this connection: a bodyless request goes to
     * another process (the upstream layer picks it and bounds the
     * tries). */
    again = q->direct ? pl->mode == FCGIX_SEND_NO_BODY
                      : attempt == 0 && pl->mode != FCGIX_SEND_STREAM
                        && (q->ms || q->conn->reused || q->pre);
    q->may_retry = again && pl->safe;
    q->no_resend = again && !pl->safe;
    if (q->conn && !q->direct) {
        /* A request that may be sent again and that the application's
         * host does not acknowledge within the connect timeout (it was
         * cut off while the connection idled) never reached it: the
         * connection ends then, and the request goes elsewhere instead
         * of waiting out the I/O timeout. Not with a body: a window the
         * application keeps shut would count too. */
        fcgix_addr_unacked_limit(q->conn->sock, pl->safe
            ? fcgix_conf_connect_timeout(q->r, q->set->connect_timeout)
            : 0, &q->conn->unacked_ms);
    }
}

/* Connects, sends, reads the reply; once more after a silent failure.
 * @return OK once the request ran, or an HTTP status to return as is */
static int exchange(fcgix_req_t *q, plan_t *pl)
{
    request_rec *r = q->r;
    int status, client_err = 0, attempt;
    apr_status_t rv;

    for (attempt = 0;; attempt++) {
        if (attempt == 0 && pl->held && held_gone(q)) {
            /* As a retry: the same address may be chosen again. */
            fcgix_chan_release(q, 1);
            pl->held = 0;
        }
        if (!(attempt == 0 && pl->held)
            && (status = fcgix_chan_connect(q)) != OK) {
            return status;
        }
        arm(q, pl, attempt);
        rv = fcgix_send_request(q, pl->mode, pl->sp, pl->head, pl->head_len,
                                &client_err);
        if (!q->fail) {
            fcgix_loop_read(q);
        }
        if (q->ms && q->ended
            && q->end.protocol_status == FCGIX_CANT_MPX_CONN) {
            /* It said MPXS_CONNS=1 but refuses: stop multiplexing it. */
            fcgix_pool_mpx_refused(q->pl);
            q->retry = q->may_retry && !q->out_started;
        }
        if (!q->retry) {
            return OK;
        }
        if (q->direct) {
            reset_for_retry(q);
            continue;
        }
        if (q->pre) {
            fcgix_pool_caps_refused(q->pl);
        }
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r, FCGIX_LOGNO(00137)
                      SRV_FMT "connection closed before any reply%s; "
                      "sending the request again", SRV_ARGS(q),
                      q->pre ? " (after FCGI_GET_VALUES)" : "");
        reset_for_retry(q);
        if (pl->sp && pl->sp->file) {
            apr_off_t zero = 0;
            apr_file_seek(pl->sp->file, APR_SET, &zero);
        }
    }
}

/* What the metrics call the end of @p q, which returned @p status. */
static fcgix_outcome_e outcome(const fcgix_req_t *q, int status)
{
    if (q->action == FCGIX_RESP_ERROR_PAGE && !q->fail) {
        /* The application answered; httpd only dresses its status. */
        status = OK;
    }
    if (status == OK) {
        if (q->client_gone) {
            return FCGIX_OUTCOME_ABORTED;
        }
        /* An error bucket ended a reply already under way. */
        status = q->fail && q->out_started ? q->fail : OK;
    }
    switch (status) {
    case OK:
        return FCGIX_OUTCOME_OK;
    case HTTP_BAD_GATEWAY:
        return FCGIX_OUTCOME_BAD_REPLY;
    case HTTP_SERVICE_UNAVAILABLE:
        return FCGIX_OUTCOME_UNAVAILABLE;
    case HTTP_GATEWAY_TIME_OUT:
        return FCGIX_OUTCOME_TIMEOUT;
    default:
        return ap_is_HTTP_CLIENT_ERROR(status) ? FCGIX_OUTCOME_REJECTED
                                               : FCGIX_OUTCOME_ERROR;
    }
}

static int run(fcgix_req_t *q, fcgix_upstream_t *up, const fcgix_role_t *role)
{
    request_rec *r = q->r;
    fcgix_auth_reply_t *auth = q->auth;
    const apr_table_t *extra = NULL;
    plan_t pl;
    int status;

    if (auth) {
        memset(auth, 0, sizeof(*auth));
        extra = role->extra ? role->extra : apr_table_make(r->pool, 1);
    }
    else if (role) {
        extra = role->extra;
    }
    if ((status = fcgix_upstream_reserve(up)) != OK) {
        return status;
    }
    if ((status = prepare(q, extra, &pl)) != OK) {
        fcgix_chan_release(q, 0);
        return status;
    }
    if ((status = exchange(q, &pl)) != OK) {
        return status;
    }
    fcgix_fail_check_end(q);
    if (q->ended && q->end.app_status != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      FCGIX_LOGNO(00123) SRV_FMT "application exit status "
                      "%u", SRV_ARGS(q), (unsigned)q->end.app_status);
    }
    return finish(q);
}

int fcgix_bridge_run(request_rec *r, fcgix_upstream_t *up,
                     const fcgix_role_t *role)
{
    apr_time_t start = apr_time_now();
    fcgix_req_t *q = new_req(r, up, role);
    int status = run(q, up, role);
    fcgix_sb_reqs_t *reqs = fcgix_upstream_counters(up);

    if (reqs) {
        fcgix_sb_reqs_count(reqs, outcome(q, status),
                            apr_time_now() - start);
    }
    return status;
}
