/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_body.h
 * @brief Request bodies of unknown length (chunked, HTTP/2 without
 *        content-length): spooled to memory up to a bound, then to an
 *        unlinked temporary file, so the application gets CONTENT_LENGTH.
 *
 * Layer L2. Called by fcgix_bridge.c before it connects. Bodies whose
 * length is known are never spooled: the bridge streams those, read in
 * large pieces where the connection's input chain is httpd's plain one
 * (fcgix_body_fast()).
 */
#ifndef FCGIX_BODY_H
#define FCGIX_BODY_H

#include "apr_buckets.h"
#include "apr_file_io.h"
#include "httpd.h"

typedef struct fcgix_spool_t {
    apr_bucket_brigade *mem; /**< first part, heap buckets */
    apr_file_t *file;        /**< the rest, or NULL; deleted on close */
    apr_off_t file_len;
    apr_off_t total;
} fcgix_spool_t;

/** What fcgix_body_read() hands each piece of the body to; an error stops
 *  the read and is returned as is. */
typedef apr_status_t fcgix_body_fn(void *ctx, const char *data,
                                   apr_size_t len);

/**
 * One read of @p r's body (up to @p max bytes) into @p bb, handing every
 * piece of data to @p fn. The data stays valid until the caller cleans
 * @p bb up. Sets *eos at the end of the body.
 * @return APR_SUCCESS; the input filters' error with *client_err set;
 *         @p fn's error
 */
apr_status_t fcgix_body_read(request_rec *r, apr_bucket_brigade *bb,
                             apr_size_t max, fcgix_body_fn *fn, void *ctx,
                             int *eos, int *client_err);

/** Status for "the body is larger than max_len" (the caller sends 413). */
#define FCGIX_BODY_TOO_LARGE APR_ENOSPC

/**
 * Reads the whole body of @p r.
 * @param max_len 0 for no own limit (LimitRequestBody still applies)
 * @param max_mem bytes kept in memory before the temporary file starts
 * @return APR_SUCCESS; FCGIX_BODY_TOO_LARGE; the input filters' error
 *         (map it with ap_map_http_request_error); a temp file error with
 *         *where set to "tempfile"
 */
apr_status_t fcgix_body_spool(request_rec *r, apr_off_t max_len,
                              apr_off_t max_mem, fcgix_spool_t **out,
                              const char **where);

/** Registers the input filter of fcgix_body_fast(). */
void fcgix_body_register_hooks(apr_pool_t *p);

/**
 * Lets the reads of @p r's body (of known length) take large pieces
 * straight from the client socket instead of the core's 8000-byte ones,
 * when nothing but httpd's own HTTP/1.x body filter, mod_reqtimeout's
 * and mod_logio's filters and the core sit between the request and the
 * socket. HTTP_IN still counts the body (Content-Length,
 * LimitRequestBody, 100-continue, EOS), mod_reqtimeout still sets the
 * socket's timeout and counts its minimum rate, mod_logio still counts
 * the bytes; any other input filter (TLS, HTTP/2, a request filter) keeps
 * today's path.
 * @return 1 if the large reads are on, 0 if today's path is kept
 */
int fcgix_body_fast(request_rec *r);

#endif /* FCGIX_BODY_H */
