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
 * only. Called by the content handler (fcgix_handler.c), the authorizer
 * hooks (fcgix_authz.c) and fcgix_spawn.c, in a request thread.
 */
#ifndef FCGIX_BRIDGE_H
#define FCGIX_BRIDGE_H

#include "apr_buckets.h"
#include "httpd.h"

#include "fcgix_conf.h"

/** Largest authorizer body kept (it may go to the client on denial). */
#define FCGIX_AUTH_BODY_MAX (1024 * 1024)

/** What an authorizer application answered. */
typedef struct fcgix_auth_reply_t {
    int status;                /**< its Status:, or 200 */
    apr_table_t *headers;      /**< every field as sent, in order */
    apr_bucket_brigade *body;  /**< its body (copied) */
} fcgix_auth_reply_t;

/**
 * Runs @p r through authorizer @p srv (FCGI_AUTHORIZER role) without a
 * request body. @p extra holds role variables (FCGI_APACHE_ROLE,
 * REMOTE_PASSWD...): they go to this application only, never into
 * r->subprocess_env.
 * @return OK with @p reply filled, or an HTTP error status (logged)
 */
int fcgix_bridge_authorize(request_rec *r, fcgix_server_t *srv,
                           const apr_table_t *extra,
                           fcgix_auth_reply_t *reply);

/**
 * Serves @p r as a FastCGI responder through external server @p srv.
 * @return an HTTP status or OK, as a content handler returns it
 */
int fcgix_bridge_run(request_rec *r, fcgix_server_t *srv);

/**
 * Serves @p r as a responder on a connection of its own to @p addr (a
 * spawned process), with @p tmpl's timeouts and pass-headers.
 * @param unreachable set when the connection could not be made; nothing
 *        is logged or sent then, so the caller may try another process
 * @return an HTTP status or OK
 */
int fcgix_bridge_run_direct(request_rec *r, fcgix_server_t *tmpl,
                            const fcgix_addr_t *addr, int *unreachable);

/** fcgix_bridge_authorize() on a connection to a spawned process. */
int fcgix_bridge_authorize_direct(request_rec *r, fcgix_server_t *tmpl,
                                  const fcgix_addr_t *addr,
                                  const apr_table_t *extra,
                                  fcgix_auth_reply_t *reply,
                                  int *unreachable);

#endif /* FCGIX_BRIDGE_H */
