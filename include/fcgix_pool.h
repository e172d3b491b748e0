/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_pool.h
 * @brief Per-child connection pools, one per backend address: kept-alive
 *        connections, what the application said in FCGI_GET_VALUES_RESULT,
 *        load counters, and address selection with temporary disabling.
 *
 * Layer L1: APR only. Created in child_init (one set per httpd child, so a
 * pool is shared by that child's threads under its own mutex); used by the
 * bridge in request threads. Nothing here logs; callers log at the
 * boundary.
 */
#ifndef FCGIX_POOL_H
#define FCGIX_POOL_H

#include <sys/uio.h>

#include "apr_network_io.h"
#include "apr_pools.h"
#include "apr_thread_mutex.h"

#include "fcgix_addr.h"
#include "fcgix_limits.h"
#include "fcgix_sb.h"

/** What we know of an application's FastCGI capabilities. */
typedef enum {
    FCGIX_CAPS_UNKNOWN = 0, /**< never asked */
    FCGIX_CAPS_ASKED,       /**< FCGI_GET_VALUES sent, no answer yet */
    FCGIX_CAPS_KNOWN,       /**< answer received */
    FCGIX_CAPS_REFUSED      /**< asking broke a connection: never ask */
} fcgix_caps_state_e;

const char *fcgix_pool_caps_str(fcgix_caps_state_e st);

/** fcgix_pool_acquire(): the cap was reached and no connection came free
 *  within the configured wait. Not a failure of the address. */
#define FCGIX_POOL_FULL (APR_OS_START_USERERR + 901)

typedef struct fcgix_pool_t fcgix_pool_t;

/** One connection to an application, owned by one request at a time. */
typedef struct fcgix_conn_t {
    apr_pool_t *p;          /**< unmanaged pool owning the socket */
    apr_socket_t *sock;     /**< non-blocking */
    fcgix_pool_t *pool;
    apr_time_t born;
    apr_time_t used;
    apr_uint32_t served;    /**< requests completed on it */
    int reused;             /**< taken from the idle list */
    int unacked_ms;         /**< fcgix_addr_unacked_limit()'s record */
    struct fcgix_conn_t *next;
} fcgix_conn_t;

/** Counters and state of a pool, copied out for status displays. */
typedef struct fcgix_pool_stats_t {
    apr_uint32_t opened;   /**< connections opened */
    apr_uint32_t reuses;   /**< requests served on a kept-alive conn */
    apr_uint32_t idle;     /**< idle connections now */
    apr_uint32_t busy;     /**< requests in flight now */
    apr_uint32_t open;     /**< connections open now (idle included) */
    apr_uint32_t waiting;  /**< requests waiting under the cap now */
    apr_uint32_t waited;   /**< requests that ever had to wait */
    apr_uint32_t failures; /**< connect failures */
    apr_time_t disabled_until;
    fcgix_caps_state_e caps;
    int mpxs_conns;
    int max_conns;         /**< 0: not said */
    int max_reqs;          /**< 0: not said */
    int draining;          /**< takes no new requests */
    int down;              /**< failed its active checks */
} fcgix_pool_stats_t;

apr_status_t fcgix_pool_create(fcgix_pool_t **out, const fcgix_addr_t *addr,
                               const fcgix_pool_limits_t *limits,
                               apr_pool_t *pchild);

const fcgix_addr_t *fcgix_pool_addr(const fcgix_pool_t *pl);

/**
 * A position of a re-resolved name (resolve=) takes its current state:
 * @p addr (NULL: keep the last one), @p dyn 0 in the answer, 1 gone from
 * it (draining), 2 vacant (no address: never chosen, not shown); joined
 * at @p joined, ramping up over @p ramp (slow-start; 0: none). A new
 * address forgets what the last one's application said.
 */
void fcgix_pool_set_addr(fcgix_pool_t *pl, const fcgix_addr_t *addr,
                         int dyn, apr_time_t joined,
                         apr_interval_time_t ramp);

/** Closes this child's kept connections of @p pl (it drains). */
void fcgix_pool_close_idle(fcgix_pool_t *pl);

/** A position without an address (fcgix_pool_set_addr() dyn 2). */
int fcgix_pool_vacant(const fcgix_pool_t *pl);

/**
 * Picks the address to use among @p n, skipping draining ones always,
 * those whose bit is set in @p tried and, unless every untried one is,
 * disabled ones and the ramping ones a slow-start draw turns away. A
 * draining address's idle connections are closed here.
 * @return the index into @p pools, or -1 when every address was tried
 *         or is draining
 */
int fcgix_pool_choose(fcgix_pool_t *const *pools, int n, fcgix_balance_e how,
                      apr_uint32_t key, apr_uint32_t tried);

/**
 * A connection: a kept-alive one that still looks alive, else a new one
 * within @p connect_timeout. Counts the request as in flight. With
 * @p capped and a configured max_conns, a request that finds that many
 * connections open waits (woken one at a time) for one to come
 * back or close; multiplexed connections are opened uncapped, their
 * group bounds them.
 * @return APR_SUCCESS; FCGIX_POOL_FULL after max_wait; a connect error
 *         (the address is then disabled for the configured time)
 */
apr_status_t fcgix_pool_acquire(fcgix_pool_t *pl,
                                apr_interval_time_t connect_timeout,
                                int capped, fcgix_conn_t **conn);

/**
 * Ends the request's use of @p conn. With @p reusable the connection goes
 * to the idle list if limits allow, else it is closed. The caller decides
 * @p reusable with the full checklist (END_REQUEST seen, KEEP_CONN sent,
 * reader idle, nothing unread, no failure).
 */
void fcgix_pool_release(fcgix_conn_t *conn, int reusable);

/** Whether kept connection @p c is still silent: readable means the
 * application closed it or sent what no request asked for. */
int fcgix_pool_conn_alive(const fcgix_conn_t *c);

/** The request never got going on this address: count a failure. */
void fcgix_pool_disable(fcgix_pool_t *pl);

/** Should KEEP_CONN be sent? (configured keep-alive) */
int fcgix_pool_keepalive(const fcgix_pool_t *pl);

/**
 * Capability negotiation: returns true when the caller should append
 * FCGI_GET_VALUES to the request it is about to send (first contact), and
 * marks the pool as asked.
 */
int fcgix_pool_caps_should_ask(fcgix_pool_t *pl);

/** Records the decoded FCGI_GET_VALUES_RESULT body. */
void fcgix_pool_caps_answer(fcgix_pool_t *pl, const unsigned char *body,
                            apr_size_t len);

/** Asking broke the connection; never ask this address again. */
void fcgix_pool_caps_refused(fcgix_pool_t *pl);

/** True once the application said FCGI_MPXS_CONNS=1 (and never refused
 *  a multiplexed request since). */
int fcgix_pool_mpx_ok(fcgix_pool_t *pl);

/** The application answered FCGI_CANT_MPX_CONN: stop multiplexing. */
void fcgix_pool_mpx_refused(fcgix_pool_t *pl);

/** True after fcgix_pool_mpx_refused(): even "mpx=on" stops then. */
int fcgix_pool_mpx_was_refused(fcgix_pool_t *pl);

void fcgix_pool_stats(fcgix_pool_t *pl, fcgix_pool_stats_t *st);

/**
 * Makes the pool add its counters to @p b, the address's scoreboard slot
 * (the sums over all children), and take its share back when @p pchild
 * is destroyed. NULL: counters stay per child.
 */
void fcgix_pool_set_shm(fcgix_pool_t *pl, fcgix_sb_backend_t *b,
                        apr_pool_t *pchild);

/**
 * Whether the address takes no new requests (its scoreboard slot's flag,
 * shared by all children; without one, this child's own): those in
 * flight finish, and their connections close instead of being kept.
 */
int fcgix_pool_draining(const fcgix_pool_t *pl);

/** Sets this child's own draining flag (used only without a slot). */
void fcgix_pool_set_draining(fcgix_pool_t *pl, int on);

/** The scoreboard slot given by fcgix_pool_set_shm(), or NULL. */
fcgix_sb_backend_t *fcgix_pool_shm(fcgix_pool_t *pl);

/** Adds multiplexing counts to the scoreboard slot: connections and
 *  requests on them, and the depth just reached on one connection. The
 *  group counts them itself and takes its share back when it goes. */
void fcgix_pool_mpx_count(fcgix_pool_t *pl, int dconns, int dstreams,
                          apr_uint32_t depth);

/**
 * One non-blocking writev of what is left of @p *iov (@p *n entries, empty
 * ones skipped), advanced past what was written; *n is 0 once all is.
 * Direct and multiplexed connections write their record batches with it.
 */
apr_status_t fcgix_pool_sendv(apr_socket_t *sock, struct iovec **iov,
                              int *n);

#endif /* FCGIX_POOL_H */
