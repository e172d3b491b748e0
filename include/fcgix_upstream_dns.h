/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_upstream_dns.h
 * @brief External servers' host names re-resolved (resolve=S): one child
 *        at a time looks a name up and writes the address of each of its
 *        max-addrs positions into their scoreboard slots; every child
 *        follows them into its pools.
 *
 * Layer L3 (upstream). Called by fcgix_upstream.c only: _seed in the
 * httpd parent's post_config (the startup answer, into slots claimed
 * fresh), _create in child_init, _sync before a pool is chosen or shown,
 * _start once per child (the resolver thread; like the active checks, the
 * child whose compare-and-swap moves a name's resolve_next on runs that
 * round). A child trusts nothing it copies out of a slot: a position's
 * state and family are checked, its port comes from the configuration.
 * The parent never reads positions back.
 */
#ifndef FCGIX_UPSTREAM_DNS_H
#define FCGIX_UPSTREAM_DNS_H

#include "apr_pools.h"
#include "httpd.h"

#include "fcgix_conf.h"
#include "fcgix_pool.h"
#include "fcgix_sb.h"

/** One server's names in one child. */
typedef struct fcgix_dns_t fcgix_dns_t;

/** Parent, post_config: positions of slots never written get the
 *  startup answer. @p slots parallel to srv->addrs (entries may be NULL). */
void fcgix_upstream_dns_seed(const fcgix_server_t *srv,
                             fcgix_sb_backend_t **slots);

/** Child: the names of @p srv over its @p pools (parallel to addrs),
 *  or NULL when it has none to follow. Without @p slots, the positions
 *  keep the startup answer. */
fcgix_dns_t *fcgix_upstream_dns_create(apr_pool_t *pchild,
                                       const fcgix_server_t *srv,
                                       fcgix_pool_t **pools,
                                       fcgix_sb_backend_t **slots);

/** Brings this child's pools in line with the slots (cheap when nothing
 *  changed). */
void fcgix_upstream_dns_sync(fcgix_dns_t *d);

/** Starts this child's resolver thread over @p all (fcgix_dns_t *), if
 *  any has a scoreboard; stopped and joined when @p pchild is cleared. */
apr_status_t fcgix_upstream_dns_start(apr_pool_t *pchild, server_rec *s,
                                      apr_array_header_t *all);

#endif /* FCGIX_UPSTREAM_DNS_H */
