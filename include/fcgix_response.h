/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_response.h
 * @brief CGI response headers: finding the end of the header block in
 *        FCGI_STDOUT, and applying the block to the request_rec.
 *
 * Layer L2. Called by fcgix_bridge.c. Nothing here logs: a malformed block
 * comes back as a reason string the bridge logs once.
 */
#ifndef FCGIX_RESPONSE_H
#define FCGIX_RESPONSE_H

#include "httpd.h"

/** What the bridge must do once the header block is applied. */
typedef enum {
    FCGIX_RESP_SEND = 0,          /**< stream the body to the client */
    FCGIX_RESP_INTERNAL_REDIRECT, /**< Location: /local, status 200 */
    FCGIX_RESP_EXTERNAL_REDIRECT, /**< Location: scheme://..., status 200 */
    FCGIX_RESP_CONDITIONAL        /**< precondition result: *cond_status */
} fcgix_resp_action_e;

/**
 * Looks for the blank line ending a header block in buf[0..len).
 * @param scan in/out: where to resume scanning (start with 0)
 * @return offset of the first body byte, or 0 when not found yet
 */
apr_size_t fcgix_response_header_end(const char *buf, apr_size_t len,
                                      apr_size_t *scan);

/**
 * Parses the header block buf[0..len) (without the blank line; modified in
 * place) into @p fields, in order, duplicates kept, folded lines joined.
 * @return NULL, or the reason the block is malformed
 */
const char *fcgix_response_parse(apr_pool_t *p, char *buf, apr_size_t len,
                                 apr_table_t *fields);

/**
 * The status a CGI "Status:" value names.
 * @return 100..999, or 0 when @p value is not "NNN" or "NNN reason"
 */
int fcgix_response_status(const char *value);

/**
 * Applies parsed fields to a responder's request: Status, Content-Type,
 * Location, Last-Modified, Set-Cookie (kept for error pages too),
 * hop-by-hop fields dropped, the rest into r->headers_out.
 * @param location set to the Location value or NULL
 * @param cond_status with FCGIX_RESP_CONDITIONAL, the status to return
 * @return NULL with *action set, or the reason a field is invalid
 */
const char *fcgix_response_apply(request_rec *r, const apr_table_t *fields,
                                 fcgix_resp_action_e *action,
                                 const char **location, int *cond_status);

/** True for fields that describe one hop only (Connection, ...). */
int fcgix_response_hop_by_hop(const char *name);

#endif /* FCGIX_RESPONSE_H */
