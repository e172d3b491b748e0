/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_response.h
 * @brief CGI response headers: the header block checked and split into
 *        fields (kept in order, for authorizers too), and a responder's
 *        fields applied to the request_rec through httpd's CGI scanner.
 *
 * Layer L2. Called by fcgix_reply.c (and fcgix_authz.c for
 * fcgix_response_hop_by_hop). Nothing here logs: a malformed block comes
 * back as a reason string the caller logs once. Where the block ends is
 * found by fcgix_cgi_header_end (fcgix_cgi.h, L0).
 */
#ifndef FCGIX_RESPONSE_H
#define FCGIX_RESPONSE_H

#include "httpd.h"

/** What the bridge must do once the header block is applied. */
typedef enum {
    FCGIX_RESP_SEND = 0,          /**< stream the body to the client */
    FCGIX_RESP_INTERNAL_REDIRECT, /**< Location: /local, status 200 */
    FCGIX_RESP_EXTERNAL_REDIRECT, /**< Location: scheme://..., status 200 */
    FCGIX_RESP_CONDITIONAL,       /**< precondition result: *cond_status */
    FCGIX_RESP_ERROR_PAGE         /**< 4xx/5xx replaced by httpd's error
                                       page (set by fcgix_reply.c) */
} fcgix_resp_action_e;

/**
 * Parses the header block buf[0..len) (without the blank line; modified in
 * place) into @p fields, in order, duplicates kept, folded lines joined.
 * With @p nph, a leading "HTTP/1.x NNN reason" line becomes a Status field.
 * @return NULL, or the reason the block is malformed
 */
const char *fcgix_response_parse(apr_pool_t *p, char *buf, apr_size_t len,
                                 int nph, apr_table_t *fields);

/**
 * A "Status:" value as a final status (200 to 599).
 * @return NULL with *status set, or the reason it is unusable
 */
const char *fcgix_response_status(apr_pool_t *p, const char *value,
                                  int *status);

/**
 * Applies parsed fields to a responder's request: Status, Content-Type,
 * Location, Content-Length, Content-Range, ETag, Last-Modified and
 * Set-Cookie (kept for error pages too) through
 * ap_scan_script_header_err_core_ex, which also evaluates the request's
 * preconditions; hop-by-hop fields dropped, the rest into r->headers_out
 * in order.
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
