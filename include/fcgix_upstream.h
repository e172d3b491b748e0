/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_upstream.h
 * @brief Where a request goes and on what: resolving a request (or an
 *        authorizer) to a target, and lending the request a channel to
 *        it.
 *
 * Layer L2. A target is one of three: the address set of an external
 * server (FcgixExternalServer and its kin), a static server mod_fcgix
 * starts (FastCgiServer), or a dynamic class spawned on demand (a script,
 * its wrapper, an authorizer program). A channel is a kept connection
 * from an address's pool, a request id on a multiplexed connection, or
 * the socket of a spawned process. The runtime state behind them (pools,
 * multiplexing groups, scoreboard slots of the addresses) is built here,
 * at post_config and child_init; the configuration holds none of it.
 *
 * The content handler and the authorizer hooks call
 * fcgix_upstream_resolve() and hand the target to fcgix_bridge_run();
 * the bridge (fcgix_chan.c) leases and releases channels; the status
 * page reads the pools through fcgix_upstream_address().
 */
#ifndef FCGIX_UPSTREAM_H
#define FCGIX_UPSTREAM_H

#include "apr_tables.h"
#include "httpd.h"

#include "fcgix_addr.h"
#include "fcgix_conf.h"
#include "fcgix_limits.h"
#include "fcgix_mpx.h"
#include "fcgix_pool.h"
#include "fcgix_sb.h"

/** How the requests of one target are run; an external or static server
 *  has one built at post_config, a dynamic class one per request. */
typedef struct fcgix_settings_t {
    const char *path;          /**< what log lines name the target by */
    apr_interval_time_t connect_timeout; /**< FCGIX_UNSET: the vhost's */
    apr_interval_time_t io_timeout;      /**< FCGIX_UNSET: the vhost's */
    const apr_array_header_t *pass_headers; /**< const char *, or NULL */
    int flush;                 /**< flush to the client after every read */
    int ignore_client_abort;   /**< finish requests whose client left */
    int nph;                   /**< the reply starts with a status line */
    int keep_conn;             /**< ask the application to keep the
                                    connection (pooled connections) */
    int get_values;            /**< ask FCGI_GET_VALUES on first contact */
    int mpx;                   /**< fcgix_mpx_mode_e */
    fcgix_mpx_limits_t mpx_limits;
} fcgix_settings_t;

/** Where one request goes (in its pool; see the file comment). */
typedef struct fcgix_upstream_t fcgix_upstream_t;

/** A channel lent to a request. */
typedef struct fcgix_lease_t {
    const fcgix_addr_t *addr;  /**< where it goes */
    apr_socket_t *sock;        /**< a connection of the request's own */
    fcgix_conn_t *conn;        /**< ... kept in a pool, or NULL */
    fcgix_mstream_t *ms;       /**< or an id on a shared connection */
    apr_uint16_t rid;          /**< the request id to use */
    fcgix_pool_t *pl;          /**< the address's pool, NULL: a process */
    int process;               /**< the socket of a spawned process */
    int read_on;               /**< an aborted shared id: its client left,
                                    so its thread may drain it
                                    (fcgix_mpx_close) */
    apr_uint32_t retired;      /**< out (release): shared connections
                                    retired for an aborted request, to be
                                    reported (fcgix_loop_note_retired) */
    apr_uint16_t retired_rid;  /**< ... the latest one's request id */
} fcgix_lease_t;

/** How a channel comes back. */
typedef enum {
    FCGIX_LEASE_REUSE = 0, /**< clean end: a kept connection may be kept */
    FCGIX_LEASE_CLOSE,     /**< done; close a connection of its own */
    FCGIX_LEASE_FAILED,    /**< done with a 502 or 504: the process is not
                                to be trusted again */
    FCGIX_LEASE_RETRY      /**< broke before any reply; another lease
                                follows (a fresh connection, another
                                process) */
} fcgix_lease_end_e;

/**
 * Resolves @p r to its target: with @p app NULL, the request's own file
 * (the server fixups matched, one covering the filename, else a script);
 * else authorizer @p app (a server covering it, else a program).
 * @return OK, or an HTTP status (logged)
 */
int fcgix_upstream_resolve(request_rec *r, const char *app,
                           fcgix_upstream_t **up);

/** The settings the requests of @p up run with. */
const fcgix_settings_t *fcgix_upstream_settings(const fcgix_upstream_t *up);

/**
 * Before the request is read and encoded: a class admits it (an unknown
 * class is registered first; a user's in-flight limit applies) and
 * takes a free process for it, held meanwhile; an external server holds
 * nothing before the lease.
 * @return OK, or an HTTP status (logged); after OK, the request ends
 *         with a release, leased or not
 */
int fcgix_upstream_reserve(fcgix_upstream_t *up);

/**
 * A channel for @p up's request: one of the addresses not tried since the
 * last RETRY, or the socket of the process reserved (or of a free one,
 * after a RETRY). Unreachable processes are skipped here.
 * @return OK, or an HTTP status (logged)
 */
int fcgix_upstream_lease(fcgix_upstream_t *up, fcgix_lease_t *ls);

/** Gives back what fcgix_upstream_lease() lent, and clears @p ls. */
void fcgix_upstream_release(fcgix_upstream_t *up, fcgix_lease_t *ls,
                            fcgix_lease_end_e how);

/**
 * The pool and multiplexing group of address @p k of external server
 * @p srv in this child, for the status page.
 * @return 0 when the server has none (spawned, or pools failed)
 */
int fcgix_upstream_address(const fcgix_server_t *srv, int k,
                           fcgix_pool_t **pl, fcgix_mpx_group_t **g);

/**
 * Where the metrics of @p up's request are counted: the scoreboard slot
 * of the address it went to last, or of its class.
 * @return NULL when there is none (no scoreboard, or it got no further
 *         than resolving)
 */
fcgix_sb_reqs_t *fcgix_upstream_counters(const fcgix_upstream_t *up);

/** Builds the connection pools of this child (child_init). */
apr_status_t fcgix_upstream_child_init(apr_pool_t *pchild, server_rec *s);

void fcgix_upstream_register_hooks(apr_pool_t *p);

#endif /* FCGIX_UPSTREAM_H */
