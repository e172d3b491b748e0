/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_chan.h
 * @brief The request's side of its channel: leasing one from the
 *        upstream layer into the request, and giving it back with the
 *        verdict of the reuse checklist.
 *
 * Layer L2. Called by the bridge's files only (fcgix_bridge.c), in the
 * request thread that owns the fcgix_req_t.
 */
#ifndef FCGIX_CHAN_H
#define FCGIX_CHAN_H

#include "fcgix_req.h"

/**
 * Gets @p q a channel from its target (fcgix_upstream_lease()).
 * @return OK, or an HTTP status (logged)
 */
int fcgix_chan_connect(fcgix_req_t *q);

/**
 * Gives the channel back. With @p retry the request is about to be sent
 * again (on a fresh connection, or to another process); without, it is
 * done: a kept connection returns to its pool if the request passed the
 * reuse checklist, and a failed exchange is reported as such.
 */
void fcgix_chan_release(fcgix_req_t *q, int retry);

#endif /* FCGIX_CHAN_H */
