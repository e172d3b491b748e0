/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_limits.h
 * @brief The transport's settings as plain values: how a server's
 *        addresses are chosen, and the limits of its connection pools and
 *        multiplexed connections.
 *
 * Layer L1: APR types only. The configuration (fcgix_conf.h) stores these
 * as parsed; the pools (fcgix_pool.h) and multiplexing groups
 * (fcgix_mpx.h) are built from them. Kept apart so that the
 * configuration needs no header of the transport's runtime.
 */
#ifndef FCGIX_LIMITS_H
#define FCGIX_LIMITS_H

#include "apr.h"
#include "apr_time.h"

/** Most addresses one server may have (a bit each in a tried mask). */
#define FCGIX_POOL_MAX_ADDRS 32

/** Address choice among several for one server. */
typedef enum {
    FCGIX_BALANCE_LEAST_CONN = 0, /**< fewest requests in flight */
    FCGIX_BALANCE_ROUND_ROBIN,
    FCGIX_BALANCE_HASH            /**< by a caller-supplied key */
} fcgix_balance_e;

/** Limits of one pool, from the configuration. */
typedef struct fcgix_pool_limits_t {
    int keepalive;                 /**< idle connections kept, 0: none */
    apr_interval_time_t idle_ttl;  /**< close idle connections after */
    apr_uint32_t max_conn_requests;/**< requests per connection, 0: any */
    apr_interval_time_t disable_for;/**< after a connect failure */
    int max_conns;                 /**< open connections, 0: no cap */
    apr_interval_time_t max_wait;  /**< wait for one under the cap */
} fcgix_pool_limits_t;

/** Multiplexing limits of one address, from the configuration. */
typedef struct fcgix_mpx_limits_t {
    int max_reqs;        /**< request ids per connection */
    apr_size_t queue_max;/**< bytes queued per request */
    apr_interval_time_t idle_ttl; /**< close connections idle this long */
} fcgix_mpx_limits_t;

#endif /* FCGIX_LIMITS_H */
