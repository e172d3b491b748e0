/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_chan.h
 * @brief The channel of one request: a connection of its own (kept in
 *        the address's pool, or to a spawned process) or a request id on
 *        a shared, multiplexed connection; getting one, giving it back.
 *
 * Layer L2. Called by the bridge's files only (fcgix_bridge.c), in the
 * request thread that owns the fcgix_req_t.
 */
#ifndef FCGIX_CHAN_H
#define FCGIX_CHAN_H

#include "fcgix_req.h"

/**
 * Connects @p q to its spawned process, or to one of its server's
 * addresses not yet in @p tried (a bit per address, set as tried).
 * @return OK, or an HTTP status (logged, but not for a spawned process:
 *         q->unreachable is set and the caller picks another)
 */
int fcgix_chan_connect(fcgix_req_t *q, apr_uint32_t *tried);

/**
 * Gives the channel back. With @p keep a kept connection returns to its
 * pool if the request passed the reuse checklist; without, it is closed.
 */
void fcgix_chan_release(fcgix_req_t *q, int keep);

#endif /* FCGIX_CHAN_H */
