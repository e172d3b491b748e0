/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_upstream_check.h
 * @brief Active health checks of external servers' addresses (check=S):
 *        FCGI_GET_VALUES, or a GET of check-uri expecting check-status;
 *        fails=N in a row mark the address down, passes=N up again.
 *
 * Layer L3 (upstream). Started by fcgix_upstream_child_init() only. Every
 * httpd child runs a thread that wakes every 100 ms; for each checked
 * address, the child whose compare-and-swap moves the scoreboard slot's
 * check_next on runs that round, so one check runs at a time whatever the
 * number of children, and a child that exits leaves the next round to
 * another. The verdict (`down`) is in the slot, for every child's
 * fcgix_pool_choose(). Without a scoreboard nothing is checked (the
 * passive disabling after connect failures stays).
 */
#ifndef FCGIX_UPSTREAM_CHECK_H
#define FCGIX_UPSTREAM_CHECK_H

#include "apr_pools.h"
#include "httpd.h"

/** Starts this child's checker thread when an address is checked; it is
 *  stopped and joined when @p pchild is cleared. */
apr_status_t fcgix_upstream_check_start(apr_pool_t *pchild, server_rec *s);

#endif /* FCGIX_UPSTREAM_CHECK_H */
