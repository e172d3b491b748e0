/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_addr.h
 * @brief Backend addresses: parsing "host:port", "[v6]:port" and
 *        "unix:/path", resolving them once (every record of a name),
 *        and connecting with a timeout.
 *
 * Layer L1: APR only, no httpd. Parsing runs at configuration time (the
 * caller turns an error string into a directive error); connecting runs in
 * request threads and returns an apr_status_t the L2 caller maps to HTTP.
 */
#ifndef FCGIX_ADDR_H
#define FCGIX_ADDR_H

#include "apr_network_io.h"
#include "apr_pools.h"

typedef struct fcgix_addr_t {
    const char *spec;     /**< as written in the configuration */
    int is_unix;          /**< AF_UNIX socket path */
    const char *path;     /**< socket path when is_unix */
    const char *host;     /**< host when TCP */
    apr_port_t port;      /**< port when TCP */
    apr_sockaddr_t *sa;   /**< resolved at configuration time */
    /** A host name's address: the name as written ("host:port"), which
     *  drain= may name; NULL for an address written as such. */
    const char *name;
    /** resolve=: the position among the name's max-addrs ones (from 0),
     *  whose address the resolver sets at run time; -1 otherwise. */
    int pos;
} fcgix_addr_t;

/** Whether @p host is an IPv4 or IPv6 literal, not a name. */
int fcgix_addr_is_literal(const char *host);

/**
 * The address @p family (APR_INET or APR_INET6) @p ip (4 or 16 bytes)
 * and @p port as a new fcgix_addr_t named "ip:port" / "[ip]:port".
 * @return NULL when APR refuses it
 */
fcgix_addr_t *fcgix_addr_from_ip(apr_pool_t *p, int family,
                                 const unsigned char *ip, apr_port_t port);

/** The raw address of @p sa: its family (APR_INET or APR_INET6, else 0)
 *  and 4 or 16 bytes into @p ip. */
int fcgix_addr_raw(const apr_sockaddr_t *sa, unsigned char ip[16]);

/**
 * Parses and resolves @p spec ("unix:/abs/path", "/abs/path" when
 * @p allow_bare_path, "host:port", "[::1]:port").
 * @return NULL on success, else a message for the configuration error.
 */
const char *fcgix_addr_parse(apr_pool_t *p, const char *spec,
                             int allow_bare_path, fcgix_addr_t **out);

/**
 * Opens a stream socket to @p a within @p timeout.
 * @return APR_SUCCESS with *sock connected and left in non-blocking mode;
 *         APR_TIMEUP on timeout; the connect error otherwise (the socket
 *         is closed then).
 */
apr_status_t fcgix_addr_connect(const fcgix_addr_t *a,
                                apr_interval_time_t timeout,
                                apr_pool_t *p, apr_socket_t **sock);

/**
 * Data sent on @p s that the peer's host has not acknowledged within
 * @p limit ends the connection (ETIMEDOUT; TCP_USER_TIMEOUT). 0: the
 * system's rule. Linux counts a zero window in too, so only for what
 * fits in the socket's buffers (a request without a body).
 * @param cur what the socket has now, kept by the caller per socket
 *        (0 when opened): the call makes no system call when it would
 *        not change it, nor ever again for a socket that is not TCP
 */
void fcgix_addr_unacked_limit(apr_socket_t *s, apr_interval_time_t limit,
                              int *cur);

#endif /* FCGIX_ADDR_H */
