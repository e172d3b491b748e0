/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_bridge.h
 * @brief One FastCGI request over one backend connection: send the
 *        environment and body, turn FCGI_STDOUT into the HTTP response,
 *        log application stderr, and map every failure to an HTTP status.
 *
 * Layer L2, the boundary where errors are logged (once) and mapped:
 * 503 unreachable or overloaded, 504 timeout, 502 bad reply, 413 body over
 * the limit. The work is cut along its seams into fcgix_chan.c (the
 * connection), fcgix_send.c, fcgix_reply.c, fcgix_loop.c and fcgix_fail.c,
 * which share a fcgix_req_t (fcgix_req.h); fcgix_bridge.c holds the
 * roles. Buckets and brigades appear in those files and in fcgix_body.c
 * only. Called by the content handler (fcgix_handler.c), the
 * authorizer hooks (fcgix_authz.c) and FcgixFilter's output filter
 * (fcgix_filter.c), in a request thread, with a target
 * fcgix_upstream_resolve() found; the channel comes from the upstream
 * layer (fcgix_upstream.h).
 */
#ifndef FCGIX_BRIDGE_H
#define FCGIX_BRIDGE_H

#include "apr_buckets.h"
#include "httpd.h"
#include "util_filter.h"

#include "fcgix_conf.h"
#include "fcgix_upstream.h"

/** Largest authorizer body kept (it may go to the client on denial). */
#define FCGIX_AUTH_BODY_MAX (1024 * 1024)

/** What an authorizer application answered. */
typedef struct fcgix_auth_reply_t {
    int status;                /**< its Status:, or 200 */
    apr_table_t *headers;      /**< every field as sent, in order */
    apr_bucket_brigade *body;  /**< its body (copied) */
} fcgix_auth_reply_t;

/** What a request asks of the application: to respond, to authorize
 *  (FCGI_AUTHORIZER) with role variables and a captured reply, or to
 *  filter (FCGI_FILTER) a data stream. Zero what is not used. */
typedef struct fcgix_role_t {
    /** Role variables (FCGI_APACHE_ROLE, REMOTE_PASSWD, FCGI_DATA_*...):
     *  they go to this application only, never into r->subprocess_env. */
    const apr_table_t *extra;
    fcgix_auth_reply_t *reply; /**< NULL: responder or filter */
    /** FCGI_FILTER: the data, sent as FCGI_DATA after an empty STDIN and
     *  kept whole (a retry sends it again); NULL: another role. */
    apr_bucket_brigade *data;
    /** Where the reply goes (a filter's f->next); NULL: the request's
     *  output filters. */
    ap_filter_t *out;
} fcgix_role_t;

/**
 * Runs @p r through target @p up in @p role (NULL: responder). An
 * authorizer sees no request body and its reply is captured in
 * role->reply, never sent.
 * @return an HTTP status or OK, as a content handler returns it; for an
 *         authorizer OK with the reply filled, or an error (logged)
 */
int fcgix_bridge_run(request_rec *r, fcgix_upstream_t *up,
                     const fcgix_role_t *role);

#endif /* FCGIX_BRIDGE_H */
