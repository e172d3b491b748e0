/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_loop.h
 * @brief The I/O loop of one request: waiting on the application and the
 *        client together, reading to END_REQUEST, telling the
 *        application when the client leaves and bounding what follows.
 *
 * Layer L2. Called by the bridge's files only (fcgix_bridge.c,
 * fcgix_send.c) in the request thread.
 */
#ifndef FCGIX_LOOP_H
#define FCGIX_LOOP_H

#include "fcgix_req.h"

/**
 * Waits for @p events on a connection of its own, noticing a client that
 * hangs up meanwhile.
 */
apr_status_t fcgix_loop_wait(fcgix_req_t *q, apr_int16_t events,
                             apr_int16_t *revents);

/** Reads until END_REQUEST or a failure (q->fail, q->retry say which). */
void fcgix_loop_read(fcgix_req_t *q);

/**
 * Logs that @p n shared connections of @p q's group were retired for
 * aborted requests their application did not end in time, the latest
 * for request id @p rid (fcgix_mpx_take_retired, fcgix_mpx_close).
 */
void fcgix_loop_note_retired(fcgix_req_t *q, apr_uint32_t n,
                             apr_uint16_t rid);

#endif /* FCGIX_LOOP_H */
