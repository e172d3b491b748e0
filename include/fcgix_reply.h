/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_reply.h
 * @brief Reading the application: records → CGI header block → the
 *        response brigade (or the authorizer's captured reply), and its
 *        stderr into the error log within limits.
 *
 * Layer L2. Called by the bridge's files only (fcgix_loop.c,
 * fcgix_send.c, fcgix_bridge.c) in the request thread.
 */
#ifndef FCGIX_REPLY_H
#define FCGIX_REPLY_H

#include "fcgix_req.h"

/**
 * One non-blocking read of a connection of its own and every record it
 * yields, passed on to the client.
 * @return APR_SUCCESS, APR_EOF, FCGIX_FAILED (logged) or the read's error
 */
apr_status_t fcgix_reply_pump(fcgix_req_t *q);

/** Takes one record (from the pump or a shared connection's queue). */
apr_status_t fcgix_reply_event(fcgix_req_t *q, const fcgix_event_t *ev);

/**
 * Whether the reply has come whole with its END_REQUEST (complete, no
 * failure): then nothing of it is passed until the bridge's respond()
 * passes it once with the EOS, and httpd gives it a Content-Length
 * rather than chunks. Asked after each read (direct) or record (shared).
 */
int fcgix_reply_whole(const fcgix_req_t *q);

/** Passes what is queued for the client, with a flush if @p flush. */
void fcgix_reply_pass(fcgix_req_t *q, int flush);

/** Ends a started response as broken, so it cannot look complete. */
void fcgix_reply_abort(fcgix_req_t *q, int status);

/** Logs stderr still buffered and, once, what the limits held back. */
void fcgix_reply_log_stderr(fcgix_req_t *q);

#endif /* FCGIX_REPLY_H */
