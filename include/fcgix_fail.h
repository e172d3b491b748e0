/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_fail.h
 * @brief Error mapping: what went wrong with the application, logged once
 *        where it is found, becomes q->fail (503 unreachable or
 *        overloaded, 504 timeout, 502 bad reply) or q->retry.
 *
 * Layer L2. Called by the bridge's files only (fcgix_loop.c,
 * fcgix_send.c, fcgix_bridge.c) in the request thread.
 */
#ifndef FCGIX_FAIL_H
#define FCGIX_FAIL_H

#include "fcgix_req.h"

/** A connection of its own failed with @p rv while the reply was read. */
void fcgix_fail_read(fcgix_req_t *q, apr_status_t rv);

/** A shared connection failed with @p rv (@p why from fcgix_mpx_next). */
void fcgix_fail_read_mpx(fcgix_req_t *q, apr_status_t rv, const char *why);

/** Sending the request ended with @p rv. */
void fcgix_fail_send(fcgix_req_t *q, apr_status_t rv, int client_err);

/** After END_REQUEST: was the reply a usable response? */
void fcgix_fail_check_end(fcgix_req_t *q);

#endif /* FCGIX_FAIL_H */
