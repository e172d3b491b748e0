/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_send.h
 * @brief Writing to the application: the opening records (GET_VALUES,
 *        BEGIN_REQUEST, PARAMS), the body as STDIN records in writev
 *        batches, FCGI_ABORT_REQUEST.
 *
 * Layer L2. Called by the bridge's files only (fcgix_bridge.c,
 * fcgix_loop.c) in the request thread. A write that would block reads the
 * reply meanwhile (fcgix_reply_pump), so neither side can stall the other.
 */
#ifndef FCGIX_SEND_H
#define FCGIX_SEND_H

#include "fcgix_body.h"
#include "fcgix_req.h"

/** How the body reaches the application. */
typedef enum {
    FCGIX_SEND_NO_BODY = 0, /**< no body */
    FCGIX_SEND_STREAM,      /**< known length: streamed as it arrives */
    FCGIX_SEND_SPOOL        /**< unknown length: spooled for CONTENT_LENGTH */
} fcgix_send_mode_e;

/**
 * Sends the opening records @p head (after q->pre, if any) and the body,
 * and logs what went wrong while sending.
 * @param client_err set when reading the client's body failed
 * @return APR_SUCCESS, FCGIX_APP_DONE, FCGIX_FAILED or what the write
 *         returned (q->fail says whether the request failed)
 */
apr_status_t fcgix_send_request(fcgix_req_t *q, fcgix_send_mode_e mode,
                                fcgix_spool_t *sp, const char *head,
                                apr_size_t head_len, int *client_err);

/** Tells the application the client is gone. */
void fcgix_send_abort(fcgix_req_t *q);

/** An FCGI_GET_VALUES record asking what the spec defines. */
const char *fcgix_send_get_values(apr_pool_t *p, apr_size_t *len);

/** Writes @p rid (and KEEP_CONN if @p keep_conn) into built records. */
void fcgix_send_set_rid(char *head, apr_size_t len, apr_uint16_t rid,
                        int keep_conn);

#endif /* FCGIX_SEND_H */
